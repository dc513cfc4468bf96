#include "ctldb/context.hpp"

#include "ctldb/log.hpp"

namespace ctldb {

const Config& Context::config() {
    if (!config_) {
        ConfigInputs in{global.flags, global.config_path, env};
        config_ = resolve_config(in);
        for (const auto& w : config_->warnings())
            log::warn(w);
        for (const auto& n : config_->notes())
            log::detail(n);
    }
    return *config_;
}

const Config& Context::valid_config(bool for_connection) {
    const Config& c = config();
    c.validate(for_connection);
    return c;
}

}  // namespace ctldb
