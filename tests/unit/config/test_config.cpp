// Config resolution: precedence, origins, file formats, validation.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include "base/error.hpp"
#include "config/config.hpp"

using namespace ctldb;
using namespace ctldb::config;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/ctldb-unit.XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
    std::string write(const std::string& name, const std::string& text) const {
        std::string p = path + "/" + name;
        std::ofstream(p) << text;
        return p;
    }
};

ConfigInputs inputs(std::map<std::string, std::string> env,
                    std::map<std::string, std::string> flags = {},
                    std::optional<std::string> file = std::nullopt) {
    ConfigInputs in;
    in.flags = std::move(flags);
    if (file) in.config_paths.push_back(std::move(*file));
    in.env = [env](const std::string& name) -> std::optional<std::string> {
        auto it = env.find(name);
        if (it == env.end()) return std::nullopt;
        return it->second;
    };
    return in;
}

bool has_problem(const Config& c, const std::string& needle) {
    for (const auto& p : c.problems(true)) {
        if (p.find(needle) != std::string::npos) return true;
    }
    return false;
}

const std::map<std::string, std::string> kMinimal = {
    {"DB_HOST", "db.example"}, {"DB_NAME", "app"}, {"DB_USER", "appuser"}};

}  // namespace

TEST_CASE("precedence: flag > environment > config file > default, with origins") {
    TempDir t;
    auto file = t.write("c.yaml",
                        "database:\n  host: from-file\n  port: 6000\n  name: filedb\n"
                        "  user: fileuser\n");
    Config c = resolve_config(
        inputs({{"DB_HOST", "from-env"}, {"DB_PORT", "7000"}}, {{"host", "from-flag"}}, file));
    CHECK(c.get("host").text == "from-flag");
    CHECK(c.get("host").origin == Origin::flag);
    CHECK(c.get("host").source == "--host");
    CHECK(c.get("port").text == "7000");
    CHECK(c.get("port").origin == Origin::environment);
    CHECK(c.get("port").source == "DB_PORT");
    CHECK(c.get("dbname").text == "filedb");
    CHECK(c.get("dbname").origin == Origin::config_file);
    CHECK(c.get("dbname").source == file + ": database.name");
    CHECK(c.get("sslmode").text == "require");
    CHECK(c.get("sslmode").origin == Origin::default_value);
    CHECK(c.problems(true).empty());
}

TEST_CASE("CTLDB_CONFIG names the file when --config is absent") {
    TempDir t;
    auto file = t.write("c.yaml", "database:\n  host: h\n");
    Config c = resolve_config(inputs({{"CTLDB_CONFIG", file}}));
    CHECK(c.get("host").text == "h");
    CHECK(c.file() == file);
}

TEST_CASE("PG* variables are fallbacks below DB_*") {
    Config c = resolve_config(inputs(
        {{"PGHOST", "pghost"}, {"PGUSER", "pguser"}, {"DB_USER", "dbuser"}, {"PGPASSWORD", "pw"}}));
    CHECK(c.get("host").text == "pghost");
    CHECK(c.get("host").source == "PGHOST");
    CHECK(c.get("user").text == "dbuser");
    CHECK(c.get("password").text == "pw");
    CHECK(c.get("host").origin == Origin::libpq_environment);
}

TEST_CASE("DB_PASSWORD_FILE wins over PGPASSWORD (the guide's CronJob sets it)") {
    struct Tmp {
        std::string path = "/tmp/ctldb-unit-pw";
        Tmp() { std::ofstream(path) << "fromfile\n"; }
        ~Tmp() { std::remove(path.c_str()); }
    } t;
    Config c = resolve_config(inputs({{"PGPASSWORD", "frompg"}, {"DB_PASSWORD_FILE", t.path}}));
    CHECK(c.get("password").text == "fromfile");
    CHECK(c.load_errors().empty());
}

