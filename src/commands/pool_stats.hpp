// ctldb pool-stats: its options and the run function; the result
// (PoolReport) is in the core, shared with doctor and metrics.
#pragma once

#include "cli/context.hpp"
#include "metrics/pool_report.hpp"

namespace ctldb::commands {

struct PoolOptions {
    int pods = 1;
    int watch = 0;
    int admin_reserve = 15;
};

/// One snapshot with the configured connection.
metrics::PoolReport run_pool_stats(const PoolOptions& o, Context& ctx);

}  // namespace ctldb::commands
