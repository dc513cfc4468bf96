// What every command receives: the global options and, on demand, the
// resolved and validated configuration.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/output.hpp"
#include "cli/outcome.hpp"
#include "config/config.hpp"

namespace ctldb::cli {

struct GlobalOptions {
    std::vector<std::string> config_paths;  ///< --config, in order
    /// Connection flags given on the command line: setting key -> value.
    std::map<std::string, std::string> flags;
    OutputFormat output = OutputFormat::text;
};

class Context {
  public:
    GlobalOptions global;

    /// The command chosen on the command line; set by its bind function.
    /// Returns the outcome (exit code and result) that run_command()
    /// prints; errors are thrown as ctldb::Error.
    std::function<Outcome()> run;

    /// Resolves the configuration from flags, environment, config file and
    /// defaults on first use; logs its warnings once. Does not validate the
    /// values, but a config file that cannot be read or holds a key twice
    /// is a usage error here (exit 2), unless `inspecting_config`.
    const config::Config& config();

    /// Set by `ctldb config`, which shows such problems with everything else.
    bool inspecting_config = false;

    /// Set by the chosen command's registration: it reads no configuration
    /// (help, completion, man, version), or it can print Prometheus text
    /// (pool-stats), so main needs to know no command by name.
    bool config_free = false;
    bool prometheus_output = false;

    /// The configuration, validated; throws Error(usage) listing every
    /// problem. `for_connection` also requires host, dbname and user.
    const config::Config& valid_config(bool for_connection = true);

    bool json() const { return global.output == OutputFormat::json; }

    /// A command that reports as it goes (--watch) hands each frame here;
    /// the runner's printer writes it at once: one JSON document per line
    /// with -o json, the Prometheus text with -o prometheus, else the text,
    /// the screen cleared and the frame's title above it on a terminal.
    void stream(const Outcome& frame);
    /// Called before the first frame: from here on every JSON document,
    /// the closing error document included, is one line.
    void start_stream();

    /// For tests: use this environment instead of the process's.
    config::EnvLookup env = config::process_env();

  private:
    std::optional<config::Config> config_;
};

}  // namespace ctldb::cli
