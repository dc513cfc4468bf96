#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "base/cpus.hpp"
#include "base/error.hpp"
#include "base/findings.hpp"
#include "base/output.hpp"
#include "pg/connection.hpp"

using namespace ctldb;
using namespace ctldb::pg;

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

TEST_CASE("--no-headers: rows only, aligned among themselves") {
    Table t({"A LONG HEADER", "B"});
    t.add_row({"x", "1"});
    t.add_row({"yy", "2"});
    set_table_headers(false);
    const std::string out = t.render();
    set_table_headers(true);
    CHECK(out == "x   1\nyy  2\n");
    CHECK(t.render().rfind("A LONG HEADER  B\n", 0) == 0);
}

TEST_CASE("progress: off with -q, a log line with --log-format json") {
    CHECK(progress_mode_for(true, false) == ProgressMode::off);
    CHECK(progress_mode_for(true, true) == ProgressMode::off);
    CHECK(progress_mode_for(false, true) == ProgressMode::log);
    // TERM=dumb: no bar, whether stderr is a terminal or not.
    const char* term = std::getenv("TERM");
    const std::string saved = term ? term : "";
    ::setenv("TERM", "dumb", 1);
    CHECK(progress_mode_for(false, false) == ProgressMode::off);
    if (term) {
        ::setenv("TERM", saved.c_str(), 1);
    } else {
        ::unsetenv("TERM");
    }
}

TEST_CASE("timeouts: one duration syntax, a bare number is seconds") {
    CHECK(check_pg_duration("--lock-timeout", "10s") == doctest::Approx(10));
    CHECK(check_pg_duration("--lock-timeout", "10") == doctest::Approx(10));
    CHECK(check_pg_duration("--lock-timeout", "500ms") == doctest::Approx(0.5));
    CHECK(check_pg_duration("--lock-timeout", "5m") == doctest::Approx(300));
    CHECK(check_pg_duration("--lock-timeout", "15min") == doctest::Approx(900));
    CHECK(check_pg_duration("--lock-timeout", "0") == doctest::Approx(0));
    CHECK_THROWS_AS(check_pg_duration("--lock-timeout", "soon"), Error);
    CHECK_THROWS_AS(check_pg_duration("--lock-timeout", "-1s"), Error);
    CHECK_THROWS_AS(check_pg_duration("--lock-timeout", "30d"), Error);  // over INT_MAX ms
}

TEST_CASE("cgroup CPU quotas") {
    CHECK_FALSE(cpu_max_cpus("max 100000\n").has_value());
    CHECK(*cpu_max_cpus("150000 100000\n") == doctest::Approx(1.5));
    CHECK(*cpu_max_cpus("50000 100000") == doctest::Approx(0.5));
    CHECK_FALSE(cpu_max_cpus("").has_value());
    CHECK_FALSE(cpu_max_cpus("abc 100000").has_value());
    const char* v1 = "12:cpu,cpuacct:/kubepods/pod1/c1\n4:memory:/kubepods/pod1/c1\n";
    CHECK(*cgroup_path(v1, "cpu") == "/kubepods/pod1/c1");
    CHECK_FALSE(cgroup_path(v1, "").has_value());
    const char* v2 = "0::/kubepods.slice/pod1\n";
    CHECK(*cgroup_path(v2, "") == "/kubepods.slice/pod1");
    CHECK_FALSE(cgroup_path(v2, "cpu").has_value());
    CHECK(available_cpus().cpus >= 1);
}
