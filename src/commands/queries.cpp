// ctldb queries [top|cancel|terminate]: the guide's "Slow queries", "Kill
// slow query" and "Query performance". The listing shows the sessions of
// this database longest first and every lock wait as a tree; top reads
// pg_stat_statements numbers first and texts only for the rows shown;
// cancel and terminate signal sessions of this database only, never
// ctldb's own, after showing them and asking (--yes off a terminal), and
// check a session is still the one that was listed (same backend start,
// and for a rule still matching it) at the moment it is signalled.
#include <chrono>
#include <cstdio>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "base/log.hpp"
#include "base/output.hpp"
#include "base/signals.hpp"
#include "base/text.hpp"
#include "checks/queries.hpp"
#include "cli/cli_values.hpp"
#include "cli/context.hpp"
#include "cli/outcome.hpp"
#include "commands/commands.hpp"
#include "pg/connection.hpp"
#include "pg/probes.hpp"

namespace ctldb::commands {

namespace {

using checks::queries::State;
using pg::probe::Session;

struct QueriesOptions {
    std::string min_duration = "0";
    std::string state = "busy";
    int watch = 0;
    bool all_databases = false;
    // top
    int limit = 10;
    std::string order = "total";
    // cancel / terminate
    std::vector<std::int64_t> pids;
    std::string older_than;
    bool yes = false, force = false, dry_run = false;
};

State state_option(const std::string& value) {
    const auto s = checks::queries::parse_state(value);
    if (!s) {
        throw usage_error("--state " + value + " is not a session state",
                          "busy (every state but idle), active, idle-in-transaction, idle or all");
    }
    return *s;
}

/// One line of a query for a table cell.
std::string one_line(const std::string& query, std::size_t width) {
    std::string flat;
    bool space = false;
    for (char c : query) {
        if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
            space = !flat.empty();
            continue;
        }
        if (space) flat += ' ';
        space = false;
        flat += c;
    }
    flat = printable(flat);
    return flat.size() > width ? flat.substr(0, width - 3) + "..." : flat;
}

std::string duration_text(const Session& s) {
    const auto d = checks::queries::duration_seconds(s);
    return d ? human_duration(*d) : "?";
}

nlohmann::json opt_json(const std::optional<double>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json session_json(const Session& s) {
    return {{"pid", s.pid},
            {"database", s.database},
            {"user", s.user},
            {"application", s.application},
            {"client", s.visible ? nlohmann::json(s.client) : nlohmann::json(nullptr)},
            {"state", s.visible ? nlohmann::json(s.state) : nlohmann::json(nullptr)},
            {"wait_event_type", s.wait_event_type.empty() ? nlohmann::json(nullptr)
                                                          : nlohmann::json(s.wait_event_type)},
            {"wait_event",
             s.wait_event.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.wait_event)},
            {"backend_start_at", time_json(s.backend_start)},
            {"xact_start_at", time_json(s.xact_start)},
            {"query_start_at", time_json(s.query_start)},
            {"duration_seconds", opt_json(checks::queries::duration_seconds(s))},
            {"xact_seconds", opt_json(s.xact_seconds)},
            {"blocked_by", s.blocked_by},
            {"query", s.visible ? nlohmann::json(s.query) : nlohmann::json(nullptr)}};
}

// --- the listing ----------------------------------------------------------------------

struct Listing {
    std::string database;  ///< "" all
    State state = State::busy;
    double min_seconds = 0;
    std::vector<Session> sessions;      ///< selected, longest first
    std::vector<Session> all_sessions;  ///< for the lock trees
    std::vector<pg::probe::LockTree> trees;
    std::int64_t hidden = 0;
    std::string role;

    ExitCode code() const { return ExitCode::ok; }

    const Session* find(std::int64_t pid) const {
        for (const auto& s : all_sessions)
            if (s.pid == pid) return &s;
        return nullptr;
    }

    void tree_text(const pg::probe::LockTree& t, std::size_t depth, std::string& out) const {
        const Session* s = find(t.pid);
        std::string indent = "  ";
        if (depth > 0) indent += std::string(3 * (depth - 1), ' ') + "└─ ";
        out += indent + std::to_string(t.pid);
        if (s != nullptr) {
            out += "  " + printable(s->user) + "  " + (s->state.empty() ? "?" : s->state);
            if (!s->blocked_by.empty())
                out += "  waiting " + (s->state_seconds ? human_duration(*s->state_seconds) : "?");
            out += "  " + one_line(s->query, 60);
        }
        out += "\n";
        for (const auto& w : t.waiters)
            tree_text(w, depth + 1, out);
    }

