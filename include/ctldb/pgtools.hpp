// Finding PostgreSQL's programs (initdb, pg_ctl, pg_dump, psql, ...) and
// their versions.
#pragma once

#include <string>

#include "ctldb/config.hpp"

namespace ctldb {

/// The directory with the server programs: CTLDB_PG_BINDIR, else the
/// newest /usr/lib/postgresql/N/bin, else the directory of `initdb` on PATH.
/// Throws Error(usage) with the package to install when none is found.
std::string find_pg_bindir(const EnvLookup& env);

/// Full path of a client program (pg_dump, pg_restore, psql): CTLDB_PG_BINDIR,
/// the newest /usr/lib/postgresql/N/bin, then PATH (the postgres image).
/// Throws Error(usage) when it is missing.
std::string find_pg_tool(const std::string& name, const EnvLookup& env);

/// Major version of a PostgreSQL program from `prog --version`
/// ("pg_dump (PostgreSQL) 15.18" -> 15), 0 when unknown.
int pg_tool_major_version(const std::string& path, std::string* full_version = nullptr);

}  // namespace ctldb
