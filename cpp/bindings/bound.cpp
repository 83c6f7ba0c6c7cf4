// Bindings for the dual lower bound: corrclust._core.bound (lower_bound_sparse, lower_bound_dense
// and the option struct BoundOptions). Arrays are checked with the GIL held; the graph is built and
// the bound computed with it released, polling Ctrl-C and the time limit (cpp/src/dual_bound.cpp).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "bind_common.hpp"
#include "control_binding.hpp"
#include "corrclust/dual_bound.hpp"
#include "corrclust/problem.hpp"

namespace py = pybind11;
using namespace corrclust;
using bind::F64Array;
using bind::I64Array;

namespace {

BoundOptions read_options(const py::object& options) {
    if (options.is_none()) return {};
    if (!py::isinstance<BoundOptions>(options))
        throw py::type_error("options must be BoundOptions or None, got " +
                             std::string(py::str(py::type::of(options).attr("__name__"))));
    BoundOptions o = options.cast<BoundOptions>();
    try {
        validate(o);
    } catch (const std::invalid_argument& e) {
        throw py::value_error(e.what());
    }
    return o;
}

py::dict result(const BoundResult& r, Control& control) {
    bind::rethrow_pending();
    py::dict d;
    d["lower_bound"] = r.lower_bound;
    d["trivial_bound"] = r.trivial_bound;
    d["status"] = control.reason() == StopReason::none ? "converged" : to_string(control.reason());
    d["runtime"] = control.elapsed();
    d["rounds"] = r.rounds;
    d["cycles"] = r.cycles;
    d["triangles"] = r.triangles;
    d["chords"] = r.chords;
    d["parts"] = r.parts;
    return d;
}

// The trivial bound (sum of the negative costs) of a graph whose build was stopped.
BoundResult trivial(const double* cost, Index m) {
    BoundResult r;
    for (Index k = 0; k < m; ++k) r.trivial_bound += cost[k] < 0 ? cost[k] : 0.0;
    r.lower_bound = r.trivial_bound;
    return r;
}

}  // namespace

void init_bound(py::module_& m) {
    py::class_<BoundOptions> opt(m, "BoundOptions", "Settings of the dual lower bound.");
    opt.def_readwrite("max_cycle_length", &BoundOptions::max_cycle_length,
                      "Longest cycle (in edges) the separation looks for (default 12, >= 3).")
        .def_readwrite("max_rounds", &BoundOptions::max_rounds,
                       "Rounds of cycle packing + message passing (default 200).")
        .def_readwrite("passes_per_round", &BoundOptions::passes_per_round,
                       "Message-passing sweeps over all triangles per round, twice that once cycles reach "
                       "max_cycle_length (default 10).")
        .def_readwrite("min_relative_gain", &BoundOptions::min_relative_gain,
                       "A round gaining less than this share of the magnitude of the bound counts as stalled (default 1e-6).")
        .def_readwrite("patience", &BoundOptions::patience, "Stop after this many stalled rounds (default 3).")
        .def_readwrite("threads", &BoundOptions::threads,
                       "Threads (0: as many as the hardware has, at most 2); the bound does not depend on it.")
        .def_readwrite("parts", &BoundOptions::parts,
                       "Parts searched and swept side by side: 0 (default) two on large graphs that split well by\n"
                       "node number (>= 200,000 edges, <= 1 % across the middle), else one; 1 or 2 force it.");
    bind::options_protocol(opt, {"max_cycle_length", "max_rounds", "passes_per_round", "min_relative_gain", "patience",
                                 "threads", "parts"});

    m.def(
        "lower_bound_sparse",
        [](Index n, const I64Array& edges, const F64Array& costs, const py::object& time_limit,
           const py::object& progress, const py::object& options) {
            const BoundOptions o = read_options(options);
            auto control = bind::make_control(time_limit, progress);
            const Index mm = bind::check_edges(n, edges, costs);
            if (n > (Index{1} << 32)) throw py::value_error("the dual bound takes at most 2^32 nodes");
            BoundResult r;
            {
                py::gil_scoped_release release;
                const SparseGraph g = SparseGraph::from_edge_pairs(n, edges.data(), costs.data(), mm, control.get());
                r = control->stopped() ? trivial(costs.data(), mm) : dual_lower_bound(g, *control, o);
            }
            return result(r, *control);
        },
        py::arg("n"), py::arg("edges"), py::arg("costs"), py::arg("time_limit") = py::none(),
        py::arg("progress") = py::none(), py::arg("options") = py::none(),
        "A proven lower bound on the minimum cost of a multicut of a sparse graph (n nodes, int64\n"
        "edges (m, 2), float64 costs (m,), parallel edges summed), by cycle packing and message\n"
        "passing on the cycle relaxation. Returns a dict with lower_bound, trivial_bound (the sum of\n"
        "the negative costs), status ('converged' | 'time_limit'), runtime, rounds, cycles,\n"
        "triangles and chords. Stopped early it still returns a valid bound.");
    m.def(
        "lower_bound_dense",
        [](const F64Array& costs, const py::object& time_limit, const py::object& progress,
           const py::object& options) {
            const BoundOptions o = read_options(options);
            const Index n = bind::check_square(costs);
            auto control = bind::make_control(time_limit, progress);
            BoundResult r;
            {
                py::gil_scoped_release release;
                // the graph of the nonzero costs above the diagonal, already in (u, v) order
                std::vector<Index> uv;
                std::vector<double> c;
                const double* a = costs.data();
                for (Index i = 0; i < n && !control->stop(); ++i)
                    for (Index j = i + 1; j < n; ++j)
                        if (a[i * n + j] != 0.0) {
                            uv.push_back(i);
                            uv.push_back(j);
                            c.push_back(a[i * n + j]);
                        }
                const Index mm = static_cast<Index>(c.size());
                SparseGraph g;
                if (!control->stopped()) g = SparseGraph::from_edge_pairs(n, uv.data(), c.data(), mm, control.get());
                if (!control->stopped()) {
                    r = dual_lower_bound(g, *control, o);
                } else {  // stopped while gathering the edges: the trivial bound of the whole matrix
                    for (Index i = 0; i < n; ++i)
                        for (Index j = i + 1; j < n; ++j) r.trivial_bound += std::min(0.0, a[i * n + j]);
                    r.lower_bound = r.trivial_bound;
                }
            }
            return result(r, *control);
        },
        py::arg("costs"), py::arg("time_limit") = py::none(), py::arg("progress") = py::none(),
        py::arg("options") = py::none(),
        "The bound of lower_bound_sparse on the graph of the nonzero costs of a symmetric (n, n)\n"
        "matrix (the diagonal ignored).");
}
