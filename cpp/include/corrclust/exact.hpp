// Exact correlation clustering: reductions (exact_reduce.hpp), then branch-and-cut
// (branch_and_cut.hpp) on each independent part, with Kernighan-Lin as the primal improver.
#pragma once

#include <cstdint>

#include "corrclust/branch_and_cut.hpp"
#include "corrclust/exact_reduce.hpp"
#include "corrclust/heuristics.hpp"

namespace corrclust {

// How the exact solver finds its first incumbent before the LP work starts.
enum class FirstIncumbent {
    anytime,  // anytime multi-start KL with fusion (the default: tighter start, fewer nodes)
    kl,       // GAEC + Kernighan-Lin (gaec_kl), cheaper
    none,     // the warm start or nothing; also turns off Kernighan-Lin on rounded LP points
};

struct ExactOptions {
    BncOptions bnc;
    bool reduce = true;         // run the persistency reductions first
    ReduceOptions reduction;
    FirstIncumbent heuristic = FirstIncumbent::anytime;
    double heuristic_time = 0.3;  // seconds for the first incumbent at most (within the time limit)
    KlOptions kl;                 // Kernighan-Lin in the first incumbent and on rounded LP points
};

// Throws std::invalid_argument naming the first setting out of range.
void validate(const ExactOptions& options);

// First incumbent by `options.heuristic` (from `warm_start` when given, within `heuristic_time`
// seconds and the time limit of `control`), then reductions and branch-and-cut. The incumbent's
// clusters also propose the node sets of the subset rule. The result refers to the original nodes
// and costs. Subproblems are solved smallest first under the same time limit; the lower bound is the
// sum of theirs plus the cost of the edges between them, and the status is "optimal" only when every
// part was proven.
BncResult solve_exact(const DenseView& problem, Control& control, const ExactOptions& options,
                      const Labels* warm_start = nullptr, std::uint64_t seed = 0);
BncResult solve_exact(const SparseGraph& problem, Control& control, const ExactOptions& options,
                      const Labels* warm_start = nullptr, std::uint64_t seed = 0);

}  // namespace corrclust
