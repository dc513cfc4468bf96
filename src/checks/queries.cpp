#include "checks/queries.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>

#include <chrono>
#include <thread>

#include "base/enum_names.hpp"
#include "base/output.hpp"
#include "base/text.hpp"
#include "pg/sqlstate.hpp"

namespace ctldb::checks::queries {

namespace {
constexpr EnumName<State> kStateNames[] = {{State::busy, "busy"},
                                           {State::active, "active"},
                                           {State::idle_in_transaction, "idle-in-transaction"},
                                           {State::idle, "idle"},
                                           {State::all, "all"}};
}  // namespace

std::optional<State> parse_state(const std::string& text) {
    if (text == "idle in transaction") return State::idle_in_transaction;
    return value_of(kStateNames, text);
}

const char* state_name(State s) {
    return name_of(kStateNames, s, "?");
}

std::optional<double> duration_seconds(const pg::probe::Session& s) {
    if (!s.visible) return std::nullopt;
    return s.state == "active" ? s.query_seconds : s.state_seconds;
}

bool state_matches(const pg::probe::Session& s, State want) {
    switch (want) {
        case State::all:
            return true;
        case State::busy:
            return s.visible && !s.state.empty() && s.state != "idle";
        case State::active:
            return s.state == "active";
        case State::idle_in_transaction:
            return s.state == "idle in transaction";
        case State::idle:
            return s.state == "idle";
    }
    return false;
}

std::vector<pg::probe::Session> select(const std::vector<pg::probe::Session>& sessions,
                                       const std::string& database, State state,
                                       double min_seconds) {
    std::vector<pg::probe::Session> out;
    for (const auto& s : sessions) {
        if (s.self || (!database.empty() && s.database != database)) continue;
        if (!state_matches(s, state)) continue;
        if (min_seconds > 0 && duration_seconds(s).value_or(0) < min_seconds) continue;
        out.push_back(s);
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const pg::probe::Session& a, const pg::probe::Session& b) {
                         return duration_seconds(a).value_or(-1) > duration_seconds(b).value_or(-1);
                     });
    return out;
}

std::string still_matches_sql(State state, double min_seconds) {
    std::string cond;
    switch (state) {
        case State::all:
            cond = "true";
            break;
        case State::busy:
            cond = "a.state <> 'idle'";
            break;
        case State::active:
            cond = "a.state = 'active'";
            break;
        case State::idle_in_transaction:
            cond = "a.state = 'idle in transaction'";
            break;
        case State::idle:
            cond = "a.state = 'idle'";
            break;
    }
    if (min_seconds > 0) {
        char secs[64];
        std::snprintf(secs, sizeof secs, "%.3f", min_seconds);
        cond += std::string(
                    " AND extract(epoch FROM clock_timestamp() - CASE WHEN a.state = "
                    "'active' THEN a.query_start ELSE a.state_change END) >= ") +
                secs;
    }
    return cond;
}

std::optional<Order> parse_order(const std::string& text) {
    if (text == "total") return Order::total;
    if (text == "mean") return Order::mean;
    if (text == "calls") return Order::calls;
    return std::nullopt;
}

namespace {

constexpr const char* kEnable =
    "add pg_stat_statements to shared_preload_libraries (ALTER SYSTEM SET "
    "shared_preload_libraries = 'pg_stat_statements'; then restart the server), then CREATE "
    "EXTENSION pg_stat_statements; in this database as its owner";

/// The schema-qualified name of the extension's function, or an error that
/// says how to install it.
std::string stat_function(pg::Connection& conn, std::string& version) {
    pg::QueryResult r = exec(conn,
                             "SELECT quote_ident(n.nspname), e.extversion, current_database() FROM "
                             "pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE "
                             "e.extname = 'pg_stat_statements'");
    if (r.rows() == 0) {
        const std::string db = pg::probe::current_database(conn);
        throw failure("pg_stat_statements is not installed in database " + db, kEnable);
    }
    version = r.get(0, 1);
    return r.get(0, 0) + ".pg_stat_statements";
}

const char* order_sql(Order o) {
    switch (o) {
        case Order::total:
            return "sum(total_exec_time)";
        case Order::mean:
            return "sum(total_exec_time) / greatest(sum(calls), 1)";
        case Order::calls:
            return "sum(calls)";
    }
    return "1";
}

pg::QueryResult numbers(pg::Connection& conn, const std::string& fn, int limit, Order order) {
    const std::string db =
        "dbid = (SELECT oid FROM pg_database WHERE datname = current_database())";
    try {
        return exec(conn,
                    "SELECT queryid::text, userid::regrole::text, sum(calls)::bigint, "
                    "sum(total_exec_time)::float8, sum(rows)::bigint, "
                    "sum(shared_blks_hit)::bigint, sum(shared_blks_read)::bigint, "
                    "userid::oid::bigint, (SELECT count(*) FROM " +
                        fn + "(false) WHERE " + db + " AND queryid IS NULL) FROM " + fn +
                        "(false) WHERE " + db +
                        " AND queryid IS NOT NULL GROUP BY queryid, userid ORDER BY " +
                        order_sql(order) + " DESC LIMIT " + std::to_string(limit));
    } catch (const pg::SqlError& e) {
        // 55000: the library is not in shared_preload_libraries.
        if (e.server().sqlstate == pg::sqlstate::object_not_in_prerequisite_state)
            throw failure("pg_stat_statements is installed but not loaded: " + e.server().message,
                          kEnable);
        throw;
    }
}

}  // namespace