    std::string text(bool) const {
        std::string out;
        if (sessions.empty()) {
            out = std::string("no ") + checks::queries::state_name(state) + " session" +
                  (min_seconds > 0 ? " for " + human_duration(min_seconds) + " or longer" : "") +
                  (database.empty() ? "" : " in database " + printable(database)) + "\n";
        } else {
            Table t({"PID", "USER", "APPLICATION", "CLIENT", "STATE", "WAIT", "STARTED", "DURATION",
                     "QUERY"});
            for (const auto& s : sessions) {
                t.add_row({std::to_string(s.pid), printable(s.user), one_line(s.application, 20),
                           s.client, s.state,
                           s.wait_event.empty() ? "" : s.wait_event_type + ":" + s.wait_event,
                           s.query_start ? s.query_start->substr(11, 8) : "", duration_text(s),
                           one_line(s.query, 60)});
            }
            out = t.render();
        }
        if (!trees.empty()) {
            out += "\nlock waits (blocker, then who waits for it):\n";
            for (const auto& t : trees)
                tree_text(t, 0, out);
        }
        if (hidden > 0) {
            out += std::to_string(hidden) + " session(s) of other roles hidden from " +
                   printable(role) + " (needs " + pg::probe::kReadAllStatsGrant + ")\n";
        }
        return out;
    }

    nlohmann::json tree_json(const pg::probe::LockTree& t) const {
        nlohmann::json waiters = nlohmann::json::array();
        for (const auto& w : t.waiters)
            waiters.push_back(tree_json(w));
        const Session* s = find(t.pid);
        return {{"pid", t.pid},
                {"user", s ? nlohmann::json(s->user) : nlohmann::json(nullptr)},
                {"state", s ? nlohmann::json(s->state) : nlohmann::json(nullptr)},
                {"query", s ? nlohmann::json(s->query) : nlohmann::json(nullptr)},
                {"waiters", waiters}};
    }

    nlohmann::json json() const {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& s : sessions)
            list.push_back(session_json(s));
        nlohmann::json trees_json = nlohmann::json::array();
        for (const auto& t : trees)
            trees_json.push_back(tree_json(t));
        return {{"database", database.empty() ? nlohmann::json(nullptr) : nlohmann::json(database)},
                {"state", checks::queries::state_name(state)},
                {"min_duration_seconds", min_seconds},
                {"sessions", list},
                {"lock_trees", trees_json},
                {"hidden", hidden}};
    }
};

Listing take_listing(pg::Connection& conn, const QueriesOptions& o, const std::string& database) {
    Listing l;
    l.database = o.all_databases ? "" : database;
    l.state = state_option(o.state);
    l.min_seconds = cli::duration_option("--min-duration", o.min_duration);
    const pg::probe::Activity a = pg::probe::activity(conn);
    l.sessions = checks::queries::select(a.sessions, l.database, l.state, l.min_seconds);
    for (const auto& s : a.sessions)
        if (l.database.empty() || s.database == l.database) l.all_sessions.push_back(s);
    l.trees = pg::probe::lock_trees(l.all_sessions);
    l.hidden = a.hidden;
    l.role = a.role;
    return l;
}

