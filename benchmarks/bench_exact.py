"""Time to a proven optimum: corrclust's branch-and-cut vs a plain HiGHS MILP cutting-plane loop.

Baseline ("milp-rounds"): scipy.optimize.milp (HiGHS branch-and-cut on the integer program) over
the edge variables, re-solved FROM SCRATCH after each round of adding the triangle (complete
graphs) or cycle (sparse graphs) inequalities violated by its integral solution, until none is;
this is the paper's exact loop (paper-model.md section 9) with HiGHS instead of Gurobi.

Rows: the shared PACE and OpenGM instances, and planted-partition complete graphs
``planted-<n>-s<sigma>`` (corrclust.generators.planted_partition: 10 clusters,
c = logit(clip(sigmoid(y + sigma*eps))) with y = +1 inside and -1 across clusters, seed n). The
noise level is named by sigma; the share of pairs whose cost sign disagrees with the planted
partition is Phi(-1/sigma): sigma 0.5 -> 2 %, 1.0 -> 16 %, 1.5 -> 25 %, 3.0 -> 37 %. Both solvers
get a wall-clock cap per row; the ratio is measured in the same run. ``supervoxel-<n>-<seed>`` rows
are sparse OpenGM-like instances (corrclust.generators.supervoxel_multicut: a 3-D supervoxel
adjacency graph with a planted segmentation; statistics against gm_knott_3d in docs/exact.md).
``superpixel-<set>-<n>-<seed>`` rows are segmentation instances from real images
(corrclust.segmentation_graphs.folder_multicut with its default cost rule: SLIC superpixels,
boundary-strength log-odds costs) on ../shared/data: ``org`` the OrgaQuant fields, ``rbc`` the RBC
smears; the seed picks the image. All eight 4,000-node rows (seeds 0-3 of each set) are listed,
not only the hard ones.

    python benchmarks/bench_exact.py                      # every row, 60 s cap each
    python benchmarks/bench_exact.py --rows exact013 planted-100-s1.0 --cap 30 --baseline-cap 90
    python benchmarks/bench_exact.py --no-baseline        # ours only
    python benchmarks/bench_exact.py --rows superpixel-org-4000-3 --variant contract_cycles=False
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import corrclust
from corrclust._native import _core
from corrclust.generators import planted_partition, supervoxel_multicut
from corrclust.segmentation_graphs import folder_multicut

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "cc-instances"
IMAGES = {
    "org": Path(__file__).resolve().parents[1].parent / "shared" / "data" / "organoid-fields",
    "rbc": Path(__file__).resolve().parents[1].parent / "shared" / "data" / "rbc-morphology",
}
SHARED_ROWS = {
    "exact001": ("pace2021/exact001.gr", -31),
    "exact013": ("pace2021/exact013.gr", -302),
    "exact041": ("pace2021/exact041.gr", -1502),
    "exact121": ("pace2021/exact121.gr", -15063),
    "3096": ("opengm-multicut/3096.txt", -638.289934),
    "knott-3d-032": ("opengm-multicut/gm_knott_3d_032.txt", -5811.467771),
    "knott-3d-034": ("opengm-multicut/gm_knott_3d_034.txt", -4064.865759),
}
SIGMAS = ("0.5", "1.0", "1.5", "3.0")
PLANTED = [(n, s) for n in (30, 60, 100, 150) for s in SIGMAS]
# The "clean complete graphs with n = 100 in <= 2 s", read as the low-noise levels.
SUPERVOXEL = ["supervoxel-4000-1", "supervoxel-4000-2"]
SUPERPIXEL = [f"superpixel-{s}-4000-{seed}" for s in ("org", "rbc") for seed in range(4)]
TARGETS = {
    **dict.fromkeys(SUPERPIXEL, 60.0),
    "supervoxel-4000-1": 60.0,
    "supervoxel-4000-2": 60.0,
    "exact013": 5.0,
    "planted-100-s0.5": 2.0,
    "planted-100-s1.0": 2.0,
    "knott-3d-032": 1.0,
    "knott-3d-034": 1.0,
}


def planted(n: int, sigma: float, seed: int, k: int = 10) -> np.ndarray:
    return planted_partition(n, k=k, sigma=sigma, seed=seed)[0]


def load(name: str):
    if name.startswith("superpixel-"):
        _, which, n, seed = name.split("-")
        return folder_multicut(IMAGES[which], int(n), seed=int(seed)), None
    if name.startswith("supervoxel-"):
        _, n, seed = name.split("-")
        edges, costs, truth = supervoxel_multicut(int(n), seed=int(seed))
        return corrclust.Problem(len(truth), costs, edges), None
    if name.startswith("planted-"):
        _, n, sigma = name.split("-")
        return planted(int(n), float(sigma.lstrip("s")), seed=int(n)), None
    rel, opt = SHARED_ROWS[name]
    return corrclust.read_instance(SHARED / rel), opt


# ---------------------------------------------------------------------------------------------
# baseline: MILP re-solved from scratch with the violated triangles / cycles of its solution


def _milp(c, rows, cols, vals, nrows, time_limit):
    from scipy.optimize import LinearConstraint, milp
    from scipy.sparse import csr_matrix

    cons = []
    if nrows:
        A = csr_matrix((vals, (rows, cols)), shape=(nrows, len(c)))
        cons = [LinearConstraint(A, -np.inf, 0.0)]
    res = milp(
        c,
        constraints=cons,
        integrality=np.ones(len(c)),
        bounds=(0, 1),
        options={"time_limit": max(time_limit, 0.01), "disp": False},
    )
    return res


def baseline(problem, cap: float):
    t0 = time.perf_counter()
    if isinstance(problem, np.ndarray):
        n = len(problem)
        iu = np.triu_indices(n, 1)
        eu, ev, c = iu[0], iu[1], problem[iu]
    else:
        n, eu, ev, c = problem.n, problem.edges[:, 0], problem.edges[:, 1], problem.costs
    m = len(c)
    index = {(int(a), int(b)): e for e, (a, b) in enumerate(zip(eu, ev, strict=False))}
    adj = [[] for _ in range(n)]
    for e, (a, b) in enumerate(zip(eu, ev, strict=False)):
        adj[a].append((b, e))
        adj[b].append((a, e))
    rows, cols, vals, seen = [], [], [], set()
    nrows, rounds = 0, 0
    while True:
        left = cap - (time.perf_counter() - t0)
        if left <= 0:
            return "time_limit", time.perf_counter() - t0, None, rounds
        res = _milp(c, rows, cols, vals, nrows, left)
        rounds += 1
        if res.x is None or res.status not in (0,):
            return "time_limit", time.perf_counter() - t0, None, rounds
        y = np.round(res.x)
        # components of the uncut edges; a cut edge inside a component closes a violated cycle
        parent = list(range(n))

        def find(a):
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for e in range(m):
            if y[e] < 0.5:
                parent[find(eu[e])] = find(ev[e])
        new = 0
        for e in range(m):
            a, b = int(eu[e]), int(ev[e])
            if y[e] < 0.5 or find(a) != find(b):
                continue
            if isinstance(problem, np.ndarray):  # triangles through every common joined node
                paths = [
                    [index[min(a, k), max(a, k)], index[min(b, k), max(b, k)]]
                    for k in range(n)
                    if k not in (a, b)
                    and y[index[min(a, k), max(a, k)]] < 0.5
                    and y[index[min(b, k), max(b, k)]] < 0.5
                ]
            else:  # one shortest path of uncut edges (BFS)
                prev = {a: None}
                queue = [a]
                for x in queue:
                    if x == b:
                        break
                    for z, f in adj[x]:
                        if y[f] < 0.5 and z not in prev:
                            prev[z] = (x, f)
                            queue.append(z)
                path, x = [], b
                while prev[x] is not None:
                    x, f = prev[x]
                    path.append(f)
                paths = [path]
            for path in paths:
                key = (e, tuple(sorted(path)))
                if key in seen:
                    continue
                seen.add(key)
                for f, v in [(e, 1.0)] + [(f, -1.0) for f in path]:
                    rows.append(nrows)
                    cols.append(f)
                    vals.append(v)
                nrows += 1
                new += 1
        if new == 0:
            return "optimal", time.perf_counter() - t0, float(res.fun), rounds


# ---------------------------------------------------------------------------------------------


def ours(problem, cap: float, options: dict):
    t0 = time.perf_counter()
    if isinstance(problem, np.ndarray):
        r = _core.exact.solve_dense(problem, time_limit=cap, options=_core.exact.ExactOptions(**options))
    else:
        r = _core.exact.solve_sparse(
            problem.n,
            problem.edges,
            problem.costs,
            time_limit=cap,
            options=_core.exact.ExactOptions(**options),
        )
    return r, time.perf_counter() - t0


def _parse_options(pairs: list[str]) -> dict:
    out: dict = {}
    for kv in pairs:
        k, v = kv.split("=", 1)
        out[k] = (
            int(v)
            if v.lstrip("-").isdigit()
            else float(v)
            if v.replace(".", "", 1).isdigit()
            else {"True": True, "False": False}.get(v, v)
        )
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    names = list(SHARED_ROWS) + [f"planted-{n}-s{s}" for n, s in PLANTED] + SUPERVOXEL + SUPERPIXEL
    ap.add_argument("--rows", nargs="*", default=names, help="rows to run (default: all): " + " ".join(names))
    ap.add_argument("--cap", type=float, default=60.0, help="time cap per row for corrclust (s)")
    ap.add_argument(
        "--baseline-cap", type=float, default=None, help="time cap for the baseline (default: --cap)"
    )
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument(
        "--previous",
        action="store_true",
        help="also run ours with the first round's settings (root cut cap max(1000, 8n), no "
        "interior point in the star phase, no reductions) in the same run",
    )
    ap.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra solve_exact option, e.g. --option root_method=ipm (repeatable)",
    )
    ap.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="also run ours with these options on top of --option, in the same run (repeatable; "
        "all --variant settings form one variant)",
    )
    args = ap.parse_args(argv)
    bcap = args.cap if args.baseline_cap is None else args.baseline_cap
    options = _parse_options(args.option)
    variant = _parse_options(args.variant)

    print(
        f"corrclust exact (HiGHS {_core.exact.highs_version()}) vs scipy.optimize.milp cutting-plane rounds; "
        f"caps {args.cap:g} s / {bcap:g} s; options {options or 'default'}"
    )
    header = (
        f"{'instance':<20} {'n':>5} {'edges':>7} {'optimum':>14} {'ours s':>8} {'status':>10} {'gap':>8} "
        f"{'nodes':>6} {'root s':>7} {'target':>7} {'milp s':>8} {'status':>10} {'ratio':>7}"
    )
    if args.previous:
        header += f" {'prev s':>8} {'status':>10} {'gap':>8}"
    if variant:
        print(f"variant: {variant}")
        header += f" {'var s':>8} {'status':>10} {'gap':>8} {'nodes':>6}"
    print(header)
    print("-" * len(header))
    for name in args.rows:
        problem, known = load(name)
        n = len(problem) if isinstance(problem, np.ndarray) else problem.n
        if isinstance(problem, corrclust.Problem) and problem.is_dense:
            problem = problem.costs
        m = n * (n - 1) // 2 if isinstance(problem, np.ndarray) else len(problem.costs)
        r, t = ours(problem, args.cap, options)
        if known is not None and r["status"] == "optimal":
            assert abs(r["objective"] - known) < 1e-5 * max(1, abs(known)), (name, r["objective"], known)
        b_status, b_time, b_obj = "-", float("nan"), None
        if not args.no_baseline:
            b_status, b_time, b_obj, _ = baseline(problem, bcap)
            if b_obj is not None and r["status"] == "optimal":
                assert abs(b_obj - r["objective"]) < 1e-5 * max(1, abs(b_obj)), (name, b_obj, r["objective"])
        ratio = b_time / t if (b_status == "optimal" and r["status"] == "optimal") else float("nan")
        target = TARGETS.get(name)
        line = (
            f"{name:<20} {n:>5} {m:>7} {r['objective']:>14.6f} {t:>8.2f} {r['status']:>10} {r['gap']:>8.2e} "
            f"{r['nodes']:>6} {r['root_time']:>7.2f} {'' if target is None else f'<={target:g}':>7} "
            f"{b_time:>8.2f} {b_status:>10} {ratio:>7.1f}"
        )
        if args.previous:
            prev = dict(root_cuts_per_round=max(1000, 8 * n), star_ipm=False, reduce=False)
            rp, tp = ours(problem, args.cap, {**prev, **options})
            line += f" {tp:>8.2f} {rp['status']:>10} {rp['gap']:>8.2e}"
        if variant:
            rv, tv = ours(problem, args.cap, {**options, **variant})
            line += f" {tv:>8.2f} {rv['status']:>10} {rv['gap']:>8.2e} {rv['nodes']:>6}"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    from needs import run_main

    raise SystemExit(run_main(main))
