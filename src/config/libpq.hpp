// libpq's connection parameters as ctldb passes them: conninfo strings,
// child processes' environments, and the table that maps each setting to
// its libpq keyword and environment variable. No connection is made here.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"

namespace ctldb::config {

/// Quote a value for a libpq conninfo string: 'value' with \ and ' escaped.
std::string conninfo_quote(std::string_view value);

/// A libpq connection parameter ctldb passes: its conninfo keyword (also
/// ctldb's setting key), its environment variable, and its value in a
/// ConnectionSettings ("" when not set). One table for conninfo strings,
/// child processes' environments and DATABASE_URL's parts.
struct LibpqParameter {
    const char* keyword;
    const char* env;
    std::string (*get)(const ConnectionSettings&);
};
const std::vector<LibpqParameter>& libpq_parameters();

/// libpq conninfo for `c`. The password is only included when asked for;
/// child processes get it through the environment or a passfile instead.
std::string conninfo_from(const ConnectionSettings& c, bool include_password,
                          std::string_view application_name = "ctldb");

/// libpq environment variables for a child process (pg_dump, psql): every
/// parameter of `c`, the password included, so nothing goes on argv.
std::vector<std::pair<std::string, std::string>> libpq_environment(
    const ConnectionSettings& c, std::string_view application_name);

/// How a child (pg_dump, pg_restore) connects exactly as ctldb does: one
/// complete connection string (for --dbname; every parameter ctldb uses,
/// never the password), which libpq ranks above a service file and the
/// environment, and an environment with the password (PGPASSWORD) and only
/// the files ctldb itself honours: the service file when ctldb connects
/// through a service (PGSERVICEFILE, PGSYSCONFDIR), PGPASSFILE when no
/// password is configured. Run the child with clear_pg_env, so no other
/// PG* variable (PGSERVICE, PGOPTIONS, PGSSLMODE, ...) reaches it.
struct ChildConnection {
    std::string conninfo;
    std::vector<std::pair<std::string, std::string>> env;
};
ChildConnection child_connection(
    const ConnectionSettings& c, std::string_view application_name,
    const std::function<std::optional<std::string>(const std::string&)>& env);

/// Seconds for libpq's connect_timeout from a millisecond budget: rounded
/// up, at least 2 (libpq's own minimum), 0 stays 0 (wait forever).
int connect_timeout_seconds(int timeout_ms);

}  // namespace ctldb::config
