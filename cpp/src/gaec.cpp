// Greedy additive edge contraction (GAEC) for dense and sparse problems.
//
// Both variants contract, at every step, the pair of current clusters whose summed cost is the
// largest, as long as it is >= 0. Ties are broken the same way in both (largest cost, then the
// smallest (lower id, higher id) pair), and the surviving cluster keeps the lower id whenever both
// clusters have equally many neighbours, so on a complete graph the dense and the sparse variant
// produce the same partition.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <memory>
#include <numeric>
#include <utility>
#include <stdexcept>
#include <cstdint>
#include <vector>

#include "corrclust/heuristics.hpp"
#include "corrclust/heuristics_detail.hpp"
#include "corrclust/thread_team.hpp"


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

// The contracted graph of the sparse GAEC. Every pair of adjacent clusters has one record (its
// summed cost and its two cluster ids, lower first); every cluster has a linear-probing hash table
// neighbour -> pair, all tables in one arena (no allocation per cluster, no tombstones: deletion
// shifts the probe run back). The pairs of cost >= 0 sit in an addressable 4-ary max-heap ordered
// by (cost descending, lower id, higher id), each at most once and with its current cost, so a
// contraction moves, adds or removes heap items in place instead of pushing new entries and
// skipping stale ones later (one pop per contraction).
class ContractionGraph {
public:
    static constexpr std::uint32_t kNone = UINT32_MAX;
    struct Pair {
        double w;
        std::uint32_t a, b;  // current cluster ids, a < b
    };

    // Clusters 0..k-1 of the nodes (cluster_of); pairs summed over the edges between them in
    // edge order. `identity`: every node is its own cluster, so every edge is a pair. Reads the
    // clock between phases and every 2^16 edges; when told to stop it returns unfinished, with
    // stopped() true (a large graph takes tens of milliseconds to set up).
    ContractionGraph(const SparseGraph& g, const Labels& cluster_of, Index k, bool identity, Control& control) {
        if (k >= static_cast<Index>(kNone) || g.num_edges() >= static_cast<Index>(kNone))
            throw std::length_error("sparse GAEC supports fewer than 2^32 - 1 clusters and edges");
        const size_t K = static_cast<size_t>(k), M = static_cast<size_t>(g.num_edges());
        tables_.resize(K);
        std::vector<std::uint32_t> degree(K, 0);
        for (size_t e = 0; e < M; ++e) {
            const Index a = cluster_of[g.edge_u[e]], b = cluster_of[g.edge_v[e]];
            if (a == b) continue;
            ++degree[a];
            ++degree[b];
        }
        if ((stopped_ = control.stop())) return;
        size_t total = 0;
        for (size_t c = 0; c < K; ++c) {
            const std::uint32_t cap = capacity_for(degree[c]);
            tables_[c] = Table{total, cap - 1, 0};
            total += cap;
        }
        arena_.reserve(total + total / 2);
        arena_.assign(total, Slot{kNone, kNone});
        if (identity) {
            pairs_.resize(M);
            for (size_t e = 0; e < M; ++e)
                pairs_[e] = Pair{g.edge_cost[e], static_cast<std::uint32_t>(g.edge_u[e]),
                                 static_cast<std::uint32_t>(g.edge_v[e])};
            for (size_t c = 0; c < K; ++c) {  // table by table, from the CSR rows
                if ((c & 0xFFFF) == 0xFFFF && (stopped_ = control.stop())) return;
                for (Index j = g.adj_offset[c]; j < g.adj_offset[c + 1]; ++j)
                    insert(static_cast<std::uint32_t>(c), static_cast<std::uint32_t>(g.adj_node[j]),
                           static_cast<std::uint32_t>(g.adj_edge[j]));
            }
        } else {
            pairs_.reserve(M);
            for (size_t e = 0; e < M; ++e) {
                if ((e & 0xFFFF) == 0xFFFF && (stopped_ = control.stop())) return;
                Index a = cluster_of[g.edge_u[e]], b = cluster_of[g.edge_v[e]];
                if (a == b) continue;
                if (a > b) std::swap(a, b);
                const auto ua = static_cast<std::uint32_t>(a), ub = static_cast<std::uint32_t>(b);
                const std::uint32_t p = find(ua, ub);
                if (p != kNone) {
                    pairs_[p].w += g.edge_cost[e];
                } else {
                    const auto q = static_cast<std::uint32_t>(pairs_.size());
                    pairs_.push_back(Pair{g.edge_cost[e], ua, ub});
                    insert(ua, ub, q);
                    insert(ub, ua, q);
                }
            }
        }
        // the heap: Floyd's heapify, positions recorded once at the end
        if ((stopped_ = control.stop())) return;
        heap_.resize(pairs_.size());
        size_t count = 0;  // branch-free: about a quarter of the costs are negative, in no order
        for (std::uint32_t p = 0; p < pairs_.size(); ++p) {
            heap_[count] = Item{pairs_[p].w, p};
            count += pairs_[p].w >= 0.0;
        }
        heap_.resize(count);
        if (heap_.size() > 1)  // from the parent of the last item down to the root
            for (size_t i = (heap_.size() - 2) / kArity + 1; i-- > 0;) sift_down<false>(i);
        hpos_.assign(pairs_.size(), kNone);
        for (size_t i = 0; i < heap_.size(); ++i) hpos_[heap_[i].pair] = static_cast<std::uint32_t>(i);
    }

