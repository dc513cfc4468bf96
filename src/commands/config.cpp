// ctldb config [show|check]: every setting with its source, and a check
// that validates, then proves a connection.

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "backup/remote.hpp"
#include "base/error.hpp"
#include "base/findings.hpp"
#include "base/log.hpp"
#include "base/stopwatch.hpp"
#include "base/text.hpp"
#include "cli/context.hpp"
#include "cli/outcome.hpp"
#include "commands/commands.hpp"
#include "commands/config.hpp"
#include "config/config_check.hpp"
#include "config/setting_table.hpp"
#include "pg/connection.hpp"
#include "pg/probes.hpp"
#include "tls/tls_check.hpp"

namespace ctldb::commands {

namespace {

std::string shown_value(const config::SettingSpec& s, const config::Value& v) {
    if (!v.is_set()) return "(not set)";
    if (s.kind == config::SettingKind::secret) return "********";
    return hide_url_credentials(v.text);  // s3_endpoint=https://key:secret@host
}

}  // namespace

ConfigShowResult run_config_show(Context& ctx) {
    const config::Config& cfg = ctx.config();
    ConfigShowResult r{&cfg, cfg.problems(false)};
    for (const auto& p : r.problems)
        log::error("invalid configuration: " + p);
    return r;
}

nlohmann::json ConfigShowResult::json() const {
    nlohmann::json settings_json = nlohmann::json::object();
    for (const auto& s : config::settings()) {
        const config::Value& v = config->get(std::string(s.key));
        nlohmann::json e = {{"env", s.env},
                            {"origin", origin_name(v.origin)},
                            {"source", v.is_set() ? v.source : ""},
                            {"secret", s.kind == config::SettingKind::secret}};
        e["value"] = v.is_set() ? nlohmann::json(shown_value(s, v)) : nlohmann::json(nullptr);
        settings_json[std::string(s.key)] = e;
    }
    return {{"config_file",
             config->file().empty() ? nlohmann::json(nullptr) : nlohmann::json(config->file())},
            {"settings", settings_json},
            {"problems", problems},
            {"warnings", config->warnings()}};
}

std::string ConfigShowResult::text(bool) const {
    Table t({"SETTING", "VALUE", "SOURCE"});
    for (const auto& s : config::settings()) {
        const config::Value& v = config->get(std::string(s.key));
        std::string source = v.is_set() ? v.source : "-";
        if (v.origin != config::Origin::default_value) {
            source += " (" + std::string(origin_name(v.origin)) + ")";
        }
        t.add_row({std::string(s.key), printable(shown_value(s, v)), printable(source)});
    }
    return "config file: " + (config->file().empty() ? "(none)" : config->file()) + "\n" +
           t.render();
}

ExitCode ConfigCheckResult::code() const {
    if (connect_failed) return ExitCode::connect;
    return findings.failed() ? ExitCode::failure : ExitCode::ok;
}

nlohmann::json ConfigCheckResult::json() const {
    return {{"checks", findings.to_json()}, {"server", server}, {"tls", tls}};
}

ConfigCheckResult run_config_check(const ConfigCheckOptions& opts, Context& ctx) {
    const config::Config& cfg = ctx.valid_config(true);
    // Checked here, not by the config layer (which cannot read s3:// URLs),
    // so that a CronJob's location is refused before the night it runs.
    if (const config::Value& dir = cfg.get("backup_dir");
        dir.origin != config::Origin::default_value) {
        if (const std::string p = backup::location_problem(dir.text); !p.empty()) {
            throw usage_error("invalid configuration: " + dir.source + ": " + p,
                              "object storage is written s3://bucket/prefix; a directory as a "
                              "path");
        }
    }
    const config::ConnectionSettings cs = cfg.connection();
    ConfigCheckResult r;
    r.findings = config_findings(cfg);
    if (opts.offline) {
        r.findings.add("connection", Status::info, "skipped (--offline)");
        return r;
    }
    const Stopwatch start;
    try {
        auto conn = pg::connect(cs);
        const auto ms = start.ms();
        const pg::probe::ServerVersion version = pg::probe::server_version(*conn);
        const std::string user = pg::probe::current_user(*conn),
                          database = pg::probe::current_database(*conn);
        r.findings.add("connection", Status::ok, cs.target() + " in " + std::to_string(ms) + " ms");
        r.findings.add("server", Status::ok, "PostgreSQL " + version.text);
        const pg::TlsInfo ti = pg::tls_info(*conn);
        if (ti.in_use) {
            r.findings.add(
                "tls", Status::ok,
                ti.protocol + ", " + ti.cipher + " (" + std::to_string(ti.key_bits) + " bits)");
        } else {
            r.findings.add("tls", Status::warn,
                           "connection is not encrypted (sslmode " + cs.sslmode + ")");
        }
        r.findings.add("identity", Status::ok, user + " on database " + database);
        r.server = {{"version", version.text},
                    {"version_num", version.num},
                    {"user", user},
                    {"database", database},
                    {"connect_ms", ms}};
        r.tls = tls::tls_session_json(ti);
    } catch (const Error& e) {
        if (e.code() != ExitCode::connect) throw;
        r.findings.add("connection", Status::fail, e.what(), e.hint());
        r.connect_failed = true;
        log::error(e.what());
        log::hint(e.hint());
    }
    return r;
}

void bind_config(CLI::App* cmd, Context& ctx) {
    cmd->callback([cmd, &ctx] {
        ctx.inspecting_config = true;
        if (cmd->get_subcommands().empty())
            ctx.run = [&ctx] { return cli::Outcome::of(run_config_show(ctx)); };
    });
    auto* show = cmd->add_subcommand("show", "Every setting, its value and where it came from");
    show->callback([&ctx] { ctx.run = [&ctx] { return cli::Outcome::of(run_config_show(ctx)); }; });

    static ConfigCheckOptions check_opts;
    auto* check = cmd->add_subcommand(
        "check", "Validate the configuration, then connect and report server, TLS and identity");
    check->add_flag("--offline", check_opts.offline, "Validate only; do not connect");
    check->callback([&ctx] {
        ctx.run = [&ctx] { return cli::Outcome::of(run_config_check(check_opts, ctx)); };
    });
}

}  // namespace ctldb::commands
