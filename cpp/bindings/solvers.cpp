// Bindings for the primal heuristics: _core.solve_dense and _core.solve_sparse.
//
// Arguments are converted (without copying a C-contiguous float64 cost matrix) while the GIL is
// held; the solve runs with the GIL released and polls Ctrl-C, the time limit and the progress
// callback through the Control built by make_control. An interrupt raises KeyboardInterrupt once
// the GIL is back; a time limit returns the best labelling found with status "time_limit".
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "control_binding.hpp"
#include "corrclust/heuristics.hpp"
#include "corrclust/heuristics_detail.hpp"
#include "corrclust/problem.hpp"

namespace py = pybind11;
using namespace corrclust;

namespace {

using DenseArray = py::array_t<double, py::array::c_style | py::array::forcecast>;
using IndexArray = py::array_t<Index, py::array::c_style | py::array::forcecast>;

enum class Method { gaec, kl, anytime };

Method parse_method(const std::string& m) {
    if (m == "gaec") return Method::gaec;
    if (m == "kl") return Method::kl;
    if (m == "anytime") return Method::anytime;
    throw py::value_error("unknown heuristic method '" + m + "' (expected 'gaec', 'kl' or 'anytime')");
}

bool read_warm_start(const py::object& warm_start, Index n, Labels& out) {
    if (warm_start.is_none()) return false;
    const IndexArray a = warm_start.cast<IndexArray>();
    if (a.ndim() != 1 || a.shape(0) != n)
        throw py::value_error("warm_start must be an integer array of shape (" + std::to_string(n) + ",)");
    out.assign(a.data(), a.data() + n);
    return true;
}

template <class Problem>
Labels run_method(const Problem& problem, Method method, Control& control, std::uint64_t seed,
                  const Labels* start, HeuristicStats& stats) {
    switch (method) {
        case Method::gaec:
            return gaec_ex(problem, control, start, &stats);
        case Method::kl: {
            Labels labels;
            if (start) {
                labels = *start;
            } else {
                labels = gaec_ex(problem, control, nullptr, nullptr);
            }
            kernighan_lin_ex(problem, labels, control, &stats);  // sets stats.objective
            return labels;
        }
        case Method::anytime:
        default:
            return anytime_ex(problem, control, seed, start, &stats);
    }
}

py::dict result(const Labels& labels, double objective_value, Control& control, std::int64_t iterations) {
    bind::rethrow_pending();  // KeyboardInterrupt, or an exception raised by the progress callback
    const double runtime = control.elapsed();
    py::array_t<Index> out(static_cast<py::ssize_t>(labels.size()));
    std::copy(labels.begin(), labels.end(), out.mutable_data());
    const StopReason reason = control.reason();
    py::dict d;
    d["labels"] = out;
    d["objective"] = objective_value;
    d["status"] = reason == StopReason::none ? "heuristic" : to_string(reason);
    d["runtime"] = runtime;
    d["iterations"] = iterations;
    return d;
}

// `control` is made by the caller before it builds the problem, so the time limit (and the reported
// runtime) also covers building a sparse graph from the arrays.
template <class Problem>
py::dict solve(const Problem& problem, Method method, Control& control, std::uint64_t seed, const Labels* start) {
    Labels labels;
    double obj = 0.0;
    HeuristicStats stats;
    {
        py::gil_scoped_release release;
        labels = run_method(problem, method, control, seed, start, stats);
        detail::relabel(labels);
        // KL and anytime report the exact objective of what they return; GAEC does not.
        obj = std::isnan(stats.objective) ? objective(problem, labels) : stats.objective;
    }
    return result(labels, obj, control, stats.iterations);
}

// The result when the time limit passed (or Ctrl-C came) while the sparse graph was still being
// built: the warm start, or all singletons, with its objective summed over the raw edge arrays.
py::dict unbuilt_result(Index n, const Index* uv, const double* cost, Index m, Control& control,
                        const Labels* start) {
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

void init_solvers(py::module_& m) {
    m.def(
        "solve_dense",
        [](const DenseArray& costs, const std::string& method, const py::object& time_limit, std::uint64_t seed,
           const py::object& warm_start, const py::object& progress) {
            if (costs.ndim() != 2 || costs.shape(0) != costs.shape(1))
                throw py::value_error("costs must be a square (n, n) matrix");
            const DenseView view{costs.data(), static_cast<Index>(costs.shape(0))};
            const Method meth = parse_method(method);
            Labels start;
            const bool has_start = read_warm_start(warm_start, view.n, start);
            auto control = bind::make_control(time_limit, progress);
            return solve(view, meth, *control, seed, has_start ? &start : nullptr);
        },
        py::arg("costs"), py::arg("method"), py::arg("time_limit") = py::none(), py::arg("seed") = 0,
        py::arg("warm_start") = py::none(), py::arg("progress") = py::none(),
        "Correlation clustering of a complete graph given as a symmetric (n, n) float64 cost matrix\n"
        "(minimise the cost of cut pairs; the diagonal is ignored) by 'gaec', 'kl' (GAEC then\n"
        "Kernighan-Lin, or KL from warm_start) or 'anytime'. Returns a dict with labels, objective,\n"
        "status ('heuristic' | 'time_limit' | 'interrupted'), runtime and iterations.");
    m.def(
        "solve_sparse",
        [](Index n, const IndexArray& edges, const DenseArray& costs, const std::string& method,
           const py::object& time_limit, std::uint64_t seed, const py::object& warm_start,
           const py::object& progress) {
            const Index mm = static_cast<Index>(costs.size());
            if (n < 0) throw py::value_error("n must be >= 0");
            const Method meth = parse_method(method);  // bad arguments fail before any work
            Labels start;
            const bool has_start = read_warm_start(warm_start, n, start);
            auto control = bind::make_control(time_limit, progress);  // the clock starts here
            if (costs.ndim() != 1 || edges.ndim() != 2 || edges.shape(1) != 2 || edges.shape(0) != mm)
                throw py::value_error("edges must have shape (m, 2) and costs shape (m,)");
            const Index* e = edges.data();  // read in place: no copy of the edge array
            for (Index k = 0; k < mm; ++k) {
                const Index a = e[2 * k], b = e[2 * k + 1];
                if (a < 0 || a >= n || b < 0 || b >= n || a == b)
                    throw py::value_error("edge " + std::to_string(k) + " is a self-loop or out of range");
            }
            SparseGraph g;
            {
                py::gil_scoped_release release;
                g = SparseGraph::from_edge_pairs(n, e, costs.data(), mm, control.get());
            }
            const Labels* first = has_start ? &start : nullptr;
            if (control->stopped()) return unbuilt_result(n, e, costs.data(), mm, *control, first);
            return solve(g, meth, *control, seed, first);
        },
        py::arg("n"), py::arg("edges"), py::arg("costs"), py::arg("method"), py::arg("time_limit") = py::none(),
        py::arg("seed") = 0, py::arg("warm_start") = py::none(), py::arg("progress") = py::none(),
        "Correlation clustering of a sparse graph: n nodes, int64 edges (m, 2), float64 costs (m,),\n"
        "parallel edges summed. Methods and result as solve_dense.");
}
