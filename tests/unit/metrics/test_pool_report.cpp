#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "base/text.hpp"
#include "checks/pool.hpp"
#include "metrics/pool_report.hpp"

using namespace ctldb;
using namespace ctldb::checks;
using namespace ctldb::metrics;

TEST_CASE("pool-stats' report renders as text, JSON and Prometheus text without a server") {
    pg::probe::Activity a;
    a.max_connections = 20;
    a.superuser_reserved = 3;
    pg::probe::Session self, active, idle_tx, waiting, hidden;
    self.pid = 1;
    self.self = true;
    self.state = "active";
    active.pid = 2;
    active.state = "active";
    active.database = "app";
    active.user = "appuser";
    active.application = "api";
    active.client = "10.0.0.7";
    active.query_seconds = 42;
    active.xact_seconds = 43;
    idle_tx.pid = 3;
    idle_tx.state = "idle in transaction";
    idle_tx.database = "app";
    idle_tx.xact_seconds = 90;
    waiting.pid = 4;
    waiting.state = "active";
    waiting.database = "app";
    waiting.wait_event_type = "Lock";
    waiting.wait_event = "relation";
    waiting.blocked_by = {3};
    waiting.state_seconds = 12;
    waiting.query = "UPDATE t SET x = 1";
    hidden.pid = 5;
    hidden.visible = false;
    hidden.database = "app";
    a.sessions = {self, active, idle_tx, waiting, hidden};
    a.hidden = 1;
    // 17 usable, 15 kept for admin work: 2 for 1 pod x 10 does not fit.
    const PoolReport r = pool_report(a, 10, 1, 15);
    CHECK(r.capacity.in_use == 5);
    CHECK(r.hidden == 1);
    CHECK(r.code() == ExitCode::failure);
    CHECK(r.longest_transaction_pid == 3);
    CHECK(r.longest_query_pid == 2);
    const auto j = r.json();
    CHECK(j["idle_in_transaction"] == 1);
    CHECK(j["active"] == 2);
    CHECK(j["waiting_on_locks"][0]["blocked_by"] == nlohmann::json::array({3}));
    CHECK(j["longest_transaction_seconds"] == 90.0);
    CHECK(j["pool"]["ok"] == false);
    const std::string text = r.text(false);
    CHECK(text.find("OVERSUBSCRIBED") != std::string::npos);
    CHECK(text.find("WAITING PID") != std::string::npos);
    const std::string prom = r.prometheus();
    CHECK(prom.find("ctldb_connections_hidden 1") != std::string::npos);
    CHECK(prom.find("pg_stat_activity_count{datname=\"app\",state=\"idle in transaction\"} 1") !=
          std::string::npos);
}
