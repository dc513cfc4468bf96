// pool-stats' report: sessions grouped by state, database, user,
// application and client, lock waits, the longest query and transaction,
// and the guide's pool sizing, rendered as text, JSON or Prometheus text.
#include "metrics/pool_report.hpp"

#include "metrics/metrics.hpp"

#include <algorithm>
#include <cstdio>

#include "base/output.hpp"
#include "base/text.hpp"

namespace ctldb::metrics {

namespace {

const char* kStates[] = {"active", "idle", "idle_in_transaction", "idle_in_transaction_aborted",
                         "other"};

std::string state_key(const pg::probe::Session& s) {
    if (!s.visible) return "hidden";
    if (s.state == "active" || s.state == "idle") return s.state;
    if (s.state == "idle in transaction") return "idle_in_transaction";
    if (s.state == "idle in transaction (aborted)") return "idle_in_transaction_aborted";
    return "other";
}

PoolReport snapshot(const pg::probe::Activity& a) {
    PoolReport s;
    s.capacity = {a.max_connections, a.superuser_reserved, a.reserved, 0};
    std::map<std::string, std::int64_t> db, user, app, client, db_state;
    for (const char* st : kStates)
        s.states[st] = 0;
    s.waiting = nlohmann::json::array();
    for (const auto& x : a.sessions) {
        ++s.capacity.in_use;  // this session holds a slot too
        if (x.self) continue;
        const std::string key = state_key(x);
        ++s.states[key];
        ++db[x.database];
        ++user[x.user];
        ++app[x.application];
        ++client[x.visible ? x.client : "(hidden)"];
        ++db_state[x.database + "\t" + key];
        if (!x.visible) ++s.hidden;
        if (x.state == "active" && x.query_seconds && *x.query_seconds >= s.longest_query_s) {
            s.longest_query_s = *x.query_seconds;
            s.longest_query_pid = x.pid;
        }
        if (x.xact_seconds && *x.xact_seconds >= s.longest_transaction_s) {
            s.longest_transaction_s = *x.xact_seconds;
            s.longest_transaction_pid = x.pid;
        }
        if (x.wait_event_type == "Lock") {
            s.waiting.push_back({{"pid", x.pid},
                                 {"user", x.user},
                                 {"lock", x.wait_event},
                                 {"blocked_by", x.blocked_by},
                                 {"waiting_seconds", x.state_seconds.value_or(0)},
                                 {"query", x.query.substr(0, 120)}});
        }
    }
    std::stable_sort(
        s.waiting.begin(), s.waiting.end(), [](const nlohmann::json& l, const nlohmann::json& r) {
            return l["waiting_seconds"].get<double>() > r["waiting_seconds"].get<double>();
        });
    s.by_database = db;
    s.by_user = user;
    s.by_application = app;
    s.by_client = client;
    s.by_db_state = db_state;
    return s;
}

std::string prometheus_text(const PoolReport& s, const checks::pool::Sizing& z) {
    // Through the metrics' writer: a family without a sample (no session
    // at all) is left out instead of HELP and TYPE alone.
    metrics::Exposition x;
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
        x.gauge("pg_stat_activity_count", "Number of client connections in this state",
                static_cast<double>(n.get<std::int64_t>()),
                {{"datname", key.substr(0, tab)}, {"state", pg_names.at(state)}});
    }
    x.gauge("pg_settings_max_connections", "max_connections setting",
            static_cast<double>(s.capacity.max_connections));
    x.gauge("pg_settings_superuser_reserved_connections", "superuser_reserved_connections setting",
            static_cast<double>(s.capacity.superuser_reserved));
    x.gauge("pg_stat_activity_max_tx_duration", "Longest open transaction in seconds",
            s.longest_transaction_s);
    x.gauge("ctldb_pg_stat_activity_max_query_duration_seconds", "Longest running query in seconds",
            s.longest_query_s);
    x.gauge("ctldb_connections_in_use", "Client connections in use",
            static_cast<double>(s.capacity.in_use));
    x.gauge("ctldb_connections_hidden",
            "Other roles' connections whose state this role cannot see (no pg_monitor)",
            static_cast<double>(s.hidden));
    x.gauge("ctldb_connections_waiting_on_lock", "Client connections waiting for a lock",
            static_cast<double>(s.waiting.size()));
    x.gauge("ctldb_connections_headroom", "max_connections minus reserved minus in use",
            static_cast<double>(z.headroom));
    x.gauge("ctldb_pool_configured_total", "pods x DB_POOL_MAX", static_cast<double>(z.total));
    x.gauge("ctldb_pool_available",
            "Connections the pools may use (max - reserved - admin reserve)",
            static_cast<double>(z.available));
    x.gauge("ctldb_pool_sizing_ok", "1 when the configured pools fit", z.ok ? 1 : 0);
    return x.text();
}

std::string pid_text(const std::optional<std::int64_t>& pid) {
    return pid ? std::to_string(*pid) : "-";
}

std::string pid_list(const nlohmann::json& pids) {
    std::vector<std::string> out;
    for (const auto& p : pids)
        out.push_back(std::to_string(p.get<std::int64_t>()));
    return join(out, ", ");
}

std::string text_report(const PoolReport& s, const checks::pool::Sizing& z) {
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
            t.add_row({std::to_string(w["pid"].get<std::int64_t>()), pid_list(w["blocked_by"]),
                       secs, w["query"].get<std::string>()});
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
        s.longest_query_s, pid_text(s.longest_query_pid).c_str(), s.longest_transaction_s,
        pid_text(s.longest_transaction_pid).c_str(),
        static_cast<long long>(s.capacity.max_connections),
        static_cast<long long>(s.capacity.superuser_reserved),
        static_cast<long long>(s.capacity.reserved), static_cast<long long>(s.capacity.in_use),
        static_cast<long long>(z.headroom), static_cast<long long>(z.pods),
        static_cast<long long>(z.pool_max), static_cast<long long>(z.total),
        static_cast<long long>(z.available), z.ok ? "OK" : "OVERSUBSCRIBED", z.guide.c_str(),
        static_cast<long long>(z.pods), static_cast<long long>(z.recommended));
    return out + line;
}

