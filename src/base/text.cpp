#include "base/text.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <random>

#include <openssl/evp.h>
#include <cctype>

namespace ctldb {

std::string hex_lower(const unsigned char* bytes, std::size_t size) {
    static const char* hex = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        out += hex[bytes[i] >> 4];
        out += hex[bytes[i] & 15];
    }
    return out;
}

std::string sha256_hex(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
    return hex_lower(md, len);
}

std::string utc_format(std::time_t t, const char* format) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    const std::size_t n = std::strftime(buf, sizeof buf, format, &tm);
    return std::string(buf, n);
}

}  // namespace ctldb

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace ctldb {

bool valid_k8s_name(const std::string& s) {
    if (s.empty() || s.size() > 253) return false;
    for (char ch : s) {
        if (!(std::islower(static_cast<unsigned char>(ch)) ||
              std::isdigit(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.')) {
            return false;
        }
    }
    return std::isalnum(static_cast<unsigned char>(s.front())) &&
           std::isalnum(static_cast<unsigned char>(s.back()));
}

std::string shell_quote(std::string_view s, bool always) {
    const bool safe = !always && !s.empty() &&
                      s.find_first_not_of(
                          "abcdefghijklmnopqrstuvwxyz"
                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                          "_.,:/=@%+-") == std::string_view::npos;
    if (safe) return std::string(s);
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out += c;
        }
    }
    return out + "'";
}

std::optional<double> parse_duration_seconds(std::string_view text) {
    const std::string s(text);
    if (s.empty() || !(std::isdigit(static_cast<unsigned char>(s[0])) != 0 || s[0] == '.'))
        return std::nullopt;
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (end == s.c_str() || !std::isfinite(v) || v < 0) return std::nullopt;
    std::string unit(end);
    while (!unit.empty() && unit.front() == ' ')
        unit.erase(0, 1);
    double factor = 0;
    if (unit.empty() || unit == "s" || unit == "sec") {
        factor = 1;
    } else if (unit == "ms") {
        factor = 0.001;
    } else if (unit == "m" || unit == "min") {
        factor = 60;
    } else if (unit == "h") {
        factor = 3600;
    } else if (unit == "d") {
        factor = 86400;
    } else {
        return std::nullopt;
    }
    return v * factor;
}

std::string random_suffix(int n) {
    std::random_device rd;
    const char* digits = "0123456789abcdef";
    std::string s;
    for (int i = 0; i < n; ++i)
        s += digits[rd() % 16];
    return s;
}

std::string human_duration(double seconds) {
    char buf[48];
    if (seconds < 1) {
        std::snprintf(buf, sizeof buf, "%.0f ms", seconds * 1000);
    } else if (seconds < 120) {
        std::snprintf(buf, sizeof buf, "%.0f s", seconds);
    } else if (seconds < 7200) {
        std::snprintf(buf, sizeof buf, "%.0f min", seconds / 60);
    } else if (seconds < 172800) {
        std::snprintf(buf, sizeof buf, "%.1f h", seconds / 3600);
    } else {
        std::snprintf(buf, sizeof buf, "%.1f d", seconds / 86400);
    }
    return buf;
}

std::string human_bytes(double bytes) {
    char buf[32];
    if (bytes >= 1024.0 * 1024 * 1024) {
        std::snprintf(buf, sizeof buf, "%.1f GiB", bytes / (1024.0 * 1024 * 1024));
    } else if (bytes >= 1024.0 * 1024) {
        std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / (1024.0 * 1024));
    } else if (bytes >= 1024) {
        std::snprintf(buf, sizeof buf, "%.1f KiB", bytes / 1024);
    } else {
        std::snprintf(buf, sizeof buf, "%.0f B", bytes);
    }
    return buf;
}

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t at = s.find(sep, start);
        out.emplace_back(s.substr(start, at == std::string_view::npos ? at : at - start));
        if (at == std::string_view::npos) return out;
        start = at + 1;
    }
}

std::string trim_blanks(std::string_view s) {
    const auto b = s.find_first_not_of(" \t\r");
    if (b == std::string_view::npos) return "";
    return std::string(s.substr(b, s.find_last_not_of(" \t\r") - b + 1));
}

std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    return out;
}

bool has_control_char(std::string_view s) {
    return std::any_of(s.begin(), s.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

bool is_ip_address(const std::string& s) {
    unsigned char buf[sizeof(in6_addr)];
    return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

std::string hide_url_credentials(std::string_view s) {
    const auto scheme_end = s.find("://");
    if (scheme_end == std::string_view::npos) return std::string(s);
    const auto host = scheme_end + 3;
    const auto authority_end = std::min(s.find_first_of("/?#", host), s.size());
    const auto at = s.substr(host, authority_end - host).rfind('@');
    if (at == std::string_view::npos) return std::string(s);
    return std::string(s.substr(0, host)) + "***" + std::string(s.substr(host + at));
}

std::optional<bool> parse_bool(std::string_view s) {
    const std::string lower = ascii_lower(s);
    if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") return true;
    if (lower == "false" || lower == "0" || lower == "no" || lower == "off") return false;
    return std::nullopt;
}

std::time_t parse_utc_iso8601(const std::string& s) {
    std::tm tm{};
    if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                    &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
        return 0;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return ::timegm(&tm);
}

}  // namespace ctldb
