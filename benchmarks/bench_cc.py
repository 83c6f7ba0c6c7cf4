"""Benchmark of the corrclust heuristics side by side with bioimage-cpp.

Runs GAEC, GAEC + Kernighan-Lin and the anytime solver of corrclust, and bioimage-cpp's GAEC and
GAEC + KL (its KL warm-started by its GAEC), on the same costs in the same process:
  * planted-partition complete graphs (10 planted clusters, cost = logit of p = sigmoid(y + sigma*eps),
    y = +/-1, clipped at 1e-6, sigma = 1.5 "clean" and 3 "noisy"), given to corrclust as a dense
    matrix and to bioimage-cpp as the complete edge list;
  * every shared instance in ../shared/cc-instances (PACE as dense, OpenGM as sparse);
  * a generated sparse set (generated_sparse below: supervoxel graphs of 1000-8000 nodes, grids
    with mixed costs, random geometric graphs);
  * a 300 x 300 4-connected grid with N(0.3, 1) costs (sparse, 180 000 edges, large clusters).
Times are wall-clock seconds of the solver call: the median of --repeat calls, corrclust's and
bioimage-cpp's alternating so that both see the same machine load. corrclust's time is the whole
binding call from numpy arrays (including building its sparse graph); "bioimage s" is bioimage-cpp's
solver call alone on a prebuilt graph, and "incl. graph" adds building that graph from the same
arrays once. "ratio" = bioimage time / corrclust time (> 1: corrclust is faster).
Objectives follow the shared convention (minimise the cost of cut edges); the script checks that
both libraries score the same labelling identically.

    python benchmarks/bench_cc.py            # n = 100, 300, 1000, 3000 + shared instances
    python benchmarks/bench_cc.py --quick    # n <= 1000, one repetition
    python benchmarks/bench_cc.py --dense-only   # dense GAEC + KL at n = 3000, 10000 on 1 and 2 threads

--dense-only (issue 17, dense scaling) times corrclust's GAEC + KL on the planted complete graphs
with KLOptions(threads=1) and threads=2, wall-clock and process CPU seconds (both threads), the
median of --repeat calls, and prints the load average before and after; bioimage-cpp's GAEC + KL
runs on the same costs up to --peer-max-n nodes (its complete edge list at n = 10,000 has 5 * 10^7
edges: minutes and gigabytes).

    python benchmarks/bench_cc.py --sparse-only --repeat 5   # the GAEC + KL speed target (#17)
    python benchmarks/bench_cc.py --sparse-only --repeat 5 --sparse-threads 2   # the same, two threads

--sparse-only runs every sparse instance (OpenGM, the generated set, the 300 x 300 grid) with GAEC
and GAEC + KL only (no anytime rows), and ends with the instances where GAEC + KL is slower than
1.5x bioimage-cpp's time including the graph build, or worse.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

import corrclust
from corrclust._native import _core
from corrclust.generators import planted_partition

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "cc-instances"


# --------------------------------------------------------------------------- instances


def planted_complete(n: int, sigma: float, seed: int, k: int = 10) -> np.ndarray:
    return planted_partition(n, k=k, sigma=sigma, seed=seed)[0]


def read_pace(path: Path) -> np.ndarray:
    return corrclust.read_instance(path).costs


def read_multicut(path: Path):
    problem = corrclust.read_instance(path)
    return problem.n, problem.edges, problem.costs


def unique_edges(n: int, edges: np.ndarray, costs: np.ndarray):
    """Sum parallel edges (either orientation): unique (u < v) edges and summed costs."""
    lo = np.minimum(edges[:, 0], edges[:, 1])
    hi = np.maximum(edges[:, 0], edges[:, 1])
    key = lo * n + hi
    uniq, inv = np.unique(key, return_inverse=True)
    summed = np.zeros(len(uniq))
    np.add.at(summed, inv, costs)
    return np.stack([uniq // n, uniq % n], 1).astype(np.int64), summed


def grid_graph(side: int, mean: float = 0.3, seed: int = 0):
    """side x side 4-connected grid, costs N(mean, 1): a large sparse instance with big clusters."""
    idx = np.arange(side * side).reshape(side, side)
    edges = np.concatenate(
        [
            np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], 1),
            np.stack([idx[:-1].ravel(), idx[1:].ravel()], 1),
        ]
    ).astype(np.int64)
    edges = edges[np.lexsort((edges[:, 1], edges[:, 0]))]
    return side * side, edges, np.random.default_rng(seed).normal(mean, 1.0, len(edges))


def geometric_graph(n: int, seed: int, k: int = 8):
    """Random geometric graph: n uniform points in the unit square, each joined to its k nearest;
    mixed costs N(0, 1) + (0.5 - d sqrt(n)) for an edge of length d (near pairs attract)."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    pts = rng.uniform(size=(n, 2))
    nearest = cKDTree(pts).query(pts, k + 1)[1]
    e = np.unique(np.sort(np.stack([np.repeat(np.arange(n), k), nearest[:, 1:].ravel()], 1), 1), axis=0)
    d = np.linalg.norm(pts[e[:, 0]] - pts[e[:, 1]], axis=1)
    return n, e.astype(np.int64), rng.normal(0.0, 1.0, len(e)) + (0.5 - d * np.sqrt(n))


