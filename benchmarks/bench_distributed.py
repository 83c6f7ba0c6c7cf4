"""The sparse route on a Dask LocalCluster against the one-process sparse path, in one run.

Run: python benchmarks/bench_distributed.py [--n 100000] [--d 32] [--k 30] [--workers 2]
                                             [--knn exact|faiss|both] [--arms one,cluster,resume] [--quick]

The approximate search (issue 18, the row the lead reruns):
    python benchmarks/bench_distributed.py --n 100000 --d 64 --knn faiss

Synthetic embeddings with planted classes (:func:`corrclust.generators.planted_embeddings`, 40
rows per class by default) clustered by the label-free rule on the kNN graph (``--knn``: the exact
search, faiss's HNSW index, or both in turn) twice: by ``corrclust.cluster_embeddings(path="sparse",
knn=...)`` in one process (what a user runs without Dask), and by
:func:`corrclust.distributed.cluster_embeddings` on a LocalCluster of ``--workers``
single-threaded worker processes; then the LocalCluster run again on its run folder, which loads
every block and computes none (resume). ``--arms`` runs a subset (e.g. ``cluster`` alone where the
one-process exact search would take too long). With faiss the index is built with all cores in
both runs (``--threads`` to fix it); several threads may build another graph on each run, so "same
as one process" can be "NO" there while both graphs are as good (docs/distributed.md).
Reported per run: wall time (total,
kNN, solve), CPU seconds and peak memory (RSS) of this process plus its worker processes (sampled
every 0.2 s), pairs, clusters, VI against the planted classes, and whether labels and objective
equal the one-process run. The load average is printed with the table: wall times on a shared
machine move with it, CPU seconds much less.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time

import numpy as np
import psutil


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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--d", type=int, default=32)
    ap.add_argument("--class-size", type=int, default=40)
    ap.add_argument("--k", type=int, default=30)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--knn", choices=("exact", "faiss", "both"), default="exact")
    ap.add_argument("--arms", default="one,cluster,resume", help="comma-separated: one, cluster, resume")
    ap.add_argument("--threads", type=int, default=None, help="threads of the faiss index build")
    ap.add_argument("--quick", action="store_true", help="n = 5,000 (a check that the script runs)")
    args = ap.parse_args(argv)
    if args.quick:
        args.n = 5000

    from corrclust import distributed
    from corrclust.embedding_clustering import cluster_embeddings
    from corrclust.generators import planted_embeddings
    from corrclust.metrics import compare

    X, truth = planted_embeddings(args.n, d=args.d, class_size=args.class_size, seed=0)
    print(
        f"n = {args.n}, d = {args.d}, {truth.max() + 1} planted classes of {args.class_size}, k = {args.k}; "
        f"{os.cpu_count()} cores; load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    arms = set(args.arms.split(","))
    rows = []
    for knn in ("exact", "faiss") if args.knn == "both" else (args.knn,):
        with tempfile.TemporaryDirectory() as tmp:
            kw = {"threads": args.threads} if knn == "faiss" else {}
            runs = [
                (
                    "one",
                    f"one process: cluster_embeddings(path='sparse', knn='{knn}')",
                    lambda: cluster_embeddings(X, path="sparse", knn=knn, graph_k=args.k, seed=0, **kw),
                ),
                (
                    "cluster",
                    f"LocalCluster, {args.workers} worker processes, knn='{knn}'",
                    lambda: distributed.cluster_embeddings(
                        X, k=args.k, seed=0, workers=args.workers, run_dir=tmp, knn=knn, **kw
                    ),
                ),
                (
                    "resume",
                    "  rerun on its run folder (resume)",
                    lambda: distributed.cluster_embeddings(
                        X, k=args.k, seed=0, workers=args.workers, run_dir=tmp, knn=knn, **kw
                    ),
                ),
            ]
            for arm, name, call in runs:
                if arm not in arms:
                    continue
                t0 = time.perf_counter()
                with Usage() as mem:
                    res = call()
                wall = time.perf_counter() - t0
                print(f"{name}: {wall:.1f} s (load {os.getloadavg()[0]:.1f})", flush=True)
                rows.append((knn, name, wall, mem.cpu, res, mem.peak))
    print()
    print(
        "| run | wall s | CPU s | kNN s | solve s | peak RSS GB | pairs | clusters | VI (bits) | blocks reused "
        "| same labels and objective as one process |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    differ = []
    for knn, name, wall, cpu, res, peak in rows:
        ref = next((r[4] for r in rows if r[0] == knn and r[1].startswith("one process")), None)
        pairs = getattr(res, "pairs", None) or res.edges.shape[0]
        same = "n/a"
        if ref is not None:
            equal = (
                np.array_equal(res.labels, ref.labels)
                and res.objective == ref.objective
                and pairs == ref.pairs
            )
            same = "yes" if equal else "NO"
            if not equal:
                differ.append(name.strip())
        vi = compare(truth, res.labels)["vi"]
        print(
            f"| {name} | {wall:.1f} | {cpu:.1f} | {res.seconds['knn']:.1f} | {res.seconds['solve']:.1f} | "
            f"{peak / 1e9:.2f} | {pairs} | {res.n_clusters} | {vi:.4f} | {getattr(res, 'reused', 0)} | "
            f"{same} |"
        )
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if differ:  # the table said NO and the script exited 0 (audit qa15)
        print(f"bench_distributed.py: not the one-process result: {'; '.join(differ)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
