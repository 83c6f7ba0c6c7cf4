// Dual lower bound by cycle packing and message passing on triangles (see dual_bound.hpp).
//
// The bound is a reparametrisation of the objective: edge costs c_e and triangle cost vectors
// theta_t with  sum_e c0_e x_e = sum_e c_e x_e + sum_t <theta_t, x_t>  for every x, so that
//   bound = sum_e min(0, c_e) + sum_t min_{y in Y} <theta_t, y>,
// where Y holds the five labellings of a triangle that a multicut allows (000, 011, 101, 110, 111;
// exactly one cut edge is impossible). Each step below keeps the identity and never lowers the bound.
#include "corrclust/dual_bound.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "corrclust/thread_team.hpp"

namespace corrclust {

void validate(const BoundOptions& o) {
    if (o.max_cycle_length < 3) throw std::invalid_argument("max_cycle_length must be >= 3");
    if (o.max_rounds < 0) throw std::invalid_argument("max_rounds must be >= 0");
    if (o.passes_per_round < 0) throw std::invalid_argument("passes_per_round must be >= 0");
    if (!(o.min_relative_gain >= 0) || !std::isfinite(o.min_relative_gain))
        throw std::invalid_argument("min_relative_gain must be a finite number >= 0");
    if (o.patience < 1) throw std::invalid_argument("patience must be >= 1");
    if (o.threads < 0) throw std::invalid_argument("threads must be >= 0");
    if (o.parts < 0 || o.parts > 2) throw std::invalid_argument("parts must be 0, 1 or 2");
}

namespace {

using Tri = std::array<Index, 3>;     // edge ids
using Theta = std::array<double, 3>;  // costs of those edges inside the triangle

// A triangle: its edges and their costs inside it, together as the sweeps read both.
struct Slot {
    Tri e;
    Theta th;
};

// The sweeps spend most of their time in min_marginal, so it is written without branches on the
// data: a two-way minimum compiles to one instruction, where std::min over a list compiled to
// branches (sweeps of 20 rounds on the 500 x 500 grid: 0.49 CPU s against 0.69); min(0, s) is
// 0.5 (s - |s|), exact, as the compiler turned the subtraction of a minimum into a branch on the
// sign of s (30 rounds of 500 x 500: 1.78 CPU s in all against 2.16).
inline double min2(double x, double y) { return y < x ? y : x; }
inline double min0(double s) { return 0.5 * (s - std::abs(s)); }

// The min-marginal of the edge of cost a in a triangle of costs (a, b, c): min over allowed y with
// y_a = 1, minus min with y_a = 0 (the other two: equal when y_a = 0, at least one cut when y_a = 1).
inline double min_marginal(double a, double b, double c) { return a + min2(min2(b, c), b + c) - min0(b + c); }

double triangle_min(const Theta& t) {
    const double a = t[0], b = t[1], c = t[2];
    return min2(min2(min2(0.0, a + b), min2(a + c, b + c)), a + b + c);
}

struct TriKey {
    Index a, b, c;  // sorted edge ids
    bool operator==(const TriKey& o) const { return a == o.a && b == o.b && c == o.c; }
};
inline std::uint64_t mix(std::uint64_t k) { return k * 0x9E3779B97F4A7C15ull; }
inline std::uint64_t key_hash(std::uint64_t k) { return mix(k ^ (k >> 29)); }
inline std::uint64_t key_hash(const TriKey& k) {
    const auto a = static_cast<std::uint64_t>(k.a), b = static_cast<std::uint64_t>(k.b);
    return mix(a ^ mix(b ^ mix(static_cast<std::uint64_t>(k.c))));
}

// A hash map from Key to an id >= 0, open addressing with linear probing in one array of entries.
// Making the triangles runs on one thread while the other waits; with std::unordered_map (a node
// per entry) it took 0.26 CPU s of 1.7 in 20 rounds on the 500 x 500 grid, with this 0.15.
template <class Key>
class FlatMap {
public:
    void reserve(size_t n) {
        size_t cap = 16;
        while (cap < 2 * n) cap *= 2;
        if (cap > slots_.size()) rehash(cap);
    }
    // The id of `k`, inserting `id` when absent; `fresh` says which.
    Index emplace(const Key& k, Index id, bool& fresh) {
        if (2 * (size_ + 1) > slots_.size()) rehash(std::max<size_t>(16, 2 * slots_.size()));
        size_t i = home(k);
        for (;; i = (i + 1) & mask_) {
            Entry& e = slots_[i];
            if (e.id < 0) {
                e.key = k;
                e.id = id;
                ++size_;
                fresh = true;
                return id;
            }
            if (e.key == k) {
                fresh = false;
                return e.id;
            }
        }
    }

