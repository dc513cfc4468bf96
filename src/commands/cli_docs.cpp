// ctldb help [CMD...], ctldb completion bash|zsh|fish, ctldb man: all
// generated from the command-line definition (cli_tree.hpp).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/output.hpp"
#include "cli/cli_tree.hpp"
#include "cli/context.hpp"
#include "cli/outcome.hpp"
#include "commands/commands.hpp"

namespace ctldb::commands {

namespace {

cli::Outcome run_help(const CLI::App& root, const std::vector<std::string>& words) {
    const auto all = cli::commands(root);
    const cli::CommandDoc* found = nullptr;
    for (const auto& c : all)
        if (c.path == words) found = &c;
    if (found == nullptr) {
        std::string typed;
        for (const auto& w : words)
            typed += (typed.empty() ? "" : " ") + w;
        throw usage_error("'" + typed + "' is not a ctldb command", "see 'ctldb --help'");
    }
    const CLI::App* app = found->app;
    const std::string name = found->name();
    return cli::Outcome::lazy(
        ExitCode::ok,
        [app, name](bool) {
            return app->get_formatter()->make_help(app, name, CLI::AppFormatMode::Normal);
        },
        [all, words, doc = cli::command_json(*found)]() mutable {
            if (words.empty()) {
                doc["commands"] = nlohmann::json::array();
                for (const auto& c : all)
                    if (!c.path.empty()) doc["commands"].push_back(cli::command_json(c));
            }
            return doc;
        });
}

}  // namespace

void bind_help(CLI::App* cmd, Context& ctx) {
    static std::vector<std::string> help_words;
    CLI::App& app = *cmd->get_parent();
    cmd->add_option("command", help_words,
                    "Command path, e.g. backup list (default: ctldb itself)");
    cmd->callback([&app, &ctx] {
        ctx.config_free = true;
        ctx.run = [&app, &ctx] { return run_help(app, help_words); };
    });
}

void bind_completion(CLI::App* cmd, Context& ctx) {
    static std::string shell;
    CLI::App& app = *cmd->get_parent();
    cmd->add_option("shell", shell, "bash, zsh or fish")
        ->required()
        ->check(CLI::IsMember({"bash", "zsh", "fish"}));
    cmd->callback([&app, &ctx] {
        ctx.config_free = true;
        ctx.run = [&app] {
            const std::string script = shell == "bash"  ? cli::bash_completion(app)
                                       : shell == "zsh" ? cli::zsh_completion(app)
                                                        : cli::fish_completion(app);
            // -o json keeps its promise of one JSON document.
            return cli::Outcome::done(ExitCode::ok, script, {{"shell", shell}, {"script", script}});
        };
    });
}

void bind_man(CLI::App* cmd, Context& ctx) {
    CLI::App& app = *cmd->get_parent();
    cmd->callback([&app, &ctx] {
        ctx.config_free = true;
        ctx.run = [&app] {
            const std::string page = cli::man_page(app);
            return cli::Outcome::done(ExitCode::ok, page, {{"roff", page}});
        };
    });
}

}  // namespace ctldb::commands
