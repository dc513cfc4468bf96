// ctldb restore FILE|latest: read the backup once and execute it over
// libpq in one transaction (custom archives through `pg_restore -f -`),
// verifying every byte on the way; COMMIT only after the checksums, the
// closing marker and the manifest's row counts all passed. See
// docs/backup.md for why psql is not used.
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
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli_values.hpp"
#include "commands.hpp"
#include "ctldb/archive_toc.hpp"
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
    std::string role;
    bool as_superuser = false;
    std::string lock_timeout = "5s";
    int lock_timeout_ms() const {
        return static_cast<int>(duration_option("--lock-timeout", lock_timeout) * 1000);
    }
};

std::string quote_ident(const std::string& s) {
    return sql::quote_identifier(s);
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at < text.size()) {
        const std::size_t nl = text.find('\n', at);
        out.push_back(text.substr(at, nl == std::string::npos ? std::string::npos : nl - at));
        if (nl == std::string::npos) break;
        at = nl + 1;
    }
    return out;
}

/// `latest`: the newest usable backup of the target database. Backups of
/// other databases and backups dated in the future are never taken; with
/// --no-manifest a dump that names no database (the guide's CronJob) counts
/// too, still checked for completeness before anything runs.
std::string resolve_file(const RestoreOptions& o, Context& ctx, const std::string& database) {
    if (o.file != "latest") return o.file;
    std::string dir = o.dir.empty() ? ctx.config().get("backup_dir").text : o.dir;
    const std::time_t now = std::time(nullptr);
    int other = 0, future = 0;
    for (const auto& e : list_backups(dir)) {  // newest first
        if (!e.database.empty() && e.database != database) {
            ++other;
            continue;
        }
        if (e.in_future(now)) {
            ++future;
            continue;
        }
        if (e.usable()) return e.path;
        if (o.no_manifest && e.problem == "no manifest") {
            if (e.database.empty()) {
                log::warn(e.path + " names no database; taken as the newest backup of " + database +
                          " because --no-manifest was given");
            }
            return e.path;
        }
    }
    std::string also;
    if (other > 0) also += std::to_string(other) + " of other databases";
    if (future > 0)
        also += (also.empty() ? "" : ", ") + std::to_string(future) + " dated in the future";
    throw failure("no usable backup of " + database + " in " + dir +
                      (also.empty() ? "" : " (passed over: " + also + ")"),
                  o.no_manifest ? "a backup of another database is restored only when named: "
                                  "ctldb restore FILE"
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

/// Whose rights a restore runs with (docs/backup.md, "the role rule").
struct RestoreRole {
    std::string session;  ///< the connected role
    bool session_superuser = false;
    std::string role;               ///< the role the dump's statements run as
    bool set_role = false;          ///< SET ROLE role (role != session)
    bool superuser_rights = false;  ///< --as-superuser: the dump runs with full rights
};

/// The owner-to-be `owner` (the target's owner, or --role) decides: the
/// restore runs as that role, never as a superuser unless --as-superuser.
RestoreRole decide_role(Connection& conn, const RestoreOptions& o, const std::string& db,
                        const std::string& owner) {
    RestoreRole r;
    const QueryResult me =
        exec(conn, "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user");
    r.session = me.get(0, 0);
    r.session_superuser = me.get(0, 1) == "t";
    if (o.as_superuser) {
        if (!r.session_superuser) {
            throw usage_error("--as-superuser: role " + r.session + " is not a superuser",
                              "leave it out: the restore then runs as the database's owner");
        }
        r.role = r.session;
        r.superuser_rights = true;
        return r;
    }
    // An owner-to-be not known here (the user comes from a service file):
    // the connected role.
    const std::string target = !o.role.empty() ? o.role : owner.empty() ? r.session : owner;
    const QueryResult t = exec(conn,
                               "SELECT rolsuper, pg_has_role(current_user, oid, 'MEMBER') FROM "
                               "pg_roles WHERE rolname = $1",
                               {target});
    if (t.rows() == 0) throw failure("role " + target + " does not exist; nothing was changed");
    if (t.get(0, 0) == "t") {
        throw failure(
            (o.role.empty() ? "database " + db + " is owned by " + target + ", a superuser"
                            : "--role " + target + " is a superuser") +
                ": the dump's code (functions, triggers, defaults) would run with superuser "
                "rights; nothing was changed",
            "restore as the role that should own the objects (--role NAME, the application's "
            "role; with --create the new database is created for it), or pass --as-superuser "
            "to trust the file with full rights");
    }
    if (t.get(0, 1) != "t") {
        throw failure("role " + r.session + " cannot act as " + target +
                          " (not a member of it); nothing was changed",
                      "connect as " + target + " or a role that is a member of it");
    }
    r.role = target;
    r.set_role = target != r.session;
    return r;
}

std::string owner_of_database(Connection& conn, const std::string& db) {
    const QueryResult r =
        exec(conn, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1", {db});
    return r.rows() > 0 ? r.get(0, 0) : "";
}

/// The database a backup was taken of, when it says: its manifest, else a
/// custom archive's header. Empty when unknown.
std::string backup_database(const VerifiedBackup& v) {
    if (v.has_manifest) return v.manifest.database;
    return v.custom ? archive_database(v.path) : std::string();
}

/// A backup of another database is restored only when named explicitly;
/// the run says so.
void warn_if_other_database(const std::string& from, const std::string& source) {
    if (!from.empty() && from != source) {
        log::warn("this is a backup of database " + from + ", not of " + source +
                  "; restored because it was named explicitly");
    }
}

nlohmann::json role_json(const RestoreRole& rr) {
    return {{"role", rr.role}, {"as_superuser", rr.superuser_rights}};
}

std::string role_text(const RestoreRole& rr) {
    return rr.superuser_rights ? "; ran with superuser rights (--as-superuser)"
           : rr.set_role       ? "; ran as role " + rr.role
                               : std::string();
}

void set_lock_timeout(Connection& conn, int ms) {
    exec(conn, "SET lock_timeout = " + std::to_string(std::max(1, ms)));
}

/// A lock the restore needed was not granted within --lock-timeout: exit 4,
/// with the sessions of `db` that hold a transaction open (the blockers)
/// and the statement that ends them.
[[noreturn]] void throw_lock_timeout(const ConnectionSettings& cs, const std::string& db,
                                     const std::string& what, int ms) {
    std::vector<std::string> lines;
    try {
        ConnectionSettings admin = cs;
        admin.dbname = db;
        auto conn = connect(admin);
        const QueryResult r = exec(*conn,
                                   "SELECT pid, usename, application_name, state, "
                                   "to_char(xact_start AT TIME ZONE 'UTC', "
                                   "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM pg_stat_activity "
                                   "WHERE datname = $1 AND pid <> pg_backend_pid() AND "
                                   "xact_start IS NOT NULL AND backend_type = 'client backend' "
                                   "ORDER BY xact_start",
                                   {db});
        for (int i = 0; i < r.rows(); ++i) {
            lines.push_back("pid " + r.get(i, 0) + ", user " + printable(r.get(i, 1)) +
                            ", application " +
                            (r.get(i, 2).empty() ? "-" : printable(r.get(i, 2))) + ", " +
                            r.get(i, 3) + " since " + r.get(i, 4));
        }
    } catch (const Error&) {
    }
    Error e(ExitCode::lock,
            what + ": a lock was not granted within " + std::to_string(ms) +
                " ms (--lock-timeout): an application transaction holds it; nothing was changed",
            lines.empty() ? "retry when the application is idle, or raise --lock-timeout"
                          : "end them and retry: SELECT pg_terminate_backend(pid) FROM "
                            "pg_stat_activity WHERE datname = " +
                                sql::quote_literal(db) +
                                " AND pid <> pg_backend_pid(); or stop the application's pods");
    if (!lines.empty()) {
        lines.insert(lines.begin(), "sessions of " + db + " with an open transaction:");
        e.with_details(lines);
    }
    throw e;
}

/// --create: true when this run created the (empty) database, so a failed
/// restore removes it again. The database is created for the role the
/// restore will run as (--role), never for a superuser by default.
bool create_database(const ConnectionSettings& cs, const RestoreOptions& o) {
    auto conn = admin_connection(cs);
    if (database_exists(*conn, cs.dbname)) {
        if (!o.clean) {
            throw failure(
                "database " + cs.dbname + " already exists",
                "drop it, choose another --target-db, or add --clean to replace its contents");
        }
        return false;
    }
    const RestoreRole rr = decide_role(*conn, o, cs.dbname, o.role.empty() ? cs.user : o.role);
    set_lock_timeout(*conn, o.lock_timeout_ms());
    try {
        exec(*conn, "CREATE DATABASE " + quote_ident(cs.dbname) +
                        (rr.set_role ? " OWNER " + quote_ident(rr.role) : std::string()));
    } catch (const SqlError& e) {
        if (e.code() == ExitCode::lock)
            throw_lock_timeout(cs, "template1", "CREATE DATABASE " + cs.dbname,
                               o.lock_timeout_ms());
        if (e.server().sqlstate != "42501") throw;  // insufficient_privilege
        throw failure("--create needs the CREATEDB privilege, which role " + cs.user +
                          " does not have: " + e.what() + "; nothing was changed",
                      "create the database as a role that may (CREATE DATABASE " +
                          quote_ident(cs.dbname) + " OWNER " + quote_ident(cs.user) +
                          "), then restore without --create");
    }
    log::info("created database " + cs.dbname + (rr.set_role ? " owned by " + rr.role : ""));
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
    Progress progress("restore", 0, "bytes of SQL run");
    archive_as_sql(fd, pg_restore, v.path, [&](const char* d, std::size_t n) {
        runner.feed(d, n);
        progress.update(runner.stats().bytes, runner.stats().bytes);
    });
    progress.finish();
    runner.finish();
}

/// Client sessions other than ours on `db`: the swap needs none. A session
/// whose client has just gone (the previous command of a script, a killed
/// run rolling back) is given 2 s to end before it counts. An autovacuum
/// worker (busy on a freshly restored database) is not one: the server
/// ends it itself for ALTER DATABASE RENAME.
void refuse_if_sessions(Connection& admin, const std::string& db) {
    std::int64_t n = 0;
    for (int tries = 0; tries < 20; ++tries) {
        n = exec(admin,
                 "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> "
                 "pg_backend_pid() AND backend_type = 'client backend'",
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

/// The marker on a --jobs run's new database: who made it, so that a later
/// run tells a killed run's leftover from a live one.
std::string restore_marker() {
    return "ctldb restore in progress: host=" + host_name() + " pid=" + std::to_string(::getpid()) +
           " started=" + utc_now_iso8601();
}

/// Leftovers of killed --jobs runs into `db`: named with what their marker
/// says; on a terminal, one whose process is gone (same host) is offered
/// for dropping.
void report_leftovers(Connection& admin, const ConnectionSettings& cs, const std::string& db,
                      bool yes) {
    const QueryResult r = exec(admin,
                               "SELECT datname, coalesce(shobj_description(oid, 'pg_database'), "
                               "'') FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1",
                               {db.substr(0, 30) + "_ctldb_restore_"});
    for (int i = 0; i < r.rows(); ++i) {
        const std::string name = r.get(i, 0), marker = r.get(i, 1);
        const auto field = [&](const std::string& key) {
            const auto at = marker.find(key + "=");
            if (at == std::string::npos) return std::string();
            const auto end = marker.find(' ', at);
            return marker.substr(at + key.size() + 1, end == std::string::npos
                                                          ? std::string::npos
                                                          : end - at - key.size() - 1);
        };
        const std::string host = field("host"), pid = field("pid"), started = field("started");
        bool dead = false;
        if (host == host_name() && !pid.empty()) {
            const long p = std::atol(pid.c_str());
            dead = p > 0 && ::kill(static_cast<pid_t>(p), 0) != 0 && errno == ESRCH;
        }
        // Names and comments come from the server: shown escaped.
        const std::string who =
            marker.empty() ? "no ctldb marker"
                           : printable("pid " + pid + " on " + host + ", started " + started);
        if (!dead) {
            log::warn("database " + printable(name) +
                      " looks like another restore --jobs run into " + db + " (" + who +
                      "); left alone");
            continue;
        }
        log::warn("database " + printable(name) +
                  " is the leftover of a killed restore --jobs run (" + who +
                  "); drop it: DROP DATABASE " + printable(quote_ident(name)) + ";");
        if (!yes && is_tty(stdin) &&
            confirm("Drop the leftover database " + printable(name) + "?")) {
            drop_database_quietly(cs, name);
        }
    }
}

/// The roles `role` may not make own objects: pg_restore gets --no-owner.
std::vector<std::string> foreign_owners(Connection& admin, const std::string& role,
                                        const std::set<std::string>& owners) {
    std::vector<std::string> out;
    for (const auto& owner : owners) {
        const std::int64_t ok =
            exec(admin,
                 "SELECT count(*) FROM pg_roles o, pg_roles r WHERE o.rolname = $1 AND "
                 "r.rolname = $2 AND pg_has_role(r.oid, o.oid, 'MEMBER')",
                 {owner, role})
                .get_int(0, 0);
        if (ok == 0) out.push_back(owner);
    }
    return out;
}

/// The archive's list with the given entries commented out, written 0600
/// for pg_restore --use-list.
std::string list_without(const std::string& full_list, const std::set<int>& ids) {
    std::string list;
    for (const auto& line : split_lines(full_list)) {
        const int id = std::atoi(line.c_str());
        list += (id > 0 && ids.count(id) ? ";" : "") + line + "\n";
    }
    char name[] = "/tmp/ctldb-restore-list-XXXXXX";
    const int lfd = ::mkstemp(name);
    if (lfd < 0) throw failure(std::string("cannot create a list file: ") + std::strerror(errno));
    const bool ok = ::write(lfd, list.data(), list.size()) == static_cast<ssize_t>(list.size());
    ::close(lfd);
    if (!ok) {
        ::unlink(name);
        throw failure("cannot write the list file " + std::string(name));
    }
    return name;
}

/// restore --jobs N of a custom archive: every statement the archive would
/// run checked first (its table of contents against restore_policy), then
/// pg_restore -j N into a new database as the owner's role, row counts
/// compared there, and only then the target swapped for it by renaming
/// both in one transaction. The target is untouched until that COMMIT; any
/// failure before drops the new database.
ExitCode run_restore_parallel(const RestoreOptions& o, Context& ctx, const ConnectionSettings& cs,
                              const std::string& source, const VerifiedBackup& v) {
    const int lock_ms = o.lock_timeout_ms();
    const fs::UniqueFd file = open_backup(v.path);
    check_against_manifest(v, read_compressed_fd(file.get(), v.path, Compression::none, nullptr));
    const ArchiveToc toc = read_archive_toc(file.get(), v.path);
    const ArchivePlan plan = check_archive_toc(toc, v.path);
    ::lseek(file.get(), 0, SEEK_SET);
    const Stopwatch t0;

    auto admin = admin_connection(cs);
    const std::string pg_restore =
        find_pg_tool("pg_restore", ctx.env, PQserverVersion(admin->raw()) / 10000);
    // What ctldb checked is what pg_restore will run: the same entries.
    const std::string toc_list = cross_check_with_list(toc, file.get(), pg_restore, v.path);
    if (plan.data_as_sql) check_archive_as_sql(file.get(), pg_restore, v.path);
    report_leftovers(*admin, cs, cs.dbname, o.yes);
    const bool target_exists = database_exists(*admin, cs.dbname);
    if (!target_exists && !o.create) {
        throw failure("database " + cs.dbname + " does not exist", "add --create");
    }
    const RestoreRole rr = decide_role(
        *admin, o, cs.dbname,
        target_exists ? owner_of_database(*admin, cs.dbname) : (o.role.empty() ? cs.user : o.role));
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
    // Unique per run: the pid and a random part (two runs in one second,
    // a pid reused after a reboot).
    const std::string suffix = std::to_string(::getpid()) + "_" + random_suffix(6);
    const std::string temp = cs.dbname.substr(0, 30) + "_ctldb_restore_" + suffix;
    set_lock_timeout(*admin, lock_ms);
    try {
        exec(*admin, "CREATE DATABASE " + quote_ident(temp) +
                         (rr.set_role ? " OWNER " + quote_ident(rr.role) : std::string()));
    } catch (const SqlError& e) {
        if (e.code() == ExitCode::lock)
            throw_lock_timeout(cs, "template1", "CREATE DATABASE " + temp, lock_ms);
        throw failure("restore --jobs restores into a new database first and cannot create one: " +
                          std::string(e.what()),
                      "grant CREATEDB to the role, or restore with --jobs 1 (one transaction in "
                      "the target itself)");
    }
    std::string list_file;
    try {
        exec(*admin, "COMMENT ON DATABASE " + quote_ident(temp) + " IS " +
                         sql::quote_literal(restore_marker()));
        ConnectionSettings tc = cs;
        tc.dbname = temp;
        // Extensions first, by ctldb, as the one-transaction path runs them:
        // one the role may not create is left out with a warning.
        std::uint64_t left_out = 0;
        if (!plan.extensions.empty()) {
            auto econn = connect(tc);
            exec(*econn, "BEGIN");
            if (rr.set_role) exec(*econn, "SET LOCAL ROLE " + quote_ident(rr.role));
            DumpRunner ext(econn.get(), temp, v.path);
            ext.set_role(rr.set_role ? rr.role : "", rr.session_superuser);
            for (const auto& e : plan.extensions) {
                ext.feed(e.defn.data(), e.defn.size());
                ext.feed("\n", 1);
            }
            exec(*econn, "COMMIT");
            left_out = ext.stats().skipped;
            list_file = list_without(toc_list, plan.extension_ids);
        }
        const std::vector<std::string> not_ours =
            rr.superuser_rights ? std::vector<std::string>{}
                                : foreign_owners(*admin, rr.role, plan.owners);
        if (!not_ours.empty()) {
            log::warn("objects owned by " + join(not_ours, ", ") +
                      " in the archive will belong to " + rr.role +
                      " (pg_restore --no-owner): " + rr.role + " cannot act for them");
        }
        // pg_restore connects exactly as ctldb does: one complete
        // connection string (the name quoted in it, so it is a name and
        // nothing else), which beats a service file or PG* variable; the
        // archive is the file already checked, open on stdin.
        const ChildConnection how = child_connection(tc, "ctldb restore", ctx.env);
        ProcessOptions po;
        po.clear_pg_env = true;
        po.env = how.env;
        log::debug("running " + pg_restore + " (" + how.conninfo + ")");
        std::vector<std::string> args = {pg_restore, "--no-password", "--exit-on-error",
                                         "--jobs=" + std::to_string(o.jobs),
                                         "--dbname=" + how.conninfo};
        if (rr.set_role) args.push_back("--role=" + rr.role);
        if (!not_ours.empty()) args.push_back("--no-owner");
        if (!list_file.empty()) args.push_back("--use-list=" + list_file);
        args.push_back("/dev/stdin");
        ChildProcess child(args, po, ChildProcess::Pipes{false, false, file.get(), -1});
        const ProcessResult pr = child.wait();
        if (!list_file.empty()) ::unlink(list_file.c_str());
        list_file.clear();
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
        try {
            if (target_exists) {
                refuse_if_sessions(*admin, cs.dbname);
                previous = cs.dbname.substr(0, 30) + "_before_" +
                           utc_format(std::time(nullptr), "%Y%m%d%H%M%S") + "_" + suffix;
                exec(*admin, "ALTER DATABASE " + quote_ident(cs.dbname) + " RENAME TO " +
                                 quote_ident(previous));
            }
            exec(*admin,
                 "ALTER DATABASE " + quote_ident(temp) + " RENAME TO " + quote_ident(cs.dbname));
            exec(*admin, "COMMENT ON DATABASE " + quote_ident(cs.dbname) + " IS NULL");
            exec(*admin, "COMMIT");
        } catch (const Error& e) {
            if (e.code() != ExitCode::lock) throw;
            exec(*admin, "ROLLBACK");
            throw_lock_timeout(cs, cs.dbname, "swapping in the restored database", lock_ms);
        }
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
        const std::string from = backup_database(v);
        if (ctx.json()) {
            nlohmann::json j = {
                {"ok", true},
                {"exit_code", 0},
                {"path", v.path},
                {"database", cs.dbname},
                {"backup_database", from.empty() ? nlohmann::json(nullptr) : nlohmann::json(from)},
                {"duration_ms", ms},
                {"manifest", v.has_manifest},
                {"jobs", o.jobs},
                {"previous_database",
                 previous.empty() ? nlohmann::json(nullptr) : nlohmann::json(previous)},
                {"tables", tables},
                {"differences", nlohmann::json::array()},
                {"statements_left_out", left_out},
                {"owners_not_kept", not_ours}};
            j.update(role_json(rr));
            emit_result(j);
        } else {
            print_text("restored " + v.path + " into " + cs.dbname + " with " +
                       std::to_string(o.jobs) + " jobs in " + std::to_string(ms / 1000) + "." +
                       std::to_string(ms % 1000 / 100) + " s, swapped in after the row counts " +
                       "matched" + (previous.empty() ? "" : "; previous database: " + previous) +
                       (left_out == 0
                            ? std::string()
                            : "; " + std::to_string(left_out) +
                                  " extension statement(s) the role may not run left out") +
                       (from.empty() || from == source ? std::string()
                                                       : "; a backup of database " + from) +
                       role_text(rr) + "\n");
        }
        return ExitCode::ok;
    } catch (...) {
        if (!list_file.empty()) ::unlink(list_file.c_str());
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
/// the session and the server rolls it all back. The clean runs as the
/// connected role and within --lock-timeout; the dump runs as `rr.role`.
RestoreOutcome restore_in_one_transaction(Connection& conn, const ConnectionSettings& cs,
                                          const std::string& path, int fd, const VerifiedBackup& v,
                                          const std::string& pg_restore, bool clean_first,
                                          const RestoreRole& rr, int lock_ms) {
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
            run_custom(fd, v, pg_restore, runner);
        } else {
            run_plain(fd, v, runner);
        }
    } catch (const Error& e) {
        const auto& d = e.details();
        const bool denied = std::find(d.begin(), d.end(), "SQLSTATE 42501") != d.end();
        if (!rr.set_role || !rr.session_superuser || !denied) throw;
        // The role rule at work: say so, and how to trust the file instead.
        Error out(e.code(), e.what(),
                  "the dump ran as role " + rr.role +
                      ", the target's owner, not with the "
                      "connected superuser's rights, and the server refused it that; nothing was "
                      "committed. If the file is trusted: --as-superuser");
        out.with_details(d);
        throw out;
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
                        const std::string& dbname, const std::string& source,
                        const VerifiedBackup& v, const RestoreOutcome& r, const RestoreRole& rr,
                        std::int64_t ms, Context& ctx) {
    const std::string from = backup_database(v);
    if (ctx.json()) {
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
        emit_result(j);
    } else {
        print_text(
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
            role_text(rr) + "\n");
    }
    return ExitCode::ok;
}

ExitCode run_restore(const RestoreOptions& o, Context& ctx) {
    const Config& cfg = ctx.valid_config(true);
    if (!o.role.empty()) {
        if (const std::string why = database_name_problem(o.role); !why.empty())
            throw usage_error("invalid --role: " + why);
    }
    if (o.as_superuser && !o.role.empty())
        throw usage_error("--role and --as-superuser exclude each other");
    const int lock_ms = o.lock_timeout_ms();
    // Replacing what is there is destructive; restoring into an empty or
    // new database (a verification copy) is not.
    if (o.clean)
        cfg.refuse_in_production("replace a database's contents (restore --clean)", o.force);
    const ConnectionSettings cs = restore_target(o, cfg);
    // Whose backups count: the configured database's (DB_NAME), restored
    // into --target-db when given (a drill into a scratch database).
    const std::string source =
        cfg.connection().dbname.empty() ? cs.dbname : cfg.connection().dbname;
    const std::string path = resolve_file(o, ctx, source);
    const VerifiedBackup v = describe_backup(path, o.no_manifest);
    if (!v.has_manifest) {
        log::warn(path +
                  " has no ctldb manifest: it is checked for completeness while it is restored; "
                  "its checksum and row counts cannot be checked");
    }
    warn_if_other_database(backup_database(v), source);
    if (v.custom && o.jobs > 1) return run_restore_parallel(o, ctx, cs, source, v);
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
    const bool created = o.create && create_database(cs, o);
    RestoreOutcome outcome;
    RestoreRole rr;
    try {
        auto conn = connect(cs);
        rr = decide_role(*conn, o, cs.dbname, owner_of_database(*conn, cs.dbname));
        std::int64_t existing = 0;
        if (!may_restore(o, *conn, path, cs.dbname, where, created, existing)) {
            log::info("nothing restored");
            return ExitCode::failure;
        }
        const std::string pg_restore =
            v.custom ? find_pg_tool("pg_restore", ctx.env, PQserverVersion(conn->raw()) / 10000)
                     : "";
        outcome = restore_in_one_transaction(*conn, cs, path, file.get(), v, pg_restore,
                                             existing > 0, rr, lock_ms);
    } catch (...) {
        if (created) drop_created_database(cs);
        throw;
    }
    return report_restore(path, where, cs.dbname, source, v, outcome, rr, t0.ms(), ctx);
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
    cmd->add_option("--role", o.role,
                    "Run the dump's statements as this role (SET ROLE; default: the target "
                    "database's owner; with --create the new database is created for it)");
    cmd->add_flag("--as-superuser", o.as_superuser,
                  "Connected as a superuser: run the dump with full superuser rights instead of "
                  "the owner's (trusts the file's functions, triggers and defaults)");
    cmd->add_option("--lock-timeout", o.lock_timeout,
                    "How long --clean, --create and the --jobs swap wait for a lock before "
                    "giving up with exit 4, nothing changed (default 5s)");
    cmd->add_flag("--no-manifest", o.no_manifest,
                  "Accept a dump made without ctldb (any name, no manifest): checked for "
                  "completeness only, row counts not compared");
    cmd->callback([&ctx] { ctx.run = [&ctx] { return run_restore(o, ctx); }; });
}

}  // namespace ctldb
