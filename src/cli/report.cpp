#include "cli/report.hpp"

#include <cstdio>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <pqxx/except>

#include "base/log.hpp"
#include "base/output.hpp"
#include "base/signals.hpp"

namespace ctldb::cli {

void report_error(const Error& e, bool json_output) {
    if (log::format() == log::Format::json) {
        nlohmann::json line = {
            {"level", "error"}, {"msg", e.what()}, {"exit_code", static_cast<int>(e.code())}};
        if (!e.details().empty()) line["details"] = e.details();
        if (!e.hint().empty()) line["hint"] = e.hint();
        std::string s = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        std::fputs(s.c_str(), stderr);
    } else {
        // Messages carry text from files, dumps and the server: control
        // characters are shown escaped, so none can move the cursor, erase
        // lines or forge output on a terminal.
        log::error(printable(e.what()));
        std::string rest;
        for (const auto& d : e.details())
            rest += "  " + printable(d) + "\n";
        if (!e.hint().empty()) rest += "hint: " + printable(e.hint()) + "\n";
        std::fputs(rest.c_str(), stderr);
    }
    if (json_output) {
        nlohmann::json doc = {{"ok", false},
                              {"exit_code", static_cast<int>(e.code())},
                              {"error_kind", exit_code_name(e.code())},
                              {"error", e.what()}};
        if (!e.details().empty()) doc["details"] = e.details();
        if (!e.hint().empty()) doc["hint"] = e.hint();
        try {
            print_json(doc);
        } catch (const Error&) {
            // stdout is gone (closed pipe); stderr already has the message.
        }
    }
}

void print_frame(const Outcome& frame, OutputFormat format) {
    if (format == OutputFormat::json) {
        nlohmann::json doc = frame.json();
        doc["ok"] = frame.code() == ExitCode::ok;
        doc["exit_code"] = static_cast<int>(frame.code());
        print_json_line(doc);
    } else if (format == OutputFormat::prometheus && frame.has_prometheus()) {
        print_text(frame.prometheus());
    } else {
        // A terminal shows the latest frame only; a pipe gets them all.
        const std::string head =
            is_tty(stdout) ? "\033[H\033[2J" + frame.title() + "\n\n" : std::string();
        print_text(head + frame.text(false));
    }
}

namespace {

/// The result document: "ok" and "exit_code" from the exit code, so every
/// command's JSON carries both and agrees with the process's status.
nlohmann::json result_document(const Outcome& out, ExitCode code) {
    nlohmann::json result = out.json();
    nlohmann::json doc = {{"ok", code == ExitCode::ok}, {"exit_code", static_cast<int>(code)}};
    if (result.is_object()) {
        result.erase("ok");
        result.erase("exit_code");
        doc.update(result);
    } else {
        doc["result"] = std::move(result);
    }
    return doc;
}

/// Print what the command returned; a failed write to stdout fails a
/// command that had succeeded.
ExitCode print_outcome(const Outcome& out, ExitCode code, const Context& ctx, bool error_printed) {
    try {
        if (ctx.json()) {
            // A command stopped by a signal has printed the error document.
            if (!error_printed) print_json(result_document(out, code));
        } else if (ctx.global.output == OutputFormat::prometheus && out.has_prometheus()) {
            print_text(out.prometheus());
        } else {
            print_text(out.text(use_color(stdout)));
        }
    } catch (const Error& e) {
        log::error(e.what());
        if (code == ExitCode::ok) return ExitCode::failure;
    }
    return code;
}

}  // namespace

int run_command(Context& ctx) {
    ExitCode code = ExitCode::ok;
    std::optional<Outcome> out;  // empty when the command threw
    try {
        if (ctx.run) {
            out = ctx.run();
            code = out->code();
        } else {
            code = ExitCode::usage;
        }
    } catch (const Error& e) {
        code = e.code();
        if (!interrupted()) report_error(e, ctx.json());
    } catch (const pqxx::broken_connection& e) {
        code = ExitCode::failure;
        if (!interrupted()) {
            report_error(Error(ExitCode::failure,
                               std::string("lost the connection to the server: ") + e.what(),
                               "check the server log; the work was not completed"),
                         ctx.json());
        }
    } catch (const pqxx::sql_error& e) {
        code = ExitCode::failure;
        if (!interrupted()) {
            report_error(Error(ExitCode::failure, std::string("SQL error: ") + e.what()),
                         ctx.json());
        }
    } catch (const std::exception& e) {
        code = ExitCode::failure;
        if (!interrupted()) {
            report_error(Error(ExitCode::failure, std::string("unexpected error: ") + e.what()),
                         ctx.json());
        }
    }
    // Work that finished despite a late signal keeps its result.
    bool error_printed = !out;
    if (interrupted() && code != ExitCode::ok) {
        report_error(interruption_error(), ctx.json());
        code = ExitCode::interrupted;
        error_printed = true;
    }
    if (out && out->has_result()) code = print_outcome(*out, code, ctx, error_printed);
    if (out && out->error() != nullptr && !error_printed) report_error(*out->error(), false);
    return static_cast<int>(code);
}

}  // namespace ctldb::cli
