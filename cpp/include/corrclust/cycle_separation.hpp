// Separation of cycle inequalities y_e <= sum_{f in P} y_f on a sparse graph, at an LP point y,
// with the zero-length regions of y contracted first (see cycle_separation.cpp for why).
#pragma once

#include <cstddef>
#include <vector>

namespace corrclust {

struct ViolatedCycle {
    double violation;       // y_edge - sum of y over path (> the tolerance)
    int edge;               // the edge e of the inequality
    std::vector<int> path;  // the edges of a path joining the ends of e (e not among them)
};

class CycleSeparator {
public:
    // The graph: m edges (eu[k], ev[k]) on n nodes, and its adjacency in CSR form (adj_off of
    // size n + 1; adj_node / adj_edge the neighbour and the edge of each slot). Kept by reference.
    CycleSeparator(int n, const std::vector<int>& eu, const std::vector<int>& ev, const std::vector<int>& adj_off,
                   const std::vector<int>& adj_node, const std::vector<int>& adj_edge);

    // Violated cycle inequalities, most violated first, at most `max_cuts` of them: for every
    // edge e with y_e > tol whose ends a shortest path (lengths y, ties by fewest edges) joins
    // with length < y_e - tol.
    std::vector<ViolatedCycle> separate(const std::vector<double>& y, double tol, std::size_t max_cuts);

private:
    int find(int x);
    // Appends to `out` a path of zero-length edges from s to t (same region), fewest edges first.
    void zero_path(int s, int t, const std::vector<double>& y, std::vector<int>& out);

    int n_;
    const std::vector<int>& eu_;
    const std::vector<int>& ev_;
    const std::vector<int>& adj_off_;
    const std::vector<int>& adj_node_;
    const std::vector<int>& adj_edge_;
    // scratch, reused between calls
    std::vector<int> parent_, comp_, c_off_, c_node_, c_edge_, stamp_, pred_, hops_, target_, queue_, bfs_pred_,
        bfs_stamp_;
    std::vector<double> dist_;
    int cur_ = 0, bfs_cur_ = 0;
};

}  // namespace corrclust
