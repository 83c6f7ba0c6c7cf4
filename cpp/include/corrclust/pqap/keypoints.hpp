// Key points of one organoid as the PQAP cost model sees them (paper-model.md §3.1, §4).
//
// Only four of the 13 stored fields enter the model: the angle (float32), the channel, the
// normalised peak value (double, the "colour") and the relative distance to the centre
// normalised by the largest boundary distance (float32, the "distance"). The C++ types of the
// paper's code are kept, because the reference heuristics compare float32 distances strictly.
#pragma once

#include <cstdint>
#include <vector>

namespace corrclust::pqap {

// Column indices of the 13-column key-point rows (corrclust.pqap.io.FIELDS).
enum Field : int {
    kAngle = 0,
    kChannel = 1,
    kCol = 2,
    kRow = 3,
    kNormalizePeakValue = 9,
    kRelDistMax = 12,
    kNumFields = 13,
};

struct PointList {
    std::vector<float> angle;    // degrees, [0, 360]
    std::vector<int> channel;    // 0, 1 or 3
    std::vector<double> peak;    // normalize_peak_value
    std::vector<float> dist;     // relative_distance_center_max_distance
    std::vector<int> col, row;   // pixel position: names the same key point in the other list

    int size() const { return static_cast<int>(angle.size()); }

    // From k rows of 13 doubles (row-major), keeping the row order.
    static PointList from_rows(const double* rows, int k) {
        PointList p;
        p.angle.resize(k);
        p.channel.resize(k);
        p.peak.resize(k);
        p.dist.resize(k);
        p.col.resize(k);
        p.row.resize(k);
        for (int i = 0; i < k; ++i) {
            const double* r = rows + static_cast<std::int64_t>(i) * kNumFields;
            p.angle[i] = static_cast<float>(r[kAngle]);
            p.channel[i] = static_cast<int>(r[kChannel]);
            p.peak[i] = r[kNormalizePeakValue];
            p.dist[i] = static_cast<float>(r[kRelDistMax]);
            p.col[i] = static_cast<int>(r[kCol]);
            p.row[i] = static_cast<int>(r[kRow]);
        }
        return p;
    }
};

// One organoid: its features (used as the first argument A of a matching) and candidates (used as
// the second argument B).
struct Organoid {
    PointList features;
    PointList candidates;
};

}  // namespace corrclust::pqap
