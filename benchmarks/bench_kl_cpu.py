"""GAEC + KL on the sparse bench_cc instances in thread CPU time: two builds of the core and
bioimage-cpp side by side (issue 17).

bench_cc.py --sparse-only times wall clock, median of 3; a call on gm_knott_3d_032 takes a few
milliseconds, so on a shared machine one context switch moves a row by 10 %. This script reports,
per instance, the smallest thread CPU time (time.thread_time) over ROUNDS x REPS calls of

* ``solve_sparse(n, edges, costs, "kl")`` of core A and of core B (graph construction, GAEC, KL and
  the result), each core in its own process (two builds of the extension cannot share one), the
  processes alternating ROUNDS times so that both see the same machine load;
* bioimage-cpp's graph build + GAEC + KL, as bench_cc.Bioimage times it, in every process.

and checks that both cores return the same labels. Usage (a copy of main's core and this tree's)::

    python benchmarks/bench_kl_cpu.py --core-a /path/to/main/_core.so --core-b python/corrclust/_core*.so
    python benchmarks/bench_kl_cpu.py --core-b python/corrclust/_core*.so --only gm_knott_3d_032

Without --core-a only core B and bioimage-cpp are timed. --b-option NAME=INT gives core B's calls a
KLOptions setting (e.g. the opt-in ``polish_max_nodes=200`` against a copy of the same core as A).
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import json
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def instances(only: list[str]):
    """(name, n, edges, costs) of bench_cc --sparse-only's 23 instances (those named in only)."""
    from bench_cc import SHARED, generated_sparse, grid_graph, read_multicut

    found = []
    if SHARED.exists():
        for path in sorted((SHARED / "opengm-multicut").glob("*.txt")):
            found.append((path.stem, *read_multicut(path)))
    found.extend(generated_sparse(False))
    found.append(("grid-300x300", *grid_graph(300)))
    return [case for case in found if not only or case[0] in only]


def load_core(path: str):
    """The extension at path as corrclust._core, before anything imports corrclust (whose own
    core would register the same pybind11 types again); HiGHS first, as corrclust._native does."""
    import highsbox

    ctypes.CDLL(os.path.join(highsbox.highs_dist_dir(), "lib", "libhighs.so"), mode=ctypes.RTLD_GLOBAL)
    spec = importlib.util.spec_from_file_location("corrclust._core", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["corrclust._core"] = module
    spec.loader.exec_module(module)
    return module


def smallest_cpu(fn, reps: int):
    """Smallest thread CPU time of reps calls, and the last result."""
    best, out = float("inf"), None
    for _ in range(reps):
        t0 = time.thread_time()
        out = fn()
        best = min(best, time.thread_time() - t0)
    return best, out


def worker(core_path: str, reps: int, only: list[str], settings: dict[str, int]) -> None:
    """One JSON line per instance: core and bioimage-cpp CPU seconds, objectives, label checksum."""
    core = load_core(core_path)
    from bench_cc import Bioimage, unique_edges

    options = core.heuristics.KLOptions(**settings)
    for name, n, edges, costs in instances(only):
        t, r = smallest_cpu(
            lambda: core.heuristics.solve_sparse(n, edges, costs, "kl", options=options), reps
        )
        uv, c = unique_edges(n, edges, costs)

        def peer_call():
            peer = Bioimage(n, uv, c)  # the graph build is part of the peer's time
            return peer, peer.gaec_kl()

        pt, (peer, plabels) = smallest_cpu(peer_call, reps)
        labels = np.asarray(r["labels"], dtype=np.int64)
        row = {"name": name, "n": n, "t": t, "obj": r["objective"], "crc": zlib.crc32(labels.tobytes())}
        row.update(pt=pt, pobj=peer.energy(plabels))
        print(json.dumps(row), flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--core-a", help="path of the first core (e.g. a copy of main's); optional")
    ap.add_argument("--core-b", help="path of the second core (e.g. this tree's); required")
    ap.add_argument("--rounds", type=int, default=3, help="alternating processes per core (default 3)")
    ap.add_argument("--reps", type=int, default=5, help="calls per instance in each process (default 5)")
    ap.add_argument("--only", nargs="*", default=[], help="instance names (default: all 23)")
    ap.add_argument(
        "--b-option", action="append", default=[], help="NAME=INT: a KLOptions setting of core B's calls"
    )
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        settings = {k: int(v) for k, v in (o.split("=", 1) for o in args.b_option)}
        worker(args.worker, args.reps, args.only, settings)
        return 0
    if not args.core_b:
        ap.error("--core-b is required")
    cores = [p for p in (args.core_a, args.core_b) if p]
    for p in cores:
        if not Path(p).is_file():
            print(f"bench_kl_cpu: {p}: no such file", file=sys.stderr)
            return 2
    best: dict = {}
    rows: dict = {}
    print(f"# load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    for _ in range(args.rounds):
        for core in cores:
            cmd = [sys.executable, __file__, "--worker", core, "--reps", str(args.reps)]
            if core == args.core_b:
                cmd += [f"--b-option={o}" for o in args.b_option]
            cmd += ["--only", *args.only]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"bench_kl_cpu: the worker for {core} failed:\n{proc.stderr}", file=sys.stderr)
                return 1
            out = proc.stdout
            for line in out.splitlines():
                d = json.loads(line)
                rows.setdefault(d["name"], {})[core] = d
                best[(d["name"], core)] = min(best.get((d["name"], core), np.inf), d["t"])
                best[(d["name"], "peer")] = min(best.get((d["name"], "peer"), np.inf), d["pt"])
    head = ["instance", "n"] + (["A ms", "B ms", "A / B"] if args.core_a else ["B ms"]) + ["bioimage-cpp ms"]
    head += (["ratio A"] if args.core_a else []) + ["ratio B", "B obj - bioimage"]
    print("| " + " | ".join(head) + " |")
    print("|---" * len(head) + "|")
    under, differ = [], []
    for name, by_core in rows.items():
        b, p = best[(name, args.core_b)], best[(name, "peer")]
        rb = by_core[args.core_b]
        cells = [name, str(rb["n"])]
        if args.core_a:
            a = best[(name, args.core_a)]
            cells += [f"{a * 1e3:.2f}", f"{b * 1e3:.2f}", f"{a / b:.2f}x"]
            if by_core[args.core_a]["crc"] != rb["crc"]:
                differ.append(name)
        else:
            cells.append(f"{b * 1e3:.2f}")
        cells.append(f"{p * 1e3:.2f}")
        if args.core_a:
            cells.append(f"{p / best[(name, args.core_a)]:.2f}x")
        cells += [f"{p / b:.2f}x", f"{rb['obj'] - rb['pobj']:+.3f}"]
        print("| " + " | ".join(cells) + " |")
        if p < 1.5 * b:
            under.append(f"{name} {p / b:.2f}x")
    print(f"\nB under 1.5x bioimage-cpp's CPU time (graph included) on {len(under)}: {', '.join(under)}")
    if args.core_a:
        print(f"labels of A and B differ on {len(differ)}: {', '.join(differ)}")
    print(f"# load average at end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
