"""``corrclust cluster``: a folder of organoid images -> clusters.csv, similarities.npz and report.html."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from corrclust.pipeline import METHODS, SOLVERS, ClusterOptions


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cluster",
        help="cluster a folder of organoid images and write a report",
        description=(
            "Correlate every pair of images (PQAP key-point matching or a trained twin network), "
            "cluster them by correlation clustering, and write OUT/clusters.csv, OUT/similarities.npz, "
            "PNG figures and OUT/report.html (with --truth also OUT/metrics.json and a sweep). "
            "See docs/cli.md."
        ),
    )
    p.add_argument("images", type=Path, metavar="IMAGES_DIR",
                   help="folder of images: <name>_<id>.tif (class = id // 100), or class sub-folders")
    p.add_argument("-o", "--out", type=Path, required=True, metavar="OUT", help="output folder (created)")
    p.add_argument("--method", choices=METHODS, default="pqap",
                   help="pair correlations: PQAP key-point matching (default) or a twin network (needs --model)")
    p.add_argument("--model", type=Path, help="trained twin-network model (for --method twin)")
    p.add_argument("--solver", choices=SOLVERS, default="kl",
                   help="correlation-clustering solver: kl (GAEC + Kernighan-Lin, default), anytime, exact")
    p.add_argument("--params", type=Path, metavar="P.txt",
                   help="PQAP parameter file (key=value lines); default: the paper's learned parameters")
    p.add_argument("--threshold", type=float, default=0.64,
                   help="PQAP: pairs with min(s_ij, s_ji) above this prefer one cluster (default 0.64)")
    p.add_argument("--bias", type=float, default=0.0,
                   help="twin: added to logit(p); positive favours joins (default 0)")
    p.add_argument("--crop", action="store_true",
                   help="IMAGES_DIR holds whole fields: detect and crop the organoids first (into OUT/crops)")
    p.add_argument("--truth", metavar="TRUTH.csv|auto",
                   help="true classes: a clustering CSV (one line of ids per class), or 'auto' for the classes "
                        "the images carry (ids, class folders or --ids table); adds metrics, a contingency "
                        "table and a sweep")
    p.add_argument("--ids", type=Path, metavar="TABLE.csv", dest="ids_table",
                   help="CSV with header file,id[,class][,subset] listing the images (subsets give per-subset "
                        "metrics)")
    sw = p.add_mutually_exclusive_group()
    sw.add_argument("--sweep", dest="sweep", action="store_true", default=None,
                    help="with --truth: sweep the threshold/bias (default: on when at most 200 images)")
    sw.add_argument("--no-sweep", dest="sweep", action="store_false", help="never sweep")
    p.add_argument("--seed", type=int, default=0, help="random seed of the solver (default 0)")
    p.add_argument("--time-limit", type=float, metavar="SECONDS", help="time limit of each solve")
    p.add_argument("--threads", type=int, help="threads for PQAP matching (default: all cores)")
    p.add_argument("--pqap-mode", choices=("reference", "improved"), default="reference",
                   help="PQAP solver: the paper's heuristics (reference, default) or the improved local search")
    p.add_argument("--correlations", type=Path, metavar="SIMILARITIES.npz",
                   help="reuse the correlations of a previous run (its similarities.npz) instead of computing "
                        "them: re-cluster with another --threshold/--bias/--solver in seconds")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    p.set_defaults(func=run)


def options_from_args(args: argparse.Namespace) -> ClusterOptions:
    return ClusterOptions(
        images_dir=args.images,
        out_dir=args.out,
        method=args.method,
        model=args.model,
        solver=args.solver,
        params=args.params,
        threshold=args.threshold,
        bias=args.bias,
        crop=args.crop,
        truth=args.truth,
        ids_table=args.ids_table,
        sweep=args.sweep,
        seed=args.seed,
        time_limit=args.time_limit,
        threads=args.threads,
        pqap_mode=args.pqap_mode,
        correlations=args.correlations,
        progress=args.progress,
    )


def print_summary(result, stream=None) -> None:
    """The few lines a user wants after a run: where the report is, and the headline numbers."""
    stream = sys.stdout if stream is None else stream
    c = result.clustering
    print(f"{result.correlations.ids.size} images -> {c.n_clusters} cluster{'s' if c.n_clusters != 1 else ''} "
          f"(objective {c.objective:.6g}, {result.seconds:.1f} s)", file=stream)
    ev = result.evaluation
    if ev is not None:
        m = ev.metrics
        print(f"VI {m['vi']:.4f} bits (false cuts {m['false_cuts']:.4f}, false joins {m['false_joins']:.4f}), "
              f"Rand index {100 * m['rand_index']:.2f} %, {m['n_clusters_true']} true classes", file=stream)
    print(f"clusters: {result.files['clusters']}", file=stream)
    print(f"report:   {result.report}", file=stream)


def run(args: argparse.Namespace) -> int:
    from corrclust import pipeline

    result = pipeline.run(options_from_args(args))
    print_summary(result)
    return 0
