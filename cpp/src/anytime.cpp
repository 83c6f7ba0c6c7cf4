// Anytime correlation clustering: multi-start Kernighan-Lin with fusion of solutions.
//
// Starts: the warm start (if any) improved by KL, GAEC + KL, KL from singletons and KL from one
// cluster. Then rounds, alternating two proposal kinds:
//   * GAEC on the costs plus seeded Gaussian noise, followed by KL on the true costs;
//   * a perturbation of the incumbent (a few random nodes moved to random clusters or made
//     singletons, or one cluster split at random), followed by KL.
// Each proposal is fused with the incumbent: the clusters of both are intersected, the contracted
// problem (one node per intersection) is solved by KL warm-started from the incumbent and by
// GAEC + KL, and the better result, mapped back and polished by KL on the full problem, replaces the
// incumbent if it is strictly better. The fused solution is never worse than the incumbent because
// the incumbent is a feasible warm start of the contracted problem.
//
// Two stopping regimes (AnytimeOptions::until_time_limit):
//   * no time limit: stop after `max_rounds_without_improvement` rounds in a row without
//     improvement or `max_rounds` rounds. The rule counts rounds, not seconds, so a seed gives the
//     same labels on every machine (no threads, a portable RNG).
//   * a time limit: use all of it. The stall rule ended 30 s runs on 3,000-5,000-node supervoxel and
//     superpixel graphs after 0.8-20 s (benchmarks/bench_anytime.py, load 15-19). Running on with KL
//     fusion alone reached the optimum on 3 of 8 proven instances (worst gap 0.013 %). So once
//     `max_rounds_without_improvement` rounds in a row gained nothing, each round also runs an
//     exact fusion: the incumbent is intersected with several recent proposals at once (a pool of
//     the last 8), and the contracted problem is solved by the exact solver (reductions +
//     branch-and-cut) within a share of the remaining time, warm-started from the incumbent, so it
//     never loses it. With it, 6 of 8 reached the optimum (worst 0.0011 %), and a noisy 3,000-node
//     supervoxel graph ended at -21785 against -21757 (KL fusion) and -21749 (bioimage-cpp's fusion
//     moves), all at 30 s. Exact fusion from the first round instead was mixed (4000-1 and 5000-1
//     optimal, the noisy graph -21770) and worse on small noisy graphs with a 3 s limit (400 nodes:
//     -2203.3 against -2204.3 for the stall rule without a limit; behind the stall: -2204.8, the
//     optimum): each exact fusion costs many KL rounds there. Until the stall the run is the
//     no-limit run of the same seed. The number of
//     proposals fused at once grows while the exact solver proves its subproblems and shrinks when
//     it runs out of time. Results then depend on the machine's speed.
// The control (time limit, Ctrl-C, progress callback) is polled inside every step.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <type_traits>
#include <unordered_map>
#include <stdexcept>
#include <vector>

#include "corrclust/exact.hpp"
#include "corrclust/heuristics.hpp"
#include "corrclust/heuristics_detail.hpp"

