// Primal heuristics for correlation clustering (minimum-cost multicut): GAEC, Kernighan-Lin with
// joins, and an anytime solver built on both. Implemented in src/gaec.cpp, src/kernighan_lin.cpp
// and src/anytime.cpp. Convention as in problem.hpp: minimise the cost of the cut edges.
//
// Every function polls `control.stop()` and returns its best labelling so far when it is told to
// stop; the caller reads `control.reason()` to learn why.
#pragma once

#include <cstdint>

#include "corrclust/control.hpp"
#include "corrclust/problem.hpp"

namespace corrclust {

// Greedy additive edge contraction: repeatedly contracts the edge of largest current cost while
// that cost is >= 0 (parallel edges merge by adding costs). If `start` is given, its clusters are
// contracted first and GAEC continues from them. Returns labels numbered 0..k-1.
Labels gaec(const DenseView& problem, Control& control, const Labels* start = nullptr);
Labels gaec(const SparseGraph& problem, Control& control, const Labels* start = nullptr);

// Kernighan-Lin with joins: improves `labels` in place (moves of node sequences between pairs of
// clusters, to new clusters, and joins of clusters) and never returns a worse labelling than its
// start. Returns the objective of the final labelling.
double kernighan_lin(const DenseView& problem, Labels& labels, Control& control);
double kernighan_lin(const SparseGraph& problem, Labels& labels, Control& control);

// Anytime solver: stronger than GAEC + KL (multiple starts, perturbation, fusion of solutions),
// deterministic for a seed. Runs until the time limit of `control` or until its own convergence
// criterion; starts from `start` when given. Returns the best labelling found.
Labels anytime(const DenseView& problem, Control& control, std::uint64_t seed, const Labels* start = nullptr);
Labels anytime(const SparseGraph& problem, Control& control, std::uint64_t seed, const Labels* start = nullptr);

}  // namespace corrclust
