// ctldb version: the same line as --version, or JSON.
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "base/cpus.hpp"
#include "base/log.hpp"
#include "base/version.hpp"
#include "cli/command_table.hpp"
#include "cli/context.hpp"
#include "commands/commands.hpp"

namespace ctldb {

ExitCode run_version(Context& ctx) {
    const CpuBudget cpus = available_cpus();
    if (ctx.json()) {
        emit_result({{"version", version()},
                     {"libpq", PQlibVersion()},
                     {"openssl", OpenSSL_version(OPENSSL_VERSION)},
                     {"cpus", cpus.cpus},
                     {"cpus_source", cpus.source}});
    } else {
        print_text(version_line() + "\n");
        log::detail("CPUs available: " + std::to_string(cpus.cpus) + " (" + cpus.source + ")");
    }
    return ExitCode::ok;
}

void bind_version(CLI::App& command, Context& ctx) {
    auto* cmd = &command;
    cmd->callback([&ctx] {
        ctx.config_free = true;
        ctx.run = [&ctx] { return run_version(ctx); };
    });
}

// data table: the command's row of the command table (commands/commands.cpp).
const cli::CommandRow& version_command() {
    static const cli::CommandRow row{
        "version",
        "Print the version of ctldb and its libraries",
        bind_version,
        {
            {"version",
             {{"ctldb version", "ctldb, libpq and OpenSSL versions"},
              {"ctldb version -o json", "With the CPUs ctldb may use"}}},
        }};
    return row;
}

}  // namespace ctldb
