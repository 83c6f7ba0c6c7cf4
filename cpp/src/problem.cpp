#include "corrclust/problem.hpp"

#include <algorithm>
#include <numeric>
#include <unordered_map>

namespace corrclust {

SparseGraph SparseGraph::from_edges(Index n, const Index* u, const Index* v, const double* cost, Index m) {
    SparseGraph g;
    g.n = n;
    std::vector<Index> order(static_cast<size_t>(m));
    std::iota(order.begin(), order.end(), Index{0});
    auto lo = [&](Index k) { return std::min(u[k], v[k]); };
    auto hi = [&](Index k) { return std::max(u[k], v[k]); };
    std::sort(order.begin(), order.end(), [&](Index a, Index b) {
        return lo(a) != lo(b) ? lo(a) < lo(b) : hi(a) < hi(b);
    });
    for (Index k : order) {
        const Index a = lo(k), b = hi(k);
        if (!g.edge_u.empty() && g.edge_u.back() == a && g.edge_v.back() == b) {
            g.edge_cost.back() += cost[k];
        } else {
            g.edge_u.push_back(a);
            g.edge_v.push_back(b);
            g.edge_cost.push_back(cost[k]);
        }
    }
    std::vector<Index> degree(static_cast<size_t>(n) + 1, 0);
    for (size_t e = 0; e < g.edge_u.size(); ++e) {
        ++degree[static_cast<size_t>(g.edge_u[e]) + 1];
        ++degree[static_cast<size_t>(g.edge_v[e]) + 1];
    }
    g.adj_offset.assign(static_cast<size_t>(n) + 1, 0);
    for (Index i = 0; i < n; ++i) g.adj_offset[i + 1] = g.adj_offset[i] + degree[i + 1];
    g.adj_node.resize(2 * g.edge_u.size());
    g.adj_edge.resize(2 * g.edge_u.size());
    std::vector<Index> fill(g.adj_offset.begin(), g.adj_offset.end() - 1);
    for (size_t e = 0; e < g.edge_u.size(); ++e) {
        const Index a = g.edge_u[e], b = g.edge_v[e];
        g.adj_node[fill[a]] = b;
        g.adj_edge[fill[a]++] = static_cast<Index>(e);
        g.adj_node[fill[b]] = a;
        g.adj_edge[fill[b]++] = static_cast<Index>(e);
    }
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
