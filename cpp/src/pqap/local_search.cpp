// The improved PQAP solver: first-improvement local search with exact incremental deltas.
//
// G[f][j] holds the interaction of feature f placed at candidate j with all other assigned
// features (the sum of their pair terms, oriented as in E: the larger row index is x1). With G,
// every one-feature move costs O(1) and every two-feature move O(1) plus a four-term correction
// for the pair (f, g). After an accepted move of feature g, G changes by the pair terms of g's old
// and new positions: O(n m). The search never trusts accumulated rounding: the final E is
// recomputed in the paper's summation order and the result is kept only if strictly lower.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off", "no-trapping-math")
#endif

#include "corrclust/pqap/local_search.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "corrclust/control.hpp"

namespace corrclust::pqap {

namespace {

class Search {
public:
    Search(const PairCost& cost, const Assignment& start)
        : c_(cost), F_(cost.features()), C_(cost.candidates()), n_(cost.n()), m_(cost.m()), x_(start) {
        owner_.assign(m_, kUnassigned);
        for (int f = 0; f < n_; ++f)
            if (x_[f] != kUnassigned) owner_[x_[f]] = f;
        // Candidates grouped by channel (ascending index within a channel): G only needs, for a
        // feature, the columns of its own channel, which are then one contiguous range.
        perm_.resize(m_);
        for (int j = 0; j < m_; ++j) perm_[j] = j;
        std::stable_sort(perm_.begin(), perm_.end(), [&](int a, int b) { return C_.channel[a] < C_.channel[b]; });
        pos_.resize(m_);
        psi_.resize(m_);
        for (int p = 0; p < m_; ++p) {
            pos_[perm_[p]] = p;
            psi_[p] = static_cast<double>(C_.angle[perm_[p]]);
        }
        lo_.resize(n_);
        hi_.resize(n_);
        for (int f = 0; f < n_; ++f) {
            const int ch = F_.channel[f];
            int lo = 0;
            while (lo < m_ && C_.channel[perm_[lo]] < ch) ++lo;
            int hi = lo;
            while (hi < m_ && C_.channel[perm_[hi]] == ch) ++hi;
            lo_[f] = lo;
            hi_[f] = hi;
        }
        G_.assign(static_cast<std::size_t>(n_) * m_, 0.0);
        for (int g = 0; g < n_; ++g)
            if (x_[g] != kUnassigned) add_interaction(g, x_[g], +1.0);
    }

    // Pair term between f at candidate b and g at candidate d (f != g; both assigned, same channel).
    double P(int f, int b, int g, int d) const {
        return f > g ? c_.pair_same_channel(f, b, g, d) : c_.pair_same_channel(g, d, f, b);
    }
    double unary(int f, int j) const { return c_.unary(f, j); }
    double g(int f, int j) const { return G_[static_cast<std::size_t>(f) * m_ + pos_[j]]; }
    // Cost of f's own terms at j (unary + interaction), 0 for unassigned.
    double own(int f, int j) const { return j == kUnassigned ? 0.0 : unary(f, j) + g(f, j); }

    // Adds sign * (pair terms of g at candidate d) to G[f][*] for every f != g.
    void add_interaction(int g, int d, double sign) {
        const double w = c_.w(), ga = c_.params().angle_cost_offset;
        const bool lw = c_.params().lower_wrap;
        const float phig = F_.angle[g];
        const double psid = static_cast<double>(C_.angle[d]);
        const double* psi = psi_.data();
        for (int f = 0; f < n_; ++f) {
            if (f == g) continue;
            double* row = G_.data() + static_cast<std::size_t>(f) * m_;
            if (f > g) {  // pair(f, j, g, d): o = psi_j + (phi_g - phi_f), against psi_d
                const double delta = static_cast<double>(phig - F_.angle[f]);
                for (int j = lo_[f]; j < hi_[f]; ++j) {
                    double o = psi[j] + delta;
                    o = (o - (o > 360.0 ? 360.0 : 0.0)) + ((lw && o < 0.0) ? 360.0 : 0.0);
                    const double a = 180.0 - std::fabs(std::fabs(o - psid) - 180.0);
                    row[j] += sign * (w * (std::fabs(a / 180.0) - ga));
                }
            } else {  // pair(g, d, f, j): o = psi_d + (phi_f - phi_g), against psi_j
                double o = psid + static_cast<double>(F_.angle[f] - phig);
                if (o > 360.0) o -= 360.0;
                else if (lw && o < 0.0) o += 360.0;
                for (int j = lo_[f]; j < hi_[f]; ++j) {
                    const double a = 180.0 - std::fabs(std::fabs(o - psi[j]) - 180.0);
                    row[j] += sign * (w * (std::fabs(a / 180.0) - ga));
                }
            }
        }
    }

    void move(int f, int to) {
        const int from = x_[f];
        if (from == to) return;
        if (from != kUnassigned) {
            add_interaction(f, from, -1.0);
            owner_[from] = kUnassigned;
        }
        if (to != kUnassigned) {
            add_interaction(f, to, +1.0);
            owner_[to] = f;
        }
        x_[f] = to;
        ++moves_;
    }

