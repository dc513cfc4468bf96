// Vacuuming: the tables a run covers (resolved against the catalog before
// anything runs), the statement, and one table's VACUUM or ANALYZE with its
// dead tuples before and after. The command runs them in parallel.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pg/connection.hpp"

namespace ctldb::maintenance {

/// A table to vacuum.
struct VacuumTarget {
    std::string name;  // quoted, schema-qualified
    std::int64_t oid = 0;
    std::int64_t bytes = 0;
    bool may = true;  // owner, database owner or superuser: VACUUM skips others
    bool partitioned = false;
};

/// What came of one table.
struct VacuumResult {
    std::string table;
    std::int64_t dead_before = 0, dead_after = 0;
    double seconds = 0;
    std::string error;    // counts as a failure
    std::string skipped;  // passed by as asked (--skip-locked): not a failure
};

/// Resolve --table names against the catalog before anything runs (all
/// user tables, biggest first, when `names` is empty): an unknown or
/// malformed name is a usage error, and names are used only quoted.
std::vector<VacuumTarget> resolve_targets(pg::Connection& conn,
                                          const std::vector<std::string>& names);

/// "VACUUM (ANALYZE)", "VACUUM (FULL, ANALYZE)", "ANALYZE", each with
/// SKIP_LOCKED when asked.
std::string vacuum_statement(bool analyze_only, bool full, bool skip_locked);

/// VACUUM or ANALYZE one table (`statement` names the command and its
/// options), with its dead tuples before and after.
VacuumResult vacuum_one(pg::Connection& conn, const VacuumTarget& target,
                        const std::string& statement, bool skip_locked);

}  // namespace ctldb::maintenance
