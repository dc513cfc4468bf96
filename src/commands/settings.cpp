// ctldb settings [check|apply]: the guide's ALTER SYSTEM procedures (SSL,
// autovacuum, max_connections, audit logging, SCRAM). apply changes only
// what differs, after checking the role may (superuser, or PostgreSQL 15's
// GRANT ALTER SYSTEM ON PARAMETER) and that TLS files the server would
// start with are a readable certificate and its key; then pg_reload_conf()
// and a report of what took effect and what waits for a restart.
#include <openssl/crypto.h>

#include <chrono>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "base/log.hpp"
#include "base/output.hpp"
#include "base/text.hpp"
#include "checks/server_settings.hpp"
#include "cli/cli_values.hpp"
#include "cli/context.hpp"
#include "cli/outcome.hpp"
#include "commands/commands.hpp"
#include "commands/settings.hpp"
#include "pg/connection.hpp"
#include "pg/probes.hpp"
#include "pg/sql.hpp"
#include "tls/tls.hpp"

namespace ctldb::commands {

namespace {

using checks::server_settings::Item;

struct SettingsCli {
    SettingsOptions o;
    std::string only;
};

struct SettingsReport {
    std::vector<Item> items;
    bool check = false;  ///< exit 1 when something differs
    /// apply: per setting what happened ("set", "set; restart needed", ...)
    std::map<std::string, std::string> applied;
    bool dry_run = false;
    bool applying = false;

    ExitCode code() const {
        if (applying) {
            for (const auto& [name, what] : applied)
                if (what.rfind("failed", 0) == 0) return ExitCode::failure;
            return ExitCode::ok;
        }
        if (!check) return ExitCode::ok;
        for (const auto& i : items)
            if (i.status == Status::fail) return ExitCode::failure;
        return ExitCode::ok;
    }

    std::string text(bool color) const {
        Table t({"SETTING", "VALUE", "SOURCE", "GUIDE", "STATUS", applying ? "APPLIED" : "DETAIL"});
        for (const auto& i : items) {
            const Style st = i.status == Status::ok     ? Style::green
                             : i.status == Status::fail ? Style::red
                                                        : Style::yellow;
            auto a = applied.find(i.name);
            t.add_row({i.name, printable(checks::server_settings::shown(i.current)),
                       i.current.source.empty() ? "-" : i.current.source,
                       i.want.empty() ? "-" : (i.at_least ? ">= " : "") + printable(i.want),
                       styled(status_name(i.status), st, color),
                       applying ? (a == applied.end() ? "" : a->second) : printable(i.message)});
        }
        std::string out = t.render();
        if (applying && applied.empty()) out += "nothing to change\n";
        return out;
    }

    nlohmann::json json() const {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& i : items) {
            auto a = applied.find(i.name);
            list.push_back(
                {{"name", i.name},
                 {"value", i.current.value ? nlohmann::json(*i.current.value) : nullptr},
                 {"unit", i.current.unit.empty() ? nlohmann::json(nullptr)
                                                 : nlohmann::json(i.current.unit)},
                 {"source", i.current.source.empty() ? nlohmann::json(nullptr)
                                                     : nlohmann::json(i.current.source)},
                 {"pending_restart", i.current.pending_restart},
                 {"restart_to_change", i.restart()},
                 {"guide_value", i.want.empty() ? nlohmann::json(nullptr) : nlohmann::json(i.want)},
                 {"guide_value_is_minimum", i.at_least},
                 {"guide_section", i.guide},
                 {"status", status_name(i.status)},
                 {"message", i.message},
                 {"applied",
                  a == applied.end() ? nlohmann::json(nullptr) : nlohmann::json(a->second)}});
        }
        return {{"settings", list}, {"dry_run", dry_run}};
    }
};

std::vector<Item> read_items(pg::Connection& conn, const SettingsOptions& o) {
    std::vector<std::string> names = checks::server_settings::names();
    names.emplace_back("superuser_reserved_connections");
    const auto current = pg::probe::settings(conn, names);
    const std::int64_t reserved =
        current.back().value ? std::atoll(current.back().value->c_str()) : 3;
    checks::server_settings::Options so;
    so.pods = o.pods;
    so.admin_reserve = o.admin_reserve;
    so.pool_max = o.pool_max;
    so.ssl_cert_file = o.ssl_cert_file;
    so.ssl_key_file = o.ssl_key_file;
    auto items = checks::server_settings::evaluate(current, so, reserved);
    if (!o.only.empty()) {
        std::vector<Item> kept;
        for (auto& i : items)
            if (std::find(o.only.begin(), o.only.end(), i.name) != o.only.end())
                kept.push_back(std::move(i));
        items = std::move(kept);
    }
    return items;
}

/// What each applied setting is once the server has reloaded.
void read_back(pg::Connection& conn, SettingsReport& r, const SettingsOptions& o) {
    // pg_reload_conf() only signals the server: wait until this session
    // has the new values (or they wait for a restart), at most 3 s.
    for (int attempt = 0; attempt < 30; ++attempt) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        r.items = read_items(conn, o);
        bool settled = true;
        for (const auto& i : r.items)
            if (r.applied.count(i.name) && i.differs && !i.current.pending_restart) settled = false;
        if (settled) break;
    }
    for (const auto& i : r.items) {
        auto a = r.applied.find(i.name);
        if (a == r.applied.end()) continue;
        if (i.current.pending_restart) {
            a->second = "set; takes effect at the next restart";
        } else if (i.differs) {
            a->second = "failed: still " + checks::server_settings::shown(i.current);
        } else {
            a->second = "set and in effect";
        }
    }
}

}  // namespace