TEST_CASE("the guide's ConfigMap manifest is read as is") {
    TempDir t;
    auto file = t.write("configmap.yaml", R"(apiVersion: v1
kind: ConfigMap
metadata:
  name: cloudtolocalllm-config
  namespace: cloudtolocalllm
data:
  # Database configuration
  DB_TYPE: "postgresql"
  DB_HOST: "postgres.cloudtolocalllm.svc.cluster.local"
  DB_PORT: "5432"
  DB_NAME: "cloudtolocalllm"
  DB_USER: "appuser"
  
  # Database Connection Pool
  DB_POOL_MAX: "50"
  DB_POOL_IDLE_TIMEOUT: "600000"
  DB_POOL_CONNECTION_TIMEOUT: "30000"
)");
    Config c = resolve_config(inputs({}, {}, file));
    CHECK(c.get("host").text == "postgres.cloudtolocalllm.svc.cluster.local");
    CHECK(c.get("host").source == file + ": data.DB_HOST");
    CHECK(c.get("pool_max").text == "50");
    CHECK(c.get("connect_timeout_ms").origin == Origin::config_file);
    CHECK(c.warnings().empty());
    CHECK(c.problems(true).empty());
}

TEST_CASE("a multi-document manifest: ConfigMap read, Secret ignored with a warning") {
    TempDir t;
    auto file = t.write("all.yaml",
                        "apiVersion: v1\nkind: Secret\nstringData:\n  "
                        "postgres-password: x\n---\napiVersion: v1\nkind: "
                        "ConfigMap\ndata:\n  DB_HOST: h\n  FEATURE_FLAG: on\n");
    Config c = resolve_config(inputs({}, {}, file));
    CHECK(c.get("host").text == "h");
    CHECK(!c.get("password").is_set());
    REQUIRE(c.warnings().size() == 1);
    CHECK(c.warnings()[0].find("kind Secret ignored") != std::string::npos);
    // The application's own keys: one note (shown at -v), not a warning each.
    REQUIRE(c.notes().size() == 1);
    CHECK(c.notes()[0] == file + ": 1 ConfigMap key(s) not used by ctldb: FEATURE_FLAG");
}

TEST_CASE("unknown keys in ctldb's own file are warnings, not errors") {
    TempDir t;
    auto file = t.write("c.yaml", "database:\n  host: h\n  hots: typo\nextra: 1\n");
    Config c = resolve_config(inputs({}, {}, file));
    CHECK(c.get("host").text == "h");
    CHECK(c.warnings().size() == 2);
    CHECK(c.load_errors().empty());
}

TEST_CASE("bad YAML and unreadable files are config errors naming the file") {
    TempDir t;
    auto bad = t.write("bad.yaml", "database:\n  host: [unclosed\n");
    Config c = resolve_config(inputs(kMinimal, {}, bad));
    CHECK(has_problem(c, bad));
    CHECK(has_problem(c, "invalid YAML"));
    Config missing = resolve_config(inputs(kMinimal, {}, t.path + "/nope.yaml"));
    CHECK(has_problem(missing, "--config=" + t.path + "/nope.yaml"));
    Config env_missing = resolve_config(inputs({{"CTLDB_CONFIG", "/nonexistent/c.yaml"}}));
    CHECK(has_problem(env_missing, "CTLDB_CONFIG=/nonexistent/c.yaml"));
    auto nested = t.write("nested.yaml", "database:\n  port:\n    value: 1\n");
    CHECK(has_problem(resolve_config(inputs(kMinimal, {}, nested)), "database.port must be"));
}

TEST_CASE("every bad value names the variable and where it came from") {
    auto env = kMinimal;
    env["DB_PORT"] = "abc";
    env["DB_SSL_MODE"] = "bogus";
    env["DB_TYPE"] = "mysql";
    env["DB_POOL_MAX"] = "-5";
    env["DB_POOL_IDLE_TIMEOUT"] = "ten";
    env["DB_POOL_CONNECTION_TIMEOUT"] = "1.5";
    env["CTLDB_ENV"] = "prod";
    Config c = resolve_config(inputs(env));
    CHECK(has_problem(c, "DB_PORT (environment): invalid port 'abc'"));
    CHECK(has_problem(c, "DB_SSL_MODE (environment): invalid sslmode 'bogus'"));
    CHECK(has_problem(c, "DB_TYPE (environment): invalid type 'mysql'"));
    CHECK(has_problem(c, "DB_POOL_MAX (environment): invalid pool_max '-5'"));
    CHECK(has_problem(c, "DB_POOL_IDLE_TIMEOUT (environment)"));
    CHECK(has_problem(c, "DB_POOL_CONNECTION_TIMEOUT (environment)"));
    CHECK(has_problem(c, "CTLDB_ENV (environment): invalid env 'prod'"));
    CHECK(c.problems(true).size() == 7);

    bool threw = false;
    try {
        c.validate(true);
    } catch (const Error& e) {
        threw = true;
        CHECK(e.code() == ExitCode::usage);
        CHECK(e.details().size() == 7);
    }
    CHECK(threw);
}

