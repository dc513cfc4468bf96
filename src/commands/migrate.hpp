// Shared by the files of ctldb migrate: migrate.cpp (up, status, lint,
// create and the command line), migrate_adopt.cpp (baseline, validate: the
// schema proof) and migrate_down.cpp (down: what it destroys).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cli/context.hpp"
#include "migrate/file_runner.hpp"
#include "migrate/migration_history.hpp"
#include "migrate/migrations.hpp"
#include "pg/connection.hpp"

namespace ctldb::commands {

struct MigrateOptions {
    std::string dir;
    bool dry_run = false;
    std::string to;
    int lock_timeout_s = 60;
    std::string ddl_lock_timeout = "10s";
    std::string statement_timeout = "15m";
    bool allow_out_of_order = false;
    std::vector<std::string> include;  ///< node: shadowed files to apply under their own names
    bool check = false;
    std::int64_t steps = 0;
    std::string baseline_version;
    std::string name;
    bool no_transaction = false;
    bool force = false;
    bool no_schema_check = false;
    bool yes = false;
    std::string layout = "auto";
    std::string from;  ///< baseline --from TOOL
};

/// The set --dir (else the migrations_dir setting) names, or the one built
/// into ctldb. Error(usage) for a directory without migration files.
migrate::MigrationSet load_set(const MigrateOptions& o, cli::Context& ctx);
/// Rollback files without their migration, as warnings (for the commands
/// whose output does not list every file).
void warn_orphans(const migrate::MigrationSet& set);
/// The migration a command line names as the files write its version
/// ("3", "0003", "1.1") or by its file name. With `allow_zero`, "0" (before
/// the first migration) too, as null. Error(usage) otherwise.
const migrate::Migration* migration_of(const migrate::MigrationSet& set, const std::string& option,
                                       const std::string& text, bool allow_zero = false);
std::unique_ptr<pg::Connection> open(cli::Context& ctx);
/// Modified and missing files, which up and down refuse to run over.
std::vector<std::string> drift(const std::vector<migrate::MigrationStatus>& list);
/// Error(failure) listing every problem of `files` found without a server.
void require_static_checks(const std::vector<const migrate::Migration*>& files, bool down,
                           migrate::ParsedFiles& parsed);
/// The file runner's timeouts from --ddl-lock-timeout and --statement-timeout.
migrate::RunTimeouts timeouts_of(const MigrateOptions& o);

cli::Outcome run_validate(const MigrateOptions& o, cli::Context& ctx);
cli::Outcome run_baseline(const MigrateOptions& o, cli::Context& ctx);
cli::Outcome run_down(const MigrateOptions& o, cli::Context& ctx);

}  // namespace ctldb::commands
