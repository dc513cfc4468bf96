// ctldb entry point: parse, run the chosen command, map errors to exit codes.
#include <sys/prctl.h>

#include <cstdio>
#include <map>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <pqxx/except>

#include "base/error.hpp"
#include "base/log.hpp"
#include "base/output.hpp"
#include "base/signals.hpp"
#include "base/version.hpp"
#include "cli/context.hpp"
#include "cli/report.hpp"
#include "commands/commands.hpp"
#include "config/setting_table.hpp"

namespace {

/// Whether the command line asks for JSON, read before the parser runs:
/// a command-line error must still be one JSON document on stdout for a
/// script that passed -o json (the parser that would say so is what failed).
bool json_requested(int argc, char** argv) {
    bool json = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--") break;
        if ((a == "-o" || a == "--output") && i + 1 < argc) {
            json = std::string(argv[++i]) == "json";
        } else if (a.rfind("--output=", 0) == 0) {
            json = a.substr(9) == "json";
        } else if (a.rfind("-o", 0) == 0 && a.size() > 2 && a[2] != '-') {
            json = a.substr(a[2] == '=' ? 3 : 2) == "json";
        }
    }
    return json;
}

/// Fallthrough lets global options follow the command name, but it also
/// hands a child's unknown option to its parent: `migrate down --dry-run`
/// was taken by `migrate` (up) and ignored. A subcommand accepts exactly the
/// options it lists: any option of a command between the root and the one
/// that runs is refused. Returns the exit code, 0 when all is well.
int refuse_misplaced_options(CLI::App& app, bool json_errors) {
    using namespace ctldb;
    for (CLI::App* cur = &app;;) {
        const auto chosen = cur->get_subcommands();
        if (chosen.empty()) break;
        CLI::App* child = chosen.front();
        if (cur != &app) {
            for (const CLI::Option* opt : cur->get_options()) {
                if (opt->count() == 0) continue;
                // One name, never "--dir,--migrations-dir".
                const std::string name = opt->get_lnames().empty()
                                             ? opt->get_name(false, true)
                                             : "--" + opt->get_lnames().front();
                const std::string parent =
                    cur->get_parent() == &app
                        ? cur->get_name()
                        : cur->get_parent()->get_name() + " " + cur->get_name();
                const std::string full = parent + " " + child->get_name();
                if (child->get_option_no_throw(name) != nullptr) {
                    cli::report_error(
                        usage_error(
                            name + " was given before '" + child->get_name() +
                                "', where it belongs to '" + parent + "' alone",
                            "put it after the subcommand: ctldb " + full + " " + name + " ..."),
                        json_errors);
                } else {
                    cli::report_error(
                        usage_error(name + " is not an option of '" + full + "' (it belongs to '" +
                                        parent + "' alone)",
                                    "see 'ctldb " + full + " --help' for its options"),
                        json_errors);
                }
                return static_cast<int>(ExitCode::usage);
            }
        }
        cur = child;
    }
    return 0;
}

/// A password typed on the command line must not be echoed back by the
/// parser's "not expected" message (nor reach a log through it).
int refuse_password_argument(int argc, char** argv, bool json_errors) {
    using namespace ctldb;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        // --password-file names a file (roles create-readonly), not a password.
        if (a == "--password-file" || a.rfind("--password-file=", 0) == 0) continue;
        if (a.rfind("--pass", 0) == 0 || a.rfind("--db-pass", 0) == 0) {
            cli::report_error(usage_error("ctldb takes no password on the command line (" +
                                              a.substr(0, a.find('=')) +
                                              "): it would be visible to every user in ps",
                                          "set DB_PASSWORD, or DB_PASSWORD_FILE for a Kubernetes "
                                          "secret mount"),
                              json_errors);
            return static_cast<int>(ExitCode::usage);
        }
    }
    return 0;
}

/// The global options: connection flags from the settings table, output
/// and logging.
struct GlobalFlags {
    std::vector<std::string> config_paths;
    std::map<std::string, std::string> values;
    std::map<std::string, CLI::Option*> options;
    std::string output = "text";
    std::string log_format = "text";
    bool quiet = false;
    int verbose = 0;
    bool no_headers = false;
};

