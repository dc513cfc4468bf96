#include "base/output.hpp"

#include "base/log.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/text.hpp"

namespace ctldb {

bool parse_output_format(const std::string& name, OutputFormat& out) {
    if (name == "text") {
        out = OutputFormat::text;
    } else if (name == "json") {
        out = OutputFormat::json;
    } else if (name == "prometheus") {
        out = OutputFormat::prometheus;
    } else {
        return false;
    }
    return true;
}

std::string time_text(const std::optional<std::string>& iso) {
    return iso ? iso->substr(0, 16) : "never";
}

nlohmann::json time_json(const std::optional<std::string>& iso) {
    return iso ? nlohmann::json(*iso) : nlohmann::json(nullptr);
}

std::string printable(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (unsigned char c : text) {
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

bool is_tty(std::FILE* stream) {
    return ::isatty(fileno(stream)) == 1;
}

bool use_color(std::FILE* stream) {
    const char* no_color = std::getenv("NO_COLOR");
    if (no_color != nullptr && *no_color != '\0') return false;
    const char* term = std::getenv("TERM");
    if (term != nullptr && std::strcmp(term, "dumb") == 0) return false;
    return is_tty(stream);
}

std::string styled(const std::string& text, Style style, bool enabled) {
    if (!enabled || style == Style::none) return text;
    const char* code = "";
    switch (style) {
        case Style::bold:
            code = "\033[1m";
            break;
        case Style::green:
            code = "\033[32m";
            break;
        case Style::yellow:
            code = "\033[33m";
            break;
        case Style::red:
            code = "\033[31m";
            break;
        case Style::dim:
            code = "\033[2m";
            break;
        case Style::none:
            break;
    }
    return code + text + "\033[0m";
}

namespace {
/// Display width: ANSI escapes take no room; UTF-8 continuation bytes
/// do not start a new character.
std::size_t display_width(const std::string& s) {
    std::size_t w = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\033') {
            while (i < s.size() && s[i] != 'm')
                ++i;
            continue;
        }
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++w;
    }
    return w;
}
}  // namespace

void Table::add_row(std::vector<std::string> cells) {
    cells.resize(headers_.size());
    // A cell holds names from files and the server: a file name with a
    // newline or an escape sequence must not forge rows or move the cursor.
    // Colour (SGR: ESC [ digits m), which ctldb's own status cells carry,
    // only changes colours; every other control character is escaped.
    for (auto& c : cells) {
        std::string out;
        std::size_t from = 0;  // start of the text not yet copied
        for (std::size_t i = c.find("\x1b["); i != std::string::npos; i = c.find("\x1b[", i + 1)) {
            std::size_t j = i + 2;
            while (j < c.size() && (std::isdigit(static_cast<unsigned char>(c[j])) || c[j] == ';'))
                ++j;
            if (j >= c.size() || c[j] != 'm') continue;
            out += printable(c.substr(from, i - from));
            out.append(c, i, j + 1 - i);
            from = j + 1;
        }
        out += printable(c.substr(from));
        c = std::move(out);
    }
    rows_.push_back(std::move(cells));
}

namespace {
bool g_table_headers = true;
ProgressMode g_progress = ProgressMode::off;
Progress* g_drawn = nullptr;  ///< the progress whose bar is on the screen
// A worker thread may log while the main thread redraws the bar.
std::recursive_mutex g_screen;
}  // namespace

void clear_progress_line() {
    const std::lock_guard<std::recursive_mutex> lock(g_screen);
    if (g_drawn != nullptr) g_drawn->finish();
}

void set_table_headers(bool shown) {
    g_table_headers = shown;
}

std::string Table::render() const {
    std::vector<std::size_t> width(headers_.size());
    for (std::size_t c = 0; c < headers_.size(); ++c) {
        width[c] = g_table_headers ? display_width(headers_[c]) : 0;
        for (const auto& r : rows_)
            width[c] = std::max(width[c], display_width(r[c]));
    }
    std::string out;
    auto line = [&](const std::vector<std::string>& cells) {
        std::string l;
        for (std::size_t c = 0; c < cells.size(); ++c) {
            l += cells[c];
            if (c + 1 < cells.size()) l.append(width[c] - display_width(cells[c]) + 2, ' ');
        }
        while (!l.empty() && l.back() == ' ')
            l.pop_back();
        out += l + "\n";
    };
    if (g_table_headers) line(headers_);
    for (const auto& r : rows_)
        line(r);
    return out;
}

bool confirm(const std::string& question) {
    std::fputs((question + " [y/N] ").c_str(), stderr);
    std::fflush(stderr);
    char buf[64];
    if (std::fgets(buf, sizeof buf, stdin) == nullptr) return false;
    std::string answer(buf);
    while (!answer.empty() && (answer.back() == '\n' || answer.back() == '\r'))
        answer.pop_back();
    return answer == "y" || answer == "Y" || answer == "yes";
}

void print_text(const std::string& text) {
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() ||
        std::fflush(stdout) != 0) {
        throw Error(ExitCode::failure,
                    std::string("cannot write to standard output: ") + std::strerror(errno));
    }
}

