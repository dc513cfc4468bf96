#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "doctor/doctor.hpp"
#include "pg/probes.hpp"

using namespace ctldb;
using namespace ctldb::doctor;
using namespace ctldb::pg;

namespace {
pg::probe::Session waiter(std::int64_t pid, std::vector<std::int64_t> by) {
    pg::probe::Session s;
    s.pid = pid;
    s.blocked_by = std::move(by);
    return s;
}
}  // namespace

TEST_CASE("lock trees: every blocker of every waiter, however deep") {
    // 100 blocks 101, which blocks 102 (a chain of three); 103 waits for
    // both 100 and 200; 300 is idle and blocks nobody.
    std::vector<pg::probe::Session> s = {waiter(100, {}),    waiter(101, {100}),
                                         waiter(102, {101}), waiter(103, {100, 200}),
                                         waiter(200, {}),    waiter(300, {})};
    const auto trees = pg::probe::lock_trees(s);
    REQUIRE(trees.size() == 2);
    CHECK(trees[0].pid == 100);
    CHECK(trees[0].size() == 4);
    CHECK(trees[0].depth() == 3);
    CHECK(doctor::render_tree(trees[0]) == "100 -> {101 -> 102, 103}");
    CHECK(trees[1].pid == 200);
    CHECK(doctor::render_tree(trees[1]) == "200 -> 103");
    // A waits for nothing, B waits for A, C for both (a queued lock):
    // C shows under each, counted once.
    const auto abc = pg::probe::lock_trees({waiter(1, {}), waiter(2, {1}), waiter(3, {1, 2})});
    REQUIRE(abc.size() == 1);
    CHECK(abc[0].size() == 3);
    CHECK(abc[0].depth() == 3);
    CHECK(doctor::render_tree(abc[0]) == "1 -> {2 -> 3, 3}");
    // A cycle has no natural root: the lowest pid stands in, and the walk ends.
    const auto cyc = pg::probe::lock_trees({waiter(7, {8}), waiter(8, {7})});
    REQUIRE(cyc.size() == 1);
    CHECK(cyc[0].pid == 7);
    CHECK(doctor::render_tree(cyc[0]) == "7 -> 8");
    CHECK(pg::probe::lock_trees({waiter(1, {}), waiter(2, {})}).empty());
}

TEST_CASE("PostgreSQL int arrays become numbers") {
    CHECK(pg::probe::parse_int_array("{31903}") == std::vector<std::int64_t>{31903});
    CHECK(pg::probe::parse_int_array("1,22,333") == std::vector<std::int64_t>{1, 22, 333});
    CHECK(pg::probe::parse_int_array("{}").empty());
    CHECK(pg::probe::parse_int_array("").empty());
}

TEST_CASE("bloat estimate: pages beyond what the rows need") {
    // 1000 rows of 100 bytes: (24 + 100 -> 128) + 4 = 132 bytes, 61 per
    // 8 KiB page: 17 pages needed.
    CHECK(pg::probe::bloat_estimate(17, 1000, 100, 100) == 0);
    CHECK(pg::probe::bloat_estimate(117, 1000, 100, 100) == 100 * 8192);
    // Fillfactor 50 halves a page's room: 31 per page, 33 pages.
    CHECK(pg::probe::bloat_estimate(33, 1000, 100, 50) == 0);
    CHECK(pg::probe::bloat_estimate(0, 1000, 100, 100) == 0);
    // Everything deleted: every page is waste.
    CHECK(pg::probe::bloat_estimate(50, 0, 100, 100) == 50 * 8192);
}
