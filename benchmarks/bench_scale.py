"""Clustering feature vectors at scale: the sparse kNN path against the dense one (issue 18).

Each case runs in a fresh process (its peak RSS is that process's VmHWM, data included):

* synthetic embeddings with planted classes (:func:`corrclust.generators.planted_embeddings`,
  d = 32, classes of 10 rows, the size the label-free rule's neighbourhood of 7 recovers) at
  n = 10^4 (dense and sparse, k = 10 and 30, same run), 3 x 10^4 and 10^5 (sparse, k = 30), and
  10^6 with ``--million``;
* the standardised morphology profiles of the RBC cells (``rbc_profiles.py``'s cache; classes =
  the dataset's 13 cell types), dense and sparse, on all cells profiled or, with ``--rbc-n``, on
  random subsets of them (drawn with seed 0, standardised on the subset); the dense case runs where
  its matrices (32 n^2 bytes) fit in ``--dense-budget-gib``; next to them the peer a user would use
  instead, scikit-learn's KMeans told the number of cell types (13; n_init 10, seed 0).

Reported: wall time (kNN + costs + solve) and the solve's share, peak RSS, VI (bits) against the
planted classes, clusters, VI between the sparse and the dense labels where both ran, the sparse
path's VI to the truth minus the dense path's (the comparable quality figure: two dense solvers
already differ by VI 1.3 from each other on the RBC profiles), and the dense objective of the sparse
labels next to the sparse path's ``objective_all_pairs``. Each sparse case at n = 10^4 and on RBC
runs with and without the refinement on the exact pairs around the clusters
(:mod:`corrclust.cluster_refinement`, ``--refine on,off``; the larger ones with the first value);
``--rbc-seed`` draws other RBC subsets. The sparse cases
at n = 10^4 and on RBC run once per ``--background`` value (default ``auto,0``: the pairs outside
the graph at their estimated mean cost in the solve, and at 0 as before it), the larger ones with
the first value. The operating point (neighbours 7, granularity 0, solver kl, seed 0, k = 10/30)
was fixed before measuring.

Checks (a failure is one line on stderr and exit code 1): each case's labels are one per row, and
its clusters column the number of distinct labels; its VI recomputed from the saved labels; the
dense path's objective equal to :func:`dense_objective` of its labels (the script's own blockwise
formula); the first sparse case of at most 20,000 rows (exact kNN) run a second time gives the same
labels; a case that fails is a failure. ``--quick``: the planted cases at n = 2,000 only.

    python benchmarks/bench_scale.py [--rbc build/rbc-profiles.npz] [--rbc-n 5000,10000,all]
        [--rbc-seed 0] [--dense-budget-gib 6] [--million] [--threads 2] [--background auto,0]
        [--refine on,off] [--no-large] [--no-planted] [--extra N:K,...] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
from checks import Checks


def hwm_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def load(case: dict) -> tuple[np.ndarray, np.ndarray]:
    if case["data"] == "planted":
        from corrclust.generators import planted_embeddings

        return planted_embeddings(case["n"], case.get("d", 32), seed=0)
    from corrclust.profiles import feature_names, standardise

    with np.load(case["data"]) as z:
        F, done = z["features"], z["done"]
    classes = np.asarray(z_classes(case["shared"]))
    keep = done & ~np.isnan(F).any(axis=1)
    F, classes = F[keep], classes[keep]
    if case.get("subset") and case["subset"] < len(F):
        rng = np.random.default_rng(case.get("subset_seed", 0))
        pick = np.sort(rng.choice(len(F), case["subset"], replace=False))
        F, classes = F[pick], classes[pick]
    _, groups = feature_names(3)
    return standardise(F, groups), classes


def z_classes(shared: str) -> list[int]:
    from corrclust.images.rbc import read_points

    return [p.class_id for p in read_points(os.path.join(shared, "data", "rbc-morphology", "points.csv"))]


def kmeans_child(case: dict) -> dict:
    """The peer a user would reach for: scikit-learn's KMeans told the number of true classes."""
    from sklearn.cluster import KMeans

    from corrclust.metrics import variation_of_information

    X, truth = load(case)
    start = time.perf_counter()
    labels = KMeans(n_clusters=len(np.unique(truth)), n_init=10, random_state=0).fit_predict(X)
    np.save(case["labels_out"], labels)
    return {
        "n": int(X.shape[0]),
        "path": "kmeans",
        "k": None,
        "knn": None,
        "wall_s": time.perf_counter() - start,
        "seconds": {},
        "peak_rss_mib": hwm_mib(),
        "vi": variation_of_information(truth, labels)[0],
        "clusters": int(np.unique(labels).size),
        "objective_all_pairs": float("nan"),
        "pairs": 0,
        "background": None,
    }


