// Bindings for the exact solver: corrclust._core.exact (solve_dense, solve_sparse, reduce_multicut,
// highs_version and the option struct ExactOptions). The first-incumbent rule and the option checks
// live in cpp/src/exact_solve.cpp; this file converts, checks the arrays, calls and converts back.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "bind_common.hpp"
#include "control_binding.hpp"
#include "corrclust/branch_and_cut.hpp"
#include "corrclust/exact.hpp"
#include "corrclust/exact_reduce.hpp"
#include "corrclust/heuristics.hpp"
#include "corrclust/local_cut_separation.hpp"
#include "corrclust/lp_backend.hpp"

namespace py = pybind11;
using namespace corrclust;
using bind::F64Array;
using bind::I64Array;

namespace {

LpMethod parse_lp_method(const std::string& s, const char* what) {
    if (s == "ipm") return LpMethod::ipm;
    if (s == "ipm_crossover") return LpMethod::ipm_crossover;
    if (s == "dual_simplex") return LpMethod::dual_simplex;
    throw py::value_error(std::string(what) + " must be 'ipm', 'ipm_crossover', 'dual_simplex' or 'auto', got '" + s +
                          "'");
}

FirstIncumbent parse_heuristic(const std::string& s) {
    if (s == "anytime") return FirstIncumbent::anytime;
    if (s == "kl") return FirstIncumbent::kl;
    if (s == "none") return FirstIncumbent::none;
    throw py::value_error("heuristic must be 'anytime', 'kl' or 'none', got '" + s + "'");
}

const char* to_string(FirstIncumbent h) {
    return h == FirstIncumbent::anytime ? "anytime" : h == FirstIncumbent::kl ? "kl" : "none";
}

// A field of a nested struct (ExactOptions::bnc or ::reduction) bound as a flat attribute.
template <class Inner, class M>
void nested(py::class_<ExactOptions>& cls, const char* name, Inner ExactOptions::* inner, M Inner::* field,
            const char* doc) {
    cls.def_property(
        name, [inner, field](const ExactOptions& o) { return o.*inner.*field; },
        [inner, field](ExactOptions& o, M v) { (o.*inner).*field = v; }, doc);
}

void bind_options(py::module_& m) {
    py::class_<ExactOptions> c(m, "ExactOptions",
                               "Settings of the exact solver (first incumbent, reductions, branch-and-cut); "
                               "docs/exact.md explains each.");
    c.def_property(
        "heuristic", [](const ExactOptions& o) { return std::string(to_string(o.heuristic)); },
        [](ExactOptions& o, const std::string& s) { o.heuristic = parse_heuristic(s); },
        "First incumbent: 'anytime' (default), 'kl' (GAEC + KL) or 'none' (also no KL on rounded LP points).");
    c.def_readwrite("heuristic_time", &ExactOptions::heuristic_time, "Seconds for the first incumbent at most (0.3).");
    c.def_readwrite("kl", &ExactOptions::kl, "KLOptions of Kernighan-Lin in the first incumbent and on LP points.");
    c.def_readwrite("reduce", &ExactOptions::reduce, "Run the persistency reductions first (True).");
    nested(c, "reduce_edges", &ExactOptions::reduction, &ReduceOptions::edge_joins, "Dominant-edge and pair rules.");
    nested(c, "reduce_subsets", &ExactOptions::reduction, &ReduceOptions::subset_joins,
           "Subset rule on the clusters of the first incumbent.");
    nested(c, "reduce_components", &ExactOptions::reduction, &ReduceOptions::components,
           "Solve the components of the positive graph independently.");
    nested(c, "max_subset_size", &ExactOptions::reduction, &ReduceOptions::max_subset_size,
           "Clusters larger than this are not tried by the subset rule (600).");
    nested(c, "triangle_cuts", &ExactOptions::bnc, &BncOptions::triangle_cuts, "Complete graphs: triangle cuts.");
    nested(c, "cycle_cuts", &ExactOptions::bnc, &BncOptions::cycle_cuts, "Sparse graphs: cycle cuts.");
    nested(c, "contract_cycles", &ExactOptions::bnc, &BncOptions::contract_cycles,
           "Sparse graphs: separate cycles with the y = 0 regions contracted (True).");
    nested(c, "star_cuts", &ExactOptions::bnc, &BncOptions::star_cuts, "Complete graphs: two-partition cuts, ``|S| = 1``.");
    nested(c, "max_star_size", &ExactOptions::bnc, &BncOptions::max_star_size, "Largest ``|T|`` of a star cut (8).");
    nested(c, "odd_wheel_cuts", &ExactOptions::bnc, &BncOptions::odd_wheel_cuts, "Odd-wheel cuts (False).");
    nested(c, "sparse_wheel_cuts", &ExactOptions::bnc, &BncOptions::sparse_wheel_cuts,
           "Sparse graphs: odd-wheel cuts around each node once cycle cuts run low, backing off while\n"
           "none is found (True).");
    nested(c, "odd_wheels_per_hub", &ExactOptions::bnc, &BncOptions::odd_wheels_per_hub,
           "Odd wheels per hub and round at most (2).");
    nested(c, "local_cuts", &ExactOptions::bnc, &BncOptions::local_cuts,
           "Sparse graphs, root: local cuts from an LP over the partitions of small node sets, once\n"
           "cycles and wheels find none (True).");
    nested(c, "tree_local_cuts", &ExactOptions::bnc, &BncOptions::tree_local_cuts,
           "... in the tree too, backing off while none is found (False).");
    nested(c, "local_cut_min_size", &ExactOptions::bnc, &BncOptions::local_cut_min_size,
           "Smallest node set of a local cut (7).");
    nested(c, "local_cut_max_size", &ExactOptions::bnc, &BncOptions::local_cut_max_size,
           "Largest node set of a local cut, at most 10 (9).");
    nested(c, "local_cut_sets", &ExactOptions::bnc, &BncOptions::local_cut_sets,
           "Node sets tried per size and round (400).");
    nested(c, "local_cut_row_generation", &ExactOptions::bnc, &BncOptions::local_cut_row_generation,
           "Solve each set's partition LP by row generation over the partitions (True); False: all\n"
           "partitions at once.");
    nested(c, "local_cut_growth", &ExactOptions::bnc, &BncOptions::local_cut_growth,
           "Node sets per fractional edge: 0 grown along the most fractional edges, 1 along the most\n"
           "edges into the set, 2 both (0).");
    nested(c, "star_ipm", &ExactOptions::bnc, &BncOptions::star_ipm,
           "Root: switch to interior point once star cuts start (True).");
    nested(c, "star_ipm_min_edges", &ExactOptions::bnc, &BncOptions::star_ipm_min_edges,
           "... on LPs with at least this many columns (3000).");
    nested(c, "max_cuts_per_round", &ExactOptions::bnc, &BncOptions::max_cuts_per_round,
           "Cut cap per tree round; 0: max(1000, 8 n).");
    nested(c, "root_cuts_per_round", &ExactOptions::bnc, &BncOptions::root_cuts_per_round,
           "Cut cap per root round; 0: max(tree cap, n^2 / 2).");
    c.def_property(
        "root_method", [](const ExactOptions& o) { return std::string(to_string(o.bnc.root_method)); },
        [](ExactOptions& o, const std::string& name) {
            // "auto": interior point while rounds add many rows, then warm-started dual simplex.
            o.bnc.root_method = name == "auto" ? LpMethod::ipm : parse_lp_method(name, "root_method");
            o.bnc.ipm_switch_fraction = name == "auto" ? 0.5 : 0.0;
        },
        "Root LP method: 'dual_simplex' (default), 'ipm', 'ipm_crossover', or 'auto' (sets 'ipm' and "
        "ipm_switch_fraction 0.5); setting it resets ipm_switch_fraction.");
    nested(c, "ipm_switch_fraction", &ExactOptions::bnc, &BncOptions::ipm_switch_fraction,
           "Root 'ipm': switch to crossover + dual simplex once a round adds less than this share of the cap.");
    c.def_property(
        "tree_method", [](const ExactOptions& o) { return std::string(to_string(o.bnc.tree_method)); },
        [](ExactOptions& o, const std::string& name) { o.bnc.tree_method = parse_lp_method(name, "tree_method"); },
        "LP method in the tree: 'dual_simplex' only (warm starts).");
    nested(c, "purge_age", &ExactOptions::bnc, &BncOptions::purge_age, "Root: drop a cut slack this many solves (3).");
    nested(c, "tree_purge_age", &ExactOptions::bnc, &BncOptions::tree_purge_age, "Tree: the same (20).");
    nested(c, "reduced_cost_fixing", &ExactOptions::bnc, &BncOptions::reduced_cost_fixing,
           "Fix edges by reduced costs in the children (True).");
    nested(c, "node_rounds", &ExactOptions::bnc, &BncOptions::node_rounds, "Cutting-plane rounds per tree node (8).");
    nested(c, "min_violation", &ExactOptions::bnc, &BncOptions::min_violation,
           "Separate only cuts violated by more than this (1e-6).");
    nested(c, "abs_gap", &ExactOptions::bnc, &BncOptions::abs_gap, "Optimal once objective - bound <= abs_gap (1e-6).");
    c.def_property(
        "max_nodes",
        [](const ExactOptions& o) { return o.bnc.max_nodes < 0 ? py::object(py::none()) : py::int_(o.bnc.max_nodes); },
        [](ExactOptions& o, const py::object& v) {
            o.bnc.max_nodes = v.is_none() ? -1 : v.cast<std::int64_t>();
            if (!v.is_none() && o.bnc.max_nodes < 0) throw py::value_error("max_nodes must be >= 0 or None");
        },
        "Stop with status 'node_limit' after this many nodes (None: unlimited).");
    nested(c, "verbose", &ExactOptions::bnc, &BncOptions::verbose, "One line per root round / 100 nodes on stderr.");
    bind::options_protocol(c, {"heuristic",
                               "heuristic_time",
                               "kl",
                               "reduce",
                               "reduce_edges",
                               "reduce_subsets",
                               "reduce_components",
                               "max_subset_size",
                               "triangle_cuts",
                               "cycle_cuts",
                               "contract_cycles",
                               "star_cuts",
                               "max_star_size",
                               "odd_wheel_cuts",
                               "sparse_wheel_cuts",
                               "odd_wheels_per_hub",
                               "local_cuts",
                               "tree_local_cuts",
                               "local_cut_min_size",
                               "local_cut_max_size",
                               "local_cut_sets",
                               "local_cut_row_generation",
                               "local_cut_growth",
                               "star_ipm",
                               "star_ipm_min_edges",
                               "max_cuts_per_round",
                               "root_cuts_per_round",
                               "root_method",
                               "ipm_switch_fraction",
                               "tree_method",
                               "purge_age",
                               "tree_purge_age",
                               "reduced_cost_fixing",
                               "node_rounds",
                               "min_violation",
                               "abs_gap",
                               "max_nodes",
                               "verbose"});
}

ExactOptions read_options(const py::object& options) {
    if (options.is_none()) return ExactOptions{};
    if (!py::isinstance<ExactOptions>(options))
        throw py::type_error("options must be ExactOptions or None, got " +
                             std::string(py::str(py::type::of(options).attr("__name__"))));
    ExactOptions o = options.cast<ExactOptions>();
    validate(o);  // std::invalid_argument -> ValueError
    return o;
}

py::dict to_dict(BncResult&& r) {
    py::dict d;
    d["labels"] = bind::to_array(r.labels);
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
    d["local_cuts"] = r.local_cuts;
    d["local_cut_time"] = r.local_cut_time;
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
             const py::object& warm_start, const py::object& progress, const py::object& options) {
    const ExactOptions opt = read_options(options);
    Labels warm;
    const bool has_warm = bind::read_labels(warm_start, n, warm, "warm_start");
    auto control = bind::make_control(time_limit, progress);
    BncResult res;
    {
        py::gil_scoped_release release;
        res = solve_exact(problem, *control, opt, has_warm ? &warm : nullptr, seed);
    }
    bind::rethrow_pending();  // KeyboardInterrupt, or an exception raised by the progress callback
    return to_dict(std::move(res));
}

}  // namespace

