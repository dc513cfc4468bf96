// Small string and time helpers shared by the core and the commands.
#pragma once

#include <ctime>
#include <optional>
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

/// `s` without leading and trailing spaces, tabs and carriage returns.
std::string trim_blanks(std::string_view s);

/// `s` with A-Z made a-z (other bytes as they are).
std::string ascii_lower(std::string_view s);

/// Whether `s` holds a byte below 0x20 or DEL (a line break, a tab, an
/// escape): what may not end up in a header, a name or a key.
bool has_control_char(std::string_view s);

/// Whether `s` is a numeric IPv4 or IPv6 address (no brackets, no port).
bool is_ip_address(const std::string& s);

/// `s` with the user information of a URL ("scheme://user:password@host")
/// replaced by "***", so that a value or an error may show it; other text
/// as it is.
std::string hide_url_credentials(std::string_view s);

inline bool starts_with(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
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
/// A Kubernetes object name (RFC 1123 subdomain): lower case letters,
/// digits, - and ., at most 253, starting and ending alphanumeric.
bool valid_k8s_name(const std::string& s);

/// `s` cut at every `sep` ("a::b" -> "a", "", "b").
std::vector<std::string> split(std::string_view s, char sep);

/// A boolean as applications write it: true/false, 1/0, yes/no, on/off,
/// any case; nullopt for anything else.
std::optional<bool> parse_bool(std::string_view s);

/// `s` as one word for a POSIX shell, for commands in hints: unchanged when
/// it holds only safe characters (unless `always`), else in single quotes.
std::string shell_quote(std::string_view s, bool always = false);

/// A duration as every ctldb timeout option takes it: a number with ms, s,
/// m or min, h or d, or a bare number of seconds ("90", "1.5s", "10m").
/// nullopt for anything else (negative, empty, unknown unit).
std::optional<double> parse_duration_seconds(std::string_view text);

/// "350 ms", "42 s", "12 min", "5.2 h", "3.1 d": a duration for people.
std::string human_duration(double seconds);

/// `n` random lower-case hex digits, for names no other run can choose.
std::string random_suffix(int n = 8);

/// "512 B", "8.0 KiB", "1.2 MiB", "3.4 GiB".
std::string human_bytes(double bytes);

/// The time of "2026-12-03T19:20:00Z" (fractions and the zone letter
/// ignored: UTC, as ctldb and S3 write them); 0 when unreadable.
std::time_t parse_utc_iso8601(const std::string& s);

inline std::string utc_now_iso8601() {
    return utc_iso8601(std::time(nullptr));
}

}  // namespace ctldb
