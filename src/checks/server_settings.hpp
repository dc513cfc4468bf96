// The server settings the guide prescribes through ALTER SYSTEM: TLS
// (ssl, its files, the minimum protocol), autovacuum, max_connections
// against the pools, audit logging and SCRAM passwords. Which differ, and
// why; pure, so the decisions are unit-tested without a server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/findings.hpp"
#include "pg/probes.hpp"

namespace ctldb::checks::server_settings {

/// The guide's settings, in the order they are shown.
const std::vector<std::string>& names();

struct Options {
    int pods = 1;
    int admin_reserve = 15;
    std::int64_t pool_max = 50;
    /// New ssl_cert_file / ssl_key_file; empty: keep the current ones.
    std::string ssl_cert_file, ssl_key_file;
};

/// One guide setting against the server's value.
struct Item {
    std::string name;
    std::string guide;  ///< the guide's section that prescribes it
    std::string want;   ///< the value ALTER SYSTEM would set ("" nothing to set)
    pg::probe::Setting current;
    Status status = Status::ok;
    std::string message;
    bool differs = false;   ///< apply sets `want`
    bool at_least = false;  ///< `want` is a minimum (max_connections, TLS version)
    bool restart() const { return current.context == "postmaster"; }
};

/// Every guide setting (`current` holds names(), as pg::probe::settings reads
/// them); `superuser_reserved` from the server, for max_connections.
std::vector<Item> evaluate(const std::vector<pg::probe::Setting>& current, const Options& o,
                           std::int64_t superuser_reserved);

/// The value as pg_settings shows it, with its unit ("60s", "8MB").
std::string shown(const pg::probe::Setting& s);

/// Why the server could not start with TLS on and these files; "" when it
/// can. The files are read by the server (superuser or
/// pg_read_server_files), as it would read them at start.
std::string tls_files_problem(pg::Connection& conn, const std::string& cert,
                              const std::string& key);

/// Throws (the missing grants as details) when the connected role may not
/// ALTER SYSTEM these settings and reload.
void check_may_apply(pg::Connection& conn, const std::vector<const Item*>& todo);

/// The statement that sets `i` to what the guide wants.
std::string alter_system(const Item& i);

/// apply()'s statements as the question shows them, one indented line each
/// (a restart noted).
std::string apply_plan(const std::vector<const Item*>& todo);

/// ALTER SYSTEM each, then pg_reload_conf().
void apply(pg::Connection& conn, const std::vector<const Item*>& todo);

}  // namespace ctldb::checks::server_settings