namespace {
bool g_json_lines = false;
}  // namespace

void use_json_lines() {
    g_json_lines = true;
}

void print_json(const nlohmann::json& doc) {
    print_text(
        doc.dump(g_json_lines ? -1 : 2, ' ', false, nlohmann::json::error_handler_t::replace) +
        "\n");
}

void print_json_line(const nlohmann::json& doc) {
    print_text(doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

}  // namespace ctldb

#include <chrono>

namespace ctldb {

namespace {
long long now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}
}  // namespace

ProgressMode progress_mode_for(bool quiet, bool json_logs) {
    if (quiet) return ProgressMode::off;
    if (json_logs) return ProgressMode::log;
    const char* term = std::getenv("TERM");
    if (!is_tty(stderr) || (term != nullptr && std::string(term) == "dumb") ||
        std::getenv("CTLDB_NO_PROGRESS") != nullptr) {
        return ProgressMode::off;
    }
    return ProgressMode::bar;
}

void set_progress_mode(ProgressMode mode) {
    g_progress = mode;
}

Progress::Progress(std::string label, std::uint64_t total, std::string unit)
    : label_(std::move(label)),
      total_(total),
      unit_(std::move(unit)),
      mode_(g_progress),
      start_ms_(now_ms()),
      last_ms_(mode_ == ProgressMode::log ? start_ms_ : 0) {}

void Progress::set_total(std::uint64_t total) {
    total_ = total;
}

Progress::~Progress() {
    finish();
}

void Progress::update(std::uint64_t done, std::uint64_t bytes) {
    if (mode_ == ProgressMode::off) return;
    const std::lock_guard<std::recursive_mutex> lock(g_screen);
    const long long now = now_ms();
    const double secs = static_cast<double>(now - start_ms_) / 1000.0;
    if (mode_ == ProgressMode::log) {
        // A log collector gets a line every 10 s, not a redrawn bar.
        if (now - last_ms_ < log_interval_ms) return;
        last_ms_ = now;
        log::info(label_ + ": " + summary(done, bytes, secs));
        return;
    }
    if (drawn_ && now - last_ms_ < 100 && done != total_) return;
    last_ms_ = now;
    std::string line = "\r" + label_ + " ";
    if (total_ > 0) {
        const int width = 24;
        const int filled = static_cast<int>(
            std::min(1.0, static_cast<double>(done) / static_cast<double>(total_)) * width);
        line += "[" + std::string(static_cast<std::size_t>(filled), '#') +
                std::string(static_cast<std::size_t>(width - filled), ' ') + "] ";
    }
    line += summary(done, bytes, secs) + "\033[K";
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
    drawn_ = true;
    g_drawn = this;
}

std::string Progress::summary(std::uint64_t done, std::uint64_t bytes, double secs) const {
    std::string out;
    // An estimate (backup: the database's size) may be passed; never over 99 %
    // until finished.
    if (total_ > 0) {
        const std::uint64_t pct =
            done == total_ ? 100 : std::min<std::uint64_t>(99, done * 100 / total_);
        out += std::to_string(pct) + "% ";
    }
    if (unit_.rfind("bytes", 0) == 0) {
        // "612.3 MiB of 1.3 GiB read": sizes for people, the rest of the unit after.
        out += human_bytes(static_cast<double>(done)) +
               (total_ > 0 ? " of " + human_bytes(static_cast<double>(total_)) : "") +
               unit_.substr(5);
    } else {
        out +=
            std::to_string(done) + (total_ > 0 ? "/" + std::to_string(total_) : "") + " " + unit_;
    }
    char buf[64];
    if (bytes > 0 && secs > 0) {
        std::snprintf(buf, sizeof buf, ", %.1f MB/s", static_cast<double>(bytes) / 1e6 / secs);
        out += buf;
    }
    std::snprintf(buf, sizeof buf, ", %.1f s", secs);
    return out + buf;
}

void Progress::finish() {
    const std::lock_guard<std::recursive_mutex> lock(g_screen);
    if (g_drawn == this) g_drawn = nullptr;
    if (!drawn_) return;
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
    drawn_ = false;
}

}  // namespace ctldb
