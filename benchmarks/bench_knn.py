"""Approximate nearest neighbours for the sparse candidate graph: pynndescent, hnswlib, faiss-cpu.

Each library builds the k-nearest-neighbour graph of all n rows (every row queried, itself dropped)
in a fresh process, limited to ``--threads`` threads; the table gives its wall time (index build
plus queries, with pynndescent's numba compilation, which a fresh process pays every time), the
process's peak RSS and its growth over the data alone, and the recall@k against the exact
blockwise search (:func:`corrclust.candidates.exact_knn_block`) on the first 1,000 rows (the rows
are in random order). Same data, same run, one after the other.

    python benchmarks/bench_knn.py [--n 100000] [--d 32] [--k 30] [--threads 2] [--rbc build/rbc-profiles.npz]

The settings are each library's documented defaults or the values its docs suggest for high recall
(hnswlib: M=16, ef_construction=200, ef=max(2k, 50); faiss: IndexHNSWFlat M=32, efConstruction=80,
efSearch=max(2k, 64); pynndescent: n_neighbors=k+1, its defaults otherwise), fixed before measuring.

Checks (a failure is one line on stderr and exit code 1): the exact search equals a brute-force
numpy search on 16 of the 1,000 rows (the same neighbour distances); each library's rows hold k
distinct neighbours other than the row itself, inside the data; its recall@k is at least
``MIN_RECALL`` (1 for ``exact``, up to ties); a library that fails for another reason than not
being installed is a failure too.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
from checks import Checks

#: Recall@k below this is a broken search, not a slow one: the three libraries at the settings above
#: gave 0.9995 to 0.9999 on n = 10^5 (docs/sparse.md).
MIN_RECALL = 0.9


def rss_mib() -> float:
    """This process's peak resident memory (VmHWM: unlike getrusage's maxrss, not inherited from
    the parent that started it)."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_pynndescent(X: np.ndarray, k: int, threads: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    import pynndescent

    index = pynndescent.NNDescent(X, n_neighbors=k + 1, random_state=seed, n_jobs=threads)
    return index.neighbor_graph  # type: ignore[no-any-return]


