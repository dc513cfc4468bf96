#include "config/libpq.hpp"

namespace ctldb::config {

std::string conninfo_quote(std::string_view value) {
    std::string out = "'";
    for (char ch : value) {
        if (ch == '\\' || ch == '\'') out += '\\';
        out += ch;
    }
    out += '\'';
    return out;
}

int connect_timeout_seconds(int timeout_ms) {
    if (timeout_ms <= 0) return 0;
    int s = (timeout_ms + 999) / 1000;
    return s < 2 ? 2 : s;
}

const std::vector<LibpqParameter>& libpq_parameters() {
    using C = const ConnectionSettings&;
    static const std::vector<LibpqParameter> table = {
        {"service", "PGSERVICE", [](C c) { return c.service; }},
        {"host", "PGHOST", [](C c) { return c.host; }},
        {"hostaddr", "PGHOSTADDR", [](C c) { return c.hostaddr; }},
        {"port", "PGPORT", [](C c) { return c.port > 0 ? std::to_string(c.port) : std::string(); }},
        {"dbname", "PGDATABASE", [](C c) { return c.dbname; }},
        {"user", "PGUSER", [](C c) { return c.user; }},
        {"password", "PGPASSWORD", [](C c) { return c.password; }},
        {"sslmode", "PGSSLMODE", [](C c) { return c.sslmode; }},
        {"sslrootcert", "PGSSLROOTCERT", [](C c) { return c.sslrootcert; }},
        {"sslcert", "PGSSLCERT", [](C c) { return c.sslcert; }},
        {"sslkey", "PGSSLKEY", [](C c) { return c.sslkey; }},
    };
    return table;
}

std::string conninfo_from(const ConnectionSettings& c, bool include_password,
                          std::string_view application_name) {
    std::string out;
    auto add = [&out](const char* key, std::string_view value) {
        if (value.empty()) return;
        if (!out.empty()) out += ' ';
        out += key;
        out += '=';
        out += conninfo_quote(value);
    };
    for (const auto& p : libpq_parameters()) {
        if (!include_password && std::string_view(p.keyword) == "password") continue;
        add(p.keyword, p.get(c));
    }
    int t = connect_timeout_seconds(c.connect_timeout_ms);
    if (t > 0) add("connect_timeout", std::to_string(t));
    add("application_name", application_name);
    return out;
}

std::vector<std::pair<std::string, std::string>> libpq_environment(
    const ConnectionSettings& c, std::string_view application_name) {
    std::vector<std::pair<std::string, std::string>> env;
    auto add = [&env](const char* name, const std::string& value) {
        if (!value.empty()) env.emplace_back(name, value);
    };
    for (const auto& p : libpq_parameters())
        add(p.env, p.get(c));
    add("PGSERVICEFILE", c.service_file);
    const int t = connect_timeout_seconds(c.connect_timeout_ms);
    if (t > 0) add("PGCONNECT_TIMEOUT", std::to_string(t));
    add("PGAPPNAME", std::string(application_name));
    return env;
}

ChildConnection child_connection(
    const ConnectionSettings& c, std::string_view application_name,
    const std::function<std::optional<std::string>(const std::string&)>& env) {
    ChildConnection out;
    out.conninfo = conninfo_from(c, false, application_name);
    if (!c.password.empty()) out.env.emplace_back("PGPASSWORD", c.password);
    if (!c.service.empty()) {
        if (!c.service_file.empty()) {
            out.env.emplace_back("PGSERVICEFILE", c.service_file);
        } else if (auto f = env("PGSERVICEFILE")) {
            out.env.emplace_back("PGSERVICEFILE", *f);
        }
        if (auto d = env("PGSYSCONFDIR")) out.env.emplace_back("PGSYSCONFDIR", *d);
    }
    if (c.password.empty()) {
        if (auto f = env("PGPASSFILE")) out.env.emplace_back("PGPASSFILE", *f);
    }
    return out;
}

}  // namespace ctldb::config
