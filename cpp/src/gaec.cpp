// Greedy additive edge contraction (GAEC) for dense and sparse problems.
//
// Both variants contract, at every step, the pair of current clusters whose summed cost is the
// largest, as long as it is >= 0. Ties are broken the same way in both (largest cost, then the
// smallest (lower id, higher id) pair), and the surviving cluster keeps the lower id whenever both
// clusters have equally many neighbours, so on a complete graph the dense and the sparse variant
// produce the same partition.
#include <algorithm>
#include <limits>
#include <memory>
#include <numeric>
#include <queue>
#include <utility>
#include <stdexcept>
#include <cstdint>
#include <vector>

#include "corrclust/heuristics.hpp"
#include "corrclust/heuristics_detail.hpp"

namespace corrclust {
namespace {

// Initial clusters: the normalised start labelling, or singletons.
Index initial_clusters(Index n, const Labels* start, Labels& cluster_of) {
    if (start) {
        cluster_of = *start;
        return detail::relabel(cluster_of);
    }
    cluster_of.resize(static_cast<size_t>(n));
    std::iota(cluster_of.begin(), cluster_of.end(), Index{0});
    return n;
}

// Open-addressing hash map Index -> double (keys >= 0) without an allocation per entry: the
// adjacency of a cluster in the sparse GAEC. Linear probing with tombstones; rebuilt when half of
// the slots are used (live or tombstone), which keeps probe sequences short.
class FlatMap {
public:
    size_t size() const { return size_; }
    double* find(Index key) {
        if (slots_.empty()) return nullptr;
        for (size_t i = slot(key);; i = (i + 1) & mask_) {
            if (slots_[i].key == key) return &slots_[i].val;
            if (slots_[i].key == kEmpty) return nullptr;
        }
    }
    // Adds `c` to the value of `key` (inserting 0 first if absent); returns the new value.
    double add(Index key, double c) { return ref(key) += c; }
    // Reference to the value of `key`, inserted as 0 if absent (valid until the next insertion).
    double& ref(Index key) {
        if ((used_ + 1) * 2 > slots_.size()) rehash(std::max<size_t>(8, 4 * (size_ + 1)));
        size_t tomb = SIZE_MAX;
        for (size_t i = slot(key);; i = (i + 1) & mask_) {
            Slot& sl = slots_[i];
            if (sl.key == key) return sl.val;
            if (sl.key == kTomb && tomb == SIZE_MAX) tomb = i;
            if (sl.key == kEmpty) {
                if (tomb != SIZE_MAX) i = tomb;
                else ++used_;
                slots_[i].key = key;
                slots_[i].val = 0.0;
                ++size_;
                return slots_[i].val;
            }
        }
    }
    void erase(Index key) {
        if (slots_.empty()) return;
        for (size_t i = slot(key);; i = (i + 1) & mask_) {
            if (slots_[i].key == key) {
                slots_[i].key = kTomb;
                --size_;
                return;
            }
            if (slots_[i].key == kEmpty) return;
        }
    }
    template <class F>
    void for_each(F&& f) const {
        for (const Slot& sl : slots_)
            if (sl.key >= 0) f(sl.key, sl.val);
    }
    void prefetch(Index key) const {
        if (!slots_.empty()) __builtin_prefetch(&slots_[slot(key)]);
    }
    void reserve(size_t n) {
        if (n * 2 > slots_.size()) rehash(2 * n + 1);
    }
    void release() {
        std::vector<Slot>().swap(slots_);
        size_ = used_ = 0;
    }

private:
    static constexpr Index kEmpty = -1, kTomb = -2;
    struct Slot {  // key and value side by side: one cache miss per probe, not two
        Index key;
        double val;
    };
    size_t slot(Index key) const {
        return static_cast<size_t>((static_cast<std::uint64_t>(key) * 0x9E3779B97F4A7C15ULL) >> 32) & mask_;
    }
    void rehash(size_t want) {
        size_t cap = 8;
        while (cap < want) cap <<= 1;
        std::vector<Slot> old(cap, Slot{kEmpty, 0.0});
        old.swap(slots_);
        mask_ = cap - 1;
        size_ = used_ = 0;
        for (const Slot& sl : old)
            if (sl.key >= 0) ref(sl.key) = sl.val;
    }
    std::vector<Slot> slots_;
    size_t size_ = 0, used_ = 0, mask_ = 0;
};


// Maps every node to the final cluster of its initial cluster. `log` lists the contractions in
// order as (survivor, disappearing); replayed backwards, each disappearing cluster takes the final
// cluster of its survivor, which is already known because the survivor's own later fate was
// replayed first.
Labels final_labels(const Labels& cluster_of, Index k, const std::vector<std::pair<Index, Index>>& log) {
    std::vector<Index> root(static_cast<size_t>(k));
    std::iota(root.begin(), root.end(), Index{0});
    for (auto it = log.rbegin(); it != log.rend(); ++it) root[it->second] = root[it->first];
    Labels labels(cluster_of.size());
    for (size_t v = 0; v < cluster_of.size(); ++v) labels[v] = root[cluster_of[v]];
    detail::relabel(labels);
    return labels;
}

}  // namespace

// Dense: one k x k working matrix of cluster-to-cluster costs (k = number of initial clusters), and
// for every active row a cache of its best partner, so a step costs O(k) except for the rows whose
// cached partner changed.
Labels gaec_ex(const DenseView& p, Control& control, const Labels* start, HeuristicStats* stats) {
    const Index n = p.n;
    if (n == 0) return {};
    Labels cluster_of;
    const Index k = initial_clusters(n, start, cluster_of);
    const size_t K = static_cast<size_t>(k);
    std::vector<std::pair<Index, Index>> log;  // contractions (survivor, disappearing)
    // The working matrix is filled row block by row block with a clock check in between: at
    // n = 3000 it is 72 MB, and touching it for the first time is the slowest part of the setup.
    std::unique_ptr<double[]> w_owner(new double[K * K]);  // uninitialised; every entry is written
    double* const w = w_owner.get();
    if (start) {
        std::fill(w, w + K * K, 0.0);
        for (Index i = 0; i < n; ++i) {
            if ((i & 63) == 0 && control.stop()) return final_labels(cluster_of, k, log);
            const double* row = p.data + i * n;
            double* wrow = w + static_cast<size_t>(cluster_of[i]) * K;
            for (Index j = 0; j < n; ++j) wrow[cluster_of[j]] += row[j];
        }
        for (size_t c = 0; c < K; ++c) w[c * K + c] = 0.0;
    } else {
        for (size_t r0 = 0; r0 < K; r0 += 64) {
            if (control.stop()) return final_labels(cluster_of, k, log);
            const size_t r1 = std::min(K, r0 + 64);
            std::copy(p.data + r0 * K, p.data + r1 * K, w + r0 * K);
        }
    }

    std::vector<Index> active(K), pos(K), best(K, -1);
    log.reserve(K);
    std::iota(active.begin(), active.end(), Index{0});
    std::iota(pos.begin(), pos.end(), Index{0});
    std::vector<double> best_val(K, -std::numeric_limits<double>::infinity());
    // stale[i]: best_val[i] is only an upper bound of row i's maximum (its best partner lost value
    // or disappeared); such a row is rescanned only when it becomes the candidate of a step.
    std::vector<char> stale(K, 0);

    auto recompute = [&](Index i) {
        const double* row = w + static_cast<size_t>(i) * K;
        Index b = -1;
        double bv = -std::numeric_limits<double>::infinity();
        for (const Index j : active) {
            if (j == i) continue;
            const double x = row[j];
            if (x > bv || (x == bv && j < b)) {
                bv = x;
                b = j;
            }
        }
        best[i] = b;
        best_val[i] = bv;
        stale[i] = 0;
    };
    for (Index i = 0; i < k; ++i) {
        if ((i & 63) == 0 && control.stop()) {  // stopped before the first contraction: the start
            return final_labels(cluster_of, k, log);
        }
        recompute(i);
    }

    detail::ProgressThrottle progress(control, "gaec");
    std::int64_t contractions = 0;
    while (active.size() > 1) {
        if (control.stop()) break;
        // the row with the largest (upper bound of its) maximum, ties to the lower id; a stale
        // winner is rescanned and the choice repeated
        Index a = -1;
        for (;;) {
            a = -1;
            double av = -std::numeric_limits<double>::infinity();
            for (const Index i : active)
                if (best_val[i] > av || (best_val[i] == av && i < a)) {
                    av = best_val[i];
                    a = i;
                }
            if (a < 0 || !stale[a]) break;
            recompute(a);
        }
        if (a < 0 || !(best_val[a] >= 0.0)) break;
        Index b = best[a];
        if (b < a) std::swap(a, b);  // survivor a (lower id), b disappears
        // remove b from the active set
        const Index pb = pos[b];
        active[pb] = active.back();
        pos[active[pb]] = pb;
        active.pop_back();
        log.emplace_back(a, b);
        double* ra = w + static_cast<size_t>(a) * K;
        const double* rb = w + static_cast<size_t>(b) * K;
        for (const Index j : active) {
            if (j == a) continue;
            const double x = ra[j] + rb[j];
            ra[j] = x;
            w[static_cast<size_t>(j) * K + a] = x;
        }
        ++contractions;
        recompute(a);
        for (const Index j : active) {
            if (j == a) continue;
            const double x = ra[j];
            if (stale[j]) {
                if (x > best_val[j]) {  // exceeds the bound of every other entry: exact again
                    best[j] = a;
                    best_val[j] = x;
                    stale[j] = 0;
                }
            } else if (best[j] == b) {
                if (x > best_val[j] || (x == best_val[j] && a < b)) {
                    best[j] = a;  // a now holds the maximum (b's old value was the maximum)
                    best_val[j] = x;
                } else {
                    stale[j] = 1;  // bound: b's old value
                }
            } else if (best[j] == a) {
                if (x >= best_val[j]) best_val[j] = x;
                else stale[j] = 1;  // bound: a's old value
            } else if (x > best_val[j] || (x == best_val[j] && a < best[j])) {
                best[j] = a;
                best_val[j] = x;
            }
        }
        progress.maybe(std::numeric_limits<double>::quiet_NaN(), contractions, k - 1);
    }
    if (stats) stats->iterations = contractions;
    return final_labels(cluster_of, k, log);
}

// Sparse: adjacency hash maps of the current clusters, merged on contraction (the map with fewer
// entries is folded into the larger one), and a max-heap of candidate pairs whose entries are
// checked lazily against the current cost.
Labels gaec_ex(const SparseGraph& g, Control& control, const Labels* start, HeuristicStats* stats) {
    const Index n = g.n;
    if (n == 0) return {};
    Labels cluster_of;
    const Index k = initial_clusters(n, start, cluster_of);
    std::vector<FlatMap> adj(static_cast<size_t>(k));
    {
        std::vector<size_t> degree(static_cast<size_t>(k), 0);
        for (Index e = 0; e < g.num_edges(); ++e) {
            ++degree[cluster_of[g.edge_u[e]]];
            ++degree[cluster_of[g.edge_v[e]]];
        }
        for (Index a = 0; a < k; ++a) adj[a].reserve(degree[a]);
    }
    for (Index e = 0; e < g.num_edges(); ++e) {
        const Index a = cluster_of[g.edge_u[e]], b = cluster_of[g.edge_v[e]];
        if (a == b) continue;
        adj[a].add(b, g.edge_cost[e]);
        adj[b].add(a, g.edge_cost[e]);
    }
    if (k > static_cast<Index>(UINT32_MAX))
        throw std::length_error("sparse GAEC supports at most 2^32 - 1 initial clusters");
    struct Entry {  // 16 bytes: heap operations dominate the sparse GAEC
        double w;
        std::uint32_t u, v;  // u < v
        bool operator<(const Entry& o) const {  // max-heap: larger w, then smaller (u, v) first
            if (w != o.w) return w < o.w;
            if (u != o.u) return u > o.u;
            return v > o.v;
        }
    };
    std::vector<Entry> initial;
    for (Index a = 0; a < k; ++a)
        adj[a].for_each([&](Index b, double c) {
            if (a < b && c >= 0.0)
                initial.push_back({c, static_cast<std::uint32_t>(a), static_cast<std::uint32_t>(b)});
        });
    std::priority_queue<Entry> heap(std::less<Entry>(), std::move(initial));
    std::vector<std::pair<Index, Index>> log;  // contractions (survivor, disappearing)
    std::vector<std::pair<Index, double>> nbr;
    std::vector<char> alive(static_cast<size_t>(k), 1);

    detail::ProgressThrottle progress(control, "gaec");
    std::int64_t contractions = 0, pops = 0;
    while (!heap.empty()) {
        if ((++pops & 255) == 0 && control.stop()) break;
        const Entry top = heap.top();
        heap.pop();
        if (!alive[top.u] || !alive[top.v]) continue;
        const double* cur = adj[top.u].find(top.v);
        if (cur == nullptr || *cur != top.w) continue;  // stale entry
        if (control.stop()) break;
        Index s = static_cast<Index>(top.u), d = static_cast<Index>(top.v);  // survivor, disappearing
        if (adj[d].size() > adj[s].size()) std::swap(s, d);
        adj[s].erase(d);
        adj[d].erase(s);
        // the neighbours' maps are scattered in memory: collect them and prefetch their slots so
        // the cache misses overlap instead of queueing one after the other
        nbr.clear();
        adj[d].for_each([&](Index x, double c) { nbr.emplace_back(x, c); });
        for (const auto& xc : nbr) __builtin_prefetch(&adj[xc.first]);
        for (const auto& xc : nbr) adj[xc.first].prefetch(d);
        for (const auto& [x, c] : nbr) {
            auto& ax = adj[x];
            ax.erase(d);
            double& sref = adj[s].ref(x);
            sref += c;
            const double sx = sref;
            ax.ref(s) = sx;
            if (sx >= 0.0)
                heap.push({sx, static_cast<std::uint32_t>(std::min(s, x)), static_cast<std::uint32_t>(std::max(s, x))});
        }
        adj[d].release();
        alive[d] = 0;
        log.emplace_back(s, d);
        ++contractions;
        progress.maybe(std::numeric_limits<double>::quiet_NaN(), contractions, k - 1);
    }
    if (stats) stats->iterations = contractions;
    return final_labels(cluster_of, k, log);
}

Labels gaec(const DenseView& problem, Control& control, const Labels* start) {
    return gaec_ex(problem, control, start, nullptr);
}
Labels gaec(const SparseGraph& problem, Control& control, const Labels* start) {
    return gaec_ex(problem, control, start, nullptr);
}

}  // namespace corrclust
