// ctldb check-ssl: options, result and the run function.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "cli/context.hpp"
#include "tls/tls_check.hpp"

namespace ctldb::commands {

struct CheckSslOptions {
    int warn_days = 30;
    int critical_days = 7;
    std::string ca;
    std::string ns = "cloudtolocalllm";
    std::string service = "postgres";
};

struct CheckSslResult {
    std::string host;
    int port = 0;
    tls::TlsReport report;
    ExitCode code() const;
    std::string text(bool color) const;
    nlohmann::json json() const;
};

CheckSslResult run_check_ssl(const CheckSslOptions& o, cli::Context& ctx);

}  // namespace ctldb::commands