nlohmann::json json_report(const PoolReport& s, const checks::pool::Sizing& z) {
    nlohmann::json j = {
        {"ok", z.ok},
        {"max_connections", s.capacity.max_connections},
        {"superuser_reserved_connections", s.capacity.superuser_reserved},
        {"reserved_connections", s.capacity.reserved},
        {"in_use", s.capacity.in_use},
        {"hidden", s.hidden},
        {"headroom", z.headroom},
        {"by_database", s.by_database},
        {"by_user", s.by_user},
        {"by_application", s.by_application},
        {"by_client", s.by_client},
        {"waiting_on_locks", s.waiting},
        {"longest_query_seconds", s.longest_query_s},
        {"longest_transaction_seconds", s.longest_transaction_s},
        {"longest_query_pid",
         s.longest_query_pid ? nlohmann::json(*s.longest_query_pid) : nlohmann::json(nullptr)},
        {"longest_transaction_pid", s.longest_transaction_pid
                                        ? nlohmann::json(*s.longest_transaction_pid)
                                        : nlohmann::json(nullptr)},
        {"taken_at", s.taken_at},
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

}  // namespace

std::string PoolReport::text(bool) const {
    return text_report(*this, sizing);
}

nlohmann::json PoolReport::json() const {
    return json_report(*this, sizing);
}

std::string PoolReport::prometheus() const {
    return prometheus_text(*this, sizing);
}

PoolReport pool_report(const pg::probe::Activity& a, std::int64_t pool_max, int pods,
                       int admin_reserve) {
    PoolReport r = snapshot(a);
    r.sizing = checks::pool::plan(r.capacity, pool_max, pods, admin_reserve);
    r.taken_at = utc_now_iso8601();
    return r;
}

}  // namespace ctldb::metrics