def run_hnswlib(X: np.ndarray, k: int, threads: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    import hnswlib

    index = hnswlib.Index(space="l2", dim=X.shape[1])
    index.init_index(max_elements=X.shape[0], ef_construction=200, M=16, random_seed=seed)
    index.add_items(X.astype(np.float32), num_threads=threads)
    index.set_ef(max(2 * k, 50))
    idx, sq = index.knn_query(X.astype(np.float32), k=k + 1, num_threads=threads)
    return idx.astype(np.int64), np.sqrt(np.maximum(sq, 0))


def run_faiss(X: np.ndarray, k: int, threads: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    import faiss

    faiss.omp_set_num_threads(threads)
    index = faiss.IndexHNSWFlat(X.shape[1], 32)
    index.hnsw.efConstruction = 80
    Xf = np.ascontiguousarray(X, dtype=np.float32)
    index.add(Xf)
    index.hnsw.efSearch = max(2 * k, 64)
    sq, idx = index.search(Xf, k + 1)
    return idx.astype(np.int64), np.sqrt(np.maximum(sq, 0))


def run_exact(X: np.ndarray, k: int, threads: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from corrclust.candidates import exact_knn

    return exact_knn(X, k)


LIBRARIES = {
    "pynndescent": run_pynndescent,
    "hnswlib": run_hnswlib,
    "faiss-hnsw": run_faiss,
    "exact": run_exact,
}


def drop_self(idx: np.ndarray, dist: np.ndarray, k: int) -> np.ndarray:
    """The k neighbours other than the row itself (a library may or may not return it first)."""
    rows = np.arange(idx.shape[0])[:, None]
    keep = idx != rows
    out = np.empty((idx.shape[0], k), np.int64)
    for i in range(idx.shape[0]):
        out[i] = idx[i][keep[i]][:k]
    return out


def check_exact(checks: Checks, row: str, X: np.ndarray, truth: np.ndarray, dist: np.ndarray, k: int) -> None:
    """The exact blockwise search against numpy's brute force on 16 rows (ties: compare distances)."""
    for i in np.linspace(0, len(truth) - 1, 16).astype(int):
        d = np.sqrt(((X - X[i]) ** 2).sum(axis=1))
        d[i] = np.inf
        want = np.sort(d)[:k]
        checks.expect(
            np.allclose(dist[i], want, rtol=1e-9, atol=1e-9)
            and np.allclose(d[truth[i]], want, rtol=1e-9, atol=1e-9),
            row,
            f"the exact search's neighbours of row {i} are not the brute-force ones",
        )


def check_library(
    checks: Checks, row: str, got: np.ndarray, n: int, k: int, recall: float, exact: bool
) -> None:
    if not checks.expect(got.shape == (min(n, 1000), k), row, f"neighbours of shape {got.shape}"):
        return
    checks.expect(((got >= 0) & (got < n)).all(), row, "a neighbour index outside the data")
    checks.expect((got != np.arange(len(got))[:, None]).all(), row, "a row is its own neighbour")
    checks.expect(all(len(set(r)) == k for r in got.tolist()), row, "a row repeats a neighbour")
    floor = 0.999 if exact else MIN_RECALL
    checks.expect(recall >= floor, row, f"recall@{k} {recall:.4f} below {floor}")


def child(args: argparse.Namespace) -> None:
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    X = np.load(args.data)
    base = rss_mib()
    start = time.perf_counter()
    idx, dist = LIBRARIES[args.library](X, args.k, args.threads, 0)
    seconds = time.perf_counter() - start
    idx = drop_self(np.asarray(idx), np.asarray(dist), args.k) if args.library != "exact" else idx
    np.save(args.data + f".{args.library}.npy", idx[:1000])
    print(json.dumps({"seconds": seconds, "rss_mib": rss_mib(), "rss_growth_mib": rss_mib() - base}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--d", type=int, default=32)
    ap.add_argument("--k", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rbc", help="an .npz from rbc_profiles.py: its standardised profiles are measured too")
    ap.add_argument("--libraries", default="pynndescent,hnswlib,faiss-hnsw")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--library", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return 0
    checks = Checks("bench_knn.py")
    from corrclust.candidates import exact_knn_block
    from corrclust.generators import planted_embeddings

    sets = {f"planted n={args.n} d={args.d}": planted_embeddings(args.n, args.d, seed=0)[0]}
    if args.rbc:
        from corrclust.profiles import standardise

        with np.load(args.rbc) as z:
            F = z["features"]
        F = F[~np.isnan(F).any(axis=1)]
        F = F[np.random.default_rng(0).permutation(len(F))]
        sets[f"RBC profiles n={len(F)}"] = standardise(F, pca=32)
    print(f"load average {os.getloadavg()[0]:.2f} at start; k={args.k}, {args.threads} threads")
    print(f"| data | library | wall s | peak RSS MiB | RSS over data MiB | recall@{args.k} |")
    print("|---|---|---|---|---|---|")
    for name, X in sets.items():
        path = f"/tmp/bench_knn_{os.getpid()}.npy"
        np.save(path, np.ascontiguousarray(X))
        truth, tdist = exact_knn_block(X[:1000], X, args.k, 0)
        check_exact(checks, f"{name}, exact search", X, truth, tdist, args.k)
        for lib in args.libraries.split(","):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    "1",
                    "--library",
                    lib,
                    "--data",
                    path,
                    "--k",
                    str(args.k),
                    "--threads",
                    str(args.threads),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if out.returncode != 0:
                last = out.stderr.strip().splitlines()[-1]
                print(f"| {name} | {lib} | failed: {last} | | | |")
                checks.expect(last.startswith("ModuleNotFoundError"), f"{name}, {lib}", f"failed: {last}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            got = np.load(path + f".{lib}.npy")
            recall = np.mean([len(set(a) & set(b)) / args.k for a, b in zip(got, truth, strict=True)])
            print(
                f"| {name} | {lib} | {r['seconds']:.1f} | {r['rss_mib']:.0f} | {r['rss_growth_mib']:.0f} "
                f"| {recall:.4f} |",
                flush=True,
            )
            check_library(checks, f"{name}, {lib}", got, len(X), args.k, recall, lib == "exact")
            os.remove(path + f".{lib}.npy")
        os.remove(path)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return checks.exit_code()


if __name__ == "__main__":
    raise SystemExit(main())