def child(case: dict) -> dict:
    from corrclust.embedding_clustering import cluster_embeddings
    from corrclust.metrics import variation_of_information

    if case["path"] == "kmeans":
        return kmeans_child(case)
    X, truth = load(case)
    start = time.perf_counter()
    r = cluster_embeddings(
        X,
        path=case["path"],
        graph_k=case.get("k", 30),
        knn="auto",
        threads=case["threads"],
        dense_max_n=10**7,
        background=case.get("background", "auto"),
        refine=case.get("refine", True),
    )
    wall = time.perf_counter() - start
    out = {
        "n": int(X.shape[0]),
        "path": r.path,
        "k": r.graph_k,
        "knn": r.knn,
        "wall_s": wall,
        "seconds": r.seconds,
        "peak_rss_mib": hwm_mib(),
        "vi": variation_of_information(truth, r.labels)[0],
        "clusters": r.n_clusters,
        "objective_all_pairs": r.objective_all_pairs,
        "pairs": r.pairs,
        "background": r.background,
        "refined": r.refinement is not None and bool(r.refinement.pairs),
    }
    np.save(case["labels_out"], r.labels)
    return out


def dense_objective(case: dict, labels: np.ndarray, block: int = 500) -> float:
    """The dense rule's objective of ``labels``, computed block of rows by block of rows (the n x n
    matrices of 22,106 RBC cells would take 15.6 GB): the same scales (the 7th neighbour's distance)
    and the same cost formula as :func:`corrclust.feature_costs.costs_from_features`."""
    from scipy.spatial.distance import cdist

    from corrclust.candidates import exact_knn
    from corrclust.feature_costs import K_NEIGHBOURS, costs_of_scaled, local_scales

    X, _ = load(case)
    sigma = local_scales(exact_knn(X, K_NEIGHBOURS)[1], K_NEIGHBOURS)
    total = 0.0
    for start in range(0, len(labels), block):
        stop = min(start + block, len(labels))
        S = cdist(X[start:stop], X) ** 2 / np.outer(sigma[start:stop], sigma)
        C = costs_of_scaled(S)
        total += float(C[labels[start:stop, None] != labels[None, :]].sum())
    return total / 2


def run_case(case: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, __file__, "--case", json.dumps(case)],
        capture_output=True,
        text=True,
        check=False,
    )


