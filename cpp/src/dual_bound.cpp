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
#include <unordered_map>
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

double triangle_min(const Theta& t) {
    const double a = t[0], b = t[1], c = t[2];
    return std::min({0.0, a + b, a + c, b + c, a + b + c});
}

// min over allowed y with y_i = 1, minus min with y_i = 0 (the other two: equal when y_i = 0, at
// least one cut when y_i = 1).
double min_marginal(const Theta& t, int i) {
    const double a = t[i], b = t[(i + 1) % 3], c = t[(i + 2) % 3];
    const double one = a + std::min({b, c, b + c});
    const double zero = std::min(0.0, b + c);
    return one - zero;
}

struct PairHash {
    size_t operator()(std::uint64_t k) const { return static_cast<size_t>(k * 0x9E3779B97F4A7C15ull >> 17); }
};
struct TriKey {
    Index a, b, c;  // sorted edge ids
    bool operator==(const TriKey& o) const { return a == o.a && b == o.b && c == o.c; }
};
struct TriHash {
    size_t operator()(const TriKey& k) const {
        std::uint64_t h = static_cast<std::uint64_t>(k.a) * 0x9E3779B97F4A7C15ull;
        h ^= static_cast<std::uint64_t>(k.b) + 0x7F4A7C159E3779B9ull + (h << 6) + (h >> 2);
        h ^= static_cast<std::uint64_t>(k.c) + 0x94D049BB133111EBull + (h << 6) + (h >> 2);
        return static_cast<size_t>(h);
    }
};

