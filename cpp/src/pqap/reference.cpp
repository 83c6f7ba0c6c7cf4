// The paper's heuristics A, B and C, reproduced exactly (paper-model.md §5), organised for speed.
//
// Exactness notes:
//  * Polar coordinates and distances are float32 with the paper's literal operation order; this
//    file is compiled without floating-point contraction (no fused multiply-add).
//  * A and B compare E(cur) of every partial greedy state with the best so far. E is maintained
//    incrementally (one assignment adds its unary cost and its pair terms with the assigned rows);
//    that sum differs from the paper's from-scratch order by far less than kTieTolerance, so when
//    the two values are further apart than that the comparison is decided, and otherwise both
//    energies are recomputed exactly in the paper's order.
//  * A keeps, per remaining feature, the first candidate of minimal distance in its scan order; an
//    assignment only invalidates one candidate, so only features whose best it was are rescanned.
//    The global pick (smallest distance, lowest feature index on ties) is the literal one.
//  * B's top-10 list is the stable (distance, enumeration order) prefix of the remaining pairs; the
//    pairs of one angle are sorted once (stable radix sort on the float bits) and dead pairs are
//    skipped. An angle with a NaN distance falls back to the literal list insertion.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "corrclust/pqap/reference.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "corrclust/control.hpp"
#include "corrclust/pqap/geometry.hpp"

namespace corrclust::pqap {

namespace {

// Incrementally summed energies differ from the paper-order sum by far less than this (at most
// ~1e-10 for n <= 600: about n^2/2 terms of magnitude <= 2/n^2 each, re-associated); closer
// values are compared exactly.
constexpr double kTieTolerance = 1e-9;

// Tracks the best (lowest-E) state of a greedy heuristic, comparing incrementally maintained
// energies and falling back to exact recomputation near ties.
class BestTracker {
public:
    explicit BestTracker(const PairCost& cost) : cost_(cost) {}

