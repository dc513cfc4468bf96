// ctldb doctor: the guide's Troubleshooting and Monitoring sections as one
// command. The checks live in the core (core/doctor*.cpp); this file binds
// the options and prints the report.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "backup/remote.hpp"
#include "base/output.hpp"
#include "base/text.hpp"
#include "cli/cli_values.hpp"
#include "cli/context.hpp"
#include "cli/outcome.hpp"
#include "commands/commands.hpp"
#include "doctor/doctor.hpp"

namespace ctldb::commands {

namespace {

struct DoctorCli {
    doctor::Options o;
    std::string checks, skip;
    std::string long_query = "5m", idle_in_transaction = "1m", lock_wait = "30s";
    std::string max_backup_age = "26h", timeout = "5s";
};

cli::Outcome run_doctor(DoctorCli& cli, Context& ctx) {
    doctor::Options& o = cli.o;
    o.only = cli::split_list(cli.checks);
    o.skip = cli::split_list(cli.skip);
    o.long_query_s = cli::duration_option("--long-query", cli.long_query);
    o.idle_in_transaction_s =
        cli::duration_option("--idle-in-transaction", cli.idle_in_transaction);
    o.lock_wait_s = cli::duration_option("--lock-wait", cli.lock_wait);
    o.max_backup_age_s = cli::duration_option("--max-backup-age", cli.max_backup_age);
    o.timeout_s = cli::duration_option("--timeout", cli.timeout);
    doctor::validate(o);
    const config::Config& cfg = ctx.valid_config(true);
    backup::use_object_storage(cfg, ctx.env);
    return cli::Outcome::of(doctor::run(cfg, o));
}

}  // namespace

void bind_doctor(CLI::App* cmd, Context& ctx) {
    static DoctorCli cli;
    std::string names;
    for (const auto& c : doctor::checks())
        names += std::string(names.empty() ? "" : ", ") + c.name;
    cmd->add_option("--checks", cli.checks,
                    "Only these checks, comma-separated (default: all): " + names);
    cmd->add_option("--skip", cli.skip, "Leave out these checks, comma-separated (default: none)");
    cmd->add_option("--pods", cli.o.pods,
                    "API pods sharing the server, for pool sizing (default 1)")
        ->check(CLI::Range(1, 10000));
    cmd->add_option("--admin-reserve", cli.o.admin_reserve,
                    "Connections kept for admin work (default 15)")
        ->check(CLI::Range(0, 10000));
    cmd->add_option("--long-query", cli.long_query,
                    "A query running longer is reported (default 5m)");
    cmd->add_option("--idle-in-transaction", cli.idle_in_transaction,
                    "A session idle in a transaction longer is reported (default 1m)");
    cmd->add_option("--lock-wait", cli.lock_wait,
                    "A lock wait longer than this fails, shorter warns (default 30s)");
    cmd->add_option("--max-backup-age", cli.max_backup_age,
                    "The newest backup may be this old (default 26h)");
    cmd->add_option("--backup-dir", cli.o.backup_dir,
                    "Backups to look at (default CTLDB_BACKUP_DIR)");
    cmd->add_option("--migrations-dir", cli.o.migrations_dir,
                    "The team's migrations folder to compare with the history (default "
                    "CTLDB_MIGRATIONS_DIR; without one, ctldb's built-in migrations where they "
                    "wrote the history)");
    cmd->add_option("--layout", cli.o.layout,
                    "How the migrations folder names its files (default "
                    "CTLDB_MIGRATIONS_LAYOUT, else auto)");
    cmd->add_option("--warn-days", cli.o.tls.warn_days,
                    "Warn when the certificate expires within this many days (default 30)");
    cmd->add_option("--critical-days", cli.o.tls.critical_days,
                    "Fail when it expires within this many days (default 7)");
    cmd->add_option("--ca", cli.o.tls.ca_file, "CA to verify the chain (default DB_SSL_ROOT_CERT)");
    cmd->add_option("--timeout", cli.timeout,
                    "Time limit of each statement of a check (default 5s)");
    cmd->add_option("--jobs", cli.o.jobs, "Connections the checks share (default 2)")
        ->check(CLI::Range(1, 16));
    cmd->callback([&ctx] { ctx.run = [&ctx] { return run_doctor(cli, ctx); }; });
}

}  // namespace ctldb::commands
