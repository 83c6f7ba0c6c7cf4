// What every binding file shares: the numpy array types, the input checks and the small protocol
// (keyword constructor, repr, equality) of the bound option structs. Checks raise ValueError with
// one line naming the argument; they run while the GIL is held, before any work starts.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "corrclust/problem.hpp"

namespace corrclust::bind {

namespace py = pybind11;

// C-contiguous inputs: a float64 array is borrowed without a copy; other dtypes are converted.
using F64Array = py::array_t<double, py::array::c_style | py::array::forcecast>;
using I64Array = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;
using I32Array = py::array_t<int, py::array::c_style | py::array::forcecast>;

static_assert(sizeof(Index) == sizeof(std::int64_t), "Index is the int64 of the edge arrays");

inline void check_n(Index n) {
    if (n < 0) throw py::value_error("n must be >= 0");
}

// A square (n, n) cost matrix; with `finite`, every entry above the diagonal (the ones read) is finite.
inline Index check_square(const F64Array& costs, bool finite = true) {
    if (costs.ndim() != 2 || costs.shape(0) != costs.shape(1))
        throw py::value_error("costs must be a square (n, n) matrix");
    const Index n = static_cast<Index>(costs.shape(0));
    if (finite) {
        const double* c = costs.data();
        for (Index i = 0; i < n; ++i)
            for (Index j = i + 1; j < n; ++j)
                if (!std::isfinite(c[i * n + j]))
                    throw py::value_error("cost (" + std::to_string(i) + ", " + std::to_string(j) + ") is not finite");
    }
    return n;
}

// Edges int64 (m, 2) with both ends in [0, n) and no self-loop; costs float64 (m,), finite with
// `finite`. Returns m.
inline Index check_edges(Index n, const I64Array& edges, const F64Array& costs, bool finite = true) {
    check_n(n);
    if (edges.ndim() != 2 || edges.shape(1) != 2) throw py::value_error("edges must have shape (m, 2)");
    if (costs.ndim() != 1 || costs.shape(0) != edges.shape(0))
        throw py::value_error("costs must have shape (m,) matching edges");
    const Index m = static_cast<Index>(edges.shape(0));
    const std::int64_t* e = edges.data();
    const double* c = costs.data();
    for (Index k = 0; k < m; ++k) {
        const std::int64_t a = e[2 * k], b = e[2 * k + 1];
        if (a < 0 || a >= n || b < 0 || b >= n)
            throw py::value_error("edge " + std::to_string(k) + " has a node index outside [0, n)");
        if (a == b) throw py::value_error("edge " + std::to_string(k) + " is a self-loop");
        if (finite && !std::isfinite(c[k]))
            throw py::value_error("cost of edge " + std::to_string(k) + " is not finite");
    }
    return m;
}

// Optional labels (None or an integer array of shape (n,)) named `what` in the error.
inline bool read_labels(const py::object& labels, Index n, Labels& out, const char* what) {
    if (labels.is_none()) return false;
    const I64Array a = labels.cast<I64Array>();
    if (a.ndim() != 1 || a.shape(0) != n)
        throw py::value_error(std::string(what) + " must be an integer array of shape (" + std::to_string(n) + ",)");
    out.assign(a.data(), a.data() + n);
    return true;
}

template <class T>
py::array_t<T> to_array(const std::vector<T>& v) {
    py::array_t<T> a(static_cast<py::ssize_t>(v.size()));
    std::copy(v.begin(), v.end(), a.mutable_data());
    return a;
}

// Options structs are bound once with def_readwrite; this adds a keyword constructor that rejects
// unknown names (KLOptions(patience=10)), a repr that shows every field, equality by fields and
// copying.
template <class T>
void options_protocol(py::class_<T>& cls, std::vector<std::string> fields) {
    py::tuple names(fields.size());
    for (size_t i = 0; i < fields.size(); ++i) names[i] = py::str(fields[i]);
    cls.attr("_fields") = names;
    cls.def(py::init([names](const py::kwargs& kw) {
                py::object obj = py::cast(T{});
                for (auto item : kw) {
                    const py::str key(item.first);
                    if (!names.contains(key))
                        throw py::type_error(std::string(py::str(py::type::of(obj).attr("__name__"))) +
                                             ": unknown option '" + std::string(key) + "'");
                    obj.attr(key) = item.second;
                }
                return obj.cast<T>();
            }),
            "Defaults for every field not given; an unknown name raises TypeError.");
    cls.def("__repr__", [names](const py::object& self) {
        std::string s = std::string(py::str(py::type::of(self).attr("__name__"))) + "(";
        for (size_t i = 0; i < names.size(); ++i) {
            if (i) s += ", ";
            s += std::string(py::str(names[i])) + "=" + std::string(py::repr(self.attr(names[i])));
        }
        return s + ")";
    });
    cls.def("__eq__", [names](const py::object& self, const py::object& other) {
        if (!py::type::of(self).is(py::type::of(other))) return false;
        for (auto name : names)
            if (!self.attr(name).equal(other.attr(name))) return false;
        return true;
    });
    cls.attr("__hash__") = py::none();
    // Plain value structs: a copy is a deep copy (scikit-learn's clone deep-copies parameters).
    cls.def("__copy__", [](const T& self) { return T(self); });
    cls.def("__deepcopy__", [](const T& self, const py::dict&) { return T(self); }, py::arg("memo"));
}

}  // namespace corrclust::bind
