// ctldb vacuum [status|autovacuum]: VACUUM (ANALYZE) over parallel
// connections, biggest tables first; a status that flags tables needing
// vacuum or nearing wraparound; the guide's autovacuum settings.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "ctldb/connection.hpp"
#include "ctldb/context.hpp"
#include "ctldb/findings.hpp"
#include "ctldb/log.hpp"
#include "ctldb/maintenance.hpp"
#include "ctldb/probes.hpp"
#include "ctldb/signals.hpp"
#include "ctldb/stopwatch.hpp"
#include "ctldb/text.hpp"
#include "result.hpp"
#include "settings.hpp"

namespace ctldb {

namespace {

struct VacuumOptions {
    std::vector<std::string> tables;
    bool analyze_only = false;
    bool full = false;
    bool yes = false;
    int jobs = 1;
    bool skip_locked = false;
    bool apply = false;
};

struct Target {
    std::string name;  // quoted, schema-qualified
    std::int64_t oid = 0;
    std::int64_t bytes = 0;
    bool may = true;  // owner, database owner or superuser: VACUUM skips others
    bool partitioned = false;
};

// Sizes come from pg_class (pages as of the last VACUUM, ANALYZE or index
// build): pg_total_relation_size() takes a lock and would wait behind any
// ALTER TABLE or exclusively locked table, defeating --skip-locked.

/// PostgreSQL 15 lets the table owner, the database owner and superusers
/// vacuum or analyze a table; for anyone else it only warns and skips it.
constexpr const char* kMayVacuum =
    "pg_has_role(c.relowner, 'USAGE') OR pg_has_role((SELECT datdba FROM pg_database WHERE "
    "datname = current_database()), 'USAGE')";

struct TableStats {
    std::int64_t dead = 0;
    std::int64_t analyzed = -1;  // analyze_count (+ autoanalyze_count); -1: no statistics row
};

TableStats table_stats(Connection& conn, std::int64_t oid) {
    exec(conn, "SELECT pg_stat_clear_snapshot()");
    QueryResult r = exec(conn,
                         "SELECT coalesce(n_dead_tup, 0), analyze_count + autoanalyze_count "
                         "FROM pg_stat_all_tables WHERE relid = $1",
                         {std::to_string(oid)});
    if (r.rows() == 0) return {};
    return {r.get_int(0, 0), r.get_int(0, 1)};
}

/// Resolve --table names against the catalog before anything runs: an
/// unknown or malformed name is an error, and names are used only quoted.
std::vector<Target> resolve_targets(Connection& conn, const std::vector<std::string>& names) {
    std::vector<Target> out;
    if (names.empty()) {
        QueryResult r = exec(
            conn, std::string("SELECT format('%I.%I', n.nspname, c.relname), c.oid, "
                              "(c.relpages::bigint + coalesce(t.relpages, 0)) * "
                              "current_setting('block_size')::int, ") +
                      kMayVacuum +
                      " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN "
                      "pg_class t ON t.oid = c.reltoastrelid WHERE c.relkind IN ('r', 'm') AND " +
                      probe::user_schema("n") + " ORDER BY 3 DESC, 1");
        for (int i = 0; i < r.rows(); ++i)
            out.push_back({r.get(i, 0), r.get_int(i, 1), r.get_int(i, 2), r.get(i, 3) == "t"});
        return out;
    }
    std::vector<std::string> unknown;
    for (const auto& n : names) {
        QueryResult r(nullptr);
        try {
            r = exec(conn,
                     std::string("SELECT format('%I.%I', ns.nspname, c.relname), c.oid, "
                                 "(c.relpages::bigint + coalesce(t.relpages, 0)) * "
                                 "current_setting('block_size')::int, c.relkind, ") +
                         kMayVacuum +
                         " FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace "
                         "LEFT JOIN pg_class t ON t.oid = c.reltoastrelid "
                         "WHERE c.oid = to_regclass($1)",
                     {n});
        } catch (const SqlError&) {
            unknown.push_back(n);  // not even a valid name
            continue;
        }
        if (r.rows() == 0 || (r.get(0, 3) != "r" && r.get(0, 3) != "m" && r.get(0, 3) != "p")) {
            unknown.push_back(n);
            continue;
        }
        out.push_back({r.get(0, 0), r.get_int(0, 1), r.get_int(0, 2), r.get(0, 4) == "t",
                       r.get(0, 3) == "p"});
    }
    if (!unknown.empty()) {
        Error e(ExitCode::usage, "unknown table(s); nothing was vacuumed",
                "names are looked up as in SQL: schema.table, "
                "quoted if needed");
        std::vector<std::string> d;
        for (const auto& u : unknown)
            d.push_back("not a table: " + u);
        e.with_details(d);
        throw e;
    }
    std::sort(out.begin(), out.end(),
              [](const Target& a, const Target& b) { return a.bytes > b.bytes; });
    return out;
}

struct Result {
    std::string table;
    std::int64_t dead_before = 0, dead_after = 0;
    double seconds = 0;
    std::string error;    // counts as a failure
    std::string skipped;  // passed by as asked (--skip-locked): not a failure
};

/// VACUUM or ANALYZE one table (`statement` names the command and its
/// options), with its dead tuples before and after.
Result vacuum_one(Connection& conn, const Target& target, const std::string& statement,
                  bool skip_locked) {
    Result res;
    res.table = target.name;
    try {
        const TableStats before = table_stats(conn, target.oid);
        res.dead_before = before.dead;
        if (!target.may) {
            res.error =
                "skipped: only the table owner, the database owner or a superuser may "
                "vacuum it";
            return res;
        }
        const Stopwatch t0;
        exec(conn, statement + " " + target.name);
        res.seconds = t0.seconds();
        const TableStats after = table_stats(conn, target.oid);
        res.dead_after = after.dead;
        // Every mode includes ANALYZE, so a processed table's count moves;
        // SKIP_LOCKED only warns when it passes a table by. (A partitioned
        // table's own count never moves: not checked.)
        if (skip_locked && !target.partitioned && before.analyzed >= 0 &&
            after.analyzed == before.analyzed) {
            res.skipped = "skipped: locked by another session (--skip-locked)";
        }
    } catch (const SqlError& e) {
        res.error = e.what();
    }
    return res;
}

/// Every target over `jobs` connections (the first one given), biggest first,
/// with a progress line on a terminal.
std::vector<Result> vacuum_all(std::unique_ptr<Connection> first, const ConnectionSettings& cs,
                               const std::vector<Target>& targets, const std::string& statement,
                               bool skip_locked, int jobs, const std::string& label) {
    std::vector<Result> results(targets.size());
    std::atomic<std::size_t> next{0}, finished{0};
    std::atomic<int> workers_done{0};
    std::mutex err_mu;
    std::exception_ptr failure_ptr;
    auto worker = [&](Connection* conn) {
        for (;;) {
            const std::size_t i = next.fetch_add(1);
            if (i >= targets.size() || interrupted()) break;
            try {
                results[i] = vacuum_one(*conn, targets[i], statement, skip_locked);
            } catch (...) {
                std::lock_guard<std::mutex> lock(err_mu);
                if (!failure_ptr) failure_ptr = std::current_exception();
                break;
            }
            ++finished;
        }
        ++workers_done;
    };
    std::vector<std::unique_ptr<Connection>> conns;
    conns.push_back(std::move(first));
    for (int j = 1; j < jobs; ++j)
        conns.push_back(connect(cs));
    Progress progress(label, targets.size(), "tables");
    std::vector<std::thread> threads;
    for (auto& c : conns)
        threads.emplace_back(worker, c.get());
    while (workers_done < jobs) {
        progress.update(finished);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    for (auto& t : threads)
        t.join();
    progress.finish();
    throw_if_interrupted();
    if (failure_ptr) std::rethrow_exception(failure_ptr);
    return results;
}

ExitCode report_vacuum(const std::vector<Result>& results, const VacuumOptions& o, int jobs,
                       Context& ctx) {
    std::size_t failed = 0;
    nlohmann::json arr = nlohmann::json::array();
    Table t({"TABLE", "SECONDS", "DEAD BEFORE", "DEAD AFTER", "RESULT"});
    for (const auto& r : results) {
        if (!r.error.empty()) ++failed;
        char secs[32];
        std::snprintf(secs, sizeof secs, "%.2f", r.seconds);
        t.add_row({r.table, secs, std::to_string(r.dead_before), std::to_string(r.dead_after),
                   !r.error.empty()     ? r.error
                   : !r.skipped.empty() ? r.skipped
                                        : "ok"});
        arr.push_back(
            {{"table", r.table},
             {"duration_seconds", r.seconds},
             {"dead_tuples_before", r.dead_before},
             {"dead_tuples_after", r.dead_after},
             {"error", r.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.error)},
             {"skipped", r.skipped.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.skipped)}});
    }
    if (ctx.json()) {
        emit_result({{"operation",
                      o.analyze_only ? "analyze" : (o.full ? "vacuum full" : "vacuum analyze")},
                     {"jobs", jobs},
                     {"tables", arr}});
    } else {
        print_text(t.render());
    }
    return failed == 0 ? ExitCode::ok : ExitCode::failure;
}

ExitCode run_vacuum(const VacuumOptions& o, Context& ctx) {
    if (o.full && !o.yes) {
        throw usage_error(
            "VACUUM FULL rewrites each table under an ACCESS EXCLUSIVE lock (no reads or writes)",
            "pass --full --yes if that is what you want");
    }
    if (o.full && o.analyze_only) throw usage_error("--full and --analyze-only do not go together");
    if (o.jobs < 1) throw usage_error("--jobs must be at least 1");
    const ConnectionSettings cs = ctx.valid_config(true).connection();
    auto main_conn = connect(cs);
    const std::vector<Target> targets = resolve_targets(*main_conn, o.tables);
    if (o.full) log::warn("VACUUM FULL locks each table exclusively while it is rewritten");

    std::string options = o.analyze_only ? "" : (o.full ? "FULL, ANALYZE" : "ANALYZE");
    if (o.skip_locked) options += options.empty() ? "SKIP_LOCKED" : ", SKIP_LOCKED";
    const std::string statement = std::string(o.analyze_only ? "ANALYZE" : "VACUUM") +
                                  (options.empty() ? "" : " (" + options + ")");
    const int jobs = std::min<int>(o.jobs, std::max<int>(1, static_cast<int>(targets.size())));
    const auto results = vacuum_all(std::move(main_conn), cs, targets, statement, o.skip_locked,
                                    jobs, o.analyze_only ? "analyze" : "vacuum");
    return report_vacuum(results, o, jobs, ctx);
}

maintenance::StatusReport run_status(Context& ctx) {
    auto conn = connect(ctx.valid_config(true).connection());
    probe::bound_reads(*conn);
    return maintenance::status_report(probe::tables(*conn));
}

/// Kept as an alias: ctldb settings [check|apply] --only autovacuum,
/// autovacuum_naptime (--apply does not ask, as before).
ExitCode run_autovacuum(const VacuumOptions& o, Context& ctx) {
    SettingsOptions s;
    s.only = {"autovacuum", "autovacuum_naptime"};
    s.yes = true;
    return run_settings(s, o.apply ? SettingsMode::apply : SettingsMode::check, ctx);
}

}  // namespace

