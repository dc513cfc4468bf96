// The checks of ctldb doctor (internal to the core): each reads through
// the probes, decides and adds findings to its Env.
#pragma once

#include <string>
#include <vector>

#include "doctor/doctor.hpp"

namespace ctldb::doctor {

struct Env {
    const config::Config& cfg;
    const Options& o;
    pg::Connection* conn;  ///< null for the checks that need no server
    Findings& out;
    std::vector<Limitation>& limits;
    std::string check;
    /// Something this check could not read, and what would let it.
    void limit(std::string what, std::string needs) {
        limits.push_back({check, std::move(what), std::move(needs)});
    }
};

using CheckFn = void (*)(Env&);

/// The function of a check of the table, by name.
CheckFn check_function(const std::string& name);

/// The configuration and password policy (no server).
void check_config(Env& e);
/// The newest usable backup in the backup directory (no server).
void check_backups(Env& e);
void check_tls(Env& e);
void check_connections(Env& e);
void check_sessions(Env& e);
void check_locks(Env& e);
void check_wraparound(Env& e);
void check_storage(Env& e);
void check_autovacuum(Env& e);
void check_indexes(Env& e);
void check_migrations(Env& e);
void check_security(Env& e);
void check_extensions(Env& e);

}  // namespace ctldb::doctor