void init_exact(py::module_& m) {
    bind_options(m);
    m.def(
        "solve_dense",
        [](const F64Array& costs, const py::object& time_limit, std::uint64_t seed, const py::object& warm_start,
           const py::object& progress, const py::object& options) {
            const Index n = bind::check_square(costs);
            const DenseView view{costs.data(), n};
            return run(view, n, time_limit, seed, warm_start, progress, options);
        },
        py::arg("costs"), py::arg("time_limit") = py::none(), py::arg("seed") = 0, py::arg("warm_start") = py::none(),
        py::arg("progress") = py::none(), py::arg("options") = py::none(),
        R"doc(Exact correlation clustering of a complete graph by branch-and-cut (triangle cuts, HiGHS LP).

costs: float64 (n, n), symmetric, finite, c > 0 attractive; minimises the sum of the costs of cut
pairs. options: ExactOptions or None. Returns a dict with labels, objective, lower_bound, gap,
status ("optimal", "time_limit", "node_limit"), nodes, cuts, runtime, lp_time and more statistics.
Ctrl-C raises KeyboardInterrupt.)doc");
    m.def(
        "solve_sparse",
        [](Index n, const I64Array& edges, const F64Array& costs, const py::object& time_limit, std::uint64_t seed,
           const py::object& warm_start, const py::object& progress, const py::object& options) {
            const Index m_edges = bind::check_edges(n, edges, costs);
            const std::int64_t* e = edges.data();
            std::vector<Index> u(static_cast<size_t>(m_edges)), v(static_cast<size_t>(m_edges));
            for (Index k = 0; k < m_edges; ++k) {
                u[static_cast<size_t>(k)] = e[2 * k];
                v[static_cast<size_t>(k)] = e[2 * k + 1];
            }
            const SparseGraph g = SparseGraph::from_edges(n, u.data(), v.data(), costs.data(), m_edges);
            return run(g, n, time_limit, seed, warm_start, progress, options);
        },
        py::arg("n"), py::arg("edges"), py::arg("costs"), py::arg("time_limit") = py::none(), py::arg("seed") = 0,
        py::arg("warm_start") = py::none(), py::arg("progress") = py::none(), py::arg("options") = py::none(),
        R"doc(Exact correlation clustering of a sparse graph by branch-and-cut (cycle cuts, HiGHS LP).

edges: int64 (m, 2) node pairs (parallel edges are summed), costs: float64 (m,), finite. Same
result dict and options as solve_dense (cycle_cuts instead of triangle_cuts).)doc");
    m.def(
        "local_cut",
        [](Index n, const I64Array& edges, const F64Array& y, const py::iterable& node_list, double tol,
           bool row_generation) -> py::object {
            std::vector<int> nodes;
            for (const py::handle h : node_list) nodes.push_back(h.cast<int>());
            if (n > std::numeric_limits<int>::max() / 2) throw py::value_error("n out of range");
            const Index m_edges = bind::check_edges(n, edges, y);
            std::vector<int> u(static_cast<size_t>(m_edges)), v(static_cast<size_t>(m_edges));
            for (Index k = 0; k < m_edges; ++k) {
                u[static_cast<size_t>(k)] = static_cast<int>(edges.data()[2 * k]);
                v[static_cast<size_t>(k)] = static_cast<int>(edges.data()[2 * k + 1]);
            }
            for (const int x : nodes)
                if (x < 0 || x >= n) throw py::value_error("nodes must lie in [0, n)");
            std::vector<int> sorted(nodes);
            std::sort(sorted.begin(), sorted.end());
            if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
                throw py::value_error("nodes must be distinct");
            if (sorted.size() < 3 || sorted.size() > 10) throw py::value_error("local_cut needs 3 to 10 nodes");
            // CSR adjacency, as branch_and_cut builds it.
            const int nn = static_cast<int>(n);
            std::vector<int> off(static_cast<size_t>(nn) + 1, 0), adj_node(2 * u.size()), adj_edge(2 * u.size());
            for (size_t e = 0; e < u.size(); ++e) {
                ++off[u[e] + 1];
                ++off[v[e] + 1];
            }
            for (int i = 0; i < nn; ++i) off[i + 1] += off[i];
            std::vector<int> fill(off.begin(), off.end() - 1);
            for (size_t e = 0; e < u.size(); ++e) {
                adj_node[fill[u[e]]] = v[e];
                adj_edge[fill[u[e]]++] = static_cast<int>(e);
                adj_node[fill[v[e]]] = u[e];
                adj_edge[fill[v[e]]++] = static_cast<int>(e);
            }
            std::vector<double> yy(y.data(), y.data() + m_edges);
            LocalCutSeparator sep(nn, u, v, off, adj_node, adj_edge);
            LocalCut cut;
            if (!sep.separate_set(sorted, yy, tol, cut, std::numeric_limits<double>::infinity(), row_generation))
                return py::none();
            py::dict d;
            py::list idx, val;
            for (size_t k = 0; k < cut.idx.size(); ++k) {
                idx.append(cut.idx[k]);
                val.append(cut.val[k]);
            }
            d["edges"] = idx;
            d["coefficients"] = val;
            d["rhs"] = cut.rhs;
            d["violation"] = cut.violation;
            return d;
        },
        py::arg("n"), py::arg("edges"), py::arg("y"), py::arg("nodes"), py::arg("tol") = 1e-6,
        py::arg("row_generation") = true,
        R"doc(The local cut of the exact solver for one node set (for tests and inspection).

edges: int64 (m, 2) without parallel edges, y: float64 (m,) a point in [0, 1]^m (1 = cut), nodes:
3 to 10 distinct nodes S. Returns None when y restricted to the edges of G[S] lies in the convex
hull of the multicuts of G[S] (up to tol), else a dict with edges (indices into the edge list),
coefficients, rhs and violation of a valid inequality sum coefficients * y[edges] <= rhs.)doc");
    m.def(
        "reduce_multicut",
        [](Index n, const I64Array& edges, const F64Array& costs, const py::object& clusters, bool edge_joins,
           bool subset_joins, bool components) {
            if (n > std::numeric_limits<int>::max() / 2) throw py::value_error("n out of range");
            const Index m_edges = bind::check_edges(n, edges, costs);
            std::vector<int> u(static_cast<size_t>(m_edges)), v(static_cast<size_t>(m_edges));
            std::vector<double> c(costs.data(), costs.data() + m_edges);
            for (Index k = 0; k < m_edges; ++k) {
                u[static_cast<size_t>(k)] = static_cast<int>(edges.data()[2 * k]);
                v[static_cast<size_t>(k)] = static_cast<int>(edges.data()[2 * k + 1]);
            }
            Labels proposal;
            const bool has_proposal = bind::read_labels(clusters, n, proposal, "clusters");
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
            py::array_t<std::int64_t> red_edges({static_cast<py::ssize_t>(r.cost.size()), py::ssize_t{2}});
            for (size_t e = 0; e < r.cost.size(); ++e) {
                red_edges.mutable_data()[2 * e] = r.eu[e];
                red_edges.mutable_data()[2 * e + 1] = r.ev[e];
            }
            py::dict d;
            d["n"] = r.n;
            d["node_of"] = bind::to_array(std::vector<std::int64_t>(r.node_of.begin(), r.node_of.end()));
            d["component"] = bind::to_array(std::vector<std::int64_t>(r.component.begin(), r.component.end()));
            d["edges"] = red_edges;
            d["costs"] = bind::to_array(r.cost);
            d["edge_joins"] = r.edge_joins;
            d["subset_joins"] = r.subset_joins;
            d["subset_tries"] = r.subset_tries;
            return d;
        },
        py::arg("n"), py::arg("edges"), py::arg("costs"), py::arg("clusters") = py::none(),
        py::arg("edge_joins") = true, py::arg("subset_joins") = true, py::arg("components") = true,
        R"doc(Persistency reductions of the exact solver, for inspection and tests.

Returns a dict: n (reduced nodes), node_of (original -> reduced node), component (reduced node ->
independent part), edges / costs (the contracted graph, parallel edges summed), and counts.
`clusters` (labels, optional) proposes the node sets of the subset rule.)doc");
    m.def("highs_version", &highs_version, "Version of the linked HiGHS library.");
}
