// ctldb doctor: the guide's Troubleshooting and Monitoring sections as one
// run of checks. The check table drives --checks/--skip, help and the
// docs; each check reads through the probes, decides, and adds findings
// (with a hint) or says what it could not read and the grant it needs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/error.hpp"
#include "base/findings.hpp"
#include "config/config.hpp"
#include "pg/connection.hpp"
#include "tls/tls_check.hpp"

namespace ctldb::doctor {

struct Options {
    std::vector<std::string> only;  ///< --checks; empty: all
    std::vector<std::string> skip;  ///< --skip
    int pods = 1;
    int admin_reserve = 15;
    double long_query_s = 300;
    double idle_in_transaction_s = 60;
    double lock_wait_s = 30;
    double max_backup_age_s = 26 * 3600;
    double timeout_s = 5;        ///< per statement of every check
    int jobs = 2;                ///< connections the server checks share
    std::string migrations_dir;  ///< "" : the migrations built into ctldb
    std::string layout = "auto";
    std::string backup_dir;  ///< "" : the configured backup_dir
    tls::TlsCheckOptions tls;
};

/// Something a check could not read, and the grant (or other
/// precondition) that would let it.
struct Limitation {
    std::string check;
    std::string what;
    std::string needs;
};

/// One entry of the check table.
struct CheckInfo {
    const char* name;
    const char* title;
    bool needs_server;
};
const std::vector<CheckInfo>& checks();

/// What one check did.
struct CheckRun {
    std::string name;
    bool ran = false;
    double duration_ms = 0;
};

struct Report {
    Findings findings;  ///< most urgent first
    std::vector<Limitation> not_run;
    std::vector<CheckRun> runs;
    std::optional<double> connect_ms;
    double duration_ms = 0;
    ExitCode exit = ExitCode::ok;
    ExitCode code() const { return exit; }
    nlohmann::json json() const;
    std::string text(bool color) const;
};

/// Throws Error(usage) for a name that is not a check.
void validate(const Options& o);

/// Runs every selected check; never throws for what it finds (a refused
/// connection is the "connection" finding and exit code connect).
Report run(const config::Config& cfg, const Options& o);

/// "100 -> 101 -> 102", branches in braces: a lock tree on one line. Pure.
std::string render_tree(const pg::probe::LockTree& t);

}  // namespace ctldb::doctor