def generated_sparse(quick: bool):
    """(name, n, edges, costs) of the generated sparse set: supervoxel graphs (the OpenGM knott-3d
    kind, corrclust.generators.supervoxel_multicut), 4-connected grids with N(mean, 1) costs and
    random geometric graphs; fixed seeds, fixed before any measurement."""
    from corrclust.generators import supervoxel_multicut

    sizes = (1000,) if quick else (1000, 2000, 4000, 8000)
    for size in sizes:
        for seed in range(1 if quick else 3):
            edges, costs, truth = supervoxel_multicut(size, seed=seed)
            yield f"supervoxel-{size}-{seed}", len(truth), edges, costs
    for side, mean in ((40, 0.3),) if quick else ((100, 0.3), (100, 0.0), (200, 0.1)):
        yield (f"grid-{side}x{side}-mean{mean}", *grid_graph(side, mean, seed=side))
    for size in (1000,) if quick else (2000, 10000):
        for seed in range(1 if quick else 2):
            yield (f"geometric-{size}-{seed}", *geometric_graph(size, seed))


def dense_to_edges(costs: np.ndarray):
    n = costs.shape[0]
    iu, ju = np.triu_indices(n, 1)
    return np.stack([iu, ju], 1).astype(np.int64), np.ascontiguousarray(costs[iu, ju])


# --------------------------------------------------------------------------- peers


def require_peer(script: str) -> None:
    """SystemExit with one line when bioimage-cpp is missing, for a script that only compares with it
    (bench_kl_quality, bench_kl_regions ended in an ImportError traceback from Bioimage; audit qa15)."""
    try:
        import bioimage_cpp  # noqa: F401
    except ImportError:
        raise SystemExit(
            f"{script}: needs bioimage-cpp, the peer it compares with: pip install bioimage-cpp "
            "(or corrclust[bench])"
        ) from None


class Bioimage:
    """bioimage-cpp's multicut GAEC and KL (GAEC warm start) on a prebuilt graph."""

    def __init__(self, n: int, uv: np.ndarray, costs: np.ndarray):
        import bioimage_cpp.graph as bg
        from bioimage_cpp import _core as bcore

        self.core = bcore
        t0 = time.perf_counter()
        self.graph = bg.undirected_graph(n)
        self.graph.insert_edges(uv.astype(np.uint64))
        ids = np.asarray(self.graph.find_edges(uv.astype(np.uint64)), dtype=np.int64)
        self.costs = np.zeros(len(uv))
        self.costs[ids] = costs
        # what a user pays to get from (edges, costs) arrays to a bioimage-cpp graph
        self.build_time = time.perf_counter() - t0
        assert np.all(ids >= 0) and self.graph.number_of_edges == len(uv)

    def gaec(self):
        return self.core._multicut_greedy_additive(self.graph, self.costs, 0.0, -1.0, False, 42, 1.0)

    def gaec_kl(self):
        start = self.gaec()
        return self.core._multicut_kernighan_lin(self.graph, self.costs, start, 100, 1e-6)

    def energy(self, labels) -> float:
        return float(self.core._multicut_energy(self.graph, self.costs, np.asarray(labels, dtype=np.uint64)))


