// Local cuts on small node sets of a sparse graph; see local_cut_separation.hpp.
//
// Why: on the noisy supervoxel graphs the root LP point satisfies every cycle and odd-wheel
// inequality and still lies outside the multicut polytope of many 6-8 node induced subgraphs
// (session 15: 15 of 414 six-node and 44 of 380 eight-node sets), through inequalities of
// irregular shape that no template family covers. A prototype of this separator on a 1200-node
// development graph (seed 8) closed 38 % of the gap between the cycle + wheel bound (-7828.45) and
// the best known multicut (-7819.31) at the root (docs/exact.md, session 16).
//
// The separation LP for a set S with edges E(S) and incidence vectors chi_P of its partitions P:
//     max a^T y_S - b   s.t.   a^T chi_P <= b for all P,   -1 <= a_e <= 1,
// whose optimum is the L1 distance of y_S to conv{chi_P} (LP duality). The right-hand side is then
// recomputed exactly as max_P a^T chi_P by enumeration, so the cut is valid whatever the LP's
// tolerances.
#include "corrclust/local_cut_separation.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <set>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "corrclust/lp_backend.hpp"

namespace corrclust {
namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kFractional = 1e-4;  // edges with min(y, 1 - y) above this seed node sets

// The index of the lowest set bit of a non-zero mask (the wheels are built with MSVC too, which has
// no __builtin_ctzll; C++17 has no std::countr_zero).
inline int lowest_bit(std::uint64_t m) {
#if defined(__GNUC__)
    return __builtin_ctzll(m);
#else
    int i = 0;
    while (((m >> i) & 1u) == 0) ++i;
    return i;
#endif
}

}  // namespace

LocalCutSeparator::LocalCutSeparator(int n, const std::vector<int>& eu, const std::vector<int>& ev,
                                     const std::vector<int>& adj_off, const std::vector<int>& adj_node,
                                     const std::vector<int>& adj_edge)
    : n_(n), eu_(eu), ev_(ev), adj_off_(adj_off), adj_node_(adj_node), adj_edge_(adj_edge) {}

void LocalCutSeparator::multicut_masks(int k, const std::vector<int>& la, const std::vector<int>& lb,
                                       std::vector<std::uint64_t>& masks) {
    // Edges (j, i) with j < i by their later end i, so that the cut bits of an edge are known as
    // soon as its later end gets its cluster.
    std::vector<std::vector<std::pair<int, std::uint64_t>>> back(static_cast<size_t>(k));
    for (size_t e = 0; e < la.size(); ++e) {
        const int a = std::min(la[e], lb[e]), b = std::max(la[e], lb[e]);
        back[b].emplace_back(a, std::uint64_t{1} << e);
    }
    // Open addressing, sized to twice Bell(k) at most; ~0 is never a mask (at most 45 edges).
    static constexpr std::uint64_t kEmpty = ~std::uint64_t{0};
    static constexpr std::size_t kBell[11] = {1, 1, 2, 5, 15, 52, 203, 877, 4140, 21147, 115975};
    std::size_t size = 16;
    while (size < 2 * kBell[k]) size *= 2;
    table_.assign(size, kEmpty);
    masks.clear();
    const auto insert = [&](std::uint64_t m) {
        std::size_t h = static_cast<std::size_t>((m * 0x9E3779B97F4A7C15ull) >> 20) & (size - 1);
        while (table_[h] != kEmpty) {
            if (table_[h] == m) return;
            h = (h + 1) & (size - 1);
        }
        table_[h] = m;
        masks.push_back(m);
    };
    // Restricted growth strings by depth-first search, the mask built as the labels are set.
    std::vector<int> label(static_cast<size_t>(k), 0);
    const auto dfs = [&](auto&& self, int i, int blocks, std::uint64_t mask) -> void {
        if (i == k) {
            insert(mask);
            return;
        }
        for (int l = 0; l <= blocks && l < k; ++l) {
            std::uint64_t m = mask;
            for (const auto& [j, bit] : back[i])
                if (label[j] != l) m |= bit;
            label[i] = l;
            self(self, i + 1, std::max(blocks, l + 1), m);
        }
    };
    dfs(dfs, 1, 1, 0);  // node 0 in cluster 0
}

