// The command table: one row per command of ctldb, contributed by its file
// in src/commands/ (name, summary, what binds its options, the examples of
// it and its subcommands). Dispatch, help, the completions and the man page
// all come from the CLI11 tree the rows build (commands/commands.cpp), as
// ninja's one table of tools drives its dispatch and help.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "cli/cli_tree.hpp"

namespace CLI {
class App;
}

namespace ctldb {
class Context;
}

namespace ctldb::cli {

struct CommandRow {
    std::string name;     ///< "backup"
    std::string summary;  ///< one line, shown in help and the man page
    /// Binds the command's options and subcommands on its CLI11 app (made
    /// from name and summary) and sets ctx.run when it is chosen.
    void (*bind)(CLI::App& command, Context& ctx);
    /// The examples of the command and of its subcommands, by path
    /// ("backup", "backup list"): help footers, `help -o json`, the man page.
    std::vector<std::pair<std::string, std::vector<Example>>> examples;
};

/// The table examples_of() reads; set once, before the tree is decorated.
void use_command_table(const std::vector<const CommandRow*>& table);

}  // namespace ctldb::cli
