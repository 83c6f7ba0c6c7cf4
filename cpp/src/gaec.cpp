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
#include <utility>
#include <stdexcept>
#include <cstdint>
#include <cstring>
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

// Max-heap of candidate pairs (cost >= 0, u < v) for the sparse GAEC, ordered by larger cost, then
// smaller (u, v). Each entry is one 128-bit key: the bits of the cost (for non-negative doubles
// their unsigned order is the numeric order; -0 is folded into +0) above the complemented pair, so
// one unsigned comparison decides and the order is total. 4-ary: the four children of a node share
// one cache line, and the tree is half as deep as a binary one.
class PairHeap {
public:
    struct Key {
        std::uint64_t hi, lo;
        bool operator<(const Key& o) const { return hi < o.hi || (hi == o.hi && lo < o.lo); }
    };
    static Key key(double w, Index u, Index v) {
        const double w0 = w + 0.0;  // -0 -> +0
        std::uint64_t bits;
        std::memcpy(&bits, &w0, sizeof bits);
        return {bits, ~((static_cast<std::uint64_t>(u) << 32) | static_cast<std::uint64_t>(v))};
    }
    static double w_of(const Key& k) {
        double w;
        std::memcpy(&w, &k.hi, sizeof w);
        return w;
    }
    static Index u_of(const Key& k) { return static_cast<Index>(~k.lo >> 32); }
    static Index v_of(const Key& k) { return static_cast<Index>(~k.lo & 0xFFFFFFFFu); }