    bool stopped() const { return stopped_; }
    bool empty() const { return heap_.empty(); }
    // The pair to contract next: the largest cost, ties to the smallest (lower, higher) ids.
    const Pair& top() const { return pairs_[heap_[0].pair]; }
    std::uint32_t degree(std::uint32_t c) const { return tables_[c].size; }

    // Contracts the top pair: cluster d disappears into s (both its endpoints). Returns the
    // work done (about the table entries visited), which paces the clock checks of the caller.
    size_t contract(std::uint32_t s, std::uint32_t d) {
        heap_pop();
        erase(s, d);
        erase(d, s);
        size_t work = tables_[d].size + 1;
        work += reserve(s, tables_[d].size);
        // d's entries gathered without a branch per slot (whether a slot is empty is unpredictable)
        const Table td = tables_[d];
        gathered_.resize(static_cast<size_t>(td.mask) + 1);
        size_t count = 0;
        for (size_t i = td.off, end = td.off + td.mask + 1; i < end; ++i) {
            gathered_[count] = arena_[i];
            count += arena_[i].key != kNone;
        }
        for (size_t g = 0; g < count; ++g) {
            const std::uint32_t x = gathered_[g].key, pd = gathered_[g].pair;
            const std::uint32_t ps = find(s, x);
            erase(x, d);
            if (ps == kNone) {  // x is new to s: the pair (d, x) becomes (s, x) with its cost
                insert(s, x, pd);
                insert(x, s, pd);
                Pair& q = pairs_[pd];
                q.a = std::min(s, x);
                q.b = std::max(s, x);
                if (hpos_[pd] != kNone) heap_fix(hpos_[pd]);
            } else {  // (d, x) is folded into (s, x)
                if (hpos_[pd] != kNone) heap_erase(pd);
                Pair& q = pairs_[ps];
                q.w += pairs_[pd].w;
                heap_update(ps);
            }
        }
        tables_[d].size = 0;
        return work;
    }

private:
    struct Slot {
        std::uint32_t key, pair;
    };
    struct Table {
        size_t off;
        std::uint32_t mask, size;
    };
    // A heap item: the pair's cost (compared first) and the pair, whose ids break ties. (Keeping
    // the tie key inside the item as well measured no faster, although real instances have many
    // equal costs: 1125 distinct values among the 4140 positive costs of gm_knott_3d_034.)
    struct Item {
        double w;
        std::uint32_t pair;
    };
    static std::uint64_t tie_key(const Pair& p) { return (static_cast<std::uint64_t>(p.a) << 32) | p.b; }

