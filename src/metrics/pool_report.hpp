// pool-stats' report, shared with doctor and metrics: what the sessions
// of the server add up to and the guide's pool sizing, rendered as text,
// JSON or Prometheus text. No server needed to build or render one.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "checks/pool.hpp"
#include "pg/probes.hpp"

namespace ctldb::metrics {

/// Connections by state, database, user, application and client; lock
/// waits; the longest query and transaction; the guide's pool sizing.
struct PoolReport {
    std::map<std::string, std::int64_t> states;  ///< active, idle, ...
    std::int64_t hidden = 0;                     ///< other roles' sessions this role may not see
    checks::pool::Capacity capacity;
    nlohmann::json by_database, by_user, by_application, by_client, waiting, by_db_state;
    double longest_query_s = 0, longest_transaction_s = 0;
    std::optional<std::int64_t> longest_query_pid, longest_transaction_pid;
    checks::pool::Sizing sizing;
    std::string taken_at;

    ExitCode code() const { return sizing.ok ? ExitCode::ok : ExitCode::failure; }
    std::string text(bool color) const;
    nlohmann::json json() const;
    std::string prometheus() const;
};

/// The report of the sessions in `a`, sized for `pods` x `pool_max`.
PoolReport pool_report(const pg::probe::Activity& a, std::int64_t pool_max, int pods,
                       int admin_reserve);

}  // namespace ctldb::metrics