    void prefetch(const Key& k) const {
#if defined(__GNUC__)
        if (!slots_.empty()) __builtin_prefetch(&slots_[home(k)]);
#else
        (void)k;
#endif
    }

private:
    struct Entry {
        Key key{};
        Index id = -1;
    };
    size_t home(const Key& k) const { return static_cast<size_t>(key_hash(k) >> shift_); }
    void rehash(size_t cap) {
        std::vector<Entry> old(cap);
        old.swap(slots_);
        mask_ = cap - 1;
        shift_ = 64;
        for (size_t c = cap; c > 1; c /= 2) --shift_;
        for (const Entry& e : old) {
            if (e.id < 0) continue;
            size_t i = home(e.key);
            while (slots_[i].id >= 0) i = (i + 1) & mask_;
            slots_[i] = e;
        }
    }
    std::vector<Entry> slots_;
    size_t size_ = 0, mask_ = 0;
    int shift_ = 64;
};

class Solver {
public:
    Solver(const SparseGraph& g, Control& control, const BoundOptions& o)
        : g_(g), control_(control), opt_(o), cost_(g.edge_cost) {
        const size_t n = static_cast<size_t>(g.n);
        stamp_.assign(n, 0);
        parent_node_.assign(n, -1);
        parent_edge_.assign(n, -1);
        retry_at_.assign(cost_.size(), 0);
        fails_.assign(cost_.size(), 0);
        threads_ = detail::team_size(o.threads);
        choose_parts();
        // Rehashing a map of a million entries cannot be interrupted: with room reserved up front
        // a 10 s limit on a 10^6-node grid overran by 1.2 s instead of 2.4 s (at load 17).
        tri_index_.reserve(cost_.size() / 2);
        chords_.reserve(cost_.size() / 4);
        double scale = 0.0;
        for (double c : cost_) scale = std::max(scale, std::abs(c));
        // Reduced costs below this are treated as zero by the separation (not by the bound).
        tol_ = 1e-12 * scale;
    }

    BoundResult run() {
        BoundResult r;
        r.trivial_bound = bound();
        double best = r.trivial_bound;
        int stalled = 0;
        // Short cycles first: packing a long cycle greedily spends attractive costs that shorter
        // cycles would use better (on a 60 x 60 grid, cycles of up to 13 edges from the start
        // ended 0.90 % below the optimum after 200 rounds, growing from 3 ended 0.69 % below).
        // The length grows by one whenever a round gains less than grow_gain of |bound|.
        max_len_ = std::min(3, opt_.max_cycle_length);
        for (int round = 0; round < opt_.max_rounds && !control_.stop(); ++round) {
            round_ = round;
            set_split(round);
            const std::int64_t found = separate();
            r.cycles += found;
            classify_triangles();
            // Twice the sweeps once the cycles have their full length: the rounds after that find
            // fewer new cycles, and the bound then gains more from the messages (measured at equal
            // time on the longer thread: 300 x 300 after 1.0 s -14482.7 against -14488.0, 500 x 500
            // after 2.0 s -40569.2 against -40578.2, 10^6 nodes 1 % of the best primal after 6.2
            // s against 6.6; 1.5 times did less, twice from the start was worse early).
            const int late = max_len_ < opt_.max_cycle_length ? 1 : 2;
            sweeps(late * opt_.passes_per_round);
            const double lb = bound();
            r.rounds = round + 1;
            Progress pr;
            pr.phase = "bound";
            pr.lower_bound = std::max(best, lb);
            pr.done = round + 1;
            pr.total = opt_.max_rounds;
            control_.report(pr);
            const double scale = std::max(std::abs(best), 1e-300);
            const double gain = lb - best;
            best = std::max(best, lb);
            if (gain < grow_gain_ * scale && max_len_ < opt_.max_cycle_length) {
                ++max_len_;
                std::fill(retry_at_.begin(), retry_at_.end(), 0);
                std::fill(fails_.begin(), fails_.end(), std::uint8_t{0});
                stalled = 0;
                continue;
            }
            stalled = gain > opt_.min_relative_gain * scale ? 0 : stalled + 1;
            if (stalled >= opt_.patience || tri_.empty()) break;  // no cycle at all: nothing to pass
        }
        r.lower_bound = std::max(best, bound());
        r.triangles = static_cast<std::int64_t>(tri_.size());
        r.chords = static_cast<std::int64_t>(cost_.size()) - g_.num_edges();
        r.parts = parts_;
        return r;
    }

private:
    // The bound of the current reparametrisation.
    // With two parts, each half of the arrays is summed by one thread (the same halves for any
    // number of threads, so the same sum).
    double bound() {
        const size_t C = cost_.size(), T = tri_.size();
        double part[2] = {0.0, 0.0};
        auto sum = [&](int p) {
            const int of = parts_;
            double s = 0.0;
            for (size_t k = C * p / of; k < C * (p + 1) / of; ++k) s += std::min(0.0, cost_[k]);
            for (size_t t = T * p / of; t < T * (p + 1) / of; ++t) s += triangle_min(tri_[t].th);
            part[p] = s;
        };
        run_parts(sum);
        return part[0] + part[1];
    }

