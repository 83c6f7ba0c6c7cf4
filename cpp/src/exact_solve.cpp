// Exact solver driver: reductions, then branch-and-cut per independent part; see exact.hpp.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "corrclust/exact.hpp"
#include "corrclust/heuristics.hpp"
#include "corrclust/heuristics_detail.hpp"

namespace corrclust {
namespace {

template <class Problem>
LabelsImprover improver_for(const Problem& p, const ExactOptions& options) {
    if (options.heuristic == FirstIncumbent::none) return {};
    const KlOptions kl = options.kl;
    return [&p, kl](Labels& labels, Control& control) { kernighan_lin(p, labels, control, kl); };
}

void edge_list(const DenseView& p, std::vector<int>& u, std::vector<int>& v, std::vector<double>& c) {
    for (Index i = 0; i < p.n; ++i)
        for (Index j = i + 1; j < p.n; ++j)
            if (p(i, j) != 0.0) {
                u.push_back(static_cast<int>(i));
                v.push_back(static_cast<int>(j));
                c.push_back(p(i, j));
            }
}

void edge_list(const SparseGraph& p, std::vector<int>& u, std::vector<int>& v, std::vector<double>& c) {
    for (Index e = 0; e < p.num_edges(); ++e) {
        u.push_back(static_cast<int>(p.edge_u[e]));
        v.push_back(static_cast<int>(p.edge_v[e]));
        c.push_back(p.edge_cost[e]);
    }
}

// One independent part: its reduced nodes and the edges among them (local indices).
struct Part {
    std::vector<int> nodes;
    std::vector<Index> eu, ev;
    std::vector<double> cost;
};

// Solves one part as the same kind of problem as the input (dense input: a dense matrix of the
// contracted part, so that triangle and star cuts apply; sparse input: a sparse graph).
BncResult solve_part(const Part& part, bool dense, Control& control, const ExactOptions& options,
                     const Labels& warm) {
    const Index k = static_cast<Index>(part.nodes.size());
    if (dense) {
        std::vector<double> matrix(static_cast<size_t>(k * k), 0.0);
        for (size_t e = 0; e < part.cost.size(); ++e)
            matrix[part.eu[e] * k + part.ev[e]] = matrix[part.ev[e] * k + part.eu[e]] = part.cost[e];
        const DenseView view{matrix.data(), k};
        return branch_and_cut(view, control, options.bnc, &warm, improver_for(view, options));
    }
    const SparseGraph graph = SparseGraph::from_edges(k, part.eu.data(), part.ev.data(), part.cost.data(),
                                                      static_cast<Index>(part.cost.size()));
    return branch_and_cut(graph, control, options.bnc, &warm, improver_for(graph, options));
}

template <class Problem>
BncResult solve_exact_impl(const Problem& problem, bool dense, Control& control, const ExactOptions& options,
                           const Labels* warm_start) {
    const int n = static_cast<int>(problem.n);
    // The reductions keep a hash map per node: on complete graphs beyond a few thousand nodes that
    // costs more memory than the LP itself, so they are skipped there.
    if (!options.reduce || n == 0 || (dense && n > 2000))
        return branch_and_cut(problem, control, options.bnc, warm_start, improver_for(problem, options));

    const double t0 = control.elapsed();
    std::vector<int> u, v;
    std::vector<double> c;
    edge_list(problem, u, v, c);
    const ReducedProblem red = reduce_multicut(n, u, v, c, warm_start, options.reduction, control);
    const double reduce_time = control.elapsed() - t0;

    auto with_stats = [&](BncResult res, std::int64_t largest) {
        res.reduced_nodes = red.n;
        res.components = red.num_components;
        res.largest_component = largest;
        res.edge_joins = red.edge_joins;
        res.subset_joins = red.subset_joins;
        res.reduce_time = reduce_time;
        return res;
    };
    // Nothing to gain, or stopped during the reductions (their result is then the identity, with
    // no edge list): solve the input as it is, which returns the incumbent at once when stopped.
    if ((red.n == n && red.num_components == 1) || control.stopped()) {
        return with_stats(branch_and_cut(problem, control, options.bnc, warm_start,
                                         improver_for(problem, options)),
                          n);
    }

    // Split into parts; edges between parts are cut (their costs are <= 0).
    std::vector<Part> parts(static_cast<size_t>(red.num_components));
    std::vector<int> local(static_cast<size_t>(red.n));
    for (int x = 0; x < red.n; ++x) {
        Part& p = parts[red.component[x]];
        local[x] = static_cast<int>(p.nodes.size());
        p.nodes.push_back(x);
    }
    double between = 0.0;
    for (size_t e = 0; e < red.cost.size(); ++e) {
        const int a = red.eu[e], b = red.ev[e];
        if (red.component[a] != red.component[b]) {
            between += red.cost[e];
            continue;
        }
        Part& p = parts[red.component[a]];
        p.eu.push_back(local[a]);
        p.ev.push_back(local[b]);
        p.cost.push_back(red.cost[e]);
    }
    // A reduced node takes the warm-start label of its first original node.
    std::vector<Index> warm_of(static_cast<size_t>(red.n), -1);
    for (int i = 0; i < n; ++i) {
        Index& w = warm_of[red.node_of[i]];
        if (w < 0) w = warm_start ? (*warm_start)[i] : 0;
    }

    // For progress reports while one part is being solved: the best known objective and bound of
    // all the others (the warm start and the trivial bound until a part is solved).
    std::vector<double> part_obj(parts.size(), 0.0), part_lb(parts.size(), 0.0);
    for (size_t q = 0; q < parts.size(); ++q) {
        const Part& p = parts[q];
        for (size_t e = 0; e < p.cost.size(); ++e) {
            if (warm_of[p.nodes[p.eu[e]]] != warm_of[p.nodes[p.ev[e]]]) part_obj[q] += p.cost[e];
            part_lb[q] += std::min(p.cost[e], 0.0);
        }
    }
    double sum_obj = between + std::accumulate(part_obj.begin(), part_obj.end(), 0.0);
    double sum_lb = between + std::accumulate(part_lb.begin(), part_lb.end(), 0.0);

    std::vector<int> order(parts.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return parts[a].nodes.size() < parts[b].nodes.size(); });

