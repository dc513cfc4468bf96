#include "cli/context.hpp"

#include "base/error.hpp"
#include "base/log.hpp"
#include "base/output.hpp"
#include "cli/report.hpp"

namespace ctldb::cli {

const config::Config& Context::config() {
    if (!config_) {
        config::ConfigInputs in{global.flags, global.config_paths, env};
        config_ = resolve_config(in);
        for (const auto& w : config_->warnings())
            log::warn(w);
        for (const auto& n : config_->notes())
            log::detail(n);
    }
    if (!inspecting_config && !config_->load_errors().empty()) {
        // Never "the last one wins", never a half-read file.
        Error e(ExitCode::usage, "invalid configuration: " + config_->load_errors().front(),
                "'ctldb config check --offline' lists every problem");
        if (config_->load_errors().size() > 1) {
            e.with_details(std::vector<std::string>(config_->load_errors().begin() + 1,
                                                    config_->load_errors().end()));
        }
        throw e;
    }
    return *config_;
}

const config::Config& Context::valid_config(bool for_connection) {
    const config::Config& c = config();
    c.validate(for_connection);
    return c;
}

void Context::start_stream() {
    if (json()) use_json_lines();
}

void Context::stream(const Outcome& frame) {
    start_stream();
    print_frame(frame, global.output);
}

}  // namespace ctldb::cli
