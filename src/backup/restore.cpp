#include "backup/restore.hpp"
#include "backup/restore_steps.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <set>
#include <thread>

#include <libpq-fe.h>
#include <nlohmann/json.hpp>

#include "backup/archive_toc.hpp"
#include "backup/backup.hpp"
#include "backup/backup_verify.hpp"
#include "backup/dump_runner.hpp"
#include "base/fs.hpp"
#include "base/log.hpp"
#include "base/output.hpp"
#include "base/process.hpp"
#include "base/signals.hpp"
#include "base/stopwatch.hpp"
#include "base/text.hpp"
#include "base/version.hpp"
#include "pg/connection.hpp"
#include "pg/pgtools.hpp"
#include "pg/probes.hpp"
#include "pg/sql.hpp"
#include "pg/sqlstate.hpp"

namespace ctldb::backup {

namespace {

using namespace restore_steps;

/// Feed the plain dump in `fd` to `runner`, checking every byte as it
/// passes: one read of one open file is both the verification and the
/// restore.
void run_plain(BackupInput& in, const VerifiedBackup& v, DumpRunner& runner) {
    const int fd = in.get();
    Progress progress("restore", in.seekable() ? in.size() : 0, "bytes read");
    const ReadResult r = reading(in, [&] {
        return read_compressed_fd_ahead(
            fd, v.path, v.compression,
            [&](const char* d, std::size_t n) {
                runner.feed(d, n);
                const off_t at = in.seekable() ? ::lseek(fd, 0, SEEK_CUR) : 0;
                progress.update(at > 0 ? static_cast<std::uint64_t>(at) : runner.stats().bytes,
                                runner.stats().bytes);
            },
            v.decrypt_with());
    });
    progress.finish();
    check_against_manifest(v, r);
    runner.finish();
}

/// A custom archive: checked against its manifest, then turned back into
/// SQL by pg_restore (reading the same open file) and run like a plain dump.
void run_custom(int fd, const VerifiedBackup& v, const std::string& pg_restore,
                DumpRunner& runner) {
    check_against_manifest(v, read_compressed_fd(fd, v.path, Compression::none, nullptr));
    Progress progress("restore", 0, "bytes of SQL run");
    archive_as_sql(fd, pg_restore, v.path, [&](const char* d, std::size_t n) {
        runner.feed(d, n);
        progress.update(runner.stats().bytes, runner.stats().bytes);
    });
    progress.finish();
    runner.finish();
}

/// The database to restore into: --target-db, else DB_NAME, else the one a
/// service file names (asked of the server).
config::ConnectionSettings restore_target(const RestoreOptions& o, const config::Config& cfg) {
    config::ConnectionSettings cs = cfg.connection();
    if (!o.target_db.empty()) {
        if (const std::string why = config::database_name_problem(o.target_db); !why.empty())
            throw usage_error("invalid --target-db: " + why);
        cs.dbname = o.target_db;
    }
    if (cs.dbname.empty()) pg::complete_from(cs, *pg::connect(cs));
    return cs;
}

/// Refuses a non-empty target without --clean; asks on a terminal unless
/// --yes (or the database was just created). False when the answer is no.
bool may_restore(const RestoreOptions& o, pg::Connection& conn, const std::string& path,
                 const std::string& db, const std::string& where, bool created,
                 std::int64_t& existing) {
    existing = user_relations(conn);
    if (existing > 0 && !o.clean) {
        throw failure("database " + db + " is not empty (" + std::to_string(existing) +
                          " tables, views or sequences); nothing was changed",
                      "restore into an empty database (--target-db NEW --create) or pass "
                      "--clean to replace its contents");
    }
    if (o.yes || created) return true;
    if (is_tty(stdin)) {
        return confirm("Restore " + path + " into " + where +
                       (existing > 0 ? ", replacing everything in it?" : "?"));
    }
    if (existing > 0) {
        throw usage_error("--clean replaces everything in " + where + "; pass --yes to confirm");
    }
    return true;
}

/// What one restore did, for the report.
struct RestoreOutcome {
    DumpRunStats stats;
    nlohmann::json tables;
    std::vector<std::string> differences;
};

/// One transaction: the clean, every statement and COPY of the dump, the
/// checks. COMMIT only when all of it passed; a kill anywhere before closes
/// the session and the server rolls it all back. The clean runs as the
/// connected role and within --lock-timeout; the dump runs as `rr.role`.
RestoreOutcome restore_in_one_transaction(pg::Connection& conn,
                                          const config::ConnectionSettings& cs,
                                          const std::string& path, BackupInput& in,
                                          const VerifiedBackup& v, const std::string& pg_restore,
                                          bool clean_first, const RestoreRole& rr, int lock_ms) {
    RestoreOutcome out;
    set_lock_timeout(conn, lock_ms);
    exec(conn, "BEGIN");
    if (clean_first) {
        try {
            exec(conn, clean_sql(conn));
        } catch (const Error& e) {
            if (e.code() != ExitCode::lock) throw;
            exec(conn, "ROLLBACK");
            throw_lock_timeout(cs, cs.dbname, "emptying " + cs.dbname + " (--clean)", lock_ms);
        }
    }
    if (rr.set_role) exec(conn, "SET LOCAL ROLE " + quote_ident(rr.role));
    DumpRunner runner(&conn, cs.dbname, path);
    runner.set_role(rr.set_role ? rr.role : "", rr.session_superuser);
    try {
        if (v.custom) {
            run_custom(in.get(), v, pg_restore, runner);
        } else {
            run_plain(in, v, runner);
        }
    } catch (const Error& e) {
        const auto& d = e.details();
        const bool denied =
            std::find(d.begin(), d.end(),
                      std::string("SQLSTATE ") + pg::sqlstate::insufficient_privilege) != d.end();
        if (!rr.set_role || !rr.session_superuser || !denied) throw;
        // The role rule at work: say so, and how to trust the file instead.
        Error refused(
            e.code(), e.what(),
            "the dump ran as role " + rr.role +
                ", the target's owner, not with the "
                "connected superuser's rights, and the server refused it that; nothing was "
                "committed. If the file is trusted: --as-superuser");
        refused.with_details(d);
        throw refused;
    }
    out.stats = runner.stats();
    out.differences = compare_counts(conn, v.manifest, out.tables);
    throw_if_interrupted();
    if (!out.differences.empty()) {
        exec(conn, "ROLLBACK");
        Error e(ExitCode::failure,
                "row counts of the restored data differ from the backup's manifest; the restore "
                "was rolled back",
                "the target is as it was before; use another backup");
        e.with_details(out.differences);
        throw e;
    }
    exec(conn, "COMMIT");
    return out;
}

RestoreReport report_restore(const std::string& path, const std::string& where,
                             const std::string& dbname, const std::string& source,
                             const VerifiedBackup& v, const RestoreOutcome& r,
                             const RestoreRole& rr, std::int64_t ms) {
    const std::string from = backup_database(v);
    RestoreReport out;
    {
        nlohmann::json j = {
            {"path", path},
            {"database", dbname},
            {"backup_database", from.empty() ? nlohmann::json(nullptr) : nlohmann::json(from)},
            {"duration_ms", ms},
            {"manifest", v.has_manifest},
            {"statements", r.stats.statements},
            {"copy_blocks", r.stats.copy_blocks},
            {"dump_bytes", r.stats.bytes},
            {"tables", r.tables},
            {"differences", r.differences},
            {"statements_left_out", r.stats.skipped},
            {"ownership_left_out", r.stats.ownership_left_out}};
        j.update(role_json(rr));
        out.json = std::move(j);
        out.text =
            "restored " + path + " into " + where + " in " + std::to_string(ms / 1000) + "." +
            std::to_string(ms % 1000 / 100) + " s, one transaction; " +
            (!v.has_manifest ? std::string("no manifest, row counts not compared")
                             : std::to_string(v.manifest.row_counts.size()) +
                                   " tables, row counts match the manifest") +
            (r.stats.skipped == 0 ? std::string()
                                  : "; " + std::to_string(r.stats.skipped) +
                                        " extension statement(s) the role may not run left out") +
            (r.stats.ownership_left_out == 0
                 ? std::string()
                 : "; " + std::to_string(r.stats.ownership_left_out) +
                       " ownership change(s) to roles it cannot act for left out") +
            (from.empty() || from == source ? std::string() : "; a backup of database " + from) +
            role_text(rr) + "\n";
    }
    return out;
}

}  // namespace

RestoreReport restore_backup(const RestoreOptions& o, const config::Config& cfg,
                             const config::EnvLookup& env) {
    if (!o.role.empty()) {
        if (const std::string why = config::database_name_problem(o.role); !why.empty())
            throw usage_error("invalid --role: " + why);
    }
    if (o.as_superuser && !o.role.empty())
        throw usage_error("--role and --as-superuser exclude each other");
    const int lock_ms = o.lock_timeout_ms;
    // Replacing what is there is destructive; restoring into an empty or
    // new database (a verification copy) is not.
    if (o.clean)
        cfg.refuse_in_production("replace a database's contents (restore --clean)", o.force);
    const config::ConnectionSettings cs = restore_target(o, cfg);
    // Whose backups count: the configured database's (DB_NAME), restored
    // into --target-db when given (a drill into a scratch database).
    const std::string source =
        cfg.connection().dbname.empty() ? cs.dbname : cfg.connection().dbname;
    const std::string path = resolve_file(o, cfg, source);
    VerifiedBackup v = describe_backup(path, o.no_manifest);
    open_encrypted(v, o.identity_file, env);
    if (!v.has_manifest) {
        log::warn(path +
                  " has no ctldb manifest: it is checked for completeness while it is restored; "
                  "its checksum and row counts cannot be checked");
    }
    warn_if_other_database(backup_database(v), source);
    if (v.custom && o.jobs > 1) return run_restore_parallel(o, env, cs, source, v);
    if (!v.custom && o.jobs > 1) {
        log::warn(
            "--jobs applies to custom archives; a plain dump is restored in one "
            "transaction by one session");
    }
    if (v.custom) pg::find_pg_tool("pg_restore", env);  // there is one at all
    BackupInput file = open_backup(path);
    // A file of the wrong size is refused before anything is touched (not
    // even --create); the checksum can only be known after the one read.
    check_size_against_manifest(v, file.size());

    const Stopwatch t0;
    const std::string where = cs.dbname + " on " + cs.target();
    // Asked before anything is created: a "no" leaves nothing behind.
    if (o.create && !o.yes && is_tty(stdin) && !database_exists(*admin_connection(cs), cs.dbname) &&
        !confirm("Create database " + cs.dbname + " on " + cs.target() + " and restore " + path +
                 " into it?")) {
        log::info("nothing created, nothing restored");
        return RestoreReport::nothing_done();
    }
    const bool created = o.create && create_database(cs, o);
    RestoreOutcome outcome;
    RestoreRole rr;
    try {
        auto conn = pg::connect(cs);
        rr = decide_role(*conn, o, cs.dbname, owner_of_database(*conn, cs.dbname));
        std::int64_t existing = 0;
        if (!may_restore(o, *conn, path, cs.dbname, where, created, existing)) {
            log::info("nothing restored");
            return RestoreReport::nothing_done();
        }
        const std::string pg_restore =
            v.custom ? pg::find_pg_tool("pg_restore", env, PQserverVersion(conn->raw()) / 10000)
                     : "";
        outcome = restore_in_one_transaction(*conn, cs, path, file, v, pg_restore, existing > 0, rr,
                                             lock_ms);
    } catch (...) {
        if (created) drop_created_database(cs);
        throw;
    }
    return report_restore(path, where, cs.dbname, source, v, outcome, rr, t0.ms());
}

}  // namespace ctldb::backup