namespace corrclust {
namespace {

constexpr double kImprove = 1e-9;

// --- problem-specific helpers -------------------------------------------------------------------

// Mean absolute cost (scale of the noise).
double cost_scale(const DenseView& p) {
    double s = 0.0;
    for (Index i = 0; i < p.n; ++i)
        for (Index j = i + 1; j < p.n; ++j) s += std::abs(p(i, j));
    const double pairs = 0.5 * static_cast<double>(p.n) * static_cast<double>(p.n - 1);
    return pairs > 0 ? s / pairs : 1.0;
}
double cost_scale(const SparseGraph& g) {
    double s = 0.0;
    for (double c : g.edge_cost) s += std::abs(c);
    return g.num_edges() > 0 ? s / static_cast<double>(g.num_edges()) : 1.0;
}

// Owns the storage of a perturbed copy of the problem.
struct NoisyDense {
    std::vector<double> data;
    DenseView view;
};
void make_noisy(const DenseView& p, double sigma, detail::Rng& rng, NoisyDense& out) {
    out.data.resize(static_cast<size_t>(p.n) * static_cast<size_t>(p.n));
    for (Index i = 0; i < p.n; ++i) {
        out.data[static_cast<size_t>(i * p.n + i)] = 0.0;
        for (Index j = i + 1; j < p.n; ++j) {
            const double x = p(i, j) + sigma * rng.symmetric();
            out.data[static_cast<size_t>(i * p.n + j)] = x;
            out.data[static_cast<size_t>(j * p.n + i)] = x;
        }
    }
    out.view = DenseView{out.data.data(), p.n};
}
struct NoisySparse {
    SparseGraph graph;
};
void make_noisy(const SparseGraph& g, double sigma, detail::Rng& rng, NoisySparse& out) {
    out.graph = g;
    for (double& c : out.graph.edge_cost) c += sigma * rng.symmetric();
}
const DenseView& noisy_view(const NoisyDense& d) { return d.view; }
const SparseGraph& noisy_view(const NoisySparse& s) { return s.graph; }
template <class P> struct NoisyOf;
template <> struct NoisyOf<DenseView> { using type = NoisyDense; };
template <> struct NoisyOf<SparseGraph> { using type = NoisySparse; };

// Contracted problem with one node per cluster of `groups` (labels 0..k-1).
struct ContractedDense {
    std::vector<double> data;
    DenseView view;
};
void contract(const DenseView& p, const Labels& groups, Index k, ContractedDense& out) {
    const size_t K = static_cast<size_t>(k);
    out.data.assign(K * K, 0.0);
    for (Index i = 0; i < p.n; ++i) {
        const double* row = p.data + i * p.n;
        double* crow = out.data.data() + static_cast<size_t>(groups[i]) * K;
        for (Index j = 0; j < p.n; ++j) crow[groups[j]] += row[j];
    }
    for (size_t c = 0; c < K; ++c) out.data[c * K + c] = 0.0;
    out.view = DenseView{out.data.data(), k};
}
struct ContractedSparse {
    SparseGraph graph;
};
void contract(const SparseGraph& g, const Labels& groups, Index k, ContractedSparse& out) {
    std::vector<Index> u, v;
    std::vector<double> c;
    for (Index e = 0; e < g.num_edges(); ++e) {
        const Index a = groups[g.edge_u[e]], b = groups[g.edge_v[e]];
        if (a == b) continue;
        u.push_back(a);
        v.push_back(b);
        c.push_back(g.edge_cost[e]);
    }
    out.graph = SparseGraph::from_edges(k, u.data(), v.data(), c.data(), static_cast<Index>(c.size()));
}
const DenseView& contracted_view(const ContractedDense& d) { return d.view; }
const SparseGraph& contracted_view(const ContractedSparse& s) { return s.graph; }
template <class P> struct ContractedOf;
template <> struct ContractedOf<DenseView> { using type = ContractedDense; };
template <> struct ContractedOf<SparseGraph> { using type = ContractedSparse; };

// --- the solver ---------------------------------------------------------------------------------

template <class Problem>
class Anytime {
    static constexpr bool kSparse = std::is_same<Problem, SparseGraph>::value;

public:
    Anytime(const Problem& p, Control& control, std::uint64_t seed, const AnytimeOptions& settings)
        : p_(p), control_(control), rng_(seed), settings_(settings), progress_(control, "anytime", 0.25) {}

