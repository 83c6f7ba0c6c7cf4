// Bindings for the PQAP area, corrclust._core.pqap: the cost model (e_opt), single-pair matching and
// threaded all-pairs sweeps (OrganoidSet).
// Arrays are borrowed without copies where possible; long calls release the GIL, and sweeps poll
// Ctrl-C and report progress from the calling (main) thread while worker threads solve pairs.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

#include "bind_common.hpp"
#include "control_binding.hpp"
#include "corrclust/control.hpp"
#include "corrclust/pqap/all_pairs.hpp"
#include "corrclust/pqap/cost.hpp"
#include "corrclust/pqap/reference.hpp"

namespace py = pybind11;
using namespace corrclust;
using namespace corrclust::pqap;

namespace {

using RowsArray = bind::F64Array;
using IntArray = bind::I32Array;

PointList to_points(const RowsArray& a, const char* what) {
    if (a.ndim() != 2 || a.shape(1) != kNumFields)
        throw py::value_error(std::string(what) + " must have shape (k, 13)");
    return PointList::from_rows(a.data(), static_cast<int>(a.shape(0)));
}

CostParams to_params(const std::vector<double>& p, bool lower_wrap) {
    if (p.size() != 5) throw py::value_error("expected the five PQAP parameters");
    CostParams c;
    c.color_cost_offset = p[0];
    c.dist_cost_offset = p[1];
    c.angle_cost_offset = p[2];
    c.color_to_dist_weight = p[3];
    c.unary_to_quadr_weight = p[4];
    c.lower_wrap = lower_wrap;
    return c;
}

Mode to_mode(const std::string& mode) {
    if (mode == "reference") return Mode::reference;
    if (mode == "improved") return Mode::improved;
    throw py::value_error("mode must be 'reference' or 'improved', got '" + mode + "'");
}

py::array_t<int> to_array(const Assignment& x) { return bind::to_array<int>(x); }

py::dict result_dict(const MatchResult& r) {
    py::dict d;
    d["assignment"] = to_array(r.assignment);
    d["energy"] = r.energy;
    d["similarity"] = r.similarity;
    d["linear_by_feature"] = r.linear_by_feature;
    d["linear_by_candidate"] = r.linear_by_candidate;
    d["winner"] = r.winner;
    return d;
}

// The organoids of one key-point set, converted once and reused for many sweeps.
struct PqapSet {
    std::vector<Organoid> organoids;

    PqapSet(const std::vector<RowsArray>& features, const std::vector<RowsArray>& candidates) {
        if (features.size() != candidates.size())
            throw py::value_error("features and candidates lists differ in length");
        organoids.resize(features.size());
        for (std::size_t i = 0; i < features.size(); ++i) {
            organoids[i].features = to_points(features[i], "features");
            organoids[i].candidates = to_points(candidates[i], "candidates");
        }
    }
    const Organoid& at(int i) const {
        if (i < 0 || i >= static_cast<int>(organoids.size())) throw py::index_error("organoid index out of range");
        return organoids[i];
    }
};

}  // namespace

