// What can be said about the configuration without a server: validity,
// the password against the guide's policy, the sslmode for the host.
// Shared by config check and doctor.
#pragma once

#include "base/findings.hpp"
#include "config/config.hpp"

namespace ctldb::config {

/// Findings "configuration", "password" and "sslmode" for a validated `cfg`.
Findings config_findings(const Config& cfg);

}  // namespace ctldb::config
