#include "base/fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "base/error.hpp"

namespace ctldb::fs {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
        reset();
        fd_ = other.fd_;
        other.fd_ = -1;
    }
    return *this;
}

void UniqueFd::reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
    throw Error(ExitCode::failure, what + " " + path + ": " + std::strerror(errno));
}

void write_all(int fd, const std::string& contents, const std::string& path) {
    const char* p = contents.data();
    std::size_t left = contents.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int saved = errno;
            ::close(fd);
            errno = saved;
            fail("cannot write", path);
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) {
        int saved = errno;
        ::close(fd);
        errno = saved;
        fail("cannot fsync", path);
    }
    if (::close(fd) != 0) fail("cannot close", path);
}

}  // namespace

void sync_parent_dir(const std::string& path) {
    std::string dir = std::filesystem::path(path).parent_path().string();
    if (dir.empty()) dir = ".";
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) fail("cannot open directory", dir);
    ::fsync(fd);
    ::close(fd);
}

void write_atomic(const std::string& path, const std::string& contents, mode_t mode) {
    const std::string tmp = path + ".partial";
    ::unlink(tmp.c_str());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) fail("cannot create", tmp);
    ::fchmod(fd, mode);  // the umask must not loosen or tighten the mode asked for
    try {
        write_all(fd, contents, tmp);
    } catch (...) {
        ::unlink(tmp.c_str());
        throw;
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int saved = errno;
        ::unlink(tmp.c_str());
        errno = saved;
        fail("cannot rename into", path);
    }
    sync_parent_dir(path);
}

void write_new(const std::string& path, const std::string& contents, mode_t mode) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) fail("cannot create", path);
    ::fchmod(fd, mode);
    try {
        write_all(fd, contents, path);
    } catch (...) {
        ::unlink(path.c_str());
        throw;
    }
    sync_parent_dir(path);
}

namespace {

const char* file_type(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
    return "not a regular file";
}

/// The open and the checks of open_input, with the reason instead of a throw.
int open_checked(const std::string& path, std::uint64_t max_bytes, std::string& why) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        const int saved = errno;
        struct stat st {};
        // A socket cannot be opened at all (ENXIO): say what it is.
        why = ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)
                  ? std::string("it is ") + file_type(st.st_mode) + ", not a regular file"
                  : std::strerror(saved);
        return -1;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        why = std::strerror(errno);
    } else if (!S_ISREG(st.st_mode)) {
        why = std::string("it is ") + file_type(st.st_mode) + ", not a regular file";
    } else if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
        why = "it is " + std::to_string(st.st_size) + " bytes, more than the " +
              std::to_string(max_bytes) + " such a file may hold";
    } else {
        // Reads of a regular file never block; clear the flag all the same.
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        return fd;
    }
    ::close(fd);
    return -1;
}

}  // namespace

std::string input_problem(const std::string& path, std::uint64_t max_bytes) {
    std::string why;
    const int fd = open_checked(path, max_bytes, why);
    if (fd >= 0) ::close(fd);
    return fd >= 0 ? std::string() : why;
}

UniqueFd open_input(const std::string& path, const std::string& what, std::uint64_t max_bytes,
                    ExitCode code) {
    std::string why;
    const int fd = open_checked(path, max_bytes, why);
    if (fd < 0) throw Error(code, "cannot read " + what + " " + path + ": " + why);
    return UniqueFd(fd);
}

std::string read_file(const std::string& path, std::uint64_t max_bytes, ExitCode code) {
    UniqueFd fd = open_input(path, "file", max_bytes, code);
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw Error(code, "cannot read " + path + ": " + std::strerror(errno));
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > max_bytes)
            throw Error(code, "cannot read " + path + ": it grew past " +
                                  std::to_string(max_bytes) + " bytes");
    }
    return out;
}

std::vector<std::string> list_files(const std::string& dir, const std::string& suffix) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
        throw usage_error("cannot read directory " + dir + ": " + std::strerror(errno));
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
        const std::string n = e->d_name;
        if (n == "." || n == "..") continue;
        if (n.size() >= suffix.size() &&
            n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0) {
            names.push_back(n);
        }
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

bool is_dir(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void make_dirs(const std::string& path, mode_t mode) {
    // Each missing parent is created 0755 and chmod-ed to it, so a umask of
    // 000 (or 077) does not decide who may enter it; existing ones are left.
    std::filesystem::path built;
    for (const auto& part : std::filesystem::path(path)) {
        built /= part;
        if (part.empty() || part == "/" || part == "." || part == "..") continue;
        struct stat st {};
        if (::stat(built.c_str(), &st) == 0) continue;
        if (::mkdir(built.c_str(), 0700) != 0 && errno != EEXIST)
            fail("cannot create directory", built.string());
        if (::chmod(built.c_str(), 0755) != 0) fail("cannot chmod", built.string());
    }
    if (::chmod(path.c_str(), mode) != 0) fail("cannot chmod", path);
}

void remove_tree(const std::string& path) {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec) {
        errno = ec.value();
        fail("cannot remove", path);
    }
}