bool LocalCutSeparator::separate_set(const std::vector<int>& nodes, const std::vector<double>& y, double tol,
                                     LocalCut& out, double time_limit_s, bool row_generation) {
    const int k = static_cast<int>(nodes.size());
    if (k < 3 || k > 10) throw std::invalid_argument("local cuts: node sets of 3 to 10 nodes");
    ++sets_tried_;
    std::vector<int> edges, la, lb;
    induced_edges(nodes, edges, la, lb);
    const int q = static_cast<int>(edges.size());  // <= 45
    if (q < 3) return false;                        // a tree or less: y_S is in the hull
    // The distinct incidence vectors (partitions whose clusters are not connected in G[S] repeat others).
    std::vector<std::uint64_t> masks;
    multicut_masks(k, la, lb, masks);

    std::unique_ptr<LpBackend> lp = make_highs_backend();
    std::vector<double> cost(static_cast<size_t>(q) + 1), lo(static_cast<size_t>(q) + 1, -1.0),
        hi(static_cast<size_t>(q) + 1, 1.0);
    for (int e = 0; e < q; ++e) cost[e] = -y[edges[e]];
    cost[q] = 1.0;
    lo[q] = -kInf;
    hi[q] = kInf;
    lp->add_columns(cost, lo, hi);
    LpRows rows;
    std::vector<int> idx;
    std::vector<double> val;
    const auto add_row = [&](std::uint64_t m) {
        idx.clear();
        val.clear();
        for (int e = 0; e < q; ++e)
            if (m >> e & 1) {
                idx.push_back(e);
                val.push_back(1.0);
            }
        idx.push_back(q);
        val.push_back(-1.0);
        rows.add(-kInf, 0.0, idx.data(), val.data(), static_cast<int>(idx.size()));
    };
    // sum_{e in m} w_e for every mask.
    std::vector<double> score(masks.size());
    const auto score_masks = [&](const std::vector<double>& w) {
        for (size_t p = 0; p < masks.size(); ++p) {
            double s = 0.0;
            for (std::uint64_t m = masks[p]; m; m &= m - 1) s += w[static_cast<size_t>(lowest_bit(m))];
            score[p] = s;
        }
    };
    // A second at most per set: these LPs take milliseconds, and a stalled one must not hold the search.
    const double limit = std::min(time_limit_s, 1.0);
    const auto t_start = std::chrono::steady_clock::now();
    const auto left = [&] {
        return limit - std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    };
    if (!row_generation) {
        for (const std::uint64_t m : masks) add_row(m);
        lp->add_rows(rows);
        if (lp->solve(LpMethod::dual_simplex, limit) != LpStatus::optimal) return false;
    } else {
        // Row generation over the partitions: start from the q + 1 incidence vectors nearest to
        // y_S in L1 (|y - chi|_1 = sum y + sum_{e cut in chi} (1 - 2 y_e)), solve, add the
        // partitions the current (a, b) violates (most violated first), until none is. The
        // restricted LP's optimum bounds the full one from above, so a restricted optimum <= tol
        // already says "inside".
        std::vector<double> w(static_cast<size_t>(q));
        for (int e = 0; e < q; ++e) w[e] = 1.0 - 2.0 * y[edges[e]];
        score_masks(w);
        std::vector<size_t> order(masks.size());
        for (size_t p = 0; p < order.size(); ++p) order[p] = p;
        const size_t first = std::min(order.size(), static_cast<size_t>(q) + 1);
        std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(first), order.end(),
                          [&](size_t a, size_t b) { return score[a] < score[b]; });
        std::vector<char> in_lp(masks.size(), 0);
        for (size_t r = 0; r < first; ++r) {
            add_row(masks[order[r]]);
            in_lp[order[r]] = 1;
        }
        lp->add_rows(rows);
        std::vector<double> xs, acts;
        std::vector<std::pair<double, size_t>> viol;
        for (;;) {
            if (lp->solve(LpMethod::dual_simplex, left()) != LpStatus::optimal) return false;
            if (-lp->objective() <= tol) return false;
            lp->solution(xs, acts);
            w.assign(xs.begin(), xs.begin() + q);
            score_masks(w);
            viol.clear();
            for (size_t p = 0; p < masks.size(); ++p)
                if (!in_lp[p] && score[p] > xs[q] + 1e-9) viol.emplace_back(-(score[p] - xs[q]), p);
            if (viol.empty()) break;
            const size_t take = std::min(viol.size(), static_cast<size_t>(2 * q));
            std::partial_sort(viol.begin(), viol.begin() + static_cast<std::ptrdiff_t>(take), viol.end());
            rows.clear();
            for (size_t r = 0; r < take; ++r) {
                add_row(masks[viol[r].second]);
                in_lp[viol[r].second] = 1;
            }
            lp->add_rows(rows);
        }
    }
    if (-lp->objective() <= tol) return false;
    std::vector<double> x, activity;
    lp->solution(x, activity);
    out.idx.clear();
    out.val.clear();
    std::vector<double> a(static_cast<size_t>(q), 0.0);
    for (int e = 0; e < q; ++e)
        if (std::abs(x[e]) > 1e-9) a[e] = x[e];
    // Exact right-hand side over all partitions.
    double rhs = -kInf;
    for (const std::uint64_t m : masks) {
        double s = 0.0;
        for (int e = 0; e < q; ++e)
            if (m >> e & 1) s += a[e];
        rhs = std::max(rhs, s);
    }
    double lhs = 0.0;
    for (int e = 0; e < q; ++e) {
        if (a[e] == 0.0) continue;
        out.idx.push_back(edges[e]);
        out.val.push_back(a[e]);
        lhs += a[e] * y[edges[e]];
    }
    out.rhs = rhs;
    out.violation = lhs - rhs;
    return out.violation > tol;
}

