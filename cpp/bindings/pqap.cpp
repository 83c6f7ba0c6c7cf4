// Bindings for the pqap area (to be filled by its owner).
#include <pybind11/pybind11.h>

namespace py = pybind11;

void init_pqap(py::module_& m) { (void)m; }
