#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "base/findings.hpp"
#include "base/output.hpp"
#include "base/text.hpp"

using namespace ctldb;

TEST_CASE("findings are reported most urgent first, each level in its order") {
    Findings f;
    f.add("a", Status::ok, "");
    f.add("b", Status::info, "");
    f.add("c", Status::fail, "");
    f.add("d", Status::warn, "");
    f.add("e", Status::fail, "");
    f.sort_by_urgency();
    std::string order;
    for (const auto& x : f.items())
        order += x.name;
    CHECK(order == "cedba");
    const auto j = finding_json(f.items()[0]);
    CHECK(j["hint"].is_null());
    CHECK(j["check"].is_null());
    CHECK(j["status"] == "fail");
}

TEST_CASE("names in hints are quoted for the shell") {
    CHECK(shell_quote("public.users") == "public.users");
    CHECK(shell_quote("public.\"Odd Name\"") == "'public.\"Odd Name\"'");
    CHECK(shell_quote("it's") == "'it'\\''s'");
    CHECK(shell_quote("") == "''");
    CHECK(shell_quote("verify-full", true) == "'verify-full'");
}
