// What other migration tools recorded in the database, read so that
// `migrate baseline --from TOOL` can adopt it: golang-migrate's and
// dbmate's schema_migrations, Flyway's flyway_schema_history, and the node
// scripts' schema_migrations (whatever its columns name the file and time).
// Reading only; mapping the records to a folder's files is map_history().
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "migrate/migrations.hpp"
#include "pg/connection.hpp"

namespace ctldb::migrate {

enum class HistoryTool { automatic, node, golang_migrate, dbmate, flyway };
const char* history_tool_name(HistoryTool tool);
std::optional<HistoryTool> parse_history_tool(const std::string& name);

/// One migration another tool recorded as applied.
struct ForeignRecord {
    std::string version;     ///< as the tool wrote it ("3", "1.1", "0003_init.sql")
    std::string applied_at;  ///< ISO 8601 UTC, or "" when the tool keeps no time
    std::string detail;      ///< description, script or file name, for the plan
};

struct ForeignHistory {
    HistoryTool tool = HistoryTool::automatic;
    std::string table;  ///< as PostgreSQL names it ("schema_migrations")
    std::vector<ForeignRecord> records;
    /// golang-migrate keeps only the current version: every file up to it.
    std::optional<std::string> up_to;
    /// Flyway's BASELINE row: every file up to it counts as applied.
    std::optional<std::string> baseline;
    /// Why it must not be adopted (golang-migrate's dirty flag, a Flyway row
    /// that failed); "" when it may be.
    std::string refusal;
    std::vector<std::string> notes;  ///< what was read and left aside
    /// Records the tool marked as failed (node: success = false), left out.
    std::vector<std::string> failed;
};

/// Read the history `tool` keeps (automatic: told from the tables present).
/// Throws Error(failure) naming what was looked for when there is none,
/// and which grant is missing when the role may not read it.
ForeignHistory read_foreign_history(pg::Connection& conn, HistoryTool tool);

/// The history mapped to the files of `set`.
struct AdoptionPlan {
    struct Item {
        const Migration* migration = nullptr;
        std::string applied_at;  ///< from the tool, or ""
    };
    std::vector<Item> items;             ///< in the set's order
    std::vector<std::string> unmatched;  ///< records no file of the set has
    std::vector<std::string>
        not_recorded;  ///< files before the last adopted one the tool did not record
};
AdoptionPlan map_history(const ForeignHistory& history, const MigrationSet& set);

}  // namespace ctldb::migrate
