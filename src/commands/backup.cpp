// ctldb backup [list|verify|prune]: consistent, verified, atomic logical
// backups that replace the guide's `pg_dump > f; gzip f` CronJob.
#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "backup/backup.hpp"
#include "backup/backup_slot.hpp"
#include "backup/backup_verify.hpp"
#include "backup/compress.hpp"
#include "backup/remote.hpp"
#include "backup/retention.hpp"
#include "backup/snapshot.hpp"
#include "base/cpus.hpp"
#include "base/findings.hpp"
#include "base/fs.hpp"
#include "base/log.hpp"
#include "base/process.hpp"
#include "base/signals.hpp"
#include "base/stopwatch.hpp"
#include "base/text.hpp"
#include "base/version.hpp"
#include "cli/context.hpp"
#include "commands/commands.hpp"
#include "config/setting_table.hpp"
#include "crypto/age.hpp"
#include "pg/connection.hpp"
#include "pg/pgtools.hpp"
#include "pg/probes.hpp"
#include "storage/s3.hpp"

namespace ctldb::commands {

namespace {

struct BackupOptions {
    std::string dir;
    std::string format = "plain";
    std::string compression = "gzip";
    int level = -1;  // -1: format's default
    int jobs = 0;    // 0: every core
    backup::Retention keep;
    std::string file;
    bool dry_run = false;
    bool no_space_check = false;
    bool no_manifest = false;
    std::vector<std::string> encrypt_to;  ///< recipients, or files of them
    std::string identity;                 ///< verify: an identity file
};

std::string backup_dir(const BackupOptions& o, Context& ctx) {
    std::string d = o.dir.empty() ? ctx.config().get("backup_dir").text : o.dir;
    if (backup::is_remote(d)) return d;  // s3://: the location's parser reads the slashes
    while (d.size() > 1 && d.back() == '/')
        d.pop_back();
    return d;
}

/// How much room the next backup of `database` in `dir` probably needs: the
/// newest usable backup of the same database and kind plus a quarter (data
/// grows), or, with none to go by, a third of the database's size on disk
/// (a compressed logical dump leaves out indexes and free space) plus 16 MiB.
std::uint64_t space_estimate(const std::string& dir, const std::string& database,
                             const std::string& ext, std::int64_t db_size) {
    for (const auto& b : backup::list_backups(dir)) {  // newest first
        if (b.usable() && b.manifest && b.manifest->database == database &&
            ends_with(b.path, ext)) {
            return b.size + b.size / 4 + (1ULL << 20);
        }
    }
    return static_cast<std::uint64_t>(db_size) / 3 + (16ULL << 20);
}

void check_free_space(const std::string& dir, std::uint64_t estimate) {
    struct statvfs vfs {};
    if (::statvfs(dir.c_str(), &vfs) != 0) return;
    const std::uint64_t free_bytes = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    if (free_bytes < estimate) {
        throw Error(ExitCode::failure,
                    "not enough room in " + dir + ": " + human_bytes(free_bytes) +
                        " free, the backup needs about " + human_bytes(estimate) +
                        "; nothing was written",
                    "free space (ctldb backup prune --keep-last N), use a bigger volume, or "
                    "pass --no-space-check if you know it fits (a backup that runs out of "
                    "room is removed)");
    }
}

/// What --format, --compression, --compress-level and --jobs ask for.
struct DumpPlan {
    bool custom = false;
    backup::Compression compression = backup::Compression::none;
    int level = 0;
    int jobs = 1;
    std::string ext;  ///< ".dump", ".sql.gz" or ".sql.zst"
};

DumpPlan plan_dump(const BackupOptions& o) {
    DumpPlan d;
    d.custom = o.format == "custom";
    d.compression = d.custom ? backup::Compression::none
                             : (o.compression == "zstd" ? backup::Compression::zstd
                                                        : backup::Compression::gzip);
    d.level = o.level >= 0 ? o.level : (d.compression == backup::Compression::zstd ? 3 : 6);
    if (d.compression == backup::Compression::gzip && d.level > 9) {
        throw usage_error("--compress-level for gzip is 1 to 9");
    }
    if (o.jobs > 0) {
        d.jobs = o.jobs;
    } else {
        const CpuBudget cpus = available_cpus();
        d.jobs = cpus.cpus;
        log::detail("compressing with " + std::to_string(d.jobs) + " threads (" + cpus.source +
                    ")");
    }
    d.ext =
        d.custom ? ".dump" : (d.compression == backup::Compression::zstd ? ".sql.zst" : ".sql.gz");
    if (!o.encrypt_to.empty()) {
        if (d.custom) {
            throw usage_error("--encrypt-to works with plain backups (.sql.gz, .sql.zst)",
                              "pg_restore reads a custom archive from its file, which would "
                              "have to be decrypted to disk first");
        }
        d.ext += ".age";
    }
    return d;
}

/// The pg_dump for the server's major version; its version in `m`.
std::string matching_pg_dump(pg::Connection& conn, const config::EnvLookup& env,
                             backup::BackupManifest& m) {
    const pg::probe::ServerVersion sv = pg::probe::server_version(conn);
    const std::int64_t server_num = sv.num;
    m.server_version = sv.text;
    const std::string pg_dump =
        pg::find_pg_tool("pg_dump", env, static_cast<int>(server_num / 10000));
    const int dump_major = pg::pg_tool_major_version(pg_dump, &m.pg_dump_version);
    if (dump_major < server_num / 10000) {
        throw usage_error(pg_dump + " is version " + m.pg_dump_version +
                              ", older than the server (" + m.server_version +
                              "); it cannot dump it",
                          "install postgresql-client-" + std::to_string(server_num / 10000) +
                              " or set CTLDB_PG_BINDIR");
    }
    return pg_dump;
}

/// pg_dump's custom archive, written by pg_dump itself to `partial`.
void dump_custom(std::vector<std::string> argv, const ProcessOptions& po, const DumpPlan& d,
                 const std::string& partial, backup::BackupManifest& m) {
    argv.insert(argv.end(),
                {"--format=custom", "--compress=" + std::to_string(d.level), "--file=" + partial});
    ChildProcess dump(argv, po, {});
    ProcessResult r = dump.wait();
    throw_if_interrupted();
    if (!r.ok()) throw failure("pg_dump failed: " + r.output);
    backup::ReadResult rr = read_compressed(partial, backup::Compression::none, nullptr);
    m.sha256 = rr.sha256;
    m.size_bytes = rr.file_bytes;
    int sync_fd = ::open(partial.c_str(), O_RDONLY | O_CLOEXEC);
    if (sync_fd >= 0) {
        ::fsync(sync_fd);
        ::close(sync_fd);
    }
}

/// Every recipient of --encrypt-to (keys, or files of them), read before
/// anything is dumped: a bad one is a usage error with nothing written.
std::vector<crypto::Recipient> recipients_of(const BackupOptions& o) {
    std::vector<crypto::Recipient> all;
    for (const auto& value : o.encrypt_to) {
        for (auto& r : crypto::recipients_from(value))
            all.push_back(std::move(r));
    }
    return all;
}

/// pg_dump's plain SQL, compressed in parallel into `sink` as it streams;
/// size and SHA-256 in `m`, the dump's own bytes in m.dump_bytes.
void dump_plain(const std::vector<std::string>& argv, const ProcessOptions& po, const DumpPlan& d,
                backup::HashingFileSink& sink, std::uint64_t expected,
                const std::vector<crypto::Recipient>& recipients, backup::BackupManifest& m) {
    if (!recipients.empty()) sink.encrypt_to(recipients);
    for (const auto& r : recipients)
        m.encrypted_to.push_back(r.text);
    auto compressor = d.compression == backup::Compression::zstd
                          ? make_zstd_compressor(sink, d.level, d.jobs)
                          : make_gzip_compressor(sink, d.level, d.jobs);
    ChildProcess dump(argv, po, {false, true, -1});
    // `expected` is an estimate: the percent stops at 99 until done.
    Progress progress("backup", expected, "bytes dumped");
    std::uint64_t dump_bytes = 0;
    dump.read_out(
        [&](const char* data, std::size_t n) {
            compressor->write(data, n);
            dump_bytes += n;
            progress.update(dump_bytes, dump_bytes);
        },
        "pg_dump's output");
    progress.finish();
    ProcessResult r = dump.wait();
    throw_if_interrupted();
    if (!r.ok()) {
        throw failure("pg_dump failed (" +
                          (r.signal ? "signal " + std::to_string(r.signal)
                                    : "exit " + std::to_string(r.exit_code)) +
                          "): " + r.output,
                      "nothing was kept; the previous backups are untouched");
    }
    compressor->finish();
    m.sha256 = sink.finish_sha256();
    m.size_bytes = sink.bytes();
    m.dump_bytes = dump_bytes;
}

/// Retention after a backup: only its database, only older backups.
std::vector<std::string> prune_after(const BackupOptions& o, const std::string& dir,
                                     const std::string& just_made) {
    std::vector<std::string> pruned;
    if (!o.keep.any()) return pruned;
    pruned =
        backup::backups_to_prune(backup::list_backups(dir), o.keep, std::time(nullptr), just_made);
    for (const auto& p : pruned) {
        backup::remove_backup(p);
        log::info("pruned " + p);
    }
    return pruned;
}

cli::Outcome report_backup(const backup::BackupManifest& m, const DumpPlan& d,
                           const std::string& final_path, const std::vector<std::string>& pruned) {
    const double secs = static_cast<double>(m.duration_ms) / 1000.0;
    const double rate =
        secs > 0 ? static_cast<double>(d.custom ? m.size_bytes : m.dump_bytes) / 1e6 / secs : 0;
    char line[512];
    std::snprintf(line, sizeof line, "backup %s: %s in %.1f s (%.1f MB/s%s), %zu tables\n",
                  final_path.c_str(), human_bytes(static_cast<double>(m.size_bytes)).c_str(), secs,
                  rate, d.custom ? "" : " of dump text", m.row_counts.size());
    return cli::Outcome::done(ExitCode::ok, line,
                              {{"path", final_path},
                               {"manifest", backup::manifest_path_for(final_path)},
                               {"size_bytes", m.size_bytes},
                               {"dump_bytes", m.dump_bytes},
                               {"sha256", m.sha256},
                               {"duration_ms", m.duration_ms},
                               {"mb_per_second", rate},
                               {"tables", m.row_counts.size()},
                               {"pruned", pruned}});
}

/// What dead runs left where backups go: `.partial` files in a directory,
/// incomplete uploads in object storage.
void clear_dead_runs(const std::string& dir) {
    if (backup::is_remote(dir)) {
        for (const auto& k : backup::abort_stale_uploads(dir, std::time(nullptr)))
            log::info("cleared " + k + ", left by a run that ended");
        return;
    }
    for (const auto& p : backup::remove_stale_partials(dir))
        log::info("removed " + p + ", left by a run that no longer exists");
}

/// Where the backup being made goes: a slot in a directory (the name held
/// by a lock that dies with this process) or an upload to object storage
/// (nothing visible before publish). Either waits for a free second.
class Destination {
  public:
    Destination(const std::string& dir, const DumpPlan& d) {
        clear_dead_runs(dir);
        if (backup::is_remote(dir)) {
            remote_ = std::make_unique<backup::RemoteBackup>(dir, d.ext);
        } else {
            slot_ = std::make_unique<backup::BackupSlot>(dir, d.ext);
        }
    }
    std::time_t time() const { return remote_ ? remote_->time() : slot_->time(); }
    std::string stem() const { return remote_ ? remote_->stem() : slot_->stem(); }
    std::string final_path() const { return remote_ ? remote_->final_url() : slot_->final_path(); }

