// The PQAP cost model (paper-model.md §4).
//
// For the ordered pair A -> B, the n features of A are matched partially and injectively to the m
// candidates of B. E(x) = sum of unary costs + sum of pairwise angle-consistency costs, summed in
// the order of the paper's code (a linear accumulator over rows, a quadratic accumulator over rows
// and, within a row, over the earlier rows; E = linear + quadratic). The similarity is
// s = E / E_opt. Numeric types follow the paper's C++: angles and relative distances are float32,
// their differences are taken in float32 and widened; everything else is double.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "corrclust/pqap/keypoints.hpp"

namespace corrclust::pqap {

constexpr double kCostMismatchingChannels = 10000.0;
constexpr int kUnassigned = -1;

using Assignment = std::vector<int>;  // feature i -> candidate index, or -1

struct CostParams {
    double color_cost_offset = 0.229732;     // gamma_c
    double dist_cost_offset = 0.325607;      // gamma_d
    double angle_cost_offset = 0.041533;     // gamma_a
    double color_to_dist_weight = 0.106945;  // theta
    double unary_to_quadr_weight = 0.1;      // lambda
    bool lower_wrap = false;                 // false reproduces the stored paper data
};

// E_opt = -(1 - lambda)(theta gamma_c + (1 - theta) gamma_d) - lambda gamma_a (independent of n).
double e_opt(const CostParams& p);

// The cost model of one ordered pair A -> B. It borrows the two point lists (they must outlive it)
// and precomputes the n x m unary costs.
class PairCost {
public:
    PairCost(const PointList& features, const PointList& candidates, const CostParams& params);

    int n() const { return n_; }
    int m() const { return m_; }
    const PointList& features() const { return *F_; }
    const PointList& candidates() const { return *C_; }
    const CostParams& params() const { return params_; }

    double u() const { return u_; }      // (1 - lambda) / n
    double w() const { return w_; }      // lambda / C(n, 2)
    double h_u() const { return h_u_; }  // best possible unary term
    double h_q() const { return h_q_; }  // best possible pairwise term
    double e_opt() const { return e_opt_; }

    bool same_channel(int i, int j) const { return F_->channel[i] == C_->channel[j]; }

    // Unary cost c_ij (10000 on a channel mismatch).
    double unary(int i, int j) const { return unary_[static_cast<std::int64_t>(i) * m_ + j]; }
    const double* unary_row(int i) const { return unary_.data() + static_cast<std::int64_t>(i) * m_; }

    // Pairwise cost of x1 -> d1 and x2 -> d2 (10000 on a channel mismatch); not symmetric.
    double pair(int x1, int d1, int x2, int d2) const {
        if (F_->channel[x1] != C_->channel[d1] || F_->channel[x2] != C_->channel[d2])
            return kCostMismatchingChannels;
        return pair_same_channel(x1, d1, x2, d2);
    }
    double pair_same_channel(int x1, int d1, int x2, int d2) const {
        const double delta = static_cast<double>(F_->angle[x2] - F_->angle[x1]);
        return pair_from_delta(delta, d1, d2);
    }
    // The pairwise cost given delta = phi_x2 - phi_x1 (float32 difference, widened).
    double pair_from_delta(double delta, int d1, int d2) const {
        double o = static_cast<double>(C_->angle[d1]) + delta;
        if (o > 360.0) {
            o -= 360.0;
        } else if (params_.lower_wrap && o < 0.0) {
            o += 360.0;
        }
        const double a = 180.0 - std::fabs(std::fabs(o - static_cast<double>(C_->angle[d2])) - 180.0);
        return w_ * (std::fabs(a / 180.0) - params_.angle_cost_offset);
    }

    // E(x) in the paper's summation order. A vector of the wrong length costs +1.0.
    double energy(const Assignment& x) const;
    // Sum of the unary costs of x (the linear accumulator of energy()).
    double linear(const Assignment& x) const;

private:
    const PointList* F_;
    const PointList* C_;
    CostParams params_;
    int n_, m_;
    double u_, w_, h_u_, h_q_, e_opt_;
    std::vector<double> unary_;
};

// Result of matching one ordered pair.
struct MatchResult {
    Assignment assignment;
    double energy = 0.0;
    double similarity = 0.0;           // energy / e_opt
    double linear_by_feature = 0.0;    // sum of unary costs / n
    double linear_by_candidate = 0.0;  // sum of unary costs / m
    int winner = 0;  // which stage produced it: 0 none, 1 A, 2 B, 3 C, 4 local search, 5 the reversed b -> a matching
};

// Fills energy, similarity and the linear ratios of `r.assignment`.
void finish_result(const PairCost& cost, MatchResult& r);

}  // namespace corrclust::pqap