    // One Gauss-Seidel sweep over the triangles: each takes all of its edges' current costs and
    // gives them back as min-marginals (a third, a half, then all of the rest, so that the three
    // edges are treated alike). RAMA splits an edge's cost evenly among its triangles, which suits
    // a parallel update; one after the other, taking it all converged in half the rounds on
    // gm_knott_3d_034 (26 against 51) and to a better point on a 60 x 60 grid (0.47 % below the
    // optimum against 0.69 %). Sweeping forwards and backwards in turn did not help (grid 200 x
    // 200: 3.96 % against 3.82 % above the primal after 15 rounds).
    // `passes` sweeps over the triangles of each part (the parts side by side), then over those
    // across the split: one meeting of the threads a round, not one a sweep, which on the shared
    // 2-core machine left a thread waiting for its descheduled partner at every sweep.
    void sweeps(int passes) {
        run_parts([this, passes](int p) {
            for (int k = 0; k < passes && !control_.stop(); ++k) sweep_range(part_begin_[p], part_begin_[p + 1]);
        });
        for (int k = 0; k < passes && part_begin_[2] < part_begin_[3] && !control_.stop(); ++k)
            sweep_range(part_begin_[2], part_begin_[3]);
    }

    // The triangles of tri_[begin, end) in two interleaved streams, the first and the second half:
    // consecutive triangles of a cycle share a chord, so one update waits for the last; two
    // independent chains at a time overlap (sweeps on 500 x 500, 20 rounds: 0.49 CPU s against
    // 0.53).
    void sweep_range(size_t begin, size_t end) {
        const size_t half = (end - begin + 1) / 2;
        for (size_t j = 0; j < half; ++j) {
            if ((j & 0x7FF) == 0 && j && control_.stop()) return;
            update(tri_[begin + j]);
            if (begin + half + j < end) update(tri_[begin + half + j]);
        }
    }

    // The update of one triangle (see sweeps), unrolled.
    void update(Slot& sl) {
        double* c0 = &cost_[static_cast<size_t>(sl.e[0])];
        double* c1 = &cost_[static_cast<size_t>(sl.e[1])];
        double* c2 = &cost_[static_cast<size_t>(sl.e[2])];
        double a = sl.th[0] + *c0, b = sl.th[1] + *c1, c = sl.th[2] + *c2;
        const double m0 = (1.0 / 3.0) * min_marginal(a, b, c);
        a -= m0;
        const double m1 = 0.5 * min_marginal(b, c, a);
        b -= m1;
        const double m2 = min_marginal(c, a, b);
        c -= m2;
        *c0 = m0;
        *c1 = m1;
        *c2 = m2;
        sl.th = {a, b, c};
    }

