// Mapping what another migration tool recorded to a folder's files.
#include <doctest/doctest.h>

#include "migrate/foreign_history.hpp"

using namespace ctldb;
using namespace ctldb::migrate;

namespace {

std::vector<std::string> files_of(const AdoptionPlan& p) {
    std::vector<std::string> out;
    for (const auto& i : p.items)
        out.push_back(i.migration->file);
    return out;
}

}  // namespace

TEST_CASE("golang-migrate: everything up to its version") {
    auto set = load_migration_files(
        {{"1_a.up.sql", "SELECT 1;"}, {"2_b.up.sql", "SELECT 2;"}, {"3_c.up.sql", "SELECT 3;"}},
        "t");
    ForeignHistory h;
    h.tool = HistoryTool::golang_migrate;
    h.up_to = "2";
    auto p = map_history(h, set);
    CHECK(files_of(p) == std::vector<std::string>{"1_a.up.sql", "2_b.up.sql"});
    CHECK(p.unmatched.empty());
    h.up_to = "7";
    CHECK(map_history(h, set).unmatched == std::vector<std::string>{"version 7"});
}

TEST_CASE("node: records by file name, name without .sql, or leading number; gaps noted") {
    auto set = load_migration_files({{"001_init.sql", "SELECT 1;"},
                                     {"003-user-activity-tracking.sql", "SELECT 3;"},
                                     {"004_x.sql", "SELECT 4;"},
                                     {"018_add_index.sql", "SELECT 18;"}},
                                    "t");
    ForeignHistory h;
    h.tool = HistoryTool::node;
    h.records = {{"001_init.sql", "2025-06-01T10:00:00Z", ""},
                 {"003-user-activity-tracking", "", ""},
                 {"18", "", ""},
                 {"099_gone.sql", "", ""}};
    auto p = map_history(h, set);
    CHECK(files_of(p) == std::vector<std::string>{"001_init.sql", "003-user-activity-tracking.sql",
                                                  "018_add_index.sql"});
    CHECK(p.items[0].applied_at == "2025-06-01T10:00:00Z");
    CHECK(p.unmatched == std::vector<std::string>{"099_gone.sql"});
    CHECK(p.not_recorded == std::vector<std::string>{"004_x.sql"});
}

TEST_CASE("Flyway: dotted versions, and a BASELINE row adopts what is below it") {
    auto set = load_migration_files({{"V1__a.sql", "SELECT 1;"},
                                     {"V1.1__b.sql", "SELECT 11;"},
                                     {"V1.2__c.sql", "SELECT 12;"},
                                     {"V2__d.sql", "SELECT 2;"}},
                                    "t");
    ForeignHistory h;
    h.tool = HistoryTool::flyway;
    h.baseline = "1.1";
    h.records = {{"1.2", "2025-05-03T09:00:00Z", "c"}};
    auto p = map_history(h, set);
    CHECK(files_of(p) == std::vector<std::string>{"V1__a.sql", "V1.1__b.sql", "V1.2__c.sql"});
    CHECK(p.unmatched.empty());
    CHECK(p.not_recorded.empty());
}

TEST_CASE("tool names") {
    CHECK(parse_history_tool("golang-migrate") == HistoryTool::golang_migrate);
    CHECK(parse_history_tool("auto") == HistoryTool::automatic);
    CHECK_FALSE(parse_history_tool("liquibase"));
    CHECK(parse_layout("ctldb") == MigrationLayout::numbered);
    CHECK_FALSE(parse_layout("liquibase"));
}
