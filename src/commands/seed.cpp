#include <CLI/CLI.hpp>
#include "commands.hpp"
namespace ctldb {
void register_seed(CLI::App&, Context&) {}
}  // namespace ctldb