void LocalCutSeparator::induced_edges(const std::vector<int>& nodes, std::vector<int>& edges, std::vector<int>& la,
                                      std::vector<int>& lb) const {
    edges.clear();
    la.clear();
    lb.clear();
    const int k = static_cast<int>(nodes.size());
    for (int i = 0; i < k; ++i) {
        const int u = nodes[i];
        for (int a = adj_off_[u]; a < adj_off_[u + 1]; ++a) {
            const int w = adj_node_[a];
            if (w <= u) continue;
            const auto it = std::find(nodes.begin(), nodes.end(), w);
            if (it == nodes.end()) continue;
            edges.push_back(adj_edge_[a]);
            la.push_back(i);
            lb.push_back(static_cast<int>(it - nodes.begin()));
        }
    }
}

bool LocalCutSeparator::grow(int e, int size, const std::vector<double>& frac, bool dense, std::vector<int>& nodes) {
    if (in_set_.size() != static_cast<size_t>(n_)) {
        in_set_.assign(static_cast<size_t>(n_), 0);
        cand_stamp_.assign(static_cast<size_t>(n_), 0);
        cand_count_.assign(static_cast<size_t>(n_), 0);
        cand_score_.assign(static_cast<size_t>(n_), 0.0);
    }
    ++stamp_;
    nodes.clear();
    cand_list_.clear();
    const auto add = [&](int x) {
        nodes.push_back(x);
        in_set_[x] = stamp_;
        for (int a = adj_off_[x]; a < adj_off_[x + 1]; ++a) {
            const int w = adj_node_[a];
            if (in_set_[w] == stamp_) continue;
            if (cand_stamp_[w] != stamp_) {
                cand_stamp_[w] = stamp_;
                cand_count_[w] = 0;
                cand_score_[w] = 0.0;
                cand_list_.push_back(w);
            }
            ++cand_count_[w];
            cand_score_[w] += frac[adj_edge_[a]];
        }
    };
    add(eu_[e]);
    add(ev_[e]);
    while (static_cast<int>(nodes.size()) < size) {
        int best = -1;
        for (const int w : cand_list_) {
            if (in_set_[w] == stamp_) continue;
            if (best < 0) {
                best = w;
                continue;
            }
            const bool better =
                dense ? cand_count_[w] > cand_count_[best] ||
                            (cand_count_[w] == cand_count_[best] && cand_score_[w] > cand_score_[best])
                      : cand_score_[w] > cand_score_[best] ||
                            (cand_score_[w] == cand_score_[best] && cand_count_[w] > cand_count_[best]);
            if (better) best = w;
        }
        if (best < 0) return false;
        add(best);
    }
    return true;
}

