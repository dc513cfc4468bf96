#include "checks/pool.hpp"

#include <algorithm>

namespace ctldb::checks::pool {

std::int64_t usable(const Capacity& c) {
    return c.max_connections - c.superuser_reserved - c.reserved;
}

Sizing plan(const Capacity& c, std::int64_t pool_max, int pods, int admin_reserve) {
    Sizing z;
    z.pool_max = pool_max;
    z.pods = pods;
    z.total = pool_max * pods;
    z.available = usable(c) - admin_reserve;
    z.headroom = usable(c) - c.in_use;
    const std::int64_t guide_max = pods <= 2 ? 50 : (pods <= 5 ? 30 : 20);
    z.guide = pods <= 2 ? "50 per pod (1-2 pods)"
                        : (pods <= 5 ? "20-30 per pod (3-5 pods)" : "10-20 per pod (5+ pods)");
    const std::int64_t fit = z.available > 0 && pods > 0 ? z.available / pods : 0;
    z.recommended = std::max<std::int64_t>(1, std::min(guide_max, fit));
    z.ok = z.total <= z.available;
    return z;
}

Status usage_status(const Capacity& c) {
    const std::int64_t slots = usable(c);
    if (slots <= 0) return Status::fail;
    if (c.in_use * 100 >= slots * 95) return Status::fail;
    if (c.in_use * 100 >= slots * 80) return Status::warn;
    return Status::ok;
}

std::string monitor_grant(const std::string& user) {
    return "GRANT pg_monitor TO " + user;
}

}  // namespace ctldb::checks::pool
