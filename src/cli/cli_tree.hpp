// The command line as data, read from the CLI11 definition itself: every
// command path with its options, their values and examples. The shell
// completions, the man page, `ctldb help` and its JSON are generated from
// it, so none of them can drift from what the parser accepts.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace CLI {
class App;
}

namespace ctldb::cli {

/// What a value is, for completion: one of `choices`, a file, a directory
/// or free text.
enum class ValueKind { none, text, choice, file, dir };

struct OptionDoc {
    std::vector<std::string> longs;   ///< "--dir"
    std::vector<std::string> shorts;  ///< "-o"
    std::string positional;           ///< name of a positional ("file"), else empty
    std::string value_name;           ///< "DIR", "N", ... ("" for a flag)
    std::string description;
    ValueKind kind = ValueKind::none;
    std::vector<std::string> choices;
    bool required = false;
    bool repeatable = false;
};

struct Example {
    std::string command;  ///< "ctldb backup --keep-days 7"
    std::string what;     ///< "Take a backup, keep a week of them"
};

struct CommandDoc {
    std::vector<std::string> path;  ///< {} for ctldb itself, {"backup", "list"}
    std::string description;
    std::vector<OptionDoc> options;  ///< its own, without --help
    std::vector<std::string> subcommands;
    std::vector<Example> examples;
    bool runs_alone = true;  ///< false when a subcommand is required
    const CLI::App* app = nullptr;
    std::string name() const;  ///< "ctldb backup list"
};

/// Every command path, the root first, depth-first in help order.
std::vector<CommandDoc> commands(const CLI::App& root);

/// The examples of `path` ("backup list"), from the one table in cli_tree.cpp.
const std::vector<Example>& examples_of(const std::string& path);

/// Give every command its examples as a help footer and every file or
/// directory option its value name: called once, after registration.
void decorate(CLI::App& root);

std::string bash_completion(const CLI::App& root);
std::string zsh_completion(const CLI::App& root);
std::string fish_completion(const CLI::App& root);
std::string man_page(const CLI::App& root);
nlohmann::json command_json(const CommandDoc& c);

}  // namespace ctldb::cli