    // A table is at most a third full when (re)built and at most half full before it grows:
    // fewer collisions measured 8-10 % faster on the knott graphs than building at half full.
    static std::uint32_t capacity_for(size_t entries) {
        if (entries > (size_t{1} << 29))
            throw std::length_error("sparse GAEC: a cluster with more than 2^29 neighbouring clusters");
        std::uint32_t cap = 4;
        while (cap < 3 * entries) cap <<= 1;
        return cap;
    }
    static std::uint32_t home(std::uint32_t key, std::uint32_t mask) {
        return static_cast<std::uint32_t>((key * 0x9E3779B97F4A7C15ULL) >> 32) & mask;
    }
    std::uint32_t find(std::uint32_t c, std::uint32_t key) const {
        const Table& t = tables_[c];
        const Slot* base = arena_.data() + t.off;
        for (std::uint32_t i = home(key, t.mask);; i = (i + 1) & t.mask) {
            if (base[i].key == key) return base[i].pair;
            if (base[i].key == kNone) return kNone;
        }
    }
    // Precondition: key absent and the table at most half full afterwards.
    void insert(std::uint32_t c, std::uint32_t key, std::uint32_t pair) {
        Table& t = tables_[c];
        Slot* base = arena_.data() + t.off;
        std::uint32_t i = home(key, t.mask);
        while (base[i].key != kNone) i = (i + 1) & t.mask;
        base[i] = Slot{key, pair};
        ++t.size;
    }
    // Precondition: key present. Later entries of its probe run move back into the gap.
    void erase(std::uint32_t c, std::uint32_t key) {
        Table& t = tables_[c];
        Slot* base = arena_.data() + t.off;
        std::uint32_t i = home(key, t.mask);
        while (base[i].key != key) i = (i + 1) & t.mask;
        for (std::uint32_t j = (i + 1) & t.mask; base[j].key != kNone; j = (j + 1) & t.mask) {
            const std::uint32_t h = home(base[j].key, t.mask);
            // the entry at j may fill the gap at i unless its home lies cyclically in (i, j]
            if (((j - h) & t.mask) >= ((j - i) & t.mask)) {
                base[i] = base[j];
                i = j;
            }
        }
        base[i].key = kNone;
        --t.size;
    }
    // Makes room for `more` entries in the table of c; returns the work done.
    size_t reserve(std::uint32_t c, std::uint32_t more) {
        Table& t = tables_[c];
        if (2 * (static_cast<size_t>(t.size) + more) <= static_cast<size_t>(t.mask) + 1) return 0;
        const std::uint32_t cap = capacity_for(static_cast<size_t>(t.size) + more);
        const Table old = t;
        t = Table{arena_.size(), cap - 1, 0};
        arena_.resize(arena_.size() + cap, Slot{kNone, kNone});
        for (size_t i = old.off, end = old.off + old.mask + 1; i < end; ++i)
            if (arena_[i].key != kNone) insert(c, arena_[i].key, arena_[i].pair);
        return old.mask + 1;
    }