void register_vacuum(CLI::App& app, Context& ctx) {
    static VacuumOptions o;
    auto* cmd = app.add_subcommand(
        "vacuum", "VACUUM (ANALYZE) in parallel, biggest tables first; status; autovacuum");
    cmd->add_option("--table", o.tables,
                    "Only this table (schema.table); repeatable (default: every table)");
    cmd->add_flag("--analyze-only", o.analyze_only, "Only ANALYZE");
    cmd->add_flag("--full", o.full, "VACUUM FULL (exclusive locks; needs --yes)");
    cmd->add_flag("-y,--yes", o.yes, "Confirm --full");
    cmd->add_option("--jobs", o.jobs, "Parallel connections (default 1)")->check(CLI::Range(1, 64));
    cmd->add_flag("--skip-locked", o.skip_locked, "Skip tables that cannot be locked at once");
    cmd->callback([cmd, &ctx] {
        if (cmd->get_subcommands().empty()) ctx.run = [&ctx] { return run_vacuum(o, ctx); };
    });
    auto* status =
        cmd->add_subcommand("status", "Dead tuples, last (auto)vacuum/analyze, wraparound age");
    status->callback([&ctx] { ctx.run = [&ctx] { return print_result(run_status(ctx), ctx); }; });
    auto* autovac = cmd->add_subcommand(
        "autovacuum",
        "Alias of settings check --only autovacuum,autovacuum_naptime; --apply: settings apply");
    autovac->add_flag("--apply", o.apply, "ALTER SYSTEM and reload (superuser)");
    autovac->callback([&ctx] { ctx.run = [&ctx] { return run_autovacuum(o, ctx); }; });
}

}  // namespace ctldb
