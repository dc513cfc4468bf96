#include "config/config.hpp"
#include "config/libpq.hpp"

#include "base/fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include <libpq-fe.h>
#include <yaml-cpp/yaml.h>

#include "base/enum_names.hpp"
#include "base/error.hpp"
#include "base/text.hpp"
#include "config/setting_table.hpp"

namespace ctldb::config {

const char* origin_name(Origin origin) {
    static constexpr EnumName<Origin> kNames[] = {{Origin::unset, "unset"},
                                                  {Origin::default_value, "default"},
                                                  {Origin::config_file, "config file"},
                                                  {Origin::libpq_environment, "environment, libpq"},
                                                  {Origin::environment, "environment"},
                                                  {Origin::flag, "flag"}};
    return name_of(kNames, origin, "unknown");
}

EnvLookup process_env() {
    return [](const std::string& name) -> std::optional<std::string> {
        const char* v = std::getenv(name.c_str());
        // An empty variable counts as unset, as libpq does for PG* variables.
        if (v == nullptr || *v == '\0') return std::nullopt;
        return std::string(v);
    };
}

const Value& Config::get(const std::string& key) const {
    static const Value unset;
    auto it = values_.find(key);
    return it == values_.end() ? unset : it->second;
}

void Config::set(const std::string& key, Value value) {
    values_[key] = std::move(value);
}

const Value& Config::other_tool(const std::string& key) const {
    static const Value unset;
    auto it = other_tool_values_.find(key);
    return it == other_tool_values_.end() ? unset : it->second;
}

void Config::set_other_tool(const std::string& key, Value value) {
    other_tool_values_[key] = std::move(value);
}

void Config::refuse_in_production(const std::string& action, bool force) const {
    if (!is_production() || force) return;
    const Value& v = get("env");
    throw usage_error("refusing to " + action + " in production (" + v.source + "=production, " +
                          origin_name(v.origin) + "); nothing was changed",
                      "pass --force if this really is what you want");
}

std::optional<std::int64_t> parse_integer(const std::string& text) {
    if (text.empty() || text.size() > 18) return std::nullopt;
    std::size_t i = 0;
    bool negative = false;
    if (text[0] == '-') {
        negative = true;
        i = 1;
        if (text.size() == 1) return std::nullopt;
    }
    std::int64_t v = 0;
    for (; i < text.size(); ++i) {
        if (text[i] < '0' || text[i] > '9') return std::nullopt;
        v = v * 10 + (text[i] - '0');
    }
    return negative ? -v : v;
}

/// Reads a mounted secret. Strips one trailing newline (`echo pw > file`)
/// and nothing else: leading/trailing spaces may be part of a password.
/// Only a regular file of at most kMaxPasswordBytes is read: a FIFO would
/// block for ever and a device or a huge file is the wrong path. The open
/// itself cannot block (O_NONBLOCK), so a FIFO is named, not waited on.
std::optional<std::string> read_secret_file(const std::string& path, std::string& error) {
    fs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (fd.get() < 0) {
        error = std::string("cannot read: ") + std::strerror(errno);
        return std::nullopt;
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        error = std::string("cannot read: ") + std::strerror(errno);
        return std::nullopt;
    }
    if (S_ISDIR(st.st_mode)) {
        error = "is a directory, not a file";
        return std::nullopt;
    }
    if (!S_ISREG(st.st_mode)) {
        error = std::string("is not a regular file (") +
                (S_ISFIFO(st.st_mode)   ? "a FIFO"
                 : S_ISSOCK(st.st_mode) ? "a socket"
                                        : "a device") +
                "); a password file is a plain file such as a mounted secret";
        return std::nullopt;
    }
    if (static_cast<std::uint64_t>(st.st_size) > kMaxPasswordBytes + 2) {
        error = "is " + std::to_string(st.st_size) + " bytes; a password file holds at most " +
                std::to_string(kMaxPasswordBytes / 1024) + " KiB (is it the right file?)";
        return std::nullopt;
    }
    std::string s(kMaxPasswordBytes + 3, '\0');
    std::size_t got = 0;
    while (got < s.size()) {
        const ssize_t n = ::read(fd.get(), s.data() + got, s.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            error = std::string("cannot read: ") + std::strerror(errno);
            return std::nullopt;
        }
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    s.resize(got);
    if (!s.empty() && s.back() == '\n') s.pop_back();
    if (!s.empty() && s.back() == '\r') s.pop_back();
    if (s.size() > kMaxPasswordBytes) {
        error = "holds more than " + std::to_string(kMaxPasswordBytes / 1024) +
                " KiB; a password file holds at most that (is it the right file?)";
        return std::nullopt;
    }
    if (s.empty()) {
        error = "file is empty";
        return std::nullopt;
    }
    if (s.find('\0') != std::string::npos) {
        error = "file contains a NUL byte";
        return std::nullopt;
    }
    return s;
}

namespace {

/// Why a TLS file setting cannot be what libpq expects ("" when it can):
/// catches a directory or a wrong file before the connection fails with a
/// misleading message. Reads up to the first match, at most 1 MiB.
std::string tls_file_problem(std::string_view key, const std::string& path) {
    if (fs::is_dir(path)) return "is a directory, not a file";
    // libpq opens it itself later: a FIFO would hang every command.
    if (std::string why = fs::input_problem(path, fs::kMaxSmallFile); !why.empty())
        return "cannot be read: " + why;
    const char* want = key == "sslkey" ? "PRIVATE KEY-----" : "-----BEGIN CERTIFICATE-----";
    std::ifstream in(path, std::ios::binary);
    std::size_t read = 0;
    for (std::string line; read < (1U << 20) && std::getline(in, line);) {
        if (line.find(want) != std::string::npos) return "";  // usually line 1
        read += line.size() + 1;
    }
    return key == "sslkey" ? "holds no PEM private key"
                           : "holds no PEM certificate (-----BEGIN CERTIFICATE-----)";
}

}  // namespace

std::string ConnectionSettings::target() const {
    if (host.empty() && !service.empty()) return "service " + service;
    return host + ":" + std::to_string(port > 0 ? port : 5432);
}

namespace {

/// Defaults, then the config file (--config, else CTLDB_CONFIG).
void load_defaults_and_file(const ConfigInputs& inputs, Config& config) {
    for (const auto& s : settings()) {
        if (!s.default_value.empty()) {
            config.set(std::string(s.key),
                       Value{std::string(s.default_value), Origin::default_value, "default"});
        }
    }
    std::vector<std::string> files = inputs.config_paths;
    std::string file_source = "--config";
    if (files.empty()) {
        if (auto list = inputs.env("CTLDB_CONFIG")) {
            // A list, as KUBECONFIG: a base and its overlays, later wins.
            for (auto& f : split(*list, ':')) {
                if (!f.empty()) files.push_back(f);
            }
            if (files.empty()) config.add_load_error("CTLDB_CONFIG is set but names no file");
        }
        file_source = "CTLDB_CONFIG";
    }
    for (const auto& file : files) {
        if (::access(file.c_str(), R_OK) != 0) {
            config.add_load_error(file_source + "=" + file +
                                  ": cannot read config file: " + std::strerror(errno));
        } else {
            load_config_file(file, config);
        }
    }
}

/// The settings a connection string (`url`) names; its problems go to
/// `config` (a password in --url is refused).
std::map<std::string, std::string> url_parts(const Value& url, Config& config) {
    std::map<std::string, std::string> parts;
    if (!url.is_set()) return parts;
    const ConnectionUrl u = parse_connection_url(url.text);
    if (!u.error.empty()) {
        config.add_load_error(url.source + " is not a libpq connection string (URI or " +
                              "key=value): " + u.error);
        return parts;
    }
    if (!u.unused.empty()) {
        config.add_warning(url.source +
                           ": parameter(s) ctldb does not use: " + join(u.unused, ", "));
    }
    parts = u.settings;
    if (url.origin == Origin::flag && parts.erase("password") > 0) {
        config.add_load_error(
            "--url holds a password, and a command line is visible to every user (ps): put "
            "the URL in DATABASE_URL, or the password in DB_PASSWORD_FILE");
    }
    return parts;
}

/// The environment and the flags over what the file gave. A connection
/// string's parts rank just below the specific settings of their own level:
/// DB_HOST beats DATABASE_URL's host, which beats PGHOST.
void apply_environment_and_flags(const ConfigInputs& inputs, Config& config) {
    if (const Value url = config.get("url"); url.origin == Origin::config_file) {
        for (const auto& [key, value] : url_parts(url, config)) {
            if (config.get(key).origin < Origin::config_file) {
                config.set(key, Value{value, Origin::config_file, url.source});
            }
        }
    }
    std::map<std::string, std::string> env_url, flag_url;
    if (auto u = inputs.env("DATABASE_URL")) {
        env_url = url_parts(Value{*u, Origin::environment, "DATABASE_URL"}, config);
    }
    if (auto f = inputs.flags.find("url"); f != inputs.flags.end()) {
        flag_url = url_parts(Value{f->second, Origin::flag, "--url"}, config);
    }
    for (const auto& s : settings()) {
        const std::string key(s.key);
        if (auto v = inputs.env(std::string(s.env))) {
            config.set(key, Value{*v, Origin::environment, std::string(s.env)});
        } else if (auto e = env_url.find(key); e != env_url.end()) {
            config.set(key, Value{e->second, Origin::environment, "DATABASE_URL"});
        } else if (!s.pg_env.empty()) {
            if (auto pv = inputs.env(std::string(s.pg_env))) {
                config.set(key, Value{*pv, Origin::libpq_environment, std::string(s.pg_env)});
            }
        }
        auto f = inputs.flags.find(key);
        if (f != inputs.flags.end()) {
            config.set(key, Value{f->second, Origin::flag, "--" + std::string(s.flag)});
        } else if (auto u = flag_url.find(key); u != flag_url.end()) {
            config.set(key, Value{u->second, Origin::flag, "--url"});
        }
    }
    // Another tool's variable (NODE_ENV, the postgres image's POSTGRES_*,
    // the application's DB_SSL) names a setting only when nothing of
    // ctldb's own does: the environment first, then the ConfigMap.
    const auto own = [&](const char* key) {
        return config.get(key).origin > Origin::default_value;
    };
    // Before any other tool's name is read: POSTGRES_PASSWORD and
    // POSTGRES_PASSWORD_FILE together are the conflict resolve_password()
    // reports, as the postgres image's entrypoint refuses them.
    const bool own_password = own("password"), own_password_file = own("password_file");
    for (const auto& s : settings()) {
        if (s.other_tool_env.empty()) continue;
        const std::string key(s.key);
        if (config.get(key).origin > Origin::default_value) continue;
        // The password comes inline or from a file: ctldb's own of either
        // leaves POSTGRES_PASSWORD(_FILE) aside.
        if ((key == "password" && own_password_file) || (key == "password_file" && own_password))
            continue;
        Value v;
        if (auto e = inputs.env(std::string(s.other_tool_env))) {
            v = Value{*e, Origin::environment, std::string(s.other_tool_env)};
        } else if (const Value& f = config.other_tool(key); f.is_set()) {
            v = f;
        }
        if (!v.is_set()) continue;
        if (key == "sslmode") {
            // DB_SSL is the application's boolean, not an sslmode.
            const auto b = parse_bool(v.text);
            if (!b) {
                config.add_load_error(v.source + "='" + v.text +
                                      "': expected true or false (or set DB_SSL_MODE)");
                continue;
            }
            v.text = *b ? "require" : "disable";
            if (!*b) {
                config.add_warning(v.source +
                                   "=false: sslmode disable, so the password and every row "
                                   "cross the network in clear; set DB_SSL_MODE to say so "
                                   "explicitly, or use TLS");
            }
        }
        config.set(key, v);
    }
}

/// The password comes either inline or from a file; the higher-precedence
/// source wins, and two at the same level are ambiguous.
void resolve_password(Config& config) {
    const Value pw = config.get("password");
    const Value pw_file = config.get("password_file");
    if (!pw_file.is_set()) return;
    if (pw.is_set() && pw.origin == pw_file.origin) {
        config.add_load_error(pw.source + " and " + pw_file.source + " are both set; set only one");
    } else if (!pw.is_set() || pw_file.origin > pw.origin) {
        std::string error;
        if (auto secret = read_secret_file(pw_file.text, error)) {
            config.set("password", Value{*secret, pw_file.origin,
                                         "file " + pw_file.text + " (" + pw_file.source + ")"});
        } else {
            config.add_load_error(pw_file.source + "=" + pw_file.text + ": " + error);
            config.set("password", Value{});
        }
    }
}

}  // namespace

std::string Config::file() const {
    return join(files_, ", ");
}

Config resolve_config(const ConfigInputs& inputs) {
    Config config;
    load_defaults_and_file(inputs, config);
    apply_environment_and_flags(inputs, config);
    resolve_password(config);
    return config;
}

namespace {

/// How to give a required setting that is not set.
std::string how_to_set(const SettingSpec& s) {
    std::string how = "set " + std::string(s.env);
    if (!s.pg_env.empty()) how += ", " + std::string(s.pg_env);
    how += ", DATABASE_URL or PGSERVICE";
    if (!s.flag.empty()) how += ", pass --" + std::string(s.flag) + " or --url";
    how += ", or set " + std::string(s.file_key) + " in the config file";
    return std::string(s.key) + " is not set: " + how;
}

/// What is wrong with the value `v` of setting `s` ("" nothing), by its kind.
std::string value_problem(const SettingSpec& s, const Value& v, const std::string& where) {
    switch (s.kind) {
        case SettingKind::integer: {
            auto n = parse_integer(v.text);
            if (!n || *n < s.min || *n > s.max) {
                return where + ": invalid " + std::string(s.key) + " '" + v.text +
                       "': expected a whole number from " + std::to_string(s.min) + " to " +
                       std::to_string(s.max);
            }
            return "";
        }
        case SettingKind::choice: {
            if (std::find(s.choices.begin(), s.choices.end(), v.text) != s.choices.end()) return "";
            std::string p = where + ": invalid " + std::string(s.key) + " '" + v.text +
                            "': expected one of " + join(s.choices, ", ");
            if (!s.other_tool_env.empty() && contains(v.source, s.other_tool_env)) {
                p += " (set " + std::string(s.env) + ", which takes precedence over " +
                     std::string(s.other_tool_env) + ")";
            }
            return p;
        }
        case SettingKind::path:
            if (s.key == "password_file") return "";  // read (and checked) elsewhere
            if (::access(v.text.c_str(), R_OK) != 0) {
                return where + ": " + std::string(s.key) + " file '" + v.text +
                       "' is not readable: " + std::strerror(errno);
            }
            if (const std::string why =
                    s.key.rfind("ssl", 0) == 0 ? tls_file_problem(s.key, v.text) : "";
                !why.empty()) {
                return where + ": " + std::string(s.key) + " file '" + v.text + "' " + why;
            }
            return "";
        case SettingKind::text:
            if (v.text.find('\0') != std::string::npos || v.text.empty())
                return where + ": " + std::string(s.key) + " is empty";
            if (s.key == "dbname") {
                if (const std::string why = database_name_problem(v.text); !why.empty())
                    return where + ": invalid dbname: " + why;
            }
            return "";
        case SettingKind::secret:
            if (v.text.size() > kMaxPasswordBytes) {
                return where + ": the " + std::string(s.key) + " is " +
                       std::to_string(v.text.size()) + " bytes; at most " +
                       std::to_string(kMaxPasswordBytes / 1024) + " KiB are accepted";
            }
            return "";
    }
    return "";
}

}  // namespace

std::vector<std::string> Config::problems(bool for_connection) const {
    std::vector<std::string> out = load_errors_;
    for (const auto& s : settings()) {
        const Value& v = get(std::string(s.key));
        if (!v.is_set()) {
            // A libpq service may name it (libpq reads the service file
            // when connecting, as psql does).
            if (for_connection && s.required && !get("service").is_set())
                out.push_back(how_to_set(s));
            continue;
        }
        if (std::string p = problem_of(std::string(s.key)); !p.empty()) out.push_back(std::move(p));
    }
    combination_problems(for_connection, out);
    return out;
}

std::string Config::problem_of(const std::string& key) const {
    const SettingSpec* s = find_setting(key);
    const Value& v = get(key);
    if (s == nullptr || !v.is_set()) return "";
    return value_problem(*s, v, v.source + " (" + origin_name(v.origin) + ")");
}

void Config::combination_problems(bool for_connection, std::vector<std::string>& out) const {
    if (const Value& a = get("hostaddr"); a.is_set()) {
        if (!is_ip_address(a.text)) {
            out.push_back(a.source + " (" + origin_name(a.origin) + "): invalid hostaddr '" +
                          a.text + "': expected a numeric IPv4 or IPv6 address");
        }
    }
    // A client certificate without its key (or a key without its
    // certificate) cannot authenticate: say so instead of failing the TLS
    // handshake (exit 3) later.
    const Value& cert = get("sslcert");
    const Value& key = get("sslkey");
    if (cert.is_set() != key.is_set()) {
        const Value& given = cert.is_set() ? cert : key;
        out.push_back(given.source + " (" + origin_name(given.origin) + ") is set but " +
                      (cert.is_set() ? "DB_SSL_KEY" : "DB_SSL_CERT") +
                      " is not: a client certificate needs both the certificate and its key");
    }
    if (const Value& ep = get("s3_endpoint");
        ep.is_set() && hide_url_credentials(ep.text) != ep.text) {
        out.push_back(ep.source + " (" + origin_name(ep.origin) +
                      ") holds user information (user:password@): the S3 keys are given as "
                      "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or their _FILE variants)");
    }
    const std::string mode = get("sslmode").text;
    if (for_connection && (mode == "verify-ca" || mode == "verify-full") &&
        !get("sslrootcert").is_set()) {
        const char* home = std::getenv("HOME");
        const std::string fallback = std::string(home ? home : "") + "/.postgresql/root.crt";
        if (::access(fallback.c_str(), R_OK) != 0) {
            out.push_back("sslmode " + mode + " (" + get("sslmode").source +
                          ") needs the CA certificate: set DB_SSL_ROOT_CERT or --sslrootcert");
        }
    }
}

void Config::validate(bool for_connection) const {
    auto found = problems(for_connection);
    if (found.empty()) return;
    std::string msg = found.size() == 1
                          ? "invalid configuration: " + found.front()
                          : "invalid configuration (" + std::to_string(found.size()) + " problems)";
    Error e(ExitCode::usage, msg, "run 'ctldb config show' to see every setting and its source");
    if (found.size() > 1) e.with_details(found);
    throw e;
}

std::int64_t Config::integer(const std::string& key) const {
    auto n = parse_integer(get(key).text);
    return n ? *n : 0;
}

ConnectionSettings Config::connection() const {
    ConnectionSettings c;
    c.service = get("service").text;
    c.service_file = get("service_file").text;
    // With a service, ctldb's defaults must not override the service file:
    // only what was set somewhere is passed on.
    const bool service = !c.service.empty();
    auto set_or_default = [&](const char* key) {
        const Value& v = get(key);
        return service && v.origin == Origin::default_value ? std::string() : v.text;
    };
    c.host = get("host").text;
    c.hostaddr = get("hostaddr").text;
    c.port = set_or_default("port").empty() ? 0 : static_cast<int>(integer("port"));
    c.dbname = get("dbname").text;
    c.user = get("user").text;
    c.password = get("password").text;
    c.sslmode = set_or_default("sslmode");
    c.sslrootcert = get("sslrootcert").text;
    c.sslcert = get("sslcert").text;
    c.sslkey = get("sslkey").text;
    c.connect_timeout_ms = static_cast<int>(integer("connect_timeout_ms"));
    return c;
}

}  // namespace ctldb::config

namespace ctldb::config {

std::string database_name_problem(const std::string& name) {
    if (name.empty()) return "a database name cannot be empty";
    if (name.size() > 63) {
        return "'" + name.substr(0, 63) + "...' is " + std::to_string(name.size()) +
               " bytes; PostgreSQL's names are at most 63";
    }
    if (has_control_char(name)) {
        return "a database name cannot hold control characters (newline, tab, ...)";
    }
    return {};
}

bool is_cluster_internal_host(const std::string& host) {
    if (host.empty() || host[0] == '/' || host == "localhost" || host == "::1") return true;
    if (host.rfind("127.", 0) == 0 || host.rfind("10.", 0) == 0 || host.rfind("192.168.", 0) == 0) {
        return true;
    }
    if (host.rfind("172.", 0) == 0) {
        auto second = parse_integer(host.substr(4, host.find('.', 4) - 4));
        if (second && *second >= 16 && *second <= 31) return true;
    }
    std::string h = host;
    if (!h.empty() && h.back() == '.') h.pop_back();
    if (h.find('.') == std::string::npos) return true;  // a service in the same namespace
    return ends_with(h, ".svc") || ends_with(h, ".svc.cluster.local") ||
           ends_with(h, ".cluster.local");
}

}  // namespace ctldb::config
