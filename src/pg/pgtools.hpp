// Finding PostgreSQL's programs (initdb, pg_ctl, pg_dump, psql, ...) and
// their versions.
#pragma once

#include <string>

#include "config/config.hpp"

namespace ctldb::pg {

/// The directory with the server programs: CTLDB_PG_BINDIR, else the
/// newest /usr/lib/postgresql/N/bin, else the directory of `initdb` on PATH.
/// Throws Error(usage) with the package to install when none is found.
std::string find_pg_bindir(const config::EnvLookup& env);

/// Full path of a client program (pg_dump, pg_restore, psql): CTLDB_PG_BINDIR;
/// else /usr/lib/postgresql/<server_major>/bin (Debian's layout, not the
/// pg_wrapper scripts on PATH), else the newest installed one when it is
/// not older than the server; else PATH (images without that layout).
/// `server_major` 0: unknown, the newest. Throws Error(usage) naming the
/// package to install.
std::string find_pg_tool(const std::string& name, const config::EnvLookup& env,
                         int server_major = 0);

/// Major version of a PostgreSQL program from `prog --version`
/// ("pg_dump (PostgreSQL) 15.18" -> 15), 0 when unknown.
int pg_tool_major_version(const std::string& path, std::string* full_version = nullptr);

}  // namespace ctldb::pg
