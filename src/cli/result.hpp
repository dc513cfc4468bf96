// A command's result: what it found or did, rendered as text for people or
// as JSON for scripts by the result itself, so that another command or a
// unit test can call run_<name>(options, ctx) and use the value. The exit
// code comes from the result too.
#pragma once

#include <nlohmann/json.hpp>

#include "base/output.hpp"
#include "cli/context.hpp"

namespace ctldb {

/// Print `r` in the format the command line asked for; its exit code.
/// Result needs: ExitCode code() const; std::string text(bool color) const;
/// nlohmann::json json() const.
template <typename Result>
ExitCode print_result(const Result& r, Context& ctx) {
    if (ctx.json()) {
        ctx.emit_result(r.json());
    } else {
        print_text(r.text(use_color(stdout)));
    }
    return r.code();
}

/// Print a report that holds its renderings as fields (code, text, json);
/// a null json means nothing to report (the code says why).
template <typename Report>
ExitCode print_report(const Report& r, Context& ctx) {
    if (r.json.is_null()) return r.code;
    if (ctx.json()) {
        ctx.emit_result(r.json);
    } else {
        print_text(r.text);
    }
    return r.code;
}

}  // namespace ctldb
