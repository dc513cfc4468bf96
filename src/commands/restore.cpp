// ctldb restore FILE|latest: read the backup once and execute it over
// libpq in one transaction (custom archives through `pg_restore -f -`),
// verifying every byte on the way; COMMIT only after the checksums, the
// closing marker and the manifest's row counts all passed. The engine is
// backup/restore.cpp; see docs/backup.md for why psql is not used.
#include <CLI/CLI.hpp>

#include "backup/remote.hpp"
#include "backup/restore.hpp"
#include "cli/cli_values.hpp"
#include "cli/context.hpp"
#include "cli/outcome.hpp"
#include "commands/commands.hpp"
#include "config/setting_table.hpp"

namespace ctldb::commands {

namespace {

std::string g_lock_timeout = "5s";

cli::Outcome run_restore(backup::RestoreOptions o, Context& ctx) {
    o.lock_timeout_ms =
        static_cast<int>(cli::duration_option("--lock-timeout", g_lock_timeout) * 1000);
    const config::Config& cfg = ctx.valid_config(true);
    backup::use_object_storage(cfg, ctx.env);
    if (o.drill) return cli::Outcome::of_report(backup::drill_backup(o, cfg, ctx.env));
    return cli::Outcome::of_report(restore_backup(o, cfg, ctx.env));
}

}  // namespace

void bind_restore(CLI::App* cmd, Context& ctx) {
    static backup::RestoreOptions o;
    cmd->add_option("file", o.file, "Backup file, or 'latest' in --dir")->required();
    cmd->add_option("--dir", o.dir,
                    "Backup directory or s3://bucket/prefix for 'latest' (" +
                        config::env_and_default("backup_dir") + ")");
    cmd->add_option("--target-db", o.target_db, "Database to restore into (default: DB_NAME)");
    cmd->add_flag("--create", o.create, "Create the target database first");
    cmd->add_flag("--drill", o.drill,
                  "A restore drill: into a new database of its own, row counts compared with "
                  "the manifest, dropped again, the result recorded by the backup (for doctor "
                  "and metrics)");
    cmd->add_flag("--clean", o.clean, "Replace the contents of a non-empty target");
    cmd->add_option("--jobs", o.jobs,
                    "Custom archives: pg_restore -j N into a new database, swapped in by renaming "
                    "once its row counts match (default 1: one transaction)")
        ->check(CLI::Range(1, 64));
    cmd->add_flag("-y,--yes", o.yes, "Do not ask for confirmation");
    cmd->add_flag("--force", o.force,
                  "Allow --clean in production (CTLDB_ENV or NODE_ENV); --yes is still needed "
                  "off a terminal");
    cmd->add_flag("--drop-previous", o.drop_previous,
                  "With --jobs: drop the replaced database after the swap instead of keeping it "
                  "under a dated name");
    cmd->add_option("--role", o.role,
                    "Run the dump's statements as this role (SET ROLE; default: the target "
                    "database's owner; with --create the new database is created for it)");
    cmd->add_flag("--as-superuser", o.as_superuser,
                  "Connected as a superuser: run the dump with full superuser rights instead of "
                  "the owner's (trusts the file's functions, triggers and defaults)");
    cmd->add_option("--lock-timeout", g_lock_timeout,
                    "How long --clean, --create and the --jobs swap wait for a lock before "
                    "giving up with exit 4, nothing changed (default 5s)");
    cmd->add_option("--identity", o.identity_file,
                    "age identity file for an encrypted backup (env CTLDB_AGE_IDENTITY_FILE; "
                    "default: none)")
        ->type_name("FILE");
    cmd->add_flag("--no-manifest", o.no_manifest,
                  "Accept a dump made without ctldb (any name, no manifest): checked for "
                  "completeness only, row counts not compared");
    cmd->callback([&ctx] { ctx.run = [&ctx] { return run_restore(o, ctx); }; });
}

}  // namespace ctldb::commands
