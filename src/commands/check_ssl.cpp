// ctldb check-ssl: the server's TLS as a client sees it — protocol, cipher,
// certificate, chain, host names, expiry — and the server's own settings
// and non-TLS clients. All findings first, then exit 1 if any failed.

#include <unistd.h>

#include <libpq-fe.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "base/findings.hpp"
#include "cli/context.hpp"
#include "cli/outcome.hpp"
#include "commands/check_ssl.hpp"
#include "commands/commands.hpp"
#include "pg/connection.hpp"
#include "pg/probes.hpp"
#include "tls/tls_check.hpp"

namespace ctldb::commands {

ExitCode CheckSslResult::code() const {
    return report.findings.failed() ? ExitCode::failure : ExitCode::ok;
}

std::string CheckSslResult::text(bool color) const {
    return report.findings.render(color);
}

nlohmann::json CheckSslResult::json() const {
    nlohmann::json doc = report.to_json();
    doc["host"] = host;
    doc["port"] = port;
    return doc;
}

CheckSslResult run_check_ssl(const CheckSslOptions& o, Context& ctx) {
    if (o.critical_days < 0 || o.warn_days < 0)
        throw usage_error("--warn-days and --critical-days must be >= 0");
    const config::Config& cfg = ctx.valid_config(true);
    config::ConnectionSettings cs = cfg.connection();
    const std::string ca_file = o.ca.empty() ? cs.sslrootcert : o.ca;
    if (!ca_file.empty() && ::access(ca_file.c_str(), R_OK) != 0) {
        throw usage_error("CA file " + ca_file + " is not readable");
    }
    // ctldb verifies the chain and the host names itself, so that every
    // finding is reported even when libpq's verify-full would refuse.
    config::ConnectionSettings unverified = cs;
    if (unverified.sslmode == "verify-ca" || unverified.sslmode == "verify-full") {
        unverified.sslmode = "require";
        unverified.sslrootcert.clear();
    }
    auto conn = pg::connect(unverified);
    pg::probe::bound_reads(*conn);
    // The host the connection really uses (a service file may name it).
    if (cs.host.empty() && PQhost(conn->raw()) != nullptr) cs.host = PQhost(conn->raw());

    tls::TlsCheckOptions to;
    to.warn_days = o.warn_days;
    to.critical_days = o.critical_days;
    to.ca_file = ca_file;
    to.ns = o.ns;
    to.service = o.service;
    return {cs.host, cs.port, check_tls(*conn, cs.host, cs.sslmode, to)};
}

void bind_check_ssl(CLI::App* cmd, Context& ctx) {
    static CheckSslOptions o;
    cmd->add_option("--warn-days", o.warn_days,
                    "Fail when the certificate expires within this many days (default 30)");
    cmd->add_option("--critical-days", o.critical_days,
                    "Report as critical within this many days (default 7)");
    cmd->add_option("--ca", o.ca,
                    "CA certificate(s) to verify the chain (default DB_SSL_ROOT_CERT)");
    cmd->add_option("--namespace", o.ns,
                    "Namespace for the service names (default cloudtolocalllm)");
    cmd->add_option("--service", o.service, "Service name (default postgres)");
    cmd->callback([&ctx] { ctx.run = [&ctx] { return cli::Outcome::of(run_check_ssl(o, ctx)); }; });
}

}  // namespace ctldb::commands
