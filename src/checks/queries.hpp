// The guide's "Slow queries", "Kill slow query" and "Query performance":
// which sessions a listing or a rule selects, and the statements of
// pg_stat_statements. Pure selection for unit tests; one probe for
// pg_stat_statements.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pg/connection.hpp"
#include "pg/probes.hpp"

namespace ctldb::checks::queries {

/// Which sessions by state: busy is every state but idle (active, idle in
/// transaction, aborted transactions, fastpath calls).
enum class State { busy, active, idle_in_transaction, idle, all };

/// "busy", "active", "idle-in-transaction" (or "idle in transaction"),
/// "idle", "all"; nullopt otherwise.
std::optional<State> parse_state(const std::string& text);
const char* state_name(State s);

/// How long a session has been in its state, as the guide's query measures
/// it: an active one since its query started, any other since its state
/// changed (how long a transaction has been left idle). nullopt: hidden.
std::optional<double> duration_seconds(const pg::probe::Session& s);

/// Whether `s` is in state `want`.
bool state_matches(const pg::probe::Session& s, State want);

/// The sessions of `database` ("" for every database) that are in `state`
/// for at least `min_seconds`, ctldb's own left out, longest first
/// (hidden ones last).
std::vector<pg::probe::Session> select(const std::vector<pg::probe::Session>& sessions,
                                       const std::string& database, State state,
                                       double min_seconds);

/// SQL condition on pg_stat_activity `a` that holds while a session still
/// matches (state, at least `min_seconds` in it): a rule is checked again
/// when ctldb signals, so a session that moved on is left alone.
std::string still_matches_sql(State state, double min_seconds);

/// Order of `queries top`.
enum class Order { total, mean, calls };
std::optional<Order> parse_order(const std::string& text);

/// One statement of pg_stat_statements (summed over top-level and nested).
struct Statement {
    std::optional<std::string> queryid;  ///< nullopt: hidden from this role
    std::string user;
    std::int64_t calls = 0, rows = 0;
    double total_ms = 0, mean_ms = 0;
    std::int64_t shared_blks_hit = 0, shared_blks_read = 0;
    std::string query;  ///< "" when hidden
    bool hidden = false;
};

struct Statements {
    std::string version;  ///< the extension's
    std::optional<std::string> reset_at;
    std::vector<Statement> rows;  ///< the top `limit`
    std::int64_t hidden = 0;      ///< rows of other roles this role may not see
};

/// The top `limit` statements of the current database by `order`, read in
/// two steps: the numbers without texts (pg_stat_statements(false)), then
/// the texts of those rows only. Throws Error(failure) with the steps to
/// enable it when the extension is missing or not preloaded.
Statements top(pg::Connection& conn, int limit, Order order);

/// A session `cancel` or `terminate` acts on, and what came of it.
struct SignalTarget {
    std::int64_t pid = 0;
    const pg::probe::Session* session = nullptr;  ///< null: no such client session
    std::string outcome;                          ///< "terminated", "cancelled", "refused", ...
    std::string detail;
    bool ok = false;
};

/// Why `pid` may not be signalled, or "" when it may: no such client
/// session, ctldb's own, or one of another database.
std::string refusal(pg::Connection& conn, std::int64_t pid, const pg::probe::Session* s,
                    const std::string& db);

/// Cancel or terminate `t`'s session if it still matches `rule` (SQL over
/// pg_stat_activity a) and is the same session (backend start); a cancel
/// is followed for 2 s to see whether the query stopped.
void signal_one(pg::Connection& conn, SignalTarget& t, bool terminate, const std::string& rule);

}  // namespace ctldb::checks::queries
