// ctldb restore FILE|latest: verify completely, then restore atomically
// (plain: psql --single-transaction with ON_ERROR_STOP; custom: pg_restore),
// then compare row counts with the manifest.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "ctldb/backup.hpp"
#include "ctldb/connection.hpp"
#include "ctldb/context.hpp"
#include "ctldb/fs.hpp"
#include "ctldb/log.hpp"
#include "ctldb/pgtools.hpp"
#include "ctldb/process.hpp"
#include "ctldb/signals.hpp"
#include "ctldb/text.hpp"
#include "verify.hpp"

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
};

std::string quote_ident(const std::string& s) {
    std::string out = "\"";
    for (char ch : s) {
        if (ch == '"') out += '"';
        out += ch;
    }
    return out + "\"";
}

std::string resolve_file(const RestoreOptions& o, Context& ctx) {
    if (o.file != "latest") return o.file;
    std::string dir = o.dir.empty() ? ctx.config().get("backup_dir").text : o.dir;
    // Newest first. With --no-manifest a backup named like ctldb's but
    // without a manifest (the guide's CronJob names its files the same way)
    // counts too; it is still checked for completeness before anything runs.
    for (const auto& e : list_backups(dir)) {
        if (e.usable() || (o.no_manifest && !fs::exists(e.manifest_path))) return e.path;
    }
    throw failure("no usable backup in " + dir,
                  o.no_manifest ? ""
                                : "'ctldb backup list' shows why each one is unusable; dumps "
                                  "from the guide's CronJob have no manifest: pass --no-manifest");
}

std::int64_t user_relations(Connection& conn) {
    return exec(conn,
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname NOT IN "
                "('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND "
                "n.nspname NOT LIKE 'pg_temp%'")
        .get_int(0, 0);
}

/// SQL that empties the target inside the restore's own transaction, so a
/// failed restore leaves the old contents.
std::string clean_sql(Connection& conn) {
    QueryResult r = exec(conn,
                         "SELECT quote_ident(nspname) FROM pg_namespace WHERE nspname NOT IN "
                         "('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg_toast%' "
                         "AND nspname NOT LIKE 'pg_temp%' ORDER BY 1");
    std::string sql;
    for (int i = 0; i < r.rows(); ++i)
        sql += "DROP SCHEMA " + r.get(i, 0) + " CASCADE;\n";
    sql += "CREATE SCHEMA public;\n";
    return sql;
}

bool write_all(int fd, const char* data, std::size_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, data, n);
        if (w < 0 && errno == EINTR) {
            if (interrupted()) return false;
            continue;
        }
        if (w < 0) return false;  // EPIPE: psql stopped (ON_ERROR_STOP)
        data += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