cli::Outcome run_list(const QueriesOptions& o, Context& ctx) {
    state_option(o.state);
    cli::duration_option("--min-duration", o.min_duration);
    const config::Config& cfg = ctx.valid_config(true);
    auto conn = pg::connect(cfg.connection());
    pg::probe::bound_reads(*conn);
    const std::string db = pg::probe::current_database(*conn);
    if (o.watch <= 0) return cli::Outcome::of(take_listing(*conn, o, db));
    ctx.start_stream();
    for (;;) {
        ctx.stream(cli::Outcome::frame(take_listing(*conn, o, db))
                       .with_title(utc_now_iso8601() + "  (every " + std::to_string(o.watch) +
                                   " s, Ctrl-C to stop)"));
        for (int i = 0; i < o.watch * 10; ++i) {
            throw_if_interrupted();
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
}

// --- top ------------------------------------------------------------------------------

struct TopReport {
    checks::queries::Statements s;
    checks::queries::Order order = checks::queries::Order::total;
    std::string role;

    ExitCode code() const { return ExitCode::ok; }

    std::string text(bool) const {
        std::string out;
        if (s.rows.empty()) {
            out = "no statements recorded in this database yet\n";
        } else {
            Table t({"CALLS", "TOTAL", "MEAN", "ROWS", "HIT %", "USER", "QUERY"});
            for (const auto& r : s.rows) {
                char total[32], mean[32], hit[16];
                std::snprintf(total, sizeof total, "%.1f ms", r.total_ms);
                std::snprintf(mean, sizeof mean, "%.2f ms", r.mean_ms);
                const auto blocks = r.shared_blks_hit + r.shared_blks_read;
                std::snprintf(hit, sizeof hit, "%.1f",
                              blocks > 0 ? 100.0 * static_cast<double>(r.shared_blks_hit) /
                                               static_cast<double>(blocks)
                                         : 100.0);
                t.add_row({std::to_string(r.calls), total, mean, std::to_string(r.rows), hit,
                           printable(r.user), one_line(r.query, 70)});
            }
            out = t.render();
        }
        out += "statistics since " +
               (s.reset_at ? *s.reset_at : std::string("the server started")) +
               " (pg_stat_statements " + s.version + ")\n";
        if (s.hidden > 0) {
            out += std::to_string(s.hidden) + " statement(s) of other roles hidden from " +
                   printable(role) + " (needs " + pg::probe::kReadAllStatsGrant + ")\n";
        }
        return out;
    }

    nlohmann::json json() const {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& r : s.rows) {
            const auto blocks = r.shared_blks_hit + r.shared_blks_read;
            list.push_back(
                {{"queryid", r.queryid ? nlohmann::json(*r.queryid) : nullptr},
                 {"user", r.user},
                 {"calls", r.calls},
                 {"total_exec_ms", r.total_ms},
                 {"mean_exec_ms", r.mean_ms},
                 {"rows", r.rows},
                 {"shared_blks_hit", r.shared_blks_hit},
                 {"shared_blks_read", r.shared_blks_read},
                 {"hit_ratio", blocks > 0 ? nlohmann::json(static_cast<double>(r.shared_blks_hit) /
                                                           static_cast<double>(blocks))
                                          : nlohmann::json(nullptr)},
                 {"query", r.query}});
        }
        return {{"statements", list},
                {"order", order == checks::queries::Order::total  ? "total"
                          : order == checks::queries::Order::mean ? "mean"
                                                                  : "calls"},
                {"stats_reset_at", time_json(s.reset_at)},
                {"extension_version", s.version},
                {"hidden", s.hidden}};
    }
};

cli::Outcome run_top(const QueriesOptions& o, Context& ctx) {
    const auto order = checks::queries::parse_order(o.order);
    if (!order)
        throw usage_error("--order " + o.order + " is not an order", "total, mean or calls");
    auto conn = pg::connect(ctx.valid_config(true).connection());
    pg::probe::bound_reads(*conn);
    TopReport r;
    r.order = *order;
    r.role = pg::probe::current_user(*conn);
    r.s = checks::queries::top(*conn, o.limit, *order);
    return cli::Outcome::of(r);
}

// --- cancel / terminate -----------------------------------------------------------------

struct SignalReport {
    bool terminate = false;
    bool dry_run = false;
    std::vector<checks::queries::SignalTarget> targets;

    ExitCode code() const {
        for (const auto& t : targets)
            if (!t.ok) return ExitCode::failure;
        return ExitCode::ok;
    }

    std::string text(bool) const {
        if (targets.empty()) return "no session matches; nothing to do\n";
        Table t({"PID", "USER", "STATE", "DURATION", "OUTCOME", "QUERY"});
        for (const auto& x : targets) {
            t.add_row({std::to_string(x.pid), x.session ? printable(x.session->user) : "",
                       x.session ? x.session->state : "",
                       x.session ? duration_text(*x.session) : "",
                       x.outcome + (x.detail.empty() ? "" : ": " + x.detail),
                       x.session ? one_line(x.session->query, 50) : ""});
        }
        return t.render();
    }

    nlohmann::json json() const {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& x : targets) {
            nlohmann::json j =
                x.session ? session_json(*x.session) : nlohmann::json{{"pid", x.pid}};
            j["outcome"] = x.outcome;
            j["detail"] = x.detail.empty() ? nlohmann::json(nullptr) : nlohmann::json(x.detail);
            j["done"] = x.ok;
            list.push_back(j);
        }
        return {{"action", terminate ? "terminate" : "cancel"},
                {"dry_run", dry_run},
                {"sessions", list}};
    }
};

