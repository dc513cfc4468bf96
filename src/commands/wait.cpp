// ctldb wait: block until the server accepts a connection made with the
// configured settings (an init container before `ctldb migrate`), saying
// why it cannot yet. Exit 0 when it does, 3 when --timeout passes first.
#include <algorithm>
#include <chrono>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "base/log.hpp"
#include "base/output.hpp"
#include "base/signals.hpp"
#include "base/text.hpp"
#include "cli/cli_values.hpp"
#include "cli/context.hpp"
#include "commands/commands.hpp"
#include "metrics/metrics.hpp"
#include "pg/connection.hpp"
#include "pg/probes.hpp"

namespace ctldb::commands {

namespace {

struct WaitCli {
    std::string timeout = "60s";
    std::string interval = "1s";
};

using Clock = std::chrono::steady_clock;

std::string first_line(const std::string& message) {
    return message.substr(0, message.find('\n'));
}

double since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

cli::Outcome run_wait(const WaitCli& cli, Context& ctx) {
    const double timeout = cli::duration_option("--timeout", cli.timeout);
    const double interval = std::max(0.1, cli::duration_option("--interval", cli.interval));
    const config::Config& cfg = ctx.valid_config(true);
    const config::ConnectionSettings base = cfg.connection();
    const auto start = Clock::now();
    int attempts = 0;
    std::string reason;
    std::string last_error;
    for (;;) {
        ++attempts;
        config::ConnectionSettings s = base;
        // One attempt never outlasts what is left of --timeout (libpq
        // counts connect_timeout in whole seconds, at least 2).
        const double left = timeout - since(start);
        const int cap_ms = static_cast<int>(std::max(1.0, left) * 1000);
        s.connect_timeout_ms =
            s.connect_timeout_ms > 0 ? std::min(s.connect_timeout_ms, cap_ms) : cap_ms;
        try {
            auto conn = pg::connect(s);
            pg::probe::ping(*conn);
            const double waited = since(start);
            return cli::Outcome::done(ExitCode::ok,
                                      base.target() + " accepts connections (after " +
                                          human_duration(waited) + ", " + std::to_string(attempts) +
                                          (attempts == 1 ? " attempt)\n" : " attempts)\n"),
                                      {{"ready", true},
                                       {"target", base.target()},
                                       {"waited_seconds", waited},
                                       {"attempts", attempts}});
        } catch (const Error& e) {
            if (e.code() == ExitCode::interrupted || e.code() == ExitCode::usage) throw;
            const std::string now = metrics::failure_reason(e.what());
            last_error = e.what();
            // Said when the reason changes, not every second.
            if (now != reason) {
                log::info("waiting for " + base.target() + ": " + now + " (" +
                          first_line(last_error) + ")");
                reason = now;
            }
        }
        const double remaining = timeout - since(start);
        if (remaining <= 0) break;
        // The last attempt is made at the deadline, not an interval before.
        for (auto until =
                 Clock::now() + std::chrono::duration<double>(std::min(interval, remaining));
             Clock::now() < until;) {
            throw_if_interrupted();
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    const double waited = since(start);
    // Scripts get the document of the wait (exit 3); people the error.
    if (ctx.json()) {
        return cli::Outcome::done(ExitCode::connect, "",
                                  {{"ready", false},
                                   {"target", base.target()},
                                   {"waited_seconds", waited},
                                   {"attempts", attempts},
                                   {"reason", reason},
                                   {"error", last_error}});
    }
    throw Error(ExitCode::connect,
                base.target() + " did not accept a connection within " +
                    human_duration(parse_duration_seconds(cli.timeout).value_or(0)) + " (" +
                    std::to_string(attempts) + " attempts; last: " + reason + ": " +
                    first_line(last_error) + ")",
                "see 'ctldb config check' for the settings used; raise --timeout if the server "
                "is still starting");
}

}  // namespace

void bind_wait(CLI::App* cmd, Context& ctx) {
    static WaitCli cli;
    cmd->add_option("--timeout", cli.timeout,
                    "Give up after this long with exit 3 (default 60s; 0: one attempt)");
    cmd->add_option("--interval", cli.interval, "Time between attempts (default 1s)");
    cmd->callback([&ctx] { ctx.run = [&ctx] { return run_wait(cli, ctx); }; });
}

}  // namespace ctldb::commands
