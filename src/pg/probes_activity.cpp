// The activity probe (sessions, their waits and the server's connection
// limits) and the lock trees built from it.
#include <algorithm>
#include <cstdlib>
#include <functional>
#include <set>

#include "pg/probes.hpp"

namespace ctldb::pg::probe {

namespace {

/// Seconds as the server counted them, never below 0 (clock steps).
std::optional<double> non_negative(std::optional<double> seconds) {
    if (seconds) *seconds = std::max(0.0, *seconds);
    return seconds;
}

std::string seconds_since(const char* column) {
    return std::string("extract(epoch FROM clock_timestamp() - a.") + column + ")::float8";
}

}  // namespace

Activity activity(Connection& conn) {
    Activity out;
    // A fresh view of the statistics, not the one cached for this transaction.
    QueryResult lim =
        exec(conn,
             "SELECT pg_stat_clear_snapshot(), current_setting('max_connections')::int, "
             "current_setting('superuser_reserved_connections')::int, "
             "coalesce(current_setting('reserved_connections', true), '0')::int, current_user, "
             "pg_has_role('pg_read_all_stats', 'USAGE')");
    out.max_connections = lim.get_int(0, 1);
    out.superuser_reserved = lim.get_int(0, 2);
    out.reserved = lim.get_int(0, 3);
    out.role = lim.get(0, 4);
    out.all_stats = lim.get(0, 5) == "t";
    // Client backends; other roles' sessions, to a role without
    // pg_read_all_stats, keep only their database, user and application
    // (backend_type, state and query are hidden): counted as hidden.
    QueryResult r =
        exec(conn,
             "SELECT a.pid, a.pid = pg_backend_pid(), a.backend_type IS NOT NULL, "
             "coalesce(a.datname, ''), coalesce(a.usename, ''), coalesce(a.application_name, ''), "
             "CASE WHEN a.backend_type IS NULL THEN '' ELSE coalesce(host(a.client_addr), 'local') "
             "END, coalesce(a.state, ''), coalesce(a.wait_event_type, ''), coalesce(a.wait_event, "
             "''), " +
                 iso_utc("a.backend_start") + ", " + iso_utc("a.xact_start") + ", " +
                 iso_utc("a.query_start") + ", " + iso_utc("a.state_change") + ", " +
                 seconds_since("query_start") + ", " + seconds_since("xact_start") + ", " +
                 seconds_since("state_change") +
                 ", CASE WHEN a.backend_type IS NULL THEN NULL ELSE s.ssl END, "
                 "array_to_string(pg_blocking_pids(a.pid), ','), CASE WHEN a.backend_type IS NULL "
                 "THEN '' ELSE coalesce(a.query, '') END "
                 "FROM pg_stat_activity a LEFT JOIN pg_stat_ssl s ON s.pid = a.pid "
                 "WHERE a.backend_type = 'client backend' OR (a.backend_type IS NULL AND a.datname "
                 "IS NOT NULL AND a.usename IS NOT NULL) ORDER BY a.pid");
    for (int i = 0; i < r.rows(); ++i) {
        Session s;
        Row row(r, i);
        s.pid = row.int64();
        s.self = row.flag();
        s.visible = row.flag();
        s.database = row.text();
        s.user = row.text();
        s.application = row.text();
        s.client = row.text();
        s.state = row.text();
        s.wait_event_type = row.text();
        s.wait_event = row.text();
        s.backend_start = row.optional();
        s.xact_start = row.optional();
        s.query_start = row.optional();
        s.state_change = row.optional();
        s.query_seconds = non_negative(row.optional_real());
        s.xact_seconds = non_negative(row.optional_real());
        s.state_seconds = non_negative(row.optional_real());
        if (auto ssl = row.optional_flag()) s.ssl = *ssl;
        s.blocked_by = parse_int_array(row.text());
        s.query = row.text();
        if (!s.visible) ++out.hidden;
        out.sessions.push_back(std::move(s));
    }
    return out;
}

std::size_t LockTree::size() const {
    // A waiter blocked by two sessions of the tree appears twice: count it once.
    std::set<std::int64_t> pids;
    std::function<void(const LockTree&)> walk = [&](const LockTree& t) {
        pids.insert(t.pid);
        for (const auto& w : t.waiters)
            walk(w);
    };
    walk(*this);
    return pids.size();
}

std::size_t LockTree::depth() const {
    std::size_t d = 0;
    for (const auto& w : waiters)
        d = std::max(d, w.depth());
    return d + 1;
}

std::vector<LockTree> lock_trees(const std::vector<Session>& sessions) {
    std::map<std::int64_t, std::vector<std::int64_t>> waiters;  // blocker -> waiters
    std::set<std::int64_t> waiting;
    for (const auto& s : sessions) {
        if (s.blocked_by.empty()) continue;
        waiting.insert(s.pid);
        for (std::int64_t b : s.blocked_by)
            waiters[b].push_back(s.pid);
    }
    for (auto& [b, list] : waiters) {
        std::sort(list.begin(), list.end());
        list.erase(std::unique(list.begin(), list.end()), list.end());
    }
    std::set<std::int64_t> placed;
    std::function<LockTree(std::int64_t, std::set<std::int64_t>&)> build =
        [&](std::int64_t pid, std::set<std::int64_t>& path) {
            LockTree t;
            t.pid = pid;
            placed.insert(pid);
            path.insert(pid);
            auto it = waiters.find(pid);
            if (it != waiters.end()) {
                for (std::int64_t w : it->second) {
                    if (path.count(w) == 0) t.waiters.push_back(build(w, path));
                }
            }
            path.erase(pid);
            return t;
        };
    std::vector<LockTree> out;
    for (const auto& [b, list] : waiters) {
        if (waiting.count(b) != 0) continue;  // waits itself: under its own blocker
        std::set<std::int64_t> path;
        out.push_back(build(b, path));
    }
    // Sessions that wait for each other in a cycle (a deadlock the server
    // has not broken yet) have no root: the lowest pid of each stands in.
    for (const auto& [b, list] : waiters) {
        if (placed.count(b) != 0) continue;
        std::set<std::int64_t> path;
        out.push_back(build(b, path));
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const LockTree& a, const LockTree& b) { return a.size() > b.size(); });
    return out;
}

}  // namespace ctldb::pg::probe