    void dump(const std::vector<std::string>& argv, const ProcessOptions& po, const DumpPlan& d,
              std::uint64_t expected, const std::vector<crypto::Recipient>& recipients,
              backup::BackupManifest& m) {
        if (remote_) {
            backup::HashingFileSink sink(
                [this](const char* p, std::size_t n) { remote_->write(p, n); },
                remote_->final_url());
            dump_plain(argv, po, d, sink, expected, recipients, m);
            return;
        }
        fs::UniqueFd fd(slot_->create_data());
        const std::string partial = slot_->data_partial();
        if (d.custom) {
            fd.reset();
            dump_custom(argv, po, d, partial, m);
            return;
        }
        backup::HashingFileSink sink(fd.get(), partial);
        dump_plain(argv, po, d, sink, expected, recipients, m);
        if (::fsync(fd.get()) != 0) {
            throw failure("cannot fsync " + partial + ": " + std::strerror(errno));
        }
    }

    void publish(const std::string& manifest) {
        if (remote_) {
            remote_->publish(manifest);
        } else {
            slot_->publish(manifest);
        }
    }

  private:
    std::unique_ptr<backup::BackupSlot> slot_;
    std::unique_ptr<backup::RemoteBackup> remote_;
};

/// The backup location can take a backup: a writable directory, or an
/// s3:// location (plain format only) whose credentials are readable.
void check_destination(const std::string& dir, const DumpPlan& d) {
    if (backup::is_remote(dir)) {
        if (d.custom) {
            throw usage_error("backups to object storage are plain (--format plain)",
                              "pg_restore reads a custom archive from a file, which a backup "
                              "streamed to s3:// never is");
        }
        storage::parse_s3_url(dir);
        backup::object_storage();  // credentials and endpoint now, not after the dump
        return;
    }
    if (!fs::is_dir(dir)) {
        throw usage_error("backup directory " + dir + " does not exist",
                          "mount the backup volume there, create it, or pass --dir");
    }
    if (::access(dir.c_str(), W_OK) != 0) throw usage_error("cannot write to " + dir);
}

cli::Outcome run_backup(const BackupOptions& o, Context& ctx) {
    const config::Config& cfg = ctx.valid_config(true);
    backup::use_object_storage(cfg, ctx.env);
    config::ConnectionSettings cs = cfg.connection();
    const std::string dir = backup_dir(o, ctx);
    const DumpPlan d = plan_dump(o);
    check_destination(dir, d);
    const std::vector<crypto::Recipient> recipients = recipients_of(o);

    // Fail early when there is no pg_dump at all; the one matching the
    // server's major version is picked once it is known.
    pg::find_pg_tool("pg_dump", ctx.env);
    auto conn = pg::connect(cs);
    pg::complete_from(cs, *conn);  // a service file may name the database
    backup::BackupManifest m;
    const std::string pg_dump = matching_pg_dump(*conn, ctx.env, m);
    if (!o.no_space_check && !backup::is_remote(dir)) {
        const std::int64_t db_size = pg::probe::database_size(*conn);
        check_free_space(dir, space_estimate(dir, cs.dbname, d.ext, db_size));
    }

    // One second per name, shared by the formats' manifest; what dead runs
    // left is cleared first.
    Destination dest(dir, d);
    const std::time_t started = dest.time();
    const Stopwatch t0;

    // One snapshot for the counts and the dump: the manifest describes
    // exactly what is in the file.
    m.snapshot = backup::begin_dump_snapshot(*conn);
    m.row_counts = backup::count_rows(*conn);
    if (!d.custom && backup::has_large_objects(*conn)) {
        // pg_dump wraps large objects in its own BEGIN/COMMIT in plain
        // format, which psql --single-transaction cannot undo.
        log::warn(
            "the database has large objects: pg_dump's plain format commits them on its "
            "own, so restoring this backup is not one transaction; use --format custom "
            "for databases with large objects");
    }

    // pg_dump connects exactly as ctldb did: the complete connection string
    // beats a service file or PG* variable in the environment.
    const config::ChildConnection child = child_connection(cs, "ctldb backup", ctx.env);
    ProcessOptions po;
    po.clear_pg_env = true;
    po.env = child.env;
    log::debug("running " + pg_dump + " (" + child.conninfo + ")");
    const std::vector<std::string> argv = {pg_dump, "--no-password", "--snapshot=" + m.snapshot,
                                           "--dbname=" + child.conninfo};
    dest.dump(argv, po, d, backup::data_estimate(*conn), recipients, m);
    backup::end_dump_snapshot(*conn);

    m.file = dest.stem() + d.ext;
    m.format = d.custom ? "custom" : "plain";
    m.compression =
        d.custom ? "custom" : (d.compression == backup::Compression::zstd ? "zstd" : "gzip");
    m.database = cs.dbname;
    m.ctldb_version = version();
    m.started_at = utc_iso8601(started);
    m.finished_at = utc_now_iso8601();
    m.duration_ms = t0.ms();
    dest.publish(m.to_json());
    const auto pruned = prune_after(o, dir, dest.final_path());
    return report_backup(m, d, dest.final_path(), pruned);
}

std::string age(std::time_t t, std::time_t now) {
    const long s = static_cast<long>(now - t);
    if (s < 120) return std::to_string(s) + "s";
    if (s < 7200) return std::to_string(s / 60) + "m";
    if (s < 172800) return std::to_string(s / 3600) + "h";
    return std::to_string(s / 86400) + "d";
}

/// What `backup list` says of a backup's state.
std::string list_state(const backup::BackupEntry& e, std::time_t now) {
    if (e.in_future(now)) {
        return "in the future: dated " + utc_iso8601(e.taken_at) +
               ", never counted as the newest (check the writer's clock)";
    }
    if (e.problem == "no manifest") {
        // A dump of another tool (or of the guide's CronJob, which names
        // its files as ctldb does), recognised by its content.
        return "no ctldb manifest: a " + e.kind.describe() + " (restore --no-manifest can take it)";
    }
    if (!e.usable()) return "unusable: " + e.problem;
    return e.manifest->verified_at.empty() ? "complete, not verified"
                                           : "verified " + e.manifest->verified_at;
}

nlohmann::json list_json(const std::vector<backup::BackupEntry>& entries, const std::string& dir,
                         std::time_t now) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& e : entries) {
        arr.push_back(
            {{"path", e.path},
             {"database",
              !e.database.empty() ? nlohmann::json(e.database) : nlohmann::json(nullptr)},
             {"in_future", e.in_future(now)},
             {"size_bytes", e.size},
             {"taken_at", utc_iso8601(e.taken_at)},
             {"taken_at_from", e.time_from_name ? "name" : "modification time"},
             {"age_seconds", now - e.taken_at},
             {"usable", e.usable() && !e.in_future(now)},
             {"manifest", e.manifest.has_value()},
             {"made_by_ctldb", !e.foreign},
             {"kind", e.kind.describe()},
             {"problem", e.problem.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.problem)},
             {"verified_at", e.manifest && !e.manifest->verified_at.empty()
                                 ? nlohmann::json(e.manifest->verified_at)
                                 : nlohmann::json(nullptr)}});
    }
    return {{"dir", dir}, {"backups", arr}};
}

