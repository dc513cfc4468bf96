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

namespace {

/// Client sessions other than ours on `db`: the swap needs none. A session
/// whose client has just gone (the previous command of a script, a killed
/// run rolling back) is given 2 s to end before it counts. An autovacuum
/// worker (busy on a freshly restored database) is not one: the server
/// ends it itself for ALTER DATABASE RENAME.
void refuse_if_sessions(pg::Connection& admin, const std::string& db) {
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
void report_leftovers(pg::Connection& admin, const config::ConnectionSettings& cs,
                      const std::string& db, bool yes) {
    const pg::QueryResult r =
        exec(admin,
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
std::vector<std::string> foreign_owners(pg::Connection& admin, const std::string& role,
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
/// What the archive holds and how it will run: the backup, its checked plan
/// and list, the pg_restore to run it, the role rule.
struct RestoreTarget {
    const VerifiedBackup& backup;
    ArchivePlan plan;
    std::string toc_list;
    std::string pg_restore;
    RestoreRole role;
};

/// An existing target: empty, or replaced with --clean after a yes, with
/// no sessions on it. False when the operator said no.
bool may_replace(pg::Connection& admin, const RestoreOptions& o,
                 const config::ConnectionSettings& cs, const std::string& path) {
    auto tconn = pg::connect(cs);
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
        if (!confirm("Replace database " + cs.dbname + " with " + path + "?")) {
            log::info("nothing restored");
            return false;
        }
    }
    refuse_if_sessions(admin, cs.dbname);
    return true;
}

/// The new database the archive is restored into, marked as ctldb's.
void create_temp_database(pg::Connection& admin, const config::ConnectionSettings& cs,
                          const std::string& temp, const RestoreRole& rr, int lock_ms) {
    set_lock_timeout(admin, lock_ms);
    try {
        exec(admin, "CREATE DATABASE " + quote_ident(temp) +
                        (rr.set_role ? " OWNER " + quote_ident(rr.role) : std::string()));
    } catch (const pg::SqlError& e) {
        if (e.code() == ExitCode::lock)
            throw_lock_timeout(cs, "template1", "CREATE DATABASE " + temp, lock_ms);
        throw failure("restore --jobs restores into a new database first and cannot create one: " +
                          std::string(e.what()),
                      "grant CREATEDB to the role, or restore with --jobs 1 (one transaction in "
                      "the target itself)");
    }
}

/// Extensions first, by ctldb, as the one-transaction path runs them: one
/// the role may not create is left out with a warning. The statements left
/// out.
std::uint64_t restore_extensions(const config::ConnectionSettings& tc, const VerifiedBackup& v,
                                 const ArchivePlan& plan, const RestoreRole& rr) {
    auto econn = pg::connect(tc);
    pg::exec(*econn, "BEGIN");
    if (rr.set_role) exec(*econn, "SET LOCAL ROLE " + quote_ident(rr.role));
    DumpRunner ext(econn.get(), tc.dbname, v.path);
    ext.set_role(rr.set_role ? rr.role : "", rr.session_superuser);
    for (const auto& e : plan.extensions) {
        ext.feed(e.defn.data(), e.defn.size());
        ext.feed("\n", 1);
    }
    exec(*econn, "COMMIT");
    return ext.stats().skipped;
}

/// pg_restore connects exactly as ctldb does: one complete connection
/// string (the name quoted in it, so it is a name and nothing else), which
/// beats a service file or PG* variable; the archive is the file already
/// checked, open on stdin.
void run_pg_restore(const std::string& pg_restore, const config::ConnectionSettings& tc,
                    const config::EnvLookup& env, int fd, int jobs, const RestoreRole& rr,
                    bool no_owner, const std::string& list_file) {
    const config::ChildConnection how = child_connection(tc, "ctldb restore", env);
    ProcessOptions po;
    po.clear_pg_env = true;
    po.env = how.env;
    log::debug("running " + pg_restore + " (" + how.conninfo + ")");
    std::vector<std::string> args = {pg_restore, "--no-password", "--exit-on-error",
                                     "--jobs=" + std::to_string(jobs), "--dbname=" + how.conninfo};
    if (rr.set_role) args.push_back("--role=" + rr.role);
    if (no_owner) args.push_back("--no-owner");
    if (!list_file.empty()) args.push_back("--use-list=" + list_file);
    args.push_back("/dev/stdin");
    ChildProcess child(args, po, ChildProcess::Pipes{false, false, fd, -1});
    const ProcessResult pr = child.wait();
    throw_if_interrupted();
    if (!pr.ok()) throw failure("pg_restore --jobs failed: " + pr.output);
}

/// The restored database's row counts against the manifest; an error
/// listing the differences when they differ.
nlohmann::json check_counts(const config::ConnectionSettings& tc, const VerifiedBackup& v) {
    auto tconn = pg::connect(tc);
    nlohmann::json tables;
    pg::exec(*tconn, "BEGIN");
    const auto differences = compare_counts(*tconn, v.manifest, tables);
    exec(*tconn, "COMMIT");
    if (!differences.empty()) {
        Error e(ExitCode::failure,
                "row counts of the restored data differ from the backup's manifest",
                "the target is as it was before; use another backup");
        e.with_details(differences);
        throw e;
    }
    return tables;
}

/// Rename the target aside (when it exists) and the new database into its
/// place, in one transaction; the previous database's new name, or "".
std::string swap_in(pg::Connection& admin, const config::ConnectionSettings& cs,
                    const std::string& temp, bool target_exists, const std::string& suffix,
                    int lock_ms) {
    std::string previous;
    exec(admin, "BEGIN");
    try {
        if (target_exists) {
            refuse_if_sessions(admin, cs.dbname);
            previous = cs.dbname.substr(0, 30) + "_before_" +
                       utc_format(std::time(nullptr), "%Y%m%d%H%M%S") + "_" + suffix;
            exec(admin, "ALTER DATABASE " + quote_ident(cs.dbname) + " RENAME TO " +
                            quote_ident(previous));
        }
        exec(admin, "ALTER DATABASE " + quote_ident(temp) + " RENAME TO " + quote_ident(cs.dbname));
        exec(admin, "COMMENT ON DATABASE " + quote_ident(cs.dbname) + " IS NULL");
        exec(admin, "COMMIT");
    } catch (const Error& e) {
        if (e.code() != ExitCode::lock) throw;
        exec(admin, "ROLLBACK");
        throw_lock_timeout(cs, cs.dbname, "swapping in the restored database", lock_ms);
    }
    return previous;
}

/// What a --jobs restore did.
struct ParallelOutcome {
    std::string previous;  ///< the replaced database's name, "" when dropped or none
    nlohmann::json tables;
    std::uint64_t left_out = 0;
    std::vector<std::string> not_ours;
};

RestoreReport parallel_report(const RestoreOptions& o, const config::ConnectionSettings& cs,
                              const std::string& source, const VerifiedBackup& v,
                              const RestoreRole& rr, const ParallelOutcome& r, std::int64_t ms) {
    const std::string from = backup_database(v);
    RestoreReport out;
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
         r.previous.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.previous)},
        {"tables", r.tables},
        {"differences", nlohmann::json::array()},
        {"statements_left_out", r.left_out},
        {"owners_not_kept", r.not_ours}};
    j.update(role_json(rr));
    out.json = std::move(j);
    out.text = "restored " + v.path + " into " + cs.dbname + " with " + std::to_string(o.jobs) +
               " jobs in " + std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) +
               " s, swapped in after the row counts " + "matched" +
               (r.previous.empty() ? "" : "; previous database: " + r.previous) +
               (r.left_out == 0 ? std::string()
                                : "; " + std::to_string(r.left_out) +
                                      " extension statement(s) the role may not run left out") +
               (from.empty() || from == source ? std::string() : "; a backup of database " + from) +
               role_text(rr) + "\n";
    return out;
}

