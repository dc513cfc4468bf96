// Migration files, from a directory or embedded in the binary, in the
// layouts other tools write: numbered files (ctldb's own NNNN_name.sql with
// NNNN_name.down.sql, any width, _ or - after the number), golang-migrate
// (N_name.up.sql / N_name.down.sql), Flyway (V1.1__name.sql, U1.1__ undo
// files) and dbmate (YYYYMMDDHHMMSS_name.sql with -- migrate:up / down
// sections) and hand-written node runners (every *.sql in name order,
// keyed by the digits before the first _ or else the file name; the first
// file of a key wins, later ones are shadowed; X_rollback.sql undoes
// X.sql). Loading checks names, versions and pairs; checksums are
// SHA-256 of the text (dbmate: its up section) with CRLF normalised to LF.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pg/sql.hpp"

namespace ctldb::migrate {

enum class MigrationLayout { automatic, numbered, golang_migrate, flyway, dbmate, node };

/// "numbered", "golang-migrate", "flyway", "dbmate", "node" ("auto" for
/// automatic).
const char* layout_name(MigrationLayout layout);
/// The layout a --layout value names; nullopt for an unknown one.
std::optional<MigrationLayout> parse_layout(const std::string& name);

/// A command's --migrations-dir and --layout, checked before it connects:
/// Error(usage) for a folder that is not a directory or an unknown layout.
void check_migrations_options(const std::string& dir, const std::string& layout);

struct Migration {
    /// The order key and the version in ctldb's history. A Flyway version
    /// (1.1) is encoded as major * 10^12 + minor * 10^6 + patch.
    std::int64_t version = 0;
    std::string label;  ///< the version as the file writes it: "0003", "1.1"
    /// node: the runner's history key ("007", or the whole file name when
    /// it has no number); the label elsewhere.
    std::string key;
    /// node: the earlier file whose key this file shares, so the runner
    /// never applied it; "" for every other file.
    std::string shadowed_by;
    std::string name;  ///< "admin_center_schema"
    std::string file;  ///< "0001_admin_center_schema.sql"
    std::string sql;
    std::string checksum;  ///< hex SHA-256 of the normalised text
    bool no_transaction = false;
    std::optional<std::string> down_sql;
    std::string down_file;
    bool down_no_transaction = false;
    char separator = '_';  ///< numbered layout: what follows the number
    /// golang-migrate has no transaction flag: a file that is one statement
    /// which cannot run in a transaction (CREATE INDEX CONCURRENTLY) runs
    /// alone, as golang-migrate runs it. See runs_outside_transaction().
    bool auto_no_transaction = false;
};

/// Whether the up (or down) file runs statement by statement outside a
/// transaction: its marker, its tool's flag, or (golang-migrate) a single
/// statement that cannot run in one.
bool runs_outside_transaction(const Migration& m, const pg::sql::Parsed& parsed, bool down);

struct MigrationSet {
    std::string source;  ///< "embedded" or the directory
    MigrationLayout layout = MigrationLayout::numbered;
    std::vector<Migration> migrations;  ///< ascending by version
    /// Files of the directory that are not migrations (.js, .md, schema.sql).
    std::vector<std::string> ignored;
    /// node: files whose key an earlier file took (Migration::shadowed_by),
    /// in name order. They run only when named (migrate up --include FILE),
    /// then recorded under their own file name (version node_version(file)).
    std::vector<Migration> shadowed;
    /// node: a rollback file whose migration is not in the folder.
    struct OrphanDown {
        std::string file;    ///< "004_old_rollback.sql"
        std::string undoes;  ///< "004_old.sql"
        /// "rollback of 004_old.sql, which is not in the folder; never applied".
        std::string why() const;
        /// file + ": " + why(), for a warning.
        std::string describe() const { return file + ": " + why(); }
    };
    std::vector<OrphanDown> orphan_downs;
    const Migration* find(std::int64_t version) const;
    /// The migration whose version is written `label` ("3", "0003", "1.1"),
    /// or whose file is named `label`.
    const Migration* find_label(const std::string& label) const;
    /// A migration or a shadowed file by file name.
    const Migration* find_file(const std::string& file) const;
};

/// The marker that makes a file run statement by statement outside a
/// transaction; it must be the file's first line.
constexpr const char* kNoTransactionMarker = "-- ctldb:no-transaction";

/// Build a set from (file name, contents) pairs in `layout` (automatic:
/// told from the files; a folder that mixes layouts is an error). Files
/// that are not migrations are ignored (listed in `ignored`); a name that
/// looks like a migration of the layout but does not parse, a duplicate
/// version, a down file without its up file and an empty file are errors,
/// all reported together in one Error(failure) that shows the accepted
/// forms.
MigrationSet load_migration_files(const std::vector<std::pair<std::string, std::string>>& files,
                                  const std::string& source,
                                  MigrationLayout layout = MigrationLayout::automatic);

/// Every file of `dir` (not recursive). Error(usage) if it is not a readable
/// directory.
MigrationSet load_migrations_dir(const std::string& dir,
                                 MigrationLayout layout = MigrationLayout::automatic);

/// The layout of a folder's files, told from their names (Flyway's V/U/R
/// prefixes, golang-migrate's .up.sql) and contents (dbmate's
/// "-- migrate:up"); numbered otherwise. Error(usage) when they mix layouts.
MigrationLayout detect_layout(const std::vector<std::pair<std::string, std::string>>& files);

/// The files `migrate create NAME` writes in the folder of `set`, following
/// its layout, width and separator: (file name, contents), the up file
/// first. `now` dates timestamp-numbered layouts.
std::vector<std::pair<std::string, std::string>> new_migration_files(const MigrationSet& set,
                                                                     const std::string& name,
                                                                     bool no_transaction,
                                                                     std::time_t now);

/// The set compiled into the binary.
MigrationSet embedded_migration_set();

/// The node runner's history key of a file: the digits before the first
/// '_', or the whole file name when there are none.
std::string node_key(const std::string& file);
/// What a node runner's rollback file undoes: "X.sql" for X_rollback.sql,
/// X_down.sql and X.down.sql; "" for any other name.
std::string node_rollback_of(const std::string& file);
/// The version ctldb's history keeps for a node key: the number for a key
/// of digits (up to 18), else a negative number drawn from SHA-256 of the
/// key (stable; never a number a file name can write).
std::int64_t node_version(const std::string& key);

/// SHA-256 (hex) of `text` after CRLF -> LF, so a checkout on Windows does
/// not count as drift.
std::string migration_checksum(const std::string& text);

/// True when the first line is the no-transaction marker.
bool has_no_transaction_marker(const std::string& text);

/// A migration file's name taken apart, in one layout.
struct MigrationFileName {
    std::int64_t version = 0;
    std::string label;  ///< the version as written
    std::string name;
    bool down = false;
    char separator = '_';  ///< numbered: what follows the number
};
/// Parse a numbered name ("0042_add_things.sql", "003-x.down.sql").
std::optional<MigrationFileName> parse_migration_file_name(const std::string& file);
/// Parse `file` in `layout`; nullopt when it is not such a name.
std::optional<MigrationFileName> parse_migration_file_name(const std::string& file,
                                                           MigrationLayout layout);
/// True when `file` looks like a migration of `layout` (so a name that
/// does not parse is an error, not a file to ignore).
bool looks_like_migration(const std::string& file, MigrationLayout layout);
/// The names `layout` accepts, for error messages.
std::string accepted_forms(MigrationLayout layout);

/// Lower-case snake_case name for `migrate create`: letters, digits and _.
std::optional<std::string> normalise_migration_name(const std::string& name);

}  // namespace ctldb::migrate

namespace ctldb::migrate {

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
    shadowed,      ///< node: its key is an earlier file's; the runner never applies it
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

/// The applied entries of `list`, in the order they were applied
/// (applied_at; ties keep the list's order): a node runner applies a file
/// that sorts early but came late after the others.
std::vector<const MigrationStatus*> applied_in_order(const std::vector<MigrationStatus>& list);

/// A history entry for messages: "version 3 (add_notes)", or the name alone
/// for a node key that is a name (its version is a drawn number).
std::string recorded_label(const MigrationStatus& st);

/// Problems that make a file unfit to run, found without a database:
/// syntax errors (file:line:column), statements that cannot run inside the
/// transaction a plain file runs in, explicit BEGIN/COMMIT in such a file.
std::vector<std::string> check_migration_sql(const std::string& file, const std::string& sql,
                                             bool no_transaction);
/// The same, for a file already parsed (migrate parses each file once).
std::vector<std::string> check_migration_sql(const std::string& file, const pg::sql::Parsed& parsed,
                                             bool no_transaction);

}  // namespace ctldb::migrate
