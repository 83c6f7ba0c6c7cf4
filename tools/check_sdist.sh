#!/usr/bin/env bash
# Build the sdist and prove that it builds and installs offline.
#
#   tools/check_sdist.sh OUTDIR
#
# 1. builds OUTDIR/corrclust-VERSION.tar.gz (python -m build --sdist) and lists what it holds;
# 2. makes a fresh venv with the build requirements and corrclust's runtime dependencies
#    (the only step that uses the package index);
# 3. installs the sdist with --no-index --no-build-isolation: nothing is downloaded, and the
#    version comes from the sdist's PKG-INFO since an unpacked sdist has no .git;
# 4. checks the installed version against the sdist's name and runs tests/test_package.py against
#    the install from another folder; prints the sdist's path as its last line.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: tools/check_sdist.sh OUTDIR" >&2
  exit 2
fi
REPO=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
WORK="$OUT/work"
PY=${CORRCLUST_WHEEL_PYTHON:-python3}
export PIP_DISABLE_PIP_VERSION_CHECK=1 CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2}
BUILD_REQS=("scikit-build-core>=0.10" "pybind11>=2.13" "highsbox>=1.13,<1.16" "setuptools-scm>=8")
mkdir -p "$WORK"
step() { echo "== $*" >&2; }

step "sdist"
SVENV="$WORK/sdist-venv"
[[ -x "$SVENV/bin/python" ]] || "$PY" -m venv "$SVENV"
"$SVENV/bin/pip" install -q build "${BUILD_REQS[@]}"
rm -f "$OUT"/corrclust-*.tar.gz
"$SVENV/bin/python" -m build --sdist --no-isolation --outdir "$OUT" "$REPO" >&2
sdist=$(ls "$OUT"/corrclust-*.tar.gz)
version=$(basename "$sdist" .tar.gz)
version=${version#corrclust-}
tar tzf "$sdist" | awk -F/ '{print $2}' | sort | uniq -c >&2

step "fresh venv: build requirements and runtime dependencies (online)"
IVENV="$WORK/offline-venv"
rm -rf "$IVENV"
"$PY" -m venv "$IVENV"
mapfile -t runtime < <(tar xzf "$sdist" -O "corrclust-$version/PKG-INFO" |
  sed -n 's/^Requires-Dist: \([^;]*\)$/\1/p')
"$IVENV/bin/pip" install -q "${BUILD_REQS[@]}" "${runtime[@]}" pytest

step "install the sdist offline (--no-index --no-build-isolation)"
start=$(date +%s)
"$IVENV/bin/pip" install -q --no-index --no-build-isolation "$sdist" >&2
step "built and installed in $(( $(date +%s) - start )) s"

RUNDIR="$WORK/sdist-test-run"
rm -rf "$RUNDIR"
mkdir -p "$RUNDIR"
cd "$RUNDIR"
installed=$("$IVENV/bin/python" -m corrclust --version)
[[ "$installed" == "corrclust $version" ]] || { echo "installed '$installed', sdist $version" >&2; exit 1; }
echo "$installed" >&2
"$IVENV/bin/python" -m pytest -q -p no:cacheprovider "$REPO/tests/test_package.py" >&2
echo "$sdist"