std::string list_text(const std::vector<backup::BackupEntry>& entries, const std::string& dir,
                      std::time_t now) {
    Table t({"BACKUP", "DATABASE", "SIZE", "AGE", "STATE"});
    for (const auto& e : entries) {
        t.add_row(
            {e.path.substr(e.path.rfind('/') + 1), e.database.empty() ? "-" : e.database,
             human_bytes(e.size),
             e.in_future(now) ? "future" : age(e.taken_at, now) + (e.time_from_name ? "" : "*"),
             list_state(e, now)});
    }
    const bool by_mtime =
        std::any_of(entries.begin(), entries.end(),
                    [](const backup::BackupEntry& e) { return !e.time_from_name; });
    return entries.empty() ? "no backups in " + dir + "\n"
                           : t.render() + (by_mtime ? "* age from the file's modification "
                                                      "time: its name holds no date\n"
                                                    : "");
}

cli::Outcome run_list(const BackupOptions& o, Context& ctx) {
    backup::use_object_storage(ctx.config(), ctx.env);
    const std::string dir = backup_dir(o, ctx);
    const auto entries = backup::list_backups(dir);
    const std::time_t now = std::time(nullptr);
    return cli::Outcome::done(ExitCode::ok, list_text(entries, dir, now),
                              list_json(entries, dir, now));
}

