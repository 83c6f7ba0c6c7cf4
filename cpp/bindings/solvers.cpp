// Bindings for the solvers area (to be filled by its owner).
#include <pybind11/pybind11.h>

namespace py = pybind11;

void init_solvers(py::module_& m) { (void)m; }