    Labels run(const Labels* start, HeuristicStats* stats) {
        const Index n = p_.n;
        if (n == 0) return {};
        scale_ = cost_scale(p_);
        // Exact fusion solves LPs whose costs are sums of the problem's costs; HiGHS reads |c| >= 1e20
        // as infinite and failed ("the LP solver failed") on costs scaled by 2^100. With the sum of all
        // |costs| below 1e15 no contracted cost comes near that; above it the KL fusion rounds go on alone.
        double pairs = 0.5 * static_cast<double>(n) * static_cast<double>(n - 1);
        if constexpr (kSparse) pairs = static_cast<double>(p_.num_edges());
        lp_safe_ = scale_ * pairs < 1e15;
        const bool timed = settings_.until_time_limit && std::isfinite(control_.time_limit());
        // Window rounds: automatic (window_nodes -1) only on large sparse graphs under a time limit, where
        // a global round costs about 10 CPU s (10^6-node noisy grid from KL, docs/solvers.md: the
        // defaults gave -162,771 at 101 CPU s, global rounds -162,517 at 93; 250,000 nodes at 60 s:
        // -40,065 / -40,091 against -40,051); without a limit the run stays the deterministic global one.
        window_ = settings_.window_nodes;
        if (window_ < 0)
            window_ = (kSparse && timed && n >= AnytimeOptions::kAutoWindowGraph) ? AnytimeOptions::kAutoWindowNodes
                                                                                   : 0;
        const bool windows = kSparse && window_ > 0 && n > 2 * window_;
        // starts
        if (start) offer(kl_from(*start));
        // With window rounds one start is enough: on the 10^6-node noisy grid GAEC + KL and KL from
        // singletons took 25 s (load 5) and neither beat the warm start; the windows do the rest.
        if (!control_.stop() && !(windows && start)) offer(kl_from(gaec_ex(p_, control_, nullptr, nullptr)));
        if (!control_.stop() && !windows) {
            Labels singletons(static_cast<size_t>(n));
            std::iota(singletons.begin(), singletons.end(), Index{0});
            offer(kl_from(singletons));
        }
        // one cluster: a useful start on complete graphs; on sparse graphs it is a poor start and
        // KL from it is slow (every pass pairs one giant cluster with many small ones)
        if (!kSparse && !control_.stop()) offer(kl_from(Labels(static_cast<size_t>(n), 0)));
        std::int64_t& rounds = rounds_;
        int without = 0;
        if (windows) {
            window_rounds(timed);
            return finish(stats);
        }
        while (!control_.stop()) {
            if (!timed && (without >= settings_.max_rounds_without_improvement || rounds >= settings_.max_rounds))
                break;
            ++rounds;
            Candidate proposal = (rounds % 2 == 1) ? noisy_gaec() : perturbed_best();
            if (control_.stop()) {
                offer(Candidate{proposal.labels, proposal.objective});
                break;
            }
            bool improved = offer(fuse(proposal.labels));
            remember(std::move(proposal.labels));
            // Exact fusion only once stalled: until then the run follows the no-limit run of the same seed
            // round for round, so a limit longer than that run never ends worse than it.
            if (timed && settings_.exact_fusion && lp_safe_ && without + 1 >= settings_.max_rounds_without_improvement &&
                !control_.stop()) {
                if (skip_ > 0) --skip_;
                else improved = offer(exact_fuse()) || improved;
            }
            without = improved ? 0 : without + 1;
            progress_.maybe(best_obj_, rounds);
        }
        return finish(stats);
    }

private:
    Labels finish(HeuristicStats* stats) {
        const Index n = p_.n;
        if (best_.empty()) {  // stopped before the first start finished: all singletons
            Labels singletons(static_cast<size_t>(n));
            std::iota(singletons.begin(), singletons.end(), Index{0});
            offer(Candidate{std::move(singletons)});
        }
        if (stats) {
            stats->iterations = rounds_;
            stats->objective = best_obj_;
        }
        progress_.now(best_obj_, rounds_);
        return best_;
    }

