// The PQAP cost model: unary costs, E(x) in the paper's summation order, E_opt.
// Compiled without floating-point contraction: every float32/double operation must round exactly
// as in the paper's code (see the pragma below and paper-model.md §4-§5).
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "corrclust/pqap/cost.hpp"

namespace corrclust::pqap {

double e_opt(const CostParams& p) {
    const double lam = p.unary_to_quadr_weight;
    const double theta = p.color_to_dist_weight;
    return -(1.0 - lam) * (theta * p.color_cost_offset + (1.0 - theta) * p.dist_cost_offset) -
           lam * p.angle_cost_offset;
}

PairCost::PairCost(const PointList& features, const PointList& candidates, const CostParams& params)
    : F_(&features), C_(&candidates), params_(params), n_(features.size()), m_(candidates.size()) {
    const double lam = params.unary_to_quadr_weight;
    const double theta = params.color_to_dist_weight;
    const double gc = params.color_cost_offset;
    const double gd = params.dist_cost_offset;
    const std::int64_t pairs = static_cast<std::int64_t>(n_) * (n_ - 1) / 2;
    u_ = n_ > 0 ? (1.0 - lam) / n_ : 0.0;
    w_ = pairs > 0 ? lam / static_cast<double>(pairs) : 0.0;
    h_u_ = u_ * (-theta * gc - (1.0 - theta) * gd);
    h_q_ = w_ * (-params.angle_cost_offset);
    e_opt_ = corrclust::pqap::e_opt(params);

    unary_.assign(static_cast<std::size_t>(n_) * m_, kCostMismatchingChannels);
    for (int i = 0; i < n_; ++i) {
        const double p = features.peak[i];
        const float r = features.dist[i];
        const int ch = features.channel[i];
        double* row = unary_.data() + static_cast<std::int64_t>(i) * m_;
        for (int j = 0; j < m_; ++j) {
            if (candidates.channel[j] != ch) continue;
            const double dp = std::fabs(p - candidates.peak[j]);
            const float dr = std::fabs(r - candidates.dist[j]);  // float32 difference
            row[j] = u_ * (theta * (dp - gc) + (1.0 - theta) * (static_cast<double>(dr) - gd));
        }
    }
}

double PairCost::linear(const Assignment& x) const {
    double lin = 0.0;
    if (static_cast<int>(x.size()) != n_) return 1.0;
    for (int i = 0; i < n_; ++i)
        if (x[i] != kUnassigned) lin += unary(i, x[i]);
    return lin;
}

double PairCost::energy(const Assignment& x) const {
    if (static_cast<int>(x.size()) != n_) return 1.0;
    double lin = 0.0;
    for (int i = 0; i < n_; ++i)
        if (x[i] != kUnassigned) lin += unary(i, x[i]);
    double quad = 0.0;
    for (int k = 0; k < n_; ++k) {
        if (x[k] == kUnassigned) continue;
        for (int l = 0; l < k; ++l) {
            if (x[l] == kUnassigned) continue;
            quad += pair(k, x[k], l, x[l]);
        }
    }
    return lin + quad;
}

void finish_result(const PairCost& cost, MatchResult& r) {
    if (static_cast<int>(r.assignment.size()) != cost.n()) r.assignment.assign(cost.n(), kUnassigned);
    r.energy = cost.energy(r.assignment);
    r.similarity = r.energy / cost.e_opt();
    const double lin = cost.linear(r.assignment);
    r.linear_by_feature = cost.n() > 0 ? lin / cost.n() : 0.0;
    r.linear_by_candidate = cost.m() > 0 ? lin / cost.m() : 0.0;
}

}  // namespace corrclust::pqap
