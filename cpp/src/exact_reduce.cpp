// Persistency reductions for minimum-cost multicut; rules and proofs in exact_reduce.hpp and
// docs/exact.md.
#include "corrclust/exact_reduce.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <numeric>
#include <unordered_map>
#include <utility>

namespace corrclust {
namespace {

double pos(double c) { return c > 0 ? c : 0.0; }

// Minimum cut of a complete weighted graph (Stoer-Wagner, O(k^3)); weights w (k x k, symmetric,
// >= 0) are consumed. Stops early and returns a value below `enough` once some cut is below it.
double stoer_wagner(std::vector<double>& w, int k, double enough) {
    std::vector<int> active(static_cast<size_t>(k));
    std::iota(active.begin(), active.end(), 0);
    std::vector<double> key(static_cast<size_t>(k));
    std::vector<char> added(static_cast<size_t>(k));
    double best = std::numeric_limits<double>::infinity();
    while (active.size() > 1) {
        for (int a : active) {
            key[a] = 0.0;
            added[a] = 0;
        }
        int prev = -1, last = -1;
        double last_key = 0.0;
        for (size_t step = 0; step < active.size(); ++step) {
            int sel = -1;
            for (int a : active)
                if (!added[a] && (sel < 0 || key[a] > key[sel])) sel = a;
            added[sel] = 1;
            prev = last;
            last = sel;
            last_key = key[sel];
            const double* row = &w[static_cast<size_t>(sel) * k];
            for (int a : active)
                if (!added[a]) key[a] += row[a];
        }
        best = std::min(best, last_key);  // the cut between `last` and everything else
        if (best < enough) return best;
        for (int a : active) {
            w[static_cast<size_t>(prev) * k + a] += w[static_cast<size_t>(last) * k + a];
            w[static_cast<size_t>(a) * k + prev] = w[static_cast<size_t>(prev) * k + a];
        }
        w[static_cast<size_t>(prev) * k + prev] = 0.0;
        active.erase(std::find(active.begin(), active.end(), last));
    }
    return best;
}

// A graph under contraction: hash-map adjacency, the cached sums P(x) and A(x) of the rules, and
// which original nodes each node stands for (union-find).
class Contractor {
public:
    explicit Contractor(int n)
        : adj_(static_cast<size_t>(n)), P_(static_cast<size_t>(n), 0.0), A_(static_cast<size_t>(n), 0.0),
          parent_(static_cast<size_t>(n)), alive_(static_cast<size_t>(n), 1), queued_(static_cast<size_t>(n), 0) {
        std::iota(parent_.begin(), parent_.end(), 0);
    }

    void add_edge(int u, int v, double c) {
        adj_[u][v] += c;
        adj_[v][u] += c;
    }
    // False when `control` said stop first (the graph is then unusable).
    bool finish_input(Control& control) {
        for (size_t x = 0; x < adj_.size(); ++x) {
            if ((x & 4095) == 0 && control.stop()) return false;
            for (auto it = adj_[x].begin(); it != adj_[x].end();)
                it = it->second == 0.0 ? adj_[x].erase(it) : std::next(it);
            refresh(static_cast<int>(x));
        }
        return true;
    }

    int size() const { return static_cast<int>(adj_.size()); }
    bool alive(int x) const { return alive_[x] != 0; }
    int find(int x) {
        while (parent_[x] != x) {
            parent_[x] = parent_[parent_[x]];
            x = parent_[x];
        }
        return x;
    }
    const std::unordered_map<int, double>& adj(int x) const { return adj_[x]; }

    // Dominant-edge and pair-join rules until none applies; returns the number of contractions.
    std::int64_t edge_rules(Control& control) {
        std::int64_t joins = 0;
        for (int x = 0; x < size(); ++x)
            if (alive(x)) push(x);
        std::vector<int> touched;
        std::int64_t steps = 0;
        while (!queue_.empty()) {
            if ((++steps & 255) == 0 && control.stop()) break;
            const int x = queue_.front();
            queue_.pop_front();
            queued_[x] = 0;
            if (!alive(x)) continue;
            int partner = -1;
            for (const auto& [y, c] : adj_[x])
                if (c > 0 && (2 * c >= A_[x] || 2 * c >= A_[y] || 3 * c >= P_[x] + P_[y])) {
                    // The cached sums drift by rounding: confirm with exact ones.
                    refresh(x);
                    refresh(y);
                    if (2 * c >= A_[x] || 2 * c >= A_[y] || 3 * c >= P_[x] + P_[y]) {
                        partner = y;
                        break;
                    }
                }
            if (partner < 0) continue;
            touched.clear();
            const int z = merge(x, partner, touched);
            ++joins;
            push(z);
            for (const auto& [w, c] : adj_[z]) push(w);  // their edge to z changed
            for (int w : touched) push(w);
        }
        queue_.clear();
        std::fill(queued_.begin(), queued_.end(), 0);
        return joins;
    }