    // Window rounds (AnytimeOptions::window_nodes): each round re-solves one region of about
    // `window_` nodes by a nested anytime run, the rest held fixed (window_search.cpp). Each sweep cuts
    // the graph into regions by a breadth-first search from n / window_ random seeds at once (the
    // regions of a sweep do not overlap, and the next sweep's boundaries lie elsewhere) and visits
    // them in turn. Random breadth-first windows from uncovered nodes instead overlapped (118 windows
    // for one cover of the 10^6-node grid): -162,054 at 60 CPU s against -162,392 for the regions, at
    // loads 4-9 (session 12). With a time limit the nested run gets `window_seconds` (or what is
    // left) and uses it (until_time_limit, exact fusion); without one it runs under the stall rule,
    // and the windows stop after max_rounds_without_improvement x (n / window_nodes) windows in a row
    // without improvement, or max_rounds x that.
    void window_rounds(bool timed) {
        if constexpr (kSparse) {
            if (best_.empty()) return;
            const Index n = p_.n;
            AnytimeOptions sub = settings_;
            sub.window_nodes = 0;
            sub.until_time_limit = timed;
            sub.exact_fusion = timed && settings_.exact_fusion;
            const std::int64_t per_cover = std::max<std::int64_t>(1, n / window_);
            const std::int64_t stall = static_cast<std::int64_t>(settings_.max_rounds_without_improvement) * per_cover;
            const std::int64_t cap = static_cast<std::int64_t>(settings_.max_rounds) * per_cover;
            std::int64_t without = 0;
            std::vector<Index> order(static_cast<size_t>(n)), region(static_cast<size_t>(n)), offset, members;
            std::vector<Index> nodes;
            size_t next = 0, regions = 0;
            while (!control_.stop()) {
                if (!timed && (without >= stall || rounds_ >= cap)) break;
                if (next == regions) {  // a new sweep: regions grown from random seeds at once
                    regions = partition(order, region, offset, members);
                    next = 0;
                }
                const size_t r = next++;
                nodes.assign(members.begin() + offset[r], members.begin() + offset[r + 1]);
                ++rounds_;
                Labels labels = best_;
                const double budget = timed ? std::min(settings_.window_seconds, control_.remaining())
                                            : std::numeric_limits<double>::infinity();
                const double gain = detail::improve_region(p_, labels, nodes, control_, rng_.next(), sub, budget);
                // the gain is exact (the subproblem's objective changes as the full one does)
                const bool improved = gain > 0.0 && offer(Candidate{std::move(labels), best_obj_ - gain});
                without = improved ? 0 : without + 1;
                progress_.maybe(best_obj_, rounds_);
            }
        }
    }

    // Cuts the graph into regions: a breadth-first search from ceil(n / window_) random seeds at once
    // (a node joins the region that reaches it first); a node no seed reaches (another component)
    // seeds a region of its own. Returns the number of regions; region r's nodes are
    // members[offset[r] .. offset[r + 1]).
    size_t partition(std::vector<Index>& order, std::vector<Index>& region, std::vector<Index>& offset,
                     std::vector<Index>& members) {
        const Index n = p_.n;
        std::iota(order.begin(), order.end(), Index{0});
        for (Index i = n - 1; i > 0; --i) std::swap(order[i], order[rng_.below(static_cast<std::uint64_t>(i) + 1)]);
        std::fill(region.begin(), region.end(), Index{-1});
        const Index seeds = std::max<Index>(1, (n + window_ - 1) / window_);
        std::vector<Index> queue;
        queue.reserve(static_cast<size_t>(n));
        Index count = 0;
        for (Index i = 0; i < seeds; ++i) {
            region[order[i]] = count++;
            queue.push_back(order[i]);
        }
        size_t head = 0;
        for (Index i = 0;; ) {
            for (; head < queue.size(); ++head) {
                const Index v = queue[head];
                if constexpr (kSparse) {
                    for (Index a = p_.adj_offset[v]; a < p_.adj_offset[v + 1]; ++a) {
                        const Index w = p_.adj_node[a];
                        if (region[w] >= 0) continue;
                        region[w] = region[v];
                        queue.push_back(w);
                    }
                }
            }
            while (i < n && region[order[i]] >= 0) ++i;
            if (i == n) break;
            region[order[i]] = count++;
            queue.push_back(order[i]);
        }
        offset.assign(static_cast<size_t>(count) + 1, 0);
        for (Index v = 0; v < n; ++v) ++offset[static_cast<size_t>(region[v]) + 1];
        for (size_t r = 0; r < static_cast<size_t>(count); ++r) offset[r + 1] += offset[r];
        members.resize(static_cast<size_t>(n));
        std::vector<Index> fill(offset.begin(), offset.end() - 1);
        for (Index v = 0; v < n; ++v) members[static_cast<size_t>(fill[static_cast<size_t>(region[v])]++)] = v;
        return static_cast<size_t>(count);
    }

