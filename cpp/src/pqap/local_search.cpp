// The improved PQAP solver: first-improvement local search with exact incremental deltas.
//
// G[f][j] holds the interaction of feature f placed at candidate j with all other assigned
// features (the sum of their pair terms, oriented as in E: the larger row index is x1). With G,
// every one-feature move costs O(1) and every two-feature move O(1) plus a four-term correction
// for the pair (f, g). After an accepted move of feature g, G changes by the pair terms of g's old
// and new positions: O(n m). The search never trusts accumulated rounding: the final E is
// recomputed in the paper's summation order and the result is kept only if strictly lower.
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
        psi_.resize(m_);
        for (int j = 0; j < m_; ++j) psi_[j] = static_cast<double>(C_.angle[j]);
        G_.assign(static_cast<std::size_t>(n_) * m_, 0.0);
        for (int g = 0; g < n_; ++g)
            if (x_[g] != kUnassigned) add_interaction(g, x_[g], +1.0);
    }

    // Pair term between f at candidate b and g at candidate d (f != g; both assigned, same channel).
    double P(int f, int b, int g, int d) const {
        return f > g ? c_.pair_same_channel(f, b, g, d) : c_.pair_same_channel(g, d, f, b);
    }
    double unary(int f, int j) const { return c_.unary(f, j); }
    double g(int f, int j) const { return G_[static_cast<std::size_t>(f) * m_ + j]; }
    // Cost of f's own terms at j (unary + interaction), 0 for unassigned.
    double own(int f, int j) const { return j == kUnassigned ? 0.0 : unary(f, j) + g(f, j); }

    // Adds sign * (pair terms of g at candidate d) to G[f][*] for every f != g.
    void add_interaction(int g, int d, double sign) {
        const double w = c_.w(), ga = c_.params().angle_cost_offset;
        const bool lw = c_.params().lower_wrap;
        const float phig = F_.angle[g];
        const double psid = psi_[d];
        const double* psi = psi_.data();
        for (int f = 0; f < n_; ++f) {
            if (f == g) continue;
            double* row = G_.data() + static_cast<std::size_t>(f) * m_;
            if (f > g) {  // pair(f, j, g, d): o = psi_j + (phi_g - phi_f), against psi_d
                const double delta = static_cast<double>(phig - F_.angle[f]);
                for (int j = 0; j < m_; ++j) {
                    double o = psi[j] + delta;
                    if (o > 360.0) o -= 360.0;
                    else if (lw && o < 0.0) o += 360.0;
                    const double a = 180.0 - std::fabs(std::fabs(o - psid) - 180.0);
                    row[j] += sign * (w * (std::fabs(a / 180.0) - ga));
                }
            } else {  // pair(g, d, f, j): o = psi_d + (phi_f - phi_g), against psi_j
                double o = psid + static_cast<double>(F_.angle[f] - phig);
                if (o > 360.0) o -= 360.0;
                else if (lw && o < 0.0) o += 360.0;
                for (int j = 0; j < m_; ++j) {
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

    // Best free candidate of f's channel for f, by own cost; returns (value, j) with j = -1 (value 0)
    // for "unassigned" when nothing free is better.
    std::pair<double, int> best_free(int f) const {
        double best = 0.0;
        int arg = kUnassigned;
        const int ch = F_.channel[f];
        for (int j = 0; j < m_; ++j) {
            if (owner_[j] != kUnassigned || C_.channel[j] != ch) continue;
            const double v = unary(f, j) + g(f, j);
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
            const int ch = F_.channel[f];
            for (int j = 0; j < m_; ++j) {
                const int gg = owner_[j];
                if (gg == kUnassigned || gg == f || C_.channel[j] != ch) continue;
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
                consider(best_free(gg).second);
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
    std::vector<double> psi_;
    std::vector<double> G_;
    int moves_ = 0;
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