    // --- addressable heap of the pairs with cost >= 0 ---
    static constexpr size_t kArity = 4;
    bool higher(const Item& x, const Item& y) const {
        return x.w != y.w ? x.w > y.w : tie_key(pairs_[x.pair]) < tie_key(pairs_[y.pair]);
    }
    // The highest of the siblings first..end-1. Which of two siblings is higher is unpredictable
    // (costs come in no order), so the pick is an arithmetic select instead of a branch; only equal
    // costs (rare) branch to the ids. perf on grid-100x100-mean0.3: the loop choosing the child
    // was about a fifth of gaec_ex's samples. Thread CPU side by side against the
    // branching loop: grid-300x300 1.09x, grid-100x100-mean0.3 1.04x, knott and supervoxel 1.00x;
    // the tournament of four against a running select 1.02-1.06x; an 8-ary heap with a tournament
    // of eight 0.97-0.99x (not kept); skipping the re-sift of a renamed pair unless a neighbour
    // in the heap has its cost 0.99-1.02x (not kept). A longer rerun against main (5 rounds):
    // GAEC + KL 1.00-1.02x on the grids, GAEC alone 1.03x on grid-100x100-mean0.3.
    size_t higher_of(size_t x, size_t y) const {
        const size_t take = higher(heap_[y], heap_[x]);
        return x + ((y - x) & (size_t{0} - take));
    }
    size_t higher_child(size_t first, size_t end) const {
        if (end - first == kArity)  // two independent comparisons, then their winners
            return higher_of(higher_of(first, first + 1), higher_of(first + 2, first + 3));
        size_t child = first;
        for (size_t c = first + 1; c < end; ++c) child = higher_of(child, c);
        return child;
    }
    void place(size_t i, const Item& it) {
        heap_[i] = it;
        hpos_[it.pair] = static_cast<std::uint32_t>(i);
    }
    void sift_up(size_t i) {
        const Item it = heap_[i];
        while (i > 0) {
            const size_t parent = (i - 1) / kArity;
            if (!higher(it, heap_[parent])) break;
            place(i, heap_[parent]);
            i = parent;
        }
        place(i, it);
    }
    // Track = false while heapifying: positions are recorded afterwards in one pass.
    template <bool Track = true>
    void sift_down(size_t i) {
        const Item it = heap_[i];
        const size_t n = heap_.size();
        for (;;) {
            const size_t first = kArity * i + 1;
            if (first >= n) break;
            const size_t child = higher_child(first, std::min(n, first + kArity));
            if (!higher(heap_[child], it)) break;
            if (Track) place(i, heap_[child]);
            else heap_[i] = heap_[child];
            i = child;
        }
        if (Track) place(i, it);
        else heap_[i] = it;
    }
    void heap_fix(size_t i) {
        if (i > 0 && higher(heap_[i], heap_[(i - 1) / kArity])) sift_up(i);
        else sift_down(i);
    }
    void heap_erase(std::uint32_t p) {
        const size_t i = hpos_[p];
        hpos_[p] = kNone;
        const Item last = heap_.back();
        heap_.pop_back();
        if (i < heap_.size()) {
            place(i, last);
            heap_fix(i);
        }
    }
    // Removes the top item (the pair being contracted). The hole at the root moves down along the
    // higher child to a leaf, where the last item goes and rises (bottom-up pop): the last item
    // comes from the bottom and mostly stays there, so this skips the comparison with it on every
    // level that heap_erase's sift_down makes. Same top afterwards: the order is total (ties by
    // ids), so every valid heap holds the same items in the same order of removal. (Alone no
    // faster within noise on the 100x100 grids; with the select above grid-300x300 1.05-1.09x.)
    void heap_pop() {
        hpos_[heap_[0].pair] = kNone;
        const Item last = heap_.back();
        heap_.pop_back();
        const size_t n = heap_.size();
        if (n == 0) return;
        size_t i = 0;
        for (;;) {
            const size_t first = kArity * i + 1;
            if (first >= n) break;
            const size_t child = higher_child(first, std::min(n, first + kArity));
            place(i, heap_[child]);
            i = child;
        }
        heap_[i] = last;
        sift_up(i);
    }
    // The cost of p changed: it enters, moves in or leaves the heap.
    void heap_update(std::uint32_t p) {
        const double w = pairs_[p].w;
        const std::uint32_t i = hpos_[p];
        if (w >= 0.0) {
            if (i == kNone) {
                heap_.push_back(Item{w, p});
                sift_up(heap_.size() - 1);
            } else {
                heap_[i].w = w;
                heap_fix(i);
            }
        } else if (i != kNone) {
            heap_erase(p);
        }
    }

private:
    std::vector<Table> tables_;
    std::vector<Slot> arena_;
    std::vector<Pair> pairs_;
    std::vector<Item> heap_;
    std::vector<std::uint32_t> hpos_;  // index of each pair in heap_, or kNone
    std::vector<Slot> gathered_;       // scratch: the entries of the disappearing cluster
    bool stopped_ = false;             // the set-up was cut short by the control
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

namespace {

// Dense GAEC: one k x k working matrix of cluster-to-cluster costs (k = number of initial
// clusters), and for every active row a cache of its best partner, so a step costs O(k) except
// for the rows whose cached partner changed. A step adds row b into row a and writes each sum into
// row j as well (column a, so that every row stays complete), then finds a's new best partner,
// updates j's cached partner and finds the pair to contract next. At n = 10,000 (bench_cc's noisy
// planted instance, 1.4 s of CPU for GAEC) the column write, one cache miss per active row, was
// 40 % of the time (perf). The passes are split over the active list between the threads; every
// choice is an arg-maximum with ties to the lower id, which does not depend on how the list is
// split or ordered, so every team size gives the same contractions.
class DenseGaec {
public:
    DenseGaec(const DenseView& p, Control& control, int threads)
        : p_(p), control_(control), threads_(detail::team_size(threads)) {}

