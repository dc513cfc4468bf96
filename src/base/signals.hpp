// SIGINT/SIGTERM handling: cancel running queries, stop child processes,
// let the command clean up, exit 130.
//
// The handler only does async-signal-safe work: it sets a flag, calls
// PQcancel() on registered connections and kill() on registered children.
// The command notices the flag (its query fails as cancelled, or it polls
// throw_if_interrupted()) and unwinds normally, so destructors clean up.
// A second signal exits at once.
#pragma once

#include <sys/types.h>

#include "base/error.hpp"

struct pg_cancel;
struct pg_conn;

namespace ctldb {

void install_signal_handlers();

/// True once SIGINT or SIGTERM arrived.
bool interrupted();

/// The Error(interrupted) naming the signal that arrived.
Error interruption_error();

/// Throws interruption_error() if a signal arrived.
void throw_if_interrupted();

/// While alive, a signal cancels the query running on `conn`.
class CancelOnSignal {
  public:
    explicit CancelOnSignal(pg_conn* conn);
    ~CancelOnSignal();
    CancelOnSignal(const CancelOnSignal&) = delete;
    CancelOnSignal& operator=(const CancelOnSignal&) = delete;

  private:
    int slot_ = -1;
};

/// While alive, a signal sends SIGTERM to child process `pid`.
class TerminateOnSignal {
  public:
    explicit TerminateOnSignal(pid_t pid);
    ~TerminateOnSignal();
    TerminateOnSignal(const TerminateOnSignal&) = delete;
    TerminateOnSignal& operator=(const TerminateOnSignal&) = delete;

  private:
    int slot_ = -1;
};

}  // namespace ctldb