TEST_CASE("zero and out-of-range numbers") {
    auto env = kMinimal;
    env["DB_POOL_MAX"] = "0";
    env["DB_PORT"] = "70000";
    Config c = resolve_config(inputs(env));
    CHECK(has_problem(c, "invalid pool_max '0'"));
    CHECK(has_problem(c, "invalid port '70000'"));
    CHECK(has_problem(resolve_config(inputs(kMinimal, {{"port", "0"}})), "--port (flag)"));
    CHECK(has_problem(resolve_config(inputs(kMinimal, {{"port", "+5"}})), "invalid port '+5'"));
    CHECK(has_problem(resolve_config(inputs(kMinimal, {{"port", " 5"}})), "invalid port ' 5'"));
    CHECK(has_problem(resolve_config(inputs(kMinimal, {{"port", "99999999999999999999"}})),
                      "invalid port"));
}

TEST_CASE("missing host, database and user are reported together, only when connecting") {
    Config c = resolve_config(inputs({}));
    CHECK(c.problems(false).empty());
    auto p = c.problems(true);
    CHECK(p.size() == 3);
    CHECK(has_problem(c,
                      "host is not set: set DB_HOST, PGHOST, DATABASE_URL or PGSERVICE, pass "
                      "--host or --url, or set database.host in the config file"));
    CHECK(has_problem(c, "dbname is not set"));
    CHECK(has_problem(c, "user is not set"));
}

TEST_CASE("every sslmode passes validation") {
    TempDir t;
    const std::string ca = t.write("ca.crt", "-----BEGIN CERTIFICATE-----\nMII...\n");
    for (const char* mode : {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}) {
        auto env = kMinimal;
        env["DB_SSL_MODE"] = mode;
        env["DB_SSL_ROOT_CERT"] = ca;
        CHECK_MESSAGE(resolve_config(inputs(env)).problems(true).empty(), mode);
    }
}

TEST_CASE("TLS files that are not PEM of the right kind, or directories, are config errors") {
    TempDir t;
    const std::string cert = t.write("c.crt", "-----BEGIN CERTIFICATE-----\nMII...\n");
    const std::string key = t.write("c.key", "-----BEGIN EC PRIVATE KEY-----\nMHc...\n");
    auto env = kMinimal;
    env["DB_SSL_ROOT_CERT"] = "/dev/null";
    CHECK(has_problem(resolve_config(inputs(env)), "it is a device, not a regular file"));
    env["DB_SSL_ROOT_CERT"] = t.write("empty.crt", "");
    CHECK(has_problem(resolve_config(inputs(env)), "holds no PEM certificate"));
    env["DB_SSL_ROOT_CERT"] = t.path;
    CHECK(has_problem(resolve_config(inputs(env)), "is a directory, not a file"));
    env["DB_SSL_ROOT_CERT"] = cert;
    env["PGSSLCERT"] = key;
    CHECK(has_problem(resolve_config(inputs(env)), "sslcert file '" + key + "' holds no PEM"));
    env["PGSSLCERT"] = cert;
    env["PGSSLKEY"] = cert;
    CHECK(has_problem(resolve_config(inputs(env)), "holds no PEM private key"));
    env["PGSSLKEY"] = key;
    CHECK(resolve_config(inputs(env)).problems(true).empty());
}

TEST_CASE("verify-full without a CA certificate is a config error") {
    auto env = kMinimal;
    env["DB_SSL_MODE"] = "verify-full";
    env["HOME"] = "/nonexistent";
    ::setenv("HOME", "/nonexistent", 1);
    CHECK(has_problem(resolve_config(inputs(env)), "needs the CA certificate"));
    env["DB_SSL_ROOT_CERT"] = "/nonexistent/ca.crt";
    CHECK(has_problem(resolve_config(inputs(env)),
                      "DB_SSL_ROOT_CERT (environment): sslrootcert file"));
}