std::vector<LocalCut> LocalCutSeparator::separate(const std::vector<double>& y, double tol,
                                                  const LocalCutOptions& options, Control& control) {
    const int lo = std::max(3, options.min_size), hi = std::min(10, options.max_size);
    std::vector<LocalCut> cuts;
    if (lo > hi) return cuts;
    const int m = static_cast<int>(y.size());
    std::vector<double> frac(static_cast<size_t>(m));
    std::vector<int> seeds;
    for (int e = 0; e < m; ++e) {
        frac[e] = std::min(y[e], 1.0 - y[e]);
        if (frac[e] > kFractional) seeds.push_back(e);
    }
    std::stable_sort(seeds.begin(), seeds.end(), [&](int a, int b) { return frac[a] > frac[b]; });
    // Node sets already met this call, by size (sorted node lists), and LPs solved per size.
    std::vector<std::set<std::vector<int>>> tried(static_cast<size_t>(hi) + 1);
    std::vector<int> solved(static_cast<size_t>(hi) + 1, 0);
    std::vector<int> order, set_nodes, edges, la, lb;
    LocalCut cut;
    for (const int e : seeds) {
        if (control.stop()) break;
        bool room = false;
        for (int k = lo; k <= hi; ++k) room = room || solved[k] < options.max_sets;
        if (!room) break;
        for (int g = 0; g < 2; ++g) {
            const bool dense = g == 1;
            if ((dense && options.growth == 0) || (!dense && options.growth == 1)) continue;
            grow(e, hi, frac, dense, order);  // the first k nodes of the growth are the set of size k
            for (int k = lo; k <= hi && k <= static_cast<int>(order.size()); ++k) {
                if (solved[k] >= options.max_sets) continue;
                set_nodes.assign(order.begin(), order.begin() + k);
                std::sort(set_nodes.begin(), set_nodes.end());
                if (!tried[k].insert(set_nodes).second) continue;
                // A set whose point has not changed since its LP found nothing is skipped without
                // counting against the budget: the seeds are ordered by fractionality, and without this
                // every round re-solved the same sets around the 1/2 edges (3000-node graph: 1200 sets
                // per round, the root stalled with 4 of the 26.6 gap closed; docs/exact.md).
                induced_edges(set_nodes, edges, la, lb);
                std::uint64_t set_key = 1469598103934665603ull, point_key = set_key;
                for (const int x : set_nodes) set_key = (set_key ^ static_cast<std::uint64_t>(x)) * 1099511628211ull;
                for (const int f : edges)
                    point_key = (point_key ^ static_cast<std::uint64_t>(std::llround(y[f] * 1e7))) * 1099511628211ull;
                const auto known = clean_.find(set_key);
                if (known != clean_.end() && known->second == point_key) continue;
                ++solved[k];
                if (separate_set(set_nodes, y, tol, cut, control.remaining(), options.row_generation)) cuts.push_back(cut);
                else clean_[set_key] = point_key;
            }
        }
    }
    std::stable_sort(cuts.begin(), cuts.end(),
                     [](const LocalCut& a, const LocalCut& b) { return a.violation > b.violation; });
    return cuts;
}

}  // namespace corrclust
