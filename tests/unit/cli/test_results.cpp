#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "base/output.hpp"
#include "cli/context.hpp"
#include "cli/report.hpp"

using namespace ctldb;

TEST_CASE("every command's JSON result carries ok and exit_code from the exit code") {
    nlohmann::json printed;
    Context ctx;
    ctx.global.output = OutputFormat::json;
    ctx.run = [&ctx] {
        ctx.emit_result({{"ok", true}, {"tables", nlohmann::json::array()}});
        return ExitCode::failure;
    };
    // The document goes to stdout; what matters here is that it is taken.
    CHECK(run_command(ctx) == 1);
    nlohmann::json left;
    CHECK_FALSE(ctx.take_result(left));
    // Each context holds its own result: another one has none.
    Context other;
    CHECK_FALSE(other.take_result(left));
    // A command that throws after emitting prints only its error document.
    ctx.run = [&ctx]() -> ExitCode {
        ctx.emit_result({{"half", true}});
        throw failure("broke");
    };
    CHECK(run_command(ctx) == 1);
    CHECK_FALSE(ctx.take_result(left));
}
