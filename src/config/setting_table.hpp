// The one table of ctldb settings.
//
// Each row says where a setting may come from (flag, environment, config
// file), its type, default and allowed values. Parsing, validation,
// `ctldb config show`, the docs and the shell completions are all derived
// from this table; tests/unit/config/test_setting_table.cpp keeps it consistent.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ctldb::config {

enum class SettingKind {
    text,     ///< free text (host names, database names, ...)
    integer,  ///< whole number within [min, max]
    choice,   ///< one of `choices`
    path,     ///< a file that must exist and be readable
    secret,   ///< never shown; `********` in output
};

struct SettingSpec {
    std::string_view key;       ///< canonical name, e.g. "port"
    std::string_view env;       ///< ctldb's environment variable, e.g. "DB_PORT"
    std::string_view pg_env;    ///< libpq's variable used as a fallback (PGPORT), or empty
    std::string_view flag;      ///< long flag without dashes, e.g. "port", or empty
    std::string_view file_key;  ///< dotted path in ctldb's own YAML file
    SettingKind kind;
    std::string_view default_value;  ///< empty: no default
    std::vector<std::string_view> choices;
    std::int64_t min = 0;
    std::int64_t max = 0;
    bool required = false;  ///< must be set for commands that connect
    std::string_view description;
    /// Another tool's variable that names this setting only when none of
    /// ctldb's own sources (flag, environment, config file) does: NODE_ENV
    /// for the environment name. Read from the environment, then from a
    /// ConfigMap's data. Empty for most settings.
    std::string_view other_tool_env = {};
};

/// Every setting, in display order.
const std::vector<SettingSpec>& settings();

/// The row for `key`, or nullptr.
const SettingSpec* find_setting(std::string_view key);

/// "env CTLDB_BACKUP_DIR, default /backups": how help texts name where a
/// setting's value comes from, from this table, so no default is typed
/// twice.
std::string env_and_default(std::string_view key);

}  // namespace ctldb::config
