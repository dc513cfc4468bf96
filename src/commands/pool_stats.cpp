// ctldb pool-stats: connections by state, database, user, application and
// client; lock waits; the longest query and transaction; headroom; and the
// guide's pool sizing (pods x DB_POOL_MAX against max_connections minus the
// reserved and admin slots). Text, JSON or Prometheus exposition format.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "base/findings.hpp"
#include "base/log.hpp"
#include "base/signals.hpp"
#include "base/text.hpp"
#include "checks/pool.hpp"
#include "cli/cli_values.hpp"
#include "cli/context.hpp"
#include "cli/outcome.hpp"
#include "commands/commands.hpp"
#include "commands/pool_stats.hpp"
#include "pg/connection.hpp"
#include "pg/probes.hpp"

namespace ctldb::commands {

namespace {

/// The report, with its Prometheus text for -o prometheus.
cli::Outcome outcome(const metrics::PoolReport& r, bool frame) {
    cli::Outcome out = frame ? cli::Outcome::frame(r) : cli::Outcome::of(r);
    out.with_prometheus(r.prometheus());
    return out;
}

void warn_hidden(const metrics::PoolReport& s, const std::string& user) {
    log::warn(std::to_string(s.hidden) + " session(s) of other roles are hidden from " + user +
              ": without pg_monitor (or pg_read_all_stats) their state, lock waits and query "
              "times are not visible; they are counted in use and as 'hidden'");
    log::hint(checks::pool::monitor_grant(user) + "; gives ctldb the whole picture");
}

/// --watch: a snapshot every o.watch seconds until interrupted; the screen
/// redrawn on a terminal, one JSON document per line with -o json.
ExitCode watch(const PoolOptions& o, Context& ctx) {
    const config::Config& cfg = ctx.valid_config(true);
    auto conn = pg::connect(cfg.connection());
    pg::probe::bound_reads(*conn);
    ctx.start_stream();
    bool warned = false;
    for (;;) {
        const metrics::PoolReport r = metrics::pool_report(
            pg::probe::activity(*conn), cfg.integer("pool_max"), o.pods, o.admin_reserve);
        if (r.hidden > 0 && !warned) {
            warn_hidden(r, cfg.connection().user);
            warned = true;
        }
        ctx.stream(outcome(r, true).with_title(r.taken_at + "  (every " + std::to_string(o.watch) +
                                               " s, Ctrl-C to stop)"));
        for (int i = 0; i < o.watch * 10; ++i) {
            throw_if_interrupted();
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
}

cli::Outcome run(const PoolOptions& o, Context& ctx) {
    if (o.watch > 0) return watch(o, ctx);
    const metrics::PoolReport r = run_pool_stats(o, ctx);
    if (r.hidden > 0) warn_hidden(r, ctx.valid_config(true).connection().user);
    return outcome(r, false);
}

}  // namespace

metrics::PoolReport run_pool_stats(const PoolOptions& o, Context& ctx) {
    const config::Config& cfg = ctx.valid_config(true);
    auto conn = pg::connect(cfg.connection());
    pg::probe::bound_reads(*conn);
    return metrics::pool_report(pg::probe::activity(*conn), cfg.integer("pool_max"), o.pods,
                                o.admin_reserve);
}

void bind_pool_stats(CLI::App* cmd, Context& ctx) {
    static PoolOptions o;
    cmd->add_option("--pods", o.pods, "API pods sharing the server (default 1)")
        ->check(CLI::Range(1, 10000));
    cmd->add_option("--watch", o.watch,
                    "Refresh every DURATION (5s, 1m) until interrupted (default: once)")
        ->transform(cli::duration_seconds())
        ->check(CLI::Range(1, 86400));
    cmd->add_option("--admin-reserve", o.admin_reserve,
                    "Connections kept for admin work (guide: 10-20; default 15)")
        ->check(CLI::Range(0, 10000));
    cmd->callback([&ctx] {
        ctx.prometheus_output = true;
        ctx.run = [&ctx] { return run(o, ctx); };
    });
}

}  // namespace ctldb::commands