    BncResult res;
    std::vector<Index> part_label(static_cast<size_t>(red.n), 0);
    Index next_label = 0;
    double lower = between, root_bound = between;
    bool all_optimal = true;
    std::int64_t largest = 0;
    std::string worst_status;
    for (int q : order) {
        const Part& part = parts[q];
        const Index k = static_cast<Index>(part.nodes.size());
        largest = std::max<std::int64_t>(largest, k);
        double part_opt = 0.0;
        Labels labels(static_cast<size_t>(k), 0);
        if (k == 1 || (k == 2 && part.cost.size() <= 1)) {
            // Trivial: one node, or two nodes joined iff their edge attracts.
            const double cost = part.cost.empty() ? 0.0 : part.cost[0];
            if (k == 2 && cost < 0) labels[1] = 1;
            part_opt = std::min(cost, 0.0);
            lower += part_opt;
            root_bound += part_opt;
        } else {
            Labels warm(static_cast<size_t>(k));
            for (Index a = 0; a < k; ++a) warm[a] = warm_of[part.nodes[a]];
            Control::ProgressFn forward;
            if (control.has_progress())
                forward = [&, q](const Progress& p) {
                    Progress all = p;
                    all.objective = sum_obj - part_obj[q] + std::min(p.objective, part_obj[q]);
                    all.lower_bound = sum_lb - part_lb[q] + std::max(p.lower_bound, part_lb[q]);
                    all.lower_bound = std::min(all.lower_bound, all.objective);
                    control.report(all);
                };
            Control child(control.remaining(), [&control] { return control.stop(); }, forward);
            BncResult r = solve_part(part, dense, child, options, warm);
            control.stop();  // picks up the time limit / interruption the part saw
            labels = std::move(r.labels);
            sum_obj += std::min(r.objective, part_obj[q]) - part_obj[q];
            sum_lb += std::max(r.lower_bound, part_lb[q]) - part_lb[q];
            part_obj[q] = std::min(r.objective, part_obj[q]);
            part_lb[q] = std::max(r.lower_bound, part_lb[q]);
            lower += r.lower_bound;
            root_bound += r.root_bound;
            if (r.status != "optimal") {
                all_optimal = false;
                if (worst_status.empty()) worst_status = r.status;
            }
            res.nodes += r.nodes;
            res.cuts += r.cuts;
            res.reduced_cost_fixings += r.reduced_cost_fixings;
            res.lp_solves += r.lp_solves;
            res.lp_iterations += r.lp_iterations;
            res.root_rounds += r.root_rounds;
            res.max_rows = std::max(res.max_rows, r.max_rows);
            res.lp_time += r.lp_time;
            res.separation_time += r.separation_time;
            res.local_cuts += r.local_cuts;
            res.local_cut_time += r.local_cut_time;
            res.heuristic_time += r.heuristic_time;
        }
        const Index base = next_label;
        Index top = 0;
        for (Index a = 0; a < k; ++a) {
            part_label[part.nodes[a]] = base + labels[a];
            top = std::max(top, labels[a] + 1);
        }
        next_label += top;
    }

