// GAEC under the background model (corrclust/background.hpp): a sparse graph whose missing pairs
// all cost b <= 0, and the objective of that model.
//
// Why a separate contraction: in the plain sparse GAEC a pair's gain changes only when one of its
// clusters absorbs an edge, but here the gain W_AB + b (|A||B| - m_AB) also depends on the sizes,
// so after every contraction all the pairs of the survivor change. The survivor's pairs are
// therefore re-queued after each contraction (a lazy max-heap; a queued entry is valid while the
// versions of both its clusters are those it was queued with). Pairs whose gain is negative are not
// queued: with b <= 0 a pair only gains when one of its clusters changes, and that re-queues it.
// Why the tie rule: the same partition as the dense GAEC on the filled matrix, an exact test
// (tests/test_background.py), which needs the same choice among equal gains; each cluster keeps
// the smallest id of its parts for that, whichever internal slot survives.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <queue>
#include <stdexcept>
#include <unordered_map>
#include <utility>
#include <vector>

#include "corrclust/background.hpp"
#include "corrclust/heuristics_detail.hpp"

namespace corrclust {
namespace {

struct Link {
    double w;        // summed cost of the edges between the two clusters
    std::int64_t m;  // number of those edges
};

struct Entry {
    double gain;
    std::uint64_t tie;  // (smaller id, larger id) of the two clusters
    std::uint32_t a, b, va, vb;
};

struct Lower {  // priority_queue puts the largest first: largest gain, then smallest tie key
    bool operator()(const Entry& x, const Entry& y) const { return x.gain != y.gain ? x.gain < y.gain : x.tie > y.tie; }
};

class Contraction {
public:
    Contraction(const SparseGraph& g, double b, const Labels& cluster_of, Index k, Control& control)
        : b_(b), size_(static_cast<size_t>(k), 0), id_(static_cast<size_t>(k)), version_(static_cast<size_t>(k), 0),
          alive_(static_cast<size_t>(k), 1), parent_(static_cast<size_t>(k)), adj_(static_cast<size_t>(k)) {
        if (k >= static_cast<Index>(UINT32_MAX))
            throw std::length_error("background GAEC supports fewer than 2^32 - 1 clusters");
        std::iota(id_.begin(), id_.end(), 0u);
        std::iota(parent_.begin(), parent_.end(), 0u);
        for (const Index c : cluster_of) ++size_[static_cast<size_t>(c)];
        links_.reserve(static_cast<size_t>(g.num_edges()));
        for (Index e = 0; e < g.num_edges(); ++e) {
            if ((e & 0xFFFF) == 0xFFFF && (stopped_ = control.stop())) return;
            auto a = static_cast<std::uint32_t>(cluster_of[g.edge_u[e]]);
            auto c = static_cast<std::uint32_t>(cluster_of[g.edge_v[e]]);
            if (a == c) continue;
            auto [it, fresh] = links_.try_emplace(key(a, c), Link{0.0, 0});
            it->second.w += g.edge_cost[e];
            it->second.m += 1;
            if (fresh) {
                adj_[a].push_back(c);
                adj_[c].push_back(a);
            }
        }
        for (std::uint32_t a = 0; a < adj_.size(); ++a)
            for (const std::uint32_t c : adj_[a])
                if (a < c) queue(a, c, links_.find(key(a, c))->second);
    }

    bool stopped() const { return stopped_; }

    // Contracts the best pair if one gains >= 0; false when none is left.
    bool step() {
        while (!heap_.empty()) {
            const Entry top = heap_.top();
            heap_.pop();
            if (!alive_[top.a] || !alive_[top.b] || version_[top.a] != top.va || version_[top.b] != top.vb) continue;
            contract(top.a, top.b);
            if (heap_.size() > 4 * links_.size() + 4096) requeue_all();
            return true;
        }
        return false;
    }

    // The final cluster (an initial cluster's id) of initial cluster c.
    std::uint32_t root(std::uint32_t c) {
        while (parent_[c] != c) c = parent_[c] = parent_[parent_[c]];
        return c;
    }

private:
    static std::uint64_t key(std::uint32_t a, std::uint32_t c) {
        if (a > c) std::swap(a, c);
        return (static_cast<std::uint64_t>(a) << 32) | c;
    }
    double gain(std::uint32_t a, std::uint32_t c, const Link& l) const {
        return l.w + b_ * (static_cast<double>(size_[a]) * static_cast<double>(size_[c]) - static_cast<double>(l.m));
    }
    void queue(std::uint32_t a, std::uint32_t c, const Link& l) {
        const double g = gain(a, c, l);
        if (!(g >= 0.0)) return;
        heap_.push(Entry{g, key(id_[a], id_[c]), a, c, version_[a], version_[c]});
    }

