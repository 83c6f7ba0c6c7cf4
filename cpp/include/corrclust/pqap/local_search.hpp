// The improved PQAP solver: local search on top of the reference solution.
//
// Moves (first-improvement over a fixed scan order, with exact incremental cost deltas):
//  * assign: an unassigned feature takes a free candidate of its channel;
//  * unassign: an assigned feature is released;
//  * reassign: an assigned feature moves to a free candidate;
//  * swap: two assigned features of the same channel exchange their candidates;
//  * eject: a feature takes a candidate that is in use, whose owner moves to a free candidate or
//    becomes unassigned (an ejection chain of length two).
// A move is accepted only when it lowers E by more than a tiny tolerance, and the final E is
// recomputed in the paper's summation order; the result is never worse than the start.
#pragma once

#include "corrclust/pqap/cost.hpp"

namespace corrclust {
class Control;
}

namespace corrclust::pqap {

struct LocalSearchOptions {
    int max_rounds = 50;          // full passes over all moves
    double min_gain = 1e-12;      // a move must lower E by more than this
};

// Improves r.assignment in place (r is refreshed by finish_result); returns the number of moves.
int improve_local_search(const PairCost& cost, MatchResult& r, Control* control = nullptr,
                         const LocalSearchOptions& options = {});

}  // namespace corrclust::pqap