TEST_CASE("DB_PASSWORD_FILE: read, one trailing newline stripped, errors name the file") {
    TempDir t;
    auto pw = t.write("pw", "s3cret with spaces \n");
    auto env = kMinimal;
    env["DB_PASSWORD_FILE"] = pw;
    Config c = resolve_config(inputs(env));
    CHECK(c.get("password").text == "s3cret with spaces ");
    CHECK(c.get("password").source.find("DB_PASSWORD_FILE") != std::string::npos);
    CHECK(c.problems(true).empty());

    env["DB_PASSWORD_FILE"] = t.write("empty", "");
    CHECK(has_problem(resolve_config(inputs(env)), "file is empty"));
    env["DB_PASSWORD_FILE"] = t.path + "/missing";
    Config m = resolve_config(inputs(env));
    CHECK(has_problem(m, "DB_PASSWORD_FILE=" + t.path + "/missing: cannot read"));
}

TEST_CASE("DB_PASSWORD and DB_PASSWORD_FILE at the same level are ambiguous") {
    TempDir t;
    auto env = kMinimal;
    env["DB_PASSWORD"] = "a";
    env["DB_PASSWORD_FILE"] = t.write("pw", "b");
    Config c = resolve_config(inputs(env));
    CHECK(has_problem(c, "are both set"));
    for (const auto& p : c.problems(true)) {
        CHECK(p.find("\"a\"") == std::string::npos);
    }
}

TEST_CASE("a password file from the environment beats a password in the config file") {
    TempDir t;
    auto file = t.write("c.yaml", "database:\n  password: fromfile\n");
    ::chmod(file.c_str(), 0600);
    auto env = kMinimal;
    env["DB_PASSWORD_FILE"] = t.write("pw", "fromsecret\n");
    Config c = resolve_config(inputs(env, {}, file));
    CHECK(c.get("password").text == "fromsecret");
    CHECK(c.warnings().empty());
}

TEST_CASE("a password in a world-readable config file is warned about") {
    TempDir t;
    auto file = t.write("c.yaml", "database:\n  password: fromfile\n");
    ::chmod(file.c_str(), 0644);
    Config c = resolve_config(inputs(kMinimal, {}, file));
    REQUIRE(c.warnings().size() == 1);
    CHECK(c.warnings()[0].find("readable by other users") != std::string::npos);
    CHECK(c.warnings()[0].find("fromfile") == std::string::npos);
}

TEST_CASE("connection() converts validated values") {
    auto env = kMinimal;
    env["DB_PORT"] = "6543";
    env["DB_POOL_CONNECTION_TIMEOUT"] = "1500";
    auto cs = resolve_config(inputs(env)).connection();
    CHECK(cs.port == 6543);
    CHECK(cs.connect_timeout_ms == 1500);
    CHECK(cs.sslmode == "require");
}

TEST_CASE("cluster-internal hosts") {
    CHECK(is_cluster_internal_host("postgres"));
    CHECK(is_cluster_internal_host("postgres.cloudtolocalllm.svc"));
    CHECK(is_cluster_internal_host("postgres.cloudtolocalllm.svc.cluster.local"));
    CHECK(is_cluster_internal_host("localhost"));
    CHECK(is_cluster_internal_host("127.0.0.1"));
    CHECK(is_cluster_internal_host("10.1.2.3"));
    CHECK(is_cluster_internal_host("172.20.0.1"));
    CHECK(is_cluster_internal_host("/var/run/postgresql"));
    CHECK_FALSE(is_cluster_internal_host("172.32.0.1"));
    CHECK_FALSE(is_cluster_internal_host("db.example.com"));
    CHECK_FALSE(is_cluster_internal_host("8.8.8.8"));
}

