// The single extension module corrclust._core. Each area registers its functions from its own
// translation unit (problem.cpp, solvers.cpp, exact.cpp, pqap.cpp).
#include <pybind11/pybind11.h>

namespace py = pybind11;

void init_problem(py::module_& m);
void init_solvers(py::module_& m);
void init_exact(py::module_& m);
void init_pqap(py::module_& m);

#define CORRCLUST_STRINGIFY(x) #x
#define CORRCLUST_MACRO_STRINGIFY(x) CORRCLUST_STRINGIFY(x)

PYBIND11_MODULE(_core, m) {
    m.doc() = "corrclust C++ core: correlation-clustering solvers and PQAP matching";
#ifdef VERSION_INFO
    m.attr("__version__") = CORRCLUST_MACRO_STRINGIFY(VERSION_INFO);
#else
    m.attr("__version__") = "dev";
#endif
    init_problem(m);
    init_solvers(m);
    init_exact(m);
    init_pqap(m);
}
