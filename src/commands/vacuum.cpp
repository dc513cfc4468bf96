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

#include "base/findings.hpp"
#include "base/log.hpp"
#include "base/signals.hpp"
#include "base/stopwatch.hpp"
#include "base/text.hpp"
#include "cli/context.hpp"
#include "cli/outcome.hpp"
#include "commands/commands.hpp"
#include "commands/settings.hpp"
#include "maintenance/maintenance.hpp"
#include "maintenance/vacuum.hpp"
#include "pg/connection.hpp"
#include "pg/probes.hpp"

namespace ctldb::commands {

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

/// Every target over `jobs` connections (the first one given), biggest first,
/// with a progress line on a terminal.
std::vector<maintenance::VacuumResult> vacuum_all(
    std::unique_ptr<pg::Connection> first, const config::ConnectionSettings& cs,
    const std::vector<maintenance::VacuumTarget>& targets, const std::string& statement,
    bool skip_locked, int jobs, const std::string& label) {
    std::vector<maintenance::VacuumResult> results(targets.size());
    std::atomic<std::size_t> next{0}, finished{0};
    std::atomic<int> workers_done{0};
    std::mutex err_mu;
    std::exception_ptr failure_ptr;
    auto worker = [&](pg::Connection* conn) {
        for (;;) {
            const std::size_t i = next.fetch_add(1);
            if (i >= targets.size() || interrupted()) break;
            try {
                results[i] = maintenance::vacuum_one(*conn, targets[i], statement, skip_locked);
            } catch (...) {
                std::lock_guard<std::mutex> lock(err_mu);
                if (!failure_ptr) failure_ptr = std::current_exception();
                break;
            }
            ++finished;
        }
        ++workers_done;
    };
    std::vector<std::unique_ptr<pg::Connection>> conns;
    conns.push_back(std::move(first));
    for (int j = 1; j < jobs; ++j)
        conns.push_back(pg::connect(cs));
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

cli::Outcome report_vacuum(const std::vector<maintenance::VacuumResult>& results,
                           const VacuumOptions& o, int jobs) {
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
    return cli::Outcome::done(
        failed == 0 ? ExitCode::ok : ExitCode::failure, t.render(),
        {{"operation", o.analyze_only ? "analyze" : (o.full ? "vacuum full" : "vacuum analyze")},
         {"jobs", jobs},
         {"tables", arr}});
}

cli::Outcome run_vacuum(const VacuumOptions& o, Context& ctx) {
    if (o.full && !o.yes) {
        throw usage_error(
            "VACUUM FULL rewrites each table under an ACCESS EXCLUSIVE lock (no reads or writes)",
            "pass --full --yes if that is what you want");
    }
    if (o.full && o.analyze_only) throw usage_error("--full and --analyze-only do not go together");
    if (o.jobs < 1) throw usage_error("--jobs must be at least 1");
    const config::ConnectionSettings cs = ctx.valid_config(true).connection();
    auto main_conn = pg::connect(cs);
    const std::vector<maintenance::VacuumTarget> targets =
        maintenance::resolve_targets(*main_conn, o.tables);
    if (o.full) log::warn("VACUUM FULL locks each table exclusively while it is rewritten");

    const std::string statement =
        maintenance::vacuum_statement(o.analyze_only, o.full, o.skip_locked);
    const int jobs = std::min<int>(o.jobs, std::max<int>(1, static_cast<int>(targets.size())));
    const auto results = vacuum_all(std::move(main_conn), cs, targets, statement, o.skip_locked,
                                    jobs, o.analyze_only ? "analyze" : "vacuum");
    return report_vacuum(results, o, jobs);
}

maintenance::StatusReport run_status(Context& ctx) {
    auto conn = pg::connect(ctx.valid_config(true).connection());
    pg::probe::bound_reads(*conn);
    return maintenance::status_report(pg::probe::tables(*conn));
}

/// Kept as an alias: ctldb settings [check|apply] --only autovacuum,
/// autovacuum_naptime (--apply does not ask, as before).
cli::Outcome run_autovacuum(const VacuumOptions& o, Context& ctx) {
    SettingsOptions s;
    s.only = {"autovacuum", "autovacuum_naptime"};
    s.yes = true;
    return run_settings(s, o.apply ? SettingsMode::apply : SettingsMode::check, ctx);
}

}  // namespace

void bind_vacuum(CLI::App* cmd, Context& ctx) {
    static VacuumOptions o;
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
    status->callback([&ctx] { ctx.run = [&ctx] { return cli::Outcome::of(run_status(ctx)); }; });
    auto* autovac = cmd->add_subcommand(
        "autovacuum",
        "Alias of settings check --only autovacuum,autovacuum_naptime; --apply: settings apply");
    autovac->add_flag("--apply", o.apply, "ALTER SYSTEM and reload (superuser)");
    autovac->callback([&ctx] { ctx.run = [&ctx] { return run_autovacuum(o, ctx); }; });
}

}  // namespace ctldb::commands
