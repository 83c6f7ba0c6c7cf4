// Kernighan-Lin with joins for correlation clustering (dense and sparse).
//
// One pass visits every pair of neighbouring clusters (A, B), and every cluster A paired with a new
// empty cluster, whenever one of the two changed since the pair was last looked at. For a pair it
// runs a Kernighan-Lin sequence: repeatedly move the not-yet-moved node of A u B with the largest
// gain to the other side, keep the prefix of the sequence with the best cumulative gain, and compare
// it with joining A and B. The better of the two is applied if it strictly improves. Passes repeat
// until one changes nothing. Every applied change strictly lowers the objective, so the result is
// never worse than the start (checked exactly at the end).
//
// Costs per pair: O(|A| |B|) (dense) to set up the gains from cached within-cluster sums, then
// O(|A| + |B|) per step; sparse: O(edges between A and B) to set up (A's boundary edges are listed
// once per turn of A), then O(degree of the moved node + candidates) per step, nodes joining the
// pair as moves reach them. On sparse graphs two phases run (see run()):
// border-only sequences followed to their end (in practice: until kBorderPatience steps without a
// new best prefix), then sequences that stop once they have gone
// `KlOptions::revisit_patience` steps without a new best prefix (on complete graphs only the
// latter, with `KlOptions::patience`).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <type_traits>
#include <vector>
// SSE2 is part of every x86-64 target (MSVC says so by _M_X64, GCC and Clang by __SSE2__)
#if defined(__SSE2__) || defined(_M_X64)
#define CORRCLUST_KL_SSE2 1
#include <emmintrin.h>
#endif

#include "corrclust/heuristics.hpp"
#include "corrclust/heuristics_detail.hpp"

namespace corrclust {
namespace {

// The clock is read once this many units of work (about one adjacency entry each) have been done
// since the last read: tens of microseconds, far below the 50 ms promised for a time limit, while a
// pair of small clusters no longer pays a clock read of its own (2 % of a KL call on 3096).
constexpr Index kPollWork = Index(1) << 15;
// The sign of a move's gain from side 0 / 1: (cb - ca) times this is the gain, exactly.
constexpr double kSideSign[2] = {1.0, -1.0};
// Entries of -infinity kept after each keyed candidate list of two_cut_sparse, so that
// best_keyed reads whole vectors of four and has no scalar tail (see push_keyed).
constexpr Index kPad = 4;
// Sparse graphs: the final split pass (final_split_pass) tries clusters of 4 to this many nodes. Scanning all
// of A at every step costs O(|A|^2) per split, at most 256^2 / 2 = 32,768 gain reads here. Session 11
// (docs/solvers.md), against 64: 128 and 256 changed 0 + 2 and 1 + 3 of 216 + 450 development instances
// of bench_kl_quality.py (seeds 48-95 / 132-231 even), all lower, losses 0 + 1 as before; no cap gave the
// same results as 256 there and on bench_cc's 23 rows (supervoxel-8000-1's +0.368 is not a free split),
// but cost gm_knott_3d_034 6 % thread CPU in two runs (0.94x); with 256, main / this
// median 1.00 over the 23 rows, lowest 0.97x (bench_kl_cpu.py, load 0.9).
constexpr Index kFreeSplitMax = 256;
// the lowest set bit of a 4-bit mask (entry 0 unused)
constexpr int kLowestBit[16] = {0, 0, 1, 0, 2, 0, 1, 0, 3, 0, 1, 0, 2, 0, 1, 0};

// The largest of k[0..n) (-infinity when n = 0), where k[n..n + kPad) are -infinity.
double largest(const double* k, Index n) {
#if defined(CORRCLUST_KL_SSE2)
    __m128d m0 = _mm_set1_pd(-std::numeric_limits<double>::infinity()), m1 = m0;
    for (Index r = 0; r < n; r += 4) {
        m0 = _mm_max_pd(m0, _mm_loadu_pd(k + r));
        m1 = _mm_max_pd(m1, _mm_loadu_pd(k + r + 2));
    }
    m0 = _mm_max_pd(m0, m1);
    return std::max(_mm_cvtsd_f64(m0), _mm_cvtsd_f64(_mm_unpackhi_pd(m0, m0)));
#else
    double top = -std::numeric_limits<double>::infinity();
    for (Index r = 0; r < n; ++r) top = k[r] > top ? k[r] : top;
    return top;
#endif
}

struct DensePolicy {
    const DenseView& p;
    Index n() const { return p.n; }
    // f(j, cost(v, nodes[j])) for j in [lo, hi) (nodes[j] != v).
    template <class F>
    void for_range(Index v, const std::vector<Index>& nodes, const std::vector<Index>& /*loc*/, Index self,
                   Index lo, Index hi, F&& f) const {
        const double* row = p.data + v * p.n;
        for (Index j = lo; j < hi; ++j)
            if (j != self) f(j, row[nodes[j]]);
    }
    Index degree(Index /*v*/) const { return p.n - 1; }
    template <class F>
    void for_neighbors(Index v, F&& f) const {  // all other nodes
        const double* row = p.data + v * p.n;
        for (Index u = 0; u < p.n; ++u)
            if (u != v) f(u, row[u]);
    }
    // The cross sums of a pair: for every r in [r0, r1) racc[r] += cost(nodes[r], nodes[c]) over c
    // in [c0, c1) in that order, and cacc[c] += the same costs over r in order: the sums, bit for
    // bit, of the one-entry-at-a-time loop of two_cut, which kept both accumulators in memory (the
    // compiler cannot tell them apart) and so waited for a store-to-load round trip on every entry.
    // Four rows at a time keep four row sums in registers and give each column four adds per load.
    // At n = 10,000 (bench_cc's noisy planted instance) the pair set-up took 0.9 of KL's 1.5 s.
    void cross_sums(const Index* __restrict nodes, Index r0, Index r1, Index c0, Index c1, double* __restrict racc,
                    double* __restrict cacc) const {
        const double* const data = p.data;
        const Index n = p.n;
        Index r = r0;
        for (; r + 4 <= r1; r += 4) {
            const double* __restrict p0 = data + nodes[r] * n;
            const double* __restrict p1 = data + nodes[r + 1] * n;
            const double* __restrict p2 = data + nodes[r + 2] * n;
            const double* __restrict p3 = data + nodes[r + 3] * n;
            double s0 = racc[r], s1 = racc[r + 1], s2 = racc[r + 2], s3 = racc[r + 3];
            for (Index c = c0; c < c1; ++c) {
                const Index u = nodes[c];
                const double x0 = p0[u], x1 = p1[u], x2 = p2[u], x3 = p3[u];
                s0 += x0;
                s1 += x1;
                s2 += x2;
                s3 += x3;
                cacc[c] = (((cacc[c] + x0) + x1) + x2) + x3;
            }
            racc[r] = s0;
            racc[r + 1] = s1;
            racc[r + 2] = s2;
            racc[r + 3] = s3;
        }
        for (; r < r1; ++r) {
            const double* __restrict row = data + nodes[r] * n;
            double s = racc[r];
            for (Index c = c0; c < c1; ++c) {
                const double x = row[nodes[c]];
                s += x;
                cacc[c] += x;
            }
            racc[r] = s;
        }
    }
    static constexpr bool complete = true;
};

struct SparsePolicy {
    // The adjacency as (neighbour, cost) records in CSR order, copied once per call: the graph's
    // own layout reaches the cost through the edge index (adj_edge, then edge_cost), a second
    // random read per entry on the path that dominates sparse KL. Measured in thread CPU time
    // (min of 5, load 10): 1.06-1.24x faster KL on supervoxel-8000-0, grid-200, knott-032,
    // geometric-10000-0, supervoxel-2000-0; labels identical on all 23 sparse bench_cc instances
    struct Entry {
        Index node;
        double cost;
    };
    explicit SparsePolicy(const SparseGraph& graph) : g(graph), adj(static_cast<size_t>(graph.adj_node.size())) {
        for (size_t k = 0; k < adj.size(); ++k) adj[k] = Entry{g.adj_node[k], g.edge_cost[g.adj_edge[k]]};
    }
    const SparseGraph& g;
    std::vector<Entry> adj;
    Index n() const { return g.n; }
    template <class F>
    void for_range(Index v, const std::vector<Index>& /*nodes*/, const std::vector<Index>& loc, Index /*self*/,
                   Index lo, Index hi, F&& f) const {
        for (const Entry* e = adj.data() + g.adj_offset[v], *end = adj.data() + g.adj_offset[v + 1]; e != end; ++e) {
            const Index j = loc[e->node];
            if (j >= lo && j < hi) f(j, e->cost);
        }
    }
    Index degree(Index v) const { return g.adj_offset[v + 1] - g.adj_offset[v]; }
    template <class F>
    void for_neighbors(Index v, F&& f) const {
        for (const Entry* e = adj.data() + g.adj_offset[v], *end = adj.data() + g.adj_offset[v + 1]; e != end; ++e)
            f(e->node, e->cost);
    }
    static constexpr bool complete = false;
};

template <class Policy>
class KernighanLin {
public:
    KernighanLin(const Policy& policy, Labels& labels, Control& control, const KlOptions& options)
        : P(policy), label_(labels), control_(control), n_(policy.n()),
          patience_(options.patience), min_improvement_(options.min_improvement), revisit_(options.revisit),
          revisit_patience_(options.revisit_patience), final_split_(options.final_split),
          polish_max_nodes_(options.polish_max_nodes), polish_patience_(options.patience),
          threads_(options.sparse_threads > 0 ? options.sparse_threads
                                       : static_cast<int>(std::min(4u, std::max(1u, std::thread::hardware_concurrency())))) {}

