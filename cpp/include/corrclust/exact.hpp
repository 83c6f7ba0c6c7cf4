// Exact correlation clustering: reductions (exact_reduce.hpp), then branch-and-cut
// (branch_and_cut.hpp) on each independent part, with Kernighan-Lin as the primal improver.
#pragma once

#include "corrclust/branch_and_cut.hpp"
#include "corrclust/exact_reduce.hpp"

namespace corrclust {

struct ExactOptions {
    BncOptions bnc;
    bool reduce = true;         // run the persistency reductions first
    ReduceOptions reduction;
    bool improve = true;        // Kernighan-Lin on rounded LP points
};

// `warm_start` (size n, optional): the first incumbent; its clusters also propose the node sets of
// the subset rule. The result refers to the original nodes and costs. Subproblems are solved
// smallest first under the same time limit; the lower bound is the sum of theirs plus the cost of
// the edges between them, and the status is "optimal" only when every part was proven.
BncResult solve_exact(const DenseView& problem, Control& control, const ExactOptions& options,
                      const Labels* warm_start = nullptr);
BncResult solve_exact(const SparseGraph& problem, Control& control, const ExactOptions& options,
                      const Labels* warm_start = nullptr);

}  // namespace corrclust
