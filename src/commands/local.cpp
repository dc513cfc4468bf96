// ctldb local start|stop|status|env|destroy: a real PostgreSQL on this
// machine, configured like the guide's production (database cloudtolocalllm,
// user appuser with a strong password, TLS with its own CA), so every other
// command can be tried with `eval "$(ctldb local env)"`.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <climits>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include <libpq-fe.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/nontransaction>

#include "commands.hpp"
#include "ctldb/connection.hpp"
#include "ctldb/context.hpp"
#include "ctldb/fs.hpp"
#include "ctldb/log.hpp"
#include "ctldb/password.hpp"
#include "ctldb/pgtools.hpp"
#include "ctldb/process.hpp"
#include "ctldb/text.hpp"
#include "ctldb/tls.hpp"

namespace ctldb {

namespace {

constexpr int kDefaultPort = 55432;
constexpr const char* kDatabase = "cloudtolocalllm";
constexpr const char* kAppUser = "appuser";
constexpr const char* kSuperuser = "postgres";

struct LocalOptions {
    std::string dir;
    int port = -1;  // -1: keep / default; 0: pick a free one
    bool yes = false;
};

/// Where the parts of a sandbox live.
struct SandboxPaths {
    explicit SandboxPaths(const std::string& root)
        : dir(root),
          data(root + "/data"),
          socket(root + "/socket"),
          tls(root + "/tls"),
          log(root + "/log"),
          password(root + "/password"),
          marker(root + "/sandbox.json") {}
    std::string dir, data, socket, tls, log, password, marker;
    std::string ca_cert() const { return tls + "/ca.crt"; }
    std::string server_log() const { return log + "/server.log"; }
};

/// What sandbox.json records.
struct SandboxInfo {
    int port = kDefaultPort;
    std::string state;  // "creating" or "ready"
    std::string server_user;
    std::string bindir;
    std::string created_at;
};

std::string default_dir(const EnvLookup& env) {
    if (auto d = env("CTLDB_SANDBOX_DIR")) return *d;
    // As root the server runs as another user, who must reach the directory:
    // /root is closed to it, so root's sandbox lives under /var/lib.
    if (::geteuid() == 0) return "/var/lib/ctldb/sandbox";
    if (auto x = env("XDG_STATE_HOME")) return *x + "/ctldb/sandbox";
    return current_user().home + "/.local/state/ctldb/sandbox";
}

std::string resolve_dir(const LocalOptions& o, const EnvLookup& env) {
    std::string d = fs::absolute(o.dir.empty() ? default_dir(env) : o.dir);
    while (d.size() > 1 && d.back() == '/')
        d.pop_back();
    return d;
}

std::optional<SandboxInfo> load_info(const SandboxPaths& p) {
    if (!fs::exists(p.marker)) return std::nullopt;
    try {
        auto j = nlohmann::json::parse(fs::read_file(p.marker));
        SandboxInfo i;
        i.port = j.at("port").get<int>();
        i.state = j.at("state").get<std::string>();
        i.server_user = j.at("server_user").get<std::string>();
        i.bindir = j.at("bindir").get<std::string>();
        i.created_at = j.value("created_at", "");
        return i;
    } catch (const nlohmann::json::exception& e) {
        throw failure(p.marker + " is damaged: " + e.what(),
                      "run 'ctldb local destroy --dir " + p.dir + "' and start again");
    }
}

void save_info(const SandboxPaths& p, const SandboxInfo& i) {
    nlohmann::json j = {
        {"port", i.port},     {"state", i.state},           {"server_user", i.server_user},
        {"bindir", i.bindir}, {"created_at", i.created_at}, {"database", kDatabase},
        {"user", kAppUser}};
    fs::write_atomic(p.marker, j.dump(2) + "\n", 0644);
}

UserAccount server_account(const EnvLookup& env) {
    if (::geteuid() != 0) return current_user();
    std::string name = env("CTLDB_SANDBOX_USER").value_or("postgres");
    auto u = lookup_user(name);
    if (!u) {
        throw usage_error(
            "PostgreSQL refuses to run as root and there is no user '" + name + "' to run it as",
            "create one (useradd --system postgres) or set CTLDB_SANDBOX_USER");
    }
    if (u->uid == 0) throw usage_error("CTLDB_SANDBOX_USER must not be root");
    return *u;
}

/// Ports below this need privileges the sandbox's server account lacks.
int unprivileged_port_start() {
    std::ifstream in("/proc/sys/net/ipv4/ip_unprivileged_port_start");
    int start = 1024;
    if (!(in >> start)) return 1024;
    return start;
}

/// Bind-test a port on 127.0.0.1; port 0 asks the kernel for a free one.
/// ctldb may run as root, the server never does: a privileged port that
/// binds here would still fail for it.
int check_port(int port) {
    if (port > 0 && port < unprivileged_port_start()) {
        throw usage_error("port " + std::to_string(port) +
                              " is privileged and the sandbox server does not run as root",
                          "use a port from " + std::to_string(unprivileged_port_start()) +
                              " up, or --port 0 to pick a free one");
    }
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw failure(std::string("cannot create a socket: ") + std::strerror(errno));
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        int saved = errno;
        ::close(fd);
        throw usage_error("port " + std::to_string(port) +
                              " on 127.0.0.1 is not available: " + std::strerror(saved),
                          "choose another with --port, or --port 0 to pick a free one");
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

void chown_to(const std::string& path, const UserAccount& u) {
    if (::geteuid() == u.uid) return;
    if (::chown(path.c_str(), u.uid, u.gid) != 0) {
        throw failure("cannot chown " + path + ": " + std::strerror(errno));
    }
}

void write_owned(const std::string& path, const std::string& contents, mode_t mode,
                 const UserAccount& u) {
    fs::write_atomic(path, contents, mode);
    chown_to(path, u);
}

/// PID of the running postmaster, or 0.
pid_t running_pid(const SandboxPaths& p) {
    std::string pidfile = p.data + "/postmaster.pid";
    if (!fs::exists(pidfile)) return 0;
    std::string text;
    try {
        text = fs::read_file(pidfile);
    } catch (const Error&) {
        return 0;
    }
    auto pid = parse_integer(text.substr(0, text.find('\n')));
    if (!pid || *pid <= 0) return 0;
    if (::kill(static_cast<pid_t>(*pid), 0) != 0 && errno == ESRCH) return 0;
    return static_cast<pid_t>(*pid);
}

std::string tail(const std::string& path, std::size_t lines) {
    std::string text;
    try {
        text = fs::read_file(path);
    } catch (const Error&) {
        return {};
    }
    std::size_t pos = text.size();
    for (std::size_t n = 0; n <= lines && pos > 0; ++n) {
        pos = text.rfind('\n', pos - 1);
        if (pos == std::string::npos) {
            pos = 0;
            break;
        }
    }
    return text.substr(pos);
}

ProcessResult run_as_server(const SandboxInfo& info, const std::vector<std::string>& argv,
                            bool cleanup = false) {
    ProcessOptions o;
    if (::geteuid() == 0) o.run_as = lookup_user(info.server_user);
    o.clear_pg_env = true;
    o.cwd = "/";
    o.cleanup = cleanup;
    std::vector<std::string> full = argv;
    full[0] = info.bindir + "/" + argv[0];
    return run_process(full, o);
}

/// pg_stat_statements (for ctldb queries top) when the server has it.
/// The server's libraries are beside its real binary (bindir may hold
/// symbolic links, as /usr/local/bin does).
bool has_pg_stat_statements(const SandboxInfo& info) {
    char real[PATH_MAX];
    if (::realpath((info.bindir + "/postgres").c_str(), real) == nullptr) return false;
    std::string dir(real);
    dir.erase(dir.rfind('/'));
    return fs::exists(dir + "/../lib/pg_stat_statements.so");
}

std::string server_conf(const SandboxPaths& p, int port, bool stat_statements) {
    return std::string(stat_statements ? "shared_preload_libraries = 'pg_stat_statements'\n" : "") +
           "# Written by ctldb local start; rewritten at every start.\n"
           "listen_addresses = '127.0.0.1'\n"
           "port = " +
           std::to_string(port) +
           "\n"
           "unix_socket_directories = '" +
           p.socket +
           "'\n"
           "max_connections = 100\n"
           "ssl = on\n"
           "ssl_cert_file = '" +
           p.tls +
           "/server.crt'\n"
           "ssl_key_file = '" +
           p.tls +
           "/server.key'\n"
           "ssl_ca_file = '" +
           p.tls +
           "/ca.crt'\n"
           "ssl_min_protocol_version = 'TLSv1.2'\n"
           "password_encryption = 'scram-sha-256'\n"
           "autovacuum = on\n"
           "autovacuum_naptime = '1min'\n"
           "log_line_prefix = '%m [%p] %q%u@%d '\n";
}

// Local socket: trust, but the socket directory is 0700 and owned by the
// server's account. TCP: SCRAM, with or without TLS, as in the postgres image.
constexpr const char* kHba =
    "# Written by ctldb local start.\n"
    "local   all  all                 trust\n"
    "hostssl all  all  127.0.0.1/32   scram-sha-256\n"
    "host    all  all  127.0.0.1/32   scram-sha-256\n";

ConnectionSettings superuser_settings(const SandboxPaths& p, int port) {
    ConnectionSettings s;
    s.host = p.socket;
    s.port = port;
    s.dbname = "postgres";
    s.user = kSuperuser;
    s.sslmode = "disable";
    s.connect_timeout_ms = 10000;
    return s;
}

ConnectionSettings app_settings(const SandboxPaths& p, int port) {
    ConnectionSettings s;
    s.host = "localhost";
    s.port = port;
    s.dbname = kDatabase;
    s.user = kAppUser;
    s.password = fs::read_file(p.password);
    s.sslmode = "verify-full";
    s.sslrootcert = p.ca_cert();
    s.connect_timeout_ms = 10000;
    return s;
}

void make_certificates(const SandboxPaths& p, const UserAccount& server) {
    tls::CertSpec ca_spec;
    ca_spec.role = tls::CertRole::ca;
    ca_spec.common_name = "ctldb sandbox CA";
    ca_spec.days = 3650;
    const tls::PemPair ca = tls::issue(ca_spec, nullptr);
    tls::CertSpec srv;
    srv.role = tls::CertRole::server;
    srv.common_name = "localhost";
    srv.dns_names = {"localhost"};
    srv.ip_addresses = {"127.0.0.1"};
    srv.days = 365;
    const tls::PemPair cert = tls::issue(srv, &ca);
    fs::write_new(p.tls + "/ca.crt", ca.cert_pem, 0644);
    fs::write_new(p.tls + "/ca.key", ca.key_pem, 0600);
    fs::write_new(p.tls + "/server.crt", cert.cert_pem, 0644);
    fs::write_new(p.tls + "/server.key", cert.key_pem, 0600);
    chown_to(p.tls + "/server.key", server);
}

void start_server(const SandboxPaths& p, const SandboxInfo& info) {
    const auto server = ::geteuid() == 0 ? lookup_user(info.server_user) : current_user();
    if (!server) throw usage_error("the sandbox's server user '" + info.server_user + "' is gone");
    write_owned(p.data + "/ctldb.conf", server_conf(p, info.port, has_pg_stat_statements(info)),
                0600, *server);
    auto r = run_as_server(
        info, {"pg_ctl", "start", "-w", "-t", "60", "-s", "-D", p.data, "-l", p.server_log()});
    if (!r.ok()) {
        throw failure("the sandbox server did not start: " + r.output + tail(p.server_log(), 8),
                      "the end of the server's log is above");
    }
}

void stop_server(const SandboxPaths& p, const SandboxInfo& info, bool cleanup = false) {
    auto r = run_as_server(
        info, {"pg_ctl", "stop", "-w", "-t", "60", "-s", "-m", "fast", "-D", p.data}, cleanup);
    if (!r.ok() && running_pid(p) != 0) throw failure("cannot stop the sandbox: " + r.output);
}

/// Role and database, once, right after the first start. The password is
/// sent as a SCRAM verifier computed here, so not even the server log can
/// see it.
void create_role_and_database(const SandboxPaths& p, int port) {
    auto conn = connect(superuser_settings(p, port));
    const std::string pw = fs::read_file(p.password);
    char* verifier = PQencryptPasswordConn(conn->raw(), pw.c_str(), kAppUser, "scram-sha-256");
    if (verifier == nullptr) throw failure("cannot compute the SCRAM verifier");
    std::string v(verifier);
    PQfreemem(verifier);
    pqxx::nontransaction tx(*conn);
    tx.exec0(std::string("CREATE ROLE ") + kAppUser + " LOGIN CREATEDB PASSWORD " + tx.quote(v));
    // pg_monitor lets pool-stats and check-ssl see every session.
    tx.exec0(std::string("GRANT pg_monitor TO ") + kAppUser);
    tx.exec0(std::string("CREATE DATABASE ") + kDatabase + " OWNER " + kAppUser);
    ConnectionSettings app_db = superuser_settings(p, port);
    app_db.dbname = kDatabase;
    auto db = connect(app_db);
    // Loaded by the server when it has the library (has_pg_stat_statements).
    exec(*db,
         "DO $$ BEGIN IF current_setting('shared_preload_libraries') ~ "
         "'pg_stat_statements' THEN CREATE EXTENSION IF NOT EXISTS pg_stat_statements; "
         "END IF; END $$");
}

std::string dir_flag(const LocalOptions& o, const std::string& dir) {
    return o.dir.empty() ? "" : " --dir " + dir;
}

void create_sandbox(const SandboxPaths& p, SandboxInfo& info, const UserAccount& server) {
    if (p.socket.size() + 20 > 107) {
        throw usage_error("sandbox directory path is too long for a Unix socket: " + p.dir,
                          "use a shorter --dir");
    }
    fs::make_dirs(p.dir, 0755);
    save_info(p, info);
    fs::make_dirs(p.data, 0700);
    fs::make_dirs(p.socket, 0700);
    fs::make_dirs(p.log, 0700);
    fs::make_dirs(p.tls, 0755);
    for (const auto& d : {p.data, p.socket, p.log})
        chown_to(d, server);
    if (!can_access_as(server, p.data, W_OK | X_OK)) {
        throw usage_error("user '" + server.name + "' cannot reach " + p.data,
                          "a parent directory is closed to it; choose a --dir under /var/lib or "
                          "/tmp");
    }
    make_certificates(p, server);
    fs::write_new(p.password, generate_password(24), 0600);
    log::info("initializing PostgreSQL in " + p.data);
    auto r =
        run_as_server(info, {"initdb", "-D", p.data, "-U", kSuperuser, "-E", "UTF8", "--locale=C",
                             "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"});
    if (!r.ok()) throw failure("initdb failed: " + r.output);
    std::string conf = fs::read_file(p.data + "/postgresql.conf");
    write_owned(p.data + "/postgresql.conf", conf + "\ninclude_if_exists = 'ctldb.conf'\n", 0600,
                server);
    write_owned(p.data + "/pg_hba.conf", kHba, 0600, server);
    start_server(p, info);
    create_role_and_database(p, info.port);
    info.state = "ready";
    save_info(p, info);
}

struct Proof {
    std::string version;
    std::string tls;
};

/// Connect as the application would (TCP, verify-full) and report what
/// the server says.
Proof prove_connection(const SandboxPaths& p, int port) {
    auto conn = connect(app_settings(p, port));
    pqxx::nontransaction tx(*conn);
    Proof proof;
    proof.version = tx.exec1("SHOW server_version")[0].as<std::string>();
    const TlsInfo t = tls_info(*conn);
    proof.tls = t.in_use ? t.protocol : "off";
    return proof;
}

ExitCode run_local_start(const LocalOptions& o, Context& ctx) {
    const SandboxPaths p(resolve_dir(o, ctx.env));
    std::optional<SandboxInfo> existing = load_info(p);
    SandboxInfo info;
    bool created = false;
    if (existing) {
        info = *existing;
        if (info.state != "ready") {
            throw failure("the sandbox in " + p.dir + " was never completely created",
                          "run 'ctldb local destroy" + dir_flag(o, p.dir) + "' and start again");
        }
        if (running_pid(p) != 0) {
            log::info("sandbox already running");
        } else {
            if (o.port >= 0)
                info.port = check_port(o.port);
            else
                check_port(info.port);
            save_info(p, info);
            start_server(p, info);
        }
    } else {
        if (fs::exists(p.dir) && !fs::is_dir(p.dir))
            throw usage_error(p.dir + " is not a directory");
        if (fs::is_dir(p.dir) && fs::exists(p.data)) {
            throw usage_error(p.dir + " holds a data directory but no sandbox.json",
                              "it was not made by ctldb; choose another --dir");
        }
        const UserAccount server = server_account(ctx.env);
        info.bindir = find_pg_bindir(ctx.env);
        info.server_user = server.name;
        info.port = check_port(o.port >= 0 ? o.port : kDefaultPort);
        info.state = "creating";
        info.created_at = utc_now_iso8601();
        const bool dir_existed = fs::exists(p.dir);
        try {
            create_sandbox(p, info, server);
        } catch (...) {
            // Leave nothing half-made behind: stop what we started, remove what we wrote.
            if (running_pid(p) != 0) stop_server(p, info, true);
            if (dir_existed) {
                for (const auto& d : {p.data, p.socket, p.log, p.tls, p.password, p.marker}) {
                    std::error_code ec;
                    std::filesystem::remove_all(d, ec);
                }
            } else {
                std::error_code ec;
                std::filesystem::remove_all(p.dir, ec);
            }
            throw;
        }
        created = true;
    }
    const Proof proof = prove_connection(p, info.port);
    if (ctx.json()) {
        emit_result({{"ok", true},
                     {"dir", p.dir},
                     {"created", created},
                     {"port", info.port},
                     {"server_version", proof.version},
                     {"tls", proof.tls},
                     {"database", kDatabase},
                     {"user", kAppUser}});
    } else {
        print_text("sandbox " + std::string(created ? "created and " : "") +
                   "running: PostgreSQL " + proof.version + " on localhost:" +
                   std::to_string(info.port) + ", " + proof.tls + " verified (verify-full)\n" +
                   "  dir      " + p.dir + "\n" + "  database " + kDatabase + ", user " + kAppUser +
                   "\n" + "  use it:  eval \"$(ctldb local env" + dir_flag(o, p.dir) + ")\"\n");
    }
    return ExitCode::ok;
}

SandboxInfo require_sandbox(const SandboxPaths& p) {
    auto info = load_info(p);
    if (!info) {
        throw failure("no sandbox in " + p.dir, "create one with 'ctldb local start'");
    }
    return *info;
}

ExitCode run_local_stop(const LocalOptions& o, Context& ctx) {
    const SandboxPaths p(resolve_dir(o, ctx.env));
    const SandboxInfo info = require_sandbox(p);
    if (running_pid(p) == 0) {
        log::info("sandbox is not running");
        return ExitCode::ok;
    }
    stop_server(p, info);
    log::info("sandbox stopped");
    return ExitCode::ok;
}

ExitCode run_local_status(const LocalOptions& o, Context& ctx) {
    const SandboxPaths p(resolve_dir(o, ctx.env));
    auto info = load_info(p);
    const pid_t pid = info ? running_pid(p) : 0;
    const char* state = !info ? "absent" : (pid != 0 ? "running" : "stopped");
    if (ctx.json()) {
        nlohmann::json j = {{"dir", p.dir}, {"state", state}};
        if (info) {
            j["port"] = info->port;
            j["pid"] = pid;
            j["created_at"] = info->created_at;
            j["server_user"] = info->server_user;
            j["bindir"] = info->bindir;
        }
        emit_result(j);
    } else {
        Table t({"DIR", "STATE", "PORT", "PID", "CREATED"});
        t.add_row({p.dir, state, info ? std::to_string(info->port) : "-",
                   pid ? std::to_string(pid) : "-", info ? info->created_at : "-"});
        print_text(t.render());
    }
    return pid != 0 ? ExitCode::ok : ExitCode::failure;
}

ExitCode run_local_env(const LocalOptions& o, Context& ctx) {
    const SandboxPaths p(resolve_dir(o, ctx.env));
    const SandboxInfo info = require_sandbox(p);
    const std::vector<std::pair<std::string, std::string>> vars = {
        {"DB_TYPE", "postgresql"},
        {"DB_HOST", "localhost"},
        {"DB_PORT", std::to_string(info.port)},
        {"DB_NAME", kDatabase},
        {"DB_USER", kAppUser},
        {"DB_PASSWORD_FILE", p.password},
        {"DB_SSL_MODE", "verify-full"},
        {"DB_SSL_ROOT_CERT", p.ca_cert()},
        {"DB_POOL_MAX", "50"},
        {"DB_POOL_IDLE_TIMEOUT", "600000"},
        {"DB_POOL_CONNECTION_TIMEOUT", "30000"},
        {"CTLDB_ENV", "development"},
    };
    if (ctx.json()) {
        nlohmann::json j = nlohmann::json::object();
        for (const auto& [k, v] : vars)
            j[k] = v;
        emit_result(j);
        return ExitCode::ok;
    }
    // The password stays in its 0600 file; DB_PASSWORD would win over it.
    std::string out = "unset DB_PASSWORD\n";
    for (const auto& [k, v] : vars)
        out += "export " + k + "=" + shell_quote(v, true) + "\n";
    print_text(out);
    return ExitCode::ok;
}

ExitCode run_local_destroy(const LocalOptions& o, Context& ctx) {
    const SandboxPaths p(resolve_dir(o, ctx.env));
    auto info = load_info(p);
    if (!info) {
        if (!fs::exists(p.dir)) {
            log::info("no sandbox in " + p.dir);
            return ExitCode::ok;
        }
        throw failure(p.dir + " has no sandbox.json: not a ctldb sandbox, not removing it");
    }
    if (!o.yes) {
        if (!is_tty(stdin)) {
            throw usage_error("destroying the sandbox deletes its data; pass --yes to confirm");
        }
        if (!confirm("Delete the sandbox in " + p.dir + " and all its data?")) {
            log::info("nothing deleted");
            return ExitCode::failure;
        }
    }
    if (running_pid(p) != 0) stop_server(p, *info);
    fs::remove_tree(p.dir);
    log::info("sandbox in " + p.dir + " destroyed");
    return ExitCode::ok;
}

}  // namespace

void register_local(CLI::App& app, Context& ctx) {
    static LocalOptions opts;
    auto* cmd = app.add_subcommand(
        "local", "A local PostgreSQL sandbox configured like the guide's production");
    cmd->require_subcommand(1);
    auto add_dir = [](CLI::App* sub) {
        sub->add_option(
            "--dir", opts.dir,
            "Sandbox directory (env CTLDB_SANDBOX_DIR; default as root /var/lib/ctldb/sandbox, "
            "others ~/.local/state/ctldb/sandbox)");
    };
    auto* start = cmd->add_subcommand("start", "Create the sandbox if needed and start it");
    add_dir(start);
    start
        ->add_option("--port", opts.port,
                     "TCP port on 127.0.0.1 (default 55432; 0 picks a free one)")
        ->check(CLI::Range(0, 65535));
    start->callback([&ctx] { ctx.run = [&ctx] { return run_local_start(opts, ctx); }; });
    auto* stop = cmd->add_subcommand("stop", "Stop the sandbox server (data is kept)");
    add_dir(stop);
    stop->callback([&ctx] { ctx.run = [&ctx] { return run_local_stop(opts, ctx); }; });
    auto* status = cmd->add_subcommand("status", "Is the sandbox running? Exit 1 if not");
    add_dir(status);
    status->callback([&ctx] { ctx.run = [&ctx] { return run_local_status(opts, ctx); }; });
    auto* env = cmd->add_subcommand("env", "Print export lines for every DB_* setting");
    add_dir(env);
    env->callback([&ctx] { ctx.run = [&ctx] { return run_local_env(opts, ctx); }; });
    auto* destroy = cmd->add_subcommand("destroy", "Stop the sandbox and delete it with its data");
    add_dir(destroy);
    destroy->add_flag("-y,--yes", opts.yes, "Do not ask for confirmation");
    destroy->callback([&ctx] { ctx.run = [&ctx] { return run_local_destroy(opts, ctx); }; });
}

}  // namespace ctldb
