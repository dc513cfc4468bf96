// ctldb settings, callable from vacuum autovacuum (its alias for the two
// autovacuum settings).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/context.hpp"

namespace ctldb::commands {

struct SettingsOptions {
    std::vector<std::string> only;  ///< empty: every guide setting
    int pods = 1;
    int admin_reserve = 15;
    std::int64_t pool_max = 50;  ///< from DB_POOL_MAX
    std::string ssl_cert_file, ssl_key_file;
    bool dry_run = false, yes = false;
};

enum class SettingsMode { show, check, apply };

cli::Outcome run_settings(const SettingsOptions& o, SettingsMode mode, Context& ctx);

}  // namespace ctldb::commands
