// The sandbox: a real PostgreSQL on this machine, configured like the
// guide's production (database cloudtolocalllm, user appuser with a strong
// password, TLS with its own CA, verify-full), run as an unprivileged user
// from a directory ctldb owns. `ctldb local` drives it.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"

namespace ctldb::sandbox {

constexpr int kDefaultPort = 55432;
constexpr const char* kDatabase = "cloudtolocalllm";
constexpr const char* kAppUser = "appuser";
constexpr const char* kSuperuser = "postgres";

/// Where the parts of a sandbox live.
struct Paths {
    explicit Paths(const std::string& root)
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
struct Info {
    int port = kDefaultPort;
    std::string state;  ///< "creating" or "ready"
    std::string server_user;
    std::string bindir;
    std::string created_at;
};

/// What the server said to a connection made as the application would.
struct Proof {
    std::string version;
    std::string tls;
};

/// The default directory: $XDG_STATE_HOME/ctldb/sandbox or its fallbacks.
std::string default_dir(const config::EnvLookup& env);

/// sandbox.json, if there is one; an unreadable one is an error.
std::optional<Info> load_info(const Paths& p);

/// The server's pid when it runs from this sandbox, else 0.
pid_t running_pid(const Paths& p);

/// Start the sandbox in `p`, creating it first when there is none (on port
/// `port`; -1 the default, or the recorded one; 0 a free one). A failed
/// creation leaves nothing behind. `destroy_hint` is the command that
/// removes a half-made sandbox. Returns the sandbox and whether it was
/// created now.
std::pair<Info, bool> start(const Paths& p, int port, const config::EnvLookup& env,
                            const std::string& destroy_hint);

/// Connect as the application would (TCP, verify-full).
Proof prove_connection(const Paths& p, int port);

/// The recorded sandbox; an error naming `local start` when there is none.
Info require(const Paths& p);

/// Stop the server (fast shutdown); `cleanup` after a failed creation.
void stop_server(const Paths& p, const Info& info, bool cleanup = false);

/// The environment that points every command at the sandbox.
std::vector<std::pair<std::string, std::string>> environment(const Paths& p, const Info& info);

}  // namespace ctldb::sandbox
