#include "commands/commands.hpp"

#include <CLI/CLI.hpp>

#include "cli/cli_tree.hpp"
#include "cli/command_table.hpp"

namespace ctldb::commands {

// data table: every command (name, one-line summary, what binds its
// options), in the order help lists them, as ninja's kTools[] drives its
// dispatch and help.
const std::vector<cli::CommandRow>& command_table() {
    static const std::vector<cli::CommandRow> table = {
        {"config", "Show and check the configuration (default: show)", bind_config},
        {"migrate", "Versioned schema migrations (default: up)", bind_migrate},
        {"seed", "Development seed data (idempotent), or generated data", bind_seed},
        {"backup", "Verified, atomic logical backups (default: take one)", bind_backup},
        {"restore", "Verify a backup completely, then restore it in one transaction", bind_restore},
        {"gen-certs", "A CA and server/client certificates that verify-full accepts",
         bind_gen_certs},
        {"check-ssl", "Check the server's TLS: certificate, chain, names, expiry, clients",
         bind_check_ssl},
        {"indexes", "Required, invalid, duplicate and unused indexes (default: check)",
         bind_indexes},
        {"vacuum", "VACUUM (ANALYZE) in parallel, biggest tables first; status; autovacuum",
         bind_vacuum},
        {"pool-stats", "Connections by state and client, lock waits, pool sizing", bind_pool_stats},
        {"doctor", "Every check of the guide's troubleshooting: findings by urgency, with hints",
         bind_doctor},
        {"queries", "Sessions longest first with lock waits as trees; top statements; cancel",
         bind_queries},
        {"tables", "Table sizes (heap, indexes, TOAST), rows, dead tuples, vacuum times, bloat",
         bind_tables},
        {"roles",
         "Roles and what each may do here; least-privilege check; read-only role; "
         "password rotation",
         bind_roles},
        {"settings", "The guide's server settings: value, source, pending restart; check; apply",
         bind_settings},
        {"metrics", "Prometheus metrics: the server, and backups, certificate, pools, migrations",
         bind_metrics},
        {"wait", "Wait until the server accepts a connection with the configured settings",
         bind_wait},
        {"local", "A local PostgreSQL sandbox configured like the guide's production", bind_local},
        {"version", "Print the version of ctldb and its libraries", bind_version},
        {"help", "Help of ctldb or of a command (-o json: as data)", bind_help},
        {"completion", "Print the shell completion script for bash, zsh or fish", bind_completion},
        {"man", "Print the man page (roff): ctldb man | man -l -", bind_man},
    };
    return table;
}

void register_commands(CLI::App& app, Context& ctx) {
    for (const cli::CommandRow& row : command_table())
        row.bind(app.add_subcommand(row.name, row.summary), ctx);
    cli::decorate(app);
}

}  // namespace ctldb::commands
