#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "checks/queries.hpp"
#include "pg/probes.hpp"

using namespace ctldb;
using namespace ctldb::checks;
using namespace ctldb::pg;

TEST_CASE("queries: which sessions a listing or a rule selects, longest first") {
    auto session = [](std::int64_t pid, const char* state, double q, double st) {
        pg::probe::Session s;
        s.pid = pid;
        s.database = "app";
        s.state = state;
        s.query_seconds = q;
        s.state_seconds = st;
        return s;
    };
    std::vector<pg::probe::Session> all = {
        session(1, "active", 5, 5),                   // running 5 s
        session(2, "idle in transaction", 900, 600),  // idle for 10 min
        session(3, "idle", 3000, 3000),
        session(4, "active", 50, 50),
        session(5, "active", 100, 100),
    };
    all[4].self = true;  // ctldb's own: never listed, never selected
    pg::probe::Session other = session(6, "active", 1000, 1000);
    other.database = "another";
    all.push_back(other);
    pg::probe::Session hidden;
    hidden.pid = 7;
    hidden.database = "app";
    hidden.visible = false;
    all.push_back(hidden);

    auto pids = [](const std::vector<pg::probe::Session>& v) {
        std::vector<std::int64_t> out;
        for (const auto& s : v)
            out.push_back(s.pid);
        return out;
    };
    using checks::queries::State;
    // Busy: all but idle; an idle transaction counts from its state change.
    CHECK(pids(checks::queries::select(all, "app", State::busy, 0)) ==
          std::vector<std::int64_t>{2, 4, 1});
    CHECK(pids(checks::queries::select(all, "app", State::active, 10)) ==
          std::vector<std::int64_t>{4});
    CHECK(pids(checks::queries::select(all, "app", State::idle_in_transaction, 601)).empty());
    CHECK(pids(checks::queries::select(all, "", State::active, 0)) ==
          std::vector<std::int64_t>{6, 4, 1});
    // all includes hidden sessions, last.
    CHECK(pids(checks::queries::select(all, "app", State::all, 0)) ==
          std::vector<std::int64_t>{3, 2, 4, 1, 7});

    CHECK(checks::queries::parse_state("idle-in-transaction") == State::idle_in_transaction);
    CHECK(checks::queries::parse_state("idle in transaction") == State::idle_in_transaction);
    CHECK_FALSE(checks::queries::parse_state("running"));
    CHECK_FALSE(checks::queries::parse_order("fastest"));
    // The rule is checked again when signalling, with the same clock.
    const std::string rule = checks::queries::still_matches_sql(State::idle_in_transaction, 600);
    CHECK(rule.find("a.state = 'idle in transaction'") != std::string::npos);
    CHECK(rule.find(">= 600.000") != std::string::npos);
    CHECK(checks::queries::still_matches_sql(State::all, 0) == "true");
}
