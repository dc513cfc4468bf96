#include "commands/commands.hpp"

#include "cli/cli_tree.hpp"

namespace ctldb {

void register_commands(CLI::App& app, Context& ctx) {
    register_config(app, ctx);
    register_migrate(app, ctx);
    register_seed(app, ctx);
    register_backup(app, ctx);
    register_restore(app, ctx);
    register_gen_certs(app, ctx);
    register_check_ssl(app, ctx);
    register_indexes(app, ctx);
    register_vacuum(app, ctx);
    register_pool_stats(app, ctx);
    register_doctor(app, ctx);
    register_queries(app, ctx);
    register_tables(app, ctx);
    register_roles(app, ctx);
    register_settings(app, ctx);
    register_metrics(app, ctx);
    register_wait(app, ctx);
    register_local(app, ctx);
    register_version(app, ctx);
    register_cli_docs(app, ctx);
    cli::decorate(app);
}

}  // namespace ctldb
