// ctldb's migration history in the database (ctldb_schema_migrations), the
// advisory lock that serialises runners, each file's statements parsed
// once, and the schema proof: does the database hold what a list of
// migrations creates? Shared by migrate's subcommands (and by doctor and
// metrics to come).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/findings.hpp"
#include "config/config.hpp"
#include "migrate/migrations.hpp"
#include "migrate/schema.hpp"
#include "pg/connection.hpp"
#include "pg/sql.hpp"

namespace ctldb::migrate {

/// "ctldb-mg" as a big-endian 64-bit number: the advisory lock key.
constexpr std::int64_t kMigrationLockKey = 0x63746c64622d6d67;
constexpr const char* kHistoryTable = "ctldb_schema_migrations";

bool history_exists(pg::Connection& conn);
/// Every row, ascending by version; empty when the table does not exist.
std::vector<AppliedMigration> read_history(pg::Connection& conn);
void create_history(pg::Connection& conn);
/// The history's row for `m`, applied now by `by` in `ms`.
void record_applied(pg::Connection& conn, const Migration& m, const std::string& by,
                    std::int64_t ms, bool no_transaction);
/// The row for `m` adopted from another tool's history or a baseline:
/// applied at `applied_at` (ISO; "" now), execution_ms 0.
void record_adopted(pg::Connection& conn, const Migration& m, const std::string& applied_at,
                    const std::string& by, bool no_transaction);
/// Remove `version`'s row (a rolled-back migration).
void forget_applied(pg::Connection& conn, std::int64_t version);
/// "role@host" for the applied_by column.
std::string applied_by(pg::Connection& conn);

/// The team's migrations folder as a command sees it: its own flag (--dir,
/// --migrations-dir), else the migrations_dir setting; the layout from
/// --layout unless "auto", else migrations_layout. Error(usage) for an
/// unknown layout.
struct MigrationsFolder {
    std::string dir;     ///< "" : none configured
    std::string source;  ///< "--migrations-dir", "CTLDB_MIGRATIONS_DIR", "f.yaml: migrations.dir"
    MigrationLayout layout = MigrationLayout::automatic;
};
MigrationsFolder migrations_folder(const config::Config& cfg, const std::string& flag,
                                   const std::string& flag_name, const std::string& layout_flag);

/// What doctor and metrics judge the database's migrations by.
struct ComparisonBasis {
    std::optional<MigrationSet> set;        ///< nullopt: not compared
    std::string not_compared;               ///< why, when not compared
    std::string source;                     ///< "CTLDB_MIGRATIONS_DIR (env)", "built-in"
    bool history_table = false;             ///< ctldb_schema_migrations exists
    std::vector<AppliedMigration> history;  ///< its rows, read once
};

/// The configured folder (`dir`, read in `layout`) when there is one.
/// Without it ctldb's built-in set, but only where the database's history
/// was written from it, or where the database is still empty (what
/// `ctldb migrate` builds); a database another tool migrated, or whose
/// history names migrations ctldb does not ship, is not compared, with
/// the reason (never "pending" against a schema it never had).
ComparisonBasis comparison_basis(pg::Connection& conn, const std::string& dir,
                                 MigrationLayout layout, const std::string& dir_source);

/// Holds the session advisory lock that serialises runners; waits up to
/// `timeout_s` (saying who holds it), then throws Error(lock).
class MigrationLock {
  public:
    MigrationLock(pg::Connection& conn, int timeout_s);
    ~MigrationLock();
    MigrationLock(const MigrationLock&) = delete;
    MigrationLock& operator=(const MigrationLock&) = delete;

  private:
    pg::Connection& conn_;
    bool held_ = false;
};

/// Every file's statements, parsed once: before the migration lock is
/// taken (a big file does not hold other runners up while it is read), and
/// reused by the checks and the run.
class ParsedFiles {
  public:
    /// The statements of the up (down) file. A file that wraps all of
    /// itself in BEGIN ... COMMIT (as golang-migrate files do) comes
    /// without them: ctldb's own transaction does the same.
    const pg::sql::Parsed& up(const Migration& m) { return get(m, false); }
    const pg::sql::Parsed& down(const Migration& m) { return get(m, true); }
    /// runs_outside_transaction() on the parsed file.
    bool outside(const Migration& m, bool down) {
        return runs_outside_transaction(m, get(m, down), down);
    }

  private:
    const pg::sql::Parsed& get(const Migration& m, bool down);
    std::map<std::pair<std::int64_t, bool>, pg::sql::Parsed> parsed_;
};

/// What `files` (applied in order) create, compared with the database.
struct SchemaCheck {
    bool built = false;   ///< false: the comparison could not be made
    std::string why_not;  ///< when not built: the reason, for the operator
    schema::Comparison comparison;
};

/// Build `files` in a scratch schema (rolled back) and compare it with the
/// live schema; ctldb's history table is left out. Never changes anything.
SchemaCheck check_schema(pg::Connection& conn, const std::vector<const Migration*>& files,
                         ParsedFiles& parsed);

/// Up to `limit` lines, one per difference of `c`.
std::vector<std::string> difference_lines(const schema::Comparison& c, std::size_t limit = 40);

/// The schema proof for the applied migrations of `list`: a "schema"
/// finding (ok, or why it could not be made) or a "schema drift" finding
/// per difference. Shared by migrate validate and doctor.
SchemaCheck validate_schema(pg::Connection& conn, const std::vector<MigrationStatus>& list,
                            ParsedFiles& parsed, Findings& f);

/// The last migration of `set` whose schema (1..V together) the database
/// holds exactly, or nullopt: the V that `migrate baseline V` may adopt.
std::optional<std::int64_t> matching_version(pg::Connection& conn, const MigrationSet& set,
                                             ParsedFiles& parsed);

}  // namespace ctldb::migrate
