#include "backup/backup_verify.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include "backup/archive_toc.hpp"
#include "backup/dump_runner.hpp"
#include "backup/remote.hpp"
#include "base/error.hpp"
#include "base/fs.hpp"
#include "base/process.hpp"
#include "base/signals.hpp"
#include "base/text.hpp"
#include "pg/pgtools.hpp"

namespace ctldb::backup {

namespace {

/// pg_restore reads an archive from the file itself: an encrypted one
/// would need a decrypted copy, which a backup is never turned into.
void refuse_encrypted_archive(const VerifiedBackup& v) {
    if (v.encrypted && v.custom) {
        throw usage_error(v.path + " is an encrypted custom archive, which ctldb does not read",
                          "decrypt it with age -d first, or use plain backups with --encrypt-to");
    }
}

constexpr const char* kNoManifestHint =
    "for a dump made without ctldb (the guide's CronJob or pg_dump by hand), pass "
    "--no-manifest: it is then checked for completeness only";

Error no_manifest_error(const std::string& path, const std::string& mpath) {
    return failure(path + " has no manifest (" + mpath + "): it cannot be verified",
                   std::string("a ctldb backup without its manifest may be incomplete; "
                               "use another one, or ") +
                       kNoManifestHint);
}

/// A backup without a manifest: what it is, from its first bytes.
void take_kind(VerifiedBackup& v, const DumpKind& kind) {
    v.has_manifest = false;
    v.custom = kind.custom;
    v.compression = kind.compression;
    v.encrypted = kind.encrypted;
}

/// A backup with its manifest `m` (at `mpath`), named `name`: the two agree.
void take_manifest(VerifiedBackup& v, BackupManifest m, const std::string& name,
                   const std::string& mpath) {
    v.manifest = std::move(m);
    if (v.manifest.file != name) {
        throw failure(mpath + " describes " + v.manifest.file + ", not " + name,
                      "the manifest belongs to another backup; use another one");
    }
    v.custom = v.manifest.format == "custom";
    v.compression = v.custom ? Compression::none : compression_of(name);
    v.encrypted = encrypted_name(name);
    if (v.encrypted == v.manifest.encrypted_to.empty()) {
        throw failure(mpath + (v.encrypted ? " does not say that " + name + " is encrypted"
                                           : " says that " + name + " is encrypted"),
                      "the manifest and the file disagree; use another backup");
    }
}

}  // namespace

BackupInput::BackupInput(std::unique_ptr<storage::ObjectDownload> download, std::uint64_t size)
    : download_(std::move(download)), size_(size) {}
BackupInput::~BackupInput() = default;
BackupInput::BackupInput(BackupInput&&) noexcept = default;

int BackupInput::get() const {
    return download_ ? download_->fd() : fd_.get();
}

void BackupInput::rethrow_transfer_error() {
    if (download_) download_->rethrow_error();
}

BackupInput open_backup(const std::string& path) {
    if (is_remote(path)) {
        const RemoteObject o = remote_object(path);
        storage::S3Client client(object_storage(), o.dir.bucket);
        const auto info = client.head(o.key());
        if (!info) throw failure("no such backup: " + path);
        return BackupInput(std::make_unique<storage::ObjectDownload>(
                               object_storage(), o.dir.bucket, o.key(), info->size, info->etag),
                           info->size);
    }
    fs::UniqueFd fd = fs::open_input(path, "backup");
    struct stat st {};
    const std::uint64_t size =
        ::fstat(fd.get(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
    return BackupInput(std::move(fd), size);
}

namespace {

/// A backup's manifest or drill record named where its data belongs
/// (restore, verify): said as such, instead of "it has no manifest".
void refuse_sidecar(const std::string& path) {
    const std::string name = path.substr(path.rfind('/') + 1);
    if (!ends_with(name, ".json")) return;
    const bool drill = ends_with(name, ".drill.json");
    const std::size_t suffix = std::string_view(drill ? ".drill.json" : ".json").size();
    const std::string stem = path.substr(0, path.size() - suffix);
    if (!parse_backup_time(name.substr(0, name.size() - suffix) + ".sql.gz")) return;
    throw usage_error(
        path + " is the " + (drill ? "drill record" : "manifest") + " of a backup, not the backup",
        "name its data: " + stem +
            ".sql.gz (or .sql.zst, .dump; .age when "
            "encrypted), or restore latest --dir with its location");
}

/// describe_backup() of an s3:// backup: its manifest object, else (with
/// `allow_no_manifest`) its kind from its first bytes. Custom archives are
/// read by pg_restore from a file, so they are not restored from there.
VerifiedBackup describe_remote(const std::string& path, bool allow_no_manifest) {
    const RemoteObject o = remote_object(path);
    if (!storage::S3Client(object_storage(), o.dir.bucket).head(o.key())) {
        throw failure("no such backup: " + path,
                      "a location is not a backup; the newest backup under one: restore latest "
                      "--dir s3://bucket/prefix");
    }
    VerifiedBackup v;
    v.path = path;
    const auto m = parse_backup_time(o.name) ? remote_manifest(path) : std::nullopt;
    if (!m) {
        if (!allow_no_manifest) throw no_manifest_error(path, manifest_path_for(path));
        take_kind(v, remote_kind(path));
    } else {
        take_manifest(v, *m, o.name, manifest_path_for(path));
    }
    if (v.custom) {
        throw usage_error(path +
                              " is a custom archive in object storage, which ctldb does not "
                              "read from there",
                          "copy it to a file first; ctldb writes plain backups to s3://");
    }
    return v;
}

}  // namespace

VerifiedBackup describe_backup(const std::string& path, bool allow_no_manifest) {
    refuse_sidecar(path);
    if (is_remote(path)) return describe_remote(path, allow_no_manifest);
    if (!fs::exists(path)) throw failure("no such backup: " + path);
    if (fs::is_dir(path)) {
        throw failure(path + " is a directory, not a backup",
                      "the newest backup in it: restore latest --dir " + path);
    }
    VerifiedBackup v;
    v.path = path;
    const std::string name = path.substr(path.rfind('/') + 1);
    const std::string mpath = manifest_path_for(path);
    if (!parse_backup_time(name) || !fs::exists(mpath)) {
        if (!allow_no_manifest) {
            if (!parse_backup_time(name)) {
                DumpKind kind;
                if (looks_like_pg_dump(path, kind)) {
                    throw failure(path + " is a " + kind.describe() +
                                      " made without ctldb: it has no manifest",
                                  kNoManifestHint);
                }
                throw failure(path + " is neither a ctldb backup nor a pg_dump file",
                              "ctldb backups are named backup-YYYYmmdd-HHMMSS.sql.gz, .sql.zst "
                              "or .dump; other dumps are recognised by pg_dump's header");
            }
            throw no_manifest_error(path, mpath);
        }
        take_kind(v, sniff_dump_kind(path));
        refuse_encrypted_archive(v);
        return v;
    }
    take_manifest(v, BackupManifest::from_json(fs::read_file(mpath, fs::kMaxManifest), mpath), name,
                  mpath);
    refuse_encrypted_archive(v);
    return v;
}

std::string identity_file_of(const std::string& given, const config::EnvLookup& env) {
    if (!given.empty()) return given;
    return env("CTLDB_AGE_IDENTITY_FILE").value_or("");
}

void open_encrypted(VerifiedBackup& v, const std::string& given, const config::EnvLookup& env) {
    if (!v.encrypted) return;
    const std::string identity_file = identity_file_of(given, env);
    if (identity_file.empty()) {
        throw usage_error(v.path + " is encrypted (age); nothing was changed",
                          "pass --identity FILE (or set CTLDB_AGE_IDENTITY_FILE) with the "
                          "identity of one of its recipients");
    }
    v.identities = crypto::read_identity_file(identity_file);
    // Its header, opened now: a wrong identity is said before anything is
    // touched, not after a database was created.
    const BackupInput fd = open_backup(v.path);
    std::vector<char> head(64 * 1024);
    ssize_t n = 0;
    while (n < static_cast<ssize_t>(head.size())) {  // a pipe gives it in pieces
        const ssize_t r =
            ::read(fd.get(), head.data() + n, head.size() - static_cast<std::size_t>(n));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += r;
    }
    if (n <= 0) throw failure(v.path + " is empty", "use another backup");
    crypto::Decryptor probe(
        v.identities, [](const char*, std::size_t) {}, v.path);
    probe.feed(head.data(), static_cast<std::size_t>(n));
}

void check_size_against_manifest(const VerifiedBackup& v, std::uint64_t size) {
    if (!v.has_manifest || size == v.manifest.size_bytes) return;
    throw failure(v.path + " is " + std::to_string(size) + " bytes, the manifest says " +
                      std::to_string(v.manifest.size_bytes) +
                      ": truncated or replaced; nothing was changed",
                  "use another backup");
}

void check_against_manifest(const VerifiedBackup& v, const ReadResult& r) {
    if (r.file_bytes == 0) throw failure(v.path + " is empty", "use another backup");
    check_size_against_manifest(v, r.file_bytes);
    if (!v.has_manifest) return;
    if (r.sha256 != v.manifest.sha256) {
        throw failure(v.path + " does not match its manifest's SHA-256: the file is damaged",
                      "use another backup");
    }
}

std::string cross_check_with_list(const ArchiveToc& toc, int fd, const std::string& pg_restore,
                                  const std::string& path) {
    ::lseek(fd, 0, SEEK_SET);
    ProcessOptions po;
    po.clear_pg_env = true;
    po.stdin_fd = fd;
    const ProcessResult pr = run_process({pg_restore, "--list"}, po);
    ::lseek(fd, 0, SEEK_SET);
    if (!pr.ok()) throw failure(path + " is not a complete custom archive: " + pr.output);
    std::map<int, const ArchiveTocEntry*> ours;
    for (const auto& e : toc.entries)
        ours[e.dump_id] = &e;
    std::set<int> listed;
    const auto differ = [&](const std::string& what) {
        throw failure(path + ": pg_restore and ctldb read its table of contents differently (" +
                          what + "); nothing was run",
                      "the archive is damaged or crafted; use another backup");
    };
    std::size_t at = 0;
    while (at < pr.output.size()) {
        const std::size_t nl = pr.output.find('\n', at);
        const std::string line =
            pr.output.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
        at = nl == std::string::npos ? pr.output.size() : nl + 1;
        if (line.empty() || line[0] == ';') continue;
        const int id = std::atoi(line.c_str());
        const auto semi = line.find("; ");
        if (id <= 0 || semi == std::string::npos) differ("a list line ctldb cannot read");
        const auto it = ours.find(id);
        if (it == ours.end()) differ("entry " + std::to_string(id) + " is not in ctldb's reading");
        // "ID; tableoid oid DESC ...": the type follows the two oids.
        std::size_t p = semi + 2;
        for (int skip = 0; skip < 2 && p != std::string::npos; ++skip) {
            p = line.find(' ', p);
            if (p != std::string::npos) ++p;
        }
        if (p == std::string::npos ||
            line.compare(p, it->second->desc.size(), it->second->desc) != 0)
            differ("entry " + std::to_string(id) + " is " + it->second->desc + " to ctldb");
        listed.insert(id);
    }
    for (const auto& e : toc.entries) {
        if (listed.count(e.dump_id)) continue;
        if (!never_run_by_restore(e))
            differ("entry " + std::to_string(e.dump_id) + " (" + e.desc + ") is not listed");
    }
    return pr.output;
}

void archive_as_sql(int fd, const std::string& pg_restore, const std::string& path,
                    const std::function<void(const char*, std::size_t)>& sink) {
    ::lseek(fd, 0, SEEK_SET);
    ProcessOptions po;
    po.clear_pg_env = true;
    ChildProcess::Pipes pipes;
    pipes.stdout_pipe = true;
    pipes.stdin_fd = fd;
    ChildProcess child({pg_restore, "--file=-"}, po, pipes);
    child.read_out(sink, "pg_restore's output");
    const ProcessResult pr = child.wait();
    throw_if_interrupted();
    if (!pr.ok()) throw failure(path + " is not a complete custom archive: " + pr.output);
    ::lseek(fd, 0, SEEK_SET);
}

void check_archive_as_sql(int fd, const std::string& pg_restore, const std::string& path) {
    DumpRunner check(nullptr, "", path);
    archive_as_sql(fd, pg_restore, path, [&](const char* d, std::size_t n) { check.feed(d, n); });
    check.finish();
}

namespace {

/// A statement restore would refuse makes the backup "would be refused by
/// restore", not "damaged": the bytes may be exactly what was written.
template <typename Fn>
void as_restore_would(const std::string& path, Fn&& fn) {
    try {
        fn();
    } catch (const Error& e) {
        const std::string what = e.what();
        if (what.find(": refused: ") == std::string::npos) throw;
        Error out(ExitCode::failure, path + " would be refused by restore: " + what,
                  "it holds statements no dump of one database contains; do not restore it");
        out.with_details(e.details());
        throw out;
    }
}

}  // namespace

VerifiedBackup verify_backup(const std::string& path, const config::EnvLookup& env,
                             bool allow_no_manifest, const std::string& identity) {
    VerifiedBackup v = describe_backup(path, allow_no_manifest);
    if (v.encrypted && identity_file_of(identity, env).empty()) {
        // The backup job holds no identity: it can still prove the stored
        // bytes are the ones it wrote.
        if (!v.has_manifest) {
            throw usage_error(path +
                              " is encrypted and has no manifest: nothing to check "
                              "without --identity");
        }
        BackupInput fd = open_backup(path);
        const ReadResult r = reading(
            fd, [&] { return read_compressed_fd(fd.get(), path, Compression::none, nullptr); });
        check_against_manifest(v, r);
        v.content_checked = false;
        v.content_bytes = r.file_bytes;
        return v;
    }
    open_encrypted(v, identity, env);
    BackupInput fd = open_backup(path);
    if (v.custom) {
        const ReadResult r = read_compressed_fd(fd.get(), path, Compression::none, nullptr);
        check_against_manifest(v, r);
        // The table of contents as restore --jobs checks it, then every
        // entry through pg_restore's SQL as the one-transaction path runs
        // it: the same open file (stdin), not the path again.
        as_restore_would(path, [&] {
            const std::string pg_restore = pg::find_pg_tool("pg_restore", env);
            const ArchiveToc toc = read_archive_toc(fd.get(), path);
            check_archive_toc(toc, path);
            cross_check_with_list(toc, fd.get(), pg_restore, path);
            check_archive_as_sql(fd.get(), pg_restore, path);
        });
        v.content_bytes = r.file_bytes;
        return v;
    }
    DumpRunner check(nullptr, "", path);
    ReadResult r;
    as_restore_would(path, [&] {
        r = reading(fd, [&] {
            return read_compressed_fd(
                fd.get(), path, v.compression,
                [&](const char* d, std::size_t n) { check.feed(d, n); }, v.decrypt_with());
        });
    });
    check_against_manifest(v, r);
    as_restore_would(path, [&] { check.finish(); });
    v.content_bytes = r.content_bytes;
    return v;
}

}  // namespace ctldb::backup