/// Into the new database `temp`: extensions, pg_restore --jobs, the row
/// counts; then the swap. `temp` is dropped again by the caller on failure.
ParallelOutcome restore_into(pg::Connection& admin, const RestoreOptions& o,
                             const config::EnvLookup& env, const config::ConnectionSettings& cs,
                             const std::string& temp, const std::string& suffix, bool target_exists,
                             int fd, const RestoreTarget& t) {
    ParallelOutcome r;
    exec(admin, "COMMENT ON DATABASE " + quote_ident(temp) + " IS " +
                    pg::sql::quote_literal(restore_marker()));
    config::ConnectionSettings tc = cs;
    tc.dbname = temp;
    std::string list_file;
    if (!t.plan.extensions.empty()) {
        r.left_out = restore_extensions(tc, t.backup, t.plan, t.role);
        list_file = list_without(t.toc_list, t.plan.extension_ids);
    }
    r.not_ours = t.role.superuser_rights ? std::vector<std::string>{}
                                         : foreign_owners(admin, t.role.role, t.plan.owners);
    if (!r.not_ours.empty()) {
        log::warn("objects owned by " + join(r.not_ours, ", ") + " in the archive will belong to " +
                  t.role.role + " (pg_restore --no-owner): " + t.role.role +
                  " cannot act for them");
    }
    try {
        run_pg_restore(t.pg_restore, tc, env, fd, o.jobs, t.role, !r.not_ours.empty(), list_file);
    } catch (...) {
        if (!list_file.empty()) ::unlink(list_file.c_str());
        throw;
    }
    if (!list_file.empty()) ::unlink(list_file.c_str());
    r.tables = check_counts(tc, t.backup);
    r.previous = swap_in(admin, cs, temp, target_exists, suffix, o.lock_timeout_ms);
    if (!r.previous.empty()) {
        if (o.drop_previous) {
            exec(admin, "DROP DATABASE " + quote_ident(r.previous));
            r.previous.clear();
        } else {
            log::info("the previous " + cs.dbname + " is kept as " + r.previous +
                      " (drop it when done, or pass --drop-previous next time)");
        }
    }
    return r;
}

}  // namespace