    // best_free(f), cached until the next move (every move changes G and the free set).
    int best_free_cached(int f) {
        if (bf_stamp_.size() != static_cast<std::size_t>(n_)) {
            bf_stamp_.assign(n_, -1);
            bf_arg_.assign(n_, kUnassigned);
        }
        if (bf_stamp_[f] != moves_) {
            bf_arg_[f] = best_free(f).second;
            bf_stamp_[f] = moves_;
        }
        return bf_arg_[f];
    }

    // Best free candidate of f's channel for f, by own cost; returns (value, j) with j = -1 (value 0)
    // for "unassigned" when nothing free is better.
    std::pair<double, int> best_free(int f) const {
        double best = 0.0;
        int arg = kUnassigned;
        const double* row = G_.data() + static_cast<std::size_t>(f) * m_;
        for (int p = lo_[f]; p < hi_[f]; ++p) {
            const int j = perm_[p];
            if (owner_[j] != kUnassigned) continue;
            const double v = unary(f, j) + row[p];
            if (v < best) {
                best = v;
                arg = j;
            }
        }
        return {best, arg};
    }

    // One pass over single-feature moves (assign, unassign, reassign); returns moves applied.
    int pass_single(double tol) {
        int applied = 0;
        for (int f = 0; f < n_; ++f) {
            const double cur = own(f, x_[f]);
            const auto [v, j] = best_free(f);
            // "unassigned" is the candidate value 0 when no free candidate is below 0
            if (v - cur < -tol && j != x_[f]) {
                move(f, j);
                ++applied;
            }
        }
        return applied;
    }

    // Two-feature moves: swaps of the candidates of two assigned features of one channel, and
    // ejections (f takes g's candidate, g moves to its best free candidate or is unassigned).
    int pass_pairs(double tol, Control* control) {
        int applied = 0;
        for (int f = 0; f < n_; ++f) {
            if (control != nullptr && (f & 15) == 0 && control->stop()) break;
            const int af = x_[f];
            const double own_f = own(f, af);
            for (int p = lo_[f]; p < hi_[f]; ++p) {
                const int j = perm_[p];
                const int gg = owner_[j];
                if (gg == kUnassigned || gg == f) continue;
                // f: af -> j ; g: j -> bg
                const double df = unary(f, j) + g(f, j) - own_f;
                const double own_g = unary(gg, j) + g(gg, j);
                // candidate destinations of g: f's old candidate (a swap) or its best free one
                double best_delta = 0.0;
                int best_bg = -2;
                auto consider = [&](int bg) {
                    const double dg = own(gg, bg) - own_g;
                    double corr = -P(f, j, gg, j);
                    if (bg != kUnassigned) corr += P(f, j, gg, bg);
                    if (af != kUnassigned) {
                        corr += P(f, af, gg, j);
                        if (bg != kUnassigned) corr -= P(f, af, gg, bg);
                    }
                    const double delta = df + dg + corr;
                    if (delta < best_delta - tol) {
                        best_delta = delta;
                        best_bg = bg;
                    }
                };
                if (af != kUnassigned && C_.channel[af] == F_.channel[gg]) consider(af);
                consider(best_free_cached(gg));
                if (best_bg != -2) {
                    if (best_bg == af) {
                        // swap: free f's candidate first so that g can take it
                        move(f, kUnassigned);
                        move(gg, af);
                        move(f, j);
                    } else {
                        move(gg, best_bg);
                        move(f, j);
                    }
                    ++applied;
                    break;  // f has moved; continue with the next feature
                }
            }
        }
        return applied;
    }

    const Assignment& assignment() const { return x_; }
    int moves() const { return moves_; }

private:
    const PairCost& c_;
    const PointList& F_;
    const PointList& C_;
    int n_, m_;
    Assignment x_;
    std::vector<int> owner_;
    std::vector<int> perm_, pos_, lo_, hi_;  // channel-grouped candidate order
    std::vector<double> psi_;                // candidate angles in that order
    std::vector<double> G_;
    int moves_ = 0;
    std::vector<int> bf_stamp_, bf_arg_;
};

}  // namespace

int improve_local_search(const PairCost& cost, MatchResult& r, Control* control, const LocalSearchOptions& options) {
    const int n = cost.n();
    if (static_cast<int>(r.assignment.size()) != n) r.assignment.assign(n, kUnassigned);
    finish_result(cost, r);
    if (n == 0 || cost.m() == 0) return 0;
    Search s(cost, r.assignment);
    for (int round = 0; round < options.max_rounds; ++round) {
        if (control != nullptr && control->stop()) break;
        int applied = s.pass_single(options.min_gain);
        applied += s.pass_pairs(options.min_gain, control);
        if (applied == 0) break;
    }
    MatchResult candidate;
    candidate.assignment = s.assignment();
    finish_result(cost, candidate);
    if (candidate.energy < r.energy) {
        candidate.winner = 4;
        r = std::move(candidate);
    }
    return s.moves();
}

}  // namespace corrclust::pqap
