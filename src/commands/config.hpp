// ctldb config show / check: options, results and the run functions.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/findings.hpp"
#include "cli/context.hpp"

namespace ctldb::commands {

/// Every setting with its value (secrets masked) and where it came from.
struct ConfigShowResult {
    const config::Config* config = nullptr;
    std::vector<std::string> problems;
    ExitCode code() const { return problems.empty() ? ExitCode::ok : ExitCode::usage; }
    std::string text(bool color) const;
    nlohmann::json json() const;
};
ConfigShowResult run_config_show(Context& ctx);

struct ConfigCheckOptions {
    bool offline = false;
};

/// The configuration's findings, then the connection's: server, TLS, identity.
struct ConfigCheckResult {
    Findings findings;
    nlohmann::json server = nullptr;
    nlohmann::json tls = nullptr;
    bool connect_failed = false;
    ExitCode code() const;
    std::string text(bool color) const { return findings.render(color); }
    nlohmann::json json() const;
};
ConfigCheckResult run_config_check(const ConfigCheckOptions& o, Context& ctx);

}  // namespace ctldb::commands
