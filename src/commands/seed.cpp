// ctldb seed: the development data of the guide (idempotent), and
// `seed generate`: realistic synthetic data at scale, loaded with COPY.
// Both refuse to run in production (CTLDB_ENV, else NODE_ENV) unless --force.
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "ctldb/connection.hpp"
#include "ctldb/context.hpp"
#include "ctldb/embedded.hpp"
#include "ctldb/fs.hpp"
#include "ctldb/log.hpp"
#include "ctldb/script.hpp"
#include "ctldb/seed_data.hpp"
#include "ctldb/signals.hpp"
#include "ctldb/stopwatch.hpp"
#include "ctldb/text.hpp"

#include <algorithm>

namespace ctldb {

namespace {

struct SeedOptions {
    std::string dir;
    bool force = false;
    std::int64_t users = 0;
    std::string random_seed = "1";  // parsed strictly: 0 to 2^64-1
    std::int64_t batch = 5000;
    bool keep_indexes = false;
    std::string lock_timeout = "10s";
};

/// The tables seed generate writes to.
constexpr const char* kTables[] = {
    "users",   "subscriptions", "payment_methods", "payment_transactions",
    "refunds", "admin_roles",   "admin_audit_logs"};

/// kTables as an SQL list of names: users, subscriptions, ...
std::string table_list() {
    return join(kTables, ", ");
}

/// kTables as an SQL array of regclass, for catalog queries.
std::string table_array() {
    return "ARRAY['" + join(kTables, "', '") + "']::regclass[]";
}

void require_schema(Connection& conn) {
    QueryResult r = exec(conn, "SELECT count(*) FROM unnest(ARRAY['" + join(kTables, "', '") +
                                   "']) t WHERE to_regclass(t) IS NULL");
    if (r.get_int(0, 0) != 0) {
        throw failure("the Admin Center schema is not there (or not complete)",
                      "run 'ctldb migrate' first");
    }
}

std::vector<std::pair<std::string, std::string>> seed_files(const SeedOptions& o) {
    std::vector<std::pair<std::string, std::string>> files;
    if (o.dir.empty()) {
        for (const auto& f : embedded_seeds())
            files.emplace_back(f.name, f.text());
        return files;
    }
    if (!fs::is_dir(o.dir)) throw usage_error("cannot read seed directory " + o.dir);
    const std::vector<std::string> names = fs::list_files(o.dir, ".sql");
    for (const auto& n : names)
        files.emplace_back(n, fs::read_file(o.dir + "/" + n));
    if (files.empty()) throw usage_error("no .sql files in " + o.dir);
    return files;
}

void require_tables(Connection& conn, const std::vector<std::pair<std::string, std::string>>& files,
                    const SeedOptions& o, const Config& cfg) {
    const auto missing = missing_tables(conn, files);
    if (missing.empty()) return;
    const std::string& migrations = cfg.get("migrations_dir").text;
    Error e(ExitCode::failure,
            std::to_string(missing.size()) +
                " table(s) the seed files use are not in this "
                "database; nothing was changed",
            o.dir.empty() ? "the built-in seeds need ctldb's schema: run 'ctldb migrate' first"
            : migrations.empty()
                ? "apply the migrations these seeds were written for first (ctldb migrate --dir "
                  "FOLDER, or set CTLDB_MIGRATIONS_DIR)"
                : "apply the migrations first: ctldb migrate (the folder " + migrations + ")");
    e.with_details(missing);
    throw e;
}

ExitCode run_seed(const SeedOptions& o, Context& ctx) {
    const Config& cfg = ctx.valid_config(true);
    cfg.refuse_in_production("seed the database", o.force);
    const auto files = seed_files(o);
    auto conn = connect(cfg.connection());
    require_tables(*conn, files, o, cfg);
    TransactionGuard tx(*conn);
    RowCounts all;
    nlohmann::json per_file = nlohmann::json::array();
    for (const auto& [name, text] : files) {
        // Rows inserted, updated, deleted or copied: a summary SELECT's
        // rows are read, not seeded.
        const RowCounts n = run_script(*conn, name, text);
        per_file.push_back({{"file", name},
                            {"rows_inserted", n.inserted},
                            {"rows_updated", n.updated},
                            {"rows_deleted", n.deleted},
                            {"rows_changed", n.total()}});
        all += n;
    }
    tx.commit();
    if (ctx.json()) {
        emit_result({{"ok", true},
                     {"rows_inserted", all.inserted},
                     {"rows_updated", all.updated},
                     {"rows_deleted", all.deleted},
                     {"rows_changed", all.total()},
                     {"files", per_file}});
    } else if (all.total() == 0) {
        print_text("seed data already present; nothing changed\n");
    } else {
        std::vector<std::string> parts;
        parts.push_back(std::to_string(all.inserted) + " inserted");
        if (all.updated > 0) parts.push_back(std::to_string(all.updated) + " updated");
        if (all.deleted > 0) parts.push_back(std::to_string(all.deleted) + " deleted");
        if (all.merged > 0) parts.push_back(std::to_string(all.merged) + " merged");
        print_text("seeded " + std::to_string(files.size()) + " file(s): rows " +
                   join(parts, ", ") + "\n");
    }
    return ExitCode::ok;
}

// --- seed generate -----------------------------------------------------------

/// What a bulk load takes off the tables and puts back afterwards, as
/// pg_restore does: foreign keys, primary/unique constraints and indexes.
/// Building them once over all rows is many times faster than maintaining
/// them row by row, and the foreign keys are then checked in one join each.
struct Detached {
    std::vector<std::string> restore;  // in order
};

Detached detach_constraints(Connection& conn) {
    Detached d;
    std::vector<std::string> drops, fks, keys, indexes;
    const std::string targets = table_array();
    QueryResult fk = exec(conn,
                          "SELECT format('%s', conrelid::regclass), quote_ident(conname), "
                          "pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'f' AND "
                          "(conrelid = ANY(" +
                              targets + ") OR confrelid = ANY(" + targets + ")) ORDER BY 1, 2");
    for (int i = 0; i < fk.rows(); ++i) {
        drops.push_back("ALTER TABLE " + fk.get(i, 0) + " DROP CONSTRAINT " + fk.get(i, 1));
        fks.push_back("ALTER TABLE " + fk.get(i, 0) + " ADD CONSTRAINT " + fk.get(i, 1) + " " +
                      fk.get(i, 2));
    }
    QueryResult idx = exec(conn,
                           "SELECT format('%s', i.indexrelid::regclass), "
                           "pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = ANY(" +
                               targets +
                               ") AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid "
                               "= i.indexrelid) ORDER BY 1");
    for (int i = 0; i < idx.rows(); ++i) {
        drops.push_back("DROP INDEX " + idx.get(i, 0));
        indexes.push_back(idx.get(i, 1));
    }
    QueryResult key = exec(conn,
                           "SELECT format('%s', conrelid::regclass), quote_ident(conname), "
                           "pg_get_constraintdef(oid) FROM pg_constraint WHERE contype IN ('p', "
                           "'u') AND conrelid = ANY(" +
                               targets + ") ORDER BY 1, 2");
    for (int i = 0; i < key.rows(); ++i) {
        drops.push_back("ALTER TABLE " + key.get(i, 0) + " DROP CONSTRAINT " + key.get(i, 1));
        keys.push_back("ALTER TABLE " + key.get(i, 0) + " ADD CONSTRAINT " + key.get(i, 1) + " " +
                       key.get(i, 2));
    }
    for (const auto& sql : drops)
        exec(conn, sql);
    d.restore = keys;
    d.restore.insert(d.restore.end(), indexes.begin(), indexes.end());
    d.restore.insert(d.restore.end(), fks.begin(), fks.end());
    return d;
}

/// True when the current role owns every table seed generate writes to
/// (needed to take constraints off for the load).
bool owns_tables(Connection& conn) {
    return exec(conn, std::string("SELECT bool_and(pg_has_role(c.relowner, 'USAGE')) FROM "
                                  "pg_class c WHERE c.oid = ANY(") +
                          table_array() + ")")
               .get(0, 0) == "t";
}

/// --random-seed: a whole number from 0 to 2^64-1, nothing else (no sign,
/// no wrap-around of -1 or of a number too large).
std::uint64_t parse_seed(const std::string& text) {
    errno = 0;
    char* end = nullptr;
    const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
    if (text.empty() || text.size() > 20 ||
        text.find_first_not_of("0123456789") != std::string::npos || errno == ERANGE ||
        end != text.c_str() + text.size()) {
        throw usage_error("--random-seed '" + text + "' is not a whole number from 0 to " +
                          std::to_string(UINT64_MAX));
    }
    return static_cast<std::uint64_t>(v);
}

/// Takes every lock the load needs at once, waiting at most `timeout`: an
/// ACCESS EXCLUSIVE request queued behind a long transaction would otherwise
/// stall every other query on the tables while it waits. Taking constraints
/// off also locks the tables that reference these ones.
void lock_tables(Connection& conn, bool exclusive, const std::string& timeout) {
    set_timeout(conn, "lock_timeout", timeout, true);
    std::string tables = table_list();
    if (exclusive) {
        const QueryResult others = exec(
            conn, std::string("SELECT DISTINCT format('%s', conrelid::regclass) FROM "
                              "pg_constraint WHERE contype = 'f' AND confrelid = ANY(") +
                      table_array() + ") AND NOT conrelid = ANY(" + table_array() + ") ORDER BY 1");
        for (int i = 0; i < others.rows(); ++i)
            tables += ", " + others.get(i, 0);
    }
    try {
        exec(conn, "LOCK TABLE " + tables + " IN " +
                       (exclusive ? "ACCESS EXCLUSIVE" : "ROW EXCLUSIVE") + " MODE");
    } catch (const SqlError& e) {
        if (e.code() != ExitCode::lock) throw;
        throw Error(ExitCode::lock,
                    "the tables are in use: could not lock them within --lock-timeout " + timeout +
                        "; nothing was changed",
                    "'ctldb pool-stats' shows who holds locks; retry when they are done, or "
                    "raise --lock-timeout");
    }
    set_timeout(conn, "lock_timeout", "0", true);
}

/// Rows and bytes copied.
struct Loaded {
    std::uint64_t rows = 0, bytes = 0;
};

/// Generate and COPY every user in batches; the next batch is generated on
/// another core while this one is copied.
Loaded load_users(Connection& conn, const SeedOptions& o, std::uint64_t seed) {
    Progress progress("seed generate", static_cast<std::uint64_t>(o.users), "users");
    auto generate_batch = [&o, seed](std::int64_t first, seed::Buffers& out) {
        const std::int64_t end = std::min(o.users, first + o.batch);
        for (std::int64_t i = first; i < end; ++i) {
            seed::generate_user(seed, static_cast<std::uint64_t>(i), out);
        }
    };
    seed::Buffers b;
    seed::generate_admins(seed, b);
    generate_batch(0, b);
    Loaded out;
    for (std::int64_t first = 0; first < o.users; first += o.batch) {
        seed::Buffers next;
        std::thread producer;
        if (first + o.batch < o.users) {
            producer = std::thread(generate_batch, first + o.batch, std::ref(next));
        }
        try {
            out.bytes += seed::flush(conn, b);
        } catch (...) {
            if (producer.joinable()) producer.join();
            throw;
        }
        out.rows += b.rows;
        if (producer.joinable()) producer.join();
        b = std::move(next);
        progress.update(static_cast<std::uint64_t>(std::min(o.users, first + o.batch)), out.bytes);
    }
    progress.finish();
    return out;
}

/// Put back what detach_constraints took off, each statement timed at -vv.
void rebuild(Connection& conn, const Detached& detached) {
    if (detached.restore.empty()) return;
    log::info("rebuilding " + std::to_string(detached.restore.size()) + " constraints and indexes");
    for (const auto& sql : detached.restore) {
        throw_if_interrupted();
        const Stopwatch t_sql;
        exec(conn, sql);
        char took[32];
        std::snprintf(took, sizeof took, "%.3f s: ", t_sql.seconds());
        log::debug(took + sql);
    }
}

ExitCode report_generate(const SeedOptions& o, std::uint64_t seed, const Loaded& l, double secs,
                         double rebuild_secs, Context& ctx) {
    const double mb = static_cast<double>(l.bytes) / 1e6;
    if (ctx.json()) {
        emit_result({{"users", o.users},
                     {"random_seed", seed},
                     {"rows", l.rows},
                     {"copy_bytes", l.bytes},
                     {"duration_seconds", secs},
                     {"load_seconds", secs - rebuild_secs},
                     {"rebuild_seconds", rebuild_secs},
                     {"mb_per_second", secs > 0 ? mb / secs : 0.0}});
    } else {
        char line[240];
        std::snprintf(line, sizeof line,
                      "generated %lld users (%llu rows, %.1f MB) in %.2f s: %.1f MB/s "
                      "(load %.2f s, keys and indexes %.2f s)\n",
                      static_cast<long long>(o.users), static_cast<unsigned long long>(l.rows), mb,
                      secs, secs > 0 ? mb / secs : 0.0, secs - rebuild_secs, rebuild_secs);
        print_text(line);
    }
    return ExitCode::ok;
}

ExitCode run_generate(const SeedOptions& o, Context& ctx) {
    const Config& cfg = ctx.valid_config(true);
    cfg.refuse_in_production("seed the database", o.force);
    if (o.users <= 0) throw usage_error("--users must be a positive number");
    check_pg_duration("--lock-timeout", o.lock_timeout);
    const std::uint64_t seed = parse_seed(o.random_seed);
    auto conn = connect(cfg.connection());
    require_schema(*conn);
    if (exec(*conn, "SELECT count(*) FROM users WHERE id = $1::uuid",
             {seed::admin_id_text(seed, 0)})
            .get_int(0, 0) > 0) {
        throw failure("data generated with --random-seed " + std::to_string(seed) +
                          " is already in the database",
                      "use another --random-seed, or remove the generated rows first");
    }
    const Stopwatch start;
    // One transaction: a failure or a signal leaves no half-generated data,
    // and constraints taken off for the load are back whatever happens.
    TransactionGuard tx(*conn);
    exec(*conn, "SET LOCAL maintenance_work_mem = '256MB'");
    const bool detach = !o.keep_indexes && owns_tables(*conn);
    if (!o.keep_indexes && !detach) {
        log::info("not the owner of the tables: loading with indexes and constraints in place");
    }
    lock_tables(*conn, detach, o.lock_timeout);
    Detached detached;
    if (detach) detached = detach_constraints(*conn);
    const Loaded loaded = load_users(*conn, o, seed);
    const Stopwatch rebuilding;
    rebuild(*conn, detached);
    tx.commit();
    return report_generate(o, seed, loaded, start.seconds(), rebuilding.seconds(), ctx);
}

}  // namespace

void register_seed(CLI::App& app, Context& ctx) {
    static SeedOptions o;
    auto* cmd = app.add_subcommand("seed", "Development seed data (idempotent), or generated data");
    cmd->add_option("--dir", o.dir, "Directory of seed .sql files (default: built into ctldb)");
    cmd->add_flag("--force", o.force, "Allow it in production (CTLDB_ENV or NODE_ENV)");
    cmd->callback([cmd, &ctx] {
        if (cmd->get_subcommands().empty()) ctx.run = [&ctx] { return run_seed(o, ctx); };
    });
    auto* gen = cmd->add_subcommand("generate", "Realistic synthetic data at scale, with COPY");
    gen->add_option("--users", o.users,
                    "How many users to generate (each with subscription, "
                    "payment methods, transactions, refunds, audit entries)")
        ->required()
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{100000000}));
    gen->add_option("--random-seed", o.random_seed,
                    "Seed: the same seed gives the same data (default 1)");
    gen->add_option("--batch-users", o.batch, "Users per COPY batch (default 5000)")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{50000}));
    gen->add_flag("--keep-indexes", o.keep_indexes,
                  "Load with indexes and constraints in place (slower; no exclusive locks)");
    gen->add_option("--lock-timeout", o.lock_timeout,
                    "How long to wait for the tables' locks (PostgreSQL duration, default 10s), "
                    "then exit 4");
    gen->add_flag("--force", o.force, "Allow it in production (CTLDB_ENV or NODE_ENV)");
    gen->callback([&ctx] { ctx.run = [&ctx] { return run_generate(o, ctx); }; });
}

}  // namespace ctldb
