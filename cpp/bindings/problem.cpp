// Bindings for problem-level helpers: objective evaluation of a labelling.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "corrclust/problem.hpp"

namespace py = pybind11;
using namespace corrclust;

using DenseArray = py::array_t<double, py::array::c_style | py::array::forcecast>;
using IndexArray = py::array_t<Index, py::array::c_style | py::array::forcecast>;

static Labels to_labels(const IndexArray& a) {
    return Labels(a.data(), a.data() + a.size());
}

void init_problem(py::module_& m) {
    m.def(
        "objective_dense",
        [](const DenseArray& costs, const IndexArray& labels) {
            const DenseView view{costs.data(), static_cast<Index>(costs.shape(0))};
            Labels l = to_labels(labels);
            py::gil_scoped_release release;
            return objective(view, l);
        },
        py::arg("costs"), py::arg("labels"),
        "Sum of the costs of the cut edges of a labelling on a dense n x n cost matrix.");
    m.def(
        "objective_sparse",
        [](Index n, const IndexArray& edges, const DenseArray& costs, const IndexArray& labels) {
            const Index mm = static_cast<Index>(costs.size());
            if (costs.ndim() != 1 || edges.ndim() != 2 || edges.shape(1) != 2 || edges.shape(0) != mm)
                throw py::value_error("edges must have shape (m, 2) and costs shape (m,)");
            if (labels.ndim() != 1 || labels.shape(0) != n)
                throw py::value_error("labels must have shape (" + std::to_string(n) + ",)");
            const Index* e = edges.data();
            for (Index k = 0; k < mm; ++k) {
                const Index a = e[2 * k], b = e[2 * k + 1];
                if (a < 0 || a >= n || b < 0 || b >= n || a == b)
                    throw py::value_error("edge " + std::to_string(k) + " is a self-loop or out of range");
            }
            Labels l = to_labels(labels);
            py::gil_scoped_release release;
            const SparseGraph g = SparseGraph::from_edge_pairs(n, edges.data(), costs.data(), mm);
            return objective(g, l);
        },
        py::arg("n"), py::arg("edges"), py::arg("costs"), py::arg("labels"),
        "Sum of the costs of the cut edges of a labelling on a sparse graph (parallel edges summed).");
}
