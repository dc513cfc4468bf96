// The one runner prints what a command returns: the command never prints.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/output.hpp"
#include "cli/context.hpp"
#include "cli/outcome.hpp"
#include "cli/report.hpp"

using namespace ctldb;
using namespace ctldb::cli;

namespace {

/// What `fn` writes to stdout (fd 1), and its return value.
std::string stdout_of(const std::function<void()>& fn) {
    std::fflush(stdout);
    std::FILE* tmp = std::tmpfile();
    REQUIRE(tmp != nullptr);
    const int saved = ::dup(1);
    ::dup2(::fileno(tmp), 1);
    fn();
    std::fflush(stdout);
    ::dup2(saved, 1);
    ::close(saved);
    std::rewind(tmp);
    std::string out;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, tmp)) > 0;)
        out.append(buf, n);
    std::fclose(tmp);
    return out;
}

struct Counted {
    int rows = 0;
    ExitCode code() const { return rows > 0 ? ExitCode::ok : ExitCode::failure; }
    std::string text(bool) const { return std::to_string(rows) + " row(s)\n"; }
    nlohmann::json json() const { return {{"rows", rows}, {"ok", "forged"}}; }
};

}  // namespace

TEST_CASE("the runner prints a command's JSON result with ok and exit_code from its code") {
    Context ctx;
    ctx.global.output = OutputFormat::json;
    ctx.run = [] { return Outcome::of(Counted{0}); };
    int rc = 0;
    const auto doc = nlohmann::json::parse(stdout_of([&] { rc = run_command(ctx); }));
    CHECK(rc == 1);
    CHECK(doc["ok"] == false);  // the result's own "ok" never wins
    CHECK(doc["exit_code"] == 1);
    CHECK(doc["rows"] == 0);
}

TEST_CASE("the runner prints the text for people, and nothing for a bare exit code") {
    Context ctx;
    ctx.run = [] { return Outcome::of(Counted{3}); };
    int rc = 1;
    CHECK(stdout_of([&] { rc = run_command(ctx); }) == "3 row(s)\n");
    CHECK(rc == 0);
    ctx.run = [] { return Outcome(ExitCode::failure); };
    CHECK(stdout_of([&] { rc = run_command(ctx); }).empty());
    CHECK(rc == 1);
}

TEST_CASE("a command that throws prints only its error document") {
    Context ctx;
    ctx.global.output = OutputFormat::json;
    ctx.run = []() -> Outcome { throw failure("broke"); };
    int rc = 0;
    const auto doc = nlohmann::json::parse(stdout_of([&] { rc = run_command(ctx); }));
    CHECK(rc == 1);
    CHECK(doc["ok"] == false);
    CHECK(doc["error"] == "broke");
    CHECK_FALSE(doc.contains("rows"));
}

TEST_CASE("Outcome::of renders at once: the result may point into the command's locals") {
    Outcome out;
    {
        std::string local = "gone soon";
        struct Pointing {
            const std::string* s;
            ExitCode code() const { return ExitCode::ok; }
            std::string text(bool) const { return *s; }
            nlohmann::json json() const { return {{"s", *s}}; }
        };
        out = Outcome::of(Pointing{&local});
        local.assign(100, 'x');  // what the runner prints was taken before
    }
    CHECK(out.text(false) == "gone soon");
    CHECK(out.json()["s"] == "gone soon");
}

TEST_CASE("a frame of a stream is one JSON line; Prometheus text when asked and offered") {
    Outcome frame = Outcome::frame(Counted{2}).with_prometheus("up 1\n").with_title("now");
    const std::string line = stdout_of([&] { print_frame(frame, OutputFormat::json); });
    CHECK(line.find('\n') == line.size() - 1);
    const auto doc = nlohmann::json::parse(line);
    CHECK(doc["ok"] == true);
    CHECK(doc["rows"] == 2);
    CHECK(stdout_of([&] { print_frame(frame, OutputFormat::prometheus); }) == "up 1\n");
    // Not a terminal: no screen clearing, no title, every frame kept.
    CHECK(stdout_of([&] { print_frame(frame, OutputFormat::text); }) == "2 row(s)\n");
}
