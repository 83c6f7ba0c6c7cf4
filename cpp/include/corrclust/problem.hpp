// Correlation-clustering (minimum-cost multicut) problems.
//
// Convention everywhere in corrclust: minimise the sum of the costs of the CUT edges. A positive
// cost is attractive (the edge prefers to be joined), a negative cost repulsive. The all-joined
// partition scores 0; all singletons score the sum of all costs.
//
// Two shapes:
//  * DenseView: a complete graph given as a row-major n x n matrix (symmetric, diagonal ignored),
//    viewed without copying (the numpy buffer is borrowed).
//  * SparseGraph: an undirected graph in CSR form, built from an edge list with parallel edges
//    summed and self-loops rejected upstream.
#pragma once

#include <cstdint>
#include <vector>

namespace corrclust {

class Control;

using Index = std::int64_t;
using Labels = std::vector<Index>;

struct DenseView {
    const double* data = nullptr;  // row-major n x n
    Index n = 0;
    double operator()(Index i, Index j) const { return data[i * n + j]; }
};

struct SparseGraph {
    Index n = 0;
    // Unique undirected edges with u < v, sorted by (u, v); costs summed over parallel input edges.
    std::vector<Index> edge_u, edge_v;
    std::vector<double> edge_cost;
    // CSR adjacency: neighbours of node i are adj_node[adj_offset[i] .. adj_offset[i+1]), with the
    // index of the corresponding edge in adj_edge.
    std::vector<Index> adj_offset, adj_node, adj_edge;

    Index num_edges() const { return static_cast<Index>(edge_u.size()); }

    // Builds the graph from m edges (u[k], v[k], cost[k]); parallel edges (either orientation)
    // are summed in input order. Preconditions (checked at the Python boundary): 0 <= u, v < n,
    // u != v. O(n + m); input already sorted by (u, v) with u < v is only checked, not sorted.
    static SparseGraph from_edges(Index n, const Index* u, const Index* v, const double* cost, Index m);
    // The same from a row-major (m, 2) array of endpoints (a numpy edge array, read in place).
    // With a control, the build reads its clock every 2^16 edges or nodes and gives up once it
    // says stop: the graph returned then is unusable, so callers check control->stopped().
    static SparseGraph from_edge_pairs(Index n, const Index* uv, const double* cost, Index m,
                                       Control* control = nullptr);
    // Only the edge list of from_edge_pairs (edge_u, edge_v, edge_cost; no adjacency): what
    // Problem.from_edges stores. O(n + m) by counting sorts, against O(m log m) for numpy's unique.
    static SparseGraph canonical_edge_pairs(Index n, const Index* uv, const double* cost, Index m);
};

// Objective (sum of costs of cut edges) of a node labelling.
double objective(const DenseView& problem, const Labels& labels);
double objective(const SparseGraph& problem, const Labels& labels);

// Relabels to 0..k-1 in order of first appearance; returns k.
Index normalize_labels(Labels& labels);

}  // namespace corrclust