std::string absolute(const std::string& path) {
    std::error_code ec;
    auto p = std::filesystem::absolute(path, ec);
    if (ec) return path;
    return p.lexically_normal().string();
}

}  // namespace ctldb::fs

namespace ctldb::fs {

namespace {

bool process_alive(long pid) {
    return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH);
}

/// Removes a staging directory's entries (files and links only) and itself.
void remove_flat_dir(const std::string& path) {
    if (DIR* d = ::opendir(path.c_str())) {
        while (dirent* e = ::readdir(d)) {
            const std::string n = e->d_name;
            if (n != "." && n != "..") ::unlink((path + "/" + n).c_str());
        }
        ::closedir(d);
    }
    ::rmdir(path.c_str());
}

/// Staging directories of earlier runs that were killed: ".NAME.ctldb-<pid>".
void remove_stale_staging(const std::string& parent, const std::string& prefix) {
    DIR* d = ::opendir(parent.c_str());
    if (d == nullptr) return;
    std::vector<std::string> stale;
    while (dirent* e = ::readdir(d)) {
        const std::string n = e->d_name;
        if (n.rfind(prefix, 0) != 0) continue;
        if (!process_alive(std::atol(n.c_str() + prefix.size()))) stale.push_back(n);
    }
    ::closedir(d);
    for (const auto& n : stale)
        remove_flat_dir(parent + "/" + n);
}

/// The old way, where directories cannot be exchanged: every file written
/// as NAME.ctldb-new first, then each renamed into place.
void replace_one_by_one(const std::string& dir, const std::vector<NewFile>& files) {
    for (const auto& f : files) {
        const std::string tmp = dir + "/" + f.name + ".ctldb-new";
        ::unlink(tmp.c_str());
        write_new(tmp, f.contents, f.mode);
    }
    for (const auto& f : files) {
        const std::string tmp = dir + "/" + f.name + ".ctldb-new";
        if (::rename(tmp.c_str(), (dir + "/" + f.name).c_str()) != 0)
            fail("cannot rename into", dir + "/" + f.name);
    }
    sync_parent_dir(dir + "/x");
}

}  // namespace

bool replace_in_dir(const std::string& dir, const std::vector<NewFile>& files) {
    const std::filesystem::path p = std::filesystem::absolute(dir).lexically_normal();
    std::string base = p.filename().string();
    std::filesystem::path parent_path = p.parent_path();
    if (base.empty()) {  // "dir/" normalised to "dir/" with an empty file name
        base = parent_path.filename().string();
        parent_path = parent_path.parent_path();
    }
    const std::string parent = parent_path.string();
    const std::string prefix = "." + base + ".ctldb-";
    remove_stale_staging(parent, prefix);
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) fail("cannot read", dir);
    const std::string staging = parent + "/" + prefix + std::to_string(::getpid());
    remove_flat_dir(staging);
    bool exchangeable = ::mkdir(staging.c_str(), 0700) == 0;
    if (exchangeable) {
        // Everything else in the directory comes along as hard links, so
        // the exchanged directory holds the same files plus the new ones.
        DIR* d = ::opendir(dir.c_str());
        if (d == nullptr) fail("cannot read", dir);
        while (dirent* e = ::readdir(d)) {
            const std::string n = e->d_name;
            if (n == "." || n == "..") continue;
            if (std::any_of(files.begin(), files.end(),
                            [&](const NewFile& f) { return f.name == n; }))
                continue;
            struct stat es {};
            if (::lstat((dir + "/" + n).c_str(), &es) != 0 ||
                !(S_ISREG(es.st_mode) || S_ISLNK(es.st_mode)) ||
                ::link((dir + "/" + n).c_str(), (staging + "/" + n).c_str()) != 0) {
                exchangeable = false;  // a subdirectory, another file system, ...
                break;
            }
        }
        ::closedir(d);
    }
    if (exchangeable) {
        for (const auto& f : files)
            write_new(staging + "/" + f.name, f.contents, f.mode);
        ::chmod(staging.c_str(), st.st_mode & 07777);
        if (::geteuid() == 0) (void)::chown(staging.c_str(), st.st_uid, st.st_gid);
        sync_parent_dir(staging + "/x");
        exchangeable = ::syscall(SYS_renameat2, AT_FDCWD, staging.c_str(), AT_FDCWD, dir.c_str(),
                                 RENAME_EXCHANGE) == 0;
    }
    // After an exchange the staging name holds the old files; otherwise
    // it holds links and copies that were never used.
    remove_flat_dir(staging);
    if (!exchangeable) {
        replace_one_by_one(dir, files);
        return false;
    }
    sync_parent_dir(dir);
    return true;
}

}  // namespace ctldb::fs