    struct Candidate {
        Labels labels;
        double objective = std::numeric_limits<double>::quiet_NaN();  // exact, or NaN if unknown
    };

    Candidate kl_from(Labels labels) {
        Candidate c;
        c.objective = kernighan_lin_ex(p_, labels, control_, nullptr, settings_.kl);
        c.labels = std::move(labels);
        return c;
    }

    // Keeps the candidate if strictly better than the incumbent.
    bool offer(Candidate cand) {
        Labels& labels = cand.labels;
        if (labels.size() != static_cast<size_t>(p_.n)) return false;
        const double obj = std::isnan(cand.objective) ? objective(p_, labels) : cand.objective;
        if (best_.empty() || obj < best_obj_ - kImprove * std::max(1.0, std::abs(best_obj_))) {
            detail::relabel(labels);
            best_ = std::move(labels);
            best_obj_ = obj;
            return true;
        }
        return false;
    }

    Candidate noisy_gaec() {
        static const double sigmas[] = {0.25, 0.5, 1.0, 2.0};
        const double sigma = sigmas[rng_.below(4)] * scale_;
        typename NoisyOf<Problem>::type noisy;
        make_noisy(p_, sigma, rng_, noisy);
        Labels labels = gaec_ex(noisy_view(noisy), control_, nullptr, nullptr);
        return kl_from(std::move(labels));
    }

    Candidate perturbed_best() {
        Labels labels = best_;
        const Index n = p_.n;
        Index k = 0;
        for (Index l : labels) k = std::max(k, l + 1);
        if (rng_.below(2) == 0 && k > 0) {
            // split one random cluster at random
            const Index c = static_cast<Index>(rng_.below(static_cast<std::uint64_t>(k)));
            for (Index v = 0; v < n; ++v)
                if (labels[v] == c && rng_.below(2) == 0) labels[v] = k;
        } else {
            // move a few random nodes to random clusters or to new singletons
            const Index moves = std::max<Index>(1, static_cast<Index>(0.05 * static_cast<double>(n) * (0.5 + rng_.uniform())));
            Index next = k;
            for (Index t = 0; t < moves; ++t) {
                const Index v = static_cast<Index>(rng_.below(static_cast<std::uint64_t>(n)));
                if (rng_.below(3) == 0) labels[v] = next++;
                else labels[v] = static_cast<Index>(rng_.below(static_cast<std::uint64_t>(std::max<Index>(k, 1))));
            }
        }
        return kl_from(std::move(labels));
    }

