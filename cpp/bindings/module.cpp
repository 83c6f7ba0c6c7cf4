// The single extension module corrclust._core, one submodule per area, each registered from its own
// translation unit: problem (problem.cpp), heuristics (heuristics.cpp), exact (exact.cpp), pqap
// (pqap.cpp) and bound (bound.cpp). python/corrclust/_core.pyi types them.
#include <pybind11/pybind11.h>

namespace py = pybind11;

void init_problem(py::module_& m);
void init_heuristics(py::module_& m);
void init_exact(py::module_& m);
void init_pqap(py::module_& m);
void init_bound(py::module_& m);

#define CORRCLUST_STRINGIFY(x) #x
#define CORRCLUST_MACRO_STRINGIFY(x) CORRCLUST_STRINGIFY(x)

PYBIND11_MODULE(_core, m) {
    m.doc() = "corrclust C++ core: correlation-clustering solvers and PQAP matching";
#ifdef VERSION_INFO
    m.attr("__version__") = CORRCLUST_MACRO_STRINGIFY(VERSION_INFO);
#else
    m.attr("__version__") = "dev";
#endif
    py::module_ problem = m.def_submodule("problem", "Objective of a labelling (dense and sparse).");
    init_problem(problem);
    py::module_ heuristics = m.def_submodule("heuristics", "GAEC, Kernighan-Lin and the anytime solver.");
    init_heuristics(heuristics);  // defines KLOptions, used by exact.ExactOptions
    py::module_ exact = m.def_submodule("exact", "Exact branch-and-cut solver and its reductions (HiGHS).");
    init_exact(exact);
    py::module_ pqap = m.def_submodule("pqap", "PQAP key-point matching: cost model and all-pairs sweeps.");
    init_pqap(pqap);
    py::module_ bound = m.def_submodule("bound", "Dual lower bound by cycle packing and message passing.");
    init_bound(bound);
}
