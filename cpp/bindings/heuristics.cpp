// Bindings for the primal heuristics: corrclust._core.heuristics (solve_dense, solve_sparse,
// solve_background and the option structs KLOptions, AnytimeOptions).
//
// Arguments are converted and checked (without copying a C-contiguous float64 cost matrix) while
// the GIL is held; the solve runs with the GIL released and polls Ctrl-C, the time limit and the
// progress callback through the Control built by make_control. Ctrl-C raises KeyboardInterrupt once
// the GIL is back; a time limit returns the best labelling found with status "time_limit".
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <string>

#include "bind_common.hpp"
#include "control_binding.hpp"
#include "corrclust/background.hpp"
#include "corrclust/heuristics.hpp"
#include "corrclust/heuristics_detail.hpp"
#include "corrclust/problem.hpp"

namespace py = pybind11;
using namespace corrclust;
using bind::F64Array;
using bind::I64Array;

namespace {

enum class Method { gaec, kl, anytime };

Method parse_method(const std::string& m) {
    if (m == "gaec") return Method::gaec;
    if (m == "kl") return Method::kl;
    if (m == "anytime") return Method::anytime;
    throw py::value_error("unknown heuristic method '" + m + "' (expected 'gaec', 'kl' or 'anytime')");
}

// The settings of one call: `options` must be None (defaults) or the options type of the method.
struct Settings {
    KlOptions kl;
    AnytimeOptions anytime;
};

Settings read_options(Method method, const py::object& options) {
    Settings s;
    if (options.is_none()) return s;
    if (method == Method::kl && py::isinstance<KlOptions>(options)) {
        s.kl = options.cast<KlOptions>();
        validate(s.kl);
        return s;
    }
    if (method == Method::anytime && py::isinstance<AnytimeOptions>(options)) {
        s.anytime = options.cast<AnytimeOptions>();
        validate(s.anytime);
        return s;
    }
    const char* expected = method == Method::kl        ? "KLOptions or None"
                           : method == Method::anytime ? "AnytimeOptions or None"
                                                       : "None (GAEC has no settings)";
    throw py::type_error(std::string("options must be ") + expected + ", got " +
                         std::string(py::str(py::type::of(options).attr("__name__"))));
}

template <class Problem>
Labels run_method(const Problem& problem, Method method, Control& control, std::uint64_t seed, const Labels* start,
                  const Settings& settings, HeuristicStats& stats) {
    switch (method) {
        case Method::gaec: return gaec_ex(problem, control, start, &stats);
        case Method::kl: return gaec_kl(problem, control, start, settings.kl, &stats);
        case Method::anytime:
        default: return anytime_ex(problem, control, seed, start, &stats, settings.anytime);
    }
}

py::dict result(const Labels& labels, double objective_value, Control& control, std::int64_t iterations) {
    bind::rethrow_pending();  // KeyboardInterrupt, or an exception raised by the progress callback
    const double runtime = control.elapsed();
    const StopReason reason = control.reason();
    py::dict d;
    d["labels"] = bind::to_array(labels);
    d["objective"] = objective_value;
    d["status"] = reason == StopReason::none ? "heuristic" : to_string(reason);
    d["runtime"] = runtime;
    d["iterations"] = iterations;
    return d;
}

// `control` is made by the caller before it builds the problem, so the time limit (and the reported
// runtime) also covers building a sparse graph from the arrays.
template <class Problem>
py::dict solve(const Problem& problem, Method method, Control& control, std::uint64_t seed, const Labels* start,
               const Settings& settings) {
    Labels labels;
    double obj = 0.0;
    HeuristicStats stats;
    {
        py::gil_scoped_release release;
        labels = run_method(problem, method, control, seed, start, settings, stats);
        detail::relabel(labels);
        // KL and anytime report the exact objective of what they return; GAEC does not.
        obj = std::isnan(stats.objective) ? objective(problem, labels) : stats.objective;
    }
    return result(labels, obj, control, stats.iterations);
}

// The result when the time limit passed (or Ctrl-C came) while the sparse graph was still being
// built: the warm start, or all singletons, with its objective summed over the raw edge arrays.
py::dict unbuilt_result(Index n, const Index* uv, const double* cost, Index m, Control& control, const Labels* start) {
    Labels labels;
    if (start) {
        labels = *start;
    } else {
        labels.resize(static_cast<size_t>(n));
        for (Index v = 0; v < n; ++v) labels[static_cast<size_t>(v)] = v;
    }
    double obj = 0.0;
    {
        py::gil_scoped_release release;
        for (Index k = 0; k < m; ++k)
            if (labels[static_cast<size_t>(uv[2 * k])] != labels[static_cast<size_t>(uv[2 * k + 1])]) obj += cost[k];
        detail::relabel(labels);
    }
    return result(labels, obj, control, 0);
}

}  // namespace