    Labels run(const Labels* start, HeuristicStats* stats) {
        const Index n = p_.n;
        k_ = initial_clusters(n, start, cluster_of_);
        K_ = static_cast<size_t>(k_);
        // Uninitialised; every entry read is written first. (2 MB pages, asked for by madvise, made
        // GAEC 0.4-0.7 s slower on the shared machine: the kernel compacts memory to find them.)
        std::unique_ptr<double[]> owner(new double[K_ * K_]);
        w_ = owner.get();
        if (start) {  // rows summed into their clusters' rows (rare: a warm start of GAEC alone)
            std::fill(w_, w_ + K_ * K_, 0.0);
            for (Index i = 0; i < n; ++i) {
                if ((i & 63) == 0 && control_.stop()) return final_labels(cluster_of_, k_, log_);
                const double* row = p_.data + i * n;
                double* wrow = w_ + static_cast<size_t>(cluster_of_[i]) * K_;
                for (Index j = 0; j < n; ++j) wrow[cluster_of_[j]] += row[j];
            }
            for (size_t c = 0; c < K_; ++c) w_[c * K_ + c] = 0.0;
        } else {
            // Row block by row block with a clock check in between: first touching 800 MB (n =
            // 10,000) is page faults above all, and split over 2 threads it was slower on the
            // shared machine (the kernel's page lists are one lock).
            for (size_t r0 = 0; r0 < K_; r0 += 64) {
                if (control_.stop()) return final_labels(cluster_of_, k_, log_);
                const size_t r1 = std::min(K_, r0 + 64);
                std::copy(p_.data + r0 * K_, p_.data + r1 * K_, w_ + r0 * K_);
            }
        }
        active_.resize(K_);
        std::iota(active_.begin(), active_.end(), Index{0});
        pos_ = active_;
        best_.assign(K_, -1);
        best_val_.assign(K_, -std::numeric_limits<double>::infinity());
        stale_.assign(K_, 0);
        log_.reserve(K_);
        // Small problems run on one thread: a step over m clusters is about 3 m ns of work, and
        // below kMinShared the two barriers of a step cost more than the half it saves.
        const int team = K_ >= kMinShared ? threads_ : 1;
        args_.assign(static_cast<size_t>(std::max(team, 1)), Args{});
        detail::SpinBarrier barrier(team);
        barrier_ = &barrier;
        detail::run_team(team, [&](int t, int size) {
            if (t != 0) return serve(t, size);
            try {
                drive(size, stats);
            } catch (...) {  // (the progress callback may throw) the helpers are let go before it leaves
                finish();
                throw;
            }
        });
        return final_labels(cluster_of_, k_, log_);
    }

private:
    static constexpr size_t kMinShared = 2048;
    struct Arg {  // an arg-maximum: the largest value, ties to the lower id
        double v = -std::numeric_limits<double>::infinity();
        Index i = -1;
        void consider(double x, Index j) {
            if (x > v || (x == v && j < i)) {
                v = x;
                i = j;
            }
        }
        void consider(const Arg& o) { consider(o.v, o.i); }
    };
    struct alignas(64) Args {  // one thread's results of a command; a cache line each
        Arg first, second;
    };
    enum class Cmd { init, contract, rescan, select, exit };

