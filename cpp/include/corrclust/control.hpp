// Control of long-running loops: wall-clock limit, interruption, progress.
//
// Every solver loop calls `stop()` at a cheap cadence (each outer iteration, every few thousand
// inner steps). `stop()` reads the steady clock (tens of nanoseconds) and, at most every
// `poll_interval_s`, calls the external poll hook. The Python bindings set that hook to a
// function that takes the GIL and calls PyErr_CheckSignals, so Ctrl-C stops the loop; the C++
// core itself knows nothing of Python.
//
// Thread safety: `stop()` and `request_stop()` may be called from any thread. The poll hook is
// called under a mutex, so it runs in one thread at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <mutex>
#include <string>

namespace corrclust {

enum class StopReason : int { none = 0, time_limit = 1, interrupted = 2 };

inline const char* to_string(StopReason r) {
    switch (r) {
        case StopReason::time_limit: return "time_limit";
        case StopReason::interrupted: return "interrupted";
        default: return "none";
    }
}

// One progress report: what the solver is doing and its current bounds.
struct Progress {
    std::string phase;                 // e.g. "gaec", "kl", "anytime", "bnc", "pqap"
    double elapsed_s = 0.0;
    double objective = std::numeric_limits<double>::quiet_NaN();    // best primal so far
    double lower_bound = -std::numeric_limits<double>::infinity();  // best bound so far
    std::int64_t done = 0;             // work units done (iterations, nodes, pairs)
    std::int64_t total = -1;           // work units expected, -1 if unknown
};

class Control {
public:
    using PollFn = std::function<bool()>;  // returns true when the caller must stop (interrupt)
    using ProgressFn = std::function<void(const Progress&)>;

    explicit Control(double time_limit_s = std::numeric_limits<double>::infinity(),
                     PollFn poll = {}, ProgressFn progress = {}, double poll_interval_s = 0.05)
        : start_(Clock::now()),
          time_limit_s_(time_limit_s),
          poll_(std::move(poll)),
          progress_(std::move(progress)),
          poll_interval_s_(poll_interval_s) {}

    Control(const Control&) = delete;
    Control& operator=(const Control&) = delete;

    double elapsed() const {
        return std::chrono::duration<double>(Clock::now() - start_).count();
    }
    double time_limit() const { return time_limit_s_; }
    double remaining() const { return time_limit_s_ - elapsed(); }

    // True once the time limit has passed or an interruption was seen; sticky afterwards.
    bool stop() {
        if (reason_.load(std::memory_order_relaxed) != static_cast<int>(StopReason::none)) return true;
        const double t = elapsed();
        if (t >= time_limit_s_) {
            set_reason(StopReason::time_limit);
            return true;
        }
        if (poll_ && t - last_poll_.load(std::memory_order_relaxed) >= poll_interval_s_) {
            std::lock_guard<std::mutex> lock(poll_mutex_);
            if (t - last_poll_.load(std::memory_order_relaxed) >= poll_interval_s_) {
                last_poll_.store(t, std::memory_order_relaxed);
                if (poll_()) {
                    set_reason(StopReason::interrupted);
                    return true;
                }
            }
        }
        return false;
    }

    void request_stop(StopReason r = StopReason::interrupted) { set_reason(r); }
    StopReason reason() const { return static_cast<StopReason>(reason_.load()); }
    bool stopped() const { return reason() != StopReason::none; }

    void report(Progress p) {
        if (!progress_) return;
        p.elapsed_s = elapsed();
        std::lock_guard<std::mutex> lock(poll_mutex_);
        progress_(p);
    }
    bool has_progress() const { return static_cast<bool>(progress_); }

private:
    using Clock = std::chrono::steady_clock;
    void set_reason(StopReason r) {
        int expected = static_cast<int>(StopReason::none);
        reason_.compare_exchange_strong(expected, static_cast<int>(r));
    }

    Clock::time_point start_;
    double time_limit_s_;
    PollFn poll_;
    ProgressFn progress_;
    double poll_interval_s_;
    std::atomic<double> last_poll_{0.0};
    std::atomic<int> reason_{static_cast<int>(StopReason::none)};
    std::mutex poll_mutex_;
};

}  // namespace corrclust
