// ctldb help [CMD...], ctldb completion bash|zsh|fish, ctldb man: all
// generated from the command-line definition (cli_tree.hpp).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/output.hpp"
#include "cli/cli_tree.hpp"
#include "cli/context.hpp"
#include "commands/commands.hpp"

namespace ctldb {

namespace {

ExitCode run_help(const CLI::App& root, const std::vector<std::string>& words, Context& ctx) {
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
    if (ctx.json()) {
        nlohmann::json doc = cli::command_json(*found);
        if (words.empty()) {
            doc["commands"] = nlohmann::json::array();
            for (const auto& c : all)
                if (!c.path.empty()) doc["commands"].push_back(cli::command_json(c));
        }
        ctx.emit_result(doc);
        return ExitCode::ok;
    }
    print_text(found->app->get_formatter()->make_help(found->app, found->name(),
                                                      CLI::AppFormatMode::Normal));
    return ExitCode::ok;
}

}  // namespace

void bind_help(CLI::App* cmd, Context& ctx) {
    static std::vector<std::string> help_words;
    CLI::App& app = *cmd->get_parent();
    cmd->add_option("command", help_words,
                    "Command path, e.g. backup list (default: ctldb itself)");
    cmd->callback([&app, &ctx] {
        ctx.config_free = true;
        ctx.run = [&app, &ctx] { return run_help(app, help_words, ctx); };
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
        ctx.run = [&app, &ctx] {
            const std::string script = shell == "bash"  ? cli::bash_completion(app)
                                       : shell == "zsh" ? cli::zsh_completion(app)
                                                        : cli::fish_completion(app);
            // -o json keeps its promise of one JSON document.
            if (ctx.json()) {
                ctx.emit_result({{"shell", shell}, {"script", script}});
            } else {
                print_text(script);
            }
            return ExitCode::ok;
        };
    });
}

void bind_man(CLI::App* cmd, Context& ctx) {
    CLI::App& app = *cmd->get_parent();
    cmd->callback([&app, &ctx] {
        ctx.config_free = true;
        ctx.run = [&app, &ctx] {
            if (ctx.json()) {
                ctx.emit_result({{"roff", cli::man_page(app)}});
            } else {
                print_text(cli::man_page(app));
            }
            return ExitCode::ok;
        };
    });
}

}  // namespace ctldb
