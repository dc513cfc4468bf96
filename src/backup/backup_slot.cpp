#include "backup/backup_slot.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "backup/backup.hpp"
#include "base/error.hpp"
#include "base/fs.hpp"
#include "base/signals.hpp"
#include "base/text.hpp"

namespace ctldb::backup {

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
    throw failure(what + " " + path + ": " + std::strerror(errno));
}

/// True when a live process holds the flock of `path` (false when the file
/// is missing or its lock is free).
bool locked_by_someone(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return false;
    const bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    ::close(fd);
    return held;
}

/// Make `name` a file that is locked by us from its first moment under
/// that name: create a private file, lock it, hard-link it to `name`
/// (fails if `name` exists). Returns the fd, or -1 when `name` exists.
int create_locked(const std::string& dir, const std::string& name) {
    static std::atomic<unsigned> counter{0};
    const std::string tmp = dir + "/" + name + "." + std::to_string(::getpid()) + "-" +
                            std::to_string(++counter) + ".partial";
    const int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) fail("cannot create", tmp);
    if (::flock(fd, LOCK_EX) != 0) {
        ::close(fd);
        ::unlink(tmp.c_str());
        fail("cannot lock", tmp);
    }
    const int rc = ::link(tmp.c_str(), (dir + "/" + name).c_str());
    const int saved = errno;
    ::unlink(tmp.c_str());
    if (rc != 0) {
        ::close(fd);
        if (saved == EEXIST || saved == ENOENT) return -1;
        errno = saved;
        fail("cannot create", dir + "/" + name);
    }
    return fd;
}

/// Give `from` the name `to` unless `to` exists (then fail, never replace):
/// a link and an unlink, so a backup of another run that took the same
/// name is never overwritten. A crash between the two leaves both names;
/// the `.partial` one is then stale and remove_stale_partials() clears it.
void publish_name(const std::string& from, const std::string& to) {
    if (::link(from.c_str(), to.c_str()) != 0) fail("cannot publish " + from + " as", to);
    ::unlink(from.c_str());
}

/// Test hook for the fault suite: CTLDB_TEST_KILL_PUBLISH=N kills this
/// process with SIGKILL after publishing step N (1: manifest written,
/// 2: manifest renamed, 3: data renamed), as a crash there would.
void crash_point(int step) {
    static const char* at = std::getenv("CTLDB_TEST_KILL_PUBLISH");
    if (at != nullptr && std::atoi(at) == step) ::kill(::getpid(), SIGKILL);
}

}  // namespace

int reserve_stem(const std::string& dir, const std::string& stem, const std::string& ext) {
    const std::string reservation = stem + ".json.partial";
    const int fd = create_locked(dir, reservation);
    if (fd < 0) return -1;
    // Another run may have published this stem between the caller's look
    // and our link: its reservation became its manifest, which freed the
    // reservation's name. Looking again now that we hold the name closes
    // that window (a run publishing later would need our reservation).
    if (fs::exists(dir + "/" + stem + ext) || fs::exists(dir + "/" + stem + ".json")) {
        ::unlink((dir + "/" + reservation).c_str());
        ::close(fd);
        return -1;
    }
    return fd;
}

