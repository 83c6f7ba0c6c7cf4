// Primal heuristics for correlation clustering (minimum-cost multicut): GAEC, Kernighan-Lin with
// joins, and an anytime solver built on both. Implemented in src/gaec.cpp, src/kernighan_lin.cpp
// and src/anytime.cpp. Convention as in problem.hpp: minimise the cost of the cut edges.
//
// Every function polls `control.stop()` and returns its best labelling so far when it is told to
// stop; the caller reads `control.reason()` to learn why.
#pragma once

#include <cstdint>
#include <stdexcept>

#include "corrclust/control.hpp"
#include "corrclust/problem.hpp"

namespace corrclust {

// Settings of Kernighan-Lin (the defaults are the values every measurement in docs/solvers.md used).
struct KlOptions {
    // a move sequence stops after this many steps without a new best prefix (complete graphs; sparse
    // graphs use revisit_patience in their second phase and follow border-only sequences to their
    // end in the first)
    Index patience = 48;
    // A sequence, join or pass must gain more than min_improvement * max(1, largest |cost|) to count:
    // relative to the costs, because the rounding noise of a gain grows with them (with an absolute
    // 1e-9, costs of 1e15 and above made noise look like gains and KL cycled until the time limit).
    double min_improvement = 1e-9;
    // Sparse graphs: after the border-only phase, revisit every pair with `patience` sequences
    // (0.002-0.06 % better on 10 of 22 sparse instances, equal on the rest, at 1.0-1.8x the CPU
    // time, median 1.1x: docs/solvers.md). False: stop after the first phase. Complete graphs
    // ignore it.
    bool revisit = true;
    // Complete graphs: threads of GAEC inside "kl" (0: as many as the hardware has, at most 2).
    // The labels are the same for every value (docs/solvers.md); sparse graphs ignore it.
    int threads = 0;
    // Sparse graphs, second phase: a sequence stops after this many steps without a new best prefix.
    // 4 instead of the 48 of `patience`: the phase then costs about a third of what it did, and
    // GAEC + KL stays <= bioimage-cpp's on all 10 held-out generated instances (3 failed at 2) and
    // on the 22 of 23 bench_cc sparse instances where 48 was (docs/solvers.md).
    Index revisit_patience = 4;
    // Sparse graphs: threads that evaluate the pairs of a pass ahead of it (0: up to 4, as many as
    // the machine has). The labels do not depend on it. Default 1: on the shared 2-core machine at
    // load 14 a second thread made GAEC + KL 1.1-1.75x slower in wall time (it waits for a core),
    // while the main thread's CPU time fell 1.1-1.6x; whether it pays on a quiet machine is for
    // `benchmarks/bench_cc.py --sparse-only --sparse-threads 2` to show (docs/solvers.md).
    int sparse_threads = 1;
    // Sparse graphs, after the second phase: offer every cluster of 4-256 nodes with a negative edge
    // inside one split in which all of its nodes stay candidates (kernighan_lin.cpp, `run`); never
    // worse than without. On by default since session 11: on the development seeds of
    // benchmarks/bench_kl_quality.py it leaves 1 of 720 generated sparse graphs above
    // bioimage-cpp's GAEC + KL instead of 10, and with the sequence's keys in the padded candidate
    // lists and clusters without a negative edge skipped it costs about 2-5 % more thread CPU per
    // call (median about 3.5 %; the first version, off by default, the same on supervoxel graphs
    // and up to twice that on grids) (docs/solvers.md).
    bool final_split = true;
    // Sparse graphs, opt-in (0, the default: off): after the final split pass, the second phase's
    // passes once more over pairs of neighbouring clusters with at most this many nodes together,
    // with `patience` instead of revisit_patience (kernighan_lin.cpp, `polish`). Never worse than
    // without. On the development seeds of benchmarks/bench_kl_quality.py a cap of 200 removed every
    // loss against bioimage-cpp's GAEC + KL (5 -> 0; on the count seeds 3 -> 3, 137 of 324 lower), at
    // 1.15-1.58x the thread CPU of GAEC + KL (docs/solvers.md).
    Index polish_max_nodes = 0;
};

// Settings of the anytime solver (defaults are what `anytime` uses).
// Without a time limit the solver stops by the two round counts (deterministic for a seed); with a
// time limit and `until_time_limit` it runs until the limit, and `max_rounds_without_improvement`
// stalled rounds switch on exact fusion instead of stopping it (anytime.cpp).
struct AnytimeOptions {
    int max_rounds_without_improvement = 12;  // no time limit: stop after this many rounds without a better solution
    int max_rounds = 10000;                   // no time limit: stop after this many rounds in all
    bool until_time_limit = true;             // with a time limit, run until it (false: the counts stop it too)
    bool exact_fusion = true;                 // with a time limit: fuse by the exact solver once stalled
    double exact_fusion_share = 0.25;         // ... each exact fusion gets at most this share of the time left
    // Window rounds (cpp/src/window_search.cpp): on sparse graphs of more than 2 x this many nodes every
    // round re-solves one region of about this many nodes (regions that tile the graph, grown by
    // breadth-first search from random seeds; and the clusters next to it) by a
    // nested anytime run, the rest held fixed. -1 (default): automatic, windows of kAutoWindowNodes on
    // sparse graphs of at least kAutoWindowGraph nodes under a time limit; 0: global rounds only.
    Index window_nodes = -1;
    // ... with a time limit, each window's nested run gets this many seconds (or what is left)
    double window_seconds = 1.0;
    static constexpr Index kAutoWindowNodes = 10000;
    static constexpr Index kAutoWindowGraph = 200000;
    // The Kernighan-Lin runs inside. They keep revisit_patience 48, with which the anytime solver was
    // measured (docs/solvers.md): the "kl" method's 4 trades a little quality for speed in one run,
    // and with it a 5 s anytime run missed the proven optimum of a 400-node supervoxel graph at load
    // 13-14 in 2 of 4 runs (tests/test_anytime.py; it always reached it before).
    KlOptions kl = [] {
        KlOptions k;
        k.revisit_patience = 48;
        return k;
    }();
};

// Throw std::invalid_argument naming the first setting out of range.
void validate(const KlOptions& options);
void validate(const AnytimeOptions& options);

// Greedy additive edge contraction: repeatedly contracts the edge of largest current cost while
// that cost is >= 0 (parallel edges merge by adding costs). If `start` is given, its clusters are
// contracted first and GAEC continues from them. Returns labels numbered 0..k-1.
Labels gaec(const DenseView& problem, Control& control, const Labels* start = nullptr);
Labels gaec(const SparseGraph& problem, Control& control, const Labels* start = nullptr);

// Kernighan-Lin with joins: improves `labels` in place (moves of node sequences between pairs of
// clusters, to new clusters, and joins of clusters) and never returns a worse labelling than its
// start. Returns the objective of the final labelling.
double kernighan_lin(const DenseView& problem, Labels& labels, Control& control, const KlOptions& options = {});
double kernighan_lin(const SparseGraph& problem, Labels& labels, Control& control, const KlOptions& options = {});

// GAEC then Kernighan-Lin (or Kernighan-Lin alone from `start` when given): the "kl" method and the
// exact solver's cheap first incumbent. Returns labels numbered 0..k-1; `stats` (optional) gets the
// KL passes and the exact objective of the result.
struct HeuristicStats;
Labels gaec_kl(const DenseView& problem, Control& control, const Labels* start = nullptr,
               const KlOptions& options = {}, HeuristicStats* stats = nullptr);
Labels gaec_kl(const SparseGraph& problem, Control& control, const Labels* start = nullptr,
               const KlOptions& options = {}, HeuristicStats* stats = nullptr);

// Anytime solver: stronger than GAEC + KL (multiple starts, perturbation, fusion of solutions),
// deterministic for a seed. Runs until the time limit of `control` or until its own convergence
// criterion; starts from `start` when given. Returns the best labelling found.
Labels anytime(const DenseView& problem, Control& control, std::uint64_t seed, const Labels* start = nullptr);
Labels anytime(const SparseGraph& problem, Control& control, std::uint64_t seed, const Labels* start = nullptr);

}  // namespace corrclust
