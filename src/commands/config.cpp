// ctldb config [show|check]: every setting with its source, and a check
// that validates, then proves a connection.
#include <chrono>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/nontransaction>

#include "commands.hpp"
#include "ctldb/config_check.hpp"
#include "ctldb/connection.hpp"
#include "ctldb/context.hpp"
#include "ctldb/findings.hpp"
#include "ctldb/log.hpp"
#include "ctldb/settings.hpp"
#include "ctldb/stopwatch.hpp"
#include "ctldb/text.hpp"
#include "ctldb/tls_check.hpp"

namespace ctldb {

namespace {

std::string shown_value(const SettingSpec& s, const Value& v) {
    if (!v.is_set()) return "(not set)";
    if (s.kind == SettingKind::secret) return "********";
    return v.text;
}

}  // namespace

ExitCode run_config_show(Context& ctx) {
    const Config& cfg = ctx.config();
    const auto problems = cfg.problems(false);
    if (ctx.json()) {
        nlohmann::json settings_json = nlohmann::json::object();
        for (const auto& s : settings()) {
            const Value& v = cfg.get(std::string(s.key));
            nlohmann::json e = {{"env", s.env},
                                {"origin", origin_name(v.origin)},
                                {"source", v.is_set() ? v.source : ""},
                                {"secret", s.kind == SettingKind::secret}};
            e["value"] = v.is_set() ? nlohmann::json(shown_value(s, v)) : nlohmann::json(nullptr);
            settings_json[std::string(s.key)] = e;
        }
        emit_result({{"ok", problems.empty()},
                     {"config_file",
                      cfg.file().empty() ? nlohmann::json(nullptr) : nlohmann::json(cfg.file())},
                     {"settings", settings_json},
                     {"problems", problems},
                     {"warnings", cfg.warnings()}});
    } else {
        Table t({"SETTING", "VALUE", "SOURCE"});
        for (const auto& s : settings()) {
            const Value& v = cfg.get(std::string(s.key));
            std::string source = v.is_set() ? v.source : "-";
            if (v.origin != Origin::default_value) {
                source += " (" + std::string(origin_name(v.origin)) + ")";
            }
            t.add_row({std::string(s.key), shown_value(s, v), source});
        }
        std::string out = "config file: " + (cfg.file().empty() ? "(none)" : cfg.file()) + "\n";
        print_text(out + t.render());
    }
    if (!problems.empty()) {
        Error e(ExitCode::usage, "invalid configuration: " + join(problems, "; "));
        if (!ctx.json()) throw e;
        for (const auto& p : problems)
            log::error(p);
        return ExitCode::usage;
    }
    return ExitCode::ok;
}

struct ConfigCheckOptions {
    bool offline = false;
};

ExitCode run_config_check(const ConfigCheckOptions& opts, Context& ctx) {
    const Config& cfg = ctx.valid_config(true);
    const ConnectionSettings cs = cfg.connection();
    Findings findings = config_findings(cfg);
    nlohmann::json server = nullptr;
    nlohmann::json tls = nullptr;
    ExitCode code = ExitCode::ok;
    if (opts.offline) {
        findings.add("connection", Status::info, "skipped (--offline)");
    } else {
        const Stopwatch start;
        try {
            auto conn = connect(cs);
            const auto ms = start.ms();
            pqxx::nontransaction tx(*conn);
            pqxx::row r = tx.exec1(
                "SELECT current_setting('server_version'), current_user, current_database(), "
                "current_setting('server_version_num')::int");
            findings.add("connection", Status::ok,
                         cs.target() + " in " + std::to_string(ms) + " ms");
            findings.add("server", Status::ok, "PostgreSQL " + r[0].as<std::string>());
            const TlsInfo ti = tls_info(*conn);
            if (ti.in_use) {
                findings.add(
                    "tls", Status::ok,
                    ti.protocol + ", " + ti.cipher + " (" + std::to_string(ti.key_bits) + " bits)");
            } else {
                findings.add("tls", Status::warn,
                             "connection is not encrypted (sslmode " + cs.sslmode + ")");
            }
            findings.add("identity", Status::ok,
                         r[1].as<std::string>() + " on database " + r[2].as<std::string>());
            server = {{"version", r[0].as<std::string>()},
                      {"version_num", r[3].as<int>()},
                      {"user", r[1].as<std::string>()},
                      {"database", r[2].as<std::string>()},
                      {"connect_ms", ms}};
            tls = tls_session_json(ti);
        } catch (const Error& e) {
            if (e.code() != ExitCode::connect) throw;
            findings.add("connection", Status::fail, e.what());
            code = ExitCode::connect;
            log::error(e.what());
            log::hint(e.hint());
        }
    }
    if (code == ExitCode::ok && findings.failed()) code = ExitCode::failure;
    if (ctx.json()) {
        emit_result({{"ok", code == ExitCode::ok},
                     {"exit_code", static_cast<int>(code)},
                     {"checks", findings.to_json()},
                     {"server", server},
                     {"tls", tls}});
    } else {
        print_text(findings.render(use_color(stdout)));
    }
    return code;
}

void register_config(CLI::App& app, Context& ctx) {
    auto* cmd = app.add_subcommand("config", "Show and check the configuration (default: show)");
    cmd->callback([cmd, &ctx] {
        if (cmd->get_subcommands().empty()) ctx.run = [&ctx] { return run_config_show(ctx); };
    });
    auto* show = cmd->add_subcommand("show", "Every setting, its value and where it came from");
    show->callback([&ctx] { ctx.run = [&ctx] { return run_config_show(ctx); }; });

    static ConfigCheckOptions check_opts;
    auto* check = cmd->add_subcommand(
        "check", "Validate the configuration, then connect and report server, TLS and identity");
    check->add_flag("--offline", check_opts.offline, "Validate only; do not connect");
    check->callback([&ctx] { ctx.run = [&ctx] { return run_config_check(check_opts, ctx); }; });
}

}  // namespace ctldb
