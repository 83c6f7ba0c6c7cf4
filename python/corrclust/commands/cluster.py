"""``corrclust cluster``: cluster organoids from a similarity matrix.

    corrclust cluster --similarities S.npz [--symmetrize min|mean|max] [--threshold 0.64]
                      [--method gaec|kl|anytime|exact] [--time-limit S] [--seed N]
                      [--truth CLUSTERS.csv] [--json] [-o CLUSTERING.csv]

``S.npz`` is the output of ``corrclust pqap similarities`` (arrays ``ids`` and ``S``); the paper's
matching-results CSV (its ``quadratic_matching`` block) is read too. The costs are
c_ij = sym(S[i, j], S[j, i]) - threshold (paper-model.md §7.1), solved by ``corrclust.solve``.
With ``--json`` one JSON object is printed (ids, labels, clusters, objective, status, and the
metrics when ``--truth`` is given); ``-o`` writes the clustering in the paper's CSV format.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from typing import Any

import numpy as np

from corrclust.cli import CliError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cluster", help="cluster organoids from a similarity matrix",
                       description="Correlation clustering of organoids from pair similarities.")
    p.add_argument("--similarities", required=True, metavar="S.npz",
                   help="similarity matrix: .npz with ids and S, or a matching-results .csv")
    p.add_argument("--symmetrize", choices=("min", "mean", "max"), default="min",
                   help="how S[i, j] and S[j, i] are combined (default: min, the paper)")
    p.add_argument("--threshold", type=float, default=0.64, help="cost = similarity - threshold (default: 0.64)")
    p.add_argument("--method", choices=("gaec", "kl", "anytime", "exact"), default="kl",
                   help="solver (default: kl)")
    p.add_argument("--time-limit", type=float, default=None, metavar="S", help="wall-clock limit in seconds")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default: 0)")
    p.add_argument("--truth", metavar="CLUSTERS.csv", help="true classes (one per line) for the metrics")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    p.add_argument("-o", "--output", metavar="CLUSTERING.csv", help="write the clusters (one per line)")
    p.set_defaults(func=run)


def load_similarities(path: str) -> tuple[list[int], np.ndarray]:
    """(ids, S) from a ``pqap similarities`` .npz or a matching-results CSV."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"similarity file not found: {path}")
    if path.lower().endswith(".csv"):
        from corrclust.pqap.io import read_matching_results

        m = read_matching_results(path)
        return list(m.ids), m.quadratic_matching
    try:
        with np.load(path, allow_pickle=False) as z:
            if "ids" not in z or "S" not in z:
                raise CliError(f"{path}: expected arrays 'ids' and 'S' (as written by 'corrclust pqap similarities')")
            ids = [int(i) for i in z["ids"]]
            S = np.array(z["S"], dtype=np.float64)
    except (OSError, ValueError) as exc:
        raise CliError(f"{path}: not a readable .npz file ({exc})") from None
    if S.ndim != 2 or S.shape != (len(ids), len(ids)):
        raise CliError(f"{path}: S must be {len(ids)} x {len(ids)} to match ids, got {S.shape}")
    return ids, S


def _jsonable(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, (np.floating,)):
        return _jsonable(float(x))
    if isinstance(x, (np.integer,)):
        return int(x)
    return x


def run(args: argparse.Namespace) -> int:
    from corrclust.formats.clusterings import clusters_from_labels, read_clustering, write_clustering
    from corrclust.metrics import compare
    from corrclust.problem import Problem
    from corrclust.solve import solve

    ids, S = load_similarities(args.similarities)
    if not math.isfinite(args.threshold):
        raise CliError("--threshold must be a finite number")
    problem = Problem.from_similarities(S, threshold=args.threshold, symmetrize=args.symmetrize)
    try:
        res = solve(problem, method=args.method, time_limit=args.time_limit, seed=args.seed)
    except NotImplementedError as exc:
        raise CliError(str(exc)) from None
    clusters = clusters_from_labels(ids, res.labels)
    metrics = None
    if args.truth:
        truth = read_clustering(args.truth)
        where = {i: k for k, c in enumerate(truth) for i in c}
        missing = [i for i in ids if i not in where]
        if missing:
            raise CliError(f"{args.truth}: {len(missing)} organoid(s) have no class, e.g. {missing[:5]}")
        metrics = compare([where[i] for i in ids], res.labels)
    if args.output:
        write_clustering(args.output, clusters, metadata={"matching_results_file": "",
                                                          "clustering_threshold": args.threshold})
    if args.json:
        out = {"ids": ids, "labels": res.labels.tolist(), "clusters": clusters, "n_clusters": res.n_clusters,
               "objective": res.objective, "lower_bound": res.lower_bound, "status": res.status,
               "method": res.method, "runtime": res.runtime, "threshold": args.threshold,
               "symmetrize": args.symmetrize}
        if metrics is not None:
            out["metrics"] = {k: _jsonable(v) for k, v in metrics.items()}
        print(json.dumps({k: _jsonable(v) for k, v in out.items()}))
        return 0
    print(f"{len(ids)} organoids -> {res.n_clusters} clusters ({res.method}, {res.status}); "
          f"objective {res.objective:.6f}" + (f", lower bound {res.lower_bound:.6f}" if res.lower_bound is not None else ""))
    for k, c in enumerate(clusters):
        print(f"  cluster {k}: {', '.join(map(str, c))}")
    if metrics is not None:
        print(f"  VI {metrics['vi']:.4f} (false cuts {metrics['false_cuts']:.4f}, false joins {metrics['false_joins']:.4f}), "
              f"RI {metrics['rand_index']:.4f}, F1 joins {metrics['f1_joins']:.4f}, F1 cuts {metrics['f1_cuts']:.4f}")
    if args.output:
        print(f"wrote {args.output}")
    return 0
