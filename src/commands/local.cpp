// ctldb local start|stop|status|env|destroy: the sandbox (src/sandbox), a
// real PostgreSQL on this machine configured like the guide's production,
// so every other command can be tried with `eval "$(ctldb local env)"`.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "base/fs.hpp"
#include "base/log.hpp"
#include "base/output.hpp"
#include "base/text.hpp"
#include "cli/context.hpp"
#include "commands/commands.hpp"
#include "sandbox/sandbox.hpp"

namespace ctldb::commands {

namespace {

using sandbox::default_dir;
using sandbox::Info;
using sandbox::kAppUser;
using sandbox::kDatabase;
using sandbox::load_info;
using sandbox::Paths;
using sandbox::Proof;
using sandbox::prove_connection;
using sandbox::running_pid;
using sandbox::stop_server;

struct LocalOptions {
    std::string dir;
    int port = -1;  // -1: keep / default; 0: pick a free one
    bool yes = false;
};

std::string resolve_dir(const LocalOptions& o, const config::EnvLookup& env) {
    std::string d = fs::absolute(o.dir.empty() ? default_dir(env) : o.dir);
    while (d.size() > 1 && d.back() == '/')
        d.pop_back();
    return d;
}

std::string dir_flag(const LocalOptions& o, const std::string& dir) {
    return o.dir.empty() ? "" : " --dir " + dir;
}

cli::Outcome run_local_start(const LocalOptions& o, Context& ctx) {
    const Paths p(resolve_dir(o, ctx.env));
    const auto [info, created] =
        sandbox::start(p, o.port, ctx.env, "ctldb local destroy" + dir_flag(o, p.dir));
    const Proof proof = prove_connection(p, info.port);
    return cli::Outcome::done(
        ExitCode::ok,
        "sandbox " + std::string(created ? "created and " : "") + "running: PostgreSQL " +
            proof.version + " on localhost:" + std::to_string(info.port) + ", " + proof.tls +
            " verified (verify-full)\n" + "  dir      " + p.dir + "\n" + "  database " + kDatabase +
            ", user " + kAppUser + "\n" + "  use it:  eval \"$(ctldb local env" +
            dir_flag(o, p.dir) + ")\"\n",
        {{"dir", p.dir},
         {"created", created},
         {"port", info.port},
         {"server_version", proof.version},
         {"tls", proof.tls},
         {"database", kDatabase},
         {"user", kAppUser}});
}

ExitCode run_local_stop(const LocalOptions& o, Context& ctx) {
    const Paths p(resolve_dir(o, ctx.env));
    const Info info = sandbox::require(p);
    if (running_pid(p) == 0) {
        log::info("sandbox is not running");
        return ExitCode::ok;
    }
    stop_server(p, info);
    log::info("sandbox stopped");
    return ExitCode::ok;
}

cli::Outcome run_local_status(const LocalOptions& o, Context& ctx) {
    const Paths p(resolve_dir(o, ctx.env));
    auto info = load_info(p);
    const pid_t pid = info ? running_pid(p) : 0;
    const char* state = !info ? "absent" : (pid != 0 ? "running" : "stopped");
    nlohmann::json j = {{"dir", p.dir}, {"state", state}};
    if (info) {
        j["port"] = info->port;
        j["pid"] = pid;
        j["created_at"] = info->created_at;
        j["server_user"] = info->server_user;
        j["bindir"] = info->bindir;
    }
    Table t({"DIR", "STATE", "PORT", "PID", "CREATED"});
    t.add_row({p.dir, state, info ? std::to_string(info->port) : "-",
               pid ? std::to_string(pid) : "-", info ? info->created_at : "-"});
    return cli::Outcome::done(pid != 0 ? ExitCode::ok : ExitCode::failure, t.render(), j);
}

cli::Outcome run_local_env(const LocalOptions& o, Context& ctx) {
    const Paths p(resolve_dir(o, ctx.env));
    const Info info = sandbox::require(p);
    const auto vars = sandbox::environment(p, info);
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [k, v] : vars)
        j[k] = v;
    // The password stays in its 0600 file; DB_PASSWORD would win over it.
    std::string out = "unset DB_PASSWORD\n";
    for (const auto& [k, v] : vars)
        out += "export " + k + "=" + shell_quote(v, true) + "\n";
    return cli::Outcome::done(ExitCode::ok, out, j);
}

ExitCode run_local_destroy(const LocalOptions& o, Context& ctx) {
    const Paths p(resolve_dir(o, ctx.env));
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

void bind_local(CLI::App* cmd, Context& ctx) {
    static LocalOptions opts;
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

}  // namespace ctldb::commands
