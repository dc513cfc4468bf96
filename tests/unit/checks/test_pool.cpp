#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "checks/pool.hpp"

using namespace ctldb;
using namespace ctldb::checks;

TEST_CASE("pool sizing follows the guide's table and the server's limits") {
    checks::pool::Capacity c{100, 3, 0, 10};
    // 97 usable, 15 kept for admin work: 82 for the pools.
    auto z = checks::pool::plan(c, 50, 1, 15);
    CHECK(z.available == 82);
    CHECK(z.total == 50);
    CHECK(z.ok);
    CHECK(z.headroom == 87);
    CHECK(z.recommended == 50);
    z = checks::pool::plan(c, 50, 2, 15);
    CHECK_FALSE(z.ok);  // 100 > 82
    CHECK(z.recommended == 41);
    z = checks::pool::plan(c, 20, 4, 15);
    CHECK(z.ok);  // 80 <= 82
    CHECK(z.guide == "20-30 per pod (3-5 pods)");
    CHECK(z.recommended == 20);  // 82 / 4
    z = checks::pool::plan(c, 10, 8, 15);
    CHECK(z.guide == "10-20 per pod (5+ pods)");
    CHECK(z.recommended == 10);
    // A server too small for the admin reserve still recommends 1, never 0.
    z = checks::pool::plan({20, 3, 0, 1}, 10, 2, 20);
    CHECK(z.available == -3);
    CHECK_FALSE(z.ok);
    CHECK(z.recommended == 1);
}

TEST_CASE("connection usage warns from 80 % and fails from 95 % of the usable slots") {
    CHECK(checks::pool::usage_status({100, 0, 0, 79}) == Status::ok);
    CHECK(checks::pool::usage_status({100, 0, 0, 80}) == Status::warn);
    CHECK(checks::pool::usage_status({100, 0, 0, 94}) == Status::warn);
    CHECK(checks::pool::usage_status({100, 0, 0, 95}) == Status::fail);
    // Reserved slots are not the application's.
    CHECK(checks::pool::usage_status({100, 3, 0, 78}) == Status::warn);  // 78 of 97 = 80.4 %
    CHECK(checks::pool::usage_status({3, 3, 0, 0}) == Status::fail);
}
