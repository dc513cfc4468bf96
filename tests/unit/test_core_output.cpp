#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "ctldb/findings.hpp"
#include "ctldb/output.hpp"

using namespace ctldb;

TEST_CASE("tables align columns and ignore colour codes") {
    Table t({"NAME", "STATUS"});
    t.add_row({"a", styled("ok", Style::green, true)});
    t.add_row({"longer", "fail"});
    CHECK(t.render() ==
          "NAME    STATUS\n"
          "a       \033[32mok\033[0m\n"
          "longer  fail\n");
}

TEST_CASE("findings fail only on fail, and serialise with name/status/message") {
    Findings f;
    f.add("a", Status::ok, "fine");
    f.add("b", Status::warn, "hmm");
    CHECK_FALSE(f.failed());
    f.add("c", Status::fail, "bad");
    CHECK(f.failed());
    auto j = f.to_json();
    REQUIRE(j.size() == 3);
    CHECK(j[2]["name"] == "c");
    CHECK(j[2]["status"] == "fail");
    CHECK(j[2]["message"] == "bad");
}

TEST_CASE("output format names") {
    OutputFormat f = OutputFormat::text;
    CHECK(parse_output_format("json", f));
    CHECK(f == OutputFormat::json);
    CHECK(parse_output_format("prometheus", f));
    CHECK_FALSE(parse_output_format("yaml", f));
}
