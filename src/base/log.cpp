#include "base/log.hpp"

#include <cstdio>
#include <ctime>
#include <string>

#include <nlohmann/json.hpp>

#include "base/enum_names.hpp"
#include "base/output.hpp"
#include "base/text.hpp"

namespace ctldb::log {

namespace {
Format g_format = Format::text;
Level g_threshold = Level::info;

const char* level_name(Level level) {
    static constexpr EnumName<Level> kNames[] = {{Level::error, "error"},
                                                 {Level::warn, "warning"},
                                                 {Level::info, "info"},
                                                 {Level::detail, "detail"},
                                                 {Level::debug, "debug"}};
    return name_of(kNames, level, "info");
}

}  // namespace

void configure(Format format, Level threshold) {
    g_format = format;
    g_threshold = threshold;
}

Format format() {
    return g_format;
}

bool enabled(Level level) {
    return static_cast<int>(level) <= static_cast<int>(g_threshold);
}

void write(Level level, std::string_view message) {
    if (!enabled(level)) return;
    clear_progress_line();
    std::string line;
    if (g_format == Format::json) {
        nlohmann::json j = {{"time", utc_now_iso8601()},
                            {"level", level_name(level)},
                            {"msg", std::string(message)}};
        line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else {
        static const bool color = use_color(stderr);
        switch (level) {
            case Level::error:
                line = styled("ctldb: error: ", Style::red, color);
                break;
            case Level::warn:
                line = styled("ctldb: warning: ", Style::yellow, color);
                break;
            case Level::info:
                line = "ctldb: ";
                break;
            case Level::detail:
                line = "ctldb: ";
                break;
            case Level::debug:
                line = styled("ctldb: debug: ", Style::dim, color);
                break;
        }
        // One message, one line: a file or role name holding a newline or
        // an escape sequence (a migration named "x\nctldb: applied") must
        // not forge a line or drive the terminal.
        line += printable(std::string(message));
    }
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
}

void hint(std::string_view message) {
    if (message.empty()) return;
    clear_progress_line();
    std::string line;
    if (g_format == Format::json) {
        nlohmann::json j = {
            {"time", utc_now_iso8601()}, {"level", "hint"}, {"msg", std::string(message)}};
        line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else {
        line = "hint: " + std::string(message);
    }
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace ctldb::log
