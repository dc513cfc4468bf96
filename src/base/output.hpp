// Results on stdout: aligned tables for people, one JSON document for
// scripts. Colour only on a terminal and never with NO_COLOR.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace ctldb {

enum class OutputFormat { text, json, prometheus };

/// Parse "text" / "json" / "prometheus"; nullopt-like false on bad input.
bool parse_output_format(const std::string& name, OutputFormat& out);

/// True when `stream` is a terminal.
bool is_tty(std::FILE* stream);

/// True when colour may be written to `stream` (a TTY, NO_COLOR unset).
bool use_color(std::FILE* stream);

enum class Style { none, bold, green, yellow, red, dim };
/// Wrap `text` in ANSI colour when `enabled`.
std::string styled(const std::string& text, Style style, bool enabled);

/// `text` with every control character shown as an escape (\n, \t, \x1b):
/// names and values from the server (a table called "\x1b[2J...") must not
/// drive the terminal or break the lines of a report.
std::string printable(const std::string& text);

/// An ISO UTC time for a table cell: "2026-12-02T07:04" (minutes), or
/// "never" when there is none.
std::string time_text(const std::optional<std::string>& iso);
/// The same for JSON: the ISO text, or null.
nlohmann::json time_json(const std::optional<std::string>& iso);

/// --no-headers: tables print their rows only (for awk and cut).
void set_table_headers(bool shown);

/// A table with aligned columns for text output.
class Table {
  public:
    explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
    void add_row(std::vector<std::string> cells);
    /// Rows with a status column can be coloured by the caller beforehand;
    /// widths ignore ANSI escapes.
    std::string render() const;
    bool empty() const { return rows_.empty(); }

  private:
    std::vector<std::string> headers_;
    std::vector<std::vector<std::string>> rows_;
};

/// Ask `question` on stderr and read y/N from stdin; false on anything else
/// or end of input.
bool confirm(const std::string& question);

/// Write one JSON document and a newline to stdout (indented).
void print_json(const nlohmann::json& doc);

/// Write one JSON document on one line: --watch writes one per line.
void print_json_line(const nlohmann::json& doc);

/// From now on print_json() writes one line too: a --watch stream stays
/// one document per line to its end, the closing error document included.
void use_json_lines();

/// Write text to stdout, failing loudly (EPIPE etc.) rather than silently.
void print_text(const std::string& text);

}  // namespace ctldb

namespace ctldb {

/// How long work shows its progress: a bar redrawn in place on a terminal,
/// a log line every 10 s for a log collector (--log-format json), or not
/// at all (-q, a pipe or file, TERM=dumb, CTLDB_NO_PROGRESS).
enum class ProgressMode { off, bar, log };
ProgressMode progress_mode_for(bool quiet, bool json_logs);
/// Set once by main(); every Progress made after follows it.
void set_progress_mode(ProgressMode mode);
/// Take a drawn bar off the screen before a log line is written there; the
/// next update draws it again below.
void clear_progress_line();

/// The progress of one long piece of work on stderr (see ProgressMode).
/// The bar redraws at most 10 times a second and is cleared when done.
class Progress {
  public:
    /// `total` 0: unknown (no percentage). `unit` names what is counted.
    Progress(std::string label, std::uint64_t total, std::string unit);
    ~Progress();
    /// The total when it is learnt after the start.
    void set_total(std::uint64_t total);
    /// Set the count done so far; `bytes` (optional) adds a rate in MB/s.
    void update(std::uint64_t done, std::uint64_t bytes = 0);
    /// Clear the line.
    void finish();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

  private:
    std::string summary(std::uint64_t done, std::uint64_t bytes, double secs) const;
    static constexpr long long log_interval_ms = 10000;
    std::string label_;
    std::uint64_t total_;
    std::string unit_;
    ProgressMode mode_;
    bool drawn_ = false;
    long long start_ms_;
    long long last_ms_;
};

}  // namespace ctldb