TEST_CASE("NODE_ENV names the environment only when nothing of ctldb's does") {
    TempDir t;
    auto env = kMinimal;
    env["NODE_ENV"] = "production";
    Config c = resolve_config(inputs(env));
    CHECK(c.is_production());
    CHECK(c.get("env").source == "NODE_ENV");
    CHECK(c.get("env").origin == Origin::environment);
    CHECK_THROWS_AS(c.refuse_in_production("seed the database", false), Error);
    CHECK_NOTHROW(c.refuse_in_production("seed the database", true));
    try {
        c.refuse_in_production("seed the database", false);
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("NODE_ENV=production") != std::string::npos);
        CHECK(e.code() == ExitCode::usage);
    }

    // CTLDB_ENV wins wherever it comes from, even a config file against
    // NODE_ENV in the environment.
    env["CTLDB_ENV"] = "staging";
    CHECK(resolve_config(inputs(env)).get("env").text == "staging");
    env.erase("CTLDB_ENV");
    auto cm =
        t.write("cm.yaml", "kind: ConfigMap\ndata:\n  CTLDB_ENV: test\n  NODE_ENV: production\n");
    Config file_wins = resolve_config(inputs(env, {}, cm));
    CHECK(file_wins.get("env").text == "test");
    CHECK(resolve_config(inputs(env, {{"env", "development"}})).get("env").text == "development");

    // The ConfigMap's NODE_ENV, with no warning about an unknown key.
    auto node_only =
        t.write("node.yaml", "kind: ConfigMap\ndata:\n  DB_HOST: h\n  NODE_ENV: production\n");
    Config from_cm = resolve_config(inputs({}, {}, node_only));
    CHECK(from_cm.is_production());
    CHECK(from_cm.get("env").source == node_only + ": data.NODE_ENV");
    CHECK(from_cm.warnings().empty());
    // ...but the environment's NODE_ENV beats the ConfigMap's.
    CHECK(resolve_config(inputs({{"NODE_ENV", "test"}}, {}, node_only)).get("env").text == "test");

    // A name ctldb does not know is an error that says how to override it.
    env["NODE_ENV"] = "local";
    Config odd = resolve_config(inputs(env));
    CHECK(has_problem(odd, "NODE_ENV (environment): invalid env 'local'"));
    CHECK(has_problem(odd, "set CTLDB_ENV, which takes precedence over NODE_ENV"));
}

TEST_CASE("password files: only regular files of at most 64 KiB, refused at once") {
    TempDir t;
    auto env = kMinimal;
    const std::string big = t.path + "/big";
    {
        std::ofstream out(big);
        out << std::string(kMaxPasswordBytes + 10, 'x');
    }
    env["DB_PASSWORD_FILE"] = big;
    Config c = resolve_config(inputs(env));
    CHECK(has_problem(c, "a password file holds at most 64 KiB"));
    CHECK(!c.get("password").is_set());

    // Exactly the limit (plus the newline echo adds) is a password.
    const std::string edge = t.write("edge", std::string(kMaxPasswordBytes, 'y') + "\n");
    env["DB_PASSWORD_FILE"] = edge;
    CHECK(resolve_config(inputs(env)).get("password").text.size() == kMaxPasswordBytes);

    const std::string fifo = t.path + "/fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    env["DB_PASSWORD_FILE"] = fifo;
    CHECK(has_problem(resolve_config(inputs(env)), "is not a regular file (a FIFO)"));
    env["DB_PASSWORD_FILE"] = "/dev/zero";
    CHECK(has_problem(resolve_config(inputs(env)), "is not a regular file (a device)"));

    env.erase("DB_PASSWORD_FILE");
    env["DB_PASSWORD"] = std::string(kMaxPasswordBytes + 1, 'z');
    Config inline_pw = resolve_config(inputs(env));
    CHECK(has_problem(inline_pw, "DB_PASSWORD (environment): the password is"));
    for (const auto& p : inline_pw.problems(true))
        CHECK(p.find("zzzz") == std::string::npos);
}

TEST_CASE("a known section or key of the wrong shape is not an unknown key") {
    TempDir t;
    auto scalar = t.write("s.yaml", "database: db.example\n");
    Config c = resolve_config(inputs(kMinimal, {}, scalar));
    CHECK(
        has_problem(c, "database must be a section of settings (a YAML map), not a single value"));
    CHECK(c.warnings().empty());
    auto list = t.write("l.yaml", "database:\n  ssl:\n    - require\n");
    CHECK(has_problem(resolve_config(inputs(kMinimal, {}, list)),
                      "database.ssl must be a section of settings (a YAML map), not a list"));
    auto cm = t.write("cm.yaml", "kind: ConfigMap\ndata:\n  DB_PORT:\n    - 1\n");
    CHECK(has_problem(resolve_config(inputs(kMinimal, {}, cm)),
                      "data.DB_PORT must be a string, not a list"));
}

