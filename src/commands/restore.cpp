// ctldb restore FILE|latest: read the backup once and execute it over
// libpq in one transaction (custom archives through `pg_restore -f -`),
// verifying every byte on the way; COMMIT only after the checksums, the
// closing marker and the manifest's row counts all passed. See
// docs/backup.md for why psql is not used.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include <libpq-fe.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "ctldb/backup.hpp"
#include "ctldb/backup_verify.hpp"
#include "ctldb/connection.hpp"
#include "ctldb/context.hpp"
#include "ctldb/dump_runner.hpp"
#include "ctldb/fs.hpp"
#include "ctldb/log.hpp"
#include "ctldb/output.hpp"
#include "ctldb/pgtools.hpp"
#include "ctldb/probes.hpp"
#include "ctldb/process.hpp"
#include "ctldb/signals.hpp"
#include "ctldb/sql.hpp"
#include "ctldb/stopwatch.hpp"
#include "ctldb/text.hpp"

namespace ctldb {

namespace {

struct RestoreOptions {
    std::string file;
    std::string dir;
    std::string target_db;
    bool create = false;
    bool clean = false;
    int jobs = 1;
    bool yes = false;
    bool no_manifest = false;
    bool drop_previous = false;
    bool force = false;
};

std::string quote_ident(const std::string& s) {
    return sql::quote_identifier(s);
}

std::string resolve_file(const RestoreOptions& o, Context& ctx) {
    if (o.file != "latest") return o.file;
    std::string dir = o.dir.empty() ? ctx.config().get("backup_dir").text : o.dir;
    // Newest first. With --no-manifest a backup named like ctldb's but
    // without a manifest (the guide's CronJob names its files the same way)
    // counts too; it is still checked for completeness before anything runs.
    // Dumps of other tools count too, whatever their names, newest by the
    // time in the name (else the file's); one still being written (no
    // closing marker) is passed over.
    for (const auto& e : list_backups(dir)) {
        if (e.usable() || (o.no_manifest && e.problem == "no manifest")) return e.path;
    }
    throw failure("no usable backup in " + dir,
                  o.no_manifest ? ""
                                : "'ctldb backup list' shows why each one is unusable; dumps "
                                  "from the guide's CronJob have no manifest: pass --no-manifest");
}

std::int64_t user_relations(Connection& conn) {
    return exec(conn,
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND " +
                    probe::user_schema("n"))
        .get_int(0, 0);
}

/// SQL that empties the target inside the restore's own transaction, so a
/// failed restore leaves the old contents.
std::string clean_sql(Connection& conn) {
    QueryResult r = exec(conn, "SELECT quote_ident(n.nspname) FROM pg_namespace n WHERE " +
                                   probe::user_schema("n") + " ORDER BY 1");
    std::string sql;
    for (int i = 0; i < r.rows(); ++i)
        sql += "DROP SCHEMA " + r.get(i, 0) + " CASCADE;\n";
    sql += "CREATE SCHEMA public;\n";
    return sql;
}

/// A session on the maintenance database, for CREATE/DROP/ALTER DATABASE.
std::unique_ptr<Connection> admin_connection(const ConnectionSettings& cs) {
    ConnectionSettings admin = cs;
    admin.dbname = "postgres";
    return connect(admin);
}

bool database_exists(Connection& conn, const std::string& name) {
    return exec(conn, "SELECT count(*) FROM pg_database WHERE datname = $1", {name}).get_int(0, 0) >
           0;
}

/// --create: true when this run created the (empty) database, so a failed
/// restore removes it again.
bool create_database(const ConnectionSettings& cs, bool clean) {
    auto conn = admin_connection(cs);
    if (database_exists(*conn, cs.dbname)) {
        if (!clean) {
            throw failure(
                "database " + cs.dbname + " already exists",
                "drop it, choose another --target-db, or add --clean to replace its contents");
        }
        return false;
    }
    try {
        exec(*conn, "CREATE DATABASE " + quote_ident(cs.dbname));
    } catch (const SqlError& e) {
        if (e.server().sqlstate != "42501") throw;  // insufficient_privilege
        throw failure("--create needs the CREATEDB privilege, which role " + cs.user +
                          " does not have: " + e.what() + "; nothing was changed",
                      "create the database as a role that may (CREATE DATABASE " +
                          quote_ident(cs.dbname) + " OWNER " + quote_ident(cs.user) +
                          "), then restore without --create");
    }
    log::info("created database " + cs.dbname);
    return true;
}

void drop_database_quietly(const ConnectionSettings& cs, const std::string& name) {
    try {
        auto conn = admin_connection(cs);
        exec(*conn, "DROP DATABASE IF EXISTS " + quote_ident(name) + " WITH (FORCE)");
        log::info("dropped database " + name + " again");
    } catch (const Error& e) {
        log::warn("could not drop database " + name + ": " + e.what());
    }
}

void drop_created_database(const ConnectionSettings& cs) {
    drop_database_quietly(cs, cs.dbname);
}

std::uint64_t fd_size(int fd) {
    struct stat st {};
    return ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

/// The manifest's row counts against the target, inside the restore's
/// transaction: a difference rolls everything back.
std::vector<std::string> compare_counts(Connection& conn, const BackupManifest& m,
                                        nlohmann::json& tables) {
    // Tables by the manifest's key (schema.table as written): a name with a
    // dot in it is found whole, not split at the wrong dot.
    std::map<std::string, std::string> quoted;
    for (const auto& t : probe::user_tables(conn))
        quoted[t.key] = t.quoted;
    std::vector<std::string> differences;
    tables = nlohmann::json::object();
    for (const auto& [table, expected] : m.row_counts) {
        std::int64_t actual = -1;
        if (auto it = quoted.find(table); it != quoted.end()) {
            exec(conn, "SAVEPOINT ctldb_count");
            try {
                actual = probe::exact_rows(conn, it->second);
                exec(conn, "RELEASE SAVEPOINT ctldb_count");
            } catch (const SqlError&) {
                exec(conn, "ROLLBACK TO SAVEPOINT ctldb_count");
            }
        }
        tables[table] = {{"expected", expected}, {"actual", actual}};
        if (actual != expected) {
            differences.push_back(
                table + ": " + std::to_string(expected) + " rows in the backup, " +
                (actual < 0 ? "table missing" : std::to_string(actual)) + " after the restore");
        }
    }
    return differences;
}

/// Feed the plain dump in `fd` to `runner`, checking every byte as it
/// passes: one read of one open file is both the verification and the
/// restore.
void run_plain(int fd, const VerifiedBackup& v, DumpRunner& runner) {
    const std::uint64_t total = fd_size(fd);
    Progress progress("restore", total, "bytes read");
    const ReadResult r =
        read_compressed_fd(fd, v.path, v.compression, [&](const char* d, std::size_t n) {
            runner.feed(d, n);
            const off_t at = ::lseek(fd, 0, SEEK_CUR);
            if (at > 0) progress.update(static_cast<std::uint64_t>(at), runner.stats().bytes);
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
    ::lseek(fd, 0, SEEK_SET);
    ProcessOptions po;
    po.clear_pg_env = true;
    ChildProcess::Pipes pipes;
    pipes.stdout_pipe = true;
    pipes.stdin_fd = fd;
    ChildProcess child({pg_restore, "--file=-"}, po, pipes);
    Progress progress("restore", 0, "bytes of SQL run");
    child.read_out(
        [&](const char* d, std::size_t n) {
            runner.feed(d, n);
            progress.update(runner.stats().bytes, runner.stats().bytes);
        },
        "pg_restore's output");
    progress.finish();
    const ProcessResult pr = child.wait();
    throw_if_interrupted();
    if (!pr.ok()) throw failure(v.path + " is not a complete custom archive: " + pr.output);
    runner.finish();
}

/// Sessions other than ours on `db`: the swap needs none. A session whose
/// client has just gone (the previous command of a script, a killed run
/// rolling back) is given 2 s to end before it counts.
void refuse_if_sessions(Connection& admin, const std::string& db) {
    std::int64_t n = 0;
    for (int tries = 0; tries < 20; ++tries) {
        n = exec(admin,
                 "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> "
                 "pg_backend_pid()",
                 {db})
                .get_int(0, 0);
        if (n == 0) return;
        throw_if_interrupted();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (n > 0) {
        throw failure(std::to_string(n) + " session(s) are connected to " + db +
                          "; restore --jobs swaps the database and needs it unused",
                      "stop the application's pods, or end them: SELECT pg_terminate_backend(pid) "
                      "FROM pg_stat_activity WHERE datname = '" +
                          db + "' AND pid <> pg_backend_pid();");
    }
}

/// restore --jobs N of a custom archive: pg_restore -j N into a new
/// database, row counts compared there, and only then the target swapped
/// for it by renaming both in one transaction. The target is untouched
/// until that COMMIT; any failure before drops the new database.
ExitCode run_restore_parallel(const RestoreOptions& o, Context& ctx, const ConnectionSettings& cs,
                              const VerifiedBackup& v) {
    const fs::UniqueFd file = open_backup(v.path);
    check_against_manifest(v, read_compressed_fd(file.get(), v.path, Compression::none, nullptr));
    ::lseek(file.get(), 0, SEEK_SET);
    const Stopwatch t0;

    auto admin = admin_connection(cs);
    const std::string pg_restore =
        find_pg_tool("pg_restore", ctx.env, PQserverVersion(admin->raw()) / 10000);
    const bool target_exists = database_exists(*admin, cs.dbname);
    if (!target_exists && !o.create) {
        throw failure("database " + cs.dbname + " does not exist", "add --create");
    }
    if (target_exists) {
        ConnectionSettings t = cs;
        auto tconn = connect(t);
        const std::int64_t existing = user_relations(*tconn);
        tconn.reset();
        if (existing > 0 && !o.clean) {
            throw failure("database " + cs.dbname + " is not empty; nothing was changed",
                          "pass --clean to replace it (the old one is kept under a dated name)");
        }
        if (existing > 0 && !o.yes) {
            if (!is_tty(stdin)) {
                throw usage_error("--clean replaces " + cs.dbname + "; pass --yes to confirm");
            }
            if (!confirm("Replace database " + cs.dbname + " with " + v.path + "?")) {
                log::info("nothing restored");
                return ExitCode::failure;
            }
        }
        refuse_if_sessions(*admin, cs.dbname);
    }
    std::string temp = cs.dbname.substr(0, 40) + "_ctldb_restore_" + std::to_string(::getpid());
    try {
        exec(*admin, "CREATE DATABASE " + quote_ident(temp));
    } catch (const SqlError& e) {
        throw failure("restore --jobs restores into a new database first and cannot create one: " +
                          std::string(e.what()),
                      "grant CREATEDB to the role, or restore with --jobs 1 (one transaction in "
                      "the target itself)");
    }
    try {
        ProcessOptions po;
        po.clear_pg_env = true;
        ConnectionSettings tc = cs;
        tc.dbname = temp;
        po.env = libpq_environment(tc, "ctldb restore");
        // The name reaches pg_restore as a one-key connection string, so it
        // is a name and nothing else; the archive is the file already
        // checked, open on stdin.
        ChildProcess child(
            {pg_restore, "--no-password", "--exit-on-error", "--jobs=" + std::to_string(o.jobs),
             "--dbname=dbname=" + conninfo_quote(temp), "/dev/stdin"},
            po, ChildProcess::Pipes{false, false, file.get(), -1});
        const ProcessResult pr = child.wait();
        throw_if_interrupted();
        if (!pr.ok()) throw failure("pg_restore --jobs failed: " + pr.output);
        auto tconn = connect(tc);
        nlohmann::json tables;
        exec(*tconn, "BEGIN");
        const auto differences = compare_counts(*tconn, v.manifest, tables);
        exec(*tconn, "COMMIT");
        tconn.reset();
        if (!differences.empty()) {
            Error e(ExitCode::failure,
                    "row counts of the restored data differ from the backup's manifest",
                    "the target is as it was before; use another backup");
            e.with_details(differences);
            throw e;
        }
        std::string previous;
        exec(*admin, "BEGIN");
        if (target_exists) {
            refuse_if_sessions(*admin, cs.dbname);
            previous = cs.dbname.substr(0, 40) + "_before_" +
                       utc_format(std::time(nullptr), "%Y%m%d%H%M%S");
            exec(*admin, "ALTER DATABASE " + quote_ident(cs.dbname) + " RENAME TO " +
                             quote_ident(previous));
        }
        exec(*admin,
             "ALTER DATABASE " + quote_ident(temp) + " RENAME TO " + quote_ident(cs.dbname));
        exec(*admin, "COMMIT");
        if (!previous.empty()) {
            if (o.drop_previous) {
                exec(*admin, "DROP DATABASE " + quote_ident(previous));
                previous.clear();
            } else {
                log::info("the previous " + cs.dbname + " is kept as " + previous +
                          " (drop it when done, or pass --drop-previous next time)");
            }
        }
        const auto ms = t0.ms();
        if (ctx.json()) {
            emit_result({{"ok", true},
                         {"exit_code", 0},
                         {"path", v.path},
                         {"database", cs.dbname},
                         {"duration_ms", ms},
                         {"manifest", v.has_manifest},
                         {"jobs", o.jobs},
                         {"previous_database",
                          previous.empty() ? nlohmann::json(nullptr) : nlohmann::json(previous)},
                         {"tables", tables},
                         {"differences", nlohmann::json::array()}});
        } else {
            print_text("restored " + v.path + " into " + cs.dbname + " with " +
                       std::to_string(o.jobs) + " jobs in " + std::to_string(ms / 1000) + "." +
                       std::to_string(ms % 1000 / 100) + " s, swapped in after the row counts " +
                       "matched" + (previous.empty() ? "" : "; previous database: " + previous) +
                       "\n");
        }
        return ExitCode::ok;
    } catch (...) {
        drop_database_quietly(cs, temp);
        throw;
    }
}

/// The database to restore into: --target-db, else DB_NAME, else the one a
/// service file names (asked of the server).
ConnectionSettings restore_target(const RestoreOptions& o, const Config& cfg) {
    ConnectionSettings cs = cfg.connection();
    if (!o.target_db.empty()) {
        if (const std::string why = database_name_problem(o.target_db); !why.empty())
            throw usage_error("invalid --target-db: " + why);
        cs.dbname = o.target_db;
    }
    if (cs.dbname.empty()) complete_from(cs, *connect(cs));
    return cs;
}

/// Refuses a non-empty target without --clean; asks on a terminal unless
/// --yes (or the database was just created). False when the answer is no.
bool may_restore(const RestoreOptions& o, Connection& conn, const std::string& path,
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
/// the session and the server rolls it all back.
RestoreOutcome restore_in_one_transaction(Connection& conn, const std::string& dbname,
                                          const std::string& path, int fd, const VerifiedBackup& v,
                                          const std::string& pg_restore, bool clean_first) {
    RestoreOutcome out;
    exec(conn, "BEGIN");
    if (clean_first) exec(conn, clean_sql(conn));
    DumpRunner runner(&conn, dbname, path);
    if (v.custom) {
        run_custom(fd, v, pg_restore, runner);
    } else {
        run_plain(fd, v, runner);
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

ExitCode report_restore(const std::string& path, const std::string& where,
                        const std::string& dbname, const VerifiedBackup& v, const RestoreOutcome& r,
                        std::int64_t ms, Context& ctx) {
    if (ctx.json()) {
        emit_result({{"path", path},
                     {"database", dbname},
                     {"duration_ms", ms},
                     {"manifest", v.has_manifest},
                     {"statements", r.stats.statements},
                     {"copy_blocks", r.stats.copy_blocks},
                     {"dump_bytes", r.stats.bytes},
                     {"tables", r.tables},
                     {"differences", r.differences},
                     {"statements_left_out", r.stats.skipped}});
    } else {
        print_text("restored " + path + " into " + where + " in " + std::to_string(ms / 1000) +
                   "." + std::to_string(ms % 1000 / 100) + " s, one transaction; " +
                   (!v.has_manifest ? std::string("no manifest, row counts not compared")
                                    : std::to_string(v.manifest.row_counts.size()) +
                                          " tables, row counts match the manifest") +
                   (r.stats.skipped == 0
                        ? std::string()
                        : "; " + std::to_string(r.stats.skipped) +
                              " extension statement(s) the role may not run left out") +
                   "\n");
    }
    return ExitCode::ok;
}

ExitCode run_restore(const RestoreOptions& o, Context& ctx) {
    const Config& cfg = ctx.valid_config(true);
    // Replacing what is there is destructive; restoring into an empty or
    // new database (a verification copy) is not.
    if (o.clean)
        cfg.refuse_in_production("replace a database's contents (restore --clean)", o.force);
    const ConnectionSettings cs = restore_target(o, cfg);
    const std::string path = resolve_file(o, ctx);
    const VerifiedBackup v = describe_backup(path, o.no_manifest);
    if (!v.has_manifest) {
        log::warn(path +
                  " has no ctldb manifest: it is checked for completeness while it is restored; "
                  "its checksum and row counts cannot be checked");
    }
    if (v.custom && o.jobs > 1) return run_restore_parallel(o, ctx, cs, v);
    if (!v.custom && o.jobs > 1) {
        log::warn(
            "--jobs applies to custom archives; a plain dump is restored in one "
            "transaction by one session");
    }
    if (v.custom) find_pg_tool("pg_restore", ctx.env);  // there is one at all
    const fs::UniqueFd file = open_backup(path);
    // A file of the wrong size is refused before anything is touched (not
    // even --create); the checksum can only be known after the one read.
    check_size_against_manifest(v, fd_size(file.get()));

    const Stopwatch t0;
    const std::string where = cs.dbname + " on " + cs.target();
    // Asked before anything is created: a "no" leaves nothing behind.
    if (o.create && !o.yes && is_tty(stdin) && !database_exists(*admin_connection(cs), cs.dbname) &&
        !confirm("Create database " + cs.dbname + " on " + cs.target() + " and restore " + path +
                 " into it?")) {
        log::info("nothing created, nothing restored");
        return ExitCode::failure;
    }
    const bool created = o.create && create_database(cs, o.clean);
    RestoreOutcome outcome;
    try {
        auto conn = connect(cs);
        std::int64_t existing = 0;
        if (!may_restore(o, *conn, path, cs.dbname, where, created, existing)) {
            log::info("nothing restored");
            return ExitCode::failure;
        }
        const std::string pg_restore =
            v.custom ? find_pg_tool("pg_restore", ctx.env, PQserverVersion(conn->raw()) / 10000)
                     : "";
        outcome = restore_in_one_transaction(*conn, cs.dbname, path, file.get(), v, pg_restore,
                                             existing > 0);
    } catch (...) {
        if (created) drop_created_database(cs);
        throw;
    }
    return report_restore(path, where, cs.dbname, v, outcome, t0.ms(), ctx);
}

}  // namespace

void register_restore(CLI::App& app, Context& ctx) {
    static RestoreOptions o;
    auto* cmd = app.add_subcommand(
        "restore", "Verify a backup completely, then restore it in one transaction");
    cmd->add_option("file", o.file, "Backup file, or 'latest' in --dir")->required();
    cmd->add_option("--dir", o.dir,
                    "Backup directory for 'latest' (env CTLDB_BACKUP_DIR, default /backups)");
    cmd->add_option("--target-db", o.target_db, "Database to restore into (default: DB_NAME)");
    cmd->add_flag("--create", o.create, "Create the target database first");
    cmd->add_flag("--clean", o.clean, "Replace the contents of a non-empty target");
    cmd->add_option("--jobs", o.jobs,
                    "Custom archives: pg_restore -j N into a new database, swapped in by renaming "
                    "once its row counts match (default 1: one transaction)")
        ->check(CLI::Range(1, 64));
    cmd->add_flag("-y,--yes", o.yes, "Do not ask for confirmation");
    cmd->add_flag("--force", o.force,
                  "Allow --clean in production (CTLDB_ENV or NODE_ENV); --yes is still needed "
                  "off a terminal");
    cmd->add_flag("--drop-previous", o.drop_previous,
                  "With --jobs: drop the replaced database after the swap instead of keeping it "
                  "under a dated name");
    cmd->add_flag("--no-manifest", o.no_manifest,
                  "Accept a dump made without ctldb (any name, no manifest): checked for "
                  "completeness only, row counts not compared");
    cmd->callback([&ctx] { ctx.run = [&ctx] { return run_restore(o, ctx); }; });
}

}  // namespace ctldb