BackupSlot::BackupSlot(const std::string& dir, const std::string& ext) : dir_(dir), ext_(ext) {
    for (int attempt = 0;; ++attempt) {
        throw_if_interrupted();
        if (attempt == 600) {  // 30 s of 50 ms waits: something is wrong, not busy
            throw failure("cannot reserve a backup name in " + dir_ + ": " + stem_ +
                              ".json.partial stays in the way",
                          "check the directory's permissions and remove stale .partial files");
        }
        time_ = std::time(nullptr);
        stem_ = backup_stem(time_);
        const bool taken = fs::exists(final_path()) || fs::exists(manifest_path());
        if (!taken) {
            lock_fd_ = reserve_stem(dir_, stem_, ext_);
            if (lock_fd_ >= 0) break;
            // Held by a live run: wait for the next second. Left by a dead
            // one: clear it and try again at once.
            const std::string reservation = dir_ + "/" + stem_ + ".json.partial";
            if (fs::exists(reservation) && !locked_by_someone(reservation) &&
                !remove_stale_partials(dir_).empty()) {
                continue;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

BackupSlot::~BackupSlot() {
    if (!published_) {
        ::unlink(data_partial().c_str());
        if (manifest_published_) ::unlink(manifest_path().c_str());
        ::unlink((dir_ + "/" + stem_ + ".json.partial").c_str());
    }
    if (lock_fd_ >= 0) ::close(lock_fd_);
}

int BackupSlot::create_data() {
    const std::string p = data_partial();
    ::unlink(p.c_str());  // a dead run's, of this very stem (we hold the stem)
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) fail("cannot create", p);
    return fd;
}

void BackupSlot::publish(const std::string& manifest) {
    const std::string reservation = dir_ + "/" + stem_ + ".json.partial";
    const char* p = manifest.data();
    std::size_t left = manifest.size();
    while (left > 0) {
        const ssize_t n = ::write(lock_fd_, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail("cannot write the manifest", reservation);
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    if (::fsync(lock_fd_) != 0) fail("cannot fsync the manifest", reservation);
    throw_if_interrupted();
    crash_point(1);
    publish_name(reservation, manifest_path());
    manifest_published_ = true;
    crash_point(2);
    publish_name(data_partial(), final_path());
    published_ = true;
    crash_point(3);
    fs::sync_parent_dir(final_path());
}

std::vector<std::string> remove_stale_partials(const std::string& dir) {
    std::vector<std::string> removed;
    std::vector<std::string> names;
    try {
        names = fs::list_files(dir, ".partial");
    } catch (const Error&) {
        return removed;
    }
    auto remove = [&](const std::string& path) {
        if (::unlink(path.c_str()) == 0) removed.push_back(path);
    };
    for (const auto& name : names) {
        // Only ctldb's own names: backup-YYYYmmdd-HHMMSS.<...>.partial.
        if (name.size() < 22 || !parse_backup_time(name.substr(0, 22) + ".dump")) continue;
        const std::string stem = name.substr(0, 22);
        const std::string path = dir + "/" + name;
        if (name.find(".json") == 22) {
            // A reservation (or its private twin): stale when its lock is free.
            if (!locked_by_someone(path)) remove(path);
            continue;
        }
        // A data partial: owned while its stem's reservation (or the
        // manifest it became) is locked.
        const std::string data = path.substr(0, path.size() - 8);
        if (!parse_backup_time(name.substr(0, name.size() - 8))) continue;  // not ctldb's
        const std::string reservation = dir + "/" + stem + ".json.partial";
        const std::string manifest = dir + "/" + stem + ".json";
        if (locked_by_someone(reservation) || locked_by_someone(manifest)) continue;
        remove(path);
        // Killed between the two renames: the manifest of this data file
        // exists, the data never got its name. The manifest goes too.
        if (fs::exists(manifest) && !fs::exists(data)) {
            try {
                const BackupManifest m =
                    BackupManifest::from_json(fs::read_file(manifest, fs::kMaxManifest), manifest);
                if (dir + "/" + m.file == data) remove(manifest);
            } catch (const Error&) {
            }
        }
    }
    // A prune killed between deleting a backup and its manifest leaves the
    // manifest alone (data goes first, so never data without a manifest):
    // a manifest of ctldb's name whose data file is gone, and that no run
    // holds (a backup being published holds its manifest's lock).
    std::vector<std::string> manifests;
    try {
        manifests = fs::list_files(dir, ".json");
    } catch (const Error&) {
    }
    for (const auto& name : manifests) {
        if (name.size() != 27 || !parse_backup_time(name.substr(0, 22) + ".dump")) continue;
        const std::string manifest = dir + "/" + name;
        if (!fs::input_problem(manifest, fs::kMaxManifest).empty()) continue;  // not ours to judge
        try {
            const BackupManifest m =
                BackupManifest::from_json(fs::read_file(manifest, fs::kMaxManifest), manifest);
            if (m.file.empty() || m.file.find('/') != std::string::npos ||
                m.file.compare(0, 22, name, 0, 22) != 0)
                continue;
            if (fs::exists(dir + "/" + m.file) || fs::exists(dir + "/" + m.file + ".partial"))
                continue;
            if (locked_by_someone(manifest)) continue;
            remove(manifest);
        } catch (const Error&) {
        }
    }
    return removed;
}

}  // namespace ctldb::backup
