// Internals shared by the heuristics (gaec.cpp, kernighan_lin.cpp, anytime.cpp) and their
// bindings: run statistics, a throttled progress reporter and a small portable RNG. The public
// entry points are declared in heuristics.hpp; the `*_ex` variants here additionally fill a
// `HeuristicStats` so the bindings can return an iteration count.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "corrclust/control.hpp"
#include "corrclust/heuristics.hpp"
#include "corrclust/problem.hpp"

namespace corrclust {

struct HeuristicStats {
    std::int64_t iterations = 0;  // GAEC: contractions; KL: outer passes; anytime: rounds
    // Exact objective of the returned labelling when the solver computed it anyway (KL, anytime);
    // NaN otherwise. Saves the caller an O(n^2) pass on dense problems.
    double objective = std::numeric_limits<double>::quiet_NaN();
};

// threads: the dense GAEC's team size (0: as many as the hardware has, at most 2); the labels do not
// depend on it.
Labels gaec_ex(const DenseView& problem, Control& control, const Labels* start, HeuristicStats* stats,
               int threads = 0);
Labels gaec_ex(const SparseGraph& problem, Control& control, const Labels* start, HeuristicStats* stats);
double kernighan_lin_ex(const DenseView& problem, Labels& labels, Control& control, HeuristicStats* stats,
                        const KlOptions& options = {});
double kernighan_lin_ex(const SparseGraph& problem, Labels& labels, Control& control, HeuristicStats* stats,
                        const KlOptions& options = {});
Labels anytime_ex(const DenseView& problem, Control& control, std::uint64_t seed, const Labels* start,
                  HeuristicStats* stats, const AnytimeOptions& settings = AnytimeOptions());
Labels anytime_ex(const SparseGraph& problem, Control& control, std::uint64_t seed, const Labels* start,
                  HeuristicStats* stats, const AnytimeOptions& settings = AnytimeOptions());

namespace detail {

// Calls control.report() at most every `interval_s` seconds.
class ProgressThrottle {
public:
    ProgressThrottle(Control& control, const char* phase, double interval_s = 0.2)
        : control_(control), phase_(phase), interval_s_(interval_s), last_(control.elapsed()) {}
    bool active() const { return control_.has_progress(); }
    void maybe(double objective, std::int64_t done, std::int64_t total = -1) {
        if (!control_.has_progress()) return;
        const double t = control_.elapsed();
        if (t - last_ < interval_s_) return;
        last_ = t;
        now(objective, done, total);
    }
    void now(double objective, std::int64_t done, std::int64_t total = -1) {
        if (!control_.has_progress()) return;
        Progress p;
        p.phase = phase_;
        p.objective = objective;
        p.done = done;
        p.total = total;
        control_.report(p);
    }

private:
    Control& control_;
    std::string phase_;
    double interval_s_;
    double last_;
};

// normalize_labels (0..k-1 by first appearance; returns k) with a table instead of a hash map when
// every label lies in [0, n), the usual case inside the solvers.
inline Index relabel(Labels& labels) {
    const Index n = static_cast<Index>(labels.size());
    for (const Index l : labels)
        if (l < 0 || l >= n) return normalize_labels(labels);
    std::vector<Index> map(static_cast<size_t>(n), -1);
    Index k = 0;
    for (Index& l : labels) {
        Index& m = map[static_cast<size_t>(l)];
        if (m < 0) m = k++;
        l = m;
    }
    return k;
}

// Window search (window_search.cpp): re-solves the nodes of `region` (distinct; any shape), with the
// clusters of `labels` next to it, by anytime_ex(sub_options) warm-started from `labels`; the rest keeps
// its labels. Applies the result to `labels` when strictly better and returns the decrease of the
// objective (0 when nothing changed). The nested run gets at most `budget` seconds.
double improve_region(const SparseGraph& g, Labels& labels, const std::vector<Index>& region, Control& control,
                      std::uint64_t seed, const AnytimeOptions& sub_options,
                      double budget = std::numeric_limits<double>::infinity());

// SplitMix64: tiny, fast, and identical on every platform (unlike std:: distributions).
class Rng {
public:
    explicit Rng(std::uint64_t seed) : state_(seed ^ 0x9E3779B97F4A7C15ULL) {}
    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }  // [0, 1)
    std::uint64_t below(std::uint64_t k) { return k == 0 ? 0 : next() % k; }
    // Uniform on [-sqrt(3), sqrt(3)): zero mean, unit variance, much cheaper than normal().
    double symmetric() { return 1.7320508075688772 * (2.0 * uniform() - 1.0); }
    double normal() {  // Box-Muller, one value per call
        double u1 = uniform();
        if (u1 < 1e-300) u1 = 1e-300;
        const double u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }

private:
    std::uint64_t state_;
};

}  // namespace detail
}  // namespace corrclust
