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

namespace ctldb {

ExitCode run_version(Context& ctx) {
    const CpuBudget cpus = available_cpus();
    if (ctx.json()) {
        ctx.emit_result({{"version", version()},
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

void bind_version(CLI::App* cmd, Context& ctx) {
    cmd->callback([&ctx] {
        ctx.config_free = true;
        ctx.run = [&ctx] { return run_version(ctx); };
    });
}

}  // namespace ctldb
