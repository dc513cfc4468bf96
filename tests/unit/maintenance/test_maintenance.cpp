#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "base/text.hpp"
#include "maintenance/maintenance.hpp"

using namespace ctldb;
using namespace ctldb::maintenance;

TEST_CASE("wraparound: warn from 50 %, fail from 75 % of the freeze limit in force") {
    using maintenance::wraparound_status;
    CHECK(wraparound_status(99'999'999, 200'000'000) == Status::ok);
    CHECK(wraparound_status(100'000'000, 200'000'000) == Status::warn);
    CHECK(wraparound_status(149'999'999, 200'000'000) == Status::warn);
    CHECK(wraparound_status(150'000'000, 200'000'000) == Status::fail);
    CHECK(wraparound_status(2'000'000'000, 200'000'000) == Status::fail);
    // A table's own, lower autovacuum_freeze_max_age moves its thresholds.
    CHECK(wraparound_status(60'000'000, 100'000'000) == Status::warn);
    CHECK(wraparound_status(0, 0) == Status::ok);
    pg::probe::TableStats t;
    t.freeze_max_age = 200'000'000;
    t.multixact_freeze_max_age = 400'000'000;
    t.xid_age = 10;
    t.mxid_age = 350'000'000;  // the multixact age decides
    CHECK(maintenance::table_wraparound(t) == Status::fail);
    t.dead_tuples = 51;
    t.vacuum_threshold = 50;
    CHECK(maintenance::needs_vacuum(t));
    t.dead_tuples = 50;
    CHECK_FALSE(maintenance::needs_vacuum(t));
}

TEST_CASE("autovacuum settings against the guide's") {
    std::vector<pg::probe::Setting> cur(2);
    cur[0].name = "autovacuum";
    cur[0].value = "off";
    cur[1].name = "autovacuum_naptime";
    cur[1].value = "60";
    cur[1].unit = "s";
    std::vector<const maintenance::GuideSetting*> differs;
    const Findings f = maintenance::autovacuum_findings(cur, &differs);
    REQUIRE(f.items().size() == 2);
    CHECK(f.items()[0].status == Status::fail);
    CHECK(f.items()[1].status == Status::ok);
    CHECK(f.items()[1].message == "is 60s");
    REQUIRE(differs.size() == 1);
    CHECK(std::string(differs[0]->name) == "autovacuum");
    cur[0].value.reset();
    cur[0].unreadable = "not visible to role x: needs y";
    CHECK(maintenance::autovacuum_findings(cur).items()[0].status == Status::warn);
}

TEST_CASE("vacuum status: most dead tuples first, flagged tables fail, times ISO or null") {
    pg::probe::TableStats a, b;
    a.name = "public.small";
    a.dead_tuples = 10;
    a.vacuum_threshold = 50;
    a.freeze_max_age = 200'000'000;
    a.multixact_freeze_max_age = 400'000'000;
    b = a;
    b.name = "public.churn";
    b.dead_tuples = 900;
    b.last_autovacuum = "2026-12-01T03:00:00Z";
    const auto r = maintenance::status_report({a, b});
    REQUIRE(r.tables.size() == 2);
    CHECK(r.tables[0].name == "public.churn");
    CHECK(r.flagged() == 1);
    CHECK(r.code() == ExitCode::failure);
    const auto j = r.json();
    CHECK(j["tables"][0]["last_vacuum_at"] == "2026-12-01T03:00:00Z");
    CHECK(j["tables"][1]["last_vacuum_at"].is_null());
    CHECK(j["tables"][0]["needs_vacuum"] == true);
    CHECK(r.text(false).find("1 table(s) need attention") != std::string::npos);
    // Past 75 % of the freeze limit a table is near wraparound; at 50 % only doctor warns.
    a.xid_age = 120'000'000;
    CHECK(maintenance::status_report({a}).flagged() == 0);
    a.xid_age = 160'000'000;
    CHECK(maintenance::status_report({a}).json()["tables"][0]["near_wraparound"] == true);
}