    // The id of the edge {a, b}: an edge of the graph (binary search in the sorted neighbours of the
    // endpoint of lower degree) or a chord, created with cost 0 when `create`.
    Index edge_id(Index a, Index b) {
        const Index x = g_.adj_offset[a + 1] - g_.adj_offset[a] <= g_.adj_offset[b + 1] - g_.adj_offset[b] ? a : b;
        const Index y = x == a ? b : a;
        const auto first = g_.adj_node.begin() + g_.adj_offset[x], last = g_.adj_node.begin() + g_.adj_offset[x + 1];
        const auto it = std::lower_bound(first, last, y);
        if (it != last && *it == y) return g_.adj_edge[static_cast<size_t>(it - g_.adj_node.begin())];
        const std::uint64_t key = (static_cast<std::uint64_t>(std::min(a, b)) << 32) | static_cast<std::uint64_t>(std::max(a, b));
        bool fresh = false;
        const Index id = chords_.emplace(key, static_cast<Index>(cost_.size()), fresh);
        if (fresh) cost_.push_back(0.0);
        return id;
    }

    // Adds theta (given for edges e0, e1, e2) to the triangle of those edges, creating it if new.
    // Queued and done in batches, in the same order: the look-up of a triangle missed the cache
    // (half of making the triangles at 500 x 500, which one thread does while the other waits), so
    // a batch first asks for the places of all its triangles, then uses them.
    void add_triangle(Index e0, Index e1, Index e2, double t0, double t1, double t2, Index lo, Index hi) {
        std::array<std::pair<Index, double>, 3> v{{{e0, t0}, {e1, t1}, {e2, t2}}};
        std::sort(v.begin(), v.end(), [](const auto& p, const auto& q) { return p.first < q.first; });
        Pending q{{v[0].first, v[1].first, v[2].first}, {v[0].second, v[1].second, v[2].second}, lo, hi, 0};
        tri_index_.prefetch(q.key);
        pending_.push_back(q);
        if (pending_.size() >= kBatch) flush_triangles();
    }

    void flush_triangles() {
        for (Pending& q : pending_) {
            bool fresh = false;
            const Index id = tri_index_.emplace(q.key, static_cast<Index>(pos_.size()), fresh);
            if (fresh) {
                pos_.push_back(static_cast<Index>(tri_.size()));
                tri_.push_back({{q.key.a, q.key.b, q.key.c}, {0.0, 0.0, 0.0}});
                tri_nodes_.push_back({q.lo, q.hi});
                tri_id_.push_back(id);
            }
            q.at = pos_[static_cast<size_t>(id)];
#if defined(__GNUC__)
            __builtin_prefetch(&tri_[static_cast<size_t>(q.at)]);
#endif
        }
        for (const Pending& q : pending_) {
            Theta& th = tri_[static_cast<size_t>(q.at)].th;
            for (int i = 0; i < 3; ++i) th[i] += q.th[i];
        }
        pending_.clear();
    }

    struct Pending {
        TriKey key;
        Theta th;
        Index lo, hi, at;
    };
    std::vector<Pending> pending_;
    static constexpr size_t kBatch = 32;

    // Breadth-first search state of one thread; the per-node arrays are shared, as the threads
    // search disjoint node ranges.
    struct Search {
        std::uint32_t stamp = 0;  // grows by 4 a search (see find_path, fresh_stamps)
        Index lo = 0, hi = 0;  // the nodes this search may visit: [lo, hi)
        std::vector<Index> queue, queue_back, path_nodes, path_edges;
        // cycles found, to be turned into triangles after the parallel phase: per cycle its edge
        // f, lambda and the offset of its path in nodes / edges
        std::vector<Index> found_f, found_offset, nodes, edges;
        std::vector<double> found_lambda;
        std::int64_t packed = 0;
    };

