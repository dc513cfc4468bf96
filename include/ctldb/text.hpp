// Small string and time helpers shared by the core and the commands.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace ctldb {

/// Items separated by `sep`.
template <typename Strings>
std::string join(const Strings& items, std::string_view sep) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out += sep;
        out += item;
    }
    return out;
}

inline bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

inline bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

/// Lower-case hex of `size` bytes.
std::string hex_lower(const unsigned char* bytes, std::size_t size);

/// SHA-256 (lower-case hex) of a byte string.
std::string sha256_hex(std::string_view data);

/// strftime of `t` in UTC.
std::string utc_format(std::time_t t, const char* format);
/// "2026-11-27T12:00:00Z"
inline std::string utc_iso8601(std::time_t t) {
    return utc_format(t, "%Y-%m-%dT%H:%M:%SZ");
}
inline std::string utc_now_iso8601() {
    return utc_iso8601(std::time(nullptr));
}

}  // namespace ctldb