cli::Outcome run_verify(const BackupOptions& o, Context& ctx) {
    backup::use_object_storage(ctx.config(), ctx.env);
    const backup::VerifiedBackup v =
        backup::verify_backup(o.file, ctx.env, o.no_manifest, o.identity);
    if (!v.has_manifest) {
        const std::string kind = backup::DumpKind{v.custom, v.compression, v.encrypted}.describe();
        return cli::Outcome::done(ExitCode::ok,
                                  "backup " + v.path + " is a complete " + kind + " (" +
                                      human_bytes(v.content_bytes) +
                                      "); no manifest, so no checksum or row counts to check\n",
                                  {{"path", v.path},
                                   {"manifest", false},
                                   {"kind", kind},
                                   {"content_bytes", v.content_bytes}});
    }
    // Remember the verification in the manifest.
    // The data's verdict stands on its own: a read-only mount (a restore
    // drill's volume) cannot take the stamp, which is said, not failed.
    if (!v.content_checked) {
        return cli::Outcome::done(
            ExitCode::ok,
            "backup " + v.path + ": the stored bytes are intact (sha256 " +
                v.manifest.sha256.substr(0, 16) +
                "…); it is encrypted, and its content was not read without --identity\n",
            {{"path", v.path},
             {"manifest", true},
             {"encrypted", true},
             {"content_checked", false},
             {"sha256", v.manifest.sha256},
             {"size_bytes", v.manifest.size_bytes}});
    }
    backup::BackupManifest m = v.manifest;
    m.verified_at = utc_now_iso8601();
    std::string stamp_error;
    try {
        backup::record_manifest(v.path, m);
    } catch (const Error& e) {
        stamp_error = e.what();
        log::warn("the backup is intact, but its manifest could not record the verification: " +
                  stamp_error);
    }
    return cli::Outcome::done(ExitCode::ok,
                              "backup " + v.path + " is complete and intact (sha256 " +
                                  m.sha256.substr(0, 16) + "…, " + human_bytes(v.content_bytes) +
                                  " of dump)\n",
                              {{"path", v.path},
                               {"verified_recorded", stamp_error.empty()},
                               {"manifest", true},
                               {"encrypted", v.encrypted},
                               {"content_checked", true},
                               {"sha256", m.sha256},
                               {"size_bytes", m.size_bytes},
                               {"content_bytes", v.content_bytes},
                               {"tables", m.row_counts.size()}});
}

