// Branch-and-cut for minimum-cost multicut; see branch_and_cut.hpp for the method.
#include "corrclust/branch_and_cut.hpp"

#include "corrclust/cycle_separation.hpp"
#include "corrclust/local_cut_separation.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <numeric>
#include <queue>
#include <stdexcept>
#include <unordered_set>
#include <utility>
#include <vector>

namespace corrclust {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct UnionFind {
    std::vector<int> parent;
    explicit UnionFind(int n) : parent(static_cast<size_t>(n)) { std::iota(parent.begin(), parent.end(), 0); }
    int find(int x) {
        while (parent[x] != x) {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        return x;
    }
    bool unite(int a, int b) {
        a = find(a);
        b = find(b);
        if (a == b) return false;
        if (a < b) std::swap(a, b);
        parent[a] = b;
        return true;
    }
};

// The graph the LP lives on: one column per edge.
struct EdgeGraph {
    int n = 0;
    bool complete = false;  // K_n with edge index complete_index(i, j)
    std::vector<int> eu, ev;
    std::vector<double> cost;
    std::vector<int> adj_off, adj_node, adj_edge;

    int m() const { return static_cast<int>(eu.size()); }
    int complete_index(int i, int j) const {
        if (i > j) std::swap(i, j);
        return i * n - i * (i + 1) / 2 + (j - i - 1);
    }
    void build_adjacency() {
        adj_off.assign(static_cast<size_t>(n) + 1, 0);
        for (int e = 0; e < m(); ++e) {
            ++adj_off[eu[e] + 1];
            ++adj_off[ev[e] + 1];
        }
        for (int i = 0; i < n; ++i) adj_off[i + 1] += adj_off[i];
        adj_node.resize(2 * static_cast<size_t>(m()));
        adj_edge.resize(2 * static_cast<size_t>(m()));
        std::vector<int> fill(adj_off.begin(), adj_off.end() - 1);
        for (int e = 0; e < m(); ++e) {
            adj_node[fill[eu[e]]] = ev[e];
            adj_edge[fill[eu[e]]++] = e;
            adj_node[fill[ev[e]]] = eu[e];
            adj_edge[fill[ev[e]]++] = e;
        }
    }
};

EdgeGraph graph_from(const DenseView& p) {
    if (p.n > 46000) throw std::invalid_argument("branch_and_cut: dense problem too large");
    EdgeGraph g;
    g.n = static_cast<int>(p.n);
    g.complete = true;
    const size_t m = static_cast<size_t>(p.n) * static_cast<size_t>(p.n - 1) / 2;
    g.eu.reserve(m);
    g.ev.reserve(m);
    g.cost.reserve(m);
    for (int i = 0; i < g.n; ++i)
        for (int j = i + 1; j < g.n; ++j) {
            g.eu.push_back(i);
            g.ev.push_back(j);
            g.cost.push_back(p(i, j));
        }
    g.build_adjacency();
    return g;
}

EdgeGraph graph_from(const SparseGraph& s) {
    if (s.n > std::numeric_limits<int>::max() / 2 || s.num_edges() > std::numeric_limits<int>::max() / 4)
        throw std::invalid_argument("branch_and_cut: sparse problem too large");
    EdgeGraph g;
    g.n = static_cast<int>(s.n);
    g.complete = false;
    for (Index e = 0; e < s.num_edges(); ++e) {
        g.eu.push_back(static_cast<int>(s.edge_u[e]));
        g.ev.push_back(static_cast<int>(s.edge_v[e]));
        g.cost.push_back(s.edge_cost[e]);
    }
    g.build_adjacency();
    return g;
}

// A violated inequality sum_k val[k] y_{idx[k]} <= rhs.
struct Cut {
    double violation;
    std::vector<int> idx;
    std::vector<double> val;
    double rhs;
};

// The cycle inequality y_cut <= sum_{f in path} y_f.
Cut cycle_cut(double violation, int cut_edge, const std::vector<int>& path) {
    Cut c{violation, {cut_edge}, {1.0}, 0.0};
    for (int f : path) {
        c.idx.push_back(f);
        c.val.push_back(-1.0);
    }
    return c;
}

// Reduces a closed odd walk over nodes 0..k-1 (the start not repeated at the end) to a simple odd
// cycle, in place: at a repeated node the walk splits into two closed walks, one of them odd, and
// the odd one is kept until no node repeats. With weights >= 0 the cycle is no heavier than the
// walk. Shared by the dense and the sparse odd-wheel separators.
static void reduce_to_odd_cycle(std::vector<int>& walk, int k) {
    for (bool again = true; again;) {
        again = false;
        std::vector<int> seen_at(static_cast<size_t>(k), -1);
        for (int p = 0; p < static_cast<int>(walk.size()); ++p) {
            const int v = walk[p];
            if (seen_at[v] < 0) {
                seen_at[v] = p;
                continue;
            }
            const int a = seen_at[v];
            std::vector<int> inner(walk.begin() + a, walk.begin() + p);
            std::vector<int> outer(walk.begin(), walk.begin() + a);
            outer.insert(outer.end(), walk.begin() + p, walk.end());
            walk = inner.size() % 2 == 1 ? std::move(inner) : std::move(outer);
            again = true;
            break;
        }
    }
}

std::uint64_t hash_cut(const Cut& c) {
    std::vector<std::pair<int, double>> terms(c.idx.size());
    for (size_t k = 0; k < c.idx.size(); ++k) terms[k] = {c.idx[k], c.val[k]};
    std::sort(terms.begin(), terms.end());
    std::uint64_t h = 1469598103934665603ull ^ static_cast<std::uint64_t>(std::llround(c.rhs * 8));
    for (const auto& [e, v] : terms) {
        // The coefficient enters too: local cuts share supports and signs with different values.
        const std::uint64_t x = static_cast<std::uint64_t>(e) * 4 + (v > 0 ? 1 : 2) +
                                (static_cast<std::uint64_t>(std::llround(std::abs(v) * 4096)) << 40);
        h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
        h *= 1099511628211ull;
    }
    return h;
}

// A separator that backs off while it finds nothing: after a round without cuts it skips the next
// 1, 2, 4, .. 64 chances; a round with cuts resets it.
struct Backoff {
    int skip = 0;  // chances left to skip
    int wait = 1;  // the next back-off
    // Whether this chance is taken (counts a skipped one).
    bool due() { return skip-- <= 0; }
    void found(bool any) {
        if (any) {
            skip = 0;
            wait = 1;
        } else {
            skip = wait;
            wait = std::min(2 * wait, 64);
        }
    }
};

struct Node {
    double bound;
    int depth;
    std::int64_t seq;
    std::vector<std::pair<int, signed char>> fixes;  // branching decisions (edge, 0 join / 1 cut)
};

struct NodeOrder {
    bool operator()(const Node& a, const Node& b) const {  // true: a after b
        if (a.bound != b.bound) return a.bound > b.bound;
        if (a.depth != b.depth) return a.depth < b.depth;
        return a.seq > b.seq;
    }
};

class Solver {
public:
    Solver(EdgeGraph g, Control& control, const BncOptions& options, const LabelsImprover& improve)
        : g_(std::move(g)), control_(control), opt_(options), improve_(improve) {}

