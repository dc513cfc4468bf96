// The guide's pool sizing and connection headroom: decisions on numbers,
// no server needed (pool-stats, doctor and metrics share them).
#pragma once

#include <cstdint>
#include <string>

#include "base/findings.hpp"

namespace ctldb::checks::pool {

/// The server's limits and what is in use now.
struct Capacity {
    std::int64_t max_connections = 0;
    std::int64_t superuser_reserved = 0;
    std::int64_t reserved = 0;  ///< reserved_connections (PostgreSQL 16+)
    std::int64_t in_use = 0;    ///< client connections, this one included
};

/// The guide: total = pods x DB_POOL_MAX must fit in max_connections minus
/// the reserved slots and 10-20 kept for admin work; per-pod sizes 50
/// (1-2 pods), 20-30 (3-5), 10-20 (more).
struct Sizing {
    std::int64_t pool_max = 0, pods = 0, total = 0;
    std::int64_t available = 0;  ///< what the pools may use
    std::int64_t headroom = 0;   ///< free slots for ordinary roles now
    std::int64_t recommended = 0;
    bool ok = false;
    std::string guide;
};
Sizing plan(const Capacity& c, std::int64_t pool_max, int pods, int admin_reserve);

/// Slots ordinary (non-superuser) roles may take: max_connections minus
/// the reserved ones.
std::int64_t usable(const Capacity& c);

/// Connections in use against usable(): warn from 80 %, fail from 95 %.
Status usage_status(const Capacity& c);

/// The grant that lets `user` see every session: GRANT pg_monitor TO user.
std::string monitor_grant(const std::string& user);

}  // namespace ctldb::checks::pool