    // Offers the state `cur` whose incrementally summed energy is `approx`; keeps it when its exact
    // energy is strictly lower than the best's.
    bool offer(const Assignment& cur, double approx) {
        bool better;
        if (approx < best_approx_ - kTieTolerance) {
            better = true;
        } else if (approx > best_approx_ + kTieTolerance) {
            better = false;
        } else {
            const double exact = cost_.energy(cur);
            if (!exact_known_) {
                best_exact_ = cost_.energy(best_);
                exact_known_ = true;
            }
            better = exact < best_exact_;
            if (better) {
                best_ = cur;
                best_approx_ = exact;
                best_exact_ = exact;
                has_ = true;
                return true;
            }
        }
        if (better) {
            best_ = cur;
            best_approx_ = approx;
            exact_known_ = false;
            has_ = true;
        }
        return better;
    }
    bool has() const { return has_; }
    const Assignment& best() const { return best_; }

private:
    const PairCost& cost_;
    Assignment best_;           // empty until a state wins; energy(empty) is never needed then
    double best_approx_ = 0.0;  // the initial best is "none" with cost 0 (exact)
    double best_exact_ = 0.0;
    bool exact_known_ = true;
    bool has_ = false;
};

// E(cur) maintained as assignments are added (in any order); close to, not bit-equal to, energy().
class IncrementalEnergy {
public:
    explicit IncrementalEnergy(const PairCost& cost) : cost_(cost) {}
    void reset() {
        value_ = 0.0;
        rows_.clear();
        cols_.clear();
    }
    double add(int f, int j) {
        double v = cost_.unary(f, j);
        for (std::size_t k = 0; k < rows_.size(); ++k) {
            const int l = rows_[k];
            v += l < f ? cost_.pair_same_channel(f, j, l, cols_[k]) : cost_.pair_same_channel(l, cols_[k], f, j);
        }
        rows_.push_back(f);
        cols_.push_back(j);
        value_ += v;
        return value_;
    }
    double value() const { return value_; }

private:
    const PairCost& cost_;
    double value_ = 0.0;
    std::vector<int> rows_, cols_;
};

bool should_stop(Control* control) { return control != nullptr && control->stop(); }

// Stable LSD radix sort of `idx` by the non-negative float keys `key[idx]`.
void radix_sort_by_float(std::vector<std::uint32_t>& idx, const float* key, std::vector<std::uint32_t>& tmp) {
    const std::size_t N = idx.size();
    tmp.resize(N);
    std::vector<std::uint32_t> bits(N);
    for (std::size_t k = 0; k < N; ++k) std::memcpy(&bits[k], &key[idx[k]], sizeof(float));
    std::vector<std::uint32_t> tbits(N);
    constexpr int kBits = 11;
    constexpr std::uint32_t kMask = (1u << kBits) - 1;
    std::uint32_t count[1u << kBits];
    for (int shift = 0; shift < 32; shift += kBits) {
        std::fill(count, count + (1u << kBits), 0u);
        for (std::size_t k = 0; k < N; ++k) ++count[(bits[k] >> shift) & kMask];
        std::uint32_t sum = 0;
        for (std::uint32_t b = 0; b <= kMask; ++b) {
            const std::uint32_t c = count[b];
            count[b] = sum;
            sum += c;
        }
        for (std::size_t k = 0; k < N; ++k) {
            const std::uint32_t pos = count[(bits[k] >> shift) & kMask]++;
            tmp[pos] = idx[k];
            tbits[pos] = bits[k];
        }
        idx.swap(tmp);
        bits.swap(tbits);
    }
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// Heuristic A

HeuristicResult heuristic_a(const PairCost& cost) {
    HeuristicResult res;
    const int n = cost.n(), m = cost.m();
    if (n == 0 || m == 0) return res;
    const PointList& F = cost.features();
    const PointList& C = cost.candidates();
    const PolarSet fp(F, 0);
    PolarSet cp(C, 0);

    // Neighbourhood lists of the candidates at offset 0: the K nearest of the same channel
    // (stable, a tie with the K-th is not admitted), then the candidate itself.
    int K = static_cast<int>(0.1 * m);
    if (K <= 1) K = 2;
    std::vector<std::vector<int>> nbr(m);
    {
        std::vector<std::pair<float, int>> L;
        for (int j = 0; j < m; ++j) {
            L.clear();
            for (int k = 0; k < m; ++k) {
                if (k == j || C.channel[k] != C.channel[j]) continue;
                const float d = cp.dist(j, cp, k);
                insert_bounded(L, d, k, static_cast<std::size_t>(K));
            }
            nbr[j].reserve(L.size() + 1);
            for (const auto& e : L) nbr[j].push_back(e.second);
            nbr[j].push_back(j);
        }
    }

    Assignment prev(n, kUnassigned), cur(n, kUnassigned);
    BestTracker best(cost);
    IncrementalEnergy energy(cost);
    int best_angle = 0;
    std::vector<float> D(static_cast<std::size_t>(n) * m);
    std::vector<char> valid(m), remaining(n);
    std::vector<float> bd(n);
    std::vector<int> bj(n);

    for (int o = 0; o < 360; o += 5) {
        cp.rotate(C, o);
        for (int f = 0; f < n; ++f) fp.dist_row(f, cp, D.data() + static_cast<std::size_t>(f) * m);
        std::fill(cur.begin(), cur.end(), kUnassigned);
        std::fill(valid.begin(), valid.end(), 1);
        std::fill(remaining.begin(), remaining.end(), 1);
        energy.reset();

        auto scan = [&](int f) {
            float b = FLT_MAX;
            int arg = -1;
            const float* row = D.data() + static_cast<std::size_t>(f) * m;
            const int ch = F.channel[f];
            if (prev[f] != kUnassigned) {
                for (int k : nbr[prev[f]]) {
                    if (!valid[k] || C.channel[k] != ch) continue;
                    if (row[k] < b) {
                        b = row[k];
                        arg = k;
                    }
                }
            } else {
                for (int k = 0; k < m; ++k) {
                    if (!valid[k] || C.channel[k] != ch) continue;
                    if (row[k] < b) {
                        b = row[k];
                        arg = k;
                    }
                }
            }
            bd[f] = b;
            bj[f] = arg;
        };
        for (int f = 0; f < n; ++f) scan(f);

        for (;;) {
            float b = FLT_MAX;
            int fsel = -1;
            for (int f = 0; f < n; ++f) {
                if (remaining[f] && bj[f] >= 0 && bd[f] < b) {
                    b = bd[f];
                    fsel = f;
                }
            }
            if (fsel < 0) break;
            const int j = bj[fsel];
            cur[fsel] = j;
            remaining[fsel] = 0;
            valid[j] = 0;
            if (best.offer(cur, energy.add(fsel, j))) best_angle = o;
            for (int f = 0; f < n; ++f)
                if (remaining[f] && bj[f] == j) scan(f);
        }
        prev = cur;
    }
    if (best.has()) res.assignment = best.best();
    res.best_angle = best_angle;
    return res;
}

// ------------------------------------------------------------------------------------------------
// Heuristic B

std::vector<int> heuristic_b_angles(int b) {
    std::vector<int> a;
    if (b == 0) {
        for (int x = 0; x < 5; ++x) a.push_back(x);
        for (int x = 355; x < 360; ++x) a.push_back(x);
    } else if (b == 355) {
        for (int x = 350; x < 360; ++x) a.push_back(x);
        for (int x = 0; x < 360; ++x) a.push_back(x);
    } else {
        for (int x = b - 5; x < b + 5; ++x) a.push_back(x);
    }
    return a;
}

HeuristicResult heuristic_b(const PairCost& cost, int best_angle) {
    HeuristicResult res;
    const int n = cost.n(), m = cost.m();
    if (n == 0 || m == 0) return res;
    const PointList& F = cost.features();
    const PointList& C = cost.candidates();
    const PolarSet fp(F, 0);
    PolarSet cp(C, 0);

    std::vector<float> cf(static_cast<std::size_t>(n) * m);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < m; ++j) cf[static_cast<std::size_t>(i) * m + j] = static_cast<float>(cost.unary(i, j));

    // The same-channel pairs in enumeration order (features outer, candidates inner).
    std::vector<std::uint32_t> pairs;
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < m; ++j)
            if (F.channel[i] == C.channel[j]) pairs.push_back(static_cast<std::uint32_t>(i * m + j));

