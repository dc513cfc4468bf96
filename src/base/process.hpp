// Child processes (initdb, pg_ctl, pg_dump, psql): no shell, arguments as
// a vector, secrets only through the environment, optionally as another
// user, stopped when ctldb is interrupted.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/signals.hpp"

namespace ctldb {

/// An unprivileged account to run a program as (PostgreSQL refuses root).
struct UserAccount {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
    std::string home;
};

std::optional<UserAccount> lookup_user(const std::string& name);
UserAccount current_user();

struct ProcessOptions {
    std::optional<UserAccount> run_as;
    /// Variables to set (or override) in the child's environment.
    std::vector<std::pair<std::string, std::string>> env;
    /// Remove every PG* variable first, so the caller's libpq settings do
    /// not leak into tools that should only see what we pass.
    bool clear_pg_env = false;
    std::string cwd;
    /// Run even after SIGINT/SIGTERM: for clean-up steps (stopping a server
    /// we started) that must happen on the way out.
    bool cleanup = false;
    /// run_process: the child's stdin (an open file), instead of /dev/null.
    int stdin_fd = -1;
};

struct ProcessResult {
    int exit_code = -1;  ///< -1 when killed by a signal
    int signal = 0;
    std::string output;  ///< stdout and stderr, interleaved
    bool ok() const { return exit_code == 0; }
};

/// Run `argv` to completion, capturing its output. Throws Error(failure)
/// when it cannot be started; Error(interrupted) after a signal.
ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

/// True when `account` may access `path` with `mode` (R_OK, W_OK, X_OK),
/// checked in a child process running as that account.
bool can_access_as(const UserAccount& account, const std::string& path, int mode);

/// Find an executable by name in `PATH`; empty when absent.
std::string find_in_path(const std::string& name);

/// This machine's host name (gethostname), "" when it has none.
std::string host_name();

}  // namespace ctldb

namespace ctldb {

/// A running child whose stdin and/or stdout are pipes to us, for
/// streaming (pg_dump's output into the compressor, a dump into psql).
/// stderr is captured for error messages. Terminated with SIGTERM when
/// ctldb is interrupted, and killed when destroyed while still running.
class ChildProcess {
  public:
    struct Pipes {
        bool stdin_pipe = false;
        bool stdout_pipe = false;
        /// Without stdin_pipe: stdin comes from this fd (-1: /dev/null).
        int stdin_fd = -1;
        /// Without stdout_pipe: stdout goes to this fd (-1: /dev/null).
        int stdout_fd = -1;
    };
    ChildProcess(const std::vector<std::string>& argv, const ProcessOptions& options, Pipes pipes);
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const { return pid_; }
    /// Our end of the child's stdin / stdout (-1 when not piped).
    int in() const { return in_; }
    int out() const { return out_; }
    /// Close our end of stdin (EOF for the child).
    void close_in();
    /// Read the child's stdout (stdout_pipe) to its end, handing each chunk
    /// to `chunk`. Throws Error(interrupted) on SIGINT/SIGTERM and
    /// Error(failure) for a read error, naming `what` ("pg_dump's output").
    void read_out(const std::function<void(const char*, std::size_t)>& chunk,
                  const std::string& what);
    /// Wait for the child; collects its stderr.
    ProcessResult wait();
    /// SIGTERM now, SIGKILL after a grace period; then reap.
    void stop();

  private:
    pid_t pid_ = -1;
    int in_ = -1;
    int out_ = -1;
    int err_ = -1;
    bool reaped_ = false;
    std::unique_ptr<TerminateOnSignal> on_signal_;
};

}  // namespace ctldb
