#include "pg/pgtools.hpp"

#include <glob.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "base/error.hpp"
#include "base/process.hpp"

namespace ctldb::pg {

namespace {

constexpr std::string_view kDebianPrefix = "/usr/lib/postgresql/";

/// N of "/usr/lib/postgresql/N/bin"; 0 for anything else.
int debian_major(const std::string& dir) {
    if (dir.rfind(kDebianPrefix, 0) != 0) return 0;
    const std::size_t start = kDebianPrefix.size();
    const auto v = config::parse_integer(dir.substr(start, dir.find('/', start) - start));
    return v ? static_cast<int>(*v) : 0;
}

/// /usr/lib/postgresql/N/bin directories holding `tool`, newest first.
std::vector<std::string> debian_bindirs(const std::string& tool) {
    glob_t g{};
    std::vector<std::pair<std::int64_t, std::string>> found;
    if (::glob("/usr/lib/postgresql/*/bin", 0, nullptr, &g) == 0) {
        for (std::size_t i = 0; i < g.gl_pathc; ++i) {
            std::string d = g.gl_pathv[i];
            const int v = debian_major(d);
            if (v > 0 && ::access((d + "/" + tool).c_str(), X_OK) == 0) found.emplace_back(v, d);
        }
    }
    ::globfree(&g);
    std::sort(found.rbegin(), found.rend());
    std::vector<std::string> out;
    for (auto& f : found)
        out.push_back(f.second);
    return out;
}

bool has_server_binaries(const std::string& bindir) {
    for (const char* tool : {"initdb", "pg_ctl", "postgres"}) {
        if (::access((bindir + "/" + tool).c_str(), X_OK) != 0) return false;
    }
    return true;
}

}  // namespace

std::string find_pg_bindir(const config::EnvLookup& env) {
    if (auto d = env("CTLDB_PG_BINDIR")) {
        if (has_server_binaries(*d)) return *d;
        throw usage_error("CTLDB_PG_BINDIR=" + *d + " has no initdb, pg_ctl and postgres");
    }
    for (const auto& d : debian_bindirs("initdb")) {
        if (has_server_binaries(d)) return d;
    }
    std::string initdb = find_in_path("initdb");
    if (!initdb.empty()) {
        std::string d = initdb.substr(0, initdb.rfind('/'));
        if (has_server_binaries(d)) return d;
    }
    throw usage_error("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found",
                      "install them (apt-get install postgresql-15) or set CTLDB_PG_BINDIR");
}

std::string find_pg_tool(const std::string& name, const config::EnvLookup& env, int server_major) {
    if (auto d = env("CTLDB_PG_BINDIR")) {
        if (::access((*d + "/" + name).c_str(), X_OK) == 0) return *d + "/" + name;
        throw usage_error(name + " not found in CTLDB_PG_BINDIR=" + *d);
    }
    const std::string package =
        "postgresql-client-" +
        (server_major > 0 ? std::to_string(server_major) : std::string("15"));
    // The installation of the server's own major version; else the newest
    // one, which reads older servers; never an older one.
    const auto dirs = debian_bindirs(name);
    for (const auto& d : dirs) {
        if (server_major > 0 && d == "/usr/lib/postgresql/" + std::to_string(server_major) + "/bin")
            return d + "/" + name;
    }
    if (!dirs.empty()) {
        const std::string& newest = dirs.front();
        const int v = debian_major(newest);
        if (server_major <= 0 || v >= server_major) return newest + "/" + name;
        throw usage_error(
            name + " " + std::to_string(v) + " (" + newest + ") is older than the server (" +
                std::to_string(server_major) + ") and cannot serve it",
            "install " + package + " (apt-get install " + package + ") or set CTLDB_PG_BINDIR");
    }
    std::string p = find_in_path(name);
    if (!p.empty()) return p;
    throw usage_error(name + " not found", "install the PostgreSQL client (apt-get install " +
                                               package + ") or set CTLDB_PG_BINDIR");
}

int pg_tool_major_version(const std::string& path, std::string* full_version) {
    ProcessResult r = run_process({path, "--version"});
    if (!r.ok()) return 0;
    // "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
    std::size_t p = r.output.find(") ");
    if (p == std::string::npos) return 0;
    std::string v = r.output.substr(p + 2);
    v = v.substr(0, v.find_first_of(" \n"));
    if (full_version) *full_version = v;
    return std::atoi(v.c_str());
}

}  // namespace ctldb::pg