cli::Outcome run_settings(const SettingsOptions& o, SettingsMode mode, Context& ctx) {
    for (const auto& n : o.only) {
        const auto& all = checks::server_settings::names();
        if (std::find(all.begin(), all.end(), n) == all.end()) {
            throw usage_error("--only " + n + " is not one of the guide's settings",
                              join(checks::server_settings::names(), ", "));
        }
    }
    const config::Config& cfg = ctx.valid_config(true);
    SettingsOptions opts = o;
    opts.pool_max = cfg.integer("pool_max");
    auto conn = pg::connect(cfg.connection());
    pg::probe::bound_reads(*conn);
    SettingsReport r;
    r.items = read_items(*conn, opts);
    r.check = mode == SettingsMode::check;
    if (mode != SettingsMode::apply) return cli::Outcome::of(r);
    r.applying = true;
    r.dry_run = o.dry_run;
    std::vector<const Item*> todo;
    for (const auto& i : r.items)
        if (i.differs) todo.push_back(&i);
    if (todo.empty()) return cli::Outcome::of(r);
    // TLS on with files the server cannot use stops it at the next start.
    const auto setting = [&](const std::string& name) {
        for (const auto& i : r.items)
            if (i.name == name) return i.differs ? i.want : i.current.value.value_or("");
        return pg::probe::settings(*conn, {name}).front().value.value_or("");
    };
    const bool touches_tls = std::any_of(todo.begin(), todo.end(), [](const Item* i) {
        return i->name == "ssl" || i->name == "ssl_cert_file" || i->name == "ssl_key_file";
    });
    if (touches_tls && setting("ssl") == "on") {
        const std::string problem = checks::server_settings::tls_files_problem(
            *conn, setting("ssl_cert_file"), setting("ssl_key_file"));
        if (!problem.empty()) {
            throw failure("refusing to turn on TLS with these files: " + problem +
                              "; the server would not start again. Nothing was changed",
                          "put the certificate and key where the server can read them "
                          "(--ssl-cert-file, --ssl-key-file; ctldb gen-certs makes a pair)");
        }
    }
    if (!o.dry_run) checks::server_settings::check_may_apply(*conn, todo);
    const std::string plan = checks::server_settings::apply_plan(todo);
    if (o.dry_run) {
        for (const Item* i : todo)
            r.applied[i->name] = "would run " + checks::server_settings::alter_system(*i);
        return cli::Outcome::of(r);
    }
    if (!o.yes) {
        if (!is_tty(stdin)) {
            throw usage_error("about to change the server's settings (for every database):\n" +
                                  plan + "nothing was changed",
                              "pass --yes to confirm, or --dry-run to see only");
        }
        if (!confirm("About to run, for the whole server:\n" + plan + "Go ahead?")) {
            log::info("nothing was changed");
            return ExitCode::failure;
        }
    }
    checks::server_settings::apply(*conn, todo);
    for (const Item* i : todo)
        r.applied[i->name] = "";
    read_back(*conn, r, opts);
    return cli::Outcome::of(r);
}

void bind_settings(CLI::App* cmd, Context& ctx) {
    static SettingsCli cli;
    auto add_plan_options = [](CLI::App* c) {
        c->add_option("--only", cli.only,
                      "Only these settings, comma-separated (default: all): " +
                          join(checks::server_settings::names(), ", "));
        c->add_option("--pods", cli.o.pods,
                      "API pods sharing the server, for max_connections (default 1)")
            ->check(CLI::Range(1, 10000));
        c->add_option("--admin-reserve", cli.o.admin_reserve,
                      "Connections kept for admin work (default 15)")
            ->check(CLI::Range(0, 10000));
    };
    auto run = [&ctx](SettingsMode mode) {
        return [&ctx, mode] {
            ctx.run = [&ctx, mode] {
                cli.o.only = cli::split_list(cli.only);
                return run_settings(cli.o, mode, ctx);
            };
        };
    };
    add_plan_options(cmd);
    cmd->callback([cmd, run] {
        if (cmd->get_subcommands().empty()) run(SettingsMode::show)();
    });
    auto* check = cmd->add_subcommand("check", "Exit 1 when a setting differs from the guide's");
    add_plan_options(check);
    check->callback(run(SettingsMode::check));
    auto* apply = cmd->add_subcommand(
        "apply", "ALTER SYSTEM what differs, then pg_reload_conf(); says what needs a restart");
    add_plan_options(apply);
    apply->add_option(
        "--ssl-cert-file", cli.o.ssl_cert_file,
        "Set ssl_cert_file (a path on the server), checked before use (default: unchanged)");
    apply->add_option(
        "--ssl-key-file", cli.o.ssl_key_file,
        "Set ssl_key_file (a path on the server), checked before use (default: unchanged)");
    apply->add_flag("--dry-run", cli.o.dry_run, "Show the statements, change nothing");
    apply->add_flag("-y,--yes", cli.o.yes, "Do not ask (required off a terminal)");
    apply->callback(run(SettingsMode::apply));
}

}  // namespace ctldb::commands
