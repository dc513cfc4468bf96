// What rolling migrations back destroys, found before anything runs: the
// tables their down files drop or empty, with the rows in them now and the
// objects of other tables that depend on them (views, foreign keys), and
// whether the same migration's up created each table at all.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ctldb/connection.hpp"
#include "ctldb/migration_history.hpp"
#include "ctldb/migrations.hpp"

namespace ctldb {

/// A table a down file drops or empties.
struct DestroyedTable {
    std::int64_t version = 0;  ///< the migration whose down file does it
    std::string down_file;
    std::string oid;
    std::string table;     ///< as PostgreSQL prints it (schema-qualified when needed)
    std::string action;    ///< "drop" or "truncate"
    bool cascade = false;  ///< the statement says CASCADE
    /// Rows now: exact up to kRowCountCap (then `capped`), -1 when the role
    /// may not read the table.
    std::int64_t rows = 0;
    bool capped = false;
    /// The same migration's up creates a table of this name; false means
    /// the down would destroy something its up never made.
    bool created_by_up = false;
    /// Views and foreign keys elsewhere that depend on it (they go with
    /// CASCADE; without it the DROP fails on them).
    std::vector<std::string> dependents;

    bool holds_rows() const { return rows != 0; }  // unknown counts as rows
    /// Without CASCADE, PostgreSQL refuses to drop a table others depend on.
    bool would_fail() const { return action == "drop" && !cascade && !dependents.empty(); }
    /// "public.users (1,234 rows)".
    std::string describe() const;
};

/// Rows are counted exactly up to this many.
constexpr std::int64_t kRowCountCap = 1000000;

/// The tables that rolling back `todo` (newest first) would drop or empty,
/// as they are in the database now. Tables that do not exist (IF EXISTS)
/// are left out. Reads only; waits at most 5 s for a lock.
std::vector<DestroyedTable> destroyed_tables(Connection& conn,
                                             const std::vector<const Migration*>& todo,
                                             ParsedFiles& parsed);

}  // namespace ctldb
