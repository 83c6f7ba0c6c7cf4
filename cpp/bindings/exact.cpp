// Bindings for the exact area (to be filled by its owner).
#include <pybind11/pybind11.h>

namespace py = pybind11;

void init_exact(py::module_& m) { (void)m; }
