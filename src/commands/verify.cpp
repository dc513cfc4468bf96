#include "verify.hpp"

#include "ctldb/error.hpp"
#include "ctldb/fs.hpp"
#include "ctldb/pgtools.hpp"
#include "ctldb/process.hpp"
#include "ctldb/text.hpp"

namespace ctldb {

VerifiedBackup verify_backup(const std::string& path, const EnvLookup& env,
                             const std::function<void(const char*, std::size_t)>& content) {
    if (!fs::exists(path)) throw failure("no such backup: " + path);
    const std::string name = path.substr(path.rfind('/') + 1);
    if (!parse_backup_time(name)) {
        throw failure(path +
                      " is not a ctldb backup (backup-YYYYmmdd-HHMMSS.sql.gz, .sql.zst or .dump)");
    }
    const std::string mpath = manifest_path_for(path);
    if (!fs::exists(mpath)) {
        throw failure(path + " has no manifest (" + mpath + "): it cannot be verified",
                      "a backup without its manifest may be incomplete; use another one");
    }
    VerifiedBackup v;
    v.path = path;
    v.manifest = BackupManifest::from_json(fs::read_file(mpath), mpath);
    const Compression c = compression_of(name);
    ReadResult r;
    if (v.manifest.format == "custom") {
        r = read_compressed(path, Compression::none, nullptr);
    } else {
        r = read_compressed(path, c, content);
    }
    if (r.file_bytes != v.manifest.size_bytes) {
        throw failure(path + " is " + std::to_string(r.file_bytes) + " bytes, the manifest says " +
                          std::to_string(v.manifest.size_bytes) + ": truncated or replaced",
                      "use another backup");
    }
    if (r.sha256 != v.manifest.sha256) {
        throw failure(path + " does not match its manifest's SHA-256: the file is damaged",
                      "use another backup");
    }
    if (v.manifest.format == "custom") {
        // pg_restore to /dev/null reads every entry of the archive.
        ProcessResult pr = run_process({find_pg_tool("pg_restore", env), "--file=/dev/null", path});
        if (!pr.ok()) throw failure(path + " is not a complete custom archive: " + pr.output);
        v.content_bytes = r.file_bytes;
    } else {
        if (!contains(r.tail, "-- PostgreSQL database dump complete")) {
            throw failure(
                path + " does not end with pg_dump's closing marker: the dump is incomplete",
                "use another backup");
        }
        v.content_bytes = r.content_bytes;
    }
    return v;
}

}  // namespace ctldb