class Solver {
public:
    Solver(const SparseGraph& g, Control& control, const BoundOptions& o)
        : g_(g), control_(control), opt_(o), cost_(g.edge_cost) {
        const size_t n = static_cast<size_t>(g.n);
        stamp_.assign(n, 0);
        parent_node_.assign(n, -1);
        parent_edge_.assign(n, -1);
        depth_.assign(n, 0);
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
            sweeps(opt_.passes_per_round);
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
    double bound() const {
        double s = 0.0;
        for (double c : cost_) s += std::min(0.0, c);
        for (const Theta& t : theta_) s += triangle_min(t);
        return s;
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
            for (int k = 0; k < passes && !control_.stop(); ++k) sweep_list(part_tris_[static_cast<size_t>(p)]);
        });
        for (int k = 0; k < passes && !part_tris_[2].empty() && !control_.stop(); ++k) sweep_list(part_tris_[2]);
    }

    void sweep_list(const std::vector<Index>& list) {
        const size_t T = list.size();
        for (size_t j = 0; j < T; ++j) {
            if ((j & 0xFFF) == 0 && j && control_.stop()) return;
            const size_t t = static_cast<size_t>(list[j]);
            Theta& th = theta_[t];
            const Tri& e = tri_[t];
            for (int i = 0; i < 3; ++i) {
                const size_t k = static_cast<size_t>(e[i]);
                th[i] += cost_[k];
                cost_[k] = 0.0;
            }
            static constexpr double share[3] = {1.0 / 3.0, 0.5, 1.0};
            for (int i = 0; i < 3; ++i) {
                const double m = share[i] * min_marginal(th, i);
                th[i] -= m;
                cost_[static_cast<size_t>(e[i])] += m;
            }
        }
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
        const auto found = chords_.find(key);
        if (found != chords_.end()) return found->second;
        const Index id = static_cast<Index>(cost_.size());
        cost_.push_back(0.0);
        chords_.emplace(key, id);
        return id;
    }

    // Adds theta (given for edges e0, e1, e2) to the triangle of those edges, creating it if new.
    void add_triangle(Index e0, Index e1, Index e2, double t0, double t1, double t2, Index lo, Index hi) {
        std::array<std::pair<Index, double>, 3> v{{{e0, t0}, {e1, t1}, {e2, t2}}};
        std::sort(v.begin(), v.end(), [](const auto& p, const auto& q) { return p.first < q.first; });
        const TriKey key{v[0].first, v[1].first, v[2].first};
        auto [it, fresh] = tri_index_.emplace(key, static_cast<Index>(tri_.size()));
        if (fresh) {
            tri_.push_back({v[0].first, v[1].first, v[2].first});
            theta_.push_back({0.0, 0.0, 0.0});
            tri_nodes_.push_back({lo, hi});
        }
        Theta& th = theta_[static_cast<size_t>(it->second)];
        for (int i = 0; i < 3; ++i) th[i] += v[i].second;
    }

    // Breadth-first search state of one thread; the per-node arrays are shared, as the threads
    // search disjoint node ranges.
    struct Search {
        std::uint32_t stamp = 0;  // grows by 2 a search (see fresh_stamps)
        Index lo = 0, hi = 0;  // the nodes this search may visit: [lo, hi)
        std::vector<Index> queue, path_nodes, path_edges;
        // cycles found, to be turned into triangles after the parallel phase: per cycle its edge
        // f, lambda and the offset of its path in nodes / edges
        std::vector<Index> found_f, found_offset, nodes, edges;
        std::vector<double> found_lambda;
        std::int64_t packed = 0;
    };

    // Shortest path (fewest edges, at most max_cycle_length - 1) from u to v over edges of reduced
    // cost > tol inside [s.lo, s.hi), not using edge f. Fills s.path_nodes (u .. v) and
    // s.path_edges; false if none.
    bool find_path(Search& s, Index u, Index v, Index f) {
        s.stamp += 2;  // search p stamps with numbers of parity p: the two never mistake each other's
        const int max_depth = max_len_ - 1;
        s.queue.clear();
        s.queue.push_back(u);
        stamp_[u] = s.stamp;
        depth_[u] = 0;
        parent_node_[u] = -1;
        // Bounds the work on dense or high-degree graphs (a dense problem's graph of nonzero costs):
        // the search gives up after this many edges looked at.
        std::int64_t budget = 1 << 16;
        for (size_t head = 0; head < s.queue.size(); ++head) {
            const Index x = s.queue[head];
            if (depth_[x] >= max_depth) break;  // BFS order: every later node is as deep
            for (Index k = g_.adj_offset[x]; k < g_.adj_offset[x + 1]; ++k) {
                if (--budget < 0) return false;
                const Index e = g_.adj_edge[static_cast<size_t>(k)];
                if (e == f || cost_[static_cast<size_t>(e)] <= tol_) continue;
                const Index y = g_.adj_node[static_cast<size_t>(k)];
                if (y < s.lo || y >= s.hi || stamp_[y] == s.stamp) continue;
                stamp_[y] = s.stamp;
                parent_node_[y] = x;
                parent_edge_[y] = e;
                depth_[y] = depth_[x] + 1;
                if (y == v) {
                    s.path_nodes.clear();
                    s.path_edges.clear();
                    for (Index z = v; z != u; z = parent_node_[z]) {
                        s.path_nodes.push_back(z);
                        s.path_edges.push_back(parent_edge_[z]);
                    }
                    s.path_nodes.push_back(u);
                    std::reverse(s.path_nodes.begin(), s.path_nodes.end());
                    std::reverse(s.path_edges.begin(), s.path_edges.end());
                    return true;
                }
                s.queue.push_back(y);
            }
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

    // The triangles of each part (all nodes inside it) and the rest, for this round's sweeps.
    void classify_triangles() {
        for (auto& l : part_tris_) l.clear();
        const size_t T = tri_.size();
        for (size_t t = 0; t < T; ++t) {
            const auto& nd = tri_nodes_[t];
            const int p = parts_ == 1 ? 0 : nd[1] < split_ ? 0 : nd[0] >= split_ ? 1 : 2;
            part_tris_[static_cast<size_t>(p)].push_back(static_cast<Index>(t));
        }
    }

    // Starts the stamps of the searches afresh before they could wrap (between rounds, as the
    // threads share the array): a round makes at most 3 searches per graph edge.
    void fresh_stamps() {
        const std::uint64_t most = 3 * static_cast<std::uint64_t>(g_.num_edges()) * 2 + 4;
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
    std::vector<Tri> tri_;
    std::vector<Theta> theta_;
    std::unordered_map<TriKey, Index, TriHash> tri_index_;
    std::unordered_map<std::uint64_t, Index, PairHash> chords_;
    double tol_ = 0.0;
    int round_ = 0;
    std::vector<int> retry_at_;          // per graph edge: the first round to search it again
    std::vector<std::uint8_t> fails_;    // per graph edge: searches failed in a row (capped)
    int max_len_ = 3;          // longest cycle the separation looks for now
    static constexpr double grow_gain_ = 1e-3;
    // breadth-first search state, per node (the searches of the parts visit disjoint nodes)
    std::vector<std::uint32_t> stamp_;
    std::vector<Index> parent_node_, parent_edge_;
    std::vector<int> depth_;
    std::vector<Search> searches_;
    // parts (choose_parts)
    static constexpr Index min_parallel_edges_ = 200000;
    int threads_ = 1, parts_ = 1;
    Index split_ = 0;
    std::vector<Index> cross_edges_, no_edges_;
    std::vector<std::array<Index, 2>> tri_nodes_;  // smallest and largest node of each triangle
    std::array<std::vector<Index>, 3> part_tris_;  // triangles of part 0, part 1, across
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