    BncResult run(const Labels* warm_start);

private:
    // ---- incumbent ----
    double labels_objective(const Labels& labels) const {
        double total = 0.0;
        for (int e = 0; e < g_.m(); ++e)
            if (labels[g_.eu[e]] != labels[g_.ev[e]]) total += g_.cost[e];
        return total;
    }
    // Clusters = connected components of the edges whose ends share a label (a multicut's
    // node labelling); never changes the objective.
    Labels canonical(const Labels& labels) const {
        UnionFind uf(g_.n);
        for (int e = 0; e < g_.m(); ++e)
            if (labels[g_.eu[e]] == labels[g_.ev[e]]) uf.unite(g_.eu[e], g_.ev[e]);
        Labels out(static_cast<size_t>(g_.n));
        for (int i = 0; i < g_.n; ++i) out[i] = uf.find(i);
        normalize_labels(out);
        return out;
    }
    Labels round_lp(const std::vector<double>& y) const {
        UnionFind uf(g_.n);
        for (int e = 0; e < g_.m(); ++e)
            if (y[e] < 0.5) uf.unite(g_.eu[e], g_.ev[e]);
        Labels out(static_cast<size_t>(g_.n));
        for (int i = 0; i < g_.n; ++i) out[i] = uf.find(i);
        return out;
    }
    void offer(Labels labels, bool run_improver) {
        const double t0 = control_.elapsed();
        if (run_improver && improve_ && !control_.stopped()) improve_(labels, control_);
        const double value = labels_objective(labels);
        if (value < best_value_ - 1e-12) {
            best_value_ = value;
            best_ = std::move(labels);
            if (opt_.verbose) std::fprintf(stderr, "[bnc] %8.3fs incumbent %.6f\n", control_.elapsed(), value);
        }
        heuristic_time_ += control_.elapsed() - t0;
    }

    // ---- bounds ----
    double tolerance() const { return std::max(opt_.abs_gap, 1e-9 * std::abs(best_value_)); }
    // Whether a region with LP bound `lb` cannot hold a solution better than the incumbent.
    bool prunable(double lb) const {
        if (integral_costs_) return std::ceil(lb - 1e-6) >= best_value_ - 0.5;
        return lb >= best_value_ - tolerance();
    }
    double effective_bound(double lb) const { return integral_costs_ ? std::ceil(lb - 1e-6) : lb; }

    // ---- LP ----
    LpStatus solve(LpMethod method) {
        const double t0 = control_.elapsed();
        LpStatus st = lp_->solve(method, control_.remaining());
        if (st == LpStatus::error && method != LpMethod::ipm_crossover) st = lp_->solve(LpMethod::ipm_crossover, control_.remaining());
        lp_time_ += control_.elapsed() - t0;
        ++lp_solves_;
        lp_iterations_ += lp_->iterations();
        if (st == LpStatus::error) throw std::runtime_error("branch_and_cut: the LP solver failed");
        if (st == LpStatus::time_limit || st == LpStatus::interrupted) control_.stop();
        return st;
    }
    void read_solution() { lp_->solution(y_, activity_); }

