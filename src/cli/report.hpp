// Running a command and turning whatever it throws into a message and an
// exit code: the one place where exceptions are caught.
#pragma once

#include "base/error.hpp"
#include "cli/context.hpp"

namespace ctldb::cli {

/// Print `e` on stderr (text or JSON log format). With `json_output`, also
/// print {"ok": false, "error": ...} on stdout so scripts get a document.
void report_error(const Error& e, bool json_output);

/// Print one frame of a --watch stream in `format` (see Context::stream).
void print_frame(const Outcome& frame, OutputFormat format);

/// Run ctx.run, print its outcome (text, JSON or Prometheus text, as asked)
/// and return the process exit code. A signal always yields
/// 130, whatever the command was doing when it arrived.
int run_command(Context& ctx);

}  // namespace ctldb::cli
