// Local cuts for the multicut polytope of a sparse graph (Applegate, Bixby, Chvatal, Cook's local
// cuts for the TSP, on node sets instead of shrunk tours): for a small node set S, the LP point
// restricted to the edges of the induced subgraph G[S] is separated from the convex hull of the
// multicuts of G[S] by an LP over the partitions of S. An inequality valid for every multicut of
// G[S] is valid for every multicut of G, since a multicut of G restricts to one of G[S].
#pragma once

#include <cstdint>
#include <limits>
#include <unordered_map>
#include <vector>

#include "corrclust/control.hpp"

namespace corrclust {

struct LocalCut {
    double violation;         // sum val * y - rhs at the point separated (> the tolerance)
    std::vector<int> idx;     // edges of G[S] with a nonzero coefficient
    std::vector<double> val;  // their coefficients, in [-1, 1]
    double rhs;               // max over all partitions of S of sum val * (edge cut ? 1 : 0)
};

struct LocalCutOptions {
    int min_size = 7;    // node sets of min_size .. max_size nodes
    int max_size = 9;    // at most 10 (Bell(10) = 115,975 partitions)
    int max_sets = 400;  // LPs per size and call, on sets grown from the most fractional edges first
    int growth = 0;              // sets per seed edge: 0 fractional growth, 1 dense growth, 2 both
    bool row_generation = true;  // the partition LP by row generation (false: all partitions at once)
};

class LocalCutSeparator {
public:
    // The graph: m edges (eu[k], ev[k]) on n nodes with its adjacency in CSR form, as in
    // CycleSeparator; kept by reference.
    LocalCutSeparator(int n, const std::vector<int>& eu, const std::vector<int>& ev, const std::vector<int>& adj_off,
                      const std::vector<int>& adj_node, const std::vector<int>& adj_edge);

    // Violated local cuts at the point y (violation > tol), most violated first, at most one per node
    // set. Stops early (returning what it has) once `control` says stop.
    std::vector<LocalCut> separate(const std::vector<double>& y, double tol, const LocalCutOptions& options,
                                   Control& control);

    // The most violated inequality a^T y_S <= b valid for the multicuts of G[S] (|a| <= 1), for the
    // node set `nodes` (3 .. 10 distinct nodes): false when y_S is in their convex hull (up to tol),
    // or when its LP did not finish within min(time_limit_s, 1) seconds.
    bool separate_set(const std::vector<int>& nodes, const std::vector<double>& y, double tol, LocalCut& out,
                      double time_limit_s = std::numeric_limits<double>::infinity(), bool row_generation = true);

    std::int64_t sets_tried() const { return sets_tried_; }

private:
    // The distinct incidence vectors (bit e: edge (la[e], lb[e]) cut) of the partitions of k nodes.
    // A depth-first search over restricted growth strings with a hash set: the enumeration of all
    // Bell(k) label rows and a sort took 11 of the 13.5 ms of a 10-node set.
    void multicut_masks(int k, const std::vector<int>& la, const std::vector<int>& lb,
                        std::vector<std::uint64_t>& masks);
    // Grows a node set from the edge e, adding each time the neighbour whose edges into the set are
    // the most fractional in total (ties: more edges), or with `dense` the one with the most edges
    // into the set (ties: more fractional), up to `size` nodes; false if it stops short.
    bool grow(int e, int size, const std::vector<double>& frac, bool dense, std::vector<int>& nodes);
    // The edges of G[nodes] and their ends as positions in `nodes`.
    void induced_edges(const std::vector<int>& nodes, std::vector<int>& edges, std::vector<int>& la,
                       std::vector<int>& lb) const;

    int n_;
    const std::vector<int>& eu_;
    const std::vector<int>& ev_;
    const std::vector<int>& adj_off_;
    const std::vector<int>& adj_node_;
    const std::vector<int>& adj_edge_;
    std::vector<std::uint64_t> table_;  // hash set of multicut_masks
    std::vector<int> in_set_, cand_stamp_, cand_count_, cand_list_;
    std::vector<double> cand_score_;
    std::unordered_map<std::uint64_t, std::uint64_t> clean_;  // node set -> its point when no cut was found
    int stamp_ = 0;
    std::int64_t sets_tried_ = 0;
};

}  // namespace corrclust
