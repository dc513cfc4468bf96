// ctldb version: the same line as --version, or JSON.
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "base/cpus.hpp"
#include "base/log.hpp"
#include "base/version.hpp"
#include "cli/context.hpp"
#include "commands/commands.hpp"

namespace ctldb::commands {

cli::Outcome run_version() {
    const CpuBudget cpus = available_cpus();
    log::detail("CPUs available: " + std::to_string(cpus.cpus) + " (" + cpus.source + ")");
    return cli::Outcome::done(ExitCode::ok, version_line() + "\n",
                              {{"version", version()},
                               {"libpq", PQlibVersion()},
                               {"openssl", OpenSSL_version(OPENSSL_VERSION)},
                               {"cpus", cpus.cpus},
                               {"cpus_source", cpus.source}});
}

void bind_version(CLI::App* cmd, Context& ctx) {
    cmd->callback([&ctx] {
        ctx.config_free = true;
        ctx.run = [] { return run_version(); };
    });
}

}  // namespace ctldb::commands