    // Shortest path (fewest edges, at most max_cycle_length - 1) from u to v over edges of reduced
    // cost > tol inside [s.lo, s.hi), not using edge f. Fills s.path_nodes (u .. v) and
    // s.path_edges; false if none.
    // Searched breadth-first from both ends, a whole level of the side with fewer nodes waiting at
    // a time, until the two meet: most searches fail (the edge is cut in the optimum), and a failed
    // search from one end visited every node within max_cycle_length - 1 edges of u; from both
    // ends two balls of about half that radius. Grid 500 x 500, 20 rounds: 0.37 CPU s of search
    // against 0.54 (same bound to 6 digits).
    bool find_path(Search& s, Index u, Index v, Index f) {
        // search p stamps with numbers of parity p: the two never mistake each other's
        const std::uint32_t mark[2] = {s.stamp + 2, s.stamp + 4};  // from u, from v
        s.stamp += 4;
        const int max_depth = max_len_ - 1;
        std::vector<Index>* queue[2] = {&s.queue, &s.queue_back};
        size_t head[2] = {0, 0};
        int level[2] = {0, 0};
        for (int side = 0; side < 2; ++side) {
            const Index r = side == 0 ? u : v;
            queue[side]->clear();
            queue[side]->push_back(r);
            stamp_[r] = mark[side];
            parent_node_[r] = -1;
        }
        // Bounds the work on dense or high-degree graphs (a dense problem's graph of nonzero costs):
        // the search gives up after this many edges looked at.
        std::int64_t budget = 1 << 16;
        while (level[0] + level[1] < max_depth) {
            const size_t waiting0 = queue[0]->size() - head[0], waiting1 = queue[1]->size() - head[1];
            if (waiting0 == 0 || waiting1 == 0) return false;
            const int side = waiting1 < waiting0 ? 1 : 0;
            std::vector<Index>& q = *queue[side];
            const size_t end = q.size();
            // plain pointers: through the vectors the compiler reloaded them at every edge, as
            // the stores to the stamps might have changed them
            const Index *offset = g_.adj_offset.data(), *adj_edge = g_.adj_edge.data(), *adj_node = g_.adj_node.data();
            const double* cost = cost_.data();
            std::uint32_t* stamp = stamp_.data();
            const std::uint32_t mine = mark[side], theirs = mark[1 - side];
            const Index lo = s.lo, hi = s.hi;
            const double tol = tol_;
            for (; head[side] < end; ++head[side]) {
                const Index x = q[head[side]];
                for (Index k = offset[x]; k < offset[x + 1]; ++k) {
                    if (--budget < 0) return false;
                    const Index e = adj_edge[k];
                    if (e == f || cost[e] <= tol) continue;
                    const Index y = adj_node[k];
                    if (y < lo || y >= hi || stamp[y] == mine) continue;
                    if (stamp[y] == theirs) {
                        // met: u .. (x or y) from the side of u, then the rest from the side of v
                        const Index a = side == 0 ? x : y, b = side == 0 ? y : x;
                        s.path_nodes.clear();
                        s.path_edges.clear();
                        for (Index z = a; z != u; z = parent_node_[z]) {
                            s.path_nodes.push_back(z);
                            s.path_edges.push_back(parent_edge_[z]);
                        }
                        s.path_nodes.push_back(u);
                        std::reverse(s.path_nodes.begin(), s.path_nodes.end());
                        std::reverse(s.path_edges.begin(), s.path_edges.end());
                        s.path_edges.push_back(e);
                        for (Index z = b; z != v; z = parent_node_[z]) {
                            s.path_nodes.push_back(z);
                            s.path_edges.push_back(parent_edge_[z]);
                        }
                        s.path_nodes.push_back(v);
                        return true;
                    }
                    stamp[y] = mine;
                    parent_node_[y] = x;
                    parent_edge_[y] = e;
                    q.push_back(y);
                }
            }
            ++level[side];
        }
        return false;
    }

    // Cycle packing over every repulsive edge of the graph; returns the number of cycles packed.
    // The chords are not searched, neither as the repulsive edge nor on paths: RAMA does, and on a
    // 200 x 200 grid it ended nearer (1.89 % below the primal against 2.17 % after 60 rounds) but
    // took 7 times the CPU time (14 s against 2 s), as cycles through chords multiply.
    //
    // With two parts (see choose_parts) each part searches the repulsive edges inside it for
    // cycles inside it, the two in parallel: a search reads and writes only the costs of edges
    // inside its part, and the triangles are made afterwards, in a fixed order, so the result does
    // not depend on the threads. Then the edges across the split are searched over the whole
    // graph. A cycle cut by the split in one round is inside a part in another, as the split moves.
    std::int64_t separate() {
        run_parts([this](int p) { search_range(searches_[static_cast<size_t>(p)], no_edges_, false); });
        std::int64_t packed = 0;
        for (int p = 0; p < parts_; ++p) packed += make_triangles(searches_[static_cast<size_t>(p)]);
        if (parts_ > 1) {
            Search& s = searches_[0];
            s.lo = 0;
            s.hi = g_.n;
            search_range(s, cross_edges_, true);
            packed += make_triangles(s);
        }
        return packed;
    }

