// ctldb metrics [serve]: one Prometheus exposition, or an HTTP endpoint
// serving it. serve keeps one server connection across scrapes (reopened
// when lost), bounds every scrape, and lets scrapes that arrive while one
// is being collected share its result, so any number of concurrent
// scrapers cost one collection at a time and one connection.
#include <malloc.h>
#include <sys/resource.h>

#include <condition_variable>
#include <mutex>

#include <libpq-fe.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "backup/remote.hpp"
#include "base/log.hpp"
#include "base/output.hpp"
#include "base/signals.hpp"
#include "cli/cli_values.hpp"
#include "cli/context.hpp"
#include "commands/commands.hpp"
#include "metrics/http_server.hpp"
#include "metrics/metrics.hpp"
#include "migrate/migrations.hpp"
#include "pg/connection.hpp"

namespace ctldb::commands {

namespace {

struct MetricsCli {
    metrics::Options o;
    std::string timeout = "10s";
    std::string listen = "127.0.0.1:9187";
};

/// The server connection and the scrape in flight.
class Collector {
  public:
    Collector(const config::Config& cfg, const metrics::Options& o) : cfg_(cfg), o_(o) {}

    /// A fresh exposition, or the one being collected when this call came.
    std::string page() {
        std::unique_lock<std::mutex> lock(mutex_);
        if (running_) {
            const std::uint64_t seen = generation_;
            done_.wait(lock, [&] { return generation_ != seen; });
            return last_;
        }
        running_ = true;
        lock.unlock();
        std::string page;
        try {
            page = collect();
        } catch (...) {
            // Interrupted, or something no scrape expects: the waiters
            // still get an answer and the next scrape starts afresh.
            page = down_page("scrape_failed");
        }
        lock.lock();
        last_ = page;
        running_ = false;
        ++generation_;
        done_.notify_all();
        return page;
    }

    /// The page when even the backup metrics could not be read.
    static std::string down_page(const std::string& reason) {
        metrics::Exposition x;
        x.gauge("ctldb_up", "1 when ctldb reached the server", 0, {{"reason", reason}});
        return x.text();
    }

    bool up() const { return up_; }

  private:
    std::string collect() {
        for (int attempt = 0; attempt < 2; ++attempt) {
            if (!conn_) {
                std::string reason;
                if (!open(reason)) {
                    up_ = false;
                    return metrics::scrape(nullptr, cfg_, o_, reason);
                }
            }
            try {
                std::string page = metrics::scrape(conn_.get(), cfg_, o_, "");
                up_ = true;
                return page;
            } catch (const Error& e) {
                log::warn(std::string("scrape: ") + e.what());
                // Lost (the server restarted, a network cut): reconnect
                // once; a query that failed on a good connection is down
                // for this scrape only.
                if (conn_ && conn_->is_open() && PQstatus(conn_->raw()) == CONNECTION_OK) {
                    up_ = false;
                    return metrics::scrape(nullptr, cfg_, o_, "query_failed");
                }
                conn_.reset();
            }
        }
        up_ = false;
        return metrics::scrape(nullptr, cfg_, o_, "connection_lost");
    }

    bool open(std::string& reason) {
        config::ConnectionSettings s = cfg_.connection();
        s.connect_timeout_ms = std::min(
            s.connect_timeout_ms > 0 ? s.connect_timeout_ms : o_.timeout_ms, o_.timeout_ms);
        try {
            conn_ = pg::connect(s);
            conn_->reuse_plans();
            return true;
        } catch (const Error& e) {
            if (e.code() == ExitCode::interrupted) throw;
            reason = metrics::failure_reason(e.what());
            return false;
        }
    }

