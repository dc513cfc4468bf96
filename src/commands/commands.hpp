// The commands of ctldb: each file of src/commands/ binds one command's
// options (bind_<name>); command_table() lists them with their names and
// summaries, in the order help shows them.
#pragma once

#include <vector>

namespace CLI {
class App;
}

namespace ctldb::cli {
class Context;
struct CommandRow;
}  // namespace ctldb::cli

namespace ctldb::commands {

using cli::Context;

void bind_config(CLI::App* cmd, Context& ctx);
void bind_migrate(CLI::App* cmd, Context& ctx);
void bind_seed(CLI::App* cmd, Context& ctx);
void bind_backup(CLI::App* cmd, Context& ctx);
void bind_restore(CLI::App* cmd, Context& ctx);
void bind_gen_certs(CLI::App* cmd, Context& ctx);
void bind_check_ssl(CLI::App* cmd, Context& ctx);
void bind_indexes(CLI::App* cmd, Context& ctx);
void bind_vacuum(CLI::App* cmd, Context& ctx);
void bind_pool_stats(CLI::App* cmd, Context& ctx);
void bind_doctor(CLI::App* cmd, Context& ctx);
void bind_queries(CLI::App* cmd, Context& ctx);
void bind_tables(CLI::App* cmd, Context& ctx);
void bind_roles(CLI::App* cmd, Context& ctx);
void bind_settings(CLI::App* cmd, Context& ctx);
void bind_metrics(CLI::App* cmd, Context& ctx);
void bind_wait(CLI::App* cmd, Context& ctx);
void bind_local(CLI::App* cmd, Context& ctx);
void bind_version(CLI::App* cmd, Context& ctx);
void bind_help(CLI::App* cmd, Context& ctx);
void bind_completion(CLI::App* cmd, Context& ctx);
void bind_man(CLI::App* cmd, Context& ctx);

/// Every command, in the order help lists them.
const std::vector<cli::CommandRow>& command_table();

/// One subcommand of `app` per row of the table, bound to `ctx`; then the
/// help footers and value names (cli::decorate).
void register_commands(CLI::App& app, Context& ctx);

}  // namespace ctldb::commands