    // Searches the repulsive edges of `edges` (all graph edges when empty and not `listed`).
    void search_range(Search& s, const std::vector<Index>& edges, bool listed) {
        s.packed = 0;
        s.found_f.clear();
        s.found_offset.clear();
        s.nodes.clear();
        s.edges.clear();
        s.found_lambda.clear();
        const Index count = listed ? static_cast<Index>(edges.size()) : g_.num_edges();
        for (Index j = 0; j < count; ++j) {
            if ((j & 0x3FF) == 0 && j && control_.stop()) break;  // a clock read per 1024 edges
            const Index f = listed ? edges[static_cast<size_t>(j)] : j;
            const size_t fi = static_cast<size_t>(f);
            const Index u = g_.edge_u[fi], v = g_.edge_v[fi];
            // the part first: the other part's costs may be changing in the other thread
            if (!listed && (u < s.lo || u >= s.hi || v < s.lo || v >= s.hi)) continue;
            if (cost_[fi] >= -tol_ || retry_at_[fi] > round_) continue;
            // A few cycles per edge and round: the next rounds find others once messages moved costs.
            for (int attempt = 0; attempt < 3 && cost_[fi] < -tol_; ++attempt) {
                if (!find_path(s, u, v, f)) {
                    // Most repulsive edges that stay repulsive are cut in the optimum and have no
                    // cycle; searching them every round dominated the time on grids, so an edge
                    // that failed waits 1, 2, 4, .. 16 rounds (or until the cycle length grows).
                    if (attempt == 0) {
                        retry_at_[fi] = round_ + (1 << std::min<int>(fails_[fi], 4));
                        fails_[fi] = static_cast<std::uint8_t>(std::min<int>(fails_[fi] + 1, 4));
                    }
                    break;
                }
                fails_[fi] = 0;
                double lambda = -cost_[fi];
                for (Index e : s.path_edges) lambda = std::min(lambda, cost_[static_cast<size_t>(e)]);
                // The costs move now (later searches see them); the triangles follow in
                // make_triangles, as creating them touches shared maps.
                for (Index e : s.path_edges) cost_[static_cast<size_t>(e)] -= lambda;
                cost_[fi] += lambda;
                s.found_f.push_back(f);
                s.found_lambda.push_back(lambda);
                s.found_offset.push_back(static_cast<Index>(s.nodes.size()));
                s.nodes.insert(s.nodes.end(), s.path_nodes.begin(), s.path_nodes.end());
                s.edges.insert(s.edges.end(), s.path_edges.begin(), s.path_edges.end());
                ++s.packed;
            }
        }
    }

    // Puts lambda of each cycle a search found into the triangles of the cycle fanned out from
    // its first node u: triangle i is (u, p_i, p_{i+1}) with costs (+l, +l, -l) on (u p_i,
    // p_i p_{i+1}, u p_{i+1}); the chords cancel, the triangles' minimum stays 0, and with the
    // costs the search took from the cycle's edges the bound gains lambda.
    std::int64_t make_triangles(const Search& s) {
        const size_t cycles = s.found_f.size();
        for (size_t c = 0; c < cycles; ++c) {
            const size_t off = static_cast<size_t>(s.found_offset[c]);
            const size_t next_off = c + 1 < cycles ? static_cast<size_t>(s.found_offset[c + 1]) : s.nodes.size();
            const Index* nodes = s.nodes.data() + off;
            const Index* edges = s.edges.data() + (off - c);  // a path has one edge fewer than nodes
            const size_t k = next_off - off - 1;              // edges on the path
            const double lambda = s.found_lambda[c];
            const Index f = s.found_f[c];
            const Index u = nodes[0];
            Index lo = u, hi = u;
            for (size_t i = 0; i <= k; ++i) {
                lo = std::min(lo, nodes[i]);
                hi = std::max(hi, nodes[i]);
            }
            Index prev = edges[0];  // edge u - p_1
            for (size_t i = 1; i < k; ++i) {
                const Index next = i + 1 == k ? f : edge_id(u, nodes[i + 1]);
                add_triangle(prev, edges[i], next, lambda, lambda, -lambda, lo, hi);
                prev = next;
            }
        }
        flush_triangles();
        return static_cast<std::int64_t>(cycles);
    }

