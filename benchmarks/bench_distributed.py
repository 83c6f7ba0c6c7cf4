"""The sparse route's blocks on a Dask LocalCluster against the same blocks in one process.

Run: python benchmarks/bench_distributed.py [--n 100000] [--k 15] [--workers 2] [--quick]

Synthetic embeddings with planted classes (Gaussian clouds around random centres), clustered by
:func:`corrclust.distributed.cluster_embeddings` twice in one run: every block in this process
(``local=True``, the one-process result) and on a LocalCluster of ``--workers`` single-threaded
worker processes. Reported per run: wall time, in total and by stage (exact blockwise kNN, pair
scores, solve), CPU seconds and peak memory (RSS) of this process plus its worker processes
(sampled every 0.2 s), the number of clusters, VI against the planted classes, and whether
labels, edges and costs are bit-identical to the one-process run.
Then the LocalCluster run is repeated on its run folder, which must load every block and compute
none (resume). The machine's load average is printed with the table: timings on a shared machine
move with it.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time

import numpy as np
import psutil


def planted(n: int, d: int, classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows in ``d`` dimensions, ``classes`` unit Gaussian clouds around centres drawn with
    standard deviation 4 per axis (well apart in 32 dimensions, near neighbours stay in class)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 4.0, (classes, d))
    truth = rng.integers(0, classes, n)
    X = centres[truth] + rng.normal(0.0, 1.0, (n, d))
    return X.astype(np.float64), truth


class Usage:
    """Peak RSS and CPU seconds of this process and all its descendants (the LocalCluster's worker
    processes), sampled in a thread every ``every`` seconds. CPU seconds are the ones to compare on
    a loaded machine: wall time there depends on what else runs."""

    def __init__(self, every: float = 0.2) -> None:
        self.every, self.peak, self._stop = every, 0, threading.Event()
        self._cpu: dict[int, float] = {}
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        me = psutil.Process(os.getpid())
        total = 0
        for proc in [me, *me.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
                t = proc.cpu_times()
                self._cpu[proc.pid] = t.user + t.system
            except psutil.Error:
                pass
        return total

    @property
    def cpu(self) -> float:
        return sum(self._cpu.values()) - self._cpu0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self.every)

    def __enter__(self) -> Usage:
        self.peak = self._sample()
        self._cpu0 = sum(self._cpu.values())
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--d", type=int, default=32)
    ap.add_argument("--classes", type=int, default=200)
    ap.add_argument("--k", type=int, default=15)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="n = 5,000 (a check that the script runs)")
    args = ap.parse_args()
    if args.quick:
        args.n, args.classes = 5000, 20

    from corrclust import distributed
    from corrclust.metrics import compare

    X, truth = planted(args.n, args.d, args.classes)
    print(
        f"n = {args.n}, d = {args.d}, {args.classes} planted classes, k = {args.k}; "
        f"{os.cpu_count()} cores; load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    rows = []
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs = [
            ("one process (local=True)", dict(local=True)),
            (f"LocalCluster, {args.workers} worker processes", dict(workers=args.workers, run_dir=tmp)),
            ("  rerun on its run folder (resume)", dict(workers=args.workers, run_dir=tmp)),
        ]
        for name, kw in runs:
            t0 = time.perf_counter()
            with Usage() as mem:
                res = distributed.cluster_embeddings(X, k=args.k, seed=0, **kw)
            wall = time.perf_counter() - t0
            results[name] = res
            vi = compare(truth, res.labels)["vi"]
            rows.append((name, wall, mem.cpu, res.seconds, mem.peak, res.n_clusters, vi, res.reused))
            print(f"{name}: {wall:.1f} s", flush=True)
    ref = results[runs[0][0]]
    print()
    print(
        "| run | wall s | CPU s | kNN s | pairs s | solve s | peak RSS GB | clusters | VI (bits) "
        "| blocks reused | same as one process |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for (name, wall, cpu, sec, peak, kc, vi, reused), res in zip(rows, results.values(), strict=True):
        same = (
            np.array_equal(res.labels, ref.labels)
            and np.array_equal(res.edges, ref.edges)
            and np.array_equal(res.costs, ref.costs)
        )
        print(
            f"| {name} | {wall:.1f} | {cpu:.1f} | {sec['knn']:.1f} | {sec['pairs']:.1f} | {sec['solve']:.1f} | "
            f"{peak / 1e9:.2f} | {kc} | {vi:.4f} | {reused} | {'yes' if same else 'NO'} |"
        )
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