    res.labels.resize(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) res.labels[i] = part_label[red.node_of[i]];
    normalize_labels(res.labels);
    res.objective = objective(problem, res.labels);
    res.lower_bound = all_optimal ? res.objective : std::min(lower, res.objective);
    res.root_bound = std::min(root_bound, res.objective);
    res.root_time = control.elapsed();
    const double gap_abs = std::max(0.0, res.objective - res.lower_bound);
    res.gap = gap_abs / std::max(std::abs(res.objective), 1e-9);
    if (all_optimal) {
        res.status = "optimal";
    } else if (control.reason() == StopReason::interrupted) {
        res.status = "interrupted";
    } else if (control.reason() == StopReason::time_limit) {
        res.status = "time_limit";
    } else {
        res.status = worst_status;
    }
    res.runtime = control.elapsed();
    return with_stats(std::move(res), largest);
}

// The first incumbent: a heuristic within `heuristic_time` seconds (and what is left of the time
// limit), stopped early with the parent (Ctrl-C). A good incumbent before the first LP lets the
// reductions (subset rule) and the tree prune early.
template <class Problem>
Labels first_incumbent(const Problem& p, Control& parent, const ExactOptions& options, std::uint64_t seed,
                       const Labels* warm) {
    Control child(std::min(options.heuristic_time, std::max(0.0, parent.remaining())),
                  [&parent] { return parent.stop(); });
    if (options.heuristic == FirstIncumbent::anytime) {
        AnytimeOptions any;
        any.kl = options.kl;
        any.until_time_limit = false;  // a quick incumbent: keep the stall rule under heuristic_time
        return anytime_ex(p, child, seed, warm, nullptr, any);
    }
    return gaec_kl(p, child, warm, options.kl);
}

template <class Problem>
BncResult solve_with_incumbent(const Problem& problem, bool dense, Control& control, const ExactOptions& options,
                               const Labels* warm_start, std::uint64_t seed) {
    if (options.heuristic == FirstIncumbent::none || problem.n == 0)
        return solve_exact_impl(problem, dense, control, options, warm_start);
    const Labels start = first_incumbent(problem, control, options, seed, warm_start);
    return solve_exact_impl(problem, dense, control, options, &start);
}

}  // namespace

void validate(const ExactOptions& o) {
    auto fail = [](const std::string& what) { throw std::invalid_argument(what); };
    const BncOptions& b = o.bnc;
    if (b.tree_method != LpMethod::dual_simplex)
        fail("tree_method must be 'dual_simplex' (the tree needs warm starts)");
    if (!(o.heuristic_time >= 0)) fail("heuristic_time must be >= 0");
    if (b.tree_purge_age < 1) fail("tree_purge_age must be >= 1");
    if (b.purge_age < 1) fail("purge_age must be >= 1");
    if (b.node_rounds < 0) fail("node_rounds must be >= 0");
    if (!(b.min_violation > 0)) fail("min_violation must be > 0");
    if (!(b.abs_gap >= 0)) fail("abs_gap must be >= 0");
    if (b.local_cut_min_size < 3 || b.local_cut_max_size > 10 || b.local_cut_min_size > b.local_cut_max_size)
        fail("local cut sizes must satisfy 3 <= local_cut_min_size <= local_cut_max_size <= 10");
    if (b.local_cut_sets < 1) fail("local_cut_sets must be >= 1");
    if (b.local_cut_growth < 0 || b.local_cut_growth > 2) fail("local_cut_growth must be 0, 1 or 2");
    if (!(b.ipm_switch_fraction >= 0 && b.ipm_switch_fraction <= 1)) fail("ipm_switch_fraction must be in [0, 1]");
    validate(o.kl);
}

BncResult solve_exact(const DenseView& problem, Control& control, const ExactOptions& options,
                      const Labels* warm_start, std::uint64_t seed) {
    return solve_with_incumbent(problem, true, control, options, warm_start, seed);
}

BncResult solve_exact(const SparseGraph& problem, Control& control, const ExactOptions& options,
                      const Labels* warm_start, std::uint64_t seed) {
    return solve_with_incumbent(problem, false, control, options, warm_start, seed);
}

}  // namespace corrclust