    // Runs passes until nothing improves or control stops; returns the number of passes.
    std::int64_t run(detail::ProgressThrottle& progress) {
        setup();
        double obj = start_objective_;
        std::int64_t pass = 0;
        // Sparse graphs run two phases of passes. The first offers only nodes with a neighbour
        // on the other side and follows each sequence to its end (up to kBorderPatience steps without a
        // gain, which only giant clusters reach; the published KL, as
        // bioimage-cpp runs it: on the generated supervoxel graphs it then reaches bioimage-cpp's
        // objective exactly); the second, from that result, also offers nodes that have left
        // the border and stops a sequence after `revisit_patience` steps without a new best
        // prefix (the rule of earlier versions, which is better on grids and random geometric
        // graphs). On 26 sparse instances this ends <= bioimage-cpp's GAEC + KL on 25
        // (docs/solvers.md), where either rule alone was worse on 4 to 7 of them. Profile
        // (thread CPU, supervoxel-8000-0, patience 48 in both phases' place): the pair sequences
        // are 90 % of KL (phase 1 0.175 s, phase 2 0.238 s), neighbour listing 5 %, vertex sweeps
        // 1 %; of 165,078 phase-1 moves 459 were kept, of 207,754 phase-2 moves 73.
        border_only_ = !Policy::complete;
        const int phases = Policy::complete || !revisit_ ? 1 : 2;
        for (int phase = 0; phase < phases && !control_.stop(); ++phase) {
            if (phase == 1) {
                border_only_ = false;
                patience_ = revisit_patience_;
                for (auto& s : stamp_) s = pass + 1;  // every pair is looked at again
                std::fill(batch_start_.begin(), batch_start_.end(), -1);
                std::fill(split_start_.begin(), split_start_.end(), -1);
            }
            passes_until_no_gain(pass, progress, obj);
        }
        if (!Policy::complete && final_split_ && phases == 2) final_split_pass(pass, progress, obj);
        if (!Policy::complete && polish_max_nodes_ > 0 && phases == 2) polish(pass, progress, obj);
        for (Index v = 0; v < n_; ++v) label_[v] = label_of_[v];
        return pass;
    }
    // Sparse graphs, after the second phase, when KlOptions::final_split asks (the default since
    // session 11, docs/solvers.md): every cluster of 4 to kFreeSplitMax nodes is
    // offered a split in which all of its nodes stay candidates for the whole sequence (followed to
    // its end), not only the neighbours of the part moved out; whatever improves is kept and the
    // second phase's passes resume from there, so the result is never worse than without this
    // pass. On the generated sparse graphs of benchmarks/bench_kl_quality.py (development seeds)
    // the two instances where GAEC + KL ended above bioimage-cpp's differed from it by exactly such
    // a split (20 nodes into 3 + 17; 28 into 26 + 2) that the neighbour-limited sequence does not
    // reach. Using the free sequence in every split turn instead also removed both losses but
    // changed 5 other trajectories, 0.41 worse in sum on the counting seeds. A cluster is offered
    // again only if it changed since its previous offer. The first version (session 10) ran the
    // sequence through two_cut's scalar scan and offered every such cluster; it cost about 3.5 %
    // more CPU, too much for the default. free_split and has_negative_inside make the same picks
    // for less (docs/solvers.md, session 11).
    void final_split_pass(std::int64_t& pass, detail::ProgressThrottle& progress, double& obj) {
        std::vector<std::int64_t> offered;  // clock_ at a cluster's last offer (-1: never)
        while (!control_.stop()) {
            ++pass;
            double gain = 0.0;
            const Index k = static_cast<Index>(members_.size());
            offered.resize(static_cast<size_t>(k), -1);
            for (Index a = 0; a < k && !control_.stop(); ++a) {
                const Index size = static_cast<Index>(members_[a].size());
                // Up to 3 nodes every split isolates one node, which the second phase's own split
                // turn of the cluster already evaluated (its first move may be any node).
                if (size < 4 || size > kFreeSplitMax || version_[a] < offered[a]) continue;
                offered[a] = ++clock_;
                // A split gains only the negated cost of the edges it cuts inside a: without a
                // negative edge inside, none gains, and the sequence is not run (same labels).
                if (!has_negative_inside(a)) continue;
                const Index b = new_cluster(pass);
                const double g = free_split(a, b, pass);
                if (g <= 0.0) free_.push_back(b);
                gain += g;
            }
            if (gain <= eps_) break;
            obj -= gain;
            passes_until_no_gain(pass, progress, obj);
        }
    }
    // Sparse graphs, last, when KlOptions::polish_max_nodes > 0 (off by default): the second
    // phase's passes once more, every pair and split due again, but only pairs of neighbouring
    // clusters with at most polish_max_nodes nodes together (and splits of clusters that small),
    // with every node of both clusters on offer and sequences that stop after `patience` (48)
    // steps without a new best prefix instead of revisit_patience (4). The losses left against
    // bioimage-cpp's GAEC + KL are regroupings of two or three neighbouring clusters whose
    // sequences go several steps below their start before they gain (docs/solvers.md, session
    // 12); patience reaches them, but patience everywhere cost 1.24x and left 1 of 6. On the
    // development seeds of bench_kl_quality.py (300-371 even, 324 instances) a cap of 200 removed
    // all 5 losses, 132 instances lower and none higher (64: 124 lower, 32: 3 losses left); on the
    // count seeds 401-471 odd, scored once, 137 lower, none higher, losses 3 -> 3. It costs
    // 1.15-1.58x thread CPU per bench_cc sparse row (1.41x in total, load 2); the default's target
    // (>= 1.5x faster than bioimage-cpp) has no room for that, so it is opt-in. Only strict gains
    // are applied, so the result is never worse than without the phase.
    void polish(std::int64_t& pass, detail::ProgressThrottle& progress, double& obj) {
        border_only_ = false;
        patience_ = polish_patience_;
        pair_cap_ = polish_max_nodes_;
        for (auto& s : stamp_) s = pass + 1;  // every pair is due again
        std::fill(batch_start_.begin(), batch_start_.end(), -1);
        std::fill(split_start_.begin(), split_start_.end(), -1);
        passes_until_no_gain(pass, progress, obj);
        pair_cap_ = std::numeric_limits<Index>::max();
        patience_ = revisit_patience_;
    }
    // Whether an edge of negative cost joins two members of cluster a (sparse graphs).
    bool has_negative_inside(Index a) const {
        if constexpr (Policy::complete) {
            return true;
        } else {
            for (const Index v : members_[a])
                for (const auto *e = P.adj.data() + P.g.adj_offset[v], *end = P.adj.data() + P.g.adj_offset[v + 1];
                     e != end; ++e)
                    if (e->cost < 0.0 && label_of_[e->node] == a) return true;
            return false;
        }
    }
    // The split sequence of the final split pass: a against the new empty cluster b, with every
    // unmoved node of a a candidate at every step, followed to its end; applies the best prefix if
    // it gains. The picks, sums and resulting member order are those of the first version
    // (session 10: two_cut with all of a kept as candidates, chosen by a scalar scan through the
    // indices, ca_ and cb_); here the keys sit in the padded lists of two_cut_sparse, read by
    // best_keyed, and flip updates them. Labels identical on the 23 bench_cc rows and 126
    // generated development instances (CRC-32). Thread CPU of the whole pass (in-process, min of
    // 120 calls, load 2-4): on the grids 0.4-0.55x the first version's (grid-200x200-mean0.1
    // 7.4 -> 2.8 ms, grid-300x300 10.5 -> 5.7 ms), elsewhere the same within noise: there the
    // flips, not the choice, take the time (a flip without the border bookkeeping measured no
    // better).
    double free_split(Index a, Index b, std::int64_t pass) {
        if constexpr (Policy::complete) {
            return 0.0;
        } else {
            const Index saved_patience = patience_;
            const bool saved_border = border_only_;
            border_only_ = false;  // every node keeps its key (no -infinity for "none across")
            patience_ = n_;        // record_step never stops the sequence
            nn_ = 0;
            start_keys();
            for (const Index v : members_[a]) push_keyed(start_node(v, 0));
            const Index N = nn_;
            nseq_ = 0;
            double cum = 0.0, best = 0.0;
            Index best_len = 0;
            for (;;) {
                double pg;
                const Index pick = best_keyed(pg);
                if (pick < 0) break;
                flip(pick, a, b);
                seq_[nseq_++] = pick;
                record_step(pg, cum, best, best_len);
                if (poll(8 + P.degree(nodes_[pick]))) break;
            }
            patience_ = saved_patience;
            border_only_ = saved_border;
            pair_work_ = N;
            double applied = best > eps_ ? best : 0.0;
            if (applied > 0.0 && !evaluate_only_) {
                while (nseq_ > best_len) flip(seq_[--nseq_], a, b);
                write_back_pair(a, b, N, false, pass);  // member order as two_cut leaves it
            } else {
                applied = 0.0;
            }
            for (Index j = 0; j < N; ++j) loc_[nodes_[j]] = -1;
            return applied;
        }
    }
    // Passes (pairs and splits, then a vertex sweep) until one gains nothing; counts them in pass
    // and lowers obj by their gains.
    void passes_until_no_gain(std::int64_t& pass, detail::ProgressThrottle& progress, double& obj) {
        while (!control_.stop()) {
            ++pass;
            double gain = one_pass(pass, progress, obj);
            if (!control_.stop()) gain += vertex_sweep(pass);
            obj -= gain;
            progress.maybe(obj, pass);
            if (gain <= eps_) break;
        }
    }
    // Objective of the start labelling, summed in the same order as objective() (exact).
    double start_objective() const { return start_objective_; }

private:
    struct BoundaryEdge {  // an edge between the clusters a < b of a pair: v in a, u in b
        Index v, u;
        double c;
        Index b;
    };