void init_heuristics(py::module_& m) {
    py::class_<KlOptions> kl(m, "KLOptions", "Settings of Kernighan-Lin (method 'kl'; also used inside 'anytime').");
    kl.def_readwrite("patience", &KlOptions::patience,
                     "A move sequence stops after this many steps without a new best prefix (default 48;\n"
                     "complete graphs: sparse graphs use revisit_patience).")
        .def_readwrite("min_improvement", &KlOptions::min_improvement,
                       "A move sequence, join or pass must gain more than this times max(1, largest absolute cost)\n"
                       "to be applied (default 1e-9; relative, so rounding noise on huge costs never counts).")
        .def_readwrite("revisit", &KlOptions::revisit,
                       "Sparse graphs: after border-only sequences, revisit every pair with sequences limited by\n"
                       "revisit_patience (default True; False: faster, usually a little worse).")
        .def_readwrite("revisit_patience", &KlOptions::revisit_patience,
                       "Sparse graphs, second phase: a sequence stops after this many steps without a new best\n"
                       "prefix (default 4).")
        .def_readwrite("threads", &KlOptions::threads,
                       "Complete graphs: threads of GAEC (default 0: as many as the hardware has, at most 2). The\n"
                       "labels are the same for every value; sparse graphs ignore it.")
        .def_readwrite("sparse_threads", &KlOptions::sparse_threads,
                       "Sparse graphs: threads that evaluate the pairs of a pass ahead of it (default 1; 0: up to\n"
                       "4, as many as the machine has); the labels do not depend on it.")
        .def_readwrite("final_split", &KlOptions::final_split,
                       "Sparse graphs: after the second phase, offer every cluster of 4-256 nodes a split in which all\n"
                       "of its nodes stay candidates (default True: never worse, a few % more CPU; False: the\n"
                       "labels of versions before session 11).")
        .def_readwrite("polish_max_nodes", &KlOptions::polish_max_nodes,
                       "Sparse graphs, opt-in: after the final split pass, revisit every pair of neighbouring\n"
                       "clusters with at most this many nodes together with sequences limited by patience\n"
                       "(default 0: off; 200 when on). Never worse than off; lower on about 40 % of generated\n"
                       "sparse graphs for 1.15-1.6x the time of GAEC + KL (docs/solvers.md).");
    bind::options_protocol(kl, {"patience", "min_improvement", "revisit", "revisit_patience", "threads",
                                "sparse_threads", "final_split", "polish_max_nodes"});

    py::class_<AnytimeOptions> any(m, "AnytimeOptions", "Settings of the anytime solver (method 'anytime').");
    any.def_readwrite("max_rounds_without_improvement", &AnytimeOptions::max_rounds_without_improvement,
                      "Without a time limit: stop after this many rounds without a better labelling (default\n"
                      "12). With one (and until_time_limit): after this many such rounds exact fusion starts.")
        .def_readwrite("max_rounds", &AnytimeOptions::max_rounds,
                       "Without a time limit: stop after this many rounds in all (default 10000).")
        .def_readwrite("until_time_limit", &AnytimeOptions::until_time_limit,
                       "With a time limit, keep improving until it (default True); False: the round counts\n"
                       "stop the run too, as without a limit.")
        .def_readwrite("exact_fusion", &AnytimeOptions::exact_fusion,
                       "With a time limit (and until_time_limit): once stalled, each round also fuses the incumbent with several\n"
                       "recent proposals by the exact solver (default True).")
        .def_readwrite("exact_fusion_share", &AnytimeOptions::exact_fusion_share,
                       "Each exact fusion gets at most this share of the remaining time (default 0.25).")
        .def_readwrite("kl", &AnytimeOptions::kl, "KLOptions of the Kernighan-Lin runs inside.")
        .def_property(
            "window_nodes", [](const AnytimeOptions& o) { return o.window_nodes; },
            [](AnytimeOptions& o, Index w) {
                if (w < -1) throw py::value_error("window_nodes must be >= -1 (-1: automatic)");
                o.window_nodes = w;
            },
            "Sparse graphs of more than 2 x this many nodes: every round re-solves one breadth-first\n"
            "window of this many nodes (with the clusters next to it) by a nested anytime run, the rest\n"
            "held fixed. -1 (default): windows of 10,000 nodes on sparse graphs of at least 200,000 nodes\n"
            "under a time limit; 0: global rounds only (docs/solvers.md).")
        .def_property(
            "window_seconds", [](const AnytimeOptions& o) { return o.window_seconds; },
            [](AnytimeOptions& o, double s) {
                if (!(s > 0.0)) throw py::value_error("window_seconds must be > 0");
                o.window_seconds = s;
            },
            "With a time limit, each window's nested anytime run gets this many seconds (default 1.0).");
    bind::options_protocol(any, {"max_rounds_without_improvement", "max_rounds", "until_time_limit", "exact_fusion",
                                 "exact_fusion_share", "kl", "window_nodes", "window_seconds"});

    m.def(
        "solve_dense",
        [](const F64Array& costs, const std::string& method, const py::object& time_limit, std::uint64_t seed,
           const py::object& warm_start, const py::object& progress, const py::object& options) {
            const Index n = bind::check_square(costs);
            const DenseView view{costs.data(), n};
            const Method meth = parse_method(method);
            const Settings settings = read_options(meth, options);
            Labels start;
            const bool has_start = bind::read_labels(warm_start, n, start, "warm_start");
            auto control = bind::make_control(time_limit, progress);
            return solve(view, meth, *control, seed, has_start ? &start : nullptr, settings);
        },
        py::arg("costs"), py::arg("method"), py::arg("time_limit") = py::none(), py::arg("seed") = 0,
        py::arg("warm_start") = py::none(), py::arg("progress") = py::none(), py::arg("options") = py::none(),
        "Correlation clustering of a complete graph given as a symmetric (n, n) float64 cost matrix\n"
        "(minimise the cost of cut pairs; the diagonal is ignored) by 'gaec', 'kl' (GAEC then\n"
        "Kernighan-Lin, or KL from warm_start) or 'anytime'. options: KLOptions ('kl'),\n"
        "AnytimeOptions ('anytime') or None. Returns a dict with labels, objective, status\n"
        "('heuristic' | 'time_limit'), runtime and iterations. Ctrl-C raises KeyboardInterrupt.");
    m.def(
        "solve_sparse",
        [](Index n, const I64Array& edges, const F64Array& costs, const std::string& method,
           const py::object& time_limit, std::uint64_t seed, const py::object& warm_start, const py::object& progress,
           const py::object& options) {
            bind::check_n(n);
            const Method meth = parse_method(method);  // bad arguments fail before any work
            const Settings settings = read_options(meth, options);
            Labels start;
            const bool has_start = bind::read_labels(warm_start, n, start, "warm_start");
            auto control = bind::make_control(time_limit, progress);  // the clock starts here
            const Index mm = bind::check_edges(n, edges, costs);
            const Index* e = edges.data();  // read in place: no copy of the edge array
            SparseGraph g;
            {
                py::gil_scoped_release release;
                g = SparseGraph::from_edge_pairs(n, e, costs.data(), mm, control.get());
            }
            const Labels* first = has_start ? &start : nullptr;
            if (control->stopped()) return unbuilt_result(n, e, costs.data(), mm, *control, first);
            return solve(g, meth, *control, seed, first, settings);
        },
        py::arg("n"), py::arg("edges"), py::arg("costs"), py::arg("method"), py::arg("time_limit") = py::none(),
        py::arg("seed") = 0, py::arg("warm_start") = py::none(), py::arg("progress") = py::none(),
        py::arg("options") = py::none(),
        "Correlation clustering of a sparse graph: n nodes, int64 edges (m, 2), float64 costs (m,),\n"
        "parallel edges summed. Methods, options and result as solve_dense.");

    m.def(
        "solve_background",
        [](Index n, const I64Array& edges, const F64Array& costs, double background, const std::string& method,
           const py::object& time_limit, const py::object& warm_start, const py::object& progress) {
            bind::check_n(n);
            if (!(background <= 0.0))
                throw py::value_error("background must be a number <= 0 (a repulsive cost), got " +
                                      std::to_string(background));
            if (method != "gaec" && method != "moves")
                throw py::value_error("unknown background method '" + method + "' (expected 'gaec' or 'moves')");
            Labels start;
            const bool has_start = bind::read_labels(warm_start, n, start, "warm_start");
            auto control = bind::make_control(time_limit, progress);
            const Index mm = bind::check_edges(n, edges, costs);
            Labels labels;
            double obj = 0.0;
            HeuristicStats stats;
            {
                py::gil_scoped_release release;
                const SparseGraph g = SparseGraph::from_edge_pairs(n, edges.data(), costs.data(), mm, control.get());
                if (control->stopped()) {  // stopped while building: the start, or singletons
                    labels = start;
                    if (!has_start) {
                        labels.resize(static_cast<size_t>(n));
                        for (Index v = 0; v < n; ++v) labels[static_cast<size_t>(v)] = v;
                    }
                    detail::relabel(labels);
                    const SparseGraph h = SparseGraph::from_edge_pairs(n, edges.data(), costs.data(), mm);
                    obj = background_objective(h, background, labels);
                } else {
                    if (method == "gaec" || !has_start)
                        labels = gaec_background(g, background, *control, has_start ? &start : nullptr, &stats);
                    else
                        labels = start;
                    const std::int64_t joins = stats.iterations;
                    if (method == "moves") {
                        obj = background_moves(g, background, labels, *control, &stats);
                        if (!has_start) stats.iterations += joins;
                    } else {
                        obj = background_objective(g, background, labels);
                    }
                }
            }
            return result(labels, obj, *control, stats.iterations);
        },
        py::arg("n"), py::arg("edges"), py::arg("costs"), py::arg("background"), py::arg("method") = "moves",
        py::arg("time_limit") = py::none(), py::arg("warm_start") = py::none(), py::arg("progress") = py::none(),
        "Correlation clustering of a sparse graph in which every pair that is not an edge costs\n"
        "`background` (<= 0): 'gaec' (GAEC under that model, from warm_start's clusters when given) or\n"
        "'moves' (GAEC, or warm_start, then node moves alternating with joins). The objective is the\n"
        "model's: cut edges + background x (cut pairs - cut edges). Result as solve_sparse.");
}
