// Configuration resolution: flag > environment > config file > default.
//
// Every resolved value remembers where it came from, so `ctldb config show`
// can say "DB_PORT (environment)" and every validation error can name the
// variable and its origin. Validation collects every problem before failing.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ctldb::config {

/// Every key given twice in one YAML mapping of `text`, as "key 'X' is
/// given twice, on line A and line B". Throws YAML::ParserException on YAML
/// that does not parse.
std::vector<std::string> duplicate_yaml_keys(const std::string& text);

/// Where a value came from, lowest precedence first.
/// libpq's PG* variables are environment too, but yield to ctldb's DB_* ones.
enum class Origin {
    unset = 0,
    default_value = 1,
    config_file = 2,
    libpq_environment = 3,
    environment = 4,
    flag = 5
};

const char* origin_name(Origin origin);

struct Value {
    std::string text;
    Origin origin = Origin::unset;
    /// Human description of the source: "DB_PORT", "--port",
    /// "ctldb.yaml: database.port", "default".
    std::string source;

    bool is_set() const { return origin != Origin::unset; }
};

/// Reads one environment variable; injectable for tests.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

/// The process environment.
EnvLookup process_env();

/// Everything resolution needs, gathered by main() from argv and the
/// environment before any command runs.
struct ConfigInputs {
    /// Setting key -> value given by a flag (keys of settings()).
    std::map<std::string, std::string> flags;
    /// --config FILE, repeatable: later files override earlier ones.
    /// CTLDB_CONFIG (a ':'-separated list, as KUBECONFIG) is read from the
    /// environment when no --config is given.
    std::vector<std::string> config_paths;
    EnvLookup env;
};

/// Typed connection parameters, valid only after a successful validate().
struct ConnectionSettings {
    /// libpq service: what the fields below leave empty (port 0) comes
    /// from the service file at connect time, as with psql.
    std::string service;
    std::string service_file;
    std::string host;
    std::string hostaddr;
    int port = 5432;
    std::string dbname;
    std::string user;
    std::string password;  // may be empty: libpq then tries ~/.pgpass
    std::string sslmode;
    std::string sslrootcert;
    std::string sslcert;
    std::string sslkey;
    int connect_timeout_ms = 30000;

    /// "host:port" for messages, or "service NAME" when the service names it.
    std::string target() const;
};

class Config {
  public:
    /// The value for `key` (unset Value when absent).
    const Value& get(const std::string& key) const;
    void set(const std::string& key, Value value);

    /// Problems that make the configuration unusable (bad values, missing
    /// required settings). Empty means valid. `for_connection` adds the
    /// checks that only matter when a command connects.
    std::vector<std::string> problems(bool for_connection) const;

    /// What is wrong with the value of the one setting `key` ("" nothing),
    /// in problems()' words: for commands that read a few settings without
    /// validating the whole configuration.
    std::string problem_of(const std::string& key) const;

    /// Non-fatal observations made while resolving (unknown keys, ...).
    const std::vector<std::string>& warnings() const { return warnings_; }
    void add_warning(std::string w) { warnings_.push_back(std::move(w)); }

    /// Things worth saying at -v only: the keys of a ConfigMap that belong
    /// to the application, not to ctldb, summarised in one line.
    const std::vector<std::string>& notes() const { return notes_; }
    void add_note(std::string n) { notes_.push_back(std::move(n)); }

    /// Problems found while reading sources (unreadable file, bad YAML);
    /// reported together with problems().
    const std::vector<std::string>& load_errors() const { return load_errors_; }
    void add_load_error(std::string e) { load_errors_.push_back(std::move(e)); }

    /// Values another tool's variable gave in the config file (a
    /// ConfigMap's NODE_ENV); used only when nothing of ctldb's own names
    /// the setting. See SettingSpec::other_tool_env.
    const Value& other_tool(const std::string& key) const;
    void set_other_tool(const std::string& key, Value value);

    /// The config files read, in order ("" / empty when none); file()
    /// names them all, joined with ", ".
    const std::vector<std::string>& files() const { return files_; }
    std::string file() const;
    void set_file(std::string f) { files_.push_back(std::move(f)); }

    /// Throws Error(usage) listing every problem; call before connecting.
    void validate(bool for_connection) const;

    ConnectionSettings connection() const;
    std::int64_t integer(const std::string& key) const;
    bool is_production() const { return get("env").text == "production"; }
    /// Throws Error(usage) when the environment is production and `force`
    /// is false: "refusing to <action> in production (NODE_ENV=production
    /// from ...)". Call before connecting.
    void refuse_in_production(const std::string& action, bool force) const;

  private:
    /// Problems of settings together: hostaddr, a certificate without its
    /// key, verify-* without a CA.
    void combination_problems(bool for_connection, std::vector<std::string>& out) const;
    std::map<std::string, Value> values_;
    std::map<std::string, Value> other_tool_values_;
    std::vector<std::string> warnings_;
    std::vector<std::string> notes_;
    std::vector<std::string> load_errors_;
    std::vector<std::string> files_;
};

/// Resolve every setting from its sources. Never throws for bad values:
/// those are reported by Config::problems(). Reads DB_PASSWORD_FILE.
Config resolve_config(const ConfigInputs& inputs);

/// Load a YAML config file (ctldb's own format or a Kubernetes ConfigMap
/// manifest) into `config` with Origin::config_file. Exposed for tests.
void load_config_file(const std::string& path, Config& config);

/// A libpq connection string (URI or key=value) taken apart by libpq's own
/// PQconninfoParse: setting key -> value for the parts ctldb uses, the
/// names of those it does not, or an error (which never quotes the string:
/// it may hold a password).
struct ConnectionUrl {
    std::map<std::string, std::string> settings;
    std::vector<std::string> unused;
    std::string error;
};
ConnectionUrl parse_connection_url(const std::string& url);

/// The largest password ctldb accepts, from any source: a mounted secret
/// of more is a mistake (the wrong file), and libpq's SCRAM would spend
/// minutes on it.
constexpr std::size_t kMaxPasswordBytes = 64 * 1024;

/// Parse a setting's text as an integer strictly (no sign tricks, no
/// trailing garbage). nullopt when not a whole number.
std::optional<std::int64_t> parse_integer(const std::string& text);

}  // namespace ctldb::config

namespace ctldb::config {

/// True for hosts inside the Kubernetes cluster or this machine: Unix
/// sockets, loopback, single-label service names, *.svc[.cluster.local],
/// and private (RFC 1918) addresses. Used to judge whether `require` is
/// enough or `verify-full` is needed.
bool is_cluster_internal_host(const std::string& host);

/// Why `name` cannot be a database name ctldb passes on, or "" when it can:
/// empty, longer than PostgreSQL's 63 bytes, or holding a control
/// character (a newline would end a line of a dump or a log). Every other
/// value is taken literally: ctldb never lets a name be read as a
/// connection string (no expand_dbname, PGDATABASE for children).
std::string database_name_problem(const std::string& name);

/// A password from a file (a mounted Secret): one trailing newline
/// stripped; only a regular file of a password's size is read (a FIFO is
/// named, never waited on). nullopt with `error` set otherwise.
std::optional<std::string> read_secret_file(const std::string& path, std::string& error);

}  // namespace ctldb::config
