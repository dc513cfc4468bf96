// Logging to stderr, as text for people or JSON lines for log collectors.
// stdout is reserved for results.
#pragma once

#include <string_view>

namespace ctldb::log {

/// info: what a run does (the default); detail: the details of it (-v:
/// ignored files, the layout read, server notices, unused ConfigMap keys);
/// debug: how (-vv: where ctldb connects, TLS, timings).
enum class Level { error = 0, warn = 1, info = 2, detail = 3, debug = 4 };
enum class Format { text, json };

/// Set once by main() from --log-format, -q and -v.
void configure(Format format, Level threshold);
Format format();
bool enabled(Level level);

void write(Level level, std::string_view message);
inline void error(std::string_view m) {
    write(Level::error, m);
}
inline void warn(std::string_view m) {
    write(Level::warn, m);
}
inline void info(std::string_view m) {
    write(Level::info, m);
}
inline void detail(std::string_view m) {
    write(Level::detail, m);
}
inline void debug(std::string_view m) {
    write(Level::debug, m);
}
/// "hint: what to do", shown with errors (also under -q).
void hint(std::string_view m);

}  // namespace ctldb::log