RestoreReport run_restore_parallel(const RestoreOptions& o, const config::EnvLookup& env,
                                   const config::ConnectionSettings& cs, const std::string& source,
                                   const VerifiedBackup& v) {
    const BackupInput file = open_backup(v.path);
    check_against_manifest(v, read_compressed_fd(file.get(), v.path, Compression::none, nullptr));
    const ArchiveToc toc = read_archive_toc(file.get(), v.path);
    RestoreTarget t{v, check_archive_toc(toc, v.path), {}, {}, {}};
    ::lseek(file.get(), 0, SEEK_SET);
    const Stopwatch t0;

    auto admin = admin_connection(cs);
    t.pg_restore = pg::find_pg_tool("pg_restore", env, PQserverVersion(admin->raw()) / 10000);
    // What ctldb checked is what pg_restore will run: the same entries.
    t.toc_list = cross_check_with_list(toc, file.get(), t.pg_restore, v.path);
    if (t.plan.data_as_sql) check_archive_as_sql(file.get(), t.pg_restore, v.path);
    report_leftovers(*admin, cs, cs.dbname, o.yes);
    const bool target_exists = database_exists(*admin, cs.dbname);
    if (!target_exists && !o.create) {
        throw failure("database " + cs.dbname + " does not exist", "add --create");
    }
    t.role = decide_role(
        *admin, o, cs.dbname,
        target_exists ? owner_of_database(*admin, cs.dbname) : (o.role.empty() ? cs.user : o.role));
    if (target_exists && !may_replace(*admin, o, cs, v.path)) return RestoreReport::nothing_done();
    // Unique per run: the pid and a random part (two runs in one second,
    // a pid reused after a reboot).
    const std::string suffix = std::to_string(::getpid()) + "_" + random_suffix(6);
    const std::string temp = cs.dbname.substr(0, 30) + "_ctldb_restore_" + suffix;
    create_temp_database(*admin, cs, temp, t.role, o.lock_timeout_ms);
    try {
        const ParallelOutcome r =
            restore_into(*admin, o, env, cs, temp, suffix, target_exists, file.get(), t);
        return parallel_report(o, cs, source, v, t.role, r, t0.ms());
    } catch (...) {
        drop_database_quietly(cs, temp);
        throw;
    }
}

}  // namespace ctldb::backup::restore_steps
