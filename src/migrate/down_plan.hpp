// What rolling migrations back destroys, found before anything runs: the
// tables their down files drop or empty, with the rows in them now and the
// objects of other tables that depend on them (views, foreign keys), and
// whether the same migration's up created each table at all.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "migrate/migration_history.hpp"
#include "migrate/migrations.hpp"
#include "pg/connection.hpp"

namespace ctldb::migrate {

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

/// An object that rolling back makes disappear, found by running the down
/// files in a transaction that is rolled back and comparing the catalog
/// before and after each file.
struct VanishingObject {
    std::int64_t version = 0;  ///< the migration whose down file does it
    std::string down_file;
    std::string kind;   ///< table, column, index, constraint, trigger, view, function, ...
    std::string name;   ///< schema-qualified for tables, views, functions, types
    std::string table;  ///< the table a column, index, constraint or trigger is on
    /// A table: its rows now (as DestroyedTable::rows) and its parts that go
    /// with it, counted ("4 columns, 1 trigger").
    std::int64_t rows = 0;
    bool capped = false;
    std::string parts;
    /// The down file's text does not name it: it goes because something it
    /// depends on goes (CASCADE), which the file does not show.
    bool unnamed = false;
    /// "trigger update_users_updated_at on public.users, which the down file
    /// does not name (CASCADE)".
    std::string describe() const;
};

struct DownRehearsal {
    std::vector<VanishingObject> objects;  ///< in the order the files run
    /// The first down file that fails when rehearsed: the real run would
    /// fail there too (after rolling back the files before it).
    std::optional<Error> failure;
    /// Why the rehearsal stopped before a file ("" when every file ran):
    /// one that does what a rollback cannot undo (setval, DO, dblink) is
    /// never run to see.
    std::string not_rehearsed;
};

/// Run the down files of `todo` (newest first) in one transaction that is
/// always rolled back, with lock_timeout 5s and statement_timeout 30s: what
/// they make disappear, or where one fails (a lock not granted or a
/// statement cut short stops the rehearsal instead: not_rehearsed). Statements that cannot run in a
/// transaction run without CONCURRENTLY, or not at all (VACUUM). Holds the locks the down files
/// take until it rolls back, as the real run would.
DownRehearsal rehearse_down(pg::Connection& conn, const std::vector<const Migration*>& todo,
                            ParsedFiles& parsed);

/// The rehearsal's objects beyond the tables `destroyed` already lists
/// (matched by schema-qualified name), in the rehearsal's order.
std::vector<const VanishingObject*> beyond_destroyed(pg::Connection& conn, const DownRehearsal& r,
                                                     const std::vector<DestroyedTable>& destroyed);

/// The tables that rolling back `todo` (newest first) would drop or empty,
/// as they are in the database now. Tables that do not exist (IF EXISTS)
/// are left out. Reads only; waits at most 5 s for a lock.
std::vector<DestroyedTable> destroyed_tables(pg::Connection& conn,
                                             const std::vector<const Migration*>& todo,
                                             ParsedFiles& parsed);

}  // namespace ctldb::migrate