    // Fusion of the incumbent with a proposal on the intersection of their clusters.
    Candidate fuse(const Labels& proposal) {
        const Index n = p_.n;
        Labels groups(static_cast<size_t>(n));
        std::unordered_map<std::uint64_t, Index> id;
        id.reserve(static_cast<size_t>(n));
        std::uint64_t kb = 0;
        for (Index l : proposal) kb = std::max<std::uint64_t>(kb, static_cast<std::uint64_t>(l) + 1);
        for (Index v = 0; v < n; ++v) {
            const std::uint64_t key = static_cast<std::uint64_t>(best_[v]) * kb + static_cast<std::uint64_t>(proposal[v]);
            auto it = id.find(key);
            if (it == id.end()) it = id.emplace(key, static_cast<Index>(id.size())).first;
            groups[v] = it->second;
        }
        const Index k = static_cast<Index>(id.size());
        typename ContractedOf<Problem>::type contracted;
        contract(p_, groups, k, contracted);
        const auto& cp = contracted_view(contracted);
        // warm starts on the contracted problem: the incumbent's and the proposal's clusters
        Labels from_best(static_cast<size_t>(k)), from_prop(static_cast<size_t>(k));
        for (Index v = 0; v < n; ++v) {
            from_best[groups[v]] = best_[v];
            from_prop[groups[v]] = proposal[v];
        }
        double ob = kernighan_lin_ex(cp, from_best, control_, nullptr, settings_.kl);
        Labels g = gaec_ex(cp, control_, nullptr, nullptr);
        double og = kernighan_lin_ex(cp, g, control_, nullptr, settings_.kl);
        double op = kernighan_lin_ex(cp, from_prop, control_, nullptr, settings_.kl);
        const Labels* pick = &from_best;
        if (og < ob && og <= op) pick = &g;
        else if (op < ob && op < og) pick = &from_prop;
        Labels fused(static_cast<size_t>(n));
        for (Index v = 0; v < n; ++v) fused[v] = (*pick)[groups[v]];
        return kl_from(std::move(fused));
    }

    // Recent proposals (KL local optima), the pool that exact fusion intersects with the incumbent.
    void remember(Labels labels) {
        pool_.push_back(std::move(labels));
        if (pool_.size() > static_cast<size_t>(kPoolSize)) pool_.erase(pool_.begin());
    }

    // Exact fusion: the incumbent intersected with the last `fuse_count_` proposals, the contracted
    // problem solved by the exact solver (warm-started from the incumbent) within a share of the
    // remaining time, the result polished by KL on the full problem.
    Candidate exact_fuse() {
        const Index n = p_.n;
        const Index count = std::min<Index>(fuse_count_, static_cast<Index>(pool_.size()));
        if (count == 0) return {};
        Labels groups = best_;
        std::unordered_map<std::uint64_t, Index> id;
        id.reserve(static_cast<size_t>(n));
        for (Index j = 0; j < count; ++j) {
            const Labels& prop = pool_[pool_.size() - 1 - static_cast<size_t>(j)];
            id.clear();
            for (Index v = 0; v < n; ++v) {
                const std::uint64_t key = static_cast<std::uint64_t>(groups[v]) * static_cast<std::uint64_t>(n) +
                                          static_cast<std::uint64_t>(prop[v]);
                auto it = id.find(key);
                if (it == id.end()) it = id.emplace(key, static_cast<Index>(id.size())).first;
                groups[v] = it->second;
            }
        }
        const Index k = static_cast<Index>(id.size());
        // Dense: the exact solver's LP has k(k-1)/2 columns; past a few hundred nodes it cannot finish
        // within a share of a typical limit and only costs memory. Counted as a failure (back off).
        if (!kSparse && k > kMaxDenseExact) {
            fuse_count_ = std::max<Index>(fuse_count_ - 1, 1);
            skip_ = backoff_;
            backoff_ = std::min(2 * backoff_, 64);
            return {};
        }
        typename ContractedOf<Problem>::type contracted;
        contract(p_, groups, k, contracted);
        Labels warm(static_cast<size_t>(k));
        for (Index v = 0; v < n; ++v) warm[groups[v]] = best_[v];
        ExactOptions eo;
        eo.heuristic = FirstIncumbent::kl;  // KL from the warm start: cheap, never worse than it
        eo.kl = settings_.kl;
        // Exact fusion keeps the solver it was measured with (docs/solvers.md): the odd wheels, on by
        // default in the exact solver since session 10, were not measured inside it.
        eo.bnc.sparse_wheel_cuts = false;
        eo.bnc.local_cuts = false;  // nor the local cuts (session 16)
        // Likewise the tree purge age, 20 in the exact solver since session 15.
        eo.bnc.tree_purge_age = 5;
        const double budget = std::max(0.0, settings_.exact_fusion_share * control_.remaining());
        // The parent's stop (limit, Ctrl-C, an exception in the progress callback) stops the child at
        // its next poll; the child's progress keeps the caller's reports flowing during a long fusion
        // (the contracted objective of a labelling equals its objective on the full problem).
        Control child(
            budget, [this] { return control_.stop(); },
            [this](const Progress& p) { progress_.maybe(std::min(best_obj_, p.objective), rounds_); });
        BncResult r = solve_exact(contracted_view(contracted), child, eo, &warm, rng_.next());
        ++exact_fusions_;
        // Grow the fused space while the exact solver proves it; on a failure shrink it and back off
        // (skip 1, 2, 4, ... rounds) so that instances too large to prove keep most of the time for
        // the KL fusion rounds.
        if (r.status == "optimal") {
            fuse_count_ = std::min<Index>(fuse_count_ + 1, kPoolSize);
            backoff_ = 1;
        } else {
            fuse_count_ = std::max<Index>(fuse_count_ - 1, 1);
            skip_ = backoff_;
            backoff_ = std::min(2 * backoff_, 64);
        }
        if (r.labels.size() != static_cast<size_t>(k)) return {};
        Labels fused(static_cast<size_t>(n));
        for (Index v = 0; v < n; ++v) fused[v] = r.labels[groups[v]];
        return kl_from(std::move(fused));
    }

