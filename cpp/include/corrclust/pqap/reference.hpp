// The paper's PQAP solver, reproduced exactly ("reference" / fidelity mode, paper-model.md §5):
// heuristic A (rotating greedy distance matching with neighbourhood cones), heuristic B (rotating
// greedy cost matching around A's best angle) and heuristic C (cyclic row-by-row search with an
// optimistic completion bound), and the selection rule (the strictly lowest true E wins, starting
// from the empty matching).
//
// The implementation is organised for speed (per-rotation distance tables, incremental energies,
// a pre-sorted pair list for B, incremental best-candidate maintenance for A) but every choice is
// the one the literal algorithm makes: the iteration orders, strict comparisons and float32
// arithmetic are kept, and an incremental energy is only trusted where it cannot flip a strict
// comparison (otherwise the exact energy in the paper's summation order decides).
#pragma once

#include "corrclust/pqap/cost.hpp"

namespace corrclust {
class Control;
}

namespace corrclust::pqap {

struct HeuristicResult {
    Assignment assignment;  // empty when the heuristic found nothing
    int best_angle = 0;     // heuristic A only
};

HeuristicResult heuristic_a(const PairCost& cost);
HeuristicResult heuristic_b(const PairCost& cost, int best_angle);
HeuristicResult heuristic_c(const PairCost& cost);

// A, B and C and the selection rule. `control` may be null; when it asks to stop, the current best
// is returned early (the caller discards such a result).
MatchResult solve_reference(const PairCost& cost, Control* control = nullptr);

// The angle sequence heuristic B uses around A's best angle (including the 370-angle quirk at 355).
std::vector<int> heuristic_b_angles(int best_angle);

}  // namespace corrclust::pqap