TEST_CASE("DATABASE_URL and --url: parsed by libpq, each part at its own level") {
    // A URI: every part lands, with DATABASE_URL as its source.
    Config c = resolve_config(
        inputs({{"DATABASE_URL",
                 "postgresql://app%40x:s3cr%21t@db.example:6543/admin%20center?sslmode=verify-full"
                 "&connect_timeout=7&application_name=node"}}));
    CHECK(c.get("host").text == "db.example");
    CHECK(c.get("host").source == "DATABASE_URL");
    CHECK(c.get("host").origin == Origin::environment);
    CHECK(c.get("port").text == "6543");
    CHECK(c.get("dbname").text == "admin center");
    CHECK(c.get("user").text == "app@x");
    CHECK(c.get("password").text == "s3cr!t");
    CHECK(c.get("sslmode").text == "verify-full");
    CHECK(c.get("connect_timeout_ms").text == "7000");
    REQUIRE(c.warnings().size() == 1);
    CHECK(c.warnings()[0] == "DATABASE_URL: parameter(s) ctldb does not use: application_name");

    // The specific variable of the same level wins; the URL beats PG*; a
    // flag beats everything from the environment.
    Config mixed = resolve_config(inputs({{"DATABASE_URL", "host=urlhost port=7000 dbname=u"},
                                          {"DB_HOST", "dbhost"},
                                          {"PGPORT", "7100"},
                                          {"PGDATABASE", "pgdb"}},
                                         {{"dbname", "flagdb"}}));
    CHECK(mixed.get("host").text == "dbhost");
    CHECK(mixed.get("port").text == "7000");
    CHECK(mixed.get("dbname").text == "flagdb");

    // --url: flag level, below the specific flags; no password on argv.
    Config flag = resolve_config(
        inputs({{"DB_HOST", "envhost"}}, {{"url", "postgres://u:hunter2@flaghost/db"}}));
    CHECK(flag.get("host").text == "flaghost");
    CHECK(flag.get("host").source == "--url");
    CHECK(!flag.get("password").is_set());
    CHECK(has_problem(flag, "--url holds a password"));
    for (const auto& p : flag.problems(true))
        CHECK(p.find("hunter2") == std::string::npos);

    // A string libpq cannot read: an error that never quotes it.
    Config bad = resolve_config(inputs({{"DATABASE_URL", "host=h password=hunter2 bogus"}}));
    CHECK(has_problem(bad, "DATABASE_URL is not a libpq connection string"));
    for (const auto& p : bad.problems(true))
        CHECK(p.find("hunter2") == std::string::npos);

    // The password in DATABASE_URL and DB_PASSWORD_FILE at one level: ambiguous.
    TempDir t;
    Config both = resolve_config(inputs(
        {{"DATABASE_URL", "postgres://u:pw@h/d"}, {"DB_PASSWORD_FILE", t.write("pw", "x")}}));
    CHECK(has_problem(both, "are both set"));

    // In a config file (the ConfigMap's DATABASE_URL), below its explicit keys.
    auto cm = t.write("cm.yaml",
                      "kind: ConfigMap\ndata:\n  DATABASE_URL: "
                      "postgres://cmuser@cmhost:5544/cmdb\n  DB_NAME: explicit\n");
    Config file = resolve_config(inputs({}, {}, cm));
    CHECK(file.get("host").text == "cmhost");
    CHECK(file.get("host").source == cm + ": data.DATABASE_URL");
    CHECK(file.get("dbname").text == "explicit");
    CHECK(file.problems(true).empty());
}

TEST_CASE("a libpq service leaves what ctldb does not set to the service file") {
    Config c = resolve_config(inputs({{"PGSERVICE", "admin"}}));
    CHECK(c.problems(true).empty());  // host, dbname, user may come from the service
    const ConnectionSettings cs = c.connection();
    CHECK(cs.service == "admin");
    CHECK(cs.port == 0);        // not ctldb's default 5432 over the service's port
    CHECK(cs.sslmode.empty());  // nor its default sslmode
    CHECK(cs.target() == "service admin");
    Config explicit_port = resolve_config(inputs({{"PGSERVICE", "admin"}, {"DB_PORT", "6000"}}));
    CHECK(explicit_port.connection().port == 6000);
}

