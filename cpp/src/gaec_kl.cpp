// GAEC followed by Kernighan-Lin: the "kl" method of the heuristics and the cheap first incumbent of
// the exact solver. GAEC alone is 0-12 % above the best known on the shared instances and one KL
// pass removes almost all of it (docs/solvers.md), so this chain is the default heuristic.
#include <type_traits>

#include "corrclust/heuristics.hpp"
#include "corrclust/heuristics_detail.hpp"

namespace corrclust {
namespace {

template <class Problem>
Labels chain(const Problem& problem, Control& control, const Labels* start, const KlOptions& options,
             HeuristicStats* stats) {
    // A warm start replaces GAEC: KL never worsens its start, so the user's labels are kept or improved.
    Labels labels;
    if (start) labels = *start;
    else if constexpr (std::is_same_v<Problem, DenseView>) labels = gaec_ex(problem, control, nullptr, nullptr, options.threads);
    else labels = gaec_ex(problem, control, nullptr, nullptr);
    kernighan_lin_ex(problem, labels, control, stats, options);  // relabels; sets stats->objective
    return labels;
}

}  // namespace

Labels gaec_kl(const DenseView& problem, Control& control, const Labels* start, const KlOptions& options,
               HeuristicStats* stats) {
    return chain(problem, control, start, options, stats);
}
Labels gaec_kl(const SparseGraph& problem, Control& control, const Labels* start, const KlOptions& options,
               HeuristicStats* stats) {
    return chain(problem, control, start, options, stats);
}

}  // namespace corrclust
