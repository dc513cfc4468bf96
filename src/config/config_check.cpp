#include "config/config_check.hpp"

#include "base/password.hpp"
#include "base/text.hpp"

namespace ctldb::config {

Findings config_findings(const Config& cfg) {
    const ConnectionSettings cs = cfg.connection();
    Findings findings;
    findings.add(
        "configuration", Status::ok,
        cfg.file().empty() ? "valid (no config file)" : "valid; config file " + cfg.file());

    if (cs.password.empty()) {
        findings.add("password", Status::warn,
                     "no password configured; libpq falls back to ~/.pgpass or PGPASSFILE",
                     "mount the Secret's postgres-password and set DB_PASSWORD_FILE");
    } else {
        auto gaps = password_policy_gaps(cs.password);
        if (gaps.empty()) {
            findings.add("password", Status::ok,
                         "meets the guide's policy (from " + cfg.get("password").source + ")");
        } else {
            findings.add("password", Status::warn,
                         "weaker than the guide's policy: " + join(gaps, ", "),
                         "the guide's 'Password Requirements': 16+ characters with upper, lower, "
                         "digits and symbols (openssl rand -base64 24)");
        }
    }

    const bool internal = is_cluster_internal_host(cs.host);
    if (!cs.host.empty() && cs.host[0] == '/') {
        findings.add("sslmode", Status::ok,
                     cs.sslmode + " (a Unix socket in " + cs.host + ": TLS does not apply)");
    } else if (cs.sslmode == "disable" || cs.sslmode == "allow" || cs.sslmode == "prefer") {
        findings.add("sslmode", Status::warn, cs.sslmode + " allows unencrypted connections",
                     "use require inside the cluster, verify-full outside it");
    } else if (cs.sslmode != "verify-full" && !internal && !cs.host.empty() && cs.host[0] != '/') {
        findings.add("sslmode", Status::warn, cs.sslmode + " does not verify the server's name",
                     "use verify-full for '" + cs.host + "', which is outside the cluster");
    } else {
        findings.add("sslmode", Status::ok, cs.sslmode);
    }
    return findings;
}

}  // namespace ctldb::config
