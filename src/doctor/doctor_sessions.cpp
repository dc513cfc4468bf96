// doctor's checks of the server's sessions: connections against the
// limits and the pools, long queries and idle transactions, lock trees;
// and of its TLS, roles and extensions.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>

#include "base/text.hpp"
#include "checks/pool.hpp"
#include "doctor/doctor_checks.hpp"
#include "pg/probes.hpp"
#include "roles/roles.hpp"

namespace ctldb::doctor {

namespace {

constexpr const char* kKillHint =
    "end it with SELECT pg_terminate_backend(PID) (the guide's 'Kill slow query'), or "
    "pg_cancel_backend(PID) to stop only the running statement";

std::string who(const pg::probe::Session& s) {
    std::string w = "pid " + std::to_string(s.pid);
    if (!s.user.empty()) w += " (" + s.user;
    if (!s.application.empty()) w += ", " + s.application;
    if (!s.client.empty() && s.client != "local") w += ", from " + s.client;
    if (!s.user.empty()) w += ")";
    return w;
}

std::string excerpt(const std::string& q, std::size_t n = 80) {
    std::string one;
    for (char c : q)
        one += (c == '\n' || c == '\t' || c == '\r') ? ' ' : c;
    if (one.size() > n) one = one.substr(0, n) + "...";
    return one;
}

void note_hidden(Env& e, const pg::probe::Activity& a, const std::string& what) {
    if (a.hidden > 0) {
        e.limit(std::to_string(a.hidden) + " session(s) of other roles hidden: " + what,
                pg::probe::kReadAllStatsGrant);
    }
}

}  // namespace

void check_connections(Env& e) {
    const pg::probe::Activity a = pg::probe::activity(*e.conn);
    checks::pool::Capacity c{a.max_connections, a.superuser_reserved, a.reserved,
                             static_cast<std::int64_t>(a.sessions.size())};
    const Status st = checks::pool::usage_status(c);
    e.out.add("in use", st,
              std::to_string(c.in_use) + " of " + std::to_string(checks::pool::usable(c)) +
                  " connections for ordinary roles (max_connections " +
                  std::to_string(c.max_connections) + ", " + std::to_string(c.superuser_reserved) +
                  " reserved for superusers)",
              st == Status::ok ? ""
                               : "the guide's 'Too many connections': lower DB_POOL_MAX or raise "
                                 "max_connections (ALTER SYSTEM SET max_connections = 200; needs "
                                 "a restart)");
    const checks::pool::Sizing z =
        checks::pool::plan(c, e.cfg.integer("pool_max"), e.o.pods, e.o.admin_reserve);
    e.out.add("pool sizing", z.ok ? Status::ok : Status::fail,
              std::to_string(z.pods) + " pod(s) x DB_POOL_MAX " + std::to_string(z.pool_max) +
                  " = " + std::to_string(z.total) + " of " + std::to_string(z.available) +
                  " available with " + std::to_string(e.o.admin_reserve) + " kept for admin work",
              z.ok ? ""
                   : "the guide's 'Pool Sizing' (" + z.guide + "): DB_POOL_MAX " +
                         std::to_string(z.recommended) + " for " + std::to_string(z.pods) +
                         " pod(s)");
    note_hidden(e, a, "counted in use, their state unknown");
}

void check_sessions(Env& e) {
    const pg::probe::Activity a = pg::probe::activity(*e.conn);
    std::size_t long_queries = 0, idle = 0;
    for (const auto& s : a.sessions) {
        if (s.self || !s.visible) continue;
        if (s.state == "active" && s.query_seconds && *s.query_seconds >= e.o.long_query_s) {
            ++long_queries;
            e.out.add(
                "long query", Status::warn,
                who(s) + " has run for " + human_duration(*s.query_seconds) + ": " +
                    excerpt(s.query),
                std::string("EXPLAIN ANALYZE it (the guide's 'Query Optimization'); ") + kKillHint);
        }
        if ((s.state == "idle in transaction" || s.state == "idle in transaction (aborted)") &&
            s.state_seconds && *s.state_seconds >= e.o.idle_in_transaction_s) {
            ++idle;
            e.out.add("idle in transaction", Status::warn,
                      who(s) + " has been idle in an open transaction for " +
                          human_duration(*s.state_seconds) +
                          " (it holds its locks and keeps vacuum from removing dead rows); last "
                          "statement: " +
                          excerpt(s.query),
                      std::string("fix the client that leaves it open; set "
                                  "idle_in_transaction_session_timeout; ") +
                          kKillHint);
        }
    }
    if (long_queries == 0) {
        e.out.add("long query", Status::ok,
                  "no query running longer than " + human_duration(e.o.long_query_s));
    }
    if (idle == 0) {
        e.out.add("idle in transaction", Status::ok,
                  "no session idle in a transaction longer than " +
                      human_duration(e.o.idle_in_transaction_s));
    }
    note_hidden(e, a, "their queries and transactions are not judged");
}

std::string render_tree(const pg::probe::LockTree& t) {
    std::string out = std::to_string(t.pid);
    if (t.waiters.empty()) return out;
    out += " -> ";
    if (t.waiters.size() == 1) return out + render_tree(t.waiters[0]);
    std::vector<std::string> parts;
    for (const auto& w : t.waiters)
        parts.push_back(render_tree(w));
    return out + "{" + join(parts, ", ") + "}";
}

void check_locks(Env& e) {
    const pg::probe::Activity a = pg::probe::activity(*e.conn);
    std::map<std::int64_t, const pg::probe::Session*> by_pid;
    for (const auto& s : a.sessions)
        by_pid[s.pid] = &s;
    const auto trees = pg::probe::lock_trees(a.sessions);
    for (const auto& t : trees) {
        // The longest wait in the tree decides its severity.
        double longest = 0;
        std::function<void(const pg::probe::LockTree&)> walk = [&](const pg::probe::LockTree& n) {
            for (const auto& w : n.waiters) {
                auto it = by_pid.find(w.pid);
                if (it != by_pid.end() && it->second->state_seconds)
                    longest = std::max(longest, *it->second->state_seconds);
                walk(w);
            }
        };
        walk(t);
        auto root = by_pid.find(t.pid);
        std::string blocker = "pid " + std::to_string(t.pid);
        if (root != by_pid.end()) {
            const pg::probe::Session& s = *root->second;
            blocker = who(s);
            if (!s.state.empty()) blocker += ", " + s.state;
            if (s.xact_seconds)
                blocker += ", in a transaction for " + human_duration(*s.xact_seconds);
            if (!s.query.empty()) blocker += ", last statement: " + excerpt(s.query, 60);
        }
        e.out.add("lock tree", longest >= e.o.lock_wait_s ? Status::fail : Status::warn,
                  blocker + " blocks " + std::to_string(t.size() - 1) + " session(s), " +
                      std::to_string(t.depth()) + " deep, the longest waiting " +
                      human_duration(longest) + ": " + render_tree(t),
                  "end the blocker first (the root of the tree): " + std::string(kKillHint));
    }
    if (trees.empty()) e.out.add("lock tree", Status::ok, "no session waits for a lock");
    note_hidden(e, a, "waits among them are seen, their queries are not");
}

void check_tls(Env& e) {
    config::ConnectionSettings cs = e.cfg.connection();
    tls::TlsCheckOptions to = e.o.tls;
    to.warning_fails = false;
    if (to.ca_file.empty()) to.ca_file = cs.sslrootcert;
    const tls::TlsReport rep = tls::check_tls(*e.conn, cs.host, cs.sslmode, to);
    // What the role may not read is a limitation, not a finding.
    std::vector<std::string> unreadable;
    for (const auto& st : rep.server) {
        if (st.value) continue;
        unreadable.push_back(st.name == "ssl" ? "server ssl" : "server min protocol");
        e.limit("setting " + st.name + " not visible", pg::probe::kReadAllSettingsGrant);
    }
    if (!rep.non_tls.count) {
        unreadable.push_back("non-ssl clients");
        e.limit("non-TLS clients among other roles' sessions", pg::probe::kReadAllStatsGrant);
    }
    // Over a Unix socket (kubectl exec into the server's pod) TLS does not
    // apply: that is not a failure of the server's TLS.
    const bool socket = !rep.session.in_use && !cs.host.empty() && cs.host[0] == '/';
    for (const auto& f : rep.findings.items()) {
        if (std::find(unreadable.begin(), unreadable.end(), f.name) != unreadable.end()) continue;
        Finding g = f;
        g.check = e.check;
        if (socket && g.name == "tls") g.status = Status::info;
        e.out.add(std::move(g));
    }
}

void check_security(Env& e) {
    const pg::probe::RoleFacts r = pg::probe::role(*e.conn);
    Findings f =
        roles::least_privilege(r, roles::rotated_at(*e.conn, r.name), false, utc_now_iso8601());
    for (Finding g : f.items()) {
        g.check = e.check;
        e.out.add(std::move(g));
    }
    const auto logging = pg::probe::settings(*e.conn, {"log_statement", "log_duration"});
    std::vector<std::string> off;
    for (const auto& st : logging) {
        if (!st.value) {
            e.limit("setting " + st.name + " not visible", pg::probe::kReadAllSettingsGrant);
            continue;
        }
        const char* want = st.name == "log_statement" ? "all" : "on";
        if (*st.value != want) off.push_back(st.name + " = " + *st.value);
    }
    if (!off.empty()) {
        e.out.add("audit logging", Status::info,
                  join(off, ", ") +
                      " (the guide's audit logging wants log_statement = 'all', "
                      "log_duration = on)",
                  "the guide's 'Audit Logging': ALTER SYSTEM SET log_statement = 'all'; ALTER "
                  "SYSTEM SET log_duration = on; SELECT pg_reload_conf()");
    } else if (logging.size() == 2 && logging[0].value && logging[1].value) {
        e.out.add("audit logging", Status::ok, "log_statement = all, log_duration = on");
    }
}

void check_extensions(Env& e) {
    const auto v = pg::probe::extension_version(*e.conn, "pg_stat_statements");
    if (v) {
        e.out.add("pg_stat_statements", Status::ok, "installed, version " + *v);
        return;
    }
    const auto preload = pg::probe::settings(*e.conn, {"shared_preload_libraries"});
    if (!preload[0].value)
        e.limit("setting shared_preload_libraries not visible", pg::probe::kReadAllSettingsGrant);
    const bool loaded = preload[0].value && contains(*preload[0].value, "pg_stat_statements");
    e.out.add("pg_stat_statements", Status::info,
              std::string("not installed in this database") +
                  (loaded ? " (the library is preloaded)" : ""),
              loaded ? "CREATE EXTENSION pg_stat_statements; (needs a superuser or the database "
                       "owner) for slow-query statistics"
                     : "add pg_stat_statements to shared_preload_libraries (restart), then CREATE "
                       "EXTENSION pg_stat_statements; for slow-query statistics");
}

}  // namespace ctldb::doctor
