// Reads of the server's catalog and statistics that any command can reuse,
// made to work for the least-privileged role: what the role may not read
// is reported as such (with the grant that would allow it), never as an
// error that ends the whole command. Probes know nothing of output.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ctldb/connection.hpp"

namespace ctldb::probe {

/// The grant that lets a role read every setting.
constexpr const char* kReadAllSettingsGrant = "pg_read_all_settings (or pg_monitor)";

/// A server setting as the connected role sees it.
struct Setting {
    std::string name;
    std::optional<std::string> value;  ///< nullopt: hidden from this role
    /// Why the value is missing ("not visible to role x: needs ..."), or "".
    std::string unreadable;
};

/// The values of `names`, in that order. Settings PostgreSQL shows only to
/// superusers and pg_read_all_settings (ssl_min_protocol_version, the
/// ssl_*_file paths, ...) come back without a value and with the grant
/// named, instead of the "must be superuser" error SHOW raises.
std::vector<Setting> settings(Connection& conn, const std::vector<std::string>& names);

}  // namespace ctldb::probe
