// Errors and exit codes shared by every ctldb command.
//
// Every failure that reaches the user is a ctldb::Error carrying one of the
// exit-code categories of DESIGN.md. Adapters (libpq/libpqxx, OpenSSL,
// yaml-cpp, the file system) convert their own exceptions into an Error at
// their boundary; main() has the single catch that prints and exits.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace ctldb {

/// The process exit codes; the same for every command.
enum class ExitCode : int {
    ok = 0,            ///< success; for checks: all checks passed
    failure = 1,       ///< the work ran and failed, or a check found a problem
    usage = 2,         ///< usage or configuration error, before any connection
    connect = 3,       ///< cannot connect (refused, DNS, timeout, TLS, auth)
    lock = 4,          ///< a lock could not be acquired in time
    interrupted = 130  ///< SIGINT/SIGTERM, after cleaning up
};

/// Short name of an exit code ("usage", "connect", ...), for JSON output.
inline const char* exit_code_name(ExitCode code) {
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

/// An error meant for the user: what happened, optionally what to do about it.
class Error : public std::runtime_error {
  public:
    Error(ExitCode code, std::string message, std::string hint = {})
        : std::runtime_error(std::move(message)), code_(code), hint_(std::move(hint)) {}

    ExitCode code() const { return code_; }
    const std::string& hint() const { return hint_; }
    /// Further lines shown after the message (e.g. every config problem).
    const std::vector<std::string>& details() const { return details_; }
    Error& with_details(std::vector<std::string> details) {
        details_ = std::move(details);
        return *this;
    }

  private:
    ExitCode code_;
    std::string hint_;
    std::vector<std::string> details_;
};

/// Convenience constructors named by category.
inline Error usage_error(std::string msg, std::string hint = {}) {
    return Error(ExitCode::usage, std::move(msg), std::move(hint));
}
inline Error failure(std::string msg, std::string hint = {}) {
    return Error(ExitCode::failure, std::move(msg), std::move(hint));
}

}  // namespace ctldb