    void setup() {
        label_of_ = label_;
        const Index k = detail::relabel(label_of_);
        members_.assign(static_cast<size_t>(k), {});
        mpos_.assign(static_cast<size_t>(n_), 0);
        {  // one allocation per member list (mpos_ counts the sizes for the moment)
            for (Index v = 0; v < n_; ++v) ++mpos_[label_of_[v]];
            for (Index c = 0; c < k; ++c) members_[c].reserve(static_cast<size_t>(mpos_[c]));
        }
        for (Index v = 0; v < n_; ++v) {
            auto& m = members_[label_of_[v]];
            mpos_[v] = static_cast<Index>(m.size());
            m.push_back(v);
        }
        stamp_.assign(static_cast<size_t>(k), 0);
        version_.assign(static_cast<size_t>(k), 0);
        near_.assign(static_cast<size_t>(k), 0);
        nbrs_of_.assign(static_cast<size_t>(k), {});
        batch_start_.assign(static_cast<size_t>(k), -1);
        split_start_.assign(static_cast<size_t>(k), -1);
        quiet_split_.assign(static_cast<size_t>(k), -1);
        in_sum_.assign(static_cast<size_t>(n_), 0.0);
        start_objective_ = 0.0;
        double largest = 0.0;
        for (Index v = 0; v < n_; ++v) {
            double s = 0.0;
            const Index lv = label_of_[v];
            P.for_neighbors(v, [&](Index u, double c) {
                if (label_of_[u] == lv) s += c;
                else if (u > v) start_objective_ += c;
                largest = std::max(largest, std::abs(c));
            });
            in_sum_[v] = s;
        }
        // A gain is a sum of at most n costs, so its rounding error is below n * 2^-53 * largest:
        // under 1e-12 * largest up to n = 10^4, far below the threshold. On every shared instance and
        // bench_cc's generated sparse set (largest costs 1 to 29) the labels are bit-identical to
        // those of the absolute 1e-9, which on costs of 1e15 cycled (10^6 passes in 3 s, n = 7).
        eps_ = min_improvement_ * std::max(1.0, largest);
        loc_.assign(static_cast<size_t>(n_), -1);
        if (!Policy::complete) sweep_dirty_.assign(static_cast<size_t>(n_), 1);
        seen_.assign(static_cast<size_t>(k), -1);
        // Buffers of the current pair, sized once: a pair never holds more than n nodes.
        nodes_.resize(static_cast<size_t>(n_));
        side_.resize(static_cast<size_t>(n_));
        ca_.resize(static_cast<size_t>(n_));
        cb_.resize(static_cast<size_t>(n_));
        is_cand_.resize(static_cast<size_t>(n_));
        cand_[0].resize(static_cast<size_t>(n_));
        cand_[1].resize(static_cast<size_t>(n_));
        if constexpr (!Policy::complete) {
            // slot 0: see keys(); kPad entries after the last possible candidate: see push_keyed()
            keys_[0].assign(static_cast<size_t>(n_) + 1 + kPad, -std::numeric_limits<double>::infinity());
            keys_[1].assign(static_cast<size_t>(n_) + 1 + kPad, -std::numeric_limits<double>::infinity());
            cpos_.resize(static_cast<size_t>(n_));
        }
        seq_.resize(static_cast<size_t>(n_));
        cross_.resize(static_cast<size_t>(n_));
        if constexpr (!Policy::complete) hidden_key_.resize(static_cast<size_t>(n_));
    }

    Index new_cluster(std::int64_t pass) {
        Index id;
        if (!free_.empty()) {
            id = free_.back();
            free_.pop_back();
        } else {
            id = static_cast<Index>(members_.size());
            members_.emplace_back();
            stamp_.push_back(pass);
            seen_.push_back(-1);
            version_.push_back(0);
            near_.push_back(0);
            nbrs_of_.emplace_back();
            batch_start_.push_back(-1);
            split_start_.push_back(-1);
            quiet_split_.push_back(-1);
        }
        stamp_[id] = pass;
        return id;
    }

    double one_pass(std::int64_t pass, detail::ProgressThrottle& progress, double obj) {
        double total = 0.0;
        std::vector<Index> nbrs;
        if constexpr (!Policy::complete) speculate(pass);
        for (Index a = 0; a < static_cast<Index>(members_.size()); ++a) {
            if (poll(1)) break;
            if (members_[a].empty()) continue;
            // neighbouring clusters b > a
            nbrs.clear();
            if (Policy::complete) {
                for (Index b = a + 1; b < static_cast<Index>(members_.size()); ++b)
                    if (!members_[b].empty()) nbrs.push_back(b);
            } else if (version_[a] < batch_start_[a] && near_[a] < batch_start_[a]) {
                // Neither a nor a node next to it changed cluster since a's previous turn in this
                // phase: its neighbouring clusters are those listed then, and the edges between a
                // and each of them are the same. Most such turns skip every pair, so a's
                // adjacency is scanned only when a pair is due (boundary() lists it then).
                // On grid-100x100-mean0.3 these listings were 13 % of KL's samples.
                nbrs.assign(nbrs_of_[a].begin(), nbrs_of_[a].end());
            } else {  // the clusters listed with a's boundary edges (one adjacency scan for both)
                list_boundary(a);
                nbrs.assign(listed_.begin(), listed_.end());
                std::sort(nbrs.begin(), nbrs.end());
                nbrs_of_[a].assign(nbrs.begin(), nbrs.end());
            }
            // Sparse graphs: a pair is skipped when neither cluster changed since the start of a's
            // previous visit in this phase (the pair was then evaluated without gain, or skipped for
            // the same reason, and its outcome depends only on the two clusters). The pass-level
            // stamps re-ran such pairs whenever one side had changed in the pass before, even
            // before that visit: on supervoxel-8000-0, 2,316 of the 4,923 second-phase pair runs
            // and 316 of the 3,170 first-phase ones repeated an unchanged pair. Same labels.
            const std::int64_t since = batch_start_[a];
            batch_start_[a] = ++clock_;
            for (const Index b : nbrs) {
                if (members_[a].empty()) break;
                if (members_[b].empty()) continue;
                if (stamp_[a] < pass - 1 && stamp_[b] < pass - 1) continue;
                if constexpr (!Policy::complete) {
                    if (pair_too_large(a, b)) continue;
                    if (version_[a] < since && version_[b] < since) continue;
                    if (known_unchanged(a, b)) continue;
                    if (revisit_rules() && quiet_pair(a, b)) continue;
                }
                total += two_cut(a, b, pass);
                if (poll(pair_work_)) break;
                progress.maybe(obj - total, pass);
            }
            if (members_[a].empty() || poll(0)) continue;
            if (stamp_[a] >= pass - 1 && members_[a].size() > 1 && !pair_too_large(a, -1)) {
                if constexpr (!Policy::complete) {  // a split of a depends on a alone
                    if (version_[a] < split_start_[a]) continue;
                    split_start_[a] = ++clock_;
                }
                if constexpr (!Policy::complete) {
                    if (revisit_rules() && quiet_split(a)) continue;
                }
                const Index b = new_cluster(pass);
                const double g = !Policy::complete && known_unchanged(a, -1) ? 0.0 : two_cut(a, b, pass);
                if (g <= 0.0) free_.push_back(b);  // nothing moved: the new cluster stays unused
                total += g;
            }
        }
        return total;
    }

    // Whether the polish phase leaves pair (a, b) out (b = -1: the split of a): more than pair_cap_
    // nodes together. Never outside that phase (pair_cap_ is then the largest Index).
    bool pair_too_large(Index a, Index b) const {
        const Index size = static_cast<Index>(members_[a].size()) + (b >= 0 ? static_cast<Index>(members_[b].size()) : 0);
        return size > pair_cap_;
    }

    // The second phase's sequences whose outcome the first phase already knows (sparse graphs).
    // After the first phase every pair is visited once more with nodes that have left the border
    // on offer and `revisit_patience` (4) steps of patience. For a pair whose clusters did not
    // change since the first phase followed its sequence without a gain, that visit repeats the
    // first phase's picks whenever no node that left the border (key -infinity there) has a key
    // as large as the pick, and then stops without a gain too. Likewise the split turn (a with a
    // new empty cluster) has no border rule: its second-phase sequence is a prefix of the first
    // phase's. Both are skipped then, with the same labels (CRC-32 on the 23 bench_cc sparse rows
    // and 972 generated instances of bench_kl_quality.py). Second-phase pair sequences run:
    // supervoxel-8000-0 2,539 -> 830, geometric-2000-1 3,315 -> 2,385, grid-100x100-mean0.0
    // 5,611 -> 4,367 (on grids a node that loses its last neighbour across through a repulsive
    // edge often gets the larger key); thread CPU of GAEC + KL (bench_kl_cpu.py, load 2-3): median
    // 1.03x faster, geometric graphs 1.08-1.09x, no row slower beyond noise. Skipping every quiet
    // first-phase pair without the hidden-key check was 8 % cheaper but doubled the development
    // losses against bioimage-cpp (4 -> 8): the second phase gains through exactly those picks.
    bool revisit_rules() const {
        return !border_only_ && patience_ == revisit_patience_ && pair_cap_ == std::numeric_limits<Index>::max();
    }
    void remember_quiet(Index a, Index b) {
        if (quiet_of_.size() < members_.size()) {
            quiet_of_.resize(members_.size());
            quiet_epoch_.resize(members_.size(), -1);
        }
        if (quiet_epoch_[a] < version_[a]) {  // entries from before a's last change are void
            quiet_of_[a].clear();
            quiet_epoch_[a] = version_[a];
        }
        quiet_of_[a].push_back({b, clock_});
    }
    bool quiet_pair(Index a, Index b) const {
        if (a >= static_cast<Index>(quiet_of_.size()) || quiet_epoch_[a] < version_[a]) return false;
        const auto& q = quiet_of_[a];
        for (auto it = q.rbegin(); it != q.rend(); ++it)
            if (it->first == b) return version_[a] <= it->second && version_[b] <= it->second;
        return false;
    }
    bool quiet_split(Index a) const { return quiet_split_[a] >= 0 && version_[a] <= quiet_split_[a]; }
    // The largest key among the unmoved nodes of the pair that left the border in this sequence
    // (their keys in the lists are -infinity; flip<true> keeps their keys in hidden_key_), or
    // kNoneHidden if there is none.
    static constexpr double kNoneHidden = std::numeric_limits<double>::lowest();
    double largest_hidden() const {
        double top = kNoneHidden;
        for (int s = 0; s < 2; ++s) {
            const double* k = keys_[s].data() + 1;
            const Index* c = cand_[s].data();
            for (Index r = 0; r < ncand_[s]; ++r)
                if (k[r] == -std::numeric_limits<double>::infinity()) top = std::max(top, hidden_key_[c[r]]);
        }
        return top;
    }

