// Bindings for problem-level helpers: objective evaluation of a labelling.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

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
            const Index* e = edges.data();
            std::vector<Index> u(mm), v(mm);
            for (Index k = 0; k < mm; ++k) { u[k] = e[2 * k]; v[k] = e[2 * k + 1]; }
            Labels l = to_labels(labels);
            py::gil_scoped_release release;
            const SparseGraph g = SparseGraph::from_edges(n, u.data(), v.data(), costs.data(), mm);
            return objective(g, l);
        },
        py::arg("n"), py::arg("edges"), py::arg("costs"), py::arg("labels"),
        "Sum of the costs of the cut edges of a labelling on a sparse graph (parallel edges summed).");
}
