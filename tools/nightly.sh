#!/usr/bin/env bash
# The checks too long for every CI run (.ci/run), for a nightly job on the same kind of machine:
#   1. the property tests with many more examples (hypothesis profile "nightly": solvers and every
#      file reader), and the longer twin train fault run (SIGKILL and SIGINT, CORRCLUST_FAULTS_FULL=1);
#   2. the manylinux wheel: built, repaired, installed into a fresh venv and tested there
#      (tools/build_wheel.sh; about 10 minutes of two cores, since it runs the whole suite again);
#   3. the sdist installed offline (tools/check_sdist.sh);
#   4. the C++ core under AddressSanitizer and UndefinedBehaviorSanitizer (tools/run_sanitizers.sh).
#
#   tools/nightly.sh [OUTDIR]     (default: build/nightly)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/nightly}
mkdir -p "$out"
python=${PYTHON:-.venv/bin/python}
HYPOTHESIS_PROFILE=nightly "$python" -m pytest -q tests/test_properties.py tests/test_properties_readers.py \
  tests/test_properties_readers_tables.py
CORRCLUST_FAULTS_FULL=1 "$python" -m pytest -q tests/test_faults.py -k twin
bash tools/build_wheel.sh "$out/wheel"
bash tools/check_sdist.sh "$out/sdist"
bash tools/run_sanitizers.sh "$out/asan-venv"