/// What prune says: each deletion, and with --dry-run each backup kept,
/// with the rules that decide.
std::string prune_text(const std::vector<backup::RetentionDecision>& plan, bool dry_run,
                       std::size_t kept) {
    std::string out;
    for (const auto& d : plan) {
        if (d.keep && !dry_run) continue;
        out += std::string(d.keep    ? "keep "
                           : dry_run ? "would delete "
                                     : "deleted ") +
               d.path + ": " + join(d.reasons, ", ") + "\n";
    }
    return out + std::to_string(kept) + " backup(s) kept\n";
}

cli::Outcome run_prune(const BackupOptions& o, Context& ctx) {
    backup::use_object_storage(ctx.config(), ctx.env);
    if (!o.keep.any()) {
        throw usage_error(
            "backup prune needs a rule: --keep-last, --keep-days, --keep-daily, "
            "--keep-weekly or --keep-monthly");
    }
    const std::string dir = backup_dir(o, ctx);
    if (!o.dry_run) clear_dead_runs(dir);
    const auto entries = backup::list_backups(dir);
    const auto plan = backup::retention_plan(entries, o.keep, std::time(nullptr), "");
    nlohmann::json doomed = nlohmann::json::array(), decisions = nlohmann::json::array();
    for (const auto& d : plan) {
        if (!d.keep) doomed.push_back(d.path);
        decisions.push_back({{"path", d.path},
                             {"database", d.database},
                             {"taken_at", utc_iso8601(d.taken_at)},
                             {"keep", d.keep},
                             {"reasons", d.reasons}});
    }
    if (!o.dry_run) {
        for (const auto& d : plan) {
            if (!d.keep) backup::remove_backup(d.path);
        }
    }
    const std::size_t kept = entries.size() - doomed.size();
    return cli::Outcome::done(
        ExitCode::ok, prune_text(plan, o.dry_run, kept),
        {{"dry_run", o.dry_run}, {"deleted", doomed}, {"kept", kept}, {"decisions", decisions}});
}