    static constexpr Index kPoolSize = 8;
    static constexpr Index kMaxDenseExact = 300;
    std::vector<Labels> pool_;
    Index fuse_count_ = 2;
    int skip_ = 0, backoff_ = 1;
    std::int64_t rounds_ = 0;
    Index window_ = 0;  // window rounds' window size (0: global rounds)
    std::int64_t exact_fusions_ = 0;
    bool lp_safe_ = true;  // exact fusion allowed: the costs are far from the LP's infinity
    const Problem& p_;
    Control& control_;
    detail::Rng rng_;
    AnytimeOptions settings_;
    detail::ProgressThrottle progress_;
    double scale_ = 1.0;
    Labels best_;
    double best_obj_ = std::numeric_limits<double>::infinity();
};

}  // namespace

void validate(const AnytimeOptions& o) {
    if (o.max_rounds < 0) throw std::invalid_argument("max_rounds must be >= 0");
    if (o.max_rounds_without_improvement < 0)
        throw std::invalid_argument("max_rounds_without_improvement must be >= 0");
    if (!(o.exact_fusion_share > 0.0 && o.exact_fusion_share <= 1.0))
        throw std::invalid_argument("exact_fusion_share must be in (0, 1]");
    if (o.window_nodes < -1) throw std::invalid_argument("window_nodes must be >= -1 (-1: automatic)");
    if (!(o.window_seconds > 0.0)) throw std::invalid_argument("window_seconds must be > 0");
    validate(o.kl);
}

Labels anytime_ex(const DenseView& problem, Control& control, std::uint64_t seed, const Labels* start,
                  HeuristicStats* stats, const AnytimeOptions& settings) {
    return Anytime<DenseView>(problem, control, seed, settings).run(start, stats);
}
Labels anytime_ex(const SparseGraph& problem, Control& control, std::uint64_t seed, const Labels* start,
                  HeuristicStats* stats, const AnytimeOptions& settings) {
    return Anytime<SparseGraph>(problem, control, seed, settings).run(start, stats);
}
Labels anytime(const DenseView& problem, Control& control, std::uint64_t seed, const Labels* start) {
    return anytime_ex(problem, control, seed, start, nullptr);
}
Labels anytime(const SparseGraph& problem, Control& control, std::uint64_t seed, const Labels* start) {
    return anytime_ex(problem, control, seed, start, nullptr);
}

}  // namespace corrclust
