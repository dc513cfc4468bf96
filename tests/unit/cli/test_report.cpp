// Exit codes: one mapping for every command, whatever is thrown.
#include <doctest/doctest.h>

#include <pqxx/except>

#include "cli/context.hpp"
#include "cli/report.hpp"

using namespace ctldb;
using namespace ctldb::cli;

namespace {
int run_with(std::function<Outcome()> fn) {
    Context ctx;
    ctx.run = std::move(fn);
    return run_command(ctx);
}
}  // namespace

TEST_CASE("exit codes match DESIGN.md") {
    CHECK(static_cast<int>(ExitCode::ok) == 0);
    CHECK(static_cast<int>(ExitCode::failure) == 1);
    CHECK(static_cast<int>(ExitCode::usage) == 2);
    CHECK(static_cast<int>(ExitCode::connect) == 3);
    CHECK(static_cast<int>(ExitCode::lock) == 4);
    CHECK(static_cast<int>(ExitCode::interrupted) == 130);
}

TEST_CASE("run_command maps results and exceptions to exit codes") {
    CHECK(run_with([] { return ExitCode::ok; }) == 0);
    CHECK(run_with([] { return ExitCode::failure; }) == 1);
    CHECK(run_with([]() -> Outcome { throw usage_error("bad"); }) == 2);
    CHECK(run_with([]() -> Outcome { throw Error(ExitCode::connect, "no"); }) == 3);
    CHECK(run_with([]() -> Outcome { throw Error(ExitCode::lock, "busy"); }) == 4);
    CHECK(run_with([]() -> Outcome { throw pqxx::sql_error("boom", "SELECT 1"); }) == 1);
    CHECK(run_with([]() -> Outcome { throw pqxx::broken_connection("gone"); }) == 1);
    CHECK(run_with([]() -> Outcome { throw std::runtime_error("?"); }) == 1);
    CHECK(run_with(nullptr) == 2);
}

TEST_CASE("exit code names for JSON") {
    CHECK(std::string(exit_code_name(ExitCode::connect)) == "connect");
    CHECK(std::string(exit_code_name(ExitCode::usage)) == "usage");
    CHECK(std::string(exit_code_name(ExitCode::interrupted)) == "interrupted");
}