namespace ctldb::backup {

RestoreReport drill_backup(const RestoreOptions& o, const config::Config& cfg,
                           const config::EnvLookup& env) {
    if (!o.target_db.empty() || o.clean || o.no_manifest) {
        throw usage_error(
            "--drill restores into a new database of its own and compares row "
            "counts with the manifest: no --target-db, --clean or --no-manifest");
    }
    const std::string source = cfg.connection().dbname;
    RestoreOptions d = o;
    d.file = restore_steps::resolve_file(o, cfg, source);
    d.target_db = "ctldb_drill_" + random_suffix(10);
    d.create = true;
    d.yes = true;
    const config::ConnectionSettings cs = restore_target(d, cfg);
    log::info("drill: restoring " + d.file + " into " + d.target_db + ", dropped afterwards");
    RestoreReport r;
    try {
        r = restore_backup(d, cfg, env);
    } catch (...) {
        restore_steps::drop_database_quietly(cs, d.target_db);
        throw;
    }
    restore_steps::drop_database_quietly(cs, d.target_db);
    if (r.code != ExitCode::ok || r.json.is_null()) return r;
    const VerifiedBackup v = describe_backup(d.file, false);
    DrillRecord rec;
    rec.drilled_at = utc_now_iso8601();
    rec.duration_ms = r.json.value("duration_ms", std::int64_t{0});
    for (const auto& [table, rows] : v.manifest.row_counts)
        rec.rows += rows;
    rec.tables = v.manifest.row_counts.size();
    rec.ctldb_version = version();
    record_drill(d.file, rec);
    r.json["drill"] = nlohmann::json::parse(rec.to_json());
    r.text = "drill of " + d.file + ": restored into " + d.target_db + " in " +
             human_duration(static_cast<double>(rec.duration_ms) / 1000.0) + ", " +
             std::to_string(rec.tables) + " tables and " + std::to_string(rec.rows) +
             " rows match the manifest; dropped again, recorded in " + drill_path_for(d.file) +
             "\n";
    return r;
}

}  // namespace ctldb::backup
