// The examples shown at the end of every command's --help and in the man
// page: real command lines of the guide's procedures, each command's in its
// row of the command table (cli/command_table.hpp), ctldb's own here.
// tests/integration/test_cli_docs.sh checks that every command has two and
// that each uses only options that command (or ctldb itself) has.
#include "cli/command_table.hpp"

namespace ctldb::cli {

namespace {

const std::vector<const CommandRow*>* g_table = nullptr;

// data table: the examples of ctldb itself.
const std::vector<Example>& root_examples() {
    static const std::vector<Example> examples = {
        {"ctldb --config configmap.yaml config check",
         "Check the settings of the guide's ConfigMap and connect"},
        {"ctldb migrate && ctldb indexes ensure", "Bring the schema and its indexes up to date"},
        {"ctldb doctor -o json", "Every health check, as one JSON document for a script"}};
    return examples;
}

}  // namespace

void use_command_table(const std::vector<const CommandRow*>& table) {
    g_table = &table;
}

const std::vector<Example>& examples_of(const std::string& path) {
    static const std::vector<Example> none;
    if (path.empty()) return root_examples();
    if (g_table == nullptr) return none;
    for (const CommandRow* row : *g_table) {
        for (const auto& [p, examples] : row->examples) {
            if (p == path) return examples;
        }
    }
    return none;
}

}  // namespace ctldb::cli
