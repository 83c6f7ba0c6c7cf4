// Bindings for the exact solver: corrclust._core.solve_exact_dense / solve_exact_sparse.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <limits>
#include <vector>
#include <string>

#include "control_binding.hpp"
#include "corrclust/branch_and_cut.hpp"
#include "corrclust/exact.hpp"
#include "corrclust/exact_reduce.hpp"
#include "corrclust/heuristics.hpp"
#include "corrclust/lp_backend.hpp"

namespace py = pybind11;
using namespace corrclust;

namespace {

using F64 = py::array_t<double, py::array::c_style | py::array::forcecast>;
using I64 = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

LpMethod parse_method(const std::string& s, const char* what) {
    if (s == "ipm") return LpMethod::ipm;
    if (s == "ipm_crossover") return LpMethod::ipm_crossover;
    if (s == "dual_simplex" || s == "simplex") return LpMethod::dual_simplex;
    throw py::value_error(std::string(what) + " must be 'ipm', 'ipm_crossover' or 'dual_simplex', got '" + s + "'");
}

enum class Heuristic { anytime, kl, none };

Heuristic parse_heuristic(const std::string& s) {
    if (s == "anytime") return Heuristic::anytime;
    if (s == "kl") return Heuristic::kl;
    if (s == "none") return Heuristic::none;
    throw py::value_error("heuristic must be 'anytime', 'kl' or 'none', got '" + s + "'");
}

// Primal side of the branch-and-cut: a first incumbent (anytime multi-start KL with fusion, or GAEC +
// KL, within a share of the time limit) and Kernighan-Lin on rounded LP points.
struct Primal {
    Heuristic kind = Heuristic::anytime;
    double time = 0.3;  // seconds for the first incumbent at most