    // Appends the clusters b > a next to cluster a to nbrs, ascending (sparse graphs).
    void higher_neighbours(Index a, std::vector<Index>& nbrs) {
        // Mark listed clusters with this turn's number, unique over all passes: a mark by the
        // cluster id would survive into the next pass and hide the pair there.
        const std::int64_t turn = ++turn_;
        const size_t first = nbrs.size();
        for (const Index v : members_[a])
            P.for_neighbors(v, [&](Index u, double) {
                const Index b = label_of_[u];
                if (b > a && seen_[b] != turn) {
                    seen_[b] = turn;
                    nbrs.push_back(b);
                }
            });
        std::sort(nbrs.begin() + static_cast<std::ptrdiff_t>(first), nbrs.end());
    }

    // Speculative pair evaluation (sparse graphs, KlOptions::sparse_threads > 1). Most pairs change
    // nothing (supervoxel-8000-0: 459 of 165,078 first-phase moves kept), and a pair's outcome
    // depends only on the members of its two clusters. So at the start of a pass every pair the
    // pass may visit is evaluated on the state of that moment, split over the threads (this
    // object and shadow copies of the clustering, each with its own pair buffers); the pass then
    // runs in the usual order and skips a pair found unchanged if neither cluster changed since
    // (changed_, set by relabelled). The labels are those of the serial pass, whatever the
    // number of threads. (The main thread's own evaluations of "a with a new cluster" take an id
    // with new_cluster and give it back to free_, where the pass's first new cluster then finds
    // it: the same id the serial pass would create.)
    void speculate(std::int64_t pass) {
        spec_pairs_.clear();
        spec_start_.assign(members_.size() + 1, 0);
        spec_round_ = 0;
        if (threads_ < 2) return;
        std::vector<Index> nbrs;
        for (Index a = 0; a < static_cast<Index>(members_.size()); ++a) {
            spec_start_[a] = static_cast<Index>(spec_pairs_.size());
            if (members_[a].empty()) continue;
            nbrs.clear();
            higher_neighbours(a, nbrs);
            // (a, -1): a with a new empty cluster, when the pass will try that
            if (stamp_[a] >= pass - 1 && members_[a].size() > 1 && !pair_too_large(a, -1))
                spec_pairs_.push_back({a, -1});
            for (const Index b : nbrs)
                if ((stamp_[a] >= pass - 1 || stamp_[b] >= pass - 1) && !pair_too_large(a, b))
                    spec_pairs_.push_back({a, b});
        }
        spec_start_[members_.size()] = static_cast<Index>(spec_pairs_.size());
        // below this many pairs, starting threads costs more than it saves
        if (spec_pairs_.size() < 256) {
            spec_pairs_.clear();
            return;
        }
        const int workers = threads_ - 1;
        while (static_cast<int>(shadows_.size()) < workers) {
            shadow_labels_.emplace_back(std::make_unique<Labels>(label_of_));
            // a worker's long sequence stops soon after the main thread saw a stop (the pass's
            // results are then dropped, and the run ends: a stop is final)
            shadow_controls_.emplace_back(std::make_unique<Control>(
                std::numeric_limits<double>::infinity(),
                [this] { return spec_abort_.load(std::memory_order_relaxed); }));
            KlOptions o;
            o.patience = patience_;
            o.min_improvement = min_improvement_;
            o.sparse_threads = 1;
            shadows_.emplace_back(
                std::make_unique<KernighanLin>(P, *shadow_labels_.back(), *shadow_controls_.back(), o));
            shadows_.back()->setup();
        }
        for (auto& sh : shadows_) {
            sh->label_of_ = label_of_;
            sh->members_ = members_;
            sh->stamp_ = stamp_;
            sh->version_ = version_;
            sh->batch_start_ = batch_start_;
            sh->split_start_ = split_start_;
            sh->clock_ = clock_;
            sh->boundary_of_ = -1;
            sh->mpos_ = mpos_;  // boundary_from_small orders by it
            sh->seen_.assign(members_.size(), -1);
            sh->free_ = free_;
            sh->border_only_ = border_only_;
            sh->patience_ = patience_;
            sh->eps_ = eps_;
            sh->evaluate_only_ = true;
        }
        spec_gain_.assign(spec_pairs_.size(), 1);
        std::atomic<size_t> next{0};
        std::atomic<bool>& abort = spec_abort_;
        auto work = [&](KernighanLin& kl, bool main) {
            for (;;) {
                const size_t i = next.fetch_add(16);
                if (i >= spec_pairs_.size() || abort.load(std::memory_order_relaxed)) return;
                for (size_t r = i, end = std::min(spec_pairs_.size(), i + 16); r < end; ++r) {
                    if (main && poll(1)) {
                        abort = true;
                        return;
                    }
                    const Index a = spec_pairs_[r].first, b = spec_pairs_[r].second;
                    if (b >= 0) {
                        spec_gain_[r] = kl.two_cut_sparse(a, b, pass) > 0.0;
                    } else {  // evaluated in a new cluster of kl's own copy, given back at once
                        const Index fresh = kl.new_cluster(pass);
                        spec_gain_[r] = kl.two_cut(a, fresh, pass) > 0.0;
                        kl.free_.push_back(fresh);
                    }
                }
            }
        };
        std::vector<std::thread> pool;
        for (int t = 0; t < workers; ++t) pool.emplace_back(work, std::ref(*shadows_[t]), false);
        evaluate_only_ = true;
        work(*this, true);
        evaluate_only_ = false;
        for (auto& th : pool) th.join();
        if (abort) {
            spec_pairs_.clear();
            return;
        }
        spec_label_ = label_of_;
        changed_.assign(members_.size(), 0);
        spec_round_ = 1;
    }
    // True when speculate() found that pair (a, b) changes nothing and neither cluster changed since
    // (b = -1: a with a new empty cluster).
    bool known_unchanged(Index a, Index b) {
        const Index known = static_cast<Index>(changed_.size());
        if (spec_round_ == 0 || a >= static_cast<Index>(spec_start_.size()) - 1 || b >= known) return false;
        if (changed_[a] == spec_round_ || (b >= 0 && changed_[b] == spec_round_)) return false;
        const auto first = spec_pairs_.begin() + spec_start_[a], last = spec_pairs_.begin() + spec_start_[a + 1];
        const auto it = std::lower_bound(first, last, std::make_pair(a, b));
        return it != last && it->second == b && !spec_gain_[static_cast<size_t>(it - spec_pairs_.begin())];
    }

    // Moves every node, one after the other, to the cluster (or a new singleton) that lowers the
    // objective most, if any does: multi-way single-node moves that the pairwise sequences cannot
    // express. O(sum of degrees) per sweep (O(n^2) dense).
    double vertex_sweep(std::int64_t pass) {
        double total = 0.0;
        acc_.assign(members_.size(), 0.0);
        touched_flag_.assign(members_.size(), 0);
        for (Index v = 0; v < n_; ++v) {
            if ((v & 255) == 255 && control_.stop()) break;
            if constexpr (!Policy::complete) {
                // v's choice depends only on its own and its neighbours' clusters: if none of
                // them changed since v last stayed put, it stays put again
                if (!sweep_dirty_[v]) continue;
                sweep_dirty_[v] = 0;
            }
            const Index a = label_of_[v];
            touched_.clear();
            P.for_neighbors(v, [&](Index u, double c) {
                const Index C = label_of_[u];
                if (!touched_flag_[C]) {
                    touched_flag_[C] = 1;
                    touched_.push_back(C);
                }
                acc_[C] += c;
            });
            const double own = acc_[a];
            double best = members_[a].size() > 1 ? -own : -std::numeric_limits<double>::infinity();
            Index target = -1;  // -1: a new cluster
            for (const Index C : touched_) {
                if (C == a) continue;
                const double g = acc_[C] - own;
                if (g > best || (g == best && target >= 0 && C < target)) {
                    best = g;
                    target = C;
                }
            }
            const double to_target = target >= 0 ? acc_[target] : 0.0;
            for (const Index C : touched_) {
                acc_[C] = 0.0;
                touched_flag_[C] = 0;
            }
            if (!(best > eps_)) continue;
            if (target < 0) {
                target = new_cluster(pass);
                acc_.resize(members_.size(), 0.0);
                touched_flag_.resize(members_.size(), 0);
            }
            P.for_neighbors(v, [&](Index u, double c) {
                const Index C = label_of_[u];
                if (C == a) in_sum_[u] -= c;
                else if (C == target) in_sum_[u] += c;
            });
            in_sum_[v] = to_target;
            move_node(v, target);
            changed(a, pass);
            changed(target, pass);
            if (members_[a].empty()) free_.push_back(a);
            total += best;
        }
        return total;
    }

