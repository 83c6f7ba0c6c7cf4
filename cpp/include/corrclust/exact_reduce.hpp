// Reductions before the exact search: persistency (partial optimality) for minimum-cost multicut.
//
// Every rule below proves that SOME optimal partition has a property, and the rules are applied
// one after the other to the problem that the previous ones left, so that together they keep at
// least one optimum (see docs/exact.md, "Reductions", for the proofs). Notation: c(e) > 0
// attracts, P(x) = sum of the positive costs at node x, A(x) = sum of |c| at node x, c+(d(R)) =
// sum of the positive costs of the edges leaving a node set R.
//
//  * dominant edge:  2 c(uv) >= A(u)  (or A(v))              -> u and v are joined;
//  * pair join:      3 c(uv) >= P(u) + P(v)                  -> u and v are joined
//                    (the subset rule below for R = {u, v});
//  * subset join:    mincut(G[R], c+) - |c-|(E(R)) >= c+(d(R)) -> R is joined, tried for the
//                    clusters of a given partition (the first incumbent);
//  * components:     the connected components of the graph of positive edges are cut from each
//                    other in some optimum, so they are solved independently.
//
// Joined nodes are contracted (parallel edges summed), which preserves the objective of every
// partition that keeps them together.
#pragma once

#include <cstdint>
#include <vector>

#include "corrclust/control.hpp"
#include "corrclust/problem.hpp"

namespace corrclust {

struct ReduceOptions {
    bool edge_joins = true;    // dominant-edge and pair-join rules, repeated until none applies
    bool subset_joins = true;  // subset rule on the clusters of the given partition
    bool components = true;    // split into components of the positive graph
    int max_subset_size = 600; // Stoer-Wagner is O(|R|^3): larger clusters are not tried
};

struct ReducedProblem {
    int n = 0;                          // reduced nodes
    std::vector<int> node_of;           // original node -> reduced node
    std::vector<int> eu, ev;            // reduced edges (eu < ev), costs summed; no zero costs
    std::vector<double> cost;
    std::vector<int> component;         // reduced node -> component (0 .. num_components-1)
    int num_components = 0;
    // Statistics.
    std::int64_t edge_joins = 0;        // contractions by the dominant-edge / pair rules
    std::int64_t subset_joins = 0;      // clusters contracted by the subset rule
    std::int64_t subset_tries = 0;      // clusters on which the subset rule was evaluated
};

// `u, v, cost`: m edges of a graph on n nodes (u != v; parallel edges are summed). `clusters`
// (size n, optional) proposes the node sets for the subset rule. Once `control` says stop the
// result is the identity (n nodes, node_of[i] = i, one component, no edges listed): callers check
// control.stopped() and solve the input as it is.
ReducedProblem reduce_multicut(int n, const std::vector<int>& u, const std::vector<int>& v,
                               const std::vector<double>& cost, const Labels* clusters,
                               const ReduceOptions& options, Control& control);

}  // namespace corrclust
