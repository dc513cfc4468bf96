// A row of the command table (commands/commands.cpp): a command's name,
// its one-line summary, and the function that binds its options. Dispatch,
// help, the completions and the man page all come from the CLI11 tree the
// rows build; the examples of each command path are in cli_examples.cpp.
#pragma once

namespace CLI {
class App;
}

namespace ctldb::cli {
class Context;
}

namespace ctldb::cli {

struct CommandRow {
    const char* name;     ///< "backup"
    const char* summary;  ///< one line, shown in help and the man page
    /// Binds the command's options and subcommands on its CLI11 app (made
    /// from name and summary) and sets ctx.run when it is chosen.
    void (*bind)(CLI::App* cmd, Context& ctx);
};

}  // namespace ctldb::cli