    // Two parts when the graph splits well by node number (a grid or volume numbered row by row,
    // where the two halves share few edges) and is large enough for threads to pay; else one
    // part, the whole graph. The parts do not depend on the number of threads: with one thread
    // they run one after the other, and the bound is the same.
    void choose_parts() {
        parts_ = 1;
        searches_.assign(2, Search{});
        searches_[1].stamp = 1;
        searches_[0].lo = 0;
        searches_[0].hi = g_.n;
        if (opt_.parts == 1 || g_.n < 2) return;
        const Index m = g_.num_edges();
        if (opt_.parts == 2) {
            parts_ = 2;
            return;
        }
        if (m < min_parallel_edges_) return;
        const Index half = g_.n / 2;
        Index cross = 0;
        for (Index e = 0; e < m; ++e) cross += (g_.edge_u[static_cast<size_t>(e)] < half) != (g_.edge_v[static_cast<size_t>(e)] < half);
        if (cross > m / 100) return;  // more than 1 % of the edges across: most cycles would be too
        parts_ = 2;
    }

    // The split of this round: node numbers below it are part 0. It moves between rounds (0.47 n,
    // 0.5 n, 0.53 n) so that cycles across it in one round are inside a part in another; it moves
    // little, as the parts' work should be even (at 0.4 n the larger part had 60 % of it).
    void set_split(int round) {
        fresh_stamps();
        if (parts_ == 1) return;
        static constexpr double where[3] = {0.5, 0.47, 0.53};
        split_ = static_cast<Index>(where[round % 3] * static_cast<double>(g_.n));
        searches_[0].lo = 0;
        searches_[0].hi = split_;
        searches_[1].lo = split_;
        searches_[1].hi = g_.n;
        cross_edges_.clear();
        const Index m = g_.num_edges();
        for (Index e = 0; e < m; ++e)
            if ((g_.edge_u[static_cast<size_t>(e)] < split_) != (g_.edge_v[static_cast<size_t>(e)] < split_)) cross_edges_.push_back(e);
    }

    // Orders the triangles by part (all nodes inside part 0, inside part 1, across the split) and,
    // inside a part, by their smallest node in blocks of 1024 nodes (stable), for this round's sweeps.
    // The order matters for speed, not validity: in the order of creation a sweep read the edge
    // costs of each round's triangles across the whole graph again (memory-bound); in node order
    // it reads them nearly once, in sequence (sweeps of 20 rounds at 10^6 nodes: 3.2 CPU s
    // against 4.2).
    // The threads take a part each (the first also the triangles across): each reads every
    // triangle's nodes, counts and then moves its own.
    void classify_triangles() {
        const size_t T = tri_.size();
        const size_t blocks = static_cast<size_t>(g_.n >> kBlockShift) + 1;
        auto part_of = [&](size_t t) -> size_t {
            const auto& nd = tri_nodes_[t];
            return parts_ == 1 ? 0 : nd[1] < split_ ? 0 : nd[0] >= split_ ? 1 : 2;
        };
        auto mine = [&](int p, size_t q) { return q == static_cast<size_t>(p) || (p == 0 && q == 2); };
        auto block_of = [&](size_t t) { return static_cast<size_t>(tri_nodes_[t][0] >> kBlockShift); };
        count_.assign(3 * blocks + 1, 0);
        run_parts([&](int p) {
            for (size_t t = 0; t < T; ++t) {
                const size_t q = part_of(t);
                if (mine(p, q)) ++count_[q * blocks + block_of(t) + 1];
            }
        });
        for (size_t k = 0; k < 3 * blocks; ++k) count_[k + 1] += count_[k];
        for (size_t p = 0; p <= 3; ++p) part_begin_[p] = static_cast<size_t>(count_[p * blocks]);
        new_tri_.resize(T);
        new_nodes_.resize(T);
        new_id_.resize(T);
        run_parts([&](int p) {
            for (size_t t = 0; t < T; ++t) {
                const size_t q = part_of(t);
                if (!mine(p, q)) continue;
                const size_t at = static_cast<size_t>(count_[q * blocks + block_of(t)]++);
                new_tri_[at] = tri_[t];
                new_nodes_[at] = tri_nodes_[t];
                new_id_[at] = tri_id_[t];
                pos_[static_cast<size_t>(tri_id_[t])] = static_cast<Index>(at);
            }
        });
        tri_.swap(new_tri_);
        tri_nodes_.swap(new_nodes_);
        tri_id_.swap(new_id_);
    }