    // The candidate whose move to the other side gains most (ties: lowest index), with its gain in
    // pg; -1 when no candidate is left. The pick is removed from its list (it never moves again in
    // this sequence). Candidates have not moved, so each stays on the side it started on: one list
    // per side, so the gain needs no branch on the side, and the order within a list does not
    // matter for the choice (swap removal).
    Index best_candidate(double& pg) {
        Index pick = -1;
        pg = -std::numeric_limits<double>::infinity();
        int pick_side = 0;
        Index pick_pos = 0;
        {
            const Index* c = cand_[0].data();
            for (Index r = 0, end = ncand_[0]; r < end; ++r) {
                const Index j = c[r];
                const double gj = cb_[j] - ca_[j];
                if (gj > pg || (gj == pg && j < pick)) {
                    pg = gj;
                    pick = j;
                    pick_pos = r;
                }
            }
        }
        {
            const Index* c = cand_[1].data();
            for (Index r = 0, end = ncand_[1]; r < end; ++r) {
                const Index j = c[r];
                const double gj = ca_[j] - cb_[j];
                if (gj > pg || (gj == pg && j < pick)) {
                    pg = gj;
                    pick = j;
                    pick_side = 1;
                    pick_pos = r;
                }
            }
        }
        if (pick >= 0) cand_[pick_side][pick_pos] = cand_[pick_side][--ncand_[pick_side]];
        return pick;
    }
    // Sparse graphs, two_cut: once a sequence has more than kHeapAt candidates, they move to a
    // binary heap of (gain, index) entries, one pushed whenever a candidate's gain changes (stale
    // ones are dropped when they surface), so a step costs O(degree log c) instead of a scan of
    // all c candidates. Only a split of a giant cluster gets there: from one cluster on a 300 x 300
    // grid with unit noise the first split's sequence ran 54,643 steps with up to 28,545
    // candidates, and the scans were 65 % of KL's time. The pick is the scan's (largest gain, ties
    // to the lowest index), so the labels do not change.
    static constexpr Index kHeapAt = 1024;
    struct HeapEntry {
        double g;
        Index j;
    };
    static bool heap_less(const HeapEntry& x, const HeapEntry& y) { return x.g < y.g || (x.g == y.g && x.j > y.j); }
    // The gain of moving node j of the pair to the other side (key() adds the border rule).
    double gain_of(Index j) const { return side_[j] == 0 ? cb_[j] - ca_[j] : ca_[j] - cb_[j]; }
    void heap_push(Index j) {
        heap_.push_back(HeapEntry{gain_of(j), j});
        std::push_heap(heap_.begin(), heap_.end(), heap_less);
    }
    // Moves the current candidates of two_cut into the heap (nodes of the pair not in a list are
    // either moved or not candidates yet; picked_ marks the moved ones, whose entries are stale).
    void start_heap(Index N) {
        heap_on_ = true;
        picked_.assign(static_cast<size_t>(N), 1);
        heap_.clear();
        for (int s = 0; s < 2; ++s)
            for (Index r = 0; r < ncand_[s]; ++r) {
                const Index j = cand_[s][r];
                picked_[j] = 0;
                heap_.push_back(HeapEntry{gain_of(j), j});
            }
        std::make_heap(heap_.begin(), heap_.end(), heap_less);
        clear_candidates();  // the lists are not read again in this sequence
    }
    // best_candidate's pick, from the heap: the top entry that is neither moved nor out of date.
    Index heap_candidate(double& pg) {
        while (!heap_.empty()) {
            const HeapEntry top = heap_.front();
            std::pop_heap(heap_.begin(), heap_.end(), heap_less);
            heap_.pop_back();
            if (picked_[top.j] || top.g != gain_of(top.j)) continue;
            picked_[top.j] = 1;
            pg = top.g;
            return top.j;
        }
        pg = -std::numeric_limits<double>::infinity();
        return -1;
    }

    // The candidate lists of two_cut_sparse keep each candidate's key beside it, updated whenever
    // its sums change: the choice then reads one contiguous array for the largest key, and the
    // node index only where a key ties with it. On gm_knott_3d_032 the old choice, which read
    // cross_, ca_ and cb_ through each listed index, went over 653,333 entries for 20,127 moves,
    // more than the 240,000 adjacency entries of the moves themselves. Same picks: largest gain,
    // ties to the lowest index; in the border-only phase a node with no neighbour across has
    // key -infinity and is never picked.
    double key(Index j) const {
        if (border_only_ && cross_[j] == 0) return -std::numeric_limits<double>::infinity();
        return gain_of(j);
    }
    // The keys of side s's list; entry -1 is a spare slot that a move writes for a moved node.
    double* keys(int s) { return keys_[s].data() + 1; }
    // The kPad keys after the last of a list are -infinity, so that best_keyed reads whole
    // vectors without a scalar tail: a push writes the one that enters that window, a take
    // the one it leaves, and a pair starts with kPad of them (start_keys).
    void push_keyed(Index j) {
        const int s = side_[j] != 0;
        const Index r = ncand_[s]++;
        cand_[s][r] = j;
        keys(s)[r] = key(j);
        keys(s)[r + kPad] = -std::numeric_limits<double>::infinity();
        cpos_[j] = r;
    }
    void start_keys() {
        clear_candidates();
        for (int s = 0; s < 2; ++s)
            for (Index r = 0; r < kPad; ++r) keys(s)[r] = -std::numeric_limits<double>::infinity();
    }
    // Two vector passes over the padded lists: the largest key, then the lowest index among the
    // candidates with that key. Before, lists of fewer than 16 candidates were scanned in one
    // scalar pass with branches, and longer ones had scalar tails of up to 3 keys per list:
    // with the padding and no scalar path, thread CPU of GAEC + KL side by side (7 rounds, min
    // of 20, load 9-11) gm_knott_3d_032 1.05x, grid-100x100-mean0.3 1.05x, grid-100x100-mean0.0
    // 1.03x, supervoxel-4000-2 1.02x; labels identical on the 23 bench_cc sparse instances.
    Index best_keyed(double& pg) {
        const double top = std::max(largest(keys(0), ncand_[0]), largest(keys(1), ncand_[1]));
        if (top == -std::numeric_limits<double>::infinity()) return -1;
        Index pick = std::numeric_limits<Index>::max(), pick_pos = 0;
        int pick_side = 0;
        for (int s = 0; s < 2; ++s) {
            const double* k = keys(s);
            const Index* c = cand_[s].data();
            auto consider = [&](Index r) {
                if (k[r] == top && c[r] < pick) {
                    pick = c[r];
                    pick_side = s;
                    pick_pos = r;
                }
            };
            Index r = 0;
            const Index end = ncand_[s];
#if defined(CORRCLUST_KL_SSE2)
            const __m128d t = _mm_set1_pd(top);
            for (; r < end; r += 4) {  // the -infinity after the list never equals top
                // one bit per key equal to top; only the keys behind the bits are read (usually
                // one). The loop over all four keys of the block, with a branch on each, was a
                // quarter of two_cut_sparse's samples on gm_knott_3d_032 (perf); without it,
                // thread CPU of GAEC + KL side by side (7 rounds, min of 20, load 7-8) knott-032
                // 1.06x, grid-100x100-mean0.3 1.10x, grid-100x100-mean0.0 1.05x,
                // supervoxel-4000-2 1.04x; same picks, labels identical on the 23 instances.
                int bits = _mm_movemask_pd(_mm_cmpeq_pd(_mm_loadu_pd(k + r), t)) |
                           (_mm_movemask_pd(_mm_cmpeq_pd(_mm_loadu_pd(k + r + 2), t)) << 2);
                for (; bits != 0; bits &= bits - 1) {
                    const Index q = r + kLowestBit[bits];
                    if (c[q] < pick) {
                        pick = c[q];
                        pick_side = s;
                        pick_pos = q;
                    }
                }
            }
#endif
            for (; r < end; ++r) consider(r);
        }
        return take(pg, top, pick, pick_side, pick_pos);
    }
    // Removes the pick from its list (swap with the last) and returns it, with its gain in pg.
    Index take(double& pg, double top, Index pick, int pick_side, Index pick_pos) {
        pg = top;
        const Index last = --ncand_[pick_side];
        cand_[pick_side][pick_pos] = cand_[pick_side][last];
        keys(pick_side)[pick_pos] = keys(pick_side)[last];
        cpos_[cand_[pick_side][pick_pos]] = pick_pos;
        cpos_[pick] = -1;
        keys(pick_side)[last] = -std::numeric_limits<double>::infinity();
        return pick;
    }
    void push_candidate(Index j) {
        const int s = side_[j] != 0;
        cand_[s][ncand_[s]++] = j;
    }
    void clear_candidates() { ncand_[0] = ncand_[1] = 0; }

    // The first phase follows a border-only sequence "to its end", but a sequence between a giant
    // cluster and a small neighbour has no end in practice: every node it moves puts new nodes of
    // the giant cluster on the border, so it can walk through all of it, for every neighbour. On
    // a 200 x 200 grid of two planted halves with unit noise (tests/test_kl.py) KL took 8.4 s
    // against bioimage-cpp's 3.1 s, and more than 120 s at 448 x 448. Stopping a first-phase
    // sequence after 1024 steps without a new best prefix: 0.15 s and 1.1 s there (bioimage-cpp
    // 2.6 s and 116 s), with the labels unchanged on the 23 bench_cc sparse rows, on every pinned
    // case of test_kl and on the 324 development instances of bench_kl_quality.py (seeds 300-371
    // even: the same objective on each); 256 changed one of those 324 (+1.1).
    static constexpr Index kBorderPatience = 1024;
    // After a move of gain pg was appended to seq_: accumulates it, remembers the best prefix, and
    // returns false once `patience` moves (kBorderPatience in the first phase) have passed without a
    // new best prefix.
    bool record_step(double pg, double& cum, double& best, Index& best_len) const {
        cum += pg;
        if (cum > best + eps_) {
            best = cum;
            best_len = nseq_;
        }
        return nseq_ - best_len <= (border_only_ ? kBorderPatience : patience_);
    }

    // Chooses between joining the two clusters (gain join_gain) and keeping the best prefix of the
    // sequence (gain best). Sets best_len to the number of moves to keep (0 for a join or for no
    // improvement) and returns the gain applied (0 if none).
    double choose_outcome(double join_gain, double best, Index& best_len, bool& join) {
        join = false;
        if (join_gain > best + eps_ && join_gain > eps_) {
            join = true;
            best_len = 0;
            return join_gain;
        }
        if (best > eps_) return best;
        best_len = 0;
        return 0.0;
    }

