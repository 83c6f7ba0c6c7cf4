// Polar coordinates and the float32 key-point distance of the reference heuristics
// (paper-model.md §5.0). Include only from translation units compiled without floating-point
// contraction: the operation order below is the paper's and must round exactly like it.
#pragma once

#include <cmath>
#include <cstddef>
#include <utility>
#include <vector>

#include "corrclust/pqap/keypoints.hpp"

namespace corrclust::pqap {

// sin, cos, r and r^2 of every point of a list rotated by an integer offset in degrees.
class PolarSet {
public:
    PolarSet() = default;
    PolarSet(const PointList& p, int offset) { rotate(p, offset); }

    void rotate(const PointList& p, int offset) {
        const int k = p.size();
        s_.resize(k);
        c_.resize(k);
        r_.resize(k);
        r2_.resize(k);
        for (int i = 0; i < k; ++i) {
            const float deg = std::fmod(p.angle[i] + static_cast<float>(offset), 360.0f);
            const float rad = static_cast<float>(static_cast<double>(deg / 180.0f) * 3.14159265359);
            s_[i] = std::sin(rad);
            c_[i] = std::cos(rad);
            r_[i] = p.dist[i];
            r2_[i] = p.dist[i] * p.dist[i];
        }
    }

    // d(P, Q) = sqrtf((r_P^2 + r_Q^2) + ((-2 (r_P r_Q)) t)), t = sin_P sin_Q + cos_P cos_Q, float32.
    float dist(int i, const PolarSet& q, int j) const {
        const float t = s_[i] * q.s_[j] + c_[i] * q.c_[j];
        return std::sqrt((r2_[i] + q.r2_[j]) + ((-2.0f * (r_[i] * q.r_[j])) * t));
    }

    // dist(i, q, j) for every j of q, written to out[0 .. q.size()); a plain loop the compiler
    // vectorises (IEEE float32 operations round the same in SIMD and scalar form).
    void dist_row(int i, const PolarSet& q, float* out) const {
        const float si = s_[i], ci = c_[i], ri = r_[i], r2i = r2_[i];
        const float* qs = q.s_.data();
        const float* qc = q.c_.data();
        const float* qr = q.r_.data();
        const float* qr2 = q.r2_.data();
        const int k = static_cast<int>(q.s_.size());
        for (int j = 0; j < k; ++j) {
            const float t = si * qs[j] + ci * qc[j];
            out[j] = std::sqrt((r2i + qr2[j]) + ((-2.0f * (ri * qr[j])) * t));
        }
    }
    int size() const { return static_cast<int>(s_.size()); }

private:
    std::vector<float> s_, c_, r_, r2_;
};

// Inserts (d, k) into the list L kept sorted by d with at most `cap` entries: after every entry
// whose d is <= the new d; when full, a d that is not strictly below the last entry is dropped.
inline void insert_bounded(std::vector<std::pair<float, int>>& L, float d, int k, std::size_t cap) {
    if (L.size() >= cap && !(d < L.back().first)) return;
    std::size_t pos = 0;
    while (pos < L.size() && L[pos].first <= d) ++pos;
    L.insert(L.begin() + static_cast<std::ptrdiff_t>(pos), {d, k});
    if (L.size() > cap) L.pop_back();
}

}  // namespace corrclust::pqap
