// How many CPUs this process may really use: a pod's CPU limit is a cgroup
// quota, while the machine's core count is the node's. Parallel defaults
// (backup --jobs) follow the smaller.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ctldb {

struct CpuBudget {
    int cpus = 1;        ///< at least 1
    std::string source;  ///< "cgroup v2 cpu.max", "cgroup v1 cpu.cfs_quota_us", "cpu affinity"
};

/// The CPUs available: the affinity mask's count, lowered by a cgroup CPU
/// quota (v2 cpu.max, v1 cpu.cfs_quota_us / cpu.cfs_period_us) of this
/// process's cgroup or any ancestor, rounded up to whole CPUs.
CpuBudget available_cpus();

/// The CPUs of a cgroup v2 cpu.max text ("max 100000", "150000 100000"):
/// nullopt when unlimited or unreadable.
std::optional<double> cpu_max_cpus(std::string_view text);

/// The cgroup path of `controller` ("cpu" in v1, "" for the v2 line) in a
/// /proc/self/cgroup text; nullopt when absent.
std::optional<std::string> cgroup_path(std::string_view proc_cgroup, std::string_view controller);

}  // namespace ctldb
