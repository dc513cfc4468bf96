#include "base/signals.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>

#include <libpq-fe.h>

#include "base/error.hpp"

namespace ctldb {

namespace {

constexpr int kSlots = 64;
std::atomic<PGcancel*> g_cancels[kSlots];
std::atomic<pid_t> g_children[kSlots];
volatile sig_atomic_t g_signal = 0;

extern "C" void on_signal(int sig) {
    if (g_signal != 0) _exit(static_cast<int>(ExitCode::interrupted));  // second signal
    g_signal = sig;
    char buf[256];
    for (auto& slot : g_cancels) {
        PGcancel* c = slot.load();
        if (c != nullptr) PQcancel(c, buf, sizeof buf);
    }
    for (auto& slot : g_children) {
        pid_t pid = slot.load();
        if (pid > 0) kill(pid, SIGTERM);
    }
}

/// Blocks SIGINT/SIGTERM for a scope, so the handler never sees a slot
/// being freed.
class BlockSignals {
  public:
    BlockSignals() {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set, &old_);
    }
    ~BlockSignals() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

  private:
    sigset_t old_{};
};

template <typename T>
int claim(std::atomic<T>* slots, T value) {
    for (int i = 0; i < kSlots; ++i) {
        T empty{};
        if (slots[i].compare_exchange_strong(empty, value)) return i;
    }
    return -1;
}

}  // namespace

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: blocking calls return EINTR
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

bool interrupted() {
    return g_signal != 0;
}

Error interruption_error() {
    return Error(ExitCode::interrupted,
                 g_signal == SIGTERM ? "terminated by SIGTERM" : "interrupted by SIGINT");
}

void throw_if_interrupted() {
    if (interrupted()) throw interruption_error();
}

CancelOnSignal::CancelOnSignal(pg_conn* conn) {
    PGcancel* c = PQgetCancel(conn);
    if (c == nullptr) return;
    slot_ = claim(g_cancels, c);
    if (slot_ < 0) PQfreeCancel(c);
}

CancelOnSignal::~CancelOnSignal() {
    if (slot_ < 0) return;
    BlockSignals block;
    PQfreeCancel(g_cancels[slot_].exchange(nullptr));
}

TerminateOnSignal::TerminateOnSignal(pid_t pid) {
    slot_ = claim(g_children, pid);
}

TerminateOnSignal::~TerminateOnSignal() {
    if (slot_ < 0) return;
    BlockSignals block;
    g_children[slot_].store(0);
}

}  // namespace ctldb