    template <class Problem>
    Labels first(const Problem& p, Control& parent, std::uint64_t seed, const Labels* warm) const {
        Control child(std::min(time, std::max(0.0, parent.remaining())), [&parent] { return parent.stop(); });
        if (kind == Heuristic::anytime) return anytime(p, child, seed, warm);
        Labels labels = warm ? *warm : gaec(p, child);
        kernighan_lin(p, labels, child);
        return labels;
    }
};

ExactOptions parse_options(const py::kwargs& kw, Primal& primal) {
    ExactOptions exact;
    BncOptions& o = exact.bnc;
    for (auto item : kw) {
        const std::string key = py::str(item.first);
        const py::handle v = item.second;
        if (key == "heuristic") primal.kind = parse_heuristic(v.cast<std::string>());
        else if (key == "reduce") exact.reduce = v.cast<bool>();
        else if (key == "reduce_edges") exact.reduction.edge_joins = v.cast<bool>();
        else if (key == "reduce_subsets") exact.reduction.subset_joins = v.cast<bool>();
        else if (key == "reduce_components") exact.reduction.components = v.cast<bool>();
        else if (key == "star_ipm") o.star_ipm = v.cast<bool>();
        else if (key == "odd_wheel_cuts") o.odd_wheel_cuts = v.cast<bool>();
        else if (key == "odd_wheels_per_hub") o.odd_wheels_per_hub = v.cast<int>();
        else if (key == "star_ipm_min_edges") o.star_ipm_min_edges = v.cast<int>();
        else if (key == "root_cuts_per_round") o.root_cuts_per_round = v.cast<int>();
        else if (key == "heuristic_time") primal.time = v.cast<double>();
        else if (key == "triangle_cuts") o.triangle_cuts = v.cast<bool>();
        else if (key == "cycle_cuts") o.cycle_cuts = v.cast<bool>();
        else if (key == "star_cuts") o.star_cuts = v.cast<bool>();
        else if (key == "max_star_size") o.max_star_size = v.cast<int>();
        else if (key == "max_cuts_per_round") o.max_cuts_per_round = v.cast<int>();
        else if (key == "root_method") {
            const std::string name = v.cast<std::string>();
            // "auto": interior point while rounds add many rows, then warm-started dual simplex.
            o.root_method = name == "auto" ? LpMethod::ipm : parse_method(name, "root_method");
            o.ipm_switch_fraction = name == "auto" ? 0.5 : 0.0;
        }
        else if (key == "tree_method") o.tree_method = parse_method(v.cast<std::string>(), "tree_method");
        else if (key == "purge_age") o.purge_age = v.cast<int>();
        else if (key == "tree_purge_age") o.tree_purge_age = v.cast<int>();
        else if (key == "reduced_cost_fixing") o.reduced_cost_fixing = v.cast<bool>();
        else if (key == "node_rounds") o.node_rounds = v.cast<int>();
        else if (key == "min_violation") o.min_violation = v.cast<double>();
        else if (key == "abs_gap") o.abs_gap = v.cast<double>();
        else if (key == "max_nodes") o.max_nodes = v.is_none() ? -1 : v.cast<std::int64_t>();
        else if (key == "verbose") o.verbose = v.cast<bool>();
        else throw py::type_error("solve_exact: unknown option '" + key + "'");
    }
    if (o.tree_method != LpMethod::dual_simplex)
        throw py::value_error("tree_method must be 'dual_simplex' (the tree needs warm starts)");
    if (!(primal.time >= 0)) throw py::value_error("heuristic_time must be >= 0");
    if (o.tree_purge_age < 1) throw py::value_error("tree_purge_age must be >= 1");
    if (o.purge_age < 1) throw py::value_error("purge_age must be >= 1");
    if (o.node_rounds < 0) throw py::value_error("node_rounds must be >= 0");
    if (!(o.min_violation > 0)) throw py::value_error("min_violation must be > 0");
    if (!(o.abs_gap >= 0)) throw py::value_error("abs_gap must be >= 0");
    exact.improve = primal.kind != Heuristic::none;
    return exact;
}

bool parse_warm_start(const py::object& warm, Index n, Labels& out) {
    if (warm.is_none()) return false;
    I64 a = warm.cast<I64>();
    if (a.ndim() != 1 || a.shape(0) != n)
        throw py::value_error("warm_start must have shape (" + std::to_string(n) + ",), got a different shape");
    out.assign(a.data(), a.data() + n);
    return true;
}

py::dict to_dict(BncResult&& r) {
    py::array_t<std::int64_t> labels(static_cast<py::ssize_t>(r.labels.size()));
    std::copy(r.labels.begin(), r.labels.end(), labels.mutable_data());
    py::dict d;
    d["labels"] = labels;
    d["objective"] = r.objective;
    d["lower_bound"] = r.lower_bound;
    d["gap"] = r.gap;
    d["status"] = r.status;
    d["nodes"] = r.nodes;
    d["cuts"] = r.cuts;
    d["reduced_cost_fixings"] = r.reduced_cost_fixings;
    d["runtime"] = r.runtime;
    d["lp_time"] = r.lp_time;
    d["lp_solves"] = r.lp_solves;
    d["lp_iterations"] = r.lp_iterations;
    d["separation_time"] = r.separation_time;
    d["heuristic_time"] = r.heuristic_time;
    d["root_bound"] = r.root_bound;
    d["root_time"] = r.root_time;
    d["root_rounds"] = r.root_rounds;
    d["max_rows"] = r.max_rows;
    d["reduced_nodes"] = r.reduced_nodes;
    d["components"] = r.components;
    d["largest_component"] = r.largest_component;
    d["edge_joins"] = r.edge_joins;
    d["subset_joins"] = r.subset_joins;
    d["reduce_time"] = r.reduce_time;
    return d;
}

template <class Problem>
py::dict run(const Problem& problem, Index n, const py::object& time_limit, std::uint64_t seed,
             const py::object& warm_start, const py::object& progress, const py::kwargs& kw) {
    Primal primal;
    const ExactOptions opt = parse_options(kw, primal);
    Labels warm;
    const bool has_warm = parse_warm_start(warm_start, n, warm);
    auto control = bind::make_control(time_limit, progress);
    BncResult res;
    {
        py::gil_scoped_release release;
        Labels start;
        const bool has_start = primal.kind != Heuristic::none && n > 0;
        if (has_start) start = primal.first(problem, *control, seed, has_warm ? &warm : nullptr);
        const Labels* first = has_start ? &start : (has_warm ? &warm : nullptr);
        res = solve_exact(problem, *control, opt, first);
    }
    // A Ctrl-C seen by the poll is reported as status "interrupted", not raised: clear it. A
    // Python error from the progress callback is raised.
    if (PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_KeyboardInterrupt)) PyErr_Clear();
        else throw py::error_already_set();
    }
    return to_dict(std::move(res));
}

}  // namespace