    BestTracker best(cost);
    IncrementalEnergy energy(cost);
    Assignment cur(n);
    std::vector<float> D(static_cast<std::size_t>(n) * m);
    std::vector<std::uint32_t> order, tmp;
    std::vector<char> fused(n), cused(m);
    struct Entry {
        float d;
        std::uint32_t idx;
    };
    std::vector<Entry> top;
    top.reserve(11);

    for (int a : heuristic_b_angles(best_angle)) {
        cp.rotate(C, a);
        for (int i = 0; i < n; ++i) fp.dist_row(i, cp, D.data() + static_cast<std::size_t>(i) * m);
        bool has_nan = false;
        for (std::uint32_t p : pairs) has_nan |= std::isnan(D[p]);
        std::fill(cur.begin(), cur.end(), kUnassigned);
        std::fill(fused.begin(), fused.end(), 0);
        std::fill(cused.begin(), cused.end(), 0);
        energy.reset();

        std::size_t front = 0;
        if (!has_nan) {
            order = pairs;
            radix_sort_by_float(order, D.data(), tmp);
        }
        for (;;) {
            top.clear();
            if (!has_nan) {
                // The first 10 remaining pairs of the sorted order; dead pairs met on the way are
                // squeezed out so that they are never scanned again.
                std::size_t r = front, w = front;
                const std::size_t N = order.size();
                while (r < N && top.size() < 10) {
                    const std::uint32_t p = order[r++];
                    if (fused[p / m] || cused[p % m]) continue;
                    order[w++] = p;
                    top.push_back({D[p], p});
                }
                const std::size_t cnt = w - front;
                if (w < r) std::copy_backward(order.begin() + front, order.begin() + w, order.begin() + r);
                front = r - cnt;
            } else {
                // Literal list insertion (the NaN-aware original behaviour).
                for (int i = 0; i < n; ++i) {
                    if (fused[i]) continue;
                    for (int j = 0; j < m; ++j) {
                        if (cused[j] || C.channel[j] != F.channel[i]) continue;
                        const std::uint32_t p = static_cast<std::uint32_t>(i * m + j);
                        const float d = D[p];
                        if (top.size() == 10 && d > top.back().d) continue;
                        std::size_t pos = 0;
                        while (pos < top.size() && top[pos].d <= d) ++pos;
                        top.insert(top.begin() + static_cast<std::ptrdiff_t>(pos), Entry{d, p});
                        if (top.size() > 10) top.pop_back();
                    }
                }
            }
            if (top.empty()) break;
            const float d0 = top[0].d;
            float bestc = FLT_MAX;
            long sel = -1;
            for (const Entry& e : top) {
                if ((e.d / d0) - 1.0f < 0.2f) {
                    const float c = cf[e.idx];
                    if (c < bestc) {
                        bestc = c;
                        sel = e.idx;
                    }
                } else {
                    break;
                }
            }
            if (sel < 0) break;
            const int i = static_cast<int>(sel / m), j = static_cast<int>(sel % m);
            cur[i] = j;
            fused[i] = 1;
            cused[j] = 1;
            best.offer(cur, energy.add(i, j));
        }
    }
    if (best.has()) res.assignment = best.best();
    return res;
}

// ------------------------------------------------------------------------------------------------
// Heuristic C

HeuristicResult heuristic_c(const PairCost& cost) {
    HeuristicResult res;
    const int n = cost.n(), m = cost.m();
    if (n == 0 || m == 0) return res;
    const PointList& F = cost.features();
    const PointList& C = cost.candidates();
    const double h_u = cost.h_u(), h_q = cost.h_q();
    const double e_opt_c = n * h_u + static_cast<double>(static_cast<std::int64_t>(n) * (n - 1) / 2) * h_q;
    const int R = std::max(10, static_cast<int>(std::round(0.05 * m)));

    double best_total = 0.0;
    Assignment best_inst(n, kUnassigned), inst(n);
    std::vector<char> used(m);
    std::vector<int> decided;  // rows with an assignment, in decision order
    std::vector<int> window;
    std::vector<double> acc, psi_win, delta, psi2;
    window.reserve(m);

    for (int st = 0; st < n; ++st) {
        std::fill(inst.begin(), inst.end(), kUnassigned);
        std::fill(used.begin(), used.end(), 0);
        decided.clear();
        int A = 0;
        double cost_so_far = 0.0, heur = e_opt_c, total = 0.0;
        int colprev = -1;
        for (int t = 1; t <= n; ++t) {
            const int row = (st + t - 1) % n;
            const double chg_assign = h_u + (A > 0 ? (A - 1) * h_q : 0.0);
            const double chg_none = chg_assign + (n - t) * h_q;
            double rb_val = 0.0, rb_cost = 0.0, rb_heur = 0.0;
            int rb_choice = kUnassigned, rb_A = A;
            {
                const double tot = cost_so_far + (heur - chg_none);
                if (tot < rb_val) {
                    rb_val = tot;
                    rb_choice = kUnassigned;
                    rb_cost = cost_so_far;
                    rb_heur = heur - chg_none;
                    rb_A = A;
                }
            }
            // The column window, in window order; used and other-channel columns are left out
            // (a channel mismatch costs 10000 and can never go below 0).
            window.clear();
            const int ch = F.channel[row];
            auto push_range = [&](int lo, int hi) {
                for (int j = std::max(lo, 0); j < std::min(hi, m); ++j)
                    if (!used[j] && C.channel[j] == ch) window.push_back(j);
            };
            if (A == 0 || m <= R) {
                push_range(0, m);
            } else {
                const int s = (colprev - R + m) % m;
                const int e = (colprev + R + 1 + m) % m;
                if (s > colprev) {
                    push_range(0, e);
                    push_range(s, m);
                } else if (e < colprev) {
                    push_range(s, m);
                    push_range(0, e);
                } else {
                    push_range(s, e);
                }
            }
            const std::size_t W = window.size();
            if (W > 0) {
                acc.resize(W);
                psi_win.resize(W);
                const double* urow = cost.unary_row(row);
                for (std::size_t k = 0; k < W; ++k) {
                    acc[k] = urow[window[k]];
                    psi_win[k] = static_cast<double>(C.angle[window[k]]);
                }
                const double w = cost.w(), ga = cost.params().angle_cost_offset;
                const bool lower_wrap = cost.params().lower_wrap;
                for (int l : decided) {
                    const double dl = static_cast<double>(F.angle[l] - F.angle[row]);
                    const double p2 = static_cast<double>(C.angle[inst[l]]);
                    for (std::size_t k = 0; k < W; ++k) {
                        double o = psi_win[k] + dl;
                        if (o > 360.0) {
                            o -= 360.0;
                        } else if (lower_wrap && o < 0.0) {
                            o += 360.0;
                        }
                        const double ang = 180.0 - std::fabs(std::fabs(o - p2) - 180.0);
                        acc[k] += w * (std::fabs(ang / 180.0) - ga);
                    }
                }
                const double heur_assign = heur - chg_assign;
                for (std::size_t k = 0; k < W; ++k) {
                    const double c = cost_so_far + acc[k];
                    const double tot = c + heur_assign;
                    if (tot < rb_val) {
                        rb_val = tot;
                        rb_choice = window[k];
                        rb_cost = c;
                        rb_heur = heur_assign;
                        rb_A = A + 1;
                    }
                }
            }
            inst[row] = rb_choice;
            colprev = rb_choice;
            cost_so_far = rb_cost;
            heur = rb_heur;
            A = rb_A;
            total = rb_val;
            if (rb_choice != kUnassigned) {
                used[rb_choice] = 1;
                decided.push_back(row);
            }
            if (total > best_total) break;
        }
        if (total < best_total) {
            best_total = total;
            best_inst = inst;
        }
    }
    res.assignment = best_inst;
    return res;
}

// ------------------------------------------------------------------------------------------------

MatchResult solve_reference(const PairCost& cost, Control* control) {
    MatchResult r;
    r.assignment.assign(cost.n(), kUnassigned);
    double best_e = 0.0;
    auto consider = [&](const Assignment& x, int stage) {
        if (x.empty()) return;  // costs +1.0: never better than the empty matching
        const double e = cost.energy(x);
        if (e < best_e) {
            best_e = e;
            r.assignment = x;
            r.winner = stage;
        }
    };
    const HeuristicResult a = heuristic_a(cost);
    consider(a.assignment, 1);
    if (!should_stop(control)) {
        const HeuristicResult b = heuristic_b(cost, a.best_angle);
        consider(b.assignment, 2);
    }
    if (!should_stop(control)) {
        const HeuristicResult c = heuristic_c(cost);
        consider(c.assignment, 3);
    }
    finish_result(cost, r);
    return r;
}

}  // namespace corrclust::pqap
