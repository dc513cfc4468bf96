// Option values shared by several commands: durations in one syntax, and
// comma-separated lists. Bad values are usage errors (exit 2) naming the
// option.
#pragma once

#include <string>
#include <vector>

#include "ctldb/error.hpp"
#include "ctldb/text.hpp"

namespace ctldb {

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

}  // namespace ctldb