    // Starts the stamps of the searches afresh before they could wrap (between rounds, as the
    // threads share the array): a round makes at most 3 searches per graph edge.
    void fresh_stamps() {
        const std::uint64_t most = 3 * static_cast<std::uint64_t>(g_.num_edges()) * 4 + 8;
        if (searches_[0].stamp + most < std::uint64_t{1} << 32 && searches_[1].stamp + most < std::uint64_t{1} << 32) return;
        std::fill(stamp_.begin(), stamp_.end(), 0u);
        searches_[0].stamp = 0;
        searches_[1].stamp = 1;
    }

    // Runs fn(p) for every part, in parallel when there are two parts and two threads (both parts
    // on the calling thread when the system refuses the second); an exception in either thread
    // (out of memory) leaves once both have ended.
    template <class Fn>
    void run_parts(Fn fn) {
        if (parts_ == 1 || threads_ < 2) {
            for (int p = 0; p < parts_; ++p) fn(p);
            return;
        }
        detail::run_team(2, [&fn](int t, int size) {
            if (size == 2) {
                fn(t);
                return;
            }
            fn(0);
            fn(1);
        });
    }

    const SparseGraph& g_;
    Control& control_;
    BoundOptions opt_;
    std::vector<double> cost_;           // reduced edge costs; graph edges first, then chords
    // The triangles, in the order of classify_triangles; tri_index_ gives a triangle's id, pos_
    // its place in tri_ now, tri_id_ the id of each place.
    std::vector<Slot> tri_, new_tri_;
    std::vector<Index> pos_, tri_id_, new_id_, count_;
    FlatMap<TriKey> tri_index_;
    FlatMap<std::uint64_t> chords_;
    double tol_ = 0.0;
    int round_ = 0;
    std::vector<int> retry_at_;          // per graph edge: the first round to search it again
    std::vector<std::uint8_t> fails_;    // per graph edge: searches failed in a row (capped)
    int max_len_ = 3;          // longest cycle the separation looks for now
    static constexpr double grow_gain_ = 1e-3;
    // breadth-first search state, per node (the searches of the parts visit disjoint nodes)
    std::vector<std::uint32_t> stamp_;
    std::vector<Index> parent_node_, parent_edge_;
    std::vector<Search> searches_;
    // parts (choose_parts)
    static constexpr Index min_parallel_edges_ = 200000;
    int threads_ = 1, parts_ = 1;
    Index split_ = 0;
    std::vector<Index> cross_edges_, no_edges_;
    std::vector<std::array<Index, 2>> tri_nodes_, new_nodes_;  // smallest and largest node of each triangle
    std::array<size_t, 4> part_begin_{};  // tri_[part_begin_[p], part_begin_[p + 1]): part p's (2: across)
    static constexpr int kBlockShift = 10;
};

}  // namespace

BoundResult dual_lower_bound(const SparseGraph& graph, Control& control, const BoundOptions& options) {
    validate(options);
    // chords are keyed by their two endpoints packed into 64 bits
    if (graph.n > (Index{1} << 32)) throw std::invalid_argument("the dual bound takes at most 2^32 nodes");
    Solver s(graph, control, options);
    return s.run();
}

}  // namespace corrclust