    // ---- separation ----
    std::vector<Cut> separate_triangles(const std::vector<double>& y) const;
    std::vector<Cut> separate_cycles(const std::vector<double>& y);
    std::vector<Cut> separate_contracted(const std::vector<double>& y) {
        if (!cycles_) cycles_ = std::make_unique<CycleSeparator>(g_.n, g_.eu, g_.ev, g_.adj_off, g_.adj_node, g_.adj_edge);
        std::vector<Cut> cuts;
        for (ViolatedCycle& c : cycles_->separate(y, opt_.min_violation, 2 * static_cast<size_t>(cap_)))
            cuts.push_back(cycle_cut(c.violation, c.edge, c.path));
        return cuts;
    }
    std::vector<Cut> separate_stars(const std::vector<double>& y) const;
    std::vector<Cut> separate_odd_wheels(const std::vector<double>& y) const;
    std::vector<Cut> separate_sparse_wheels(const std::vector<double>& y);
    // Adds the most violated new cuts (at most the per-round cap); returns how many.
    int add_cuts(std::vector<Cut> cuts);
    void purge(int max_age);
    int separate_and_add() {
        const double t0 = control_.elapsed();
        std::vector<Cut> cuts = g_.complete && opt_.triangle_cuts ? separate_triangles(y_)
                                : opt_.cycle_cuts && opt_.contract_cycles ? separate_contracted(y_)
                                : opt_.cycle_cuts                ? separate_cycles(y_)
                                                                  : std::vector<Cut>{};
        // Stopped (time limit, Ctrl-C): no LP is solved after this, so the cuts are not built into
        // it (loading the 3.1 * 10^6 triangle rows of a complete graph of 2,500 nodes took seconds
        // past the time limit, qa14). -1, not 0: "no violated cut" would let the root count as
        // solved and a tree node with an integral point as a multicut, and drop it.
        if (control_.stopped()) {
            separation_time_ += control_.elapsed() - t0;
            return -1;
        }
        // Stars only once the triangles are (nearly) exhausted: they are denser rows, and early
        // on the cheap triangles move the LP point more per unit of LP work.
        if (g_.complete && opt_.star_cuts && static_cast<int>(cuts.size()) <= tree_cap_ / 20) {
            std::vector<Cut> more = separate_stars(y_);
            if (opt_.odd_wheel_cuts) {
                std::vector<Cut> wheels = separate_odd_wheels(y_);
                more.insert(more.end(), std::make_move_iterator(wheels.begin()), std::make_move_iterator(wheels.end()));
            }
            star_round_ = !more.empty();
            cuts.insert(cuts.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
            std::stable_sort(cuts.begin(), cuts.end(),
                             [](const Cut& a, const Cut& b) { return a.violation > b.violation; });
        }
        // Wheels back off while they find nothing (Backoff). On the superpixel graphs none is ever violated
        // and every chance cost a full pass (org-3: separation 0.41 -> 1.27 s); on the supervoxel
        // graphs they are found in most rounds and are what proves them (docs/exact.md, session 10).
        if (!g_.complete && opt_.cycle_cuts && opt_.sparse_wheel_cuts &&
            static_cast<int>(cuts.size()) <= tree_cap_ / 20 && wheel_backoff_.due()) {
            std::vector<Cut> more = separate_sparse_wheels(y_);
            wheel_backoff_.found(!more.empty());
            cuts.insert(cuts.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
            std::stable_sort(cuts.begin(), cuts.end(),
                             [](const Cut& a, const Cut& b) { return a.violation > b.violation; });
        }
        // Local cuts last, when cycles and wheels found nothing: each set costs a small LP over its
        // partitions, and most of what they cut off at a fresh point is cycles (docs/exact.md, session 16).
        if (!g_.complete && opt_.local_cuts && cuts.empty() && (in_root_ || opt_.tree_local_cuts) &&
            (in_root_ || local_backoff_.due())) {
            if (!local_)
                local_ = std::make_unique<LocalCutSeparator>(g_.n, g_.eu, g_.ev, g_.adj_off, g_.adj_node, g_.adj_edge);
            LocalCutOptions lo;
            lo.min_size = opt_.local_cut_min_size;
            lo.max_size = opt_.local_cut_max_size;
            lo.max_sets = opt_.local_cut_sets;
            lo.row_generation = opt_.local_cut_row_generation;
            lo.growth = opt_.local_cut_growth;
            const double t1 = control_.elapsed();
            for (LocalCut& c : local_->separate(y_, std::max(opt_.min_violation, 1e-4), lo, control_))
                cuts.push_back(Cut{c.violation, std::move(c.idx), std::move(c.val), c.rhs});
            local_time_ += control_.elapsed() - t1;
            local_found_ += static_cast<std::int64_t>(cuts.size());
            if (!in_root_) local_backoff_.found(!cuts.empty());
            if (opt_.verbose)
                std::fprintf(stderr, "[bnc] %8.3fs local cuts %zu (%.2fs, %lld sets so far)\n", control_.elapsed(),
                             cuts.size(), control_.elapsed() - t1, static_cast<long long>(local_->sets_tried()));
            if (control_.stopped()) {
                separation_time_ += control_.elapsed() - t0;
                return -1;
            }
        }
        separation_time_ += control_.elapsed() - t0;
        return add_cuts(std::move(cuts));
    }

    // ---- search ----
    // Fixings implied by the branching decisions, or false if they contradict each other.
    bool propagate(const std::vector<std::pair<int, signed char>>& fixes, std::vector<signed char>& want) const;
    void apply_fixings(const std::vector<signed char>& want);
    bool is_integral(const std::vector<double>& y) const {
        for (double v : y)
            if (v > 1e-6 && v < 1 - 1e-6) return false;
        return true;
    }
    void report(const char* phase, double lb) {
        if (!control_.has_progress()) return;
        Progress p;
        p.phase = phase;
        p.objective = best_value_;
        p.lower_bound = std::min(lb, best_value_);  // an interior-point value may overshoot by its tolerance
        p.done = nodes_;
        control_.report(p);
    }

    EdgeGraph g_;
    Control& control_;
    BncOptions opt_;
    LabelsImprover improve_;
    std::unique_ptr<LpBackend> lp_;
    bool integral_costs_ = false;
    int cap_ = 1000;       // cuts per round now (root_cap_ at the root, tree_cap_ in the tree)
    int root_cap_ = 1000, tree_cap_ = 1000;
    bool star_round_ = false;  // the last separation produced star cuts
    Backoff wheel_backoff_;  // sparse wheels
    bool in_root_ = true;
    Backoff local_backoff_;  // local cuts in the tree
    double local_time_ = 0;
    std::int64_t local_found_ = 0;
    std::unique_ptr<LocalCutSeparator> local_;

    Labels best_;
    double best_value_ = kInf;

    std::vector<double> y_, activity_;
    std::vector<double> rc_;  // reduced costs of the last tree LP (empty: none usable)
    double rc_bound_ = 0.0;   // its objective
    std::int64_t rc_fixed_ = 0;
    std::vector<int> row_age_;
    std::vector<std::uint64_t> row_hash_;
    std::vector<double> row_rhs_;
    std::unordered_set<std::uint64_t> in_lp_;
    std::vector<signed char> fixed_;  // what the LP's column bounds currently say

    std::int64_t nodes_ = 0, cuts_ = 0, lp_solves_ = 0, lp_iterations_ = 0, max_rows_ = 0;
    double lp_time_ = 0, separation_time_ = 0, heuristic_time_ = 0;

    std::unique_ptr<CycleSeparator> cycles_;  // contract_cycles
    // scratch for Dijkstra
    std::vector<double> dist_;
    std::vector<int> stamp_, pred_edge_, target_stamp_, hops_;
    int cur_stamp_ = 0;
};

std::vector<Cut> Solver::separate_triangles(const std::vector<double>& y) const {
    const int n = g_.n;
    const double tol = opt_.min_violation;
    std::vector<double> Y(static_cast<size_t>(n) * n, 0.0);
    for (int e = 0; e < g_.m(); ++e) Y[static_cast<size_t>(g_.eu[e]) * n + g_.ev[e]] = Y[static_cast<size_t>(g_.ev[e]) * n + g_.eu[e]] = y[e];
    struct Cand {
        double viol;
        int i, j, k, which;
    };
    // Only the 4 * cap_ most violated are kept, and the list is cut back to those whenever it
    // doubles: at the first LP of a complete graph about 3/8 of all n^3/6 triangles are violated,
    // 6 * 10^7 at n = 1000 (1.9 GB peak RSS, seconds past the time limit) and 10^9 at n = 2500,
    // where the list ended in std::bad_alloc (found by qa14). The same most violated set is kept.
    const size_t keep_at_most = static_cast<size_t>(cap_) * 4;
    const auto more_violated = [](const Cand& x, const Cand& z) { return x.viol > z.viol; };
    std::vector<Cand> cand;
    for (int i = 0; i < n; ++i) {
        if (cand.size() >= 2 * keep_at_most && keep_at_most > 0) {
            std::nth_element(cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(keep_at_most), cand.end(),
                             more_violated);
            cand.resize(keep_at_most);
        }
        if ((i & 15) == 0 && control_.stop()) return {};  // no LP follows (see separate_and_add)
        const double* Yi = &Y[static_cast<size_t>(i) * n];
        for (int j = i + 1; j < n; ++j) {
            const double a = Yi[j];
            const double* Yj = &Y[static_cast<size_t>(j) * n];
            for (int k = j + 1; k < n; ++k) {
                const double b = Yi[k], c = Yj[k];
                // Cheap test first: a triangle can only be violated if its largest side exceeds the sum of the others.
                if (a - b - c > tol) cand.push_back({a - b - c, i, j, k, 0});
                else if (b - a - c > tol) cand.push_back({b - a - c, i, j, k, 1});
                else if (c - a - b > tol) cand.push_back({c - a - b, i, j, k, 2});
            }
        }
    }
    const size_t keep = std::min(cand.size(), keep_at_most);
    std::partial_sort(cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(keep), cand.end(), more_violated);
    cand.resize(keep);
    std::vector<Cut> cuts;
    cuts.reserve(keep);
    for (const Cand& c : cand) {
        const int ij = g_.complete_index(c.i, c.j), ik = g_.complete_index(c.i, c.k), jk = g_.complete_index(c.j, c.k);
        if (c.which == 0) cuts.push_back(cycle_cut(c.viol, ij, {ik, jk}));
        else if (c.which == 1) cuts.push_back(cycle_cut(c.viol, ik, {ij, jk}));
        else cuts.push_back(cycle_cut(c.viol, jk, {ij, ik}));
    }
    return cuts;
}

// Two-partition inequalities with a one-node side (Groetschel-Wakabayashi), in join variables
// x = 1 - y: for a centre s and a set T, sum_{t in T} x_st - sum_{t < t' in T} x_tt' <= 1. With
// |T| = 2 they are the triangle inequalities. Greedy separation: for each s and a few first members
// t0 (largest x_st), add t in order of decreasing x_st while its marginal gain stays positive.
// Odd-wheel inequalities (complete graphs), in join variables x = 1 - y: for a hub h and a
// simple cycle c_1 .. c_k of odd length k among the other nodes,
//     sum_i x_{h c_i} - sum_i x_{c_i c_{i+1}} <= floor(k / 2)
// (in a partition, the cycle nodes in h's cluster form paths of the cycle, or the whole cycle; each
// path contributes its node count minus its edge count, 1, and at most floor(k/2) paths fit).
// The lightest closed odd walk through node s of the k nodes whose pair weights are w (k x k, row
// major, >= 0; kInf: no edge; the diagonal is never used), if it weighs less than `limit`: Dijkstra
// from (s, even) to (s, odd) in the double cover over (node, parity), stopped once the nearest open
// label reaches the limit. The walk is returned in `walk` as a simple odd cycle of node indices
// (reduce_to_odd_cycle). dist, pred and done are the caller's scratch space. Shared by the dense and
// the sparse odd-wheel separators.
static bool shortest_odd_cycle(const std::vector<double>& w, int k, int s, double limit, std::vector<double>& dist,
                               std::vector<int>& pred, std::vector<char>& done, std::vector<int>& walk) {
    dist.assign(2 * static_cast<size_t>(k), kInf);
    pred.assign(2 * static_cast<size_t>(k), -1);
    done.assign(2 * static_cast<size_t>(k), 0);
    dist[2 * s] = 0.0;
    const int goal = 2 * s + 1;
    for (;;) {
        int cur = -1;
        for (int q = 0; q < 2 * k; ++q)
            if (!done[q] && dist[q] < kInf && (cur < 0 || dist[q] < dist[cur])) cur = q;
        if (cur < 0 || cur == goal || dist[cur] >= limit) break;
        done[cur] = 1;
        const int a = cur / 2, par = cur % 2;
        for (int b = 0; b < k; ++b) {
            const double wt = w[static_cast<size_t>(a) * k + b];
            if (b == a || wt == kInf) continue;
            const int nxt = 2 * b + (1 - par);
            if (!done[nxt] && dist[cur] + wt < dist[nxt]) {
                dist[nxt] = dist[cur] + wt;
                pred[nxt] = cur;
            }
        }
    }
    if (!(dist[goal] < limit)) return false;
    walk.clear();
    for (int q = goal; q != -1; q = pred[q]) walk.push_back(q / 2);
    walk.pop_back();  // the start appears at both ends
    reduce_to_odd_cycle(walk, k);
    return true;
}

// Rewritten per cycle edge as sum_i w_{c_i c_{i+1}} < 1/2 with w_ij = 1/2 + x_ij - (x_hi + x_hj)/2,
// which is >= 0 under the triangle inequalities; so a most violated wheel at hub h is a shortest odd
// cycle, found by Dijkstra in the bipartite double cover of the nodes with x_hi > 0.
std::vector<Cut> Solver::separate_odd_wheels(const std::vector<double>& y) const {
    const int n = g_.n;
    const double tol = opt_.min_violation;
    std::vector<Cut> cuts;
    auto X = [&](int a, int b) { return 1.0 - y[g_.complete_index(a, b)]; };
    std::vector<int> V;
    std::vector<double> w, dist;
    std::vector<int> pred;
    std::vector<char> done;
    for (int h = 0; h < n; ++h) {
        V.clear();
        for (int i = 0; i < n; ++i)
            if (i != h && X(h, i) > 1e-3) V.push_back(i);
        const int k = static_cast<int>(V.size());
        if (k < 5) continue;  // k = 3 wheels are star cuts
        w.assign(static_cast<size_t>(k) * k, 0.0);
        for (int a = 0; a < k; ++a)
            for (int b = a + 1; b < k; ++b)
                w[static_cast<size_t>(a) * k + b] = w[static_cast<size_t>(b) * k + a] =
                    std::max(0.0, 0.5 + X(V[a], V[b]) - 0.5 * (X(h, V[a]) + X(h, V[b])));
        int found = 0;
        for (int s = 0; s < k && found < opt_.odd_wheels_per_hub; ++s) {
            std::vector<int> walk;
            if (!shortest_odd_cycle(w, k, s, 0.5 - tol, dist, pred, done, walk)) continue;
            const int len = static_cast<int>(walk.size());
            if (len < 5 || len % 2 == 0) continue;
            double lhs = 0.0;
            Cut c{0.0, {}, {}, static_cast<double>(len / 2)};
            for (int p = 0; p < len; ++p) {
                const int a = V[walk[p]], b = V[walk[(p + 1) % len]];
                lhs += X(h, a) - X(a, b);
                c.idx.push_back(g_.complete_index(a, b));
                c.val.push_back(1.0);
                c.idx.push_back(g_.complete_index(h, a));
                c.val.push_back(-1.0);
            }
            c.violation = lhs - len / 2;
            if (c.violation <= tol) continue;
            cuts.push_back(std::move(c));
            ++found;
        }
    }
    return cuts;
}

// Odd-wheel inequalities on sparse graphs, the same inequality as above: a hub h and an odd cycle
// c_1 .. c_k (k >= 3) of its neighbours whose rim edges c_i c_{i+1} exist. In a planar region
// adjacency graph the neighbours of a node form such a ring, so wheels are everywhere, and the
// cycle inequalities leave them fractional. The search is the dense one restricted to the
// neighbourhood of h (a few to a few dozen nodes), rim weights w_ab = 1/2 + x_ab - (x_ha + x_hb)/2.
std::vector<Cut> Solver::separate_sparse_wheels(const std::vector<double>& y) {
    const int n = g_.n;
    const double tol = opt_.min_violation;
    std::vector<Cut> cuts;
    std::vector<int> V, spoke, slot(static_cast<size_t>(n), -1), walk;
    std::vector<double> w, dist;
    std::vector<int> pred, rim;
    std::vector<char> done;
    for (int h = 0; h < n; ++h) {
        V.clear();
        spoke.clear();
        for (int a = g_.adj_off[h]; a < g_.adj_off[h + 1]; ++a)
            if (1.0 - y[g_.adj_edge[a]] > 1e-3 && slot[g_.adj_node[a]] < 0) {
                slot[g_.adj_node[a]] = static_cast<int>(V.size());
                V.push_back(g_.adj_node[a]);
                spoke.push_back(g_.adj_edge[a]);
            }
        const int k = static_cast<int>(V.size());
        if (k >= 3) {
            // Rim edges among V: weight and edge index (-1: absent).
            w.assign(static_cast<size_t>(k) * k, kInf);
            rim.assign(static_cast<size_t>(k) * k, -1);
            bool any = false;
            for (int p = 0; p < k; ++p)
                for (int a = g_.adj_off[V[p]]; a < g_.adj_off[V[p] + 1]; ++a) {
                    const int q = slot[g_.adj_node[a]];
                    if (q < 0 || q == p) continue;
                    const int e = g_.adj_edge[a];
                    const double wt = std::max(0.0, 0.5 + (1.0 - y[e]) - 0.5 * ((1.0 - y[spoke[p]]) + (1.0 - y[spoke[q]])));
                    if (wt < w[static_cast<size_t>(p) * k + q]) {
                        w[static_cast<size_t>(p) * k + q] = wt;
                        rim[static_cast<size_t>(p) * k + q] = e;
                        any = true;
                    }
                }
            int found = 0;
            for (int s = 0; any && s < k && found < opt_.odd_wheels_per_hub; ++s) {
                if (!shortest_odd_cycle(w, k, s, 0.5 - tol, dist, pred, done, walk)) continue;
                const int len = static_cast<int>(walk.size());
                if (len < 3 || len % 2 == 0) continue;
                // In cut variables y = 1 - x: sum_i y_{c_i c_{i+1}} - sum_i y_{h c_i} <= floor(k/2).
                Cut c{0.0, {}, {}, static_cast<double>(len / 2)};
                double lhs = 0.0;
                bool ok = true;
                for (int p = 0; p < len && ok; ++p) {
                    const int a = walk[p], b = walk[(p + 1) % len];
                    const int e = rim[static_cast<size_t>(a) * k + b];
                    if (e < 0) ok = false;
                    else {
                        lhs += (1.0 - y[spoke[a]]) - (1.0 - y[e]);
                        c.idx.push_back(e);
                        c.val.push_back(1.0);
                        c.idx.push_back(spoke[a]);
                        c.val.push_back(-1.0);
                    }
                }
                if (!ok) continue;
                c.violation = lhs - len / 2;
                if (c.violation <= tol) continue;
                cuts.push_back(std::move(c));
                ++found;
            }
        }
        for (int v : V) slot[v] = -1;
    }
    return cuts;
}

std::vector<Cut> Solver::separate_stars(const std::vector<double>& y) const {
    const int n = g_.n;
    const double tol = opt_.min_violation;
    std::vector<Cut> cuts;
    std::vector<int> order, T;
    std::vector<double> x_s(static_cast<size_t>(n));
    auto X = [&](int a, int b) { return 1.0 - y[g_.complete_index(a, b)]; };
    for (int s = 0; s < n; ++s) {
        order.clear();
        for (int t = 0; t < n; ++t) {
            if (t == s) continue;
            x_s[t] = X(s, t);
            if (x_s[t] > tol) order.push_back(t);
        }
        if (order.size() < 3) continue;
        std::sort(order.begin(), order.end(), [&](int a, int b) { return x_s[a] > x_s[b]; });
        const size_t starts = std::min<size_t>(order.size(), 6);
        for (size_t st = 0; st < starts; ++st) {
            T.assign(1, order[st]);
            double lhs = x_s[order[st]];
            for (int t : order) {
                if (static_cast<int>(T.size()) >= opt_.max_star_size) break;
                if (t == order[st]) continue;
                double gain = x_s[t];
                for (int u : T) {
                    gain -= X(t, u);
                    if (gain <= tol) break;
                }
                if (gain > tol) {
                    T.push_back(t);
                    lhs += gain;
                }
            }
            if (T.size() < 3 || lhs <= 1.0 + tol) continue;
            Cut c{lhs - 1.0, {}, {}, 0.0};
            const double k = static_cast<double>(T.size());
            c.rhs = 1.0 - k + k * (k - 1) / 2;
            for (size_t a = 0; a < T.size(); ++a) {
                c.idx.push_back(g_.complete_index(s, T[a]));
                c.val.push_back(-1.0);
                for (size_t b = a + 1; b < T.size(); ++b) {
                    c.idx.push_back(g_.complete_index(T[a], T[b]));
                    c.val.push_back(1.0);
                }
            }
            cuts.push_back(std::move(c));
        }
    }
    return cuts;
}

// For each node u, one Dijkstra in the graph weighted by max(y, 0), bounded by the largest y of
// the edges uv (u < v) it must explain. A u-v path shorter than y_uv cannot be the edge uv itself,
// so it closes a violated cycle with uv.
std::vector<Cut> Solver::separate_cycles(const std::vector<double>& y) {
    const int n = g_.n;
    const double tol = opt_.min_violation;
    if (dist_.size() != static_cast<size_t>(n)) {
        dist_.assign(static_cast<size_t>(n), kInf);
        stamp_.assign(static_cast<size_t>(n), 0);
        pred_edge_.assign(static_cast<size_t>(n), -1);
        target_stamp_.assign(static_cast<size_t>(n), 0);
    }
    std::vector<Cut> cuts;
    // Lexicographic (length, hops): among paths of equal length (many have length 0 at nearly
    // integral points) the one with the fewest edges is found, which gives shorter, stronger
    // cycles and lets the search stop after a small ball instead of a whole joined region.
    struct Item {
        double d;
        int hops, x;
        bool operator>(const Item& o) const { return d != o.d ? d > o.d : hops > o.hops; }
    };
    std::priority_queue<Item, std::vector<Item>, std::greater<Item>> heap;
    if (hops_.size() != static_cast<size_t>(n)) hops_.assign(static_cast<size_t>(n), 0);
    for (int u = 0; u < n; ++u) {
        double radius = 0.0;
        int targets = 0;
        ++cur_stamp_;
        for (int a = g_.adj_off[u]; a < g_.adj_off[u + 1]; ++a)
            if (g_.adj_node[a] > u && y[g_.adj_edge[a]] > tol) {
                radius = std::max(radius, y[g_.adj_edge[a]]);
                if (target_stamp_[g_.adj_node[a]] != cur_stamp_) {
                    target_stamp_[g_.adj_node[a]] = cur_stamp_;
                    ++targets;
                }
            }
        if (targets == 0) continue;
        radius -= tol;
        heap = {};
        stamp_[u] = cur_stamp_;
        dist_[u] = 0.0;
        hops_[u] = 0;
        pred_edge_[u] = -1;
        heap.push({0.0, 0, u});
        while (!heap.empty()) {
            const Item it = heap.top();
            heap.pop();
            const double d = it.d;
            const int x = it.x;
            if (d > dist_[x] || (d == dist_[x] && it.hops > hops_[x])) continue;
            if (d >= radius) break;
            // Settled: once every neighbour to explain is settled, no later node can matter.
            if (target_stamp_[x] == cur_stamp_ && x != u && --targets == 0) break;
            for (int a = g_.adj_off[x]; a < g_.adj_off[x + 1]; ++a) {
                const int z = g_.adj_node[a], e = g_.adj_edge[a];
                const double nd = d + std::max(y[e], 0.0);
                if (nd >= radius) continue;
                const int nh = it.hops + 1;
                if (stamp_[z] != cur_stamp_ || nd < dist_[z] || (nd == dist_[z] && nh < hops_[z])) {
                    stamp_[z] = cur_stamp_;
                    dist_[z] = nd;
                    hops_[z] = nh;
                    pred_edge_[z] = e;
                    heap.push({nd, nh, z});
                }
            }
        }
        for (int a = g_.adj_off[u]; a < g_.adj_off[u + 1]; ++a) {
            const int v = g_.adj_node[a], e = g_.adj_edge[a];
            if (v < u || stamp_[v] != cur_stamp_) continue;
            const double viol = y[e] - dist_[v];
            if (viol <= tol || pred_edge_[v] == e) continue;
            std::vector<int> path;
            for (int x = v; x != u;) {
                const int f = pred_edge_[x];
                path.push_back(f);
                x = g_.eu[f] == x ? g_.ev[f] : g_.eu[f];
            }
            cuts.push_back(cycle_cut(viol, e, path));
        }
    }
    std::sort(cuts.begin(), cuts.end(), [](const Cut& a, const Cut& b) { return a.violation > b.violation; });
    return cuts;
}

int Solver::add_cuts(std::vector<Cut> cuts) {
    LpRows rows;
    int added = 0;
    for (Cut& c : cuts) {
        if (added >= cap_) break;
        const std::uint64_t h = hash_cut(c);
        if (!in_lp_.insert(h).second) continue;
        rows.add(-kInf, c.rhs, c.idx.data(), c.val.data(), static_cast<int>(c.idx.size()));
        row_hash_.push_back(h);
        row_rhs_.push_back(c.rhs);
        row_age_.push_back(0);
        ++added;
    }
    lp_->add_rows(rows);
    cuts_ += added;
    max_rows_ = std::max<std::int64_t>(max_rows_, lp_->num_rows());
    return added;
}

// Deletes rows that had slack in `max_age` consecutive solves (activity_ is of the last solve).
void Solver::purge(int max_age) {
    std::vector<int> drop;
    const int rows = static_cast<int>(row_age_.size());
    for (int r = 0; r < rows && r < static_cast<int>(activity_.size()); ++r) {
        if (activity_[r] < row_rhs_[r] - 1e-5) {
            if (++row_age_[r] >= max_age) drop.push_back(r);
        } else {
            row_age_[r] = 0;
        }
    }
    if (drop.empty()) return;
    lp_->delete_rows(drop);
    std::vector<char> gone(static_cast<size_t>(rows), 0);
    for (int r : drop) {
        gone[r] = 1;
        in_lp_.erase(row_hash_[r]);
    }
    int w = 0;
    for (int r = 0; r < rows; ++r) {
        if (gone[r]) continue;
        row_age_[w] = row_age_[r];
        row_hash_[w] = row_hash_[r];
        row_rhs_[w] = row_rhs_[r];
        ++w;
    }
    row_age_.resize(static_cast<size_t>(w));
    row_hash_.resize(static_cast<size_t>(w));
    row_rhs_.resize(static_cast<size_t>(w));
    activity_.clear();  // stale now
}

bool Solver::propagate(const std::vector<std::pair<int, signed char>>& fixes, std::vector<signed char>& want) const {
    UnionFind uf(g_.n);
    for (const auto& [e, v] : fixes)
        if (v == 0) uf.unite(g_.eu[e], g_.ev[e]);
    std::unordered_set<std::uint64_t> cut_pairs;
    for (const auto& [e, v] : fixes) {
        if (v != 1) continue;
        int a = uf.find(g_.eu[e]), b = uf.find(g_.ev[e]);
        if (a == b) return false;
        if (a > b) std::swap(a, b);
        cut_pairs.insert(static_cast<std::uint64_t>(a) << 32 | static_cast<std::uint32_t>(b));
    }
    want.assign(static_cast<size_t>(g_.m()), -1);
    for (int e = 0; e < g_.m(); ++e) {
        int a = uf.find(g_.eu[e]), b = uf.find(g_.ev[e]);
        if (a == b) {
            want[e] = 0;
        } else if (!cut_pairs.empty()) {
            if (a > b) std::swap(a, b);
            if (cut_pairs.count(static_cast<std::uint64_t>(a) << 32 | static_cast<std::uint32_t>(b))) want[e] = 1;
        }
    }
    return true;
}

void Solver::apply_fixings(const std::vector<signed char>& want) {
    std::vector<int> cols;
    std::vector<double> lo, hi;
    for (int e = 0; e < g_.m(); ++e) {
        if (want[e] == fixed_[e]) continue;
        cols.push_back(e);
        lo.push_back(want[e] == 1 ? 1.0 : 0.0);
        hi.push_back(want[e] == 0 ? 0.0 : 1.0);
        fixed_[e] = want[e];
    }
    lp_->set_column_bounds(cols, lo, hi);
}

BncResult Solver::run(const Labels* warm_start) {
    BncResult res;
    const int m = g_.m();
    integral_costs_ = std::all_of(g_.cost.begin(), g_.cost.end(),
                                  [](double c) { return std::abs(c - std::round(c)) < 1e-9 && std::abs(c) < 1e15; });
    tree_cap_ = opt_.max_cuts_per_round > 0 ? opt_.max_cuts_per_round : std::max(1000, 8 * g_.n);
    root_cap_ = opt_.root_cuts_per_round > 0 ? opt_.root_cuts_per_round
                : g_.complete                  ? std::max(tree_cap_, g_.n * g_.n / 2)
                                               : tree_cap_;
    cap_ = root_cap_;

    // First incumbents: all joined, the components of attractive edges, the warm start.
    best_.assign(static_cast<size_t>(g_.n), 0);
    best_value_ = 0.0;
    {
        std::vector<double> y0(static_cast<size_t>(m));
        for (int e = 0; e < m; ++e) y0[e] = g_.cost[e] > 0 ? 0.0 : 1.0;
        offer(round_lp(y0), true);
    }
    if (warm_start) offer(*warm_start, true);

    // Trivial bound, valid before any LP: cut every repulsive edge, join every attractive one.
    double global_lb = 0.0;
    for (double c : g_.cost) global_lb += std::min(c, 0.0);
    bool done = false;
    if (m == 0) {
        done = true;
        global_lb = best_value_;
    } else if (!control_.stop()) {
        // Not when already stopped (a time limit spent by the first incumbent and the reductions,
        // or Ctrl-C): loading the m columns took seconds on a sparse graph of 8 * 10^6 edges, and
        // the incumbents above are then the answer, with the trivial bound.
        lp_ = make_highs_backend();
        lp_->set_interrupt([this] { return control_.stop(); });
        std::vector<double> lo(static_cast<size_t>(m), 0.0), hi(static_cast<size_t>(m), 1.0);
        lp_->add_columns(g_.cost, lo, hi);
        fixed_.assign(static_cast<size_t>(m), -1);
    }

    // ---- root cutting-plane loop ----
    LpMethod method = opt_.root_method;
    std::int64_t rounds = 0;
    double root_lp = -kInf;
    bool root_solved = false;  // last root LP solved to optimality with a basis for the tree
    bool star_phase_started = false;
    while (!done && !control_.stop()) {
        const LpStatus st = solve(method);
        if (st != LpStatus::optimal) break;  // time limit / interrupted (infeasible is impossible here)
        ++rounds;
        read_solution();
        root_lp = lp_->objective();
        global_lb = std::max(global_lb, root_lp);
        offer(round_lp(y_), rounds <= 2 || heuristic_time_ < 0.1 * control_.elapsed());
        report("bnc-root", effective_bound(global_lb));
        if (prunable(root_lp) && method != LpMethod::ipm) {
            done = true;
            break;
        }
        const int added = separate_and_add();
        if (opt_.verbose)
            std::fprintf(stderr, "[bnc] %8.3fs root round %lld (%s) lp %.6f best %.6f rows %d +%d\n",
                         control_.elapsed(), static_cast<long long>(rounds), to_string(method), root_lp,
                         best_value_, lp_->num_rows(), added);
        if (added == 0 || (method == LpMethod::ipm && prunable(root_lp))) {
            if (method == LpMethod::ipm) {
                // Interior point without crossover has no vertex and no basis: finish with crossover,
                // whose basis warm-starts the dual simplex from here on.
                method = LpMethod::ipm_crossover;
                continue;
            }
            if (added == 0) {
                root_solved = true;
                break;
            }
        }
        if (method == LpMethod::ipm_crossover) method = opt_.tree_method;
        else if (method == LpMethod::dual_simplex && opt_.star_ipm && star_round_ && !star_phase_started &&
                   g_.m() >= opt_.star_ipm_min_edges) {
            // Star rows are dense: from here on interior point solves the root LPs much faster than
            // the dual simplex, which pivots through long degenerate stretches (docs/exact.md).
            star_phase_started = true;
            method = LpMethod::ipm;
        }
        if (method == LpMethod::ipm && added < opt_.ipm_switch_fraction * cap_) {
            // Few new rows: a warm-started dual simplex beats another interior-point solve from scratch.
            method = LpMethod::ipm_crossover;
        }
        purge(opt_.purge_age);
    }
    res.root_bound = effective_bound(root_lp);
    res.root_time = control_.elapsed();
    res.root_rounds = rounds;
    if (!done && root_solved && prunable(root_lp)) done = true;

    // ---- branch and bound ----
    cap_ = tree_cap_;
    in_root_ = false;
    std::priority_queue<Node, std::vector<Node>, NodeOrder> open;
    std::int64_t seq = 0;
    bool node_limit = false;
    if (!done && !control_.stopped()) open.push(Node{root_lp, 0, seq++, {}});
    std::vector<signed char> want;
    double last_report = 0.0;
    while (!open.empty()) {
        if (control_.stop()) break;
        if (opt_.max_nodes >= 0 && nodes_ >= opt_.max_nodes) {
            node_limit = true;
            break;
        }
        Node node = open.top();
        open.pop();
        if (prunable(node.bound)) continue;
        ++nodes_;
        if (!propagate(node.fixes, want)) continue;
        apply_fixings(want);
        int node_round = 0;
        bool interrupted = false, pruned = false, integral = false;
        double lb = node.bound;
        for (;;) {
            const LpStatus st = solve(opt_.tree_method);
            if (st == LpStatus::time_limit || st == LpStatus::interrupted) {
                interrupted = true;
                break;
            }
            if (st == LpStatus::infeasible) {
                pruned = true;
                break;
            }
            lb = std::max(lb, lp_->objective());
            if (prunable(lb)) {
                pruned = true;
                break;
            }
            read_solution();
            if (opt_.reduced_cost_fixing && lp_->has_basis()) {
                lp_->reduced_costs(rc_);
                rc_bound_ = lp_->objective();
            } else {
                rc_.clear();
            }
            integral = is_integral(y_);
            if (node_round >= opt_.node_rounds && !integral) break;
            const int added = separate_and_add();
            if (added == 0) break;
            ++node_round;
            if (control_.stop()) {
                interrupted = true;
                break;
            }
        }
        if (opt_.verbose && nodes_ <= 50)
            std::fprintf(stderr, "[bnc] %8.3fs node %lld depth %d rounds %d lb %.6f rows %d it %lld%s%s\n",
                         control_.elapsed(), static_cast<long long>(nodes_), node.depth, node_round, lb,
                         lp_->num_rows(), static_cast<long long>(lp_iterations_), pruned ? " pruned" : "",
                         integral ? " integral" : "");
        if (interrupted) {
            open.push(std::move(node));
            break;
        }
        if (!pruned || lp_->num_rows() > 2 * tree_cap_) purge(opt_.tree_purge_age);
        if (pruned) continue;
        if (integral) {
            // Integral and no violated cycle inequality: a multicut; its components are the clusters.
            offer(round_lp(y_), false);
            continue;
        }
        // Kernighan-Lin on the rounded point while the primal side has used < 10 % of the time.
        offer(round_lp(y_), heuristic_time_ < 0.1 * control_.elapsed());
        if (prunable(lb)) continue;
        // Branch on the most fractional edge; ties by |cost|. Branching on the largest
        // min(y, 1 - y) |c_e| instead explored the same nodes with the same LP iterations on three
        // 4,000-node superpixel instances (273, 105, 61 nodes): most children are pruned by their
        // first LP whichever fractional edge is chosen. Not kept. Nor on noisy supervoxel graphs
        // (session 15): bound after 300 nodes -10172.20 against -10170.68 (1500 nodes, seed 6), after
        // 150 nodes better on one development graph and worse on another (docs/exact.md).
        int best_e = -1;
        double best_score = -1.0;
        for (int e = 0; e < m; ++e) {
            const double f = std::min(y_[e], 1.0 - y_[e]);
            if (f <= 1e-6) continue;
            const double score = f * (1.0 + 1e-3 * std::abs(g_.cost[e]));
            if (score > best_score) {
                best_score = score;
                best_e = e;
            }
        }
        if (best_e < 0) continue;  // cannot happen: not integral means some fractional edge
        // Reduced-cost fixing: an edge at a bound whose reduced cost alone would lift the LP
        // bound of this node to the incumbent keeps that bound in every better solution below.
        std::vector<std::pair<int, signed char>> fixes = node.fixes;
        if (!rc_.empty()) {
            for (int e = 0; e < m; ++e) {
                if (want[e] >= 0 || e == best_e) continue;
                if (y_[e] < 1e-6 && rc_[e] > 1e-9 && prunable(rc_bound_ + rc_[e])) fixes.emplace_back(e, 0);
                else if (y_[e] > 1 - 1e-6 && rc_[e] < -1e-9 && prunable(rc_bound_ - rc_[e])) fixes.emplace_back(e, 1);
            }
            rc_fixed_ += static_cast<std::int64_t>(fixes.size() - node.fixes.size());
        }
        const signed char first = y_[best_e] < 0.5 ? 0 : 1;
        for (signed char v : {static_cast<signed char>(1 - first), first}) {
            Node child{lb, node.depth + 1, seq++, fixes};
            child.fixes.emplace_back(best_e, v);
            open.push(std::move(child));
        }
        if (opt_.verbose && nodes_ % 100 == 0)
            std::fprintf(stderr, "[bnc] %8.3fs nodes %lld open %zu lb %.6f best %.6f rows %d\n", control_.elapsed(),
                         static_cast<long long>(nodes_), open.size(), effective_bound(open.top().bound), best_value_,
                         lp_->num_rows());
        if (control_.elapsed() - last_report > 0.2) {
            last_report = control_.elapsed();
            report("bnc", effective_bound(open.empty() ? best_value_ : open.top().bound));
        }
    }

    // ---- result ----
    double lb;
    if (done) {
        lb = best_value_;
    } else if (open.empty() && !control_.stopped() && !node_limit && root_solved) {
        lb = best_value_;  // the tree was exhausted
    } else if (open.empty()) {
        lb = global_lb;
    } else {
        lb = std::min(open.top().bound, best_value_);
        lb = std::max(lb, std::min(global_lb, best_value_));
    }
    lb = std::min(effective_bound(lb), best_value_);
    res.labels = canonical(best_);
    res.objective = labels_objective(res.labels);
    res.lower_bound = lb;
    const double gap_abs = res.objective - lb;
    res.gap = std::max(0.0, gap_abs) / std::max(std::abs(res.objective), 1e-9);
    if (gap_abs <= tolerance() || (integral_costs_ && gap_abs < 0.5)) {
        res.status = "optimal";
        res.gap = std::max(0.0, gap_abs) / std::max(std::abs(res.objective), 1e-9);
    } else if (control_.reason() == StopReason::interrupted) {
        res.status = "interrupted";
    } else if (control_.reason() == StopReason::time_limit) {
        res.status = "time_limit";
    } else if (node_limit) {
        res.status = "node_limit";
    } else {
        res.status = "time_limit";
    }
    res.nodes = nodes_;
    res.reduced_cost_fixings = rc_fixed_;
    res.cuts = cuts_;
    res.lp_solves = lp_solves_;
    res.lp_iterations = lp_iterations_;
    res.max_rows = max_rows_;
    res.lp_time = lp_time_;
    res.separation_time = separation_time_;
    res.local_cut_time = local_time_;
    res.local_cuts = local_found_;
    res.heuristic_time = heuristic_time_;
    res.runtime = control_.elapsed();
    report("bnc", lb);
    return res;
}

}  // namespace

BncResult branch_and_cut(const DenseView& problem, Control& control, const BncOptions& options,
                         const Labels* warm_start, const LabelsImprover& improve) {
    Solver s(graph_from(problem), control, options, improve);
    return s.run(warm_start);
}

BncResult branch_and_cut(const SparseGraph& problem, Control& control, const BncOptions& options,
                         const Labels* warm_start, const LabelsImprover& improve) {
    Solver s(graph_from(problem), control, options, improve);
    return s.run(warm_start);
}

}  // namespace corrclust
