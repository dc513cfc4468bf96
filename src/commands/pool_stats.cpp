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

#include "commands.hpp"
#include "ctldb/connection.hpp"
#include "ctldb/context.hpp"
#include "ctldb/findings.hpp"
#include "ctldb/log.hpp"
#include "ctldb/signals.hpp"
#include "ctldb/text.hpp"

namespace ctldb {

namespace {

struct PoolOptions {
    int pods = 1;
    int watch = 0;
    int admin_reserve = 15;
};

struct Snapshot {
    std::map<std::string, std::int64_t> states;  // active, idle, ...
    std::int64_t in_use = 0;
    std::int64_t hidden = 0;  // other roles' sessions this role may not see
    std::int64_t max_connections = 0;
    std::int64_t superuser_reserved = 0;
    std::int64_t reserved = 0;  // reserved_connections, PostgreSQL 16+
    nlohmann::json by_database, by_user, by_application, by_client, waiting, by_db_state;
    double longest_query_s = 0, longest_transaction_s = 0;
    std::string longest_query_pid, longest_transaction_pid;
};

const char* kStates[] = {"active", "idle", "idle_in_transaction", "idle_in_transaction_aborted",
                         "other"};

Snapshot take(Connection& conn) {
    Snapshot s;
    exec(conn, "SELECT pg_stat_clear_snapshot()");
    QueryResult settings =
        exec(conn,
             "SELECT current_setting('max_connections')::int, "
             "current_setting('superuser_reserved_connections')::int, "
             "coalesce(current_setting('reserved_connections', true), '0')::int");
    s.max_connections = settings.get_int(0, 0);
    s.superuser_reserved = settings.get_int(0, 1);
    s.reserved = settings.get_int(0, 2);
    // One pass over client backends; our own session is left out. Without
    // pg_monitor (pg_read_all_stats) other roles' sessions keep only their
    // database, user and application: they are counted as 'hidden'.
    QueryResult r =
        exec(conn,
             "SELECT CASE WHEN backend_type IS NULL THEN 'hidden' "
             "WHEN state = 'active' THEN 'active' WHEN state = 'idle' THEN 'idle' "
             "WHEN state = 'idle in transaction' THEN 'idle_in_transaction' "
             "WHEN state = 'idle in transaction (aborted)' THEN 'idle_in_transaction_aborted' "
             "ELSE 'other' END, coalesce(datname, ''), coalesce(usename, ''), "
             "coalesce(application_name, ''), CASE WHEN backend_type IS NULL THEN '(hidden)' "
             "ELSE coalesce(host(client_addr), 'local') END, count(*) FROM pg_stat_activity "
             "WHERE (backend_type = 'client backend' OR (backend_type IS NULL AND datname IS NOT "
             "NULL AND usename IS NOT NULL)) AND pid <> pg_backend_pid() GROUP BY 1, 2, 3, 4, 5");
    std::map<std::string, std::int64_t> db, user, app, client, db_state;
    for (const char* st : kStates)
        s.states[st] = 0;
    for (int i = 0; i < r.rows(); ++i) {
        const std::int64_t n = r.get_int(i, 5);
        s.states[r.get(i, 0)] += n;
        db[r.get(i, 1)] += n;
        user[r.get(i, 2)] += n;
        app[r.get(i, 3)] += n;
        client[r.get(i, 4)] += n;
        db_state[r.get(i, 1) + "\t" + r.get(i, 0)] += n;
        s.in_use += n;
        if (r.get(i, 0) == "hidden") s.hidden += n;
    }
    s.in_use += 1;  // this session holds a slot too
    s.by_database = db;
    s.by_user = user;
    s.by_application = app;
    s.by_client = client;
    s.by_db_state = db_state;
    QueryResult w = exec(conn,
                         "SELECT pid, coalesce(usename, ''), coalesce(wait_event, ''), "
                         "pg_blocking_pids(pid)::text, extract(epoch FROM now() - "
                         "coalesce(state_change, query_start))::float8, left(query, 120) "
                         "FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND "
                         "backend_type = 'client backend' ORDER BY 5 DESC");
    s.waiting = nlohmann::json::array();
    for (int i = 0; i < w.rows(); ++i) {
        s.waiting.push_back({{"pid", w.get_int(i, 0)},
                             {"user", w.get(i, 1)},
                             {"lock", w.get(i, 2)},
                             {"blocked_by", w.get(i, 3)},
                             {"waiting_seconds", std::atof(w.get(i, 4).c_str())},
                             {"query", w.get(i, 5)}});
    }
    QueryResult l = exec(conn,
                         "SELECT (SELECT coalesce(max(extract(epoch FROM now() - query_start)), 0) "
                         "FROM pg_stat_activity WHERE state = 'active' AND backend_type = 'client "
                         "backend' AND pid <> pg_backend_pid()), (SELECT pid FROM pg_stat_activity "
                         "WHERE state = 'active' AND backend_type = 'client backend' AND pid <> "
                         "pg_backend_pid() ORDER BY query_start LIMIT 1), (SELECT coalesce(max("
                         "extract(epoch FROM now() - xact_start)), 0) FROM pg_stat_activity WHERE "
                         "xact_start IS NOT NULL AND backend_type = 'client backend' AND pid <> "
                         "pg_backend_pid()), (SELECT pid FROM pg_stat_activity WHERE xact_start IS "
                         "NOT NULL AND backend_type = 'client backend' AND pid <> pg_backend_pid() "
                         "ORDER BY xact_start LIMIT 1)");
    s.longest_query_s = std::atof(l.get(0, 0).c_str());
    s.longest_query_pid = l.get(0, 1);
    s.longest_transaction_s = std::atof(l.get(0, 2).c_str());
    s.longest_transaction_pid = l.get(0, 3);
    return s;
}

struct Sizing {
    std::int64_t pool_max, pods, total, available, headroom;
    std::int64_t recommended;
    bool ok;
    std::string guide;
};

/// The guide: total = pods x DB_POOL_MAX must fit in max_connections minus
/// the reserved slots and 10-20 kept for admin work; per-pod sizes 50
/// (1-2 pods), 20-30 (3-5), 10-20 (more).
Sizing sizing(const Snapshot& s, std::int64_t pool_max, int pods, int admin_reserve) {
    Sizing z;
    z.pool_max = pool_max;
    z.pods = pods;
    z.total = pool_max * pods;
    z.available = s.max_connections - s.superuser_reserved - s.reserved - admin_reserve;
    z.headroom = s.max_connections - s.superuser_reserved - s.reserved - s.in_use;
    std::int64_t guide_max = pods <= 2 ? 50 : (pods <= 5 ? 30 : 20);
    z.guide = pods <= 2 ? "50 per pod (1-2 pods)"
                        : (pods <= 5 ? "20-30 per pod (3-5 pods)" : "10-20 per pod (5+ pods)");
    const std::int64_t fit = z.available > 0 ? z.available / pods : 0;
    z.recommended = std::max<std::int64_t>(1, std::min(guide_max, fit));
    z.ok = z.total <= z.available;
    return z;
}

std::string label(const std::string& v) {
    std::string out;
    for (char ch : v) {
        if (ch == '\\' || ch == '"') out += '\\';
        if (ch == '\n') {
            out += "\\n";
            continue;
        }
        out += ch;
    }
    return out;
}

std::string prometheus(const Snapshot& s, const Sizing& z) {
    std::string out;
    out +=
        "# HELP pg_stat_activity_count Number of client connections in this state\n"
        "# TYPE pg_stat_activity_count gauge\n";
    for (const auto& [key, n] : s.by_db_state.items()) {
        const auto tab = key.find('\t');
        std::string state = key.substr(tab + 1);
        if (state == "hidden") continue;  // ctldb_connections_hidden below
        static const std::map<std::string, std::string> pg_names = {
            {"active", "active"},
            {"idle", "idle"},
            {"idle_in_transaction", "idle in transaction"},
            {"idle_in_transaction_aborted", "idle in transaction (aborted)"},
            {"other", "other"}};
        out += "pg_stat_activity_count{datname=\"" + label(key.substr(0, tab)) + "\",state=\"" +
               label(pg_names.at(state)) + "\"} " + std::to_string(n.get<std::int64_t>()) + "\n";
    }
    auto gauge = [&out](const char* name, const char* help, double v) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.6g", v);
        out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n" + name +
               " " + buf + "\n";
    };
    gauge("pg_settings_max_connections", "max_connections setting",
          static_cast<double>(s.max_connections));
    gauge("pg_settings_superuser_reserved_connections", "superuser_reserved_connections setting",
          static_cast<double>(s.superuser_reserved));
    gauge("pg_stat_activity_max_tx_duration", "Longest open transaction in seconds",
          s.longest_transaction_s);
    gauge("ctldb_pg_stat_activity_max_query_duration_seconds", "Longest running query in seconds",
          s.longest_query_s);
    gauge("ctldb_connections_in_use", "Client connections in use", static_cast<double>(s.in_use));
    gauge("ctldb_connections_hidden",
          "Other roles' connections whose state this role cannot see (no pg_monitor)",
          static_cast<double>(s.hidden));
    gauge("ctldb_connections_waiting_on_lock", "Client connections waiting for a lock",
          static_cast<double>(s.waiting.size()));
    gauge("ctldb_connections_headroom", "max_connections minus reserved minus in use",
          static_cast<double>(z.headroom));
    gauge("ctldb_pool_configured_total", "pods x DB_POOL_MAX", static_cast<double>(z.total));
    gauge("ctldb_pool_available", "Connections the pools may use (max - reserved - admin reserve)",
          static_cast<double>(z.available));
    gauge("ctldb_pool_sizing_ok", "1 when the configured pools fit", z.ok ? 1 : 0);
    return out;
}

std::string text_report(const Snapshot& s, const Sizing& z) {
    std::string out;
    Table states({"STATE", "CONNECTIONS"});
    for (const char* st : kStates)
        states.add_row({st, std::to_string(s.states.at(st))});
    if (s.hidden > 0) states.add_row({"hidden", std::to_string(s.hidden)});
    out += states.render() + "\n";
    auto group = [&out](const char* title, const nlohmann::json& m) {
        Table t({title, "CONNECTIONS"});
        for (const auto& [k, v] : m.items())
            t.add_row({k.empty() ? "(none)" : k, std::to_string(v.get<std::int64_t>())});
        if (!t.empty()) out += t.render() + "\n";
    };
    group("DATABASE", s.by_database);
    group("USER", s.by_user);
    group("APPLICATION", s.by_application);
    group("CLIENT", s.by_client);
    if (!s.waiting.empty()) {
        Table t({"WAITING PID", "BLOCKED BY", "SECONDS", "QUERY"});
        for (const auto& w : s.waiting) {
            char secs[32];
            std::snprintf(secs, sizeof secs, "%.1f", w["waiting_seconds"].get<double>());
            t.add_row({std::to_string(w["pid"].get<std::int64_t>()),
                       w["blocked_by"].get<std::string>(), secs, w["query"].get<std::string>()});
        }
        out += t.render() + "\n";
    }
    char line[512];
    std::snprintf(
        line, sizeof line,
        "longest query %.1f s (pid %s), longest transaction %.1f s (pid %s)\n"
        "max_connections %lld, superuser reserved %lld, reserved %lld, in use %lld, headroom %lld\n"
        "pools: %lld pod(s) x DB_POOL_MAX %lld = %lld of %lld available (admin reserve kept): %s\n"
        "guide: %s; recommended DB_POOL_MAX for %lld pod(s): %lld\n",
        s.longest_query_s, s.longest_query_pid.empty() ? "-" : s.longest_query_pid.c_str(),
        s.longest_transaction_s,
        s.longest_transaction_pid.empty() ? "-" : s.longest_transaction_pid.c_str(),
        static_cast<long long>(s.max_connections), static_cast<long long>(s.superuser_reserved),
        static_cast<long long>(s.reserved), static_cast<long long>(s.in_use),
        static_cast<long long>(z.headroom), static_cast<long long>(z.pods),
        static_cast<long long>(z.pool_max), static_cast<long long>(z.total),
        static_cast<long long>(z.available), z.ok ? "OK" : "OVERSUBSCRIBED", z.guide.c_str(),
        static_cast<long long>(z.pods), static_cast<long long>(z.recommended));
    return out + line;
}

nlohmann::json json_report(const Snapshot& s, const Sizing& z) {
    nlohmann::json j = {{"ok", z.ok},
                        {"max_connections", s.max_connections},
                        {"superuser_reserved_connections", s.superuser_reserved},
                        {"reserved_connections", s.reserved},
                        {"in_use", s.in_use},
                        {"hidden", s.hidden},
                        {"headroom", z.headroom},
                        {"by_database", s.by_database},
                        {"by_user", s.by_user},
                        {"by_application", s.by_application},
                        {"by_client", s.by_client},
                        {"waiting_on_locks", s.waiting},
                        {"longest_query_seconds", s.longest_query_s},
                        {"longest_transaction_seconds", s.longest_transaction_s},
                        {"pool",
                         {{"pods", z.pods},
                          {"pool_max", z.pool_max},
                          {"total", z.total},
                          {"available", z.available},
                          {"ok", z.ok},
                          {"guide", z.guide},
                          {"recommended_pool_max", z.recommended}}}};
    for (const auto& [k, v] : s.states)
        j[k] = v;
    return j;
}

ExitCode run_pool_stats(const PoolOptions& o, Context& ctx) {
    const Config& cfg = ctx.valid_config(true);
    const std::int64_t pool_max = cfg.integer("pool_max");
    auto conn = connect(cfg.connection());
    const bool tty = is_tty(stdout);
    bool warned = false;
    for (;;) {
        const Snapshot s = take(*conn);
        if (s.hidden > 0 && !warned) {
            log::warn(std::to_string(s.hidden) + " session(s) of other roles are hidden from " +
                      cfg.connection().user +
                      ": without pg_monitor (or pg_read_all_stats) their state, lock waits and "
                      "query times are not visible; they are counted in use and as 'hidden'");
            log::hint("GRANT pg_monitor TO " + cfg.connection().user +
                      "; gives ctldb the whole picture");
            warned = true;
        }
        const Sizing z = sizing(s, pool_max, o.pods, o.admin_reserve);
        std::string out;
        if (ctx.global.output == OutputFormat::prometheus) {
            out = prometheus(s, z);
        } else if (ctx.json()) {
            out = json_report(s, z).dump(2) + "\n";
        } else {
            out = text_report(s, z);
        }
        if (o.watch > 0 && tty && ctx.global.output == OutputFormat::text) {
            out = "\033[H\033[2J" + utc_now_iso8601() + "  (every " + std::to_string(o.watch) +
                  " s, Ctrl-C to stop)\n\n" + out;
        }
        print_text(out);
        if (o.watch <= 0) return z.ok ? ExitCode::ok : ExitCode::failure;
        for (int i = 0; i < o.watch * 10; ++i) {
            throw_if_interrupted();
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
}

}  // namespace

void register_pool_stats(CLI::App& app, Context& ctx) {
    static PoolOptions o;
    auto* cmd = app.add_subcommand("pool-stats",
                                   "Connections by state and client, lock waits, pool sizing");
    cmd->add_option("--pods", o.pods, "API pods sharing the server (default 1)")
        ->check(CLI::Range(1, 10000));
    cmd->add_option("--watch", o.watch, "Refresh every SECONDS until interrupted")
        ->check(CLI::Range(1, 86400));
    cmd->add_option("--admin-reserve", o.admin_reserve,
                    "Connections kept for admin work (guide: 10-20; default 15)")
        ->check(CLI::Range(0, 10000));
    cmd->callback([&ctx] { ctx.run = [&ctx] { return run_pool_stats(o, ctx); }; });
}

}  // namespace ctldb
