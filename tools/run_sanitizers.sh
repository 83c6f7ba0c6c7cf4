#!/usr/bin/env bash
# Build the C++ core and bindings with AddressSanitizer and UndefinedBehaviorSanitizer and run the
# tests that exercise them (solvers, exact, PQAP, problem building, bindings, property tests).
#
#   tools/run_sanitizers.sh [VENV_DIR]     (default: build/asan-venv)
#
# Python itself is not instrumented, so the sanitizer runtimes are preloaded; leak checking is off
# because the interpreter keeps its own allocations alive at exit (those reports are not ours).
# Exit status: that of pytest, non-zero on any sanitizer report (UB reports abort the process).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-build/asan-venv}
python3 -m venv "$venv"
venv=$(cd "$venv" && pwd)
"$venv/bin/pip" install -q --disable-pip-version-check \
  -Ccmake.define.CORRCLUST_SANITIZE=ON -Cbuild-dir=build/asan -Ccmake.build-type=RelWithDebInfo ".[test]"
asan=$(${CXX:-g++} -print-file-name=libasan.so)
ubsan=$(${CXX:-g++} -print-file-name=libubsan.so)
cd tests  # import the installed (instrumented) package, not the source tree
CORRCLUST_SANITIZED=1 LD_PRELOAD="$asan:$ubsan" \
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  "$venv/bin/python" -m pytest -q -p no:cacheprovider \
  test_problem.py test_solve.py test_heuristics.py test_gaec_reference.py test_exact.py \
  test_exact_reduce.py test_kl.py test_pqap_cost.py test_pqap_reference.py test_pqap_similarity.py \
  test_properties.py test_estimator.py test_solver_options.py test_constraints.py test_cost_range.py \
  test_background.py test_bound.py
