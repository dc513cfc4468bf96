// Migration files: NNNN_name.sql with optional NNNN_name.down.sql, from a
// directory or embedded in the binary. Loading checks names, versions and
// pairs; checksums are SHA-256 of the text with CRLF normalised to LF.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ctldb/sql.hpp"

namespace ctldb {

struct Migration {
    std::int64_t version = 0;
    std::string name;  ///< "admin_center_schema"
    std::string file;  ///< "0001_admin_center_schema.sql"
    std::string sql;
    std::string checksum;  ///< hex SHA-256 of the normalised text
    bool no_transaction = false;
    std::optional<std::string> down_sql;
    std::string down_file;
    bool down_no_transaction = false;
};

struct MigrationSet {
    std::string source;                 ///< "embedded" or the directory
    std::vector<Migration> migrations;  ///< ascending by version
    const Migration* find(std::int64_t version) const;
};

/// The marker that makes a file run statement by statement outside a
/// transaction; it must be the file's first line.
constexpr const char* kNoTransactionMarker = "-- ctldb:no-transaction";

/// Build a set from (file name, contents) pairs. Files that do not end in
/// .sql are ignored; .sql files with bad names, duplicate versions, down
/// files without an up file, and empty files are errors, all reported
/// together in one Error(failure).
MigrationSet load_migration_files(const std::vector<std::pair<std::string, std::string>>& files,
                                  const std::string& source);

/// Every file of `dir` (not recursive). Error(usage) if it is not a readable
/// directory.
MigrationSet load_migrations_dir(const std::string& dir);

/// The set compiled into the binary.
MigrationSet embedded_migration_set();

/// SHA-256 (hex) of `text` after CRLF -> LF, so a checkout on Windows does
/// not count as drift.
std::string migration_checksum(const std::string& text);

/// True when the first line is the no-transaction marker.
bool has_no_transaction_marker(const std::string& text);

/// Parse "0042_add_things.sql" / "0042_add_things.down.sql".
struct MigrationFileName {
    std::int64_t version = 0;
    std::string name;
    bool down = false;
};
std::optional<MigrationFileName> parse_migration_file_name(const std::string& file);

/// Lower-case snake_case name for `migrate create`: letters, digits and _.
std::optional<std::string> normalise_migration_name(const std::string& name);

}  // namespace ctldb

namespace ctldb {

/// A row of ctldb_schema_migrations.
struct AppliedMigration {
    std::int64_t version = 0;
    std::string name;
    std::string checksum;
    std::string applied_at;
    std::string applied_by;
    std::int64_t execution_ms = 0;
};

enum class MigrationState {
    applied,       ///< in the history, file unchanged
    pending,       ///< file not yet applied, newer than everything applied
    out_of_order,  ///< file not yet applied, older than something applied
    modified,      ///< applied, but the file changed since (drift)
    missing,       ///< applied, but no file any more
};
const char* migration_state_name(MigrationState s);

struct MigrationStatus {
    std::int64_t version = 0;
    std::string name;
    MigrationState state = MigrationState::pending;
    const Migration* file = nullptr;          ///< null when missing
    std::optional<AppliedMigration> applied;  ///< null when not applied
};

/// Compare files with the history, ascending by version.
std::vector<MigrationStatus> migration_status(const MigrationSet& set,
                                              const std::vector<AppliedMigration>& history);

/// Problems that make a file unfit to run, found without a database:
/// syntax errors (file:line:column), statements that cannot run inside the
/// transaction a plain file runs in, explicit BEGIN/COMMIT in such a file.
std::vector<std::string> check_migration_sql(const std::string& file, const std::string& sql,
                                             bool no_transaction);
/// The same, for a file already parsed (migrate parses each file once).
std::vector<std::string> check_migration_sql(const std::string& file, const sql::Parsed& parsed,
                                             bool no_transaction);

}  // namespace ctldb
