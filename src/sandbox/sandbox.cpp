#include "sandbox/sandbox.hpp"

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
#include <nlohmann/json.hpp>

#include "base/fs.hpp"
#include "base/log.hpp"
#include "base/password.hpp"
#include "base/process.hpp"
#include "base/text.hpp"
#include "pg/connection.hpp"
#include "pg/pgtools.hpp"
#include "pg/probes.hpp"
#include "pg/sql.hpp"
#include "tls/tls.hpp"

namespace ctldb::sandbox {

std::string default_dir(const config::EnvLookup& env) {
    if (auto d = env("CTLDB_SANDBOX_DIR")) return *d;
    // As root the server runs as another user, who must reach the directory:
    // /root is closed to it, so root's sandbox lives under /var/lib.
    if (::geteuid() == 0) return "/var/lib/ctldb/sandbox";
    if (auto x = env("XDG_STATE_HOME")) return *x + "/ctldb/sandbox";
    return current_user().home + "/.local/state/ctldb/sandbox";
}

std::optional<Info> load_info(const Paths& p) {
    if (!fs::exists(p.marker)) return std::nullopt;
    try {
        auto j = nlohmann::json::parse(fs::read_file(p.marker));
        Info i;
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

void save_info(const Paths& p, const Info& i) {
    nlohmann::json j = {
        {"port", i.port},     {"state", i.state},           {"server_user", i.server_user},
        {"bindir", i.bindir}, {"created_at", i.created_at}, {"database", kDatabase},
        {"user", kAppUser}};
    fs::write_atomic(p.marker, j.dump(2) + "\n", 0644);
}

UserAccount server_account(const config::EnvLookup& env) {
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
pid_t running_pid(const Paths& p) {
    std::string pidfile = p.data + "/postmaster.pid";
    if (!fs::exists(pidfile)) return 0;
    std::string text;
    try {
        text = fs::read_file(pidfile);
    } catch (const Error&) {
        return 0;
    }
    auto pid = config::parse_integer(text.substr(0, text.find('\n')));
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

ProcessResult run_as_server(const Info& info, const std::vector<std::string>& argv,
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
bool has_pg_stat_statements(const Info& info) {
    char real[PATH_MAX];
    if (::realpath((info.bindir + "/postgres").c_str(), real) == nullptr) return false;
    std::string dir(real);
    dir.erase(dir.rfind('/'));
    return fs::exists(dir + "/../lib/pg_stat_statements.so");
}

std::string server_conf(const Paths& p, int port, bool stat_statements) {
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

config::ConnectionSettings superuser_settings(const Paths& p, int port) {
    config::ConnectionSettings s;
    s.host = p.socket;
    s.port = port;
    s.dbname = "postgres";
    s.user = kSuperuser;
    s.sslmode = "disable";
    s.connect_timeout_ms = 10000;
    return s;
}

config::ConnectionSettings app_settings(const Paths& p, int port) {
    config::ConnectionSettings s;
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

void make_certificates(const Paths& p, const UserAccount& server) {
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

void start_server(const Paths& p, const Info& info) {
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

void stop_server(const Paths& p, const Info& info, bool cleanup) {
    auto r = run_as_server(
        info, {"pg_ctl", "stop", "-w", "-t", "60", "-s", "-m", "fast", "-D", p.data}, cleanup);
    if (!r.ok() && running_pid(p) != 0) throw failure("cannot stop the sandbox: " + r.output);
}

/// Role and database, once, right after the first start. The password is
/// sent as a SCRAM verifier computed here, so not even the server log can
/// see it.
void create_role_and_database(const Paths& p, int port) {
    auto conn = pg::connect(superuser_settings(p, port));
    const std::string pw = fs::read_file(p.password);
    char* verifier = PQencryptPasswordConn(conn->raw(), pw.c_str(), kAppUser, "scram-sha-256");
    if (verifier == nullptr) throw failure("cannot compute the SCRAM verifier");
    std::string v(verifier);
    PQfreemem(verifier);
    pg::exec(*conn, std::string("CREATE ROLE ") + kAppUser + " LOGIN CREATEDB PASSWORD " +
                        pg::sql::quote_literal(v));
    // pg_monitor lets pool-stats and check-ssl see every session.
    pg::exec(*conn, std::string("GRANT pg_monitor TO ") + kAppUser);
    pg::exec(*conn, std::string("CREATE DATABASE ") + kDatabase + " OWNER " + kAppUser);
    config::ConnectionSettings app_db = superuser_settings(p, port);
    app_db.dbname = kDatabase;
    auto db = pg::connect(app_db);
    // Loaded by the server when it has the library (has_pg_stat_statements).
    exec(*db,
         "DO $$ BEGIN IF current_setting('shared_preload_libraries') ~ "
         "'pg_stat_statements' THEN CREATE EXTENSION IF NOT EXISTS pg_stat_statements; "
         "END IF; END $$");
}

void create_sandbox(const Paths& p, Info& info, const UserAccount& server) {
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

/// Connect as the application would (TCP, verify-full) and report what
/// the server says.
Proof prove_connection(const Paths& p, int port) {
    auto conn = pg::connect(app_settings(p, port));
    Proof proof;
    proof.version = pg::probe::server_version(*conn).text;
    const pg::TlsInfo t = pg::tls_info(*conn);
    proof.tls = t.in_use ? t.protocol : "off";
    return proof;
}

std::pair<Info, bool> start(const Paths& p, int port, const config::EnvLookup& env,
                            const std::string& destroy_hint) {
    std::optional<Info> existing = load_info(p);
    Info info;
    bool created = false;
    if (existing) {
        info = *existing;
        if (info.state != "ready") {
            throw failure("the sandbox in " + p.dir + " was never completely created",
                          "run '" + destroy_hint + "' and start again");
        }
        if (running_pid(p) != 0) {
            log::info("sandbox already running");
        } else {
            if (port >= 0)
                info.port = check_port(port);
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
        const UserAccount server = server_account(env);
        info.bindir = pg::find_pg_bindir(env);
        info.server_user = server.name;
        info.port = check_port(port >= 0 ? port : kDefaultPort);
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
    return {info, created};
}

Info require(const Paths& p) {
    auto info = load_info(p);
    if (!info) {
        throw failure("no sandbox in " + p.dir, "create one with 'ctldb local start'");
    }
    return *info;
}

std::vector<std::pair<std::string, std::string>> environment(const Paths& p, const Info& info) {
    return {
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
}

}  // namespace ctldb::sandbox
