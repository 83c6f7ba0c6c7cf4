#include "corrclust/problem.hpp"

#include "corrclust/control.hpp"

#include <algorithm>
#include <numeric>
#include <unordered_map>

namespace corrclust {
namespace {

// The edge list of g (edge_u, edge_v, edge_cost) from m edges read through `end(k, 0)` /
// `end(k, 1)`: unique (u < v) pairs sorted by (u, v), parallel edges summed in input order. Edges
// already given as strictly increasing (u < v) pairs (what read_instance, Problem.from_edges, the
// anytime contraction and most files produce) are taken as they are after one check; otherwise
// they are sorted in O(n + m) (below). Returns false when the control said stop (g is unusable).
template <class End>
bool canonical(Index n, End end, const double* cost, Index m, Control* control, SparseGraph& g) {
    // true every 2^16 steps once the control says stop (never without a control)
    auto give_up = [control](size_t step) { return control && (step & 0xFFFF) == 0 && control->stop(); };
    g.n = n;
    const size_t M = static_cast<size_t>(m), N = static_cast<size_t>(n);
    // one pass copies the edges while checking their order; the first out-of-order edge sends the
    // whole input to the sorting path
    g.edge_u.resize(M);
    g.edge_v.resize(M);
    bool sorted = true;
    Index pa = -1, pb = -1;
    for (Index k = 0; k < m; ++k) {
        if (give_up(static_cast<size_t>(k))) return false;
        const Index a = end(k, 0), b = end(k, 1);
        if (!(a < b && (pa < a || (pa == a && pb < b)))) {
            sorted = false;
            break;
        }
        g.edge_u[static_cast<size_t>(k)] = pa = a;
        g.edge_v[static_cast<size_t>(k)] = pb = b;
    }
    if (sorted) {
        g.edge_cost.assign(cost, cost + m);
    } else {
        g.edge_u.clear();
        g.edge_v.clear();
        // One stable counting sort by the lower endpoint into (higher endpoint, input index)
        // records, then a stable sort of each bucket by the higher endpoint (insertion sort for
        // the usual few entries): one scattered pass over the input. Problem.from_edges on a
        // shuffled 2 M-edge grid: 0.34 s CPU with numpy.unique before, 0.19 s with this.
        struct Rec {
            Index hi, k;
        };
        std::vector<Index> start(N + 1, 0);
        for (Index k = 0; k < m; ++k) {
            if (give_up(static_cast<size_t>(k))) return false;
            ++start[static_cast<size_t>(std::min(end(k, 0), end(k, 1))) + 1];
        }
        std::partial_sum(start.begin(), start.end(), start.begin());
        std::vector<Rec> rec(M);
        {
            std::vector<Index> fill(start.begin(), start.end() - 1);
            for (Index k = 0; k < m; ++k) {
                if (give_up(static_cast<size_t>(k))) return false;
                const Index a = end(k, 0), b = end(k, 1);
                rec[static_cast<size_t>(fill[static_cast<size_t>(std::min(a, b))]++)] = Rec{std::max(a, b), k};
            }
        }
        g.edge_u.reserve(M);
        g.edge_v.reserve(M);
        g.edge_cost.reserve(M);
        for (size_t a = 0; a < N; ++a) {
            if (give_up(a)) return false;
            Rec* first = rec.data() + start[a];
            Rec* last = rec.data() + start[a + 1];
            if (last - first > 32) {
                std::stable_sort(first, last, [](const Rec& x, const Rec& y) { return x.hi < y.hi; });
            } else {
                for (Rec* p = first + 1; p < last; ++p)
                    for (Rec* q = p; q > first && q[-1].hi > q->hi; --q) std::swap(q[-1], *q);
            }
            const size_t before = g.edge_u.size();
            for (Rec* p = first; p < last; ++p) {
                if (g.edge_u.size() > before && g.edge_v.back() == p->hi) {
                    g.edge_cost.back() += cost[p->k];
                } else {
                    g.edge_u.push_back(static_cast<Index>(a));
                    g.edge_v.push_back(p->hi);
                    g.edge_cost.push_back(cost[p->k]);
                }
            }
        }
    }
    return true;
}

template <class End>
SparseGraph build(Index n, End end, const double* cost, Index m, Control* control) {
    auto give_up = [control](size_t step) { return control && (step & 0xFFFF) == 0 && control->stop(); };
    SparseGraph g;
    const size_t N = static_cast<size_t>(n);
    if (!canonical(n, end, cost, m, control, g)) return g;
    // CSR; each node's neighbours come out in increasing order (first those below it, then those
    // above it, both in edge order).
    const size_t E = g.edge_u.size();
    g.adj_offset.assign(N + 1, 0);
    for (size_t e = 0; e < E; ++e) {
        if (give_up(e)) return g;
        ++g.adj_offset[static_cast<size_t>(g.edge_u[e]) + 1];
        ++g.adj_offset[static_cast<size_t>(g.edge_v[e]) + 1];
    }
    std::partial_sum(g.adj_offset.begin(), g.adj_offset.end(), g.adj_offset.begin());
    g.adj_node.resize(2 * E);
    g.adj_edge.resize(2 * E);
    std::vector<Index> fill(g.adj_offset.begin(), g.adj_offset.end() - 1);
    for (size_t e = 0; e < E; ++e) {
        if (give_up(e)) return g;
        const Index a = g.edge_u[e], b = g.edge_v[e];
        Index& fa = fill[static_cast<size_t>(a)];
        g.adj_node[static_cast<size_t>(fa)] = b;
        g.adj_edge[static_cast<size_t>(fa++)] = static_cast<Index>(e);
        Index& fb = fill[static_cast<size_t>(b)];
        g.adj_node[static_cast<size_t>(fb)] = a;
        g.adj_edge[static_cast<size_t>(fb++)] = static_cast<Index>(e);
    }
    return g;
}

}  // namespace

SparseGraph SparseGraph::from_edges(Index n, const Index* u, const Index* v, const double* cost, Index m) {
    return build(n, [u, v](Index k, int side) { return side == 0 ? u[k] : v[k]; }, cost, m, nullptr);
}

SparseGraph SparseGraph::from_edge_pairs(Index n, const Index* uv, const double* cost, Index m,
                                         Control* control) {
    return build(n, [uv](Index k, int side) { return uv[2 * k + side]; }, cost, m, control);
}

SparseGraph SparseGraph::canonical_edge_pairs(Index n, const Index* uv, const double* cost, Index m) {
    SparseGraph g;
    canonical(n, [uv](Index k, int side) { return uv[2 * k + side]; }, cost, m, nullptr, g);
    return g;
}

double objective(const DenseView& p, const Labels& labels) {
    double total = 0.0;
    for (Index i = 0; i < p.n; ++i) {
        const double* row = p.data + i * p.n;
        for (Index j = i + 1; j < p.n; ++j)
            if (labels[i] != labels[j]) total += row[j];
    }
    return total;
}

double objective(const SparseGraph& g, const Labels& labels) {
    double total = 0.0;
    for (Index e = 0; e < g.num_edges(); ++e)
        if (labels[g.edge_u[e]] != labels[g.edge_v[e]]) total += g.edge_cost[e];
    return total;
}

Index normalize_labels(Labels& labels) {
    std::unordered_map<Index, Index> map;
    map.reserve(labels.size() * 2);
    for (auto& l : labels) {
        auto it = map.find(l);
        if (it == map.end()) it = map.emplace(l, static_cast<Index>(map.size())).first;
        l = it->second;
    }
    return static_cast<Index>(map.size());
}

}  // namespace corrclust