TEST_CASE("config files layer: a base and its overlay, later wins, each value names its file") {
    TempDir dir;
    const std::string base = dir.write("base.yaml",
                                       "apiVersion: v1\nkind: ConfigMap\ndata:\n"
                                       "  DB_HOST: db.prod\n  DB_NAME: app\n"
                                       "  DB_POOL_MAX: '50'\n");
    const std::string overlay = dir.write("overlay.yaml", "database:\n  host: db.staging\n");
    ConfigInputs in = inputs({});
    in.config_paths = {base, overlay};
    Config c = resolve_config(in);
    CHECK(c.get("host").text == "db.staging");
    CHECK(c.get("host").source == overlay + ": database.host");
    CHECK(c.get("dbname").source == base + ": data.DB_NAME");
    CHECK(c.files() == std::vector<std::string>{base, overlay});
    // CTLDB_CONFIG is a ':' list, as KUBECONFIG.
    Config e = resolve_config(inputs({{"CTLDB_CONFIG", base + ":" + overlay}}));
    CHECK(e.get("host").text == "db.staging");
    CHECK(e.load_errors().empty());
    Config missing = resolve_config(inputs({{"CTLDB_CONFIG", base + ":" + dir.path + "/nope"}}));
    REQUIRE(missing.load_errors().size() == 1);
    CHECK(missing.load_errors()[0].find("nope: cannot read config file") != std::string::npos);
}

TEST_CASE("the postgres image's POSTGRES_* rank below ctldb's own names") {
    Config c = resolve_config(inputs({{"POSTGRES_HOST", "pg"},
                                      {"POSTGRES_PORT", "6543"},
                                      {"POSTGRES_USER", "backup"},
                                      {"POSTGRES_DB", "app"},
                                      {"POSTGRES_PASSWORD", "s3cret"}}));
    CHECK(c.get("host").text == "pg");
    CHECK(c.get("host").source == "POSTGRES_HOST");
    CHECK(c.get("port").text == "6543");
    CHECK(c.get("user").text == "backup");
    CHECK(c.get("dbname").text == "app");
    CHECK(c.get("password").text == "s3cret");
    Config own = resolve_config(inputs({{"POSTGRES_HOST", "pg"}, {"DB_HOST", "db"}}));
    CHECK(own.get("host").text == "db");
    // DB_PASSWORD_FILE is ctldb's own: POSTGRES_PASSWORD does not clash with it.
    TempDir dir;
    const std::string pw = dir.write("pw", "from-file\n");
    Config file = resolve_config(inputs({{"DB_PASSWORD_FILE", pw}, {"POSTGRES_PASSWORD", "x"}}));
    CHECK(file.load_errors().empty());
    CHECK(file.get("password").text == "from-file");
    Config pgfile = resolve_config(inputs({{"POSTGRES_PASSWORD_FILE", pw}}));
    CHECK(pgfile.get("password").text == "from-file");
    // Both of the image's: refused, as its entrypoint refuses them.
    Config both =
        resolve_config(inputs({{"POSTGRES_PASSWORD_FILE", pw}, {"POSTGRES_PASSWORD", "x"}}));
    REQUIRE(both.load_errors().size() == 1);
    CHECK(both.load_errors()[0] ==
          "POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE are both set; set only one");
}

TEST_CASE("the application's boolean DB_SSL, when DB_SSL_MODE is not set") {
    Config on = resolve_config(inputs({{"DB_SSL", "true"}}));
    CHECK(on.get("sslmode").text == "require");
    CHECK(on.get("sslmode").source == "DB_SSL");
    Config off = resolve_config(inputs({{"DB_SSL", "false"}}));
    CHECK(off.get("sslmode").text == "disable");
    REQUIRE(off.warnings().size() == 1);
    CHECK(off.warnings()[0].find("in clear") != std::string::npos);
    Config mode = resolve_config(inputs({{"DB_SSL", "false"}, {"DB_SSL_MODE", "verify-full"}}));
    CHECK(mode.get("sslmode").text == "verify-full");
    CHECK(mode.warnings().empty());
    Config bad = resolve_config(inputs({{"DB_SSL", "maybe"}}));
    REQUIRE(bad.load_errors().size() == 1);
    CHECK(bad.load_errors()[0] == "DB_SSL='maybe': expected true or false (or set DB_SSL_MODE)");
}
