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
#include "pg/connection.hpp"
#include "pg/pgtools.hpp"
#include "pg/probes.hpp"
#include "pg/sql.hpp"
#include "pg/sqlstate.hpp"

namespace ctldb::backup::restore_steps {

std::string quote_ident(const std::string& s) {
    return pg::sql::quote_identifier(s);
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
std::string resolve_file(const RestoreOptions& o, const config::Config& cfg,
                         const std::string& database) {
    if (o.file != "latest") return o.file;
    std::string dir = o.dir.empty() ? cfg.get("backup_dir").text : o.dir;
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

std::int64_t user_relations(pg::Connection& conn) {
    return exec(conn,
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND " +
                    pg::probe::user_schema("n"))
        .get_int(0, 0);
}

/// SQL that empties the target inside the restore's own transaction, so a
/// failed restore leaves the old contents.
std::string clean_sql(pg::Connection& conn) {
    pg::QueryResult r = exec(conn, "SELECT quote_ident(n.nspname) FROM pg_namespace n WHERE " +
                                       pg::probe::user_schema("n") + " ORDER BY 1");
    std::string sql;
    for (int i = 0; i < r.rows(); ++i)
        sql += "DROP SCHEMA " + r.get(i, 0) + " CASCADE;\n";
    sql += "CREATE SCHEMA public;\n";
    return sql;
}

/// A session on the maintenance database, for CREATE/DROP/ALTER DATABASE.
std::unique_ptr<pg::Connection> admin_connection(const config::ConnectionSettings& cs) {
    config::ConnectionSettings admin = cs;
    admin.dbname = "postgres";
    return pg::connect(admin);
}

bool database_exists(pg::Connection& conn, const std::string& name) {
    return exec(conn, "SELECT count(*) FROM pg_database WHERE datname = $1", {name}).get_int(0, 0) >
           0;
}

/// The owner-to-be `owner` (the target's owner, or --role) decides: the
/// restore runs as that role, never as a superuser unless --as-superuser.
RestoreRole decide_role(pg::Connection& conn, const RestoreOptions& o, const std::string& db,
                        const std::string& owner) {
    RestoreRole r;
    const pg::QueryResult me =
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
    const pg::QueryResult t = exec(conn,
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

std::string owner_of_database(pg::Connection& conn, const std::string& db) {
    const pg::QueryResult r =
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

void set_lock_timeout(pg::Connection& conn, int ms) {
    exec(conn, "SET lock_timeout = " + std::to_string(std::max(1, ms)));
}

/// A lock the restore needed was not granted within --lock-timeout: exit 4,
/// with the sessions of `db` that hold a transaction open (the blockers)
/// and the statement that ends them.
[[noreturn]] void throw_lock_timeout(const config::ConnectionSettings& cs, const std::string& db,
                                     const std::string& what, int ms) {
    std::vector<std::string> lines;
    try {
        config::ConnectionSettings admin = cs;
        admin.dbname = db;
        auto conn = pg::connect(admin);
        const pg::QueryResult r =
            pg::exec(*conn,
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
                                pg::sql::quote_literal(db) +
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
bool create_database(const config::ConnectionSettings& cs, const RestoreOptions& o) {
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
    set_lock_timeout(*conn, o.lock_timeout_ms);
    try {
        exec(*conn, "CREATE DATABASE " + quote_ident(cs.dbname) +
                        (rr.set_role ? " OWNER " + quote_ident(rr.role) : std::string()));
    } catch (const pg::SqlError& e) {
        if (e.code() == ExitCode::lock)
            throw_lock_timeout(cs, "template1", "CREATE DATABASE " + cs.dbname, o.lock_timeout_ms);
        if (e.server().sqlstate != pg::sqlstate::insufficient_privilege) throw;
        throw failure("--create needs the CREATEDB privilege, which role " + cs.user +
                          " does not have: " + e.what() + "; nothing was changed",
                      "create the database as a role that may (CREATE DATABASE " +
                          quote_ident(cs.dbname) + " OWNER " + quote_ident(cs.user) +
                          "), then restore without --create");
    }
    log::info("created database " + cs.dbname + (rr.set_role ? " owned by " + rr.role : ""));
    return true;
}

void drop_database_quietly(const config::ConnectionSettings& cs, const std::string& name) {
    try {
        auto conn = admin_connection(cs);
        exec(*conn, "DROP DATABASE IF EXISTS " + quote_ident(name) + " WITH (FORCE)");
        log::info("dropped database " + name + " again");
    } catch (const Error& e) {
        log::warn("could not drop database " + name + ": " + e.what());
    }
}

void drop_created_database(const config::ConnectionSettings& cs) {
    drop_database_quietly(cs, cs.dbname);
}

std::uint64_t fd_size(int fd) {
    struct stat st {};
    return ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

/// The manifest's row counts against the target, inside the restore's
/// transaction: a difference rolls everything back.
std::vector<std::string> compare_counts(pg::Connection& conn, const BackupManifest& m,
                                        nlohmann::json& tables) {
    // Tables by the manifest's key (schema.table as written): a name with a
    // dot in it is found whole, not split at the wrong dot.
    std::map<std::string, std::string> quoted;
    for (const auto& t : pg::probe::user_tables(conn))
        quoted[t.key] = t.quoted;
    std::vector<std::string> differences;
    tables = nlohmann::json::object();
    for (const auto& [table, expected] : m.row_counts) {
        std::int64_t actual = -1;
        if (auto it = quoted.find(table); it != quoted.end()) {
            exec(conn, "SAVEPOINT ctldb_count");
            try {
                actual = pg::probe::exact_rows(conn, it->second);
                exec(conn, "RELEASE SAVEPOINT ctldb_count");
            } catch (const pg::SqlError&) {
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

}  // namespace ctldb::backup::restore_steps
