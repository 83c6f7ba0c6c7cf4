// Bindings for problem-level helpers: corrclust._core.problem.objective_dense / objective_sparse.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "bind_common.hpp"
#include "corrclust/problem.hpp"

namespace py = pybind11;
using namespace corrclust;
using bind::F64Array;
using bind::I64Array;

namespace {

Labels read_required_labels(const py::object& labels, Index n) {
    Labels l;
    if (!bind::read_labels(labels, n, l, "labels")) throw py::value_error("labels must not be None");
    return l;
}

}  // namespace

void init_problem(py::module_& m) {
    m.def(
        "objective_dense",
        [](const F64Array& costs, const py::object& labels) {
            const Index n = bind::check_square(costs, false);
            const DenseView view{costs.data(), n};
            const Labels l = read_required_labels(labels, n);
            py::gil_scoped_release release;
            return objective(view, l);
        },
        py::arg("costs"), py::arg("labels"),
        "Sum of the costs of the cut edges of a labelling on a dense n x n cost matrix.");
    m.def(
        "objective_sparse",
        [](Index n, const I64Array& edges, const F64Array& costs, const py::object& labels) {
            const Index mm = bind::check_edges(n, edges, costs, false);
            const Labels l = read_required_labels(labels, n);
            py::gil_scoped_release release;
            const SparseGraph g = SparseGraph::from_edge_pairs(n, edges.data(), costs.data(), mm);
            return objective(g, l);
        },
        py::arg("n"), py::arg("edges"), py::arg("costs"), py::arg("labels"),
        "Sum of the costs of the cut edges of a labelling on a sparse graph (parallel edges summed).");
    m.def(
        "canonical_edges",
        [](Index n, const I64Array& edges, const F64Array& costs) {
            const Index mm = bind::check_edges(n, edges, costs);
            SparseGraph g;
            {
                py::gil_scoped_release release;
                g = SparseGraph::canonical_edge_pairs(n, edges.data(), costs.data(), mm);
            }
            const Index k = g.num_edges();
            py::array_t<std::int64_t> out_edges({static_cast<py::ssize_t>(k), py::ssize_t{2}});
            py::array_t<double> out_costs(static_cast<py::ssize_t>(k));
            std::int64_t* e = out_edges.mutable_data();
            double* c = out_costs.mutable_data();
            {
                py::gil_scoped_release release;
                for (Index i = 0; i < k; ++i) {
                    e[2 * i] = g.edge_u[static_cast<size_t>(i)];
                    e[2 * i + 1] = g.edge_v[static_cast<size_t>(i)];
                }
                std::copy(g.edge_cost.begin(), g.edge_cost.end(), c);
            }
            return py::make_tuple(out_edges, out_costs);
        },
        py::arg("n"), py::arg("edges"), py::arg("costs"),
        "The distinct edges (u < v, sorted by (u, v); int64 (k, 2)) and their summed costs (float64 (k,))\n"
        "of an edge list with parallel edges in either orientation.");
}
