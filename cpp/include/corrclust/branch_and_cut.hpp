// Exact correlation clustering (minimum-cost multicut) by branch-and-cut over the edge LP.
//
// Variables y_e in [0,1] (1 = cut) for the edges of the graph, objective min sum c_e y_e. The LP
// relaxation is tightened by cutting planes separated on FRACTIONAL LP points:
//  * triangle inequalities y_ij <= y_ik + y_jk on complete graphs (dense input), which describe
//    the multicuts of K_n together with integrality;
//  * cycle inequalities y_e <= sum_{f in P} y_f for a path P joining the ends of e, found by
//    bounded Dijkstra in the graph weighted by y, on sparse graphs.
// The search branches on fractional edges, propagates fixings by transitivity (joined components,
// cuts between components), prunes by bound (rounded up when all costs are integers) and improves
// the incumbent by rounding LP points and an optional local-search hook.
//
// Certificate: lower_bound <= optimum <= objective; status "optimal" means the two agree within
// the tolerance (abs_gap, or ceil(bound) >= objective on integral costs).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "corrclust/control.hpp"
#include "corrclust/lp_backend.hpp"
#include "corrclust/problem.hpp"

namespace corrclust {

struct BncOptions {
    bool triangle_cuts = true;       // complete graphs: separate triangles
    bool cycle_cuts = true;          // sparse graphs: separate cycles by shortest paths
    bool contract_cycles = true;     // ... on the graph with the y = 0 regions contracted (cycle_separation.hpp)
    bool star_cuts = true;           // complete graphs: two-partition inequalities with |S| = 1
    bool odd_wheel_cuts = false;     // complete graphs: odd-wheel inequalities with the star cuts
    int odd_wheels_per_hub = 2;      // at most this many per hub and round
    // Sparse graphs: odd wheels around each node once cycles run low, backing off while none is found.
    // On: noisy supervoxel graphs of 400 / 800 nodes proven in 4.5 / 12.8 CPU s instead of not in
    // 60 / 90 s, supervoxel-4000-1 / -2 22.5 / 9.3 s -> 7.6 / 5.3 s; on the superpixel graphs none
    // is violated (docs/exact.md, session 10).
    bool sparse_wheel_cuts = true;
    // Sparse graphs: local cuts (local_cut_separation.hpp) on node sets of local_cut_min_size ..
    // local_cut_max_size nodes grown around fractional edges, at most local_cut_sets LPs per size and
    // round, once cycles and wheels find none; at the root, and with tree_local_cuts in the tree too
    // (backing off like the wheels). On at the root since session 16: noisy supervoxel development
    // graphs 1200-10 proven in 26 s instead of not in 90 s, 1200-8 bound after 90 s -7822.37 ->
    // -7820.91 (incumbent -7819.38); superpixel-org-4000-3 273 -> 115 nodes, 9-11 s -> 4.6-6.5 s;
    // supervoxel-4000-1 3.9-4.4 s -> 4.2-5.1 s (the root's last local round finds nothing). In the tree
    // the separation cost more than it saved (1200-10: 45 s against 26 s to the proof; docs/exact.md).
    bool local_cuts = true;
    bool tree_local_cuts = false;
    int local_cut_min_size = 7;  // 7-9 closed more root gap per CPU second than 6-8 (session 17)
    int local_cut_max_size = 9;
    int local_cut_sets = 400;
    bool local_cut_row_generation = true;
    int local_cut_growth = 0;
    bool star_ipm = true;            // root: switch from dual simplex to interior point once star cuts start
    int star_ipm_min_edges = 3000;   // ... on LPs with at least this many columns (smaller: dual simplex)
    int max_star_size = 8;           // at most this many nodes on the other side |T|
    int max_cuts_per_round = 0;      // cap per round in the tree; 0: automatic (max(1000, 8 n))
    int root_cuts_per_round = 0;     // cap per root round; 0: automatic (max(tree cap, n^2 / 2))
    LpMethod root_method = LpMethod::dual_simplex;  // cutting-plane loop at the root (ipm: no crossover)
    double ipm_switch_fraction = 0;  // root_method ipm: switch to crossover + dual simplex once a
                                     // round adds fewer than this fraction of the cap (0: never)
    LpMethod tree_method = LpMethod::dual_simplex;  // warm-started re-solves in the tree
    int purge_age = 3;               // delete a cut after this many solves in a row with slack
    // The same in the tree (counted in LP solves). 20 since session 15 (5 before): on a noisy supervoxel
    // graph (1500 nodes, seed 6, warm start from anytime) 300 nodes took 105 instead of 149 CPU s to the
    // same bound (-10170.65 / -10170.68; 532 instead of 843 LP solves);
    // same nodes on supervoxel-4000-1, superpixel-org-4000-3 and exact013 (docs/exact.md).
    int tree_purge_age = 20;
    // Tree: fix edges whose reduced cost closes the gap (children). On by default since the
    // superpixel graphs: LP iterations 14245 -> 11105, 8473 -> 7129, 3841 -> 3178 on three 4,000-node
    // instances, same nodes; it was neutral on the supervoxel and PACE rows (docs/exact.md).
    bool reduced_cost_fixing = true;
    int node_rounds = 8;             // cutting-plane rounds per tree node (fractional points)
    double min_violation = 1e-6;     // separate only cuts violated by more than this
    double abs_gap = 1e-6;           // optimal once objective - bound <= abs_gap (+ 1e-9 |obj|)
    std::int64_t max_nodes = -1;     // -1: unlimited
    bool verbose = false;            // one line per root round / every 100 nodes on stderr
};

struct BncResult {
    Labels labels;
    double objective = 0.0;
    double lower_bound = 0.0;
    double gap = 0.0;
    std::string status;              // "optimal", "time_limit", "interrupted", "node_limit"
    std::int64_t nodes = 0;
    std::int64_t cuts = 0;           // cutting planes added in total
    std::int64_t reduced_cost_fixings = 0;  // edge fixings passed to children by reduced costs
    std::int64_t lp_solves = 0;
    std::int64_t lp_iterations = 0;
    std::int64_t root_rounds = 0;
    std::int64_t max_rows = 0;       // largest number of LP rows at any time
    double root_bound = 0.0;
    double root_time = 0.0;
    double lp_time = 0.0;
    double separation_time = 0.0;
    std::int64_t local_cuts = 0;     // violated local cuts found (local_cuts option)
    double local_cut_time = 0.0;     // ... and the seconds spent finding them (part of separation_time)
    double heuristic_time = 0.0;
    double runtime = 0.0;
    // Reductions before the search (solve_exact in exact.hpp; zero/empty when not run).
    std::int64_t reduced_nodes = -1;     // nodes left after the joins (-1: no reduction ran)
    std::int64_t components = 1;         // independent subproblems solved
    std::int64_t largest_component = 0;  // nodes of the largest subproblem
    std::int64_t edge_joins = 0, subset_joins = 0;
    double reduce_time = 0.0;
};

// Improves a labelling in place (e.g. Kernighan-Lin); must never make it worse. Optional.
using LabelsImprover = std::function<void(Labels&, Control&)>;

// `warm_start` (size n) is an optional first incumbent.
BncResult branch_and_cut(const DenseView& problem, Control& control, const BncOptions& options,
                         const Labels* warm_start = nullptr, const LabelsImprover& improve = {});
BncResult branch_and_cut(const SparseGraph& problem, Control& control, const BncOptions& options,
                         const Labels* warm_start = nullptr, const LabelsImprover& improve = {});

}  // namespace corrclust
