// ctldb help [CMD...], ctldb completion bash|zsh|fish, ctldb man: all
// generated from the command-line definition (cli_tree.hpp).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/output.hpp"
#include "cli/cli_tree.hpp"
#include "cli/command_table.hpp"
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
        emit_result(doc);
        return ExitCode::ok;
    }
    print_text(found->app->get_formatter()->make_help(found->app, found->name(),
                                                      CLI::AppFormatMode::Normal));
    return ExitCode::ok;
}

}  // namespace

void bind_help(CLI::App& command, Context& ctx) {
    static std::vector<std::string> help_words;
    CLI::App& app = *command.get_parent();
    command.add_option("command", help_words,
                       "Command path, e.g. backup list (default: ctldb itself)");
    command.callback([&app, &ctx] {
        ctx.config_free = true;
        ctx.run = [&app, &ctx] { return run_help(app, help_words, ctx); };
    });
}

void bind_completion(CLI::App& command, Context& ctx) {
    static std::string shell;
    CLI::App& app = *command.get_parent();
    command.add_option("shell", shell, "bash, zsh or fish")
        ->required()
        ->check(CLI::IsMember({"bash", "zsh", "fish"}));
    command.callback([&app, &ctx] {
        ctx.config_free = true;
        ctx.run = [&app, &ctx] {
            const std::string script = shell == "bash"  ? cli::bash_completion(app)
                                       : shell == "zsh" ? cli::zsh_completion(app)
                                                        : cli::fish_completion(app);
            // -o json keeps its promise of one JSON document.
            if (ctx.json()) {
                emit_result({{"shell", shell}, {"script", script}});
            } else {
                print_text(script);
            }
            return ExitCode::ok;
        };
    });
}

void bind_man(CLI::App& command, Context& ctx) {
    CLI::App& app = *command.get_parent();
    command.callback([&app, &ctx] {
        ctx.config_free = true;
        ctx.run = [&app, &ctx] {
            if (ctx.json()) {
                emit_result({{"roff", cli::man_page(app)}});
            } else {
                print_text(cli::man_page(app));
            }
            return ExitCode::ok;
        };
    });
}

// data table: the rows of help, completion and man in the command table.
const cli::CommandRow& help_command() {
    static const cli::CommandRow row{
        "help",
        "Help of ctldb or of a command (-o json: as data)",
        bind_help,
        {
            {"help",
             {{"ctldb help backup", "The help of backup"},
              {"ctldb help migrate down -o json", "A command's options and examples as JSON"}}},
        }};
    return row;
}

const cli::CommandRow& completion_command() {
    static const cli::CommandRow row{
        "completion",
        "Print the shell completion script for bash, zsh or fish",
        bind_completion,
        {
            {"completion",
             {{"source <(ctldb completion bash)", "bash completion in this shell"},
              {"ctldb completion zsh > \"${fpath[1]}/_ctldb\"", "zsh, for every new shell"},
              {"ctldb completion fish > ~/.config/fish/completions/ctldb.fish", "fish"}}},
        }};
    return row;
}

const cli::CommandRow& man_command() {
    static const cli::CommandRow row{
        "man",
        "Print the man page (roff): ctldb man | man -l -",
        bind_man,
        {
            {"man",
             {{"ctldb man > /usr/local/share/man/man1/ctldb.1", "Install the man page"},
              {"ctldb man | man -l -", "Read it now"}}},
        }};
    return row;
}

}  // namespace ctldb