void add_global_options(CLI::App& app, GlobalFlags& g) {
    using namespace ctldb;
    app.add_option("--config", g.config_paths,
                   "YAML config file: ctldb's own or the guide's ConfigMap; repeatable, later "
                   "files override earlier ones (env CTLDB_CONFIG, a ':' list; default: none)")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->group("Connection");
    for (const auto& s : config::settings()) {
        if (s.flag.empty()) continue;
        const std::string key(s.key);
        g.options[key] = app.add_option("--" + std::string(s.flag), g.values[key],
                                        std::string(s.description) + " (env " + std::string(s.env) +
                                            (s.default_value.empty()
                                                 ? std::string("; no default")
                                                 : "; default " + std::string(s.default_value)) +
                                            ")")
                             ->group("Connection");
    }
    app.add_option("-o,--output", g.output, "Result format on stdout (default text)")
        ->check(CLI::IsMember({"text", "json", "prometheus"}))
        ->group("Output");
    app.add_option("--log-format", g.log_format,
                   "Log format on stderr (default text; json: one object per line)")
        ->check(CLI::IsMember({"text", "json"}))
        ->group("Output");
    app.add_flag("-q,--quiet", g.quiet, "Only errors on stderr")->group("Output");
    app.add_flag("--no-headers", g.no_headers, "Tables without their header line (for awk, cut)")
        ->group("Output");
    app.add_flag("-v,--verbose", g.verbose,
                 "Details on stderr; -vv also how: connection, TLS, timings")
        ->group("Output");
}

/// Parse argv; the exit code when parsing ends the run (help, version, an
/// error), else nullopt.
std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv, bool json_errors) {
    using namespace ctldb;
    if (const int rc = refuse_password_argument(argc, argv, json_errors); rc != 0) return rc;
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        if (argc == 1) {
            std::fputs(app.help().c_str(), stderr);
            return static_cast<int>(ExitCode::usage);
        }
        cli::report_error(
            Error(ExitCode::usage, e.what(), "see 'ctldb --help' or 'ctldb <command> --help'"),
            json_errors);
        return static_cast<int>(ExitCode::usage);
    }
    if (const int rc = refuse_misplaced_options(app, json_errors); rc != 0) return rc;
    return std::nullopt;
}

/// Logging, progress, tables and the context from the global options; an
/// exit code when they do not go together.
std::optional<int> apply_global_options(const GlobalFlags& g, ctldb::cli::Context& ctx,
                                        bool json_errors) {
    using namespace ctldb;
    log::configure(
        g.log_format == "json" ? log::Format::json : log::Format::text,
        g.quiet ? log::Level::error
                : (g.verbose > 1 ? log::Level::debug
                                 : (g.verbose == 1 ? log::Level::detail : log::Level::info)));
    set_progress_mode(progress_mode_for(g.quiet, g.log_format == "json"));
    set_table_headers(!g.no_headers);
    parse_output_format(g.output, ctx.global.output);
    if (ctx.global.output == OutputFormat::prometheus && !ctx.prometheus_output) {
        cli::report_error(
            usage_error("--output prometheus is only for pool-stats", "use text or json"),
            json_errors);
        return static_cast<int>(ExitCode::usage);
    }
    ctx.global.config_paths = g.config_paths;
    for (const auto& [key, opt] : g.options) {
        if (opt->count() > 0) ctx.global.flags[key] = g.values.at(key);
    }
    return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace ctldb;
    const bool json_errors = json_requested(argc, argv);
    install_signal_handlers();
    // ctldb holds the database password in memory: no core dump of it, and
    // no other process of the same user may read its memory (ptrace,
    // /proc/PID/mem). Children (pg_dump) are dumpable again after exec.
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    cli::Context ctx;

    CLI::App app{
        "ctldb: PostgreSQL operations for the Admin Center, one safe command per "
        "procedure of the Database Configuration Guide.",
        "ctldb"};
    app.fallthrough();  // global options may follow the command name
    app.require_subcommand(1);
    app.set_version_flag("--version", version_line(), "Print the version and exit");
    app.get_formatter()->column_width(34);
    GlobalFlags g;
    add_global_options(app, g);
    commands::register_commands(app, ctx);

    if (auto rc = parse_command_line(app, argc, argv, json_errors)) return *rc;
    if (auto rc = apply_global_options(g, ctx, json_errors)) return *rc;
    // A config file that is named is read before any command runs, so one
    // that cannot be read (a FIFO, a directory) or holds a key twice stops
    // every command, not only those that connect.
    if (!ctx.config_free && (!ctx.global.config_paths.empty() || ctx.env("CTLDB_CONFIG"))) {
        try {
            ctx.config();
        } catch (const Error& e) {
            cli::report_error(e, ctx.json());
            return static_cast<int>(e.code());
        }
    }
    return run_command(ctx);
}
