// Registration of every command. Each command file defines one
// register_<name>() that adds its subcommand to the app and, when chosen,
// sets Context::run to its own run function.
#pragma once

namespace CLI {
class App;
}

namespace ctldb {

class Context;

void register_config(CLI::App& app, Context& ctx);
void register_local(CLI::App& app, Context& ctx);
void register_migrate(CLI::App& app, Context& ctx);
void register_seed(CLI::App& app, Context& ctx);
void register_backup(CLI::App& app, Context& ctx);
void register_restore(CLI::App& app, Context& ctx);
void register_gen_certs(CLI::App& app, Context& ctx);
void register_check_ssl(CLI::App& app, Context& ctx);
void register_pool_stats(CLI::App& app, Context& ctx);
void register_indexes(CLI::App& app, Context& ctx);
void register_vacuum(CLI::App& app, Context& ctx);
void register_doctor(CLI::App& app, Context& ctx);
void register_queries(CLI::App& app, Context& ctx);
void register_tables(CLI::App& app, Context& ctx);
void register_roles(CLI::App& app, Context& ctx);
void register_settings(CLI::App& app, Context& ctx);
void register_metrics(CLI::App& app, Context& ctx);
void register_wait(CLI::App& app, Context& ctx);
void register_version(CLI::App& app, Context& ctx);
/// help, completion and man: generated from everything registered before.
void register_cli_docs(CLI::App& app, Context& ctx);

/// All of the above, in help order.
void register_commands(CLI::App& app, Context& ctx);

}  // namespace ctldb
