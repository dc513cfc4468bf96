#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "checks/index_check.hpp"

using namespace ctldb;
using namespace ctldb::checks;

namespace {
IndexInfo index(std::string name, std::string keys, bool unique = false) {
    IndexInfo x;
    x.name = name;
    x.qualified = "public." + name;
    x.table = "t";
    x.qualified_table = "public.t";
    x.method = "btree";
    x.keys = keys;
    x.options = std::string(keys.size() / 2 + 1, '0');
    x.classes = keys;  // same classes where the keys agree
    x.collations = keys;
    x.unique = unique;
    return x;
}
}  // namespace

TEST_CASE("index redundancy: duplicates and covered prefixes") {
    std::vector<IndexInfo> all = {index("a_1", "1"), index("b_12", "1 2"), index("c_1", "1"),
                                  index("d_2", "2")};
    all[0].options = "0";
    all[1].options = "0 0";
    all[2].options = "0";
    all[3].options = "0";
    const auto r = find_redundant(all);
    // a_1 and c_1 are exact duplicates: the first name stays, so c_1 goes,
    // and a_1 is covered by b_12 (1 is a prefix of 1 2).
    REQUIRE(r.size() == 2);
    CHECK(all[r[0].index].name == "a_1");
    CHECK(all[r[0].covered_by].name == "b_12");
    CHECK_FALSE(r[0].exact);
    CHECK(all[r[1].index].name == "c_1");
    CHECK(r[1].exact);
    // A unique index is never the one dropped for a wider twin.
    std::vector<IndexInfo> u = {index("u_1", "1", true), index("w_12", "1 2")};
    u[0].options = "0";
    u[1].options = "0 0";
    CHECK(find_redundant(u).empty());
    // Different predicates are different indexes.
    std::vector<IndexInfo> p = {index("p_1", "1"), index("q_1", "1")};
    p[0].options = p[1].options = "0";
    p[1].predicate = "(deleted_at IS NULL)";
    CHECK(find_redundant(p).empty());
    // The guide's index stays over an unknown one with the same keys.
    std::vector<IndexInfo> g = {index("idx_users_email", "2"), index("zz_email", "2")};
    g[0].options = g[1].options = "0";
    const auto rg = find_redundant(g);
    REQUIRE(rg.size() == 1);
    CHECK(g[rg[0].index].name == "zz_email");
    // ...but not over a unique constraint's index with exactly its keys:
    // then the guide's name is a duplicate whatever it is called.
    std::vector<IndexInfo> c = {index("idx_users_email", "2"), index("users_email_key", "2", true)};
    c[0].options = c[1].options = "0";
    c[1].backs_constraint = true;
    const auto rc = find_redundant(c);
    REQUIRE(rc.size() == 1);
    CHECK(c[rc[0].index].name == "idx_users_email");
    CHECK(c[rc[0].covered_by].name == "users_email_key");
    CHECK(rc[0].exact);
    // A wider unique constraint covers a guide prefix, and the guide's stays.
    std::vector<IndexInfo> w = {index("idx_users_email", "2"),
                                index("users_email_org", "2 3", true)};
    w[0].options = "0";
    w[1].options = "0 0";
    w[1].backs_constraint = true;
    CHECK(find_redundant(w).empty());
}
