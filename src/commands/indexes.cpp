// ctldb indexes [check|ensure]: the guide's required indexes, invalid and
// duplicate ones, unused ones, foreign keys without an index; and creating
// or rebuilding them concurrently.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "base/findings.hpp"
#include "base/log.hpp"
#include "base/output.hpp"
#include "base/signals.hpp"
#include "base/text.hpp"
#include "checks/index_check.hpp"
#include "cli/context.hpp"
#include "cli/outcome.hpp"
#include "commands/commands.hpp"
#include "pg/connection.hpp"
#include "pg/probes.hpp"

namespace ctldb::commands {

namespace {

struct IndexesOptions {
    bool dry_run = false;
    std::string lock_timeout = "10s";
};

checks::IndexReport run_check(Context& ctx) {
    auto conn = pg::connect(ctx.valid_config(true).connection());
    pg::probe::bound_reads(*conn);
    return checks::analyse_indexes(*conn);
}

cli::Outcome run_ensure(const IndexesOptions& o, Context& ctx) {
    pg::check_pg_duration("--lock-timeout", o.lock_timeout);
    auto conn = pg::connect(ctx.valid_config(true).connection());
    // A guide index whose table or column this database does not have is
    // not applicable: never proposed, never created.
    checks::IndexReport rep = checks::analyse_indexes(*conn);
    for (const auto& name : rep.not_applicable)
        log::info(name + " not applicable: this database has no such table or column");
    if (o.dry_run) {
        std::string out;
        for (const auto& s : rep.ensure_sql)
            out += s + ";\n";
        return cli::Outcome::done(
            ExitCode::ok,
            out.empty() ? "nothing to do: every applicable guide index is "
                          "present and valid\n"
                        : out,
            {{"dry_run", true}, {"sql", rep.ensure_sql}, {"not_applicable", rep.not_applicable}});
    }
    Progress progress("indexes ensure", rep.ensure_sql.size(), "statements");
    const std::vector<std::string> ran =
        ensure_indexes(*conn, rep, o.lock_timeout, [&](std::size_t n) { progress.update(n); });
    progress.finish();
    const nlohmann::json done = ran;
    checks::IndexReport after = checks::analyse_indexes(*conn);
    const ExitCode code = after.required_problem ? ExitCode::failure : ExitCode::ok;
    return cli::Outcome::done(
        code,
        done.empty()
            ? "nothing to do: every required index is present and valid\n"
            : "ran " + std::to_string(done.size()) + " statement(s); required indexes " +
                  (code == ExitCode::ok ? "all present and valid\n" : "STILL NOT all valid\n"),
        {{"executed", done}, {"required", after.doc["required"]}});
}

}  // namespace

void bind_indexes(CLI::App* cmd, Context& ctx) {
    static IndexesOptions o;
    cmd->callback([cmd, &ctx] {
        if (cmd->get_subcommands().empty())
            ctx.run = [&ctx] { return cli::Outcome::of(run_check(ctx)); };
    });
    auto* check =
        cmd->add_subcommand("check", "Report; exit 1 when a required index is missing or invalid");
    check->callback([&ctx] { ctx.run = [&ctx] { return cli::Outcome::of(run_check(ctx)); }; });
    auto* ensure = cmd->add_subcommand(
        "ensure", "Create missing required indexes, rebuild invalid ones, concurrently");
    ensure->add_flag("--dry-run", o.dry_run, "Print the exact SQL; change nothing");
    ensure->add_option("--lock-timeout", o.lock_timeout,
                       "lock_timeout for each statement (default 10s)");
    ensure->callback([&ctx] { ctx.run = [&ctx] { return run_ensure(o, ctx); }; });
}

}  // namespace ctldb::commands
