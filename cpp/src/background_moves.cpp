// Local search under the background model (corrclust/background.hpp): node moves alternating with
// GAEC joins.
//
// Moving node v from its cluster A to a cluster L changes the objective by S_A - S_L, where
//     S_X = (summed cost of v's edges into X) + b * (|X without v| - number of those edges)
// is what v gains from being with X. With b <= 0 a cluster that v has no edge into has
// S_X = b |X| <= 0 = S of a new singleton, so the candidates are the clusters of v's neighbours and
// a new singleton: a sweep costs O(n + m). Moves alone cannot join two clusters that would gain
// together, and joins alone cannot fix a node GAEC put in the wrong cluster, so rounds of both run
// until one gains nothing; each step only lowers the objective, so it never ends worse than it
// started. (Why not Kernighan-Lin: the sparse KL's move sequences and joins keep per-cluster-pair
// gains of the explicit edges only; the size term would have to enter every one of them.)
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "corrclust/background.hpp"
#include "corrclust/heuristics_detail.hpp"

namespace corrclust {
namespace {

// One sweep of moves over the nodes in order; returns the objective gained (>= 0). `labels` are
// 0..n-1 with `size` the cluster sizes and `free_ids` the unused labels.
double sweep(const SparseGraph& g, double b, Labels& labels, std::vector<std::int64_t>& size,
             std::vector<Index>& free_ids, double tolerance, Control& control, bool& stopped) {
    const Index n = g.n;
    std::vector<double> w(static_cast<size_t>(n), 0.0);
    std::vector<std::int64_t> m(static_cast<size_t>(n), 0);
    std::vector<Index> touched;
    double gained = 0.0;
    for (Index v = 0; v < n; ++v) {
        if ((v & 1023) == 1023 && control.stop()) {
            stopped = true;
            break;
        }
        const Index a = labels[v];
        touched.clear();
        for (Index j = g.adj_offset[v]; j < g.adj_offset[v + 1]; ++j) {
            const Index l = labels[g.adj_node[j]];
            if (m[l] == 0) touched.push_back(l);
            w[l] += g.edge_cost[g.adj_edge[j]];
            ++m[l];
        }
        const double stay = w[a] + b * static_cast<double>(size[a] - 1 - m[a]);
        Index best = -1;  // -1: a new singleton
        double best_value = 0.0;
        if (size[a] == 1) {  // already alone: the singleton option is where it is
            best = a;
            best_value = stay;
        }
        for (const Index l : touched) {
            if (l == a) continue;
            const double value = w[l] + b * static_cast<double>(size[l] - m[l]);
            if (value > best_value) {  // ties: the first neighbouring cluster met, or staying alone
                best = l;
                best_value = value;
            }
        }
        for (const Index l : touched) {
            w[l] = 0.0;
            m[l] = 0;
        }
        if (best == a || !(best_value - stay > tolerance)) continue;
        if (best < 0) {
            best = free_ids.back();
            free_ids.pop_back();
        }
        --size[a];
        ++size[best];
        if (size[a] == 0) free_ids.push_back(a);
        labels[v] = best;
        gained += best_value - stay;
    }
    return gained;
}

}  // namespace

double background_moves(const SparseGraph& g, double background, Labels& labels, Control& control,
                        HeuristicStats* stats) {
    if (!(background <= 0.0)) throw std::invalid_argument("the background cost must be <= 0 (repulsive)");
    const Index n = g.n;
    if (n == 0) return 0.0;
    detail::relabel(labels);
    // a gain must beat the rounding noise of sums of costs (as KL's min_improvement)
    double largest = std::abs(background);
    for (const double c : g.edge_cost) largest = std::max(largest, std::abs(c));
    const double tolerance = 1e-9 * std::max(1.0, largest);
    double obj = background_objective(g, background, labels);
    detail::ProgressThrottle progress(control, "moves");
    std::int64_t rounds = 0;
    bool stopped = false;
    while (!stopped && !control.stop()) {
        ++rounds;
        std::vector<std::int64_t> size(static_cast<size_t>(n), 0);
        for (const Index l : labels) ++size[static_cast<size_t>(l)];
        std::vector<Index> free_ids;
        for (Index l = n; l-- > 0;)
            if (size[static_cast<size_t>(l)] == 0) free_ids.push_back(l);
        double gained = 0.0;
        for (;;) {  // sweeps until one moves nothing
            const double g1 = sweep(g, background, labels, size, free_ids, tolerance, control, stopped);
            gained += g1;
            if (stopped || g1 <= 0.0) break;
        }
        if (stopped) break;
        Labels joined = gaec_background(g, background, control, &labels, nullptr);
        const double after = background_objective(g, background, joined);
        const double before = background_objective(g, background, labels);
        if (after <= before) labels.swap(joined);  // joins gain >= 0; equal-cost joins are kept too
        const double now = std::min(after, before);
        gained += before - now;
        obj = now;
        progress.maybe(obj, rounds);
        if (!(gained > tolerance) || control.stopped()) break;
    }
    detail::relabel(labels);
    obj = background_objective(g, background, labels);
    if (stats) {
        stats->iterations = rounds;
        stats->objective = obj;
    }
    return obj;
}

}  // namespace corrclust
