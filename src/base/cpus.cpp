#include "base/cpus.hpp"

#include <sched.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace ctldb {

namespace {

std::optional<std::string> read_small(const std::string& path) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::optional<long long> read_number(const std::string& path) {
    const auto text = read_small(path);
    if (!text) return std::nullopt;
    char* end = nullptr;
    const long long v = std::strtoll(text->c_str(), &end, 10);
    if (end == text->c_str()) return std::nullopt;
    return v;
}

/// `path` and each of its parents up to the mount's root: a limit set on
/// an ancestor (the pod) applies to every cgroup under it (the container).
/// Inside a cgroup namespace the path is "/" already.
template <typename F>
void each_level(const std::string& mount, std::string path, F&& f) {
    for (;;) {
        f(mount + (path == "/" ? std::string() : path));
        if (path.empty() || path == "/") return;
        const auto slash = path.rfind('/');
        path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
    }
}

}  // namespace

std::optional<double> cpu_max_cpus(std::string_view text) {
    std::istringstream in{std::string(text)};
    std::string quota;
    long long period = 0;
    if (!(in >> quota >> period) || quota == "max" || period <= 0) return std::nullopt;
    char* end = nullptr;
    const long long q = std::strtoll(quota.c_str(), &end, 10);
    if (end == quota.c_str() || *end != '\0' || q <= 0) return std::nullopt;
    return static_cast<double>(q) / static_cast<double>(period);
}

std::optional<std::string> cgroup_path(std::string_view proc_cgroup, std::string_view controller) {
    std::istringstream in{std::string(proc_cgroup)};
    std::string line;
    while (std::getline(in, line)) {
        // hierarchy-ID:controller-list:path
        const auto a = line.find(':');
        const auto b = a == std::string::npos ? a : line.find(':', a + 1);
        if (b == std::string::npos) continue;
        const std::string list = line.substr(a + 1, b - a - 1);
        bool match = controller.empty() ? list.empty() && line.substr(0, a) == "0" : false;
        if (!controller.empty()) {
            std::istringstream names(list);
            std::string name;
            while (std::getline(names, name, ','))
                match = match || name == controller;
        }
        if (match) return line.substr(b + 1);
    }
    return std::nullopt;
}

CpuBudget available_cpus() {
    CpuBudget b;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) == 0) {
        b.cpus = CPU_COUNT(&set);
        b.source = "cpu affinity";
    } else {
        b.cpus = static_cast<int>(std::thread::hardware_concurrency());
        b.source = "cores";
    }
    double limit = 0;
    std::string limit_source;
    auto lower = [&](double cpus, const char* source) {
        if (cpus > 0 && (limit == 0 || cpus < limit)) {
            limit = cpus;
            limit_source = source;
        }
    };
    const auto self = read_small("/proc/self/cgroup");
    if (self) {
        if (const auto v1 = cgroup_path(*self, "cpu")) {
            for (const char* mount : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"}) {
                each_level(mount, *v1, [&](const std::string& dir) {
                    const auto quota = read_number(dir + "/cpu.cfs_quota_us");
                    const auto period = read_number(dir + "/cpu.cfs_period_us");
                    if (quota && period && *quota > 0 && *period > 0) {
                        lower(static_cast<double>(*quota) / static_cast<double>(*period),
                              "cgroup v1 cpu.cfs_quota_us");
                    }
                });
            }
        }
        if (const auto v2 = cgroup_path(*self, "")) {
            each_level("/sys/fs/cgroup", *v2, [&](const std::string& dir) {
                if (const auto text = read_small(dir + "/cpu.max")) {
                    if (const auto cpus = cpu_max_cpus(*text)) lower(*cpus, "cgroup v2 cpu.max");
                }
            });
        }
    }
    if (limit > 0) {
        const int quota_cpus = static_cast<int>(std::ceil(limit - 1e-9));
        if (quota_cpus < b.cpus) {
            b.cpus = quota_cpus;
            b.source = limit_source;
        }
    }
    if (b.cpus < 1) b.cpus = 1;
    return b;
}

}  // namespace ctldb
