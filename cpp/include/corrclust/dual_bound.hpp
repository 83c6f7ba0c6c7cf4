// A fast lower bound on the optimum of a sparse correlation-clustering (multicut) problem, from the
// dual of the cycle relaxation. Implemented in src/dual_bound.cpp; docs/bound.md explains it.
//
// Convention as in problem.hpp: minimise the cost of the cut edges. The trivial bound is the sum of
// the negative costs (cut every repulsive edge, join every attractive one); every cycle with exactly
// one repulsive edge proves that bound cannot be reached, and the solver raises it by
//  1. cycle packing: for each repulsive edge, a shortest path of attractive edges (by the current,
//     reduced costs) closes a cycle; the smallest |cost| on it is moved into the cycle, which the
//     bound gains (iterated cycle packing, Lange, Andres & Swoboda, ICML 2018);
//  2. message passing: every packed cycle is cut into triangles (with zero-cost chords), and costs
//     are moved back and forth between edges and triangles by min-marginals, which never lowers the
//     bound (the scheme of RAMA, Abbas & Swoboda, CVPR 2022, run sequentially on the CPU).
// Rounds of both repeat until the bound stalls, `max_rounds` or the control says stop. Every value
// the solver ever holds is a valid bound, so stopping early (time limit, Ctrl-C) returns a valid one.
// Large graphs that split well by node number (grids, volumes numbered row by row) are searched and
// swept in two parts side by side, with the same result for one thread as for two (docs/bound.md).
#pragma once

#include <cstdint>

#include "corrclust/control.hpp"
#include "corrclust/problem.hpp"

namespace corrclust {

struct BoundOptions {
    int max_cycle_length = 12;          // longest cycle (edges) the separation looks for (from 3 up)
    int max_rounds = 200;               // rounds of separation + message passing
    int passes_per_round = 10;          // message-passing sweeps over all triangles per round, twice
                                        // that once cycles reach max_cycle_length
    double min_relative_gain = 1e-6;    // a round that gains less than this share of |bound| stalls
    int patience = 3;                   // stop after this many stalled rounds in a row
    // Threads (0: as many as the hardware has, at most 2). The bound does not depend on it: large
    // graphs that split well by node number (grids, volumes) are searched and swept in two
    // parts, one after the other with one thread, side by side with two.
    int threads = 0;
    // 0: two parts when the graph has >= 200,000 edges and <= 1 % of them join the lower and the
    // upper half of the node numbers, else one; 1 or 2: that many (two work on any graph, only
    // slower where many cycles cross the split; the tests use it on small graphs).
    int parts = 0;
};

void validate(const BoundOptions& options);  // std::invalid_argument naming the first bad setting

struct BoundResult {
    double lower_bound = 0.0;    // a proven lower bound on the optimum
    double trivial_bound = 0.0;  // the sum of the negative costs, for comparison
    std::int64_t rounds = 0;
    std::int64_t cycles = 0;     // cycles packed in all rounds
    std::int64_t triangles = 0;  // triangles of the relaxation at the end
    std::int64_t chords = 0;     // zero-cost edges added to triangulate cycles
    int parts = 1;               // parts searched and swept side by side (BoundOptions::parts)
};

// The bound of `graph` (edge costs as given, parallel edges already summed). Polls `control`
// (time limit, Ctrl-C) and reports progress with phase "bound".
BoundResult dual_lower_bound(const SparseGraph& graph, Control& control, const BoundOptions& options = {});

}  // namespace corrclust
