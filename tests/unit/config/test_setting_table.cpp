// The settings table drives parsing, `config show`, docs and completions:
// keep it consistent.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "config/config.hpp"
#include "config/setting_table.hpp"

using namespace ctldb;
using namespace ctldb::config;

TEST_CASE("settings table: names are unique and complete") {
    std::set<std::string_view> keys, envs, flags, file_keys;
    for (const auto& s : settings()) {
        CHECK_MESSAGE(keys.insert(s.key).second, "duplicate key " << s.key);
        CHECK_MESSAGE(envs.insert(s.env).second, "duplicate env " << s.env);
        CHECK_MESSAGE(file_keys.insert(s.file_key).second, "duplicate file key " << s.file_key);
        if (!s.flag.empty())
            CHECK_MESSAGE(flags.insert(s.flag).second, "duplicate flag " << s.flag);
        CHECK(!s.description.empty());
        CHECK(!s.env.empty());
        if (s.required) CHECK_MESSAGE(!s.flag.empty(), s.key << " is required but has no flag");
    }
    // The DESIGN table's variables are all there.
    for (const char* env :
         {"DB_TYPE", "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD", "DB_PASSWORD_FILE",
          "DB_SSL_MODE", "DB_SSL_ROOT_CERT", "DB_SSL_CERT", "DB_SSL_KEY", "DB_POOL_MAX",
          "DB_POOL_IDLE_TIMEOUT", "DB_POOL_CONNECTION_TIMEOUT", "CTLDB_ENV"}) {
        CHECK_MESSAGE(envs.count(env) == 1, env << " missing from the settings table");
    }
    // The password never has a flag: it would show in `ps`.
    CHECK(find_setting("password")->flag.empty());
}

TEST_CASE("settings table: every default passes its own validation") {
    ConfigInputs in;
    in.env = [](const std::string&) { return std::optional<std::string>(); };
    Config c = resolve_config(in);
    CHECK(c.problems(false).empty());
    for (const auto& s : settings()) {
        if (s.kind == SettingKind::choice) {
            bool found = false;
            for (auto ch : s.choices)
                found = found || ch == s.default_value;
            CHECK_MESSAGE(found, s.key << " default is not one of its choices");
        }
    }
}

TEST_CASE("settings table: DESIGN defaults") {
    CHECK(find_setting("port")->default_value == "5432");
    CHECK(find_setting("sslmode")->default_value == "require");
    CHECK(find_setting("pool_max")->default_value == "50");
    CHECK(find_setting("pool_idle_timeout_ms")->default_value == "600000");
    CHECK(find_setting("connect_timeout_ms")->default_value == "30000");
    CHECK(find_setting("env")->default_value == "development");
    CHECK(find_setting("type")->default_value == "postgresql");
    CHECK(find_setting("sslmode")->choices.size() == 6);
}
