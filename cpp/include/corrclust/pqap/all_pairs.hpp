// Matching one ordered pair, and all-pairs sweeps over threads.
//
// Every ordered pair's result is deterministic and the same as match_pair's, so the results do not
// depend on the number of threads or on the schedule. In the improved mode a pair and its opposite
// are solved together when both are pending (each direction's reference matching is the other's
// competitor). Work is handed out largest n*m first (a stable order), so long pairs do not end up
// alone at the end of a sweep.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "corrclust/pqap/cost.hpp"

namespace corrclust {
class Control;
}

namespace corrclust::pqap {

enum class Mode : int { reference = 0, improved = 1 };

// Solves features(A) -> candidates(B). `control` may be null.
MatchResult match_pair(const Organoid& a, const Organoid& b, const CostParams& params, Mode mode,
                       Control* control = nullptr);

struct PairTask {
    int a = 0;  // index into the organoid list (features side)
    int b = 0;  // index into the organoid list (candidates side)
};

// Where a sweep writes its results; arrays have one slot per task (null pointers are skipped).
// done[k] becomes 1 (with release ordering) after the other slots of task k are written.
struct SweepOutput {
    double* similarity = nullptr;
    double* energy = nullptr;
    double* linear_by_feature = nullptr;
    double* linear_by_candidate = nullptr;
    std::int8_t* winner = nullptr;
    std::uint8_t* done = nullptr;                 // tasks with done[k] != 0 on entry are skipped
    std::vector<Assignment>* assignments = nullptr;  // resized to the task count when given
};

// Solves every task on `threads` worker threads (0 = all hardware threads). The calling thread
// waits and calls `tick()` every `tick_interval_s` seconds; tick may call control.request_stop()
// (e.g. on Ctrl-C). Workers stop between pairs and inside long pairs once control.stop() is true;
// an interrupted pair is not marked done. Returns the number of tasks finished by this call.
std::int64_t run_pairs(const std::vector<Organoid>& organoids, const std::vector<PairTask>& tasks,
                       const CostParams& params, Mode mode, int threads, SweepOutput& out, Control& control,
                       std::atomic<std::int64_t>& finished, const std::function<void()>& tick,
                       double tick_interval_s = 0.1);

}  // namespace corrclust::pqap
