// Option values shared by several commands: durations in one syntax, and
// comma-separated lists. Bad values are usage errors (exit 2) naming the
// option.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include <CLI/Validators.hpp>

#include "base/error.hpp"
#include "base/text.hpp"

namespace ctldb::cli {

/// Seconds of a duration option ("10s", "5m", "26h"; a bare number is
/// seconds); a usage error naming `option` otherwise.
inline double duration_option(const std::string& option, const std::string& value) {
    const auto v = parse_duration_seconds(value);
    if (!v) {
        throw usage_error(option + " " + value + " is not a duration",
                          "a number with ms, s, m, h or d (10s, 5m, 26h); a bare number is "
                          "seconds");
    }
    return *v;
}

/// A CLI11 transform for an option kept in whole seconds: the value in the
/// duration syntax above ("90s", "5m", a bare number of seconds) becomes its
/// seconds, rounded up ("1.5s" is 2, "250ms" is 1).
inline CLI::Validator duration_seconds() {
    return CLI::Validator(
        [](std::string& value) {
            const auto v = parse_duration_seconds(value);
            if (!v) return value + " is not a duration (10s, 5m, 1h; a bare number is seconds)";
            value = std::to_string(static_cast<long long>(std::ceil(*v)));
            return std::string();
        },
        "DURATION");
}

/// "a, b,c" as {"a", "b", "c"}: items trimmed, empty ones dropped.
inline std::vector<std::string> split_list(const std::string& s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= s.size() && !s.empty()) {
        auto end = s.find(',', start);
        if (end == std::string::npos) end = s.size();
        std::string item = s.substr(start, end - start);
        while (!item.empty() && item.front() == ' ')
            item.erase(0, 1);
        while (!item.empty() && item.back() == ' ')
            item.pop_back();
        if (!item.empty()) out.push_back(item);
        start = end + 1;
    }
    return out;
}

}  // namespace ctldb::cli
