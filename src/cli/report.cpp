#include "cli/report.hpp"

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>
#include <pqxx/except>

#include "base/log.hpp"
#include "base/output.hpp"
#include "base/signals.hpp"

namespace ctldb {

const char* exit_code_name(ExitCode code) {
    switch (code) {
        case ExitCode::ok:
            return "ok";
        case ExitCode::failure:
            return "failure";
        case ExitCode::usage:
            return "usage";
        case ExitCode::connect:
            return "connect";
        case ExitCode::lock:
            return "lock";
        case ExitCode::interrupted:
            return "interrupted";
    }
    return "failure";
}

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

int run_command(Context& ctx) {
    ExitCode code = ExitCode::ok;
    bool error_printed = false;  // an error document replaces the result
    try {
        code = ctx.run ? ctx.run() : ExitCode::usage;
    } catch (const Error& e) {
        error_printed = true;
        code = e.code();
        if (!interrupted()) report_error(e, ctx.json());
    } catch (const pqxx::broken_connection& e) {
        error_printed = true;
        code = ExitCode::failure;
        if (!interrupted()) {
            report_error(Error(ExitCode::failure,
                               std::string("lost the connection to the server: ") + e.what(),
                               "check the server log; the work was not completed"),
                         ctx.json());
        }
    } catch (const pqxx::sql_error& e) {
        error_printed = true;
        code = ExitCode::failure;
        if (!interrupted()) {
            report_error(Error(ExitCode::failure, std::string("SQL error: ") + e.what()),
                         ctx.json());
        }
    } catch (const std::exception& e) {
        error_printed = true;
        code = ExitCode::failure;
        if (!interrupted()) {
            report_error(Error(ExitCode::failure, std::string("unexpected error: ") + e.what()),
                         ctx.json());
        }
    }
    // Work that finished despite a late signal keeps its result.
    if (interrupted() && code != ExitCode::ok) {
        report_error(interruption_error(), ctx.json());
        code = ExitCode::interrupted;
        error_printed = true;
    }
    nlohmann::json result;
    const bool have_result = ctx.take_result(result);
    // A command that failed by throwing has printed its error document.
    if (have_result && !error_printed) {
        nlohmann::json doc = {{"ok", code == ExitCode::ok}, {"exit_code", static_cast<int>(code)}};
        if (result.is_object()) {
            result.erase("ok");
            result.erase("exit_code");
            doc.update(result);
        } else {
            doc["result"] = std::move(result);
        }
        try {
            print_json(doc);
        } catch (const Error& e) {
            log::error(e.what());
            if (code == ExitCode::ok) code = ExitCode::failure;
        }
    }
    return static_cast<int>(code);
}

}  // namespace ctldb