    // KL sequence between clusters a and b (b may be empty); applies the best improvement found.
    double two_cut(Index a, Index b, std::int64_t pass) {
        if constexpr (!Policy::complete) {
            if (!members_[a].empty() && !members_[b].empty()) return two_cut_sparse(a, b, pass);
        }
        const Index na = static_cast<Index>(members_[a].size());
        const Index N = na + static_cast<Index>(members_[b].size());
        pair_work_ = Policy::complete ? na * (N - na) + N : N;
        std::copy(members_[a].begin(), members_[a].end(), nodes_.begin());
        std::copy(members_[b].begin(), members_[b].end(), nodes_.begin() + na);
        std::fill_n(side_.begin(), N, 0);
        std::fill_n(ca_.begin(), N, 0.0);
        std::fill_n(cb_.begin(), N, 0.0);
        for (Index j = 0; j < N; ++j) loc_[nodes_[j]] = j;
        for (Index j = 0; j < na; ++j) ca_[j] = in_sum_[nodes_[j]];
        for (Index j = na; j < N; ++j) {
            side_[j] = 1;
            cb_[j] = in_sum_[nodes_[j]];
        }
        // Candidates for moves: on a complete graph every node; on a sparse graph the nodes with a
        // neighbour on the other side (all of A when B is new), extended as nodes move.
        std::fill_n(is_cand_.begin(), N, Policy::complete || na == N ? 1 : 0);
        if constexpr (Policy::complete) {  // every node is a candidate already
            if (na <= N - na) P.cross_sums(nodes_.data(), 0, na, na, N, cb_.data(), ca_.data());
            else P.cross_sums(nodes_.data(), na, N, 0, na, ca_.data(), cb_.data());
        } else if (na <= N - na) {  // cross sums from the smaller side
            for (Index i = 0; i < na; ++i)
                P.for_range(nodes_[i], nodes_, loc_, i, na, N, [&](Index j, double c) {
                    cb_[i] += c;
                    ca_[j] += c;
                    is_cand_[i] = is_cand_[j] = 1;
                });
        } else {
            for (Index j = na; j < N; ++j)
                P.for_range(nodes_[j], nodes_, loc_, j, 0, na, [&](Index i, double c) {
                    cb_[i] += c;
                    ca_[j] += c;
                    is_cand_[i] = is_cand_[j] = 1;
                });
        }
        clear_candidates();
        for (Index j = 0; j < N; ++j)
            if (is_cand_[j]) push_candidate(j);
        double join_gain = 0.0;
        for (Index i = 0; i < na; ++i) join_gain += cb_[i];

        // the sequence
        nseq_ = 0;
        double cum = 0.0, best = 0.0;
        Index best_len = 0;
        for (Index step = 0; step < N; ++step) {
            double pg;
            const Index pick = heap_on_ ? heap_candidate(pg) : best_candidate(pg);
            if (pick < 0) break;
            if (step == 0 && !Policy::complete && na == N) {
                // B is new: any node of A may open it, but later moves are limited to the
                // neighbours of B (marked by move below), as for any other pair
                // (the pick itself stays marked, so it is never listed again); the final split
                // pass does not come here (free_split keeps all of A as candidates)
                for (int s = 0; s < 2; ++s)
                    for (Index r = 0; r < ncand_[s]; ++r) is_cand_[cand_[s][r]] = 0;
                clear_candidates();
            }
            move(pick, N);
            seq_[nseq_++] = pick;
            if (!Policy::complete && !heap_on_ && ncand_[0] + ncand_[1] > kHeapAt) start_heap(N);
            if (!record_step(pg, cum, best, best_len)) break;
            if (poll(8 + P.degree(nodes_[pick]))) break;
        }
        if (heap_on_) {  // the roll-back below moves nodes too: no entries for it
            heap_on_ = false;
            heap_.clear();
        }

        bool join = false;
        const double applied = choose_outcome(join_gain, best, best_len, join);
        if constexpr (!Policy::complete) {  // a split without gain in the first phase (see quiet_split)
            if (border_only_ && na == N && !evaluate_only_ && applied <= 0.0 && !stopped_ &&
                revisit_patience_ <= kBorderPatience)
                quiet_split_[a] = clock_;
        }
        if (applied <= 0.0 || evaluate_only_) {  // nothing changes: the sums are dropped, no roll-back
            for (Index j = 0; j < N; ++j) loc_[nodes_[j]] = -1;
            return applied > 0.0 ? applied : 0.0;
        }
        while (nseq_ > best_len) move(seq_[--nseq_], N);  // undo the tail of the sequence
        if (join) {
            for (Index j = 0; j < N; ++j) {
                in_sum_[nodes_[j]] = ca_[j] + cb_[j];
                side_[j] = 0;
            }
        }
        if (applied > 0.0) write_back_pair(a, b, N, join, pass);
        for (Index j = 0; j < N; ++j) loc_[nodes_[j]] = -1;
        return applied;
    }
    // Rebuilds the member lists of clusters a and b from the pair's sides (side_ of its N nodes, in
    // pair order), relabels the nodes that changed side and marks both clusters changed; an empty
    // one goes back to the free list. Unless join (in_sum_ then already holds the whole-cluster
    // sums), each node's in_sum_ becomes its sum towards its own side. two_cut and free_split.
    void write_back_pair(Index a, Index b, Index N, bool join, std::int64_t pass) {
        members_[a].clear();
        members_[b].clear();
        for (Index j = 0; j < N; ++j) {
            const Index v = nodes_[j];
            const Index c = side_[j] == 0 ? a : b;
            if (label_of_[v] != c) {
                label_of_[v] = c;
                relabelled(v);
            }
            mpos_[v] = static_cast<Index>(members_[c].size());
            members_[c].push_back(v);
            if (!join) in_sum_[v] = side_[j] == 0 ? ca_[j] : cb_[j];
        }
        changed(a, pass);
        changed(b, pass);
        if (members_[a].empty()) free_.push_back(a);
        if (members_[b].empty()) free_.push_back(b);
    }

    // Sparse variant of two_cut for two non-empty clusters. Only the nodes of the smaller cluster and
    // the nodes of the larger one that touch the action are looked at: a node of the larger cluster
    // joins the pair when it is adjacent to the smaller cluster or to a moved node, with its sums
    // computed from its adjacency at that moment. A pair of a huge and a small cluster thus costs
    // O(edges near the small one), not O(size of the huge one). Same moves and gains as two_cut.
    double two_cut_sparse(Index a, Index b, std::int64_t pass) {
        const Index small = members_[a].size() <= members_[b].size() ? a : b;
        const Index large = small == a ? b : a;
        nn_ = 0;
        start_keys();
        // The pair starts with the nodes that have a neighbour across, read from the edges between
        // a and b listed by boundary() and the kept within-cluster sums in_sum_: O(edges between a
        // and b) instead of the adjacency of the whole smaller cluster and the border of the larger
        // one. Every other node of a or b is included when a move first touches it (it cannot be a
        // candidate before). Before, the adjacency scans of this set-up were 85 % of the second
        // phase's work on supervoxel-8000-0 (2.0 M of 2.3 M adjacency entries, 5 moves a pair).
        double join_gain = 0.0;  // summed cost between the clusters
        {
            Index count = 0;
            const BoundaryEdge* e = boundary(a, b, count);
            for (const BoundaryEdge* end = e + count; e != end; ++e) {
                Index jv = loc_[e->v], ju = loc_[e->u];
                if (jv < 0) jv = start_node(e->v, 0);
                if (ju < 0) ju = start_node(e->u, 1);
                cb_[jv] += e->c;
                ca_[ju] += e->c;
                ++cross_[jv];
                ++cross_[ju];
                join_gain += e->c;
            }
            for (Index j = 0; j < nn_; ++j) push_keyed(j);
        }

        // cross_[j]: how many neighbours of node j lie on the other side now. Only nodes with one
        // are offered as moves (a node deep inside its side only cuts edges when it moves): on
        // supervoxel graphs, offering every node ever touched let a sequence wander through
        // interior nodes and miss moves the border-only rule finds (sv-1000-1: +5.59 above
        // bioimage-cpp's KL, equal with this rule).

        nseq_ = 0;
        double cum = 0.0, best = 0.0;
        Index best_len = 0;
        // First phase: whether the second phase's sequence of this pair (which also offers nodes
        // that have left the border) has made the same picks so far, and for how many.
        masked_ = 0;
        bool same = border_only_;
        Index same_len = 0;
        bool ended = false;  // no candidate left
        for (Index step = 0;; ++step) {
            double pg;
            const double hidden = same && masked_ != 0 ? largest_hidden() : kNoneHidden;
            const Index pick = best_keyed(pg);
            if (same) {
                // the second phase offers the hidden nodes too: it picks the same node unless
                // one of them has a key at least as large (ties go to the lower index)
                if (hidden != kNoneHidden && hidden >= (pick < 0 ? -std::numeric_limits<double>::infinity() : pg))
                    same = false;
                else
                    same_len = nseq_ + (pick >= 0);
            }
            if (pick < 0) {
                ended = true;
                break;
            }
            if (same && nseq_ <= revisit_patience_) {
                flip<true>(pick, a, b);
            } else {
                same = false;  // beyond the second phase's horizon: no need to follow it further
                flip(pick, a, b);
            }
            seq_[nseq_++] = pick;
            if (!record_step(pg, cum, best, best_len)) break;
            if (poll(8 + P.degree(nodes_[pick]))) break;
        }

        bool join = false;
        const double applied = choose_outcome(join_gain, best, best_len, join);
        const Index N = nn_;
        pair_work_ = N;
        // A first-phase sequence that changed nothing, and whose first revisit_patience + 1 picks
        // (or all of them, when it ran out of candidates first) the second phase makes too, tells
        // the second phase's outcome for this pair: no prefix of those picks gained, so that
        // sequence stops after them without a gain. quiet_pair() skips the pair while neither
        // cluster changes.
        if (border_only_ && !evaluate_only_ && applied <= 0.0 && !stopped_ &&
            (same_len > revisit_patience_ || (ended && same && same_len == nseq_)))
            remember_quiet(a, b);
        if (applied <= 0.0 || evaluate_only_) {  // nothing changes: no roll-back (most pairs end here)
            for (Index j = 0; j < N; ++j) loc_[nodes_[j]] = -1;
            return applied > 0.0 ? applied : 0.0;
        }
        // The roll-back also runs before a join: in_sum_ is set from ca_ + cb_ of the start state
        // (the same sum, but rounded as in the start state).
        while (nseq_ > best_len) flip(seq_[--nseq_], a, b);
        if (join) {  // the smaller cluster moves into the larger one
            for (Index j = 0; j < N; ++j) in_sum_[nodes_[j]] = ca_[j] + cb_[j];
            auto& ms = members_[small];
            auto& ml = members_[large];
            for (const Index v : ms) {
                label_of_[v] = large;
                relabelled(v);
                mpos_[v] = static_cast<Index>(ml.size());
                ml.push_back(v);
            }
            ms.clear();
            free_.push_back(small);
            changed(a, pass);
            changed(b, pass);
        } else if (applied > 0.0) {
            for (Index j = 0; j < N; ++j) in_sum_[nodes_[j]] = side_[j] == 0 ? ca_[j] : cb_[j];
            for (Index r = 0; r < nseq_; ++r) {  // the moves of the best prefix
                const Index j = seq_[r];
                move_node(nodes_[j], side_[j] == 0 ? a : b);
            }
            changed(a, pass);
            changed(b, pass);
            if (members_[a].empty()) free_.push_back(a);
            if (members_[b].empty()) free_.push_back(b);
        }
        for (Index j = 0; j < N; ++j) loc_[nodes_[j]] = -1;
        return applied;
    }