/// The retention rules of `backup` (after the backup) and `backup prune`.
void add_retention(CLI::App* c, BackupOptions& o, const std::string& when) {
    const auto rule = [&](const char* flag, int& n, std::string what) {
        if (when.empty()) what[0] = static_cast<char>(std::toupper(what[0]));
        c->add_option(flag, n, when + what + " (default: rule off)")->check(CLI::Range(1, 100000));
    };
    rule("--keep-last", o.keep.keep_last, "keep this many newest usable backups");
    rule("--keep-days", o.keep.keep_days, "keep backups younger than this many days");
    rule("--keep-daily", o.keep.keep_daily,
         "keep the newest backup of each of the last N days that have one (UTC)");
    rule("--keep-weekly", o.keep.keep_weekly,
         "keep the newest backup of each of the last N ISO weeks that have one");
    rule("--keep-monthly", o.keep.keep_monthly,
         "keep the newest backup of each of the last N months that have one");
}

}  // namespace

void bind_backup(CLI::App* cmd, Context& ctx) {
    static BackupOptions o;
    cmd->add_option(
        "--dir", o.dir,
        "Backup directory or s3://bucket/prefix (" + config::env_and_default("backup_dir") + ")");
    cmd->add_option(
           "--format", o.format,
           "plain: .sql.gz for gunzip | psql; custom: .dump for pg_restore (default plain)")
        ->check(CLI::IsMember({"plain", "custom"}));
    cmd->add_option("--compression", o.compression,
                    "For plain: gzip (the runbook's) or zstd (default gzip)")
        ->check(CLI::IsMember({"gzip", "zstd"}));
    cmd->add_option("--compress-level", o.level, "gzip 1-9 (default 6), zstd 1-19 (default 3)")
        ->check(CLI::Range(0, 19));
    cmd->add_option("--jobs", o.jobs,
                    "Compression threads (default: the CPUs available, a pod's CPU limit "
                    "included)")
        ->check(CLI::Range(1, 256));
    add_retention(cmd, o, "After the backup, ");
    cmd->add_option(
           "--encrypt-to", o.encrypt_to,
           "Encrypt the backup (age format) to this recipient: an age1... public key or "
           "a file of them; repeatable. Plain format only; the job needs no secret (default: "
           "not encrypted)")
        ->type_name("RECIPIENT");
    cmd->add_flag("--no-space-check", o.no_space_check,
                  "Start even when the volume looks too small for the backup");
    cmd->callback([cmd, &ctx] {
        if (cmd->get_subcommands().empty()) ctx.run = [&ctx] { return run_backup(o, ctx); };
    });
    auto* list = cmd->add_subcommand("list", "Backups with size, age and state");
    list->add_option(
        "--dir", o.dir,
        "Backup directory or s3://bucket/prefix (" + config::env_and_default("backup_dir") + ")");
    list->callback([&ctx] { ctx.run = [&ctx] { return run_list(o, ctx); }; });
    auto* verify = cmd->add_subcommand(
        "verify", "Check checksum, decompress fully, confirm the dump is complete");
    verify->add_option("file", o.file, "Backup file")->required();
    verify
        ->add_option("--identity", o.identity,
                     "age identity file to read an encrypted backup (env "
                     "CTLDB_AGE_IDENTITY_FILE; default: none, only its stored bytes are checked)")
        ->type_name("FILE");
    verify->add_flag("--no-manifest", o.no_manifest,
                     "Accept a dump made without ctldb: check only that it is complete");
    verify->callback([&ctx] { ctx.run = [&ctx] { return run_verify(o, ctx); }; });
    auto* prune = cmd->add_subcommand("prune", "Delete old backups by retention rules");
    prune->add_option(
        "--dir", o.dir,
        "Backup directory or s3://bucket/prefix (" + config::env_and_default("backup_dir") + ")");
    add_retention(prune, o, "");
    prune->add_flag("--dry-run", o.dry_run, "Only say what would be deleted");
    prune->callback([&ctx] { ctx.run = [&ctx] { return run_prune(o, ctx); }; });
}

}  // namespace ctldb::commands