    // d disappears into s: the internal slot with the longer neighbour list survives (less to move),
    // the merged cluster keeps the smaller id of the two.
    void contract(std::uint32_t s, std::uint32_t d) {
        if (adj_[d].size() > adj_[s].size()) std::swap(s, d);
        links_.erase(key(s, d));
        alive_[d] = 0;
        parent_[d] = s;
        size_[s] += size_[d];
        id_[s] = std::min(id_[s], id_[d]);
        ++version_[s];
        ++version_[d];
        for (const std::uint32_t x : adj_[d]) {
            if (!alive_[x]) continue;
            auto it = links_.find(key(d, x));
            if (it == links_.end()) continue;
            const Link l = it->second;
            links_.erase(it);
            auto [jt, fresh] = links_.try_emplace(key(s, x), l);
            if (fresh) {
                adj_[s].push_back(x);
                adj_[x].push_back(s);
            } else {
                jt->second.w += l.w;
                jt->second.m += l.m;
            }
        }
        std::vector<std::uint32_t>().swap(adj_[d]);
        // drop the dead neighbours of s and queue its pairs with their new gains
        auto& list = adj_[s];
        size_t kept = 0;
        for (const std::uint32_t x : list) {
            if (!alive_[x] || x == s) continue;
            list[kept++] = x;
            queue(s, x, links_.find(key(s, x))->second);
        }
        list.resize(kept);
    }

    // The heap holds mostly outdated entries: rebuilt from the current pairs.
    void requeue_all() {
        heap_ = decltype(heap_)();
        for (const auto& [k, l] : links_)
            queue(static_cast<std::uint32_t>(k >> 32), static_cast<std::uint32_t>(k & 0xFFFFFFFFu), l);
    }

    double b_;
    std::vector<std::int64_t> size_;
    std::vector<std::uint32_t> id_, version_;
    std::vector<char> alive_;
    std::vector<std::uint32_t> parent_;
    std::vector<std::vector<std::uint32_t>> adj_;
    std::unordered_map<std::uint64_t, Link> links_;
    std::priority_queue<Entry, std::vector<Entry>, Lower> heap_;
    bool stopped_ = false;
};

}  // namespace

double background_objective(const SparseGraph& g, double background, const Labels& labels) {
    Labels lab = labels;
    const Index k = normalize_labels(lab);
    std::vector<std::int64_t> size(static_cast<size_t>(k), 0);
    for (const Index l : lab) ++size[static_cast<size_t>(l)];
    double cut = 0.0;
    std::int64_t cut_edges = 0;
    for (Index e = 0; e < g.num_edges(); ++e)
        if (lab[g.edge_u[e]] != lab[g.edge_v[e]]) {
            cut += g.edge_cost[e];
            ++cut_edges;
        }
    // pairs in different clusters: (n^2 - sum of squared sizes) / 2, exact in 64 bits up to n ~ 3e9
    std::int64_t same = 0;
    for (const std::int64_t s : size) same += s * s;
    const std::int64_t n = g.n, cut_pairs = (n * n - same) / 2;
    return cut + background * static_cast<double>(cut_pairs - cut_edges);
}

Labels gaec_background(const SparseGraph& g, double background, Control& control, const Labels* start,
                       HeuristicStats* stats) {
    if (!(background <= 0.0)) throw std::invalid_argument("the background cost must be <= 0 (repulsive)");
    const Index n = g.n;
    if (n == 0) return {};
    Labels cluster_of;
    Index k = n;
    if (start) {
        cluster_of = *start;
        k = detail::relabel(cluster_of);
    } else {
        cluster_of.resize(static_cast<size_t>(n));
        std::iota(cluster_of.begin(), cluster_of.end(), Index{0});
    }
    Contraction graph(g, background, cluster_of, k, control);
    std::int64_t contractions = 0;
    if (!graph.stopped()) {
        detail::ProgressThrottle progress(control, "gaec");
        while (!((contractions & 255) == 0 && control.stop()) && graph.step()) {
            ++contractions;
            progress.maybe(std::numeric_limits<double>::quiet_NaN(), contractions, k - 1);
        }
    }
    if (stats) stats->iterations = contractions;
    Labels labels(cluster_of.size());
    for (size_t v = 0; v < cluster_of.size(); ++v)
        labels[v] = graph.root(static_cast<std::uint32_t>(cluster_of[v]));
    detail::relabel(labels);
    return labels;
}

}  // namespace corrclust