cli::Outcome run_signal(const QueriesOptions& o, bool terminate, Context& ctx) {
    const bool by_rule = !o.older_than.empty();
    if (by_rule == !o.pids.empty()) {
        throw usage_error(by_rule ? "give PIDs or --older-than, not both"
                                  : "which sessions? give PIDs, or --older-than D (with --state)",
                          "ctldb queries lists the sessions with their pids");
    }
    const State state = state_option(o.state);
    const double older = by_rule ? cli::duration_option("--older-than", o.older_than) : 0;
    const config::Config& cfg = ctx.valid_config(true);
    const char* verb = terminate ? "terminate" : "cancel";
    if (!o.dry_run) cfg.refuse_in_production(std::string(verb) + " sessions", o.force);
    auto conn = pg::connect(cfg.connection());
    pg::probe::bound_reads(*conn);
    const std::string db = pg::probe::current_database(*conn);
    const pg::probe::Activity a = pg::probe::activity(*conn);
    SignalReport report;
    report.terminate = terminate;
    report.dry_run = o.dry_run;
    std::vector<Session> chosen;
    if (by_rule) {
        chosen = checks::queries::select(a.sessions, db, state, older);
    } else {
        for (std::int64_t pid : o.pids) {
            Session s;
            s.pid = pid;
            for (const auto& x : a.sessions)
                if (x.pid == pid) s = x;
            chosen.push_back(s);
        }
    }
    report.targets.reserve(chosen.size());
    for (const auto& s : chosen) {
        checks::queries::SignalTarget t;
        t.pid = s.pid;
        const bool known = !s.state.empty() || s.self || !s.database.empty();
        t.session = known ? &s : nullptr;
        const std::string why = checks::queries::refusal(*conn, s.pid, t.session, db);
        if (!why.empty()) {
            t.outcome = "refused";
            t.detail = why;
        } else if (o.dry_run) {
            t.outcome = "would " + std::string(verb);
            t.ok = true;
        }
        report.targets.push_back(t);
    }
    std::size_t todo = 0;
    for (const auto& t : report.targets)
        if (t.outcome.empty()) ++todo;
    if (todo > 0) {
        const std::string what = std::string(verb) + " " + std::to_string(todo) + " session(s)";
        log::warn("about to " + what + ":");
        for (const auto& line : split(report.text(false), '\n')) {
            if (!line.empty()) log::warn("  " + line);
        }
        if (!o.yes) {
            if (!is_tty(stdin))
                throw usage_error(what + "? nothing was done", "pass --yes to confirm");
            if (!confirm(what + "?")) {
                log::info("nothing was done");
                return ExitCode::failure;
            }
        }
        const std::string rule =
            by_rule ? checks::queries::still_matches_sql(state, older) : "true";
        for (auto& t : report.targets)
            if (t.outcome.empty()) checks::queries::signal_one(*conn, t, terminate, rule);
    }
    return cli::Outcome::of(report);
}

}  // namespace

void bind_queries(CLI::App* cmd, Context& ctx) {
    static QueriesOptions o;
    cmd->add_option("--min-duration", o.min_duration,
                    "Only sessions this long in their state (default 0: all)");
    cmd->add_option("--state", o.state,
                    "busy (every state but idle), active, idle-in-transaction, idle or all "
                    "(default busy)");
    cmd->add_option("--watch", o.watch,
                    "Refresh every DURATION (5s, 1m) until interrupted (default: once)")
        ->transform(cli::duration_seconds())
        ->check(CLI::Range(1, 86400));
    cmd->add_flag("--all-databases", o.all_databases,
                  "Sessions of every database (default: the configured one)");
    cmd->callback([cmd, &ctx] {
        if (cmd->get_subcommands().empty()) ctx.run = [&ctx] { return run_list(o, ctx); };
    });

    auto* top = cmd->add_subcommand(
        "top", "Statements from pg_stat_statements by total time, mean time or calls");
    top->add_option("--limit", o.limit, "Statements shown (default 10)")
        ->check(CLI::Range(1, 10000));
    top->add_option("--order", o.order, "total, mean or calls (default total)");
    top->callback([&ctx] { ctx.run = [&ctx] { return run_top(o, ctx); }; });

    for (const bool terminate : {false, true}) {
        auto* sig = cmd->add_subcommand(
            terminate ? "terminate" : "cancel",
            terminate ? "End sessions (pg_terminate_backend): by PID, or by rule"
                      : "Cancel the running query of sessions (pg_cancel_backend)");
        sig->add_option(
            "pids", o.pids,
            "Process ids, as ctldb queries lists them (no default: these or --older-than)");
        sig->add_option(
            "--older-than", o.older_than,
            "Instead of PIDs: every session in --state for this long (10m, 1h; default: not used)");
        sig->add_option("--state", o.state,
                        "With --older-than: busy, active, idle-in-transaction (default busy)");
        sig->add_flag("-y,--yes", o.yes, "Do not ask (required off a terminal)");
        sig->add_flag("--force", o.force, "Allowed in production");
        sig->add_flag("--dry-run", o.dry_run, "Show the sessions, signal none");
        sig->callback([&ctx, terminate] {
            ctx.run = [&ctx, terminate] { return run_signal(o, terminate, ctx); };
        });
    }
}

}  // namespace ctldb::commands