    const config::Config& cfg_;
    metrics::Options o_;
    std::unique_ptr<pg::Connection> conn_;
    std::mutex mutex_;
    std::condition_variable done_;
    bool running_ = false;
    std::uint64_t generation_ = 0;
    std::string last_;
    bool up_ = false;
};

metrics::Options options(MetricsCli& cli) {
    metrics::Options o = cli.o;
    const double t = cli::duration_option("--timeout", cli.timeout);
    if (t <= 0 || t > 300) throw usage_error("--timeout must be more than 0 and at most 300 s");
    migrate::check_migrations_options(o.migrations_dir, o.layout);
    o.timeout_ms = static_cast<int>(t * 1000);
    return o;
}

cli::Outcome run_once(MetricsCli& cli, Context& ctx) {
    const metrics::Options o = options(cli);
    const config::Config& cfg = ctx.valid_config(true);
    backup::use_object_storage(cfg, ctx.env);
    Collector c(cfg, o);
    const std::string page = c.page();
    throw_if_interrupted();
    const ExitCode code = c.up() ? ExitCode::ok : ExitCode::connect;
    return cli::Outcome::done(code, page, {{"up", c.up()}, {"exposition", page}});
}

ExitCode run_serve(MetricsCli& cli, Context& ctx) {
    const metrics::Options o = options(cli);
    // Each request has a thread; glibc would give busy threads arenas of
    // their own (up to 8 per core), which only grows the resident memory of
    // a process that holds one page at a time.
    ::mallopt(M_ARENA_MAX, 2);
    // Hundreds of idle or slow clients each hold a descriptor while their
    // request head arrives: the soft limit up to the hard one.
    rlimit nofile{};
    if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &nofile);
    }
    const metrics::http::Listen where = metrics::http::parse_listen(cli.listen);
    const config::Config& cfg = ctx.valid_config(true);
    backup::use_object_storage(cfg, ctx.env);
    Collector c(cfg, o);
    metrics::http::ServerOptions so;
    so.io_timeout_ms = o.timeout_ms + 5000;
    so.inline_paths = {"/healthz"};
    so.on_listening = [&](int port) {
        metrics::http::Listen actual = where;
        actual.port = port;
        log::info("serving http://" + actual.text() + "/metrics (and /healthz)");
    };
    metrics::http::serve(
        where,
        [&c](const std::string&, const std::string& path) -> metrics::http::Response {
            if (path == "/metrics")
                return {200, "text/plain; version=0.0.4; charset=utf-8", c.page()};
            if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};
            if (path == "/")
                return {200, "text/html; charset=utf-8",
                        "<html><body><a href=\"/metrics\">/metrics</a></body></html>\n"};
            return {404, "text/plain; charset=utf-8", "not found: /metrics, /healthz\n"};
        },
        so);
    return ExitCode::ok;
}

void add_common(CLI::App* c, MetricsCli& cli) {
    c->add_option("--pods", cli.o.pods,
                  "API pods sharing the server, for pool headroom (default 1)")
        ->check(CLI::Range(1, 10000));
    c->add_option("--admin-reserve", cli.o.admin_reserve,
                  "Connections kept for admin work (default 15)")
        ->check(CLI::Range(0, 10000));
    c->add_option("--backup-dir", cli.o.backup_dir, "Backups to report (default CTLDB_BACKUP_DIR)");
    c->add_option("--migrations-dir", cli.o.migrations_dir,
                  "The team's migrations folder to compare with the history (default "
                  "CTLDB_MIGRATIONS_DIR; without one, ctldb's built-in migrations where they "
                  "wrote the history)");
    c->add_option("--layout", cli.o.layout,
                  "How --migrations-dir names its files (default CTLDB_MIGRATIONS_LAYOUT, else "
                  "auto)");
    c->add_option("--timeout", cli.timeout, "Time limit of each scrape's statements (default 10s)");
}

}  // namespace

void bind_metrics(CLI::App* cmd, Context& ctx) {
    static MetricsCli cli;
    add_common(cmd, cli);
    cmd->callback([cmd, &ctx] {
        if (cmd->get_subcommands().empty()) ctx.run = [&ctx] { return run_once(cli, ctx); };
    });
    auto* serve = cmd->add_subcommand("serve", "Serve /metrics and /healthz over HTTP");
    add_common(serve, cli);
    serve->add_option("--listen", cli.listen, "Address and port (default 127.0.0.1:9187)");
    serve->callback([&ctx] { ctx.run = [&ctx] { return run_serve(cli, ctx); }; });
}

}  // namespace ctldb::commands