    // Flips node j of the pair (a, b) of two_cut_sparse to the other side: updates the sums, the
    // counts of neighbours across and the keys of its neighbours in the pair, and brings in its
    // neighbours of a or b not in the pair yet. The arrays sit in __restrict locals and every write
    // goes through them: as a lambda that captured them by reference, the flip was not inlined and
    // reloaded each array pointer through its capture for every neighbour (objdump), and a char
    // store (side_) could alias anything. On gm_knott_3d_032 the flips are 58 % of KL's
    // instructions.
    template <bool Track = false>
    void flip(Index j, Index a, Index b) {
        Index* const __restrict nodes = nodes_.data();
        const Index* const __restrict label = label_of_.data();
        Index* const __restrict loc = loc_.data();
        double* const __restrict ca = ca_.data();
        double* const __restrict cb = cb_.data();
        Index* const __restrict xs = cross_.data();
        char* const __restrict side = side_.data();
        Index* const __restrict cpos = cpos_.data();
        double* const keys[2] = {this->keys(0), this->keys(1)};
        Index* const cand[2] = {cand_[0].data(), cand_[1].data()};
        const double* const __restrict in_sum = in_sum_.data();
        constexpr double kNoKey = -std::numeric_limits<double>::infinity();
        constexpr std::uint64_t kNoKeyBits = 0xFFF0000000000000ULL;  // kNoKey's bits
        const bool border = border_only_;
        const Index v = nodes[j];
        const bool to_b = side[j] == 0;
        const char now = to_b ? 1 : 0;
        side[j] = now;
        Index cross = 0;
        std::uint64_t masked = 0;  // all ones once an unmoved neighbour lost its last neighbour across
        const double sign = to_b ? 1.0 : -1.0;  // exact: c and -c
        P.for_neighbors(v, [&](Index w, double c) {
            const Index l = loc[w];
            if (l >= 0) {
                const double d = sign * c;
                const double na = ca[l] - d, nb = cb[l] + d;
                ca[l] = na;
                cb[l] = nb;
                // v left l's side (l now sees one more node across) or joined it (one less)
                const char sl = side[l];
                const bool across = sl != now;
                const Index x = xs[l] + (across ? 1 : -1);
                xs[l] = x;
                cross += across;
                // l's key (as key(), exactly: times -1 is a negation): a moved l (cpos -1) writes
                // to the spare entry before the list
                const double g = (nb - na) * kSideSign[static_cast<int>(sl)];
                // -infinity without a branch: whether x just fell to 0 follows no pattern. Thread
                // CPU side by side against the conditional (7 rounds, min of 20, load 5-6):
                // knott-032 1.03x, grid-100x100-mean0.3 1.06x, grid-100x100-mean0.0 1.05x,
                // supervoxel-4000-2 1.04x, supervoxel-8000-0 1.04x, grid-300x300 1.03x, the
                // geometric graphs, knott-034 and 3096 1.00-1.01x; labels identical (23 instances).
                const std::uint64_t none = std::uint64_t{0} - static_cast<std::uint64_t>(border & (x == 0));
                if constexpr (Track) masked |= none & (std::uint64_t{0} - static_cast<std::uint64_t>(cpos[l] >= 0));
                std::uint64_t bits;
                std::memcpy(&bits, &g, sizeof bits);
                bits = (bits & ~none) | (kNoKeyBits & none);
                double key;
                std::memcpy(&key, &bits, sizeof key);
                if constexpr (Track) hidden_key_[l] = g;  // the key the second phase would see
                keys[static_cast<int>(sl)][cpos[l]] = key;
                return;
            }
            if (label[w] == a || label[w] == b) {
                // w enters the pair. It had no neighbour in the other cluster (or boundary()
                // would have listed it) and no moved neighbour (each move includes all its
                // neighbours in a and b) until v, of w's own cluster, moved across now: so
                // its sums are its within-cluster sum less c on its side and c across,
                // without a scan of its adjacency (on supervoxel-8000-0 these scans were 1.4 M
                // of the first phase's 4.7 M adjacency entries). What start_node + push_keyed
                // do, written out: their writes through the vectors would alias the __restrict
                // locals above.
                const Index k = nn_++;
                const int sk = now == 0 ? 1 : 0;
                loc[w] = k;
                nodes[k] = w;
                side[k] = static_cast<char>(sk);
                const double own = in_sum[w] - c;
                ca[k] = sk == 0 ? own : c;
                cb[k] = sk == 0 ? c : own;
                xs[k] = 1;
                ++cross;
                const Index r = ncand_[sk]++;
                cand[sk][r] = k;
                keys[sk][r] = sk == 0 ? cb[k] - ca[k] : ca[k] - cb[k];
                keys[sk][r + kPad] = kNoKey;
                cpos[k] = r;
            }
        });
        xs[j] = cross;
        if constexpr (Track) masked_ |= masked;
    }

    // Adds node v (of side s, untouched by the pair so far) with its within-cluster sum; the edges
    // across are added by the caller. Returns its index in the pair.
    Index start_node(Index v, int s) {
        const Index j = nn_++;
        loc_[v] = j;
        nodes_[j] = v;
        side_[j] = static_cast<char>(s);
        ca_[j] = s == 0 ? in_sum_[v] : 0.0;
        cb_[j] = s == 0 ? 0.0 : in_sum_[v];
        cross_[j] = 0;
        cpos_[j] = -1;
        return j;
    }

    // The edges (v in a, u in b, cost) between cluster a and cluster b > a, in the order of a's
    // members and adjacency; count of them. One scan of a's adjacency lists them for all b > a at
    // once, and serves every pair of a's turn in the pass while a and the b in question are
    // unchanged (boundary_at_ is the event of the scan). When that listing is out of date and a is
    // much larger than b, the edges of this pair alone are gathered from b's side instead
    // (boundary_from_small): a pair that changes a giant cluster made the next pair of its turn
    // scan all of the giant cluster again, so carving it up cost O(|a|) per pair.
    const BoundaryEdge* boundary(Index a, Index b, Index& count) {
        if (boundary_mark_.size() < members_.size()) {  // clusters created since the listing
            boundary_mark_.resize(members_.size(), -1);
            boundary_count_.resize(members_.size(), 0);
            boundary_first_.resize(members_.size(), 0);
        }
        if (boundary_of_ != a || version_[a] > boundary_at_ || version_[b] > boundary_at_) {
            if (members_[a].size() > kDirectRatio * members_[b].size()) {
                count = boundary_from_small(a, b);
                return pair_edges_.data();
            }
            list_boundary(a);
        }
        if (boundary_mark_[b] != boundary_turn_) {  // no edge between a and b
            boundary_mark_[b] = boundary_turn_;
            boundary_count_[b] = 0;
            boundary_first_[b] = 0;
        }
        count = boundary_count_[b];
        return edges_ab_.data() + boundary_first_[b];
    }
    // boundary() takes the edges of a pair from b's side when a has more than this many times b's
    // members. The edges come out in the order list_boundary gives them (a's member order, then
    // the order of each node's adjacency), so the pair's sums and picks are the same either way.
    static constexpr size_t kDirectRatio = 8;
    // The edges between a and b into pair_edges_, in list_boundary's order, from the adjacency of
    // b's members and of the nodes of a they touch: O(edges at b + edges at those nodes), not
    // O(edges at a). Returns how many.
    Index boundary_from_small(Index a, Index b) {
        const std::int64_t turn = ++node_turn_;  // marks the nodes of a met, in node_mark_
        if (node_mark_.size() < static_cast<size_t>(n_)) node_mark_.assign(static_cast<size_t>(n_), -1);
        touched_a_.clear();
        for (const Index u : members_[b])
            P.for_neighbors(u, [&](Index v, double) {
                if (label_of_[v] == a && node_mark_[v] != turn) {
                    node_mark_[v] = turn;
                    touched_a_.push_back(v);
                }
            });
        std::sort(touched_a_.begin(), touched_a_.end(), [&](Index x, Index y) { return mpos_[x] < mpos_[y]; });
        pair_edges_.clear();
        for (const Index v : touched_a_)
            P.for_neighbors(v, [&](Index u, double c) {
                if (label_of_[u] == b) pair_edges_.push_back(BoundaryEdge{v, u, c, b});
            });
        return static_cast<Index>(pair_edges_.size());
    }
    // Lists a's edges to higher clusters: edges_ab_ by cluster, the clusters met in listed_.
    void list_boundary(Index a) {
        boundary_mark_.resize(members_.size(), -1);
        boundary_count_.resize(members_.size(), 0);
        boundary_first_.resize(members_.size(), 0);
        boundary_of_ = a;
        boundary_at_ = ++clock_;
        const std::int64_t turn = ++boundary_turn_;
        scratch_.clear();
        listed_.clear();
        for (const Index v : members_[a])
            P.for_neighbors(v, [&](Index u, double c) {
                const Index t = label_of_[u];
                if (t <= a) return;
                if (boundary_mark_[t] != turn) {
                    boundary_mark_[t] = turn;
                    boundary_count_[t] = 0;
                    listed_.push_back(t);
                }
                ++boundary_count_[t];
                scratch_.push_back(BoundaryEdge{v, u, c, t});
            });
        // stable counting sort by b; boundary_first_[t] is first the fill point, then the start
        Index next = 0;
        for (const Index t : listed_) {
            boundary_first_[t] = next;
            next += boundary_count_[t];
        }
        edges_ab_.resize(scratch_.size());
        for (const BoundaryEdge& e : scratch_) edges_ab_[boundary_first_[e.b]++] = e;
        for (const Index t : listed_) boundary_first_[t] -= boundary_count_[t];
    }

    // Flips node j of the current pair to the other side and updates the sums of all nodes.
    void move(Index j, Index N) {
        const Index v = nodes_[j];
        if (side_[j] == 0) {
            side_[j] = 1;
            P.for_range(v, nodes_, loc_, j, 0, N, [&](Index i, double c) {
                ca_[i] -= c;
                cb_[i] += c;
                mark_candidate(i);
            });
        } else {
            side_[j] = 0;
            P.for_range(v, nodes_, loc_, j, 0, N, [&](Index i, double c) {
                ca_[i] += c;
                cb_[i] -= c;
                mark_candidate(i);
            });
        }
    }

