// The commands of ctldb: each file of src/commands/ contributes one row of
// the command table (cli/command_table.hpp); command_table() lists them in
// the order help shows them.
#pragma once

#include <vector>

namespace CLI {
class App;
}

namespace ctldb {

class Context;

namespace cli {
struct CommandRow;
}

const cli::CommandRow& config_command();
const cli::CommandRow& migrate_command();
const cli::CommandRow& seed_command();
const cli::CommandRow& backup_command();
const cli::CommandRow& restore_command();
const cli::CommandRow& gen_certs_command();
const cli::CommandRow& check_ssl_command();
const cli::CommandRow& indexes_command();
const cli::CommandRow& vacuum_command();
const cli::CommandRow& pool_stats_command();
const cli::CommandRow& doctor_command();
const cli::CommandRow& queries_command();
const cli::CommandRow& tables_command();
const cli::CommandRow& roles_command();
const cli::CommandRow& settings_command();
const cli::CommandRow& metrics_command();
const cli::CommandRow& wait_command();
const cli::CommandRow& local_command();
const cli::CommandRow& version_command();
const cli::CommandRow& help_command();
const cli::CommandRow& completion_command();
const cli::CommandRow& man_command();

/// Every command, in the order help lists them.
const std::vector<const cli::CommandRow*>& command_table();

/// One subcommand of `app` per row of the table, bound to `ctx`; then the
/// help footers and value names (cli::decorate).
void register_commands(CLI::App& app, Context& ctx);

}  // namespace ctldb