    // Thread 0: runs the algorithm and hands each parallel pass to the team.
    void drive(int size, HeuristicStats* stats) {
        size_ = size;
        if (issue(Cmd::init), stopped_) return finish();  // stopped before the first contraction: the start
        issue(Cmd::select);
        Arg next = gather_second();
        detail::ProgressThrottle progress(control_, "gaec");
        std::int64_t contractions = 0;
        while (active_.size() > 1) {
            if (control_.stop()) break;
            // a stale winner (its cached value only bounds its row) is rescanned, the choice repeated
            while (next.i >= 0 && stale_[next.i]) {
                a_ = next.i;
                issue(Cmd::rescan);
                const Arg r = gather_first();
                best_[a_] = r.i;
                best_val_[a_] = r.v;
                stale_[a_] = 0;
                issue(Cmd::select);
                next = gather_second();
            }
            if (next.i < 0 || !(best_val_[next.i] >= 0.0)) break;
            a_ = next.i;
            b_ = best_[a_];
            if (b_ < a_) std::swap(a_, b_);  // survivor a (lower id), b disappears
            const Index pb = pos_[b_];  // b leaves the active list
            active_[pb] = active_.back();
            pos_[active_[pb]] = pb;
            active_.pop_back();
            log_.emplace_back(a_, b_);
            if (size_ > 1 && (active_.size() < kMinShared || !team_pays())) leave_team();
            issue(Cmd::contract);
            const Arg ra = gather_first();
            best_[a_] = ra.i;
            best_val_[a_] = ra.v;
            stale_[a_] = 0;
            next = gather_second();
            next.consider(best_val_[a_], a_);
            ++contractions;
            progress.maybe(std::numeric_limits<double>::quiet_NaN(), contractions, k_ - 1);
        }
        if (stats) stats->iterations = contractions;
        finish();
    }
    void finish() {
        if (size_ > 1) leave_team();
    }
    void leave_team() {
        cmd_ = Cmd::exit;
        barrier_->wait();
        size_ = 1;
    }
    // Threads 1..: wait for a command, do their share, report.
    void serve(int t, int size) {
        for (;;) {
            barrier_->wait();
            if (cmd_ == Cmd::exit) return;
            work(cmd_, t, size);
            barrier_->wait();
        }
    }
    void issue(Cmd cmd) {
        if (size_ == 1) return work(cmd, 0, 1);
        cmd_ = cmd;
        barrier_->wait();
        work(cmd, 0, size_);
        const auto t = Clock::now();
        barrier_->wait();
        if (Clock::now() - t > std::chrono::microseconds(200)) ++long_waits_;
    }
    // A step at n = 10,000 is a few microseconds of work, and thread 0 waits at the barrier for a
    // fraction of a microsecond when both threads run. A wait of 200 microseconds means the partner
    // lost its core: on the shared 2-core machine at load 8-12 such waits came every few steps
    // and 2 threads took 1.5-2.4x the time of one. After a few of them thread 0 goes on alone (the
    // contractions are the same either way).
    bool team_pays() const { return long_waits_ < 8; }
    Arg gather_first() const {
        Arg r = args_[0].first;
        for (int t = 1; t < size_; ++t) r.consider(args_[t].first);
        return r;
    }
    Arg gather_second() const {
        Arg r = args_[0].second;
        for (int t = 1; t < size_; ++t) r.consider(args_[t].second);
        return r;
    }

    // The share of thread t of one command.
    void work(Cmd cmd, int t, int size) {
        Args& out = args_[t];
        out = Args{};
        size_t lo, hi;
        switch (cmd) {
            case Cmd::init:  // every row's best partner; blocks of 64 rows to whichever thread is free
                for (;;) {
                    const size_t r0 = next_row_.fetch_add(64, std::memory_order_relaxed);
                    if (r0 >= K_) return;
                    // thread 0 reads the clock and polls Ctrl-C (Python sees signals on its main thread only)
                    if (stopped_ || (t == 0 ? control_.stop() : control_.stopped())) {
                        stopped_ = true;
                        return;
                    }
                    for (size_t i = r0, r1 = std::min(K_, r0 + 64); i < r1; ++i) {
                        const Arg r = row_max(static_cast<Index>(i), 0, K_);
                        best_[i] = r.i;
                        best_val_[i] = r.v;
                    }
                }
            case Cmd::rescan:
                detail::share(active_.size(), t, size, lo, hi);
                out.first = row_max(a_, lo, hi);
                return;
            case Cmd::select:
                detail::share(active_.size(), t, size, lo, hi);
                out.second = select(lo, hi);
                return;
            case Cmd::contract:
                detail::share(active_.size(), t, size, lo, hi);
                contract(lo, hi, out);
                return;
            case Cmd::exit:
                return;
        }
    }

    // Row i's largest entry over the active positions [lo, hi), i itself excluded.
    Arg row_max(Index i, size_t lo, size_t hi) const {
        const double* row = w_ + static_cast<size_t>(i) * K_;
        const Index* const act = active_.data();
        Arg r;
        for (size_t q = lo; q < hi; ++q) {
            const Index j = act[q];
            if (j != i) r.consider(row[j], j);
        }
        return r;
    }

    // The largest cached value among the active positions [lo, hi).
    Arg select(size_t lo, size_t hi) const {
        const Index* const act = active_.data();
        const double* const best_val = best_val_.data();
        Arg r;
        for (size_t q = lo; q < hi; ++q) r.consider(best_val[act[q]], act[q]);
        return r;
    }