void init_exact(py::module_& m) {
    m.def(
        "solve_exact_dense",
        [](F64 costs, const py::object& time_limit, std::uint64_t seed, const py::object& warm_start,
           const py::object& progress, const py::kwargs& kw) {
            if (costs.ndim() != 2 || costs.shape(0) != costs.shape(1))
                throw py::value_error("costs must be a square (n, n) matrix");
            const Index n = costs.shape(0);
            for (Index i = 0; i < n; ++i)
                for (Index j = i + 1; j < n; ++j)
                    if (!std::isfinite(costs.data()[i * n + j]))
                        throw py::value_error("cost (" + std::to_string(i) + ", " + std::to_string(j) +
                                              ") is not finite");
            DenseView view{costs.data(), n};
            return run(view, n, time_limit, seed, warm_start, progress, kw);
        },
        py::arg("costs"), py::arg("time_limit") = py::none(), py::arg("seed") = 0,
        py::arg("warm_start") = py::none(), py::arg("progress") = py::none(),
        R"doc(Exact correlation clustering of a complete graph by branch-and-cut (triangle cuts, HiGHS LP).

costs: float64 (n, n), symmetric, c > 0 attractive; minimises the sum of the costs of cut pairs.
Returns a dict with labels, objective, lower_bound, gap, status ("optimal", "time_limit",
"interrupted", "node_limit"), nodes, cuts, runtime, lp_time and more statistics. Options:
heuristic ('anytime' | 'kl' | 'none'), heuristic_time (s), triangle_cuts, star_cuts, max_star_size, max_cuts_per_round, root_method ('dual_simplex' | 'ipm' | 'ipm_crossover' | 'auto'),
tree_method, purge_age, tree_purge_age, node_rounds, min_violation, abs_gap, max_nodes, verbose.)doc");
    m.def(
        "solve_exact_sparse",
        [](Index n, I64 edges, F64 costs, const py::object& time_limit, std::uint64_t seed,
           const py::object& warm_start, const py::object& progress, const py::kwargs& kw) {
            if (n < 0) throw py::value_error("n must be >= 0");
            if (edges.ndim() != 2 || edges.shape(1) != 2) throw py::value_error("edges must have shape (m, 2)");
            if (costs.ndim() != 1 || costs.shape(0) != edges.shape(0))
                throw py::value_error("costs must have shape (m,) matching edges");
            const Index m_edges = edges.shape(0);
            const std::int64_t* e = edges.data();
            std::vector<Index> u(static_cast<size_t>(m_edges)), v(static_cast<size_t>(m_edges));
            for (Index k = 0; k < m_edges; ++k) {
                u[k] = e[2 * k];
                v[k] = e[2 * k + 1];
                if (u[k] < 0 || u[k] >= n || v[k] < 0 || v[k] >= n)
                    throw py::value_error("edge " + std::to_string(k) + " has a node index outside [0, n)");
                if (u[k] == v[k]) throw py::value_error("edge " + std::to_string(k) + " is a self-loop");
                if (!std::isfinite(costs.data()[k]))
                    throw py::value_error("cost of edge " + std::to_string(k) + " is not finite");
            }
            SparseGraph g = SparseGraph::from_edges(n, u.data(), v.data(), costs.data(), m_edges);
            return run(g, n, time_limit, seed, warm_start, progress, kw);
        },
        py::arg("n"), py::arg("edges"), py::arg("costs"), py::arg("time_limit") = py::none(), py::arg("seed") = 0,
        py::arg("warm_start") = py::none(), py::arg("progress") = py::none(),
        R"doc(Exact correlation clustering of a sparse graph by branch-and-cut (cycle cuts, HiGHS LP).

edges: int64 (m, 2) node pairs (parallel edges are summed), costs: float64 (m,). Same result
dict and options as solve_exact_dense (cycle_cuts instead of triangle_cuts).)doc");
    m.def(
        "reduce_multicut",
        [](Index n, I64 edges, F64 costs, const py::object& clusters, bool edge_joins, bool subset_joins,
           bool components) {
            if (n < 0 || n > std::numeric_limits<int>::max() / 2) throw py::value_error("n out of range");
            if (edges.ndim() != 2 || edges.shape(1) != 2) throw py::value_error("edges must have shape (m, 2)");
            if (costs.ndim() != 1 || costs.shape(0) != edges.shape(0))
                throw py::value_error("costs must have shape (m,) matching edges");
            const Index m_edges = edges.shape(0);
            std::vector<int> u(static_cast<size_t>(m_edges)), v(static_cast<size_t>(m_edges));
            std::vector<double> c(costs.data(), costs.data() + m_edges);
            for (Index k = 0; k < m_edges; ++k) {
                const std::int64_t a = edges.data()[2 * k], b = edges.data()[2 * k + 1];
                if (a < 0 || a >= n || b < 0 || b >= n)
                    throw py::value_error("edge " + std::to_string(k) + " has a node index outside [0, n)");
                if (a == b) throw py::value_error("edge " + std::to_string(k) + " is a self-loop");
                if (!std::isfinite(c[k])) throw py::value_error("cost of edge " + std::to_string(k) + " is not finite");
                u[k] = static_cast<int>(a);
                v[k] = static_cast<int>(b);
            }
            Labels proposal;
            const bool has_proposal = parse_warm_start(clusters, n, proposal);
            ReduceOptions o;
            o.edge_joins = edge_joins;
            o.subset_joins = subset_joins;
            o.components = components;
            Control control;
            ReducedProblem r;
            {
                py::gil_scoped_release release;
                r = reduce_multicut(static_cast<int>(n), u, v, c, has_proposal ? &proposal : nullptr, o, control);
            }
            py::array_t<std::int64_t> node_of(static_cast<py::ssize_t>(n)), comp(static_cast<py::ssize_t>(r.n));
            std::copy(r.node_of.begin(), r.node_of.end(), node_of.mutable_data());
            std::copy(r.component.begin(), r.component.end(), comp.mutable_data());
            py::array_t<std::int64_t> red_edges({static_cast<py::ssize_t>(r.cost.size()), py::ssize_t{2}});
            for (size_t e = 0; e < r.cost.size(); ++e) {
                red_edges.mutable_data()[2 * e] = r.eu[e];
                red_edges.mutable_data()[2 * e + 1] = r.ev[e];
            }
            py::array_t<double> red_costs(static_cast<py::ssize_t>(r.cost.size()));
            std::copy(r.cost.begin(), r.cost.end(), red_costs.mutable_data());
            py::dict d;
            d["n"] = r.n;
            d["node_of"] = node_of;
            d["component"] = comp;
            d["edges"] = red_edges;
            d["costs"] = red_costs;
            d["edge_joins"] = r.edge_joins;
            d["subset_joins"] = r.subset_joins;
            d["subset_tries"] = r.subset_tries;
            return d;
        },
        py::arg("n"), py::arg("edges"), py::arg("costs"), py::arg("clusters") = py::none(),
        py::arg("edge_joins") = true, py::arg("subset_joins") = true, py::arg("components") = true,
        R"doc(Persistency reductions of solve_exact, for inspection and tests.

Returns a dict: n (reduced nodes), node_of (original -> reduced node), component (reduced node ->
independent part), edges / costs (the contracted graph, parallel edges summed), and counts.
`clusters` (labels, optional) proposes the node sets of the subset rule.)doc");
    m.def("highs_version", &highs_version, "Version of the linked HiGHS library.");
}
