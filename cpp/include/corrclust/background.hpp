// Correlation clustering of a sparse graph with a uniform background cost (src/gaec_background.cpp,
// src/background_moves.cpp).
//
// The model: the explicit edges of `g` keep their costs, and every other pair of nodes costs
// `background` (b <= 0, repulsive). The objective is, as everywhere in corrclust, the sum of the
// costs of the cut pairs:
//     sum of the cut edges' costs + b * (cut pairs - cut edges),
// where the cut pairs are counted from the cluster sizes, so nothing of size n^2 is built. It is
// the objective of the complete graph whose missing pairs are filled with b; the kNN path of
// cluster_embeddings uses it to give the pairs outside its graph their mean repulsion.
//
// Joining clusters A and B changes the objective by -(W_AB + b (|A||B| - m_AB)), with W_AB the
// summed cost and m_AB the number of the edges between them. With b <= 0 only clusters that share
// an edge can gain, so both algorithms only look at the edges (and the cluster sizes).
#pragma once

#include "corrclust/control.hpp"
#include "corrclust/problem.hpp"

namespace corrclust {

struct HeuristicStats;

// The objective above for any labelling (labels any integers, one per node).
double background_objective(const SparseGraph& g, double background, const Labels& labels);

// GAEC under the background model: contracts the pair of clusters with the largest join gain while
// it is >= 0. Ties go to the pair of smallest (lower, higher) cluster id, a cluster keeping the
// smaller id of its two parts, exactly as the dense GAEC does on the filled complete graph (with
// b < 0 both give the same partition). `start`: its clusters are contracted first. Returns labels
// numbered 0..k-1 in order of first appearance; stops early (with the clusters so far) on `control`.
Labels gaec_background(const SparseGraph& g, double background, Control& control, const Labels* start = nullptr,
                       HeuristicStats* stats = nullptr);

// Local search under the same model: sweeps of single-node moves (each node to the neighbouring
// cluster, or a new singleton, that lowers the objective most) alternating with GAEC joins from the
// current clusters, until a round gains nothing. Improves `labels` in place (never worse than its
// start) and returns its exact objective; `stats` gets the rounds.
double background_moves(const SparseGraph& g, double background, Labels& labels, Control& control,
                        HeuristicStats* stats = nullptr);

}  // namespace corrclust