def check_case(checks: Checks, row: str, case: dict, r: dict, labels: np.ndarray) -> None:
    """The saved labels against what the row reports (a share of the case's own time: one load of the
    data, one VI, and on the dense path the blockwise objective)."""
    from corrclust.metrics import variation_of_information

    if not checks.labels(labels, r["n"], row):
        return
    distinct = int(np.unique(labels).size)
    checks.expect(
        r["clusters"] == distinct, row, f"{r['clusters']} clusters reported, {distinct} distinct labels"
    )
    _, truth = load(case)
    checks.close(r["vi"], variation_of_information(truth, labels)[0], row, "VI", rtol=1e-9, atol=1e-12)
    if r["path"] == "dense":
        checks.close(
            r["objective_all_pairs"], dense_objective(case, labels), row, "dense objective", rtol=1e-6
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rbc", help="rbc_profiles.py's cache (.npz); the cells profiled so far are used")
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
    ap.add_argument(
        "--rbc-n",
        default="all",
        help="RBC: cell counts to run, random subsets of the profiled cells (seed 0) or 'all' (default all)",
    )
    ap.add_argument(
        "--dense-budget-gib",
        type=float,
        default=6.0,
        help="run the dense case only where its matrices (32 n^2 bytes) fit in this (default 6 GiB)",
    )
    ap.add_argument("--million", action="store_true", help="also n = 10^6 (sparse, k = 30)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--d", type=int, default=32, help="dimension of the planted embeddings (default 32)")
    ap.add_argument("--no-planted", action="store_true", help="only the RBC profiles")
    ap.add_argument("--no-large", action="store_true", help="planted: only n = 10^4 (no 3 x 10^4, 10^5)")
    ap.add_argument(
        "--background", default="auto,0", help="background values of the sparse cases (default auto,0)"
    )
    ap.add_argument(
        "--refine",
        default="on,off",
        help="sparse cases at n = 10^4 and on RBC: with the refinement on the exact pairs around the "
        "clusters (on), without (off), or both (default on,off); larger cases: the first",
    )
    ap.add_argument("--rbc-seed", type=int, default=0, help="RBC: the seed of the random subsets (default 0)")
    ap.add_argument(
        "--extra", metavar="N:K,...", default="", help="further sparse planted cases, e.g. 10000:60,30000:60"
    )
    ap.add_argument("--quick", action="store_true", help="planted: n = 2,000 only (a check that it runs)")
    ap.add_argument("--case", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        print(json.dumps(child(json.loads(args.case))))
        return 0
    checks = Checks("bench_scale.py")
    small = 2_000 if args.quick else 10_000
    if args.quick:
        args.no_large = True
    from corrclust.metrics import variation_of_information

    backgrounds = [b.strip() for b in args.background.split(",") if b.strip()]
    first = backgrounds[0]
    refines = [{"on": True, "off": False}[v.strip()] for v in args.refine.split(",") if v.strip()]
    ref0 = refines[0]
    cases: list[dict] = [{"data": "planted", "n": small, "path": "dense"}]
    cases += [
        {"data": "planted", "n": small, "path": "sparse", "k": k, "background": b, "refine": r}
        for k in (10, 30)
        for b in backgrounds
        for r in refines
    ]
    if not args.no_large:
        cases += [
            {"data": "planted", "n": n, "path": "sparse", "k": 30, "background": first, "refine": ref0}
            for n in (30_000, 100_000)
        ]
    if args.no_planted:
        cases = []
    for item in filter(None, args.extra.split(",")):
        n, k = item.split(":")
        cases.append(
            {
                "data": "planted",
                "n": int(n),
                "path": "sparse",
                "k": int(k),
                "background": first,
                "refine": ref0,
            }
        )
    if args.million:
        cases.append(
            {
                "data": "planted",
                "n": 1_000_000,
                "path": "sparse",
                "k": 30,
                "background": first,
                "refine": ref0,
            }
        )
    if args.rbc:
        with np.load(args.rbc) as z:
            profiled = int((z["done"] & ~np.isnan(z["features"]).any(axis=1)).sum())
        for item in filter(None, (s.strip() for s in args.rbc_n.split(","))):
            m = profiled if item == "all" else min(int(item), profiled)
            rbc = {"data": args.rbc, "shared": args.shared, "n": m, "subset": m, "subset_seed": args.rbc_seed}
            if 32 * m * m <= args.dense_budget_gib * 2**30:
                cases.append(rbc | {"path": "dense"})
            else:
                print(f"RBC, {m} cells: no dense case (32 n^2 bytes = {32 * m * m / 2**30:.1f} GiB)")
            cases += [
                rbc | {"path": "sparse", "k": 30, "background": b, "refine": r}
                for b in backgrounds
                for r in refines
            ]
            cases.append(rbc | {"path": "kmeans"})
    print(f"load average {os.getloadavg()[0]:.2f} at start, {os.cpu_count()} cores, {args.threads} threads")
    print(
        "| data | n | path | k | background | refined | kNN | wall s | solve s | refine s | peak RSS MiB | VI "
        "| clusters | VI vs dense | VI - dense VI | dense obj. | objective_all_pairs |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    dense_labels: dict[str, np.ndarray] = {}
    dense_vi: dict[str, float] = {}
    rss: list[tuple[int, float]] = []
    again_done = False
    for case in cases:
        case = case | {
            "threads": args.threads,
            "d": args.d,
            "labels_out": f"/tmp/bench_scale_{os.getpid()}.npy",
        }
        out = run_case(case)
        name = f"planted d={args.d}" if case["data"] == "planted" else "RBC profiles"
        row = f"{name}, n={case['n']}, {case['path']}" + (
            f", k={case['k']}, background {case['background']}, refine {case['refine']}"
            if case["path"] == "sparse"
            else ""
        )
        if out.returncode != 0:
            last = out.stderr.strip().splitlines()[-1]
            print(f"| {name} | {case['n']} | {case['path']} | failed: {last} |")
            checks.expect(False, row, f"failed: {last}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        labels = np.load(case["labels_out"])
        check_case(checks, row, case, r, labels)
        if r["path"] == "sparse" and r["n"] <= 20_000 and not again_done:
            again_done = True  # once: the exact kNN and the solve are seeded, so a rerun is the same
            rerun = run_case(case)
            same = rerun.returncode == 0 and np.array_equal(np.load(case["labels_out"]), labels)
            checks.expect(same, row, "a second run with the same seed gave other labels")
        key = f"{name}-{r['n']}"
        vs, gap, dobj = "", "", ""
        if r["path"] == "dense":
            dense_labels[key] = labels
            dense_vi[key] = r["vi"]
        elif key in dense_labels:
            vs = f"{variation_of_information(dense_labels[key], labels)[0]:.3f}"
            gap = f"{r['vi'] - dense_vi[key]:+.3f}"
            dobj = f"{dense_objective(case, labels):.4g}"
        if (
            r["path"] == "sparse"
            and case["data"] == "planted"
            and r["k"] == 30
            and case["background"] == first
            and case["refine"] == ref0
        ):
            rss.append((r["n"], r["peak_rss_mib"]))
        b = "" if r["background"] is None else f"{case['background']} ({r['background']:.3g})"
        refined = "" if r["path"] != "sparse" else ("yes" if r.get("refined") else "no")
        sec = r["seconds"]
        print(
            f"| {name} | {r['n']} | {r['path']} | {r['k'] or ''} | {b} | {refined} | {r['knn'] or ''} "
            f"| {r['wall_s']:.1f} | {'' if 'solve' not in sec else format(sec['solve'], '.1f')} "
            f"| {'' if 'refine' not in sec else format(sec['refine'], '.1f')} "
            f"| {r['peak_rss_mib']:.0f} | {r['vi']:.3f} | {r['clusters']} | {vs} | {gap} | {dobj} "
            f"| {'' if r['path'] == 'kmeans' else format(r['objective_all_pairs'], '.4g')} |",
            flush=True,
        )
    if len(rss) >= 2:
        n, m = np.array(rss, dtype=float).T
        slope, icpt = np.polyfit(n, m, 1)
        print(
            f"peak RSS fit (sparse, k = 30): {icpt:.0f} MiB + {slope * 1e3:.3f} MiB per 1,000 rows; "
            f"residuals {np.round(m - (icpt + slope * n)).tolist()} MiB; "
            f"at 10^6 rows it predicts {icpt + slope * 1e6:.0f} MiB"
        )
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return checks.exit_code()


if __name__ == "__main__":
    raise SystemExit(main())