def timed(fn, repeat: int):
    """Median wall-clock time of `repeat` calls and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def timed_pair(fn, peer_fn, repeat: int):
    """Median times of fn and peer_fn called alternately `repeat` times each (so both see the same
    machine load), and their last results."""
    ours, theirs, out, pout = [], [], None, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        t1 = time.perf_counter()
        pout = peer_fn()
        t2 = time.perf_counter()
        ours.append(t1 - t0)
        theirs.append(t2 - t1)
    return float(np.median(ours)), out, float(np.median(theirs)), pout


# --------------------------------------------------------------------------- benchmark


METHODS = (("gaec", "gaec"), ("kl", "gaec_kl"), ("anytime", "gaec_kl"))


def run_instance(
    name: str, n: int, solve, peer: Bioimage | None, repeat: int, rows: list, anytime_limit, methods=METHODS
):
    """solve(method, **kw) -> result dict of corrclust; peer on the same costs."""
    for method, peer_fn in methods:
        kw = {"time_limit": anytime_limit} if method == "anytime" else {}
        reps = 1 if method == "anytime" else repeat
        row = {
            "instance": name,
            "n": n,
            "method": {"kl": "gaec+kl"}.get(method, method),
            "pt": None,
            "pobj": None,
        }
        if peer is not None and method != "anytime":
            t, r, pt, labels = timed_pair(lambda: solve(method, **kw), getattr(peer, peer_fn), reps)
            row["pt"], row["pobj"] = pt, peer.energy(labels)
            row["pgt"] = pt + peer.build_time
            row["peer"] = {"gaec": "GAEC", "gaec_kl": "GAEC+KL"}[peer_fn]
        else:
            t, r = timed(lambda: solve(method, **kw), reps)
            if peer is not None:
                row["peer"] = "(vs GAEC+KL)"
                prev = [x for x in rows if x["instance"] == name and x["method"] == "gaec+kl"]
                if prev:
                    row["pt"], row["pobj"], row["pgt"] = prev[-1]["pt"], prev[-1]["pobj"], prev[-1]["pgt"]
        row["t"], row["obj"] = t, r["objective"]
        rows.append(row)
        print(format_row(row), flush=True)


def dense_threads(sizes, threads, repeat: int, peer_ok: bool, peer_max_n: int) -> None:
    """GAEC + KL on the planted complete graphs at each team size: wall and CPU seconds (median of
    `repeat`), objective, whether the labels equal those of the first team size, and bioimage-cpp's
    GAEC + KL beside it (alternating with the first team size's calls) up to peer_max_n."""
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")
    print(
        "| instance | n | threads | wall s | CPU s | objective | same labels | bioimage-cpp GAEC+KL s "
        "| bioimage obj | wall ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        for sigma, tag in ((1.5, "clean"), (3.0, "noisy")):
            costs = planted_complete(n, sigma, seed=n)
            peer = None
            if peer_ok and n <= peer_max_n:
                uv, c = dense_to_edges(costs)
                peer = Bioimage(n, uv, c)
            first = None
            for t in threads:
                options = _core.heuristics.KLOptions(threads=t)
                walls, cpus, peer_times, r, pobj = [], [], [], None, None
                for _ in range(repeat):
                    w0, c0 = time.perf_counter(), time.process_time()
                    r = _core.heuristics.solve_dense(costs, "kl", options=options)
                    walls.append(time.perf_counter() - w0)
                    cpus.append(time.process_time() - c0)
                    if peer is not None and t == threads[0]:
                        p0 = time.perf_counter()
                        pobj = peer.energy(peer.gaec_kl())
                        peer_times.append(time.perf_counter() - p0)
                assert r is not None
                if first is None:
                    first = r["labels"]
                wall = float(np.median(walls))
                same = "yes" if np.array_equal(first, r["labels"]) else "NO"
                pt = f"{np.median(peer_times):.3f}" if peer_times else "-"
                ratio = f"{np.median(peer_times) / wall:.1f}x" if peer_times else "-"
                pob = f"{pobj:.3f}" if pobj is not None else "-"
                print(
                    f"| planted-{tag} | {n} | {t} | {wall:.3f} | {float(np.median(cpus)):.3f} | "
                    f"{r['objective']:.3f} | {same} | {pt} | {pob} | {ratio} |",
                    flush=True,
                )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


HEADER = (
    "| instance | n | method | corrclust s | corrclust obj | bioimage-cpp | bioimage s | bioimage obj "
    "| time ratio | bioimage s incl. graph | ratio incl. graph | obj diff |"
)
SEP = "|---|---|---|---|---|---|---|---|---|---|---|---|"


def format_row(r) -> str:
    pt = f"{r['pt']:.6f}" if r["pt"] is not None else "-"
    pobj = f"{r['pobj']:.3f}" if r["pobj"] is not None else "-"
    ratio = f"{r['pt'] / r['t']:.1f}x" if r["pt"] is not None and r["t"] > 0 else "-"
    diff = f"{r['obj'] - r['pobj']:+.3f}" if r["pobj"] is not None else "-"
    pgt = f"{r['pgt']:.6f}" if r.get("pgt") is not None else "-"
    gratio = f"{r['pgt'] / r['t']:.1f}x" if r.get("pgt") is not None and r["t"] > 0 else "-"
    return (
        f"| {r['instance']} | {r['n']} | {r['method']} | {r['t']:.6f} | {r['obj']:.3f} | {r.get('peer', '-')} | "
        f"{pt} | {pobj} | {ratio} | {pgt} | {gratio} | {diff} |"
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="sizes up to 1000, one repetition")
    ap.add_argument(
        "--sizes",
        type=int,
        nargs="*",
        help="planted sizes (default 100 300 1000 3000; none: only the shared instances)",
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="repetitions of GAEC / GAEC+KL (median time, alternating with the peer)",
    )
    ap.add_argument("--no-peer", action="store_true", help="skip bioimage-cpp")
    ap.add_argument("--no-shared", action="store_true", help="skip the shared instances")
    ap.add_argument("--grid", type=int, default=300, help="side of the sparse grid instance (0: none)")
    ap.add_argument("--anytime-limit", type=float, default=None, help="time limit of the anytime runs")
    ap.add_argument(
        "--sparse-threads",
        type=int,
        default=None,
        help="KLOptions.sparse_threads of corrclust's sparse GAEC + KL (default: the option's default)",
    )
    ap.add_argument(
        "--sparse-only",
        action="store_true",
        help="only the sparse instances, GAEC and GAEC + KL (the #17 speed target)",
    )
    ap.add_argument(
        "--no-generated",
        action="store_true",
        help="skip the generated sparse set (supervoxel, grid, geometric)",
    )
    ap.add_argument(
        "--dense-only",
        action="store_true",
        help="only GAEC + KL on the planted complete graphs (default n = 3000 10000), per --threads",
    )
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="team sizes of --dense-only")
    ap.add_argument(
        "--peer-max-n", type=int, default=3000, help="--dense-only: bioimage-cpp up to this n (default 3000)"
    )
    args = ap.parse_args(argv)
    sizes = (
        args.sizes if args.sizes is not None else ([100, 300, 1000] if args.quick else [100, 300, 1000, 3000])
    )
    if args.sparse_only:
        sizes = []
    repeat = 1 if args.quick else args.repeat
    methods = METHODS[:2] if args.sparse_only else METHODS
    peer_ok = not args.no_peer
    if peer_ok:
        try:
            import bioimage_cpp  # noqa: F401
        except ImportError:
            print("bioimage-cpp not installed: corrclust only")
            peer_ok = False
    print(f"# {platform.machine()} {platform.processor() or ''}, python {platform.python_version()}")
    if args.dense_only:
        dense_sizes = args.sizes if args.sizes else [3000, 10000]
        dense_threads(dense_sizes, args.threads, args.repeat, peer_ok, args.peer_max_n)
        return 0
    print("# load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print(HEADER)
    print(SEP)
    rows: list = []

    def dense_case(name, costs):
        n = costs.shape[0]
        peer = None
        if peer_ok:
            uv, c = dense_to_edges(costs)
            peer = Bioimage(n, uv, c)
            # same sign convention: score one labelling with both
            lab = np.random.default_rng(0).integers(0, 4, n)
            assert abs(peer.energy(lab) - _core.problem.objective_dense(costs, lab)) <= 1e-6 * (
                1 + abs(peer.energy(lab))
            )
        run_instance(
            name,
            n,
            lambda m, **kw: _core.heuristics.solve_dense(costs, m, **kw),
            peer,
            repeat,
            rows,
            args.anytime_limit,
            methods,
        )

    def kl_options(method: str) -> dict:
        if method != "kl" or args.sparse_threads is None:
            return {}
        return {"options": _core.heuristics.KLOptions(sparse_threads=args.sparse_threads)}

    def sparse_case(name, n, edges, costs):
        peer = None
        if peer_ok:
            uv, c = unique_edges(n, edges, costs)
            peer = Bioimage(n, uv, c)
            lab = np.random.default_rng(0).integers(0, 4, n)
            assert abs(peer.energy(lab) - _core.problem.objective_sparse(n, edges, costs, lab)) <= 1e-6 * (
                1 + abs(peer.energy(lab))
            )
        run_instance(
            name,
            n,
            lambda m, **kw: _core.heuristics.solve_sparse(n, edges, costs, m, **kw, **kl_options(m)),
            peer,
            repeat,
            rows,
            args.anytime_limit,
            methods,
        )

    for n in sizes:
        for sigma, tag in ((1.5, "clean"), (3.0, "noisy")):
            dense_case(f"planted-{tag}", planted_complete(n, sigma, seed=n))
    if not args.no_shared and SHARED.exists():
        for path in sorted((SHARED / "pace2021").glob("*.gr")) if not args.sparse_only else []:
            dense_case(path.stem, read_pace(path))
        for path in sorted((SHARED / "opengm-multicut").glob("*.txt")):
            sparse_case(path.stem, *read_multicut(path))
    if not args.no_generated:
        for name, n, edges, costs in generated_sparse(args.quick):
            sparse_case(name, n, edges, costs)
    if args.grid > 0:
        sparse_case(f"grid-{args.grid}x{args.grid}", *grid_graph(args.grid))
    worse = [
        r["instance"]
        for r in rows
        if r["method"] == "gaec+kl"
        and r["pobj"] is not None
        and r["obj"] > r["pobj"] + 1e-6 * (1 + abs(r["pobj"]))
    ]
    print(
        f"\nGAEC + KL above bioimage-cpp's on {len(worse)} instance(s){': ' + ', '.join(worse) if worse else ''}"
    )
    if args.sparse_only:
        slow = [
            f"{r['instance']} {r['pgt'] / r['t']:.2f}x"
            for r in rows
            if r["method"] == "gaec+kl" and r.get("pgt") is not None and r["pgt"] < 1.5 * r["t"]
        ]
        print(f"GAEC + KL under 1.5x bioimage-cpp's speed (graph included) on {len(slow)}: {', '.join(slow)}")
    print("# load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