    // True once control_ says stop; reads the clock only every kPollWork units of work.
    bool poll(Index work) {
        if (stopped_) return true;
        budget_ -= work;
        if (budget_ > 0) return false;
        budget_ = kPollWork;
        stopped_ = control_.stop();
        return stopped_;
    }

    // Moves node v into cluster `to` (the last member of its old cluster takes its place there).
    void move_node(Index v, Index to) {
        auto& from = members_[label_of_[v]];
        const Index last = from.back();
        from[mpos_[v]] = last;
        mpos_[last] = mpos_[v];
        from.pop_back();
        mpos_[v] = static_cast<Index>(members_[to].size());
        members_[to].push_back(v);
        label_of_[v] = to;
        relabelled(v);
    }

    // After v changed cluster: v and its neighbours must be looked at by the next vertex sweep.
    void relabelled(Index v) {
        if constexpr (!Policy::complete) {
            if (spec_round_ > 0) {  // both clusters of v differ from the state speculate() saw
                if (label_of_[v] >= static_cast<Index>(changed_.size())) changed_.resize(members_.size(), 0);
                changed_[label_of_[v]] = spec_round_;
                changed_[spec_label_[v]] = spec_round_;
            }
            sweep_dirty_[v] = 1;
            P.for_neighbors(v, [&](Index u, double) {
                sweep_dirty_[u] = 1;
                near_[label_of_[u]] = clock_;
            });
        }
    }

    // Cluster c gained or lost members in this pass.
    void changed(Index c, std::int64_t pass) {
        stamp_[c] = pass;
        version_[c] = ++clock_;
    }

    void mark_candidate(Index i) {
        if constexpr (!Policy::complete) {
            if (heap_on_) {  // i's gain changed: a fresh entry (a node new to the sequence is unpicked)
                if (!is_cand_[i]) {
                    is_cand_[i] = 1;
                    picked_[i] = 0;
                }
                if (!picked_[i]) heap_push(i);
                return;
            }
        }
        if (Policy::complete || is_cand_[i]) return;
        is_cand_[i] = 1;
        push_candidate(i);
    }

    const Policy& P;
    Labels& label_;
    Control& control_;
    Index n_;
    double start_objective_ = 0.0;
    Labels label_of_;
    std::vector<std::vector<Index>> members_;
    std::vector<std::int64_t> stamp_;
    // Sparse graphs: clock_ counts events; version_[c] is the event at which cluster c last changed,
    // batch_start_[c] / split_start_[c] the event at which c's pairs / c's split were last started
    // in this phase (-1: not yet)
    std::vector<std::int64_t> version_, batch_start_, split_start_;
    // Sparse graphs: near_[c] is (at least) the event of the last cluster change of a node next to
    // a member of c; nbrs_of_[c] the neighbouring clusters b > c listed at c's last listing turn
    std::vector<std::int64_t> near_;
    std::vector<std::vector<Index>> nbrs_of_;
    std::int64_t clock_ = 0;
    std::vector<double> in_sum_;
    std::vector<Index> loc_, free_;
    std::vector<std::int64_t> seen_;  // turn_ at which a cluster was last listed as a neighbour
    std::int64_t turn_ = 0;
    std::vector<Index> mpos_;  // position of each node in its cluster's member list
    // The current pair: its first nn_ entries (sparse path) or N (two_cut); all sized n in setup().
    std::vector<Index> nodes_, seq_, cross_;
    bool border_only_ = false;  // sparse sequences offer only nodes with a neighbour across (cross_ > 0)
    std::vector<Index> cand_[2];  // unmoved candidates of the current sequence, by side
    std::vector<double> keys_[2];  // two_cut_sparse: the key of each listed candidate (key())
    std::vector<Index> cpos_;      // two_cut_sparse: a candidate's place in its list, -1 once moved
    std::vector<char> side_, is_cand_;  // is_cand_: is or was a candidate (moved nodes stay marked)
    Index nn_ = 0, nseq_ = 0, ncand_[2] = {0, 0};
    Index pair_work_ = 0;  // set-up work of the last pair, for poll()
    Index budget_ = kPollWork;
    bool stopped_ = false;
    std::vector<double> ca_, cb_, acc_;
    std::vector<Index> touched_;
    std::vector<char> touched_flag_;
    std::vector<char> sweep_dirty_;  // sparse: nodes the next vertex sweep must evaluate
    Index patience_;                // KlOptions::patience (sparse second phase: revisit_patience)
    const double min_improvement_;  // KlOptions::min_improvement
    const bool revisit_;            // KlOptions::revisit
    const Index revisit_patience_;  // KlOptions::revisit_patience
    const bool final_split_;        // KlOptions::final_split
    const Index polish_max_nodes_;  // KlOptions::polish_max_nodes (0: no polish phase)
    const Index polish_patience_;   // KlOptions::patience, the polish phase's patience
    // polish(): pairs (and splits) of more nodes are left out; the largest Index outside it
    Index pair_cap_ = std::numeric_limits<Index>::max();
    double eps_ = 0.0;              // min_improvement * max(1, largest |cost|), set by setup()
    // speculate(): the pairs of the pass, by cluster a; whether each could change (1) or not (0)
    std::vector<std::pair<Index, Index>> spec_pairs_;
    std::vector<Index> spec_start_;
    std::vector<char> spec_gain_;
    Labels spec_label_;                // labels when the pass started
    std::vector<std::int64_t> changed_;  // == spec_round_: the cluster changed since
    std::int64_t spec_round_ = 0;      // 0: no speculation for this pass
    bool evaluate_only_ = false;       // two_cut_sparse returns the gain without applying it
    std::atomic<bool> spec_abort_{false};
    int threads_ = 1;
    std::vector<std::unique_ptr<KernighanLin>> shadows_;
    std::vector<std::unique_ptr<Labels>> shadow_labels_;
    std::vector<std::unique_ptr<Control>> shadow_controls_;
    std::vector<Index> listed_;                 // boundary(): the clusters b met, in order
    std::vector<BoundaryEdge> scratch_, edges_ab_;     // boundary(): the listed edges, unsorted and sorted
    std::vector<Index> boundary_count_, boundary_first_;  // by cluster b
    std::vector<std::int64_t> boundary_mark_;           // by cluster b: boundary_turn_ when listed
    bool heap_on_ = false;          // two_cut's candidates are in heap_ (see kHeapAt)
    std::vector<HeapEntry> heap_;
    std::vector<char> picked_;      // heap_on_: node of the pair moved in this sequence (or not a candidate)
    std::vector<std::int64_t> node_mark_;               // boundary_from_small(): node_turn_ when met
    std::int64_t node_turn_ = -1;
    std::vector<Index> touched_a_;                      // boundary_from_small(): a's nodes met
    std::vector<BoundaryEdge> pair_edges_;              // boundary_from_small(): the pair's edges
    Index boundary_of_ = -1;                    // the cluster a whose edges edges_ab_ holds
    // First phase: all ones once a flip of the current sequence took the last neighbour across
    // from an unmoved node; hidden_key_, that node's key without the border rule (flip<true>)
    std::uint64_t masked_ = 0;
    std::vector<double> hidden_key_;
    // remember_quiet(): per cluster a, (b, clock_) of first-phase pairs without gain, recorded
    // since a's last change (quiet_epoch_); quiet_split_[a]: clock_ of a's split without gain
    std::vector<std::vector<std::pair<Index, std::int64_t>>> quiet_of_;
    std::vector<std::int64_t> quiet_epoch_, quiet_split_;
    std::int64_t boundary_at_ = -1, boundary_turn_ = -1;
};

template <class Problem, class Policy>
double run_kl(const Problem& problem, const Policy& policy, Labels& labels, Control& control,
              HeuristicStats* stats, const KlOptions& options) {
    if (control.stop()) {  // nothing to do; just report the start
        detail::relabel(labels);
        const double obj = objective(problem, labels);
        if (stats) stats->objective = obj;
        return obj;
    }
    Labels start = labels;
    detail::ProgressThrottle progress(control, "kl");
    KernighanLin<Policy> kl(policy, labels, control, options);
    const std::int64_t passes = kl.run(progress);
    const double start_obj = kl.start_objective();
    if (stats) stats->iterations = passes;
    double obj = objective(problem, labels);
    if (obj > start_obj) {  // only possible through rounding in the incremental sums
        labels = std::move(start);
        obj = start_obj;
    }
    detail::relabel(labels);
    if (stats) stats->objective = obj;
    return obj;
}

}  // namespace

void validate(const KlOptions& o) {
    if (o.patience < 0) throw std::invalid_argument("patience must be >= 0");
    if (o.revisit_patience < 0) throw std::invalid_argument("revisit_patience must be >= 0");
    if (o.sparse_threads < 0) throw std::invalid_argument("sparse_threads must be >= 0");
    if (!(o.min_improvement >= 0) || !std::isfinite(o.min_improvement))
        throw std::invalid_argument("min_improvement must be a finite number >= 0");
    if (o.polish_max_nodes < 0) throw std::invalid_argument("polish_max_nodes must be >= 0 (0: no polish phase)");
    if (o.threads < 0) throw std::invalid_argument("threads must be >= 0 (0: as many as the hardware has, at most 2)");
}

double kernighan_lin_ex(const DenseView& problem, Labels& labels, Control& control, HeuristicStats* stats,
                        const KlOptions& options) {
    return run_kl(problem, DensePolicy{problem}, labels, control, stats, options);
}
double kernighan_lin_ex(const SparseGraph& problem, Labels& labels, Control& control, HeuristicStats* stats,
                        const KlOptions& options) {
    return run_kl(problem, SparsePolicy{problem}, labels, control, stats, options);
}
double kernighan_lin(const DenseView& problem, Labels& labels, Control& control, const KlOptions& options) {
    return kernighan_lin_ex(problem, labels, control, nullptr, options);
}
double kernighan_lin(const SparseGraph& problem, Labels& labels, Control& control, const KlOptions& options) {
    return kernighan_lin_ex(problem, labels, control, nullptr, options);
}

}  // namespace corrclust
