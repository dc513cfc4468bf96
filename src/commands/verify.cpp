#include "verify.hpp"

#include "ctldb/error.hpp"
#include "ctldb/fs.hpp"
#include "ctldb/pgtools.hpp"
#include "ctldb/process.hpp"
#include "ctldb/text.hpp"

namespace ctldb {

namespace {

constexpr const char* kNoManifestHint =
    "for a dump made without ctldb (the guide's CronJob or pg_dump by hand), pass "
    "--no-manifest: it is then checked for completeness only";

/// The checks that need no manifest: the whole file decompresses and
/// pg_dump finished writing it.
void check_complete(VerifiedBackup& v, const ReadResult& r, const EnvLookup& env) {
    if (r.file_bytes == 0) throw failure(v.path + " is empty", "use another backup");
    if (v.custom) {
        // pg_restore to /dev/null reads every entry of the archive.
        ProcessResult pr =
            run_process({find_pg_tool("pg_restore", env), "--file=/dev/null", v.path});
        if (!pr.ok()) throw failure(v.path + " is not a complete custom archive: " + pr.output);
        v.content_bytes = r.file_bytes;
    } else {
        if (!contains(r.tail, "-- PostgreSQL database dump complete")) {
            throw failure(
                v.path + " does not end with pg_dump's closing marker: the dump is incomplete",
                "use another backup");
        }
        v.content_bytes = r.content_bytes;
    }
}

}  // namespace

VerifiedBackup verify_backup(const std::string& path, const EnvLookup& env,
                             const std::function<void(const char*, std::size_t)>& content,
                             bool allow_no_manifest) {
    if (!fs::exists(path)) throw failure("no such backup: " + path);
    if (fs::is_dir(path)) throw failure(path + " is a directory, not a backup");
    VerifiedBackup v;
    v.path = path;
    const std::string name = path.substr(path.rfind('/') + 1);
    const std::string mpath = manifest_path_for(path);
    if (!parse_backup_time(name) || !fs::exists(mpath)) {
        if (!allow_no_manifest) {
            if (!parse_backup_time(name)) {
                throw failure(path +
                                  " is not a ctldb backup (backup-YYYYmmdd-HHMMSS.sql.gz, "
                                  ".sql.zst or .dump)",
                              kNoManifestHint);
            }
            throw failure(path + " has no manifest (" + mpath + "): it cannot be verified",
                          std::string("a ctldb backup without its manifest may be incomplete; "
                                      "use another one, or ") +
                              kNoManifestHint);
        }
        v.has_manifest = false;
        const DumpKind kind = sniff_dump_kind(path);
        v.custom = kind.custom;
        v.compression = kind.compression;
        const ReadResult r = read_compressed(path, v.compression, v.custom ? nullptr : content);
        check_complete(v, r, env);
        return v;
    }
    v.manifest = BackupManifest::from_json(fs::read_file(mpath), mpath);
    v.custom = v.manifest.format == "custom";
    v.compression = v.custom ? Compression::none : compression_of(name);
    const ReadResult r = read_compressed(path, v.compression, v.custom ? nullptr : content);
    if (r.file_bytes != v.manifest.size_bytes) {
        throw failure(path + " is " + std::to_string(r.file_bytes) + " bytes, the manifest says " +
                          std::to_string(v.manifest.size_bytes) + ": truncated or replaced",
                      "use another backup");
    }
    if (r.sha256 != v.manifest.sha256) {
        throw failure(path + " does not match its manifest's SHA-256: the file is damaged",
                      "use another backup");
    }
    check_complete(v, r, env);
    return v;
}

}  // namespace ctldb
