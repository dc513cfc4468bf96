// How a table a down file destroys is described and judged.
#include <doctest/doctest.h>

#include "migrate/down_plan.hpp"

using namespace ctldb;
using namespace ctldb::migrate;

TEST_CASE("a destroyed table says what goes with it") {
    DestroyedTable d;
    d.table = "users";
    d.action = "drop";
    d.rows = 1234;
    d.created_by_up = true;
    CHECK(d.describe() == "drops users (1,234 rows)");
    CHECK(d.holds_rows());
    CHECK_FALSE(d.would_fail());

    d.dependents = {"view active_users"};
    CHECK(d.describe() == "drops users (1,234 rows); view active_users depends on it");
    CHECK(d.would_fail());  // no CASCADE: PostgreSQL refuses
    d.cascade = true;
    CHECK_FALSE(d.would_fail());
    CHECK(d.describe() ==
          "drops users (1,234 rows); view active_users depends on it and goes too (CASCADE)");

    DestroyedTable t;
    t.table = "public.orders";
    t.action = "truncate";
    t.rows = 1;
    t.created_by_up = false;
    CHECK(t.describe() == "empties public.orders (1 row), which its up migration does not create");
    t.rows = 0;
    CHECK_FALSE(t.holds_rows());
    t.rows = -1;  // unknown counts as rows: nothing is assumed empty
    CHECK(t.holds_rows());
    CHECK(t.describe().find("rows unknown: this role may not read it") != std::string::npos);
    t.rows = kRowCountCap;
    t.capped = true;
    CHECK(t.describe().find("more than 1,000,000 rows") != std::string::npos);
}
