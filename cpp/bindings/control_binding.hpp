// Glue between Python and corrclust::Control: a poll hook that checks for Ctrl-C and a progress
// hook that forwards dicts to a Python callable. Both take the GIL only for the moment they run,
// so solvers can run with the GIL released.
#pragma once

#include <pybind11/pybind11.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "corrclust/control.hpp"

namespace corrclust::bind {

namespace py = pybind11;

// The one time-limit rule (the same as corrclust.solve.check_time_limit): None or +inf is no limit,
// otherwise a number of seconds >= 0; 0 returns the first labelling a solver has (a warm start, or
// its cheapest result) at once. NaN and negative numbers are refused.
inline double to_time_limit(const py::object& time_limit) {
    if (time_limit.is_none()) return std::numeric_limits<double>::infinity();
    const double t = time_limit.cast<double>();
    if (!(t >= 0)) throw py::value_error("time_limit must be >= 0 seconds or None, got " + std::string(py::repr(time_limit)));
    return t;
}

// Builds a Control whose poll hook calls PyErr_CheckSignals (under the GIL). A Python error
// raised there (KeyboardInterrupt) is left set; every binding calls `rethrow_pending` once the GIL
// is back, so Ctrl-C raises KeyboardInterrupt from every solver (docs/solvers.md).
inline std::unique_ptr<Control> make_control(const py::object& time_limit, const py::object& progress,
                                             bool check_signals = true) {
    Control::PollFn poll;
    if (check_signals) {
        poll = []() {
            py::gil_scoped_acquire gil;
            // Stop on Ctrl-C, and also when an error (e.g. KeyboardInterrupt or any exception
            // raised inside the progress callback) is already pending.
            return PyErr_CheckSignals() != 0 || PyErr_Occurred() != nullptr;
        };
    }
    Control::ProgressFn prog;
    if (!progress.is_none()) {
        // Keep a reference for the lifetime of the Control.
        auto cb = std::make_shared<py::object>(progress);
        prog = [cb](const Progress& p) {
            py::gil_scoped_acquire gil;
            if (PyErr_Occurred()) return;  // an interrupt is already pending
            py::dict d;
            d["phase"] = p.phase;
            d["elapsed"] = p.elapsed_s;
            d["objective"] = p.objective;
            d["lower_bound"] = p.lower_bound;
            d["done"] = p.done;
            d["total"] = p.total;
            try {
                (*cb)(d);
            } catch (py::error_already_set& e) {
                e.restore();  // re-raised by rethrow_pending after the GIL is reacquired
            }
        };
    }
    return std::make_unique<Control>(to_time_limit(time_limit), std::move(poll), std::move(prog));
}

// After the GIL is reacquired: if a Python exception is pending (KeyboardInterrupt from the poll,
// or one raised inside a progress callback), raise it.
inline void rethrow_pending() {
    if (PyErr_Occurred()) throw py::error_already_set();
}

}  // namespace corrclust::bind
