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

/// A command's result document. It is held until the command returns and
/// then printed by run_command() with "ok" and "exit_code" set from the
/// exit code, so every command's JSON carries both and agrees with the
/// process's status; a command that throws prints the error document
/// instead (never two documents).
void emit_result(nlohmann::json doc);

/// The held result, for run_command(); empty when none was emitted.
bool take_result(nlohmann::json& out);

/// Write text to stdout, failing loudly (EPIPE etc.) rather than silently.
void print_text(const std::string& text);

}  // namespace ctldb

namespace ctldb {

/// A progress line on stderr, redrawn in place — only when stderr is a
/// terminal, so logs and pipes stay clean. Redraws at most 10 times a second.
class Progress {
  public:
    /// `total` 0: unknown (no percentage). `unit` names what is counted.
    Progress(std::string label, std::uint64_t total, std::string unit);
    ~Progress();
    /// Set the count done so far; `bytes` (optional) adds a rate in MB/s.
    void update(std::uint64_t done, std::uint64_t bytes = 0);
    /// Clear the line.
    void finish();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

  private:
    std::string label_;
    std::uint64_t total_;
    std::string unit_;
    bool enabled_;
    bool drawn_ = false;
    long long start_ms_;
    long long last_ms_ = 0;
};

}  // namespace ctldb