void init_pqap(py::module_& m) {
    m.def("e_opt", [](const std::vector<double>& p) { return e_opt(to_params(p, false)); }, py::arg("params"),
          "E_opt = -(1-lambda)(theta gamma_c + (1-theta) gamma_d) - lambda gamma_a.");

    py::class_<PqapSet>(m, "OrganoidSet", "Key points of many organoids, converted once for repeated matching.")
        .def(py::init<const std::vector<RowsArray>&, const std::vector<RowsArray>&>(), py::arg("features"),
             py::arg("candidates"))
        .def("__len__", [](const PqapSet& s) { return s.organoids.size(); })
        .def(
            "sizes",
            [](const PqapSet& s) {
                std::vector<std::pair<int, int>> v;
                for (const auto& o : s.organoids) v.emplace_back(o.features.size(), o.candidates.size());
                return v;
            },
            "(features, candidates) counts per organoid.")
        .def(
            "energy",
            [](const PqapSet& s, int a, int b, const std::vector<double>& p, bool lower_wrap, const IntArray& x) {
                const CostParams params = to_params(p, lower_wrap);
                const PairCost cost(s.at(a).features, s.at(b).candidates, params);
                MatchResult r;
                r.assignment.assign(x.data(), x.data() + x.size());
                if (static_cast<int>(r.assignment.size()) != cost.n())
                    throw py::value_error("assignment length must equal the feature count of A");
                for (int v : r.assignment)
                    if (v < -1 || v >= cost.m()) throw py::value_error("assignment entry out of range");
                {
                    py::gil_scoped_release release;
                    finish_result(cost, r);
                }
                return result_dict(r);
            },
            py::arg("a"), py::arg("b"), py::arg("params"), py::arg("lower_wrap"), py::arg("assignment"),
            "E, s and the linear ratios of a given assignment of features(a) -> candidates(b).")
        .def(
            "match",
            [](const PqapSet& s, int a, int b, const std::vector<double>& p, bool lower_wrap, const std::string& mode) {
                const CostParams params = to_params(p, lower_wrap);
                const Mode md = to_mode(mode);
                const Organoid& A = s.at(a);
                const Organoid& B = s.at(b);
                MatchResult r;
                {
                    py::gil_scoped_release release;
                    r = match_pair(A, B, params, md, nullptr);
                }
                return result_dict(r);
            },
            py::arg("a"), py::arg("b"), py::arg("params"), py::arg("lower_wrap") = false,
            py::arg("mode") = "reference", "Solve features(a) -> candidates(b).")
        .def(
            "heuristic",
            [](const PqapSet& s, int a, int b, const std::vector<double>& p, bool lower_wrap, char which,
               int best_angle) {
                const CostParams params = to_params(p, lower_wrap);
                const PairCost cost(s.at(a).features, s.at(b).candidates, params);
                HeuristicResult h;
                {
                    py::gil_scoped_release release;
                    if (which == 'A') h = heuristic_a(cost);
                    else if (which == 'B') h = heuristic_b(cost, best_angle);
                    else if (which == 'C') h = heuristic_c(cost);
                    else throw std::invalid_argument("heuristic must be 'A', 'B' or 'C'");
                }
                return py::make_tuple(to_array(h.assignment), h.best_angle);
            },
            py::arg("a"), py::arg("b"), py::arg("params"), py::arg("lower_wrap"), py::arg("which"),
            py::arg("best_angle") = 0, "Run one reference heuristic alone (for tests and diagnostics).")
        .def(
            "run_pairs",
            [](const PqapSet& s, const IntArray& pairs, const std::vector<double>& p, bool lower_wrap,
               const std::string& mode, int threads, py::array similarity, py::array energy, py::array done,
               bool want_assignments, const py::object& progress,
               double tick_interval) {
                const CostParams params = to_params(p, lower_wrap);
                const Mode md = to_mode(mode);
                if (pairs.ndim() != 2 || pairs.shape(1) != 2) throw py::value_error("pairs must have shape (k, 2)");
                const py::ssize_t k = pairs.shape(0);
                // Output arrays are written in place: they must already have the right dtype and layout
                // (a converted copy would silently drop the results).
                auto check = [k](const py::array& a, const py::dtype& dt, const char* name) {
                    if (!a.dtype().is(dt) || a.ndim() != 1 || a.shape(0) != k ||
                        !(a.flags() & py::array::c_style) || !a.writeable())
                        throw py::value_error(std::string(name) + " must be a writable contiguous " +
                                              std::string(py::str(dt)) + " array of length k");
                };
                check(similarity, py::dtype::of<double>(), "similarity");
                check(energy, py::dtype::of<double>(), "energy");
                check(done, py::dtype::of<std::uint8_t>(), "done");
                std::vector<PairTask> tasks(k);
                const int n_org = static_cast<int>(s.organoids.size());
                for (py::ssize_t i = 0; i < k; ++i) {
                    tasks[i].a = pairs.at(i, 0);
                    tasks[i].b = pairs.at(i, 1);
                    if (tasks[i].a < 0 || tasks[i].a >= n_org || tasks[i].b < 0 || tasks[i].b >= n_org)
                        throw py::value_error("pair index out of range");
                }
                SweepOutput out;
                out.similarity = static_cast<double*>(similarity.mutable_data());
                out.energy = static_cast<double*>(energy.mutable_data());
                out.done = static_cast<std::uint8_t*>(done.mutable_data());
                std::vector<Assignment> assignments;
                if (want_assignments) out.assignments = &assignments;
                Control control;  // no poll hook: the tick below polls Ctrl-C on this thread
                std::atomic<std::int64_t> finished{0};
                bool failed = false;
                auto tick = [&]() {
                    py::gil_scoped_acquire gil;
                    if (failed) return;
                    if (PyErr_CheckSignals() != 0) {
                        failed = true;
                        control.request_stop();
                        return;
                    }
                    if (!progress.is_none()) {
                        try {
                            progress(finished.load());
                        } catch (py::error_already_set& e) {
                            e.restore();
                            failed = true;
                            control.request_stop();
                        }
                    }
                };
                {
                    py::gil_scoped_release release;
                    run_pairs(s.organoids, tasks, params, md, threads, out, control, finished, tick, tick_interval);
                }
                bind::rethrow_pending();
                py::list result;
                if (want_assignments)
                    for (py::ssize_t i = 0; i < k; ++i)
                        result.append(out.done[i] ? py::object(to_array(assignments[i])) : py::object(py::none()));
                return result;
            },
            py::arg("pairs"), py::arg("params"), py::arg("lower_wrap"), py::arg("mode"), py::arg("threads"),
            py::arg("similarity"), py::arg("energy"), py::arg("done"), py::arg("want_assignments") = false,
            py::arg("progress") = py::none(), py::arg("tick_interval") = 0.1,
            "Solve the ordered pairs (rows of organoid indices a, b) on threads, writing into the given arrays; "
            "pairs with done != 0 are skipped. Ctrl-C stops within about a second (finished pairs stay done).");
}