Statements top(pg::Connection& conn, int limit, Order order) {
    Statements out;
    const std::string fn = stat_function(conn, out.version);
    pg::QueryResult r = numbers(conn, fn, limit, order);
    std::string ids = "{";
    for (int i = 0; i < r.rows(); ++i) {
        Statement s;
        s.queryid = r.get(i, 0);
        s.user = r.get(i, 1);
        s.calls = r.get_int(i, 2);
        s.total_ms = std::atof(r.get(i, 3).c_str());
        s.mean_ms = s.calls > 0 ? s.total_ms / static_cast<double>(s.calls) : 0;
        s.rows = r.get_int(i, 4);
        s.shared_blks_hit = r.get_int(i, 5);
        s.shared_blks_read = r.get_int(i, 6);
        out.hidden = r.get_int(i, 8);
        ids += (i > 0 ? "," : "") + *s.queryid;
        out.rows.push_back(std::move(s));
    }
    ids += "}";
    if (r.rows() == 0) {
        out.hidden = exec(conn, "SELECT count(*) FROM " + fn +
                                    "(false) WHERE queryid IS NULL AND dbid = (SELECT oid FROM "
                                    "pg_database WHERE datname = current_database())")
                         .get_int(0, 0);
    } else {
        // The texts of the rows shown only (the function still reads the
        // text file once, but nothing of the other rows is sent).
        pg::QueryResult t =
            exec(conn,
                 "SELECT DISTINCT ON (queryid, userid) queryid::text, "
                 "userid::regrole::text, query FROM " +
                     fn +
                     "(true) WHERE dbid = (SELECT oid FROM pg_database WHERE datname "
                     "= current_database()) AND queryid = ANY($1::bigint[])",
                 {ids});
        std::map<std::pair<std::string, std::string>, std::string> text;
        for (int i = 0; i < t.rows(); ++i)
            text[{t.get(i, 0), t.get(i, 1)}] = t.get(i, 2);
        for (auto& s : out.rows) {
            auto it = text.find({*s.queryid, s.user});
            if (it != text.end()) s.query = it->second;
        }
    }
    pg::QueryResult info =
        exec(conn, "SELECT " + pg::probe::iso_utc("stats_reset") + " FROM " + fn + "_info");
    if (info.rows() > 0) out.reset_at = info.get_optional(0, 0);
    return out;
}

std::string refusal(pg::Connection& conn, std::int64_t pid, const pg::probe::Session* s,
                    const std::string& db) {
    if (s == nullptr) {
        pg::QueryResult r = exec(conn,
                                 "SELECT coalesce(backend_type, 'a session of another role') FROM "
                                 "pg_stat_activity WHERE pid = $1",
                                 {std::to_string(pid)});
        if (r.rows() == 0) return "no such session on this server";
        return "not a client session (" + r.get(0, 0) + ")";
    }
    if (s->self) return "ctldb's own session";
    if (s->database != db) {
        return "connected to database " + printable(s->database) + ", not " + printable(db) +
               " (ctldb acts on its own database only)";
    }
    return "";
}

void signal_one(pg::Connection& conn, SignalTarget& t, bool terminate, const std::string& rule) {
    const pg::probe::Session& s = *t.session;
    const std::string fn =
        terminate ? "pg_terminate_backend(a.pid, 5000)" : "pg_cancel_backend(a.pid)";
    try {
        pg::QueryResult r =
            exec(conn,
                 "SELECT " + fn + " FROM pg_stat_activity a WHERE a.pid = $1 AND " +
                     pg::probe::iso_utc("a.backend_start") + " IS NOT DISTINCT FROM $2 AND " + rule,
                 {std::to_string(t.pid), s.backend_start});
        if (r.rows() == 0) {
            t.outcome = "gone";
            t.detail = "the session ended or no longer matches; left alone";
            t.ok = true;
            return;
        }
        if (r.get(0, 0) != "t") {
            t.outcome = "not signalled";
            t.detail = terminate ? "still running 5 s after the signal" : "the server refused";
            return;
        }
    } catch (const pg::SqlError& e) {
        t.outcome = "not permitted";
        t.detail = e.server().message +
                   (e.server().sqlstate == pg::sqlstate::insufficient_privilege
                        ? " (a role may signal its own sessions and, with pg_signal_backend, "
                          "those of other non-superusers)"
                        : "");
        return;
    }
    t.ok = true;
    if (terminate) {
        t.outcome = "terminated";
        return;
    }
    // A cancel is a request: see whether the query stopped. (Another
    // role's session, whose backend start this role may not see, is
    // matched by pid alone: the server still checks the permission.)
    t.outcome = "cancel sent";
    if (!s.visible) {
        t.detail = "whether its query stopped is not visible to this role";
        return;
    }
    if (s.state != "active") {
        t.detail = "it was " + s.state +
                   ", running no query: a cancel does not end its transaction (terminate does)";
        return;
    }
    t.detail = "the query was still running 2 s later";
    for (int i = 0; i < 20; ++i) {
        pg::QueryResult r =
            exec(conn,
                 "SELECT state <> 'active' OR " + pg::probe::iso_utc("query_start") +
                     " IS DISTINCT FROM $2 FROM pg_stat_activity WHERE pid = $1",
                 {std::to_string(t.pid), s.query_start.value_or("")});
        if (r.rows() == 0 || r.get(0, 0) == "t") {
            t.outcome = "cancelled";
            t.detail.clear();
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

}  // namespace ctldb::checks::queries
