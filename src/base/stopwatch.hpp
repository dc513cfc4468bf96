// Elapsed time on the monotonic clock, for durations reported to people
// and in JSON (duration_ms, duration_seconds).
#pragma once

#include <chrono>
#include <cstdint>

namespace ctldb {

class Stopwatch {
  public:
    using Clock = std::chrono::steady_clock;
    Stopwatch() : start_(Clock::now()) {}
    /// Whole milliseconds since the start.
    std::int64_t ms() const {
        return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start_).count();
    }
    /// Milliseconds with their fraction.
    double ms_exact() const {
        return std::chrono::duration<double, std::milli>(Clock::now() - start_).count();
    }
    double seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }
    void restart() { start_ = Clock::now(); }

  private:
    Clock::time_point start_;
};

}  // namespace ctldb