    // Subset rule on the node sets `groups` (lists of alive nodes); contracts those that pass.
    // Returns the number of contracted sets.
    std::int64_t subset_rule(const std::vector<std::vector<int>>& groups, int max_size, std::int64_t& tries,
                             Control& control) {
        std::int64_t joined = 0;
        std::vector<int> slot(adj_.size(), -1);
        std::vector<double> w;
        std::vector<int> touched;
        for (const std::vector<int>& R : groups) {
            if (R.size() < 2 || static_cast<int>(R.size()) > max_size) continue;
            if (control.stop()) break;
            ++tries;
            const int k = static_cast<int>(R.size());
            for (int a = 0; a < k; ++a) slot[R[a]] = a;
            double out_pos = 0.0, in_neg = 0.0, min_deg = std::numeric_limits<double>::infinity();
            for (int a = 0; a < k; ++a) {
                double deg = 0.0;
                for (const auto& [y, c] : adj_[R[a]]) {
                    if (slot[y] < 0) out_pos += pos(c);
                    else if (c > 0) deg += c;
                    else if (y > R[a]) in_neg -= c;
                }
                min_deg = std::min(min_deg, deg);
            }
            bool pass = min_deg - in_neg >= out_pos;  // the cut around one node bounds the min cut
            if (pass && k > 2) {
                w.assign(static_cast<size_t>(k) * k, 0.0);
                for (int a = 0; a < k; ++a)
                    for (const auto& [y, c] : adj_[R[a]])
                        if (slot[y] >= 0 && c > 0) w[static_cast<size_t>(a) * k + slot[y]] = c;
                pass = stoer_wagner(w, k, out_pos + in_neg) - in_neg >= out_pos;
            }
            for (int a = 0; a < k; ++a) slot[R[a]] = -1;
            if (!pass) continue;
            int z = R[0];
            for (int a = 1; a < k; ++a) z = merge(z, R[a], touched);
            ++joined;
        }
        return joined;
    }

private:
    void push(int x) {
        if (!queued_[x]) {
            queued_[x] = 1;
            queue_.push_back(x);
        }
    }
    void refresh(int x) {
        double p = 0.0, a = 0.0;
        for (const auto& [y, c] : adj_[x]) {
            p += pos(c);
            a += std::abs(c);
        }
        P_[x] = p;
        A_[x] = a;
    }
    // Contracts the alive nodes a and b into one of them (returned); parallel edges are summed
    // and edges summing to zero dropped. Neighbours whose P or A changed go to `touched`.
    int merge(int a, int b, std::vector<int>& touched) {
        if (adj_[a].size() < adj_[b].size()) std::swap(a, b);
        adj_[a].erase(b);
        adj_[b].erase(a);
        for (const auto& [w, c] : adj_[b]) {
            auto& aw = adj_[w];
            aw.erase(b);
            auto it = adj_[a].find(w);
            if (it == adj_[a].end()) {
                adj_[a].emplace(w, c);
                aw[a] = c;
                continue;
            }
            const double old = it->second, now = old + c;
            if (pos(now) != pos(old) + pos(c) || std::abs(now) != std::abs(old) + std::abs(c)) {
                refresh_after(w, old, c, now);
                touched.push_back(w);
            }
            if (now == 0.0) {
                adj_[a].erase(it);
                aw.erase(a);
            } else {
                it->second = now;
                aw[a] = now;
            }
        }
        adj_[b].clear();
        alive_[b] = 0;
        parent_[b] = a;
        refresh(a);
        return a;
    }
    void refresh_after(int w, double old, double c, double now) {
        P_[w] += pos(now) - pos(old) - pos(c);
        A_[w] += std::abs(now) - std::abs(old) - std::abs(c);
    }

