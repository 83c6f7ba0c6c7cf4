// Window search: re-solve one region of a sparse graph with the rest held fixed.
//
// Why: on noisy sparse graphs every anytime round is global (GAEC on the whole graph, KL on the
// whole graph, fusion), so on 10^4-10^6 nodes a round costs seconds and the solver stops far from
// the optimum, while on windows of a few thousand nodes the same solver is within 0.1-0.4 % of the
// optimum in a second (noisy 60 x 60 grids of benchmarks/bench_bound.py, session 10). Measured with
// a Python prototype of this move around `anytime` on a noisy 200 x 200 grid (windows of 3000
// nodes, load 10): 30 CPU s gave -6220.5 against -6206.7 for 32 CPU s of plain anytime (converged
// dual bound -6260.8: 0.64 % against 0.86 % above it).
//
// The move: a region W of nodes (anytime.cpp's window rounds cut the graph into regions of about
// `window_nodes` nodes by breadth-first search from random seeds); every node of W is a node of the
// subproblem, and so is every cluster of the incumbent that has a node next
// to W (its nodes outside W contracted into one). The subproblem holds every edge between two of its
// nodes: the edges at W, and the edges between two such clusters (summed). The clusters that touch
// neither W nor its neighbouring clusters keep their labels; every edge from them to the subproblem
// joins two different clusters before and after, so the change of the full objective is exactly the
// change of the subproblem's. The subproblem is solved by the anytime solver warm-started from the
// incumbent (it never returns worse than its start), and the result is kept when strictly better.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "corrclust/heuristics.hpp"
#include "corrclust/heuristics_detail.hpp"

namespace corrclust {
namespace detail {

double improve_region(const SparseGraph& g, Labels& labels, const std::vector<Index>& window, Control& control,
                      std::uint64_t seed, const AnytimeOptions& sub_options, double budget) {
    const Index n = g.n;
    if (n == 0 || window.empty()) return 0.0;
    std::vector<Index> local(static_cast<size_t>(n), -1);  // node -> subproblem node (window nodes)
    for (size_t i = 0; i < window.size(); ++i) local[window[i]] = static_cast<Index>(i);
    const Index wn = static_cast<Index>(window.size());
    // 1. the clusters next to the window, one subproblem node each
    Index k = 0;
    for (Index l : labels) k = std::max(k, l + 1);
    std::vector<Index> cluster_node(static_cast<size_t>(k), -1);
    std::vector<Index> clusters;  // labels of those clusters, in subproblem order
    for (Index v : window)
        for (Index a = g.adj_offset[v]; a < g.adj_offset[v + 1]; ++a) {
            const Index w = g.adj_node[a];
            if (local[w] >= 0 || cluster_node[labels[w]] >= 0) continue;
            cluster_node[labels[w]] = wn + static_cast<Index>(clusters.size());
            clusters.push_back(labels[w]);
        }
    auto sub_of = [&](Index v) { return local[v] >= 0 ? local[v] : cluster_node[labels[v]]; };
    // members of those clusters outside the window (one pass over the labels)
    std::vector<Index> outside;
    for (Index v = 0; v < n; ++v)
        if (local[v] < 0 && cluster_node[labels[v]] >= 0) outside.push_back(v);
    if (control.stop()) return 0.0;
    // 2. the subproblem's edges, each edge of the graph once (from its endpoint edge_u)
    std::vector<Index> su, sv;
    std::vector<double> sc;
    auto add_edges_of = [&](Index v) {
        const Index a0 = sub_of(v);
        for (Index a = g.adj_offset[v]; a < g.adj_offset[v + 1]; ++a) {
            const Index w = g.adj_node[a];
            const Index e = g.adj_edge[a];
            if (g.edge_u[e] != v) continue;  // the other endpoint adds it
            const Index b0 = sub_of(w);
            if (b0 < 0 || b0 == a0) continue;  // a fixed cluster, or inside one contracted cluster
            su.push_back(a0);
            sv.push_back(b0);
            sc.push_back(g.edge_cost[e]);
        }
    };
    for (Index v : window) add_edges_of(v);
    for (Index v : outside) add_edges_of(v);
    const Index sn = wn + static_cast<Index>(clusters.size());
    const SparseGraph sub = SparseGraph::from_edges(sn, su.data(), sv.data(), sc.data(), static_cast<Index>(sc.size()));
    Labels warm(static_cast<size_t>(sn));
    for (Index i = 0; i < wn; ++i) warm[i] = labels[window[i]];
    for (size_t c = 0; c < clusters.size(); ++c) warm[wn + static_cast<Index>(c)] = clusters[c];
    detail::relabel(warm);
    const double before = objective(sub, warm);
    // 3. solve it, warm-started; the caller's stop (limit, Ctrl-C) stops the child at its next poll
    Control child(std::min(budget, control.remaining()), [&control] { return control.stop(); });
    HeuristicStats st;
    Labels best = anytime_ex(sub, child, seed, &warm, &st, sub_options);
    if (best.size() != static_cast<size_t>(sn)) return 0.0;
    const double after = objective(sub, best);
    if (!(after < before - 1e-9 * std::max(1.0, std::abs(before)))) return 0.0;
    // 4. apply: the subproblem's clusters get fresh labels
    for (Index i = 0; i < wn; ++i) labels[window[i]] = k + best[i];
    for (Index v : outside) labels[v] = k + best[cluster_node[labels[v]]];
    return before - after;
}

}  // namespace detail
}  // namespace corrclust