ExitCode run_restore(const RestoreOptions& o, Context& ctx) {
    const Config& cfg = ctx.valid_config(true);
    ConnectionSettings cs = cfg.connection();
    if (!o.target_db.empty()) cs.dbname = o.target_db;
    const std::string path = resolve_file(o, ctx);

    log::info("verifying " + path);
    const auto t0 = std::chrono::steady_clock::now();
    const VerifiedBackup v = verify_backup(path, ctx.env, {}, o.no_manifest);
    if (!v.has_manifest) {
        log::warn(path +
                  " has no ctldb manifest: checked that it is complete; its checksum and "
                  "row counts cannot be checked");
    }
    const bool custom = v.custom;
    if (!custom && o.jobs > 1) {
        log::warn(
            "--jobs applies to custom archives; a plain dump is restored by one psql in one "
            "transaction");
    }
    const std::string tool = find_pg_tool(custom ? "pg_restore" : "psql", ctx.env);

    if (o.create) {
        ConnectionSettings admin = cs;
        admin.dbname = "postgres";
        auto conn = connect(admin);
        const bool exists =
            exec(*conn, "SELECT count(*) FROM pg_database WHERE datname = $1", {cs.dbname})
                .get_int(0, 0) > 0;
        if (exists && !o.clean) {
            throw failure(
                "database " + cs.dbname + " already exists",
                "drop it, choose another --target-db, or add --clean to replace its contents");
        }
        if (!exists) {
            exec(*conn, "CREATE DATABASE " + quote_ident(cs.dbname));
            log::info("created database " + cs.dbname);
        }
    }

    auto conn = connect(cs);
    const std::int64_t existing = user_relations(*conn);
    if (existing > 0 && !o.clean) {
        throw failure("database " + cs.dbname + " is not empty (" + std::to_string(existing) +
                          " tables, views or sequences); nothing was changed",
                      "restore into an empty database (--target-db NEW --create) or pass --clean "
                      "to replace its contents");
    }
    const std::string where = cs.dbname + " on " + cs.host + ":" + std::to_string(cs.port);
    if (!o.yes) {
        if (is_tty(stdin)) {
            if (!confirm("Restore " + path + " into " + where +
                         (existing > 0 ? ", replacing everything in it?" : "?"))) {
                log::info("nothing restored");
                return ExitCode::failure;
            }
        } else if (existing > 0) {
            throw usage_error("--clean replaces everything in " + where +
                              "; pass --yes to confirm");
        }
    }

    ProcessOptions po;
    po.clear_pg_env = true;
    po.env = libpq_environment(cs, "ctldb restore");
    ProcessResult result;
    if (custom) {
        std::vector<std::string> argv = {tool, "--no-password", "--exit-on-error",
                                         "--dbname=" + cs.dbname};
        if (o.clean) argv.insert(argv.end(), {"--clean", "--if-exists"});
        if (o.jobs > 1) {
            argv.push_back("--jobs=" + std::to_string(o.jobs));
        } else {
            argv.push_back("--single-transaction");
        }
        argv.push_back(path);
        ChildProcess restore(argv, po, {});
        result = restore.wait();
    } else {
        const std::string prefix = existing > 0 ? clean_sql(*conn) : std::string();
        conn.reset();  // psql does the work; do not hold a session meanwhile
        ChildProcess psql({tool, "-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=1",
                           "--single-transaction", "--dbname=" + cs.dbname},
                          po, {true, false, -1});
        bool open = write_all(psql.in(), prefix.data(), prefix.size());
        if (open) {
            read_compressed(path, v.compression, [&](const char* data, std::size_t n) {
                if (open) open = write_all(psql.in(), data, n);
            });
        }
        throw_if_interrupted();
        result = psql.wait();
        conn = connect(cs);
    }
    throw_if_interrupted();
    if (!result.ok()) {
        throw failure(
            "restore into " + where + " failed; the transaction was rolled back: " + result.output,
            custom && o.jobs > 1 ? "with --jobs the restore is not one transaction: "
                                   "check the target"
                                 : "the target is as it was before");
    }

    // The manifest's counts describe the dump exactly; compare.
    std::vector<std::string> differences;
    nlohmann::json tables = nlohmann::json::object();
    for (const auto& [table, expected] : v.manifest.row_counts) {
        const auto dot = table.find('.');
        const std::string q =
            quote_ident(table.substr(0, dot)) + "." + quote_ident(table.substr(dot + 1));
        std::int64_t actual = -1;
        try {
            actual = exec(*conn, "SELECT count(*) FROM ONLY " + q).get_int(0, 0);
        } catch (const SqlError&) {
        }
        tables[table] = {{"expected", expected}, {"actual", actual}};
        if (actual != expected) {
            differences.push_back(
                table + ": " + std::to_string(expected) + " rows in the backup, " +
                (actual < 0 ? "table missing" : std::to_string(actual)) + " after the restore");
        }
    }
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    if (ctx.json()) {
        print_json({{"ok", differences.empty()},
                    {"path", path},
                    {"database", cs.dbname},
                    {"duration_ms", ms},
                    {"manifest", v.has_manifest},
                    {"tables", tables},
                    {"differences", differences}});
    } else {
        print_text("restored " + path + " into " + where + " in " + std::to_string(ms / 1000) +
                   "." + std::to_string(ms % 1000 / 100) + " s; " +
                   (!v.has_manifest
                        ? std::string("no manifest, row counts not compared\n")
                        : std::to_string(v.manifest.row_counts.size()) + " tables, row counts " +
                              (differences.empty() ? "match the manifest\n" : "DIFFER:\n")));
    }
    if (!differences.empty()) {
        Error e(ExitCode::failure,
                "row counts after the restore differ from the backup's manifest");
        e.with_details(differences);
        if (!ctx.json()) throw e;
        return ExitCode::failure;
    }
    return ExitCode::ok;
}

}  // namespace

void register_restore(CLI::App& app, Context& ctx) {
    static RestoreOptions o;
    auto* cmd = app.add_subcommand(
        "restore", "Verify a backup completely, then restore it in one transaction");
    cmd->add_option("file", o.file, "Backup file, or 'latest' in --dir")->required();
    cmd->add_option("--dir", o.dir, "Backup directory for 'latest' (env CTLDB_BACKUP_DIR)");
    cmd->add_option("--target-db", o.target_db, "Database to restore into (default: DB_NAME)");
    cmd->add_flag("--create", o.create, "Create the target database first");
    cmd->add_flag("--clean", o.clean, "Replace the contents of a non-empty target");
    cmd->add_option("--jobs", o.jobs, "Parallel pg_restore jobs (custom format; not atomic)")
        ->check(CLI::Range(1, 64));
    cmd->add_flag("-y,--yes", o.yes, "Do not ask for confirmation");
    cmd->add_flag("--no-manifest", o.no_manifest,
                  "Accept a dump made without ctldb (any name, no manifest): checked for "
                  "completeness only, row counts not compared");
    cmd->callback([&ctx] { ctx.run = [&ctx] { return run_restore(o, ctx); }; });
}

}  // namespace ctldb