    std::vector<std::unordered_map<int, double>> adj_;
    std::vector<double> P_, A_;
    std::vector<int> parent_;
    std::vector<char> alive_, queued_;
    std::deque<int> queue_;
};

}  // namespace

ReducedProblem reduce_multicut(int n, const std::vector<int>& u, const std::vector<int>& v,
                               const std::vector<double>& cost, const Labels* clusters,
                               const ReduceOptions& options, Control& control) {
    // Building the hash-map graph takes seconds on large inputs (about 18 s for 10^6 nodes and
    // 8 * 10^6 edges at load 3.5, where Ctrl-C and the time limit waited for it), so it polls
    // `control`; once stopped, the identity is returned (every node its own, one component), which
    // is always a valid reduction.
    auto identity = [n] {
        ReducedProblem id;
        id.n = n;
        id.node_of.resize(static_cast<size_t>(n));
        std::iota(id.node_of.begin(), id.node_of.end(), 0);
        id.component.assign(static_cast<size_t>(n), 0);
        id.num_components = n > 0 ? 1 : 0;
        return id;
    };
    Contractor g(n);
    for (size_t e = 0; e < cost.size(); ++e) {
        if ((e & 65535) == 0 && control.stop()) return identity();
        g.add_edge(u[e], v[e], cost[e]);
    }
    if (!g.finish_input(control)) return identity();

    ReducedProblem r;
    if (options.edge_joins) r.edge_joins += g.edge_rules(control);
    if (options.subset_joins && clusters && static_cast<int>(clusters->size()) == n) {
        for (int pass = 0; pass < 3 && !control.stop(); ++pass) {
            // The proposed clusters, as sets of current nodes (a contracted node goes with the
            // cluster of its representative).
            std::unordered_map<Index, int> group_of;
            std::vector<std::vector<int>> groups;
            std::vector<char> seen(static_cast<size_t>(n), 0);
            for (int i = 0; i < n; ++i) {
                const int x = g.find(i);
                if (seen[x]) continue;
                seen[x] = 1;
                auto [it, fresh] = group_of.emplace((*clusters)[x], static_cast<int>(groups.size()));
                if (fresh) groups.emplace_back();
                groups[it->second].push_back(x);
            }
            const std::int64_t joined = g.subset_rule(groups, options.max_subset_size, r.subset_tries, control);
            r.subset_joins += joined;
            if (joined == 0) break;
            if (options.edge_joins) r.edge_joins += g.edge_rules(control);
        }
    }

    if (control.stop()) return identity();  // the numbering below is another pass over every edge

    // Number the surviving nodes, and split them into components of the positive graph.
    std::vector<int> index(static_cast<size_t>(n), -1);
    for (int x = 0; x < n; ++x)
        if (g.alive(x)) index[x] = r.n++;
    r.node_of.resize(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) r.node_of[i] = index[g.find(i)];
    std::vector<int> comp(static_cast<size_t>(r.n));
    std::iota(comp.begin(), comp.end(), 0);
    auto root = [&comp](int x) {
        while (comp[x] != x) {
            comp[x] = comp[comp[x]];
            x = comp[x];
        }
        return x;
    };
    for (int x = 0; x < n; ++x) {
        if (!g.alive(x)) continue;
        for (const auto& [y, c] : g.adj(x)) {
            if (y < x) continue;
            const int a = index[x], b = index[y];
            r.eu.push_back(std::min(a, b));
            r.ev.push_back(std::max(a, b));
            r.cost.push_back(c);
            if (c > 0 || !options.components) {
                const int ra = root(a), rb = root(b);
                if (ra != rb) comp[std::max(ra, rb)] = std::min(ra, rb);
            }
        }
    }
    r.component.assign(static_cast<size_t>(r.n), -1);
    std::vector<int> id(static_cast<size_t>(r.n), -1);
    for (int a = 0; a < r.n; ++a) {
        const int ra = root(a);
        if (id[ra] < 0) id[ra] = r.num_components++;
        r.component[a] = id[ra];
    }
    return r;
}

}  // namespace corrclust