    explicit PairHeap(std::vector<Key> keys) : h_(std::move(keys)) {
        if (h_.size() > 1)
            for (size_t i = (h_.size() - 2) / 4 + 1; i-- > 0;) sift_down(i, h_[i]);
    }
    bool empty() const { return h_.empty(); }
    void push(Key k) {
        size_t i = h_.size();
        h_.push_back(k);
        while (i > 0) {
            const size_t p = (i - 1) / 4;
            if (!(h_[p] < k)) break;
            h_[i] = h_[p];
            i = p;
        }
        h_[i] = k;
    }
    Key pop() {
        const Key top = h_[0];
        const Key last = h_.back();
        h_.pop_back();
        if (!h_.empty()) sift_down(0, last);
        return top;
    }

private:
    void sift_down(size_t i, Key k) {
        const size_t n = h_.size();
        for (;;) {
            const size_t c = 4 * i + 1;
            if (c >= n) break;
            size_t b = c;
            const size_t e = std::min(c + 4, n);
            for (size_t j = c + 1; j < e; ++j)
                if (h_[b] < h_[j]) b = j;
            if (!(k < h_[b])) break;
            h_[i] = h_[b];
            i = b;
        }
        h_[i] = k;
    }
    std::vector<Key> h_;
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

// Sparse: sorted adjacency vectors of the current clusters (neighbour id, summed cost), merged
// linearly on contraction, and a max-heap of candidate pairs whose entries are checked lazily
// against the current cost. Contiguous sorted vectors beat hash maps here: cluster degrees are
// small on sparse graphs, so a merge or an in-place replacement touches a few cache lines, where a
// hash map costs a random probe per neighbour and an allocation per rehash.
Labels gaec_ex(const SparseGraph& g, Control& control, const Labels* start, HeuristicStats* stats) {
    const Index n = g.n;
    if (n == 0) return {};
    Labels cluster_of;
    const Index k = initial_clusters(n, start, cluster_of);
    if (k > static_cast<Index>(UINT32_MAX))
        throw std::length_error("sparse GAEC supports at most 2^32 - 1 initial clusters");
    struct Nb {
        Index id;
        double w;
    };
    using NbList = std::vector<Nb>;
    const auto id_less = [](const Nb& a, const Nb& b) { return a.id < b.id; };
    const auto lower = [](NbList& l, Index key) {
        return std::lower_bound(l.begin(), l.end(), key, [](const Nb& a, Index x) { return a.id < x; });
    };
    std::vector<NbList> adj(static_cast<size_t>(k));
    {
        std::vector<size_t> degree(static_cast<size_t>(k), 0);
        for (Index e = 0; e < g.num_edges(); ++e) {
            const Index a = cluster_of[g.edge_u[e]], b = cluster_of[g.edge_v[e]];
            if (a == b) continue;
            ++degree[a];
            ++degree[b];
        }
        for (Index a = 0; a < k; ++a) adj[a].reserve(degree[a]);
    }
    // costs of parallel cluster pairs are summed in edge order (a stable sort keeps that order)
    for (Index e = 0; e < g.num_edges(); ++e) {
        const Index a = cluster_of[g.edge_u[e]], b = cluster_of[g.edge_v[e]];
        if (a == b) continue;
        adj[a].push_back({b, g.edge_cost[e]});
        adj[b].push_back({a, g.edge_cost[e]});
    }
    for (NbList& l : adj) {
        if (!std::is_sorted(l.begin(), l.end(), id_less)) std::stable_sort(l.begin(), l.end(), id_less);
        size_t o = 0;
        for (size_t i = 0; i < l.size(); ++i) {
            if (o > 0 && l[o - 1].id == l[i].id) l[o - 1].w += l[i].w;
            else l[o++] = {l[i].id, 0.0 + l[i].w};
        }
        l.resize(o);
    }
    std::vector<PairHeap::Key> initial;
    for (Index a = 0; a < k; ++a)
        for (const Nb& nb : adj[a])
            if (a < nb.id && nb.w >= 0.0) initial.push_back(PairHeap::key(nb.w, a, nb.id));
    PairHeap heap(std::move(initial));
    std::vector<std::pair<Index, Index>> log;  // contractions (survivor, disappearing)
    log.reserve(static_cast<size_t>(k));
    NbList merged;
    std::vector<char> alive(static_cast<size_t>(k), 1);

    detail::ProgressThrottle progress(control, "gaec");
    std::int64_t contractions = 0, pops = 0;
    while (!heap.empty()) {
        if ((++pops & 255) == 0 && control.stop()) break;
        const PairHeap::Key top = heap.pop();
        const Index u = PairHeap::u_of(top), v = PairHeap::v_of(top);
        if (!alive[u] || !alive[v]) continue;
        {
            NbList& lu = adj[u];
            const auto it = lower(lu, v);
            if (it == lu.end() || it->id != v || it->w != PairHeap::w_of(top)) continue;  // stale
        }
        if (control.stop()) break;
        Index s = u, d = v;  // survivor, disappearing
        if (adj[d].size() > adj[s].size()) std::swap(s, d);
        NbList& as = adj[s];
        NbList& ad = adj[d];
        merged.clear();
        merged.reserve(as.size() + ad.size());
        // every neighbour x of d: its new cost to s, and in x's own list d is replaced by s
        const auto relink = [&](Index x, double sx) {
            NbList& lx = adj[x];
            const auto pd = lower(lx, d);
            const auto ps = lower(lx, s);
            if (ps != lx.end() && ps->id == s) {
                ps->w = sx;
                lx.erase(pd);
            } else if (ps > pd) {  // s sorts after d: shift the entries in between to the left
                std::move(pd + 1, ps, pd);
                *(ps - 1) = {s, sx};
            } else {  // s sorts before d: shift the entries in between to the right
                std::move_backward(ps, pd, pd + 1);
                *ps = {s, sx};
            }
            if (sx >= 0.0) heap.push(PairHeap::key(sx, std::min(s, x), std::max(s, x)));
        };
        // merge: d's entries are located in s's list by binary search, and the runs of s's list in
        // between (neighbours of s only, unchanged) are copied in bulk, so absorbing a small
        // cluster into a large one costs a memcpy of the large list instead of a compare per entry
        const auto s_end = as.end();
        const auto s_d = lower(as, d);  // d's own entry in s's list (present: s and d are adjacent)
        auto si = as.begin();
        const auto copy_s = [&](NbList::iterator last) {  // copies [si, last) without d's entry
            if (s_d >= si && s_d < last) {
                merged.insert(merged.end(), si, s_d);
                merged.insert(merged.end(), s_d + 1, last);
            } else {
                merged.insert(merged.end(), si, last);
            }
            si = last;
        };
        for (const Nb& y : ad) {
            if (y.id == s) continue;
            const auto p = std::lower_bound(si, s_end, y.id, [](const Nb& a, Index x) { return a.id < x; });
            copy_s(p);
            double sx;
            if (p != s_end && p->id == y.id) {  // common neighbour
                sx = p->w + y.w;
                si = p + 1;
            } else {  // neighbour of d only
                sx = 0.0 + y.w;
            }
            merged.push_back({y.id, sx});
            relink(y.id, sx);
        }
        copy_s(s_end);
        as.swap(merged);
        NbList().swap(ad);
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
