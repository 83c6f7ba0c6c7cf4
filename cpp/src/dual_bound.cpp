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

namespace corrclust {

void validate(const BoundOptions& o) {
    if (o.max_cycle_length < 3) throw std::invalid_argument("max_cycle_length must be >= 3");
    if (o.max_rounds < 0) throw std::invalid_argument("max_rounds must be >= 0");
    if (o.passes_per_round < 0) throw std::invalid_argument("passes_per_round must be >= 0");
    if (!(o.min_relative_gain >= 0) || !std::isfinite(o.min_relative_gain))
        throw std::invalid_argument("min_relative_gain must be a finite number >= 0");
    if (o.patience < 1) throw std::invalid_argument("patience must be >= 1");
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
            const std::int64_t found = separate();
            r.cycles += found;
            for (int p = 0; p < opt_.passes_per_round && !control_.stop(); ++p) sweep();
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
    void sweep() {
        const size_t T = tri_.size();
        for (size_t t = 0; t < T; ++t) {
            if ((t & 0xFFF) == 0 && t && control_.stop()) return;
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
    void add_triangle(Index e0, Index e1, Index e2, double t0, double t1, double t2) {
        std::array<std::pair<Index, double>, 3> v{{{e0, t0}, {e1, t1}, {e2, t2}}};
        std::sort(v.begin(), v.end(), [](const auto& p, const auto& q) { return p.first < q.first; });
        const TriKey key{v[0].first, v[1].first, v[2].first};
        auto [it, fresh] = tri_index_.emplace(key, static_cast<Index>(tri_.size()));
        if (fresh) {
            tri_.push_back({v[0].first, v[1].first, v[2].first});
            theta_.push_back({0.0, 0.0, 0.0});
        }
        Theta& th = theta_[static_cast<size_t>(it->second)];
        for (int i = 0; i < 3; ++i) th[i] += v[i].second;
    }

    // Shortest path (fewest edges, at most max_cycle_length - 1) from u to v over edges of reduced
    // cost > tol, not using edge f. Fills path_nodes_ (u .. v) and path_edges_; false if none.
    bool find_path(Index u, Index v, Index f) {
        ++cur_stamp_;
        if (cur_stamp_ == 0) {  // wrapped: clear the stamps once
            std::fill(stamp_.begin(), stamp_.end(), 0u);
            cur_stamp_ = 1;
        }
        const int max_depth = max_len_ - 1;
        queue_.clear();
        queue_.push_back(u);
        stamp_[u] = cur_stamp_;
        depth_[u] = 0;
        parent_node_[u] = -1;
        // Bounds the work on dense or high-degree graphs (a dense problem's graph of nonzero costs):
        // the search gives up after this many edges looked at.
        std::int64_t budget = 1 << 16;
        for (size_t head = 0; head < queue_.size(); ++head) {
            const Index x = queue_[head];
            if (depth_[x] >= max_depth) break;  // BFS order: every later node is as deep
            for (Index k = g_.adj_offset[x]; k < g_.adj_offset[x + 1]; ++k) {
                if (--budget < 0) return false;
                const Index e = g_.adj_edge[static_cast<size_t>(k)];
                if (e == f || cost_[static_cast<size_t>(e)] <= tol_) continue;
                const Index y = g_.adj_node[static_cast<size_t>(k)];
                if (stamp_[y] == cur_stamp_) continue;
                stamp_[y] = cur_stamp_;
                parent_node_[y] = x;
                parent_edge_[y] = e;
                depth_[y] = depth_[x] + 1;
                if (y == v) {
                    path_nodes_.clear();
                    path_edges_.clear();
                    for (Index z = v; z != u; z = parent_node_[z]) {
                        path_nodes_.push_back(z);
                        path_edges_.push_back(parent_edge_[z]);
                    }
                    path_nodes_.push_back(u);
                    std::reverse(path_nodes_.begin(), path_nodes_.end());
                    std::reverse(path_edges_.begin(), path_edges_.end());
                    return true;
                }
                queue_.push_back(y);
            }
        }
        return false;
    }

    // Cycle packing over every repulsive edge of the graph; returns the number of cycles packed.
    // The chords are not searched, neither as the repulsive edge nor on paths: RAMA does, and on a
    // 200 x 200 grid it ended nearer (1.89 % below the primal against 2.17 % after 60 rounds) but
    // took 7 times the CPU time (14 s against 2 s), as cycles through chords multiply.
    std::int64_t separate() {
        std::int64_t packed = 0;
        const Index m = g_.num_edges();
        for (Index f = 0; f < m; ++f) {
            if ((f & 0x3FF) == 0 && f && control_.stop()) break;  // a clock read per 1024 searches
            const size_t fi = static_cast<size_t>(f);
            if (cost_[fi] >= -tol_ || retry_at_[fi] > round_) continue;
            // A few cycles per edge and round: the next rounds find others once messages moved costs.
            for (int attempt = 0; attempt < 3 && cost_[fi] < -tol_; ++attempt) {
                const Index u = g_.edge_u[fi], v = g_.edge_v[fi];
                if (!find_path(u, v, f)) {
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
                double lambda = -cost_[static_cast<size_t>(f)];
                for (Index e : path_edges_) lambda = std::min(lambda, cost_[static_cast<size_t>(e)]);
                pack(f, lambda);
                ++packed;
            }
        }
        return packed;
    }

    // Moves lambda from the path's edges and the repulsive edge f into the triangles of the cycle
    // fanned out from its first node u: triangle i is (u, p_i, p_{i+1}) with costs (+l, +l, -l) on
    // (u p_i, p_i p_{i+1}, u p_{i+1}); the chords cancel, the triangles' minimum stays 0, and the
    // bound gains lambda.
    void pack(Index f, double lambda) {
        const size_t k = path_edges_.size();
        for (Index e : path_edges_) cost_[static_cast<size_t>(e)] -= lambda;
        cost_[static_cast<size_t>(f)] += lambda;
        const Index u = path_nodes_[0];
        Index prev = path_edges_[0];  // edge u - p_1
        for (size_t i = 1; i < k; ++i) {
            const Index next = i + 1 == k ? f : edge_id(u, path_nodes_[i + 1]);
            add_triangle(prev, path_edges_[i], next, lambda, lambda, -lambda);
            prev = next;
        }
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
    // breadth-first search state
    std::vector<std::uint32_t> stamp_;
    std::uint32_t cur_stamp_ = 0;
    std::vector<Index> parent_node_, parent_edge_, queue_, path_nodes_, path_edges_;
    std::vector<int> depth_;
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