    // Active positions [lo, hi) of the contraction of b into a: out.first = a's best partner
    // among them, out.second = the largest cached value among them (a excluded).
    void contract(size_t lo, size_t hi, Args& out) {
        const Index a = a_, b = b_;
        double* const w = w_;
        const size_t K = K_;
        double* const ra = w + static_cast<size_t>(a) * K;
        const double* const rb = w + static_cast<size_t>(b) * K;
        const Index* const act = active_.data();
        Index* const best = best_.data();
        double* const best_val = best_val_.data();
        char* const stale = stale_.data();
        // Two loops over the share: the first only adds and writes (a tight loop keeps many of the
        // column writes, one cache miss each, in flight: fused with the second it measured 15 %
        // slower), the second reads row a back from the cache. (j = a only writes the diagonal,
        // which is never read.)
        for (size_t q = lo; q < hi; ++q) {
            const Index j = act[q];
            const double x = ra[j] + rb[j];
            ra[j] = x;
            w[static_cast<size_t>(j) * K + a] = x;
        }
        Arg first, second;
        for (size_t q = lo; q < hi; ++q) {
            const Index j = act[q];
            if (j == a) continue;
            const double x = ra[j];
            first.consider(x, j);
            double bv = best_val[j];
            if (stale[j]) {
                if (x > bv) {  // exceeds the bound of every other entry: exact again
                    best[j] = a;
                    bv = x;
                    stale[j] = 0;
                }
            } else if (best[j] == b) {
                if (x > bv || (x == bv && a < b)) {
                    best[j] = a;  // a now holds the maximum (b's old value was the maximum)
                    bv = x;
                } else {
                    stale[j] = 1;  // bound: b's old value
                }
            } else if (best[j] == a) {
                if (x >= bv) bv = x;
                else stale[j] = 1;  // bound: a's old value
            } else if (x > bv || (x == bv && a < best[j])) {
                best[j] = a;
                bv = x;
            }
            best_val[j] = bv;
            second.consider(bv, j);
        }
        out.first = first;
        out.second = second;
    }

    const DenseView& p_;
    Control& control_;
    const int threads_;
    Index k_ = 0;
    size_t K_ = 0;
    double* w_ = nullptr;
    Labels cluster_of_;
    std::vector<std::pair<Index, Index>> log_;  // contractions (survivor, disappearing)
    std::vector<Index> active_, pos_, best_;  // pos_: index of each active cluster in active_
    std::vector<double> best_val_;
    // stale_[i]: best_val_[i] is only an upper bound of row i's maximum (its best partner lost value
    // or disappeared); such a row is rescanned only when it becomes the candidate of a step.
    std::vector<char> stale_;
    std::vector<Args> args_;
    detail::SpinBarrier* barrier_ = nullptr;
    int size_ = 1;      // threads in the team now (thread 0's view)
    Cmd cmd_ = Cmd::exit;  // written by thread 0 before a barrier, read after it
    Index a_ = -1, b_ = -1;
    using Clock = std::chrono::steady_clock;
    int long_waits_ = 0;  // waits of thread 0 at the barrier after its share longer than 200 us
    std::atomic<bool> stopped_{false};  // the set-up was cut short by the control
    std::atomic<size_t> next_row_{0};   // Cmd::init: the next block of rows to take
};

}  // namespace

Labels gaec_ex(const DenseView& p, Control& control, const Labels* start, HeuristicStats* stats, int threads) {
    if (p.n == 0) return {};
    return DenseGaec(p, control, threads).run(start, stats);
}

// Sparse: the contraction graph above. Each step contracts the top pair of the heap; the
// cluster with more neighbouring clusters survives (the lower id when both have equally many),
// and the other's table entries are folded into it. The clock is read every few thousand table
// entries of work rather than every contraction.
Labels gaec_ex(const SparseGraph& g, Control& control, const Labels* start, HeuristicStats* stats) {
    const Index n = g.n;
    if (n == 0) return {};
    Labels cluster_of;
    const Index k = initial_clusters(n, start, cluster_of);
    std::vector<std::pair<Index, Index>> log;  // contractions (survivor, disappearing)
    ContractionGraph cg(g, cluster_of, k, start == nullptr, control);
    if (cg.stopped()) return final_labels(cluster_of, k, log);  // the start clusters
    detail::ProgressThrottle progress(control, "gaec");
    std::int64_t contractions = 0;
    size_t work = 0, next_poll = 0;
    while (!cg.empty()) {
        if (work >= next_poll) {
            if (control.stop()) break;
            next_poll = work + 4096;
        }
        const ContractionGraph::Pair& top = cg.top();
        std::uint32_t s = top.a, d = top.b;
        if (cg.degree(d) > cg.degree(s)) std::swap(s, d);
        work += cg.contract(s, d);
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
