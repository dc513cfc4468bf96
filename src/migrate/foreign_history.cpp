#include "migrate/foreign_history.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "base/enum_names.hpp"
#include "base/error.hpp"
#include "base/text.hpp"
#include "pg/probes.hpp"
#include "pg/sql.hpp"
#include "pg/sqlstate.hpp"

namespace ctldb::migrate {

namespace {

/// ISO 8601 UTC of a timestamp column, or "" for NULL.
std::string iso(const std::string& column) {
    return "coalesce(to_char(" + column +
           " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '')";
}

/// The columns of `table` (visible on the search_path), lower-case name ->
/// type; empty when there is no such table.
std::map<std::string, std::string> columns_of(pg::Connection& conn, const std::string& table) {
    pg::QueryResult r = exec(conn,
                             "SELECT a.attname, format_type(a.atttypid, a.atttypmod) "
                             "FROM pg_attribute a WHERE a.attrelid = to_regclass($1) "
                             "AND a.attnum > 0 AND NOT a.attisdropped",
                             {table});
    std::map<std::string, std::string> out;
    for (int i = 0; i < r.rows(); ++i)
        out[r.get(i, 0)] = r.get(i, 1);
    return out;
}

pg::QueryResult read_table(pg::Connection& conn, const std::string& sql, const std::string& table) {
    try {
        return exec(conn, sql);
    } catch (const pg::SqlError& e) {
        if (e.server().sqlstate != pg::sqlstate::insufficient_privilege) throw;
        const std::string role = pg::probe::current_user(conn);
        throw Error(ExitCode::failure, "role " + role + " may not read " + table + ": " + e.what(),
                    "GRANT SELECT ON " + table + " TO " + role + ", or adopt it as its owner");
    }
}

bool is_golang(const std::map<std::string, std::string>& cols) {
    return cols.size() == 2 && cols.count("version") && cols.count("dirty") &&
           cols.at("dirty") == "boolean";
}

bool is_dbmate(const std::map<std::string, std::string>& cols) {
    return cols.size() == 1 && cols.count("version");
}

ForeignHistory read_golang(pg::Connection& conn) {
    ForeignHistory h;
    h.tool = HistoryTool::golang_migrate;
    h.table = "schema_migrations";
    pg::QueryResult r =
        read_table(conn, "SELECT version::text, dirty FROM schema_migrations", h.table);
    if (r.rows() == 0) {
        h.notes.push_back("schema_migrations is empty: golang-migrate applied nothing");
        return h;
    }
    h.up_to = r.get(0, 0);
    if (r.get(0, 1) == "t") {
        h.refusal = "golang-migrate left version " + r.get(0, 0) +
                    " dirty: it failed half way, so what the database holds is unknown; fix "
                    "the database and clear the flag (migrate force " +
                    r.get(0, 0) + " or the version before) first";
    }
    return h;
}

ForeignHistory read_dbmate(pg::Connection& conn) {
    ForeignHistory h;
    h.tool = HistoryTool::dbmate;
    h.table = "schema_migrations";
    pg::QueryResult r =
        read_table(conn, "SELECT version::text FROM schema_migrations ORDER BY 1", h.table);
    for (int i = 0; i < r.rows(); ++i)
        h.records.push_back({r.get(i, 0), "", ""});
    return h;
}

ForeignHistory read_flyway(pg::Connection& conn) {
    ForeignHistory h;
    h.tool = HistoryTool::flyway;
    h.table = "flyway_schema_history";
    pg::QueryResult r = read_table(
        conn,
        "SELECT coalesce(version, ''), coalesce(description, ''), type, "
        "coalesce(script, ''), " +
            iso("installed_on") + ", success FROM flyway_schema_history ORDER BY installed_rank",
        h.table);
    std::map<std::string, ForeignRecord> applied;  // by version
    for (int i = 0; i < r.rows(); ++i) {
        const std::string version = r.get(i, 0), type = r.get(i, 2), script = r.get(i, 3);
        if (r.get(i, 5) != "t") {
            h.refusal = "Flyway recorded a failed migration (version " + version + ", " + script +
                        "): what the database holds is unknown; run flyway repair after fixing "
                        "it, then adopt";
            continue;
        }
        if (version.empty()) {
            h.notes.push_back("repeatable " + script + " left aside (ctldb has none)");
        } else if (type == "BASELINE") {
            h.baseline = version;
        } else if (type == "UNDO_SQL" || type == "DELETE") {
            applied.erase(version);
        } else if (type != "SCHEMA") {
            applied[version] = {version, r.get(i, 4), r.get(i, 1)};
        }
    }
    for (auto& [v, rec] : applied)
        h.records.push_back(std::move(rec));
    return h;
}

/// The node scripts' own table: some column names the migration (the
/// runner's key in `version` first, else a file name), maybe another the
/// time, maybe a `success` flag whose false rows are failures the runner
/// recorded (left out, and named). All found by name.
ForeignHistory read_node(pg::Connection& conn, const std::map<std::string, std::string>& cols) {
    ForeignHistory h;
    h.tool = HistoryTool::node;
    h.table = "schema_migrations";
    std::string key_col, file_col, time_col;
    for (const char* c : {"version", "filename", "file_name", "file", "name", "migration",
                          "migration_name", "script", "id"}) {
        if (cols.count(c)) {
            key_col = c;
            break;
        }
    }
    for (const char* c : {"filename", "file_name", "file", "name", "migration", "script"}) {
        if (cols.count(c) && c != key_col) {
            file_col = c;
            break;
        }
    }
    for (const char* c : {"applied_at", "executed_at", "run_on", "migrated_at", "created_at",
                          "installed_on", "timestamp"}) {
        if (cols.count(c)) {
            time_col = c;
            break;
        }
    }
    if (key_col.empty()) {
        std::vector<std::string> names;
        for (const auto& [k, v] : cols)
            names.push_back(k);
        throw Error(ExitCode::failure,
                    "schema_migrations has no column that names the migration (it has " +
                        join(names, ", ") + ")",
                    "ctldb reads version, filename, name, migration or script; say which tool "
                    "wrote it with --from");
    }
    const bool has_success = cols.count("success") && cols.at("success") == "boolean";
    const std::string time = time_col.empty() ? "''" : iso(pg::sql::quote_identifier(time_col));
    const std::string file =
        file_col.empty() ? "''" : "coalesce(" + pg::sql::quote_identifier(file_col) + "::text, '')";
    pg::QueryResult r = read_table(
        conn,
        "SELECT " + pg::sql::quote_identifier(key_col) + "::text, " + time + ", " + file + ", " +
            (has_success ? "coalesce(success, true)" : "true") + " FROM schema_migrations WHERE " +
            pg::sql::quote_identifier(key_col) + " IS NOT NULL ORDER BY 1, 2",
        h.table);
    std::map<std::string, ForeignRecord> ok;
    std::vector<ForeignRecord> failed;
    for (int i = 0; i < r.rows(); ++i) {
        ForeignRecord rec{r.get(i, 0), r.get(i, 1), r.get(i, 2)};
        if (r.get(i, 3) == "t") {
            ok.emplace(rec.version, rec);  // the first success of a key counts
        } else {
            failed.push_back(rec);
        }
    }
    for (auto& [k, rec] : ok)
        h.records.push_back(std::move(rec));
    for (const auto& f : failed) {
        if (ok.count(f.version)) continue;  // failed, then applied later
        h.failed.push_back(f.version + (f.detail.empty() ? "" : " (" + f.detail + ")") +
                           (f.applied_at.empty() ? "" : " at " + f.applied_at));
    }
    h.notes.push_back("read the key from the column " + key_col +
                      (file_col.empty() ? "" : ", the file from " + file_col) +
                      (time_col.empty() ? "" : ", the time from " + time_col) +
                      (has_success ? ", success = false rows left out" : ""));
    for (const auto& f : h.failed)
        h.notes.push_back("left out, the runner recorded it as failed: " + f);
    return h;
}

/// The file a record names: its label, its number, or its file name with
/// or without .sql.
const Migration* file_for(const MigrationSet& set, const std::string& recorded) {
    if (const Migration* m = set.find_label(recorded)) return m;
    // A node runner's key is exact: the number (7 or 007) or the file name.
    if (set.layout == MigrationLayout::node) return nullptr;
    for (const auto& m : set.migrations) {
        if (recorded == m.file || recorded + ".sql" == m.file ||
            recorded == m.label + "_" + m.name || recorded == m.label + "-" + m.name) {
            return &m;
        }
    }
    // "0003_init" when the label is 003: the leading number decides.
    std::size_t digits = 0;
    while (digits < recorded.size() && digits < 18 &&
           std::isdigit(static_cast<unsigned char>(recorded[digits])))
        ++digits;
    if (digits > 0 && set.layout != MigrationLayout::flyway) {
        return set.find(std::stoll(recorded.substr(0, digits)));
    }
    return nullptr;
}

}  // namespace

namespace {
constexpr EnumName<HistoryTool> kToolNames[] = {{HistoryTool::automatic, "auto"},
                                                {HistoryTool::node, "node"},
                                                {HistoryTool::golang_migrate, "golang-migrate"},
                                                {HistoryTool::dbmate, "dbmate"},
                                                {HistoryTool::flyway, "flyway"}};
}  // namespace

const char* history_tool_name(HistoryTool tool) {
    return name_of(kToolNames, tool, "auto");
}

std::optional<HistoryTool> parse_history_tool(const std::string& name) {
    return value_of(kToolNames, name);
}

ForeignHistory read_foreign_history(pg::Connection& conn, HistoryTool tool) {
    const auto flyway = columns_of(conn, "flyway_schema_history");
    const auto sm = columns_of(conn, "schema_migrations");
    if (tool == HistoryTool::automatic) {
        if (!flyway.empty()) {
            tool = HistoryTool::flyway;
        } else if (is_golang(sm)) {
            tool = HistoryTool::golang_migrate;
        } else if (is_dbmate(sm)) {
            tool = HistoryTool::dbmate;
        } else if (!sm.empty()) {
            tool = HistoryTool::node;
        } else {
            throw Error(ExitCode::failure,
                        "no history table of another tool here: looked for "
                        "flyway_schema_history and schema_migrations on the search_path",
                        "baseline V records migrations up to V instead, after comparing the "
                        "schema");
        }
    }
    auto missing = [&](const char* table) {
        return Error(
            ExitCode::failure,
            std::string("no ") + table + " table here for --from " + history_tool_name(tool),
            "--from auto looks for every tool's table");
    };
    switch (tool) {
        case HistoryTool::flyway:
            if (flyway.empty()) throw missing("flyway_schema_history");
            return read_flyway(conn);
        case HistoryTool::golang_migrate:
            if (!is_golang(sm)) throw missing("schema_migrations (version, dirty)");
            return read_golang(conn);
        case HistoryTool::dbmate:
            if (!sm.count("version")) throw missing("schema_migrations (version)");
            return read_dbmate(conn);
        case HistoryTool::node:
        case HistoryTool::automatic:
            if (sm.empty()) throw missing("schema_migrations");
            return read_node(conn, sm);
    }
    throw missing("history");
}

AdoptionPlan map_history(const ForeignHistory& history, const MigrationSet& set) {
    AdoptionPlan plan;
    // By position in the set (a node runner's name order, or the versions').
    std::map<const Migration*, std::size_t> position;
    for (std::size_t i = 0; i < set.migrations.size(); ++i)
        position[&set.migrations[i]] = i;
    std::map<std::size_t, std::string> chosen;  // position -> applied_at
    auto upto = [&](const std::string& label, const char* what) {
        const Migration* last = set.find_label(label);
        if (last == nullptr) {
            plan.unmatched.push_back(std::string(what) + " " + label);
            return;
        }
        for (std::size_t i = 0; i <= position[last]; ++i) {
            if (!chosen.count(i)) chosen[i] = "";
        }
    };
    if (history.up_to) upto(*history.up_to, "version");
    if (history.baseline) upto(*history.baseline, "baseline version");
    for (const auto& r : history.records) {
        if (const Migration* m = file_for(set, r.version)) {
            chosen[position[m]] = r.applied_at;
        } else {
            plan.unmatched.push_back(r.version + (r.detail.empty() ? "" : " (" + r.detail + ")"));
        }
    }
    for (const auto& [i, at] : chosen)
        plan.items.push_back({&set.migrations[i], at});
    if (!chosen.empty()) {
        const std::size_t last = chosen.rbegin()->first;
        for (std::size_t i = 0; i < last; ++i) {
            if (!chosen.count(i)) plan.not_recorded.push_back(set.migrations[i].file);
        }
    }
    return plan;
}

}  // namespace ctldb::migrate
