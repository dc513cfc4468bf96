#include "commands/commands.hpp"

#include <CLI/CLI.hpp>

#include "cli/command_table.hpp"

namespace ctldb {

// data table: every command, in the order help lists them.
const std::vector<const cli::CommandRow*>& command_table() {
    static const std::vector<const cli::CommandRow*> table = {
        &config_command(),     &migrate_command(),    &seed_command(),      &backup_command(),
        &restore_command(),    &gen_certs_command(),  &check_ssl_command(), &indexes_command(),
        &vacuum_command(),     &pool_stats_command(), &doctor_command(),    &queries_command(),
        &tables_command(),     &roles_command(),      &settings_command(),  &metrics_command(),
        &wait_command(),       &local_command(),      &version_command(),   &help_command(),
        &completion_command(), &man_command(),
    };
    return table;
}

void register_commands(CLI::App& app, Context& ctx) {
    cli::use_command_table(command_table());
    for (const cli::CommandRow* row : command_table())
        row->bind(*app.add_subcommand(row->name, row->summary), ctx);
    cli::decorate(app);
}

}  // namespace ctldb
