"""``corrclust cluster``: organoid images (or a similarity matrix) -> clusters, metrics and a report.

Two modes share this command:

* **Images** (the front door)::

      corrclust cluster IMAGES_DIR -o OUT [--method profile|pqap|twin] [--model M] [--solver kl|anytime|exact]
                        [--params P.txt] [--threshold T] [--bias B] [--crop] [--truth TRUTH.csv|auto]
                        [--ids TABLE.csv] [--similarities S.npz] ...

  runs :func:`corrclust.pipeline.run` and writes OUT/clusters.csv, OUT/similarities.npz, the figures
  and OUT/report.html (with a truth also OUT/metrics.json and the sweep). With ``--similarities``
  the correlations of a previous run (or of ``corrclust pqap similarities``) are reused instead of
  being computed.

* **Matrix only** (no IMAGES_DIR)::

      corrclust cluster --similarities S.npz [--symmetrize min|mean|max] [--threshold 0.64]
                        [--bias B] [--method gaec|kl|anytime|exact] [--time-limit S] [--seed N]
                        [--truth CLUSTERS.csv] [--json] [-o CLUSTERING.csv]

  ``S.npz`` is the output of ``corrclust pqap similarities`` (arrays ``ids`` and ``S``) or of
  ``corrclust twin predict`` (``ids`` and ``P``); the paper's matching-results CSV (its
  ``quadratic_matching`` block) is read too. The costs are c_ij = sym(S[i, j], S[j, i]) - threshold
  (paper-model.md §7.1) or logit(sym(P[i, j], P[j, i])) + bias, solved by ``corrclust.solve``.
  With ``--json`` one JSON object is printed (ids, labels, clusters, objective, status, and the
  metrics when ``--truth`` is given); ``-o`` writes the clustering in the paper's CSV format.
  Here ``--method`` names the solver (``--solver`` works too).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from corrclust.cli_support import CliError, add_progress_flag, add_read_arguments, positive_int, read_options
from corrclust.jsonable import jsonable
from corrclust.pipeline import METHODS, ClusterOptions, get_route
from corrclust.pipeline.routes import AUTO

#: The ``dest`` of every option a route added to this command (pipeline/routes/__init__.py).
_ROUTE_DESTS: dict[str, list[str]] = {}
#: The parser defaults of the routes' own options (an option that differs names its route when --method is not given).
_ROUTE_DEFAULTS: dict[str, object] = {}

# Solvers accepted in the matrix-only mode (gaec is a fast heuristic without a report-worthy quality).
MATRIX_SOLVERS = ("gaec", "kl", "anytime", "exact")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cluster",
        help="cluster a folder of organoid images (or a similarity matrix) and write a report",
        description=(
            "Correlate every pair of images (PQAP key-point matching or a trained twin network), "
            "cluster them by correlation clustering, and write OUT/clusters.csv, OUT/similarities.npz, "
            "PNG figures and OUT/report.html (with --truth also OUT/metrics.json and a sweep). "
            "Without IMAGES_DIR, cluster the matrix of --similarities only (no report). See docs/cli.md."
        ),
    )
    p.add_argument(
        "images",
        type=Path,
        metavar="IMAGES_DIR",
        nargs="?",
        help="folder of images: <name>_<id>.tif (class = id // 100), or class sub-folders",
    )
    p.add_argument(
        "-o",
        "--out",
        "--output",
        dest="out",
        type=Path,
        metavar="OUT",
        help="output folder (with IMAGES_DIR); the clustering CSV to write (matrix-only mode)",
    )
    p.add_argument(
        "--method",
        choices=METHODS + MATRIX_SOLVERS,
        default=None,
        help="pair correlations: profile (morphology profiles, no labels), pqap (the paper's key "
        "points) or twin (needs --model). Default: pqap when every image has the key-point "
        "channels (4 or more), else profile. In the matrix-only mode: the solver (gaec, kl, "
        "anytime, exact)",
    )
    p.add_argument("--model", type=Path, help="trained twin-network model (for --method twin)")
    p.add_argument(
        "--solver",
        choices=MATRIX_SOLVERS,
        default=None,
        help="correlation-clustering solver: kl (GAEC + Kernighan-Lin, default), anytime, exact "
        "(gaec in the matrix-only mode)",
    )
    p.add_argument(
        "--params",
        type=Path,
        metavar="P.txt",
        help="PQAP parameter file (key=value lines); default: the paper's learned parameters",
    )
    p.add_argument(
        "--threshold",
        type=float,
        default=0.64,
        help="PQAP: pairs with min(s_ij, s_ji) above this prefer one cluster (default 0.64)",
    )
    p.add_argument(
        "--symmetrize",
        choices=("min", "mean", "max"),
        default=None,
        help="how S[i, j] and S[j, i] are combined (default: min for PQAP, mean for twin)",
    )
    p.add_argument(
        "--bias", type=float, default=0.0, help="twin: added to logit(p); positive favours joins (default 0)"
    )
    p.add_argument(
        "--crop",
        action="store_true",
        help="IMAGES_DIR holds whole fields: detect and crop the organoids first (into OUT/crops)",
    )
    p.add_argument(
        "--truth",
        metavar="TRUTH.csv|auto",
        help="true classes: a clustering CSV (one line of ids per class), or 'auto' for the classes "
        "the images carry (ids, class folders or --ids table); adds metrics, a contingency "
        "table and a sweep",
    )
    p.add_argument(
        "--ids",
        type=Path,
        metavar="TABLE.csv",
        dest="ids_table",
        help="CSV with header file,id[,class][,subset] listing the images (subsets give per-subset metrics)",
    )
    p.add_argument(
        "--similarities",
        "--correlations",
        dest="similarities",
        type=Path,
        metavar="S.npz",
        help="a similarity (S) or probability (P) matrix with its ids: a previous run's "
        "similarities.npz, 'corrclust pqap similarities' output or a matching-results CSV. "
        "With IMAGES_DIR it replaces the matching (re-cluster in seconds); alone, it is clustered "
        "without a report",
    )
    sw = p.add_mutually_exclusive_group()
    sw.add_argument(
        "--sweep",
        dest="sweep",
        action="store_true",
        default=None,
        help="with --truth: sweep the threshold/bias (default: on when at most 200 images)",
    )
    sw.add_argument("--no-sweep", dest="sweep", action="store_false", help="never sweep")
    p.add_argument("--seed", type=int, default=0, help="random seed of the solver (default 0)")
    p.add_argument("--time-limit", type=float, metavar="SECONDS", help="time limit of each solve")
    p.add_argument("--threads", type=int, help="threads for PQAP matching (default: all cores)")
    p.add_argument(
        "--pqap-mode",
        choices=("reference", "improved"),
        default="reference",
        help="PQAP solver: the paper's heuristics (reference, default) or the improved local search",
    )
    p.add_argument("--json", action="store_true", help="matrix-only mode: print one JSON object")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --embeddings: compute the kNN blocks and pair costs on this Dask scheduler "
        "(tcp://host:8786); finished blocks are kept under OUT/blocks and a rerun skips them "
        "(docs/distributed.md)",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="with --embeddings: the same on a local Dask cluster of N worker processes",
    )
    p.add_argument(
        "--feedback",
        type=Path,
        metavar="FEEDBACK.csv",
        help="the expert's answers (a,b,answer[,time,source]; e.g. OUT/feedback.csv written by "
        "'corrclust review'): same -> one cluster, different -> apart, unsure ignored",
    )
    p.add_argument(
        "--feedback-calibrate",
        dest="calibrate",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="with --feedback: fit the threshold (similarities) or bias (probabilities) to the "
        "answers, so that each answer also moves the other pairs (default: off)",
    )
    add_read_arguments(
        p,
        channels_help="PQAP: B,G,R, the planes of the key points' blue nuclei, green nuclei and red "
        "membranes (default 0,1,3); twin: the planes fed to the network, in order. "
        "By index or channel name, '-' for none (--channels=-,-,0 works too)",
    )
    add_progress_flag(p)
    for name in METHODS:  # options of a single route, in a group of their own
        add = getattr(get_route(name), "add_arguments", None)
        if add is not None:
            group = p.add_argument_group(f"options of --method {name}")
            add(group)
            _ROUTE_DESTS[name] = [action.dest for action in group._group_actions]
            _ROUTE_DEFAULTS.update({action.dest: action.default for action in group._group_actions})
    p.set_defaults(func=run)


def options_from_args(args: argparse.Namespace) -> ClusterOptions:
    if args.out is None:
        raise CliError("the output folder is missing: pass -o OUT")
    if args.json:
        raise CliError("--json applies only without IMAGES_DIR (the matrix-only mode)")
    method, solver = args.method, args.solver
    if method in MATRIX_SOLVERS:  # the matrix-only spelling: --method names the solver
        if solver is not None and solver != method:
            raise CliError(f"--method {method} and --solver {solver} disagree; use --solver alone")
        method, solver = None, method
    if solver == "gaec":
        raise CliError("--solver gaec is for the matrix-only mode; with images use kl, anytime or exact")
    if method is None:
        given = [
            d for d in _ROUTE_DESTS.get("profile", ()) if getattr(args, d, None) != _ROUTE_DEFAULTS.get(d)
        ]
        # a profile option or a model names the route; otherwise the images choose (pipeline.routes.default_route)
        method = "twin" if args.model is not None else "profile" if given else AUTO
    return ClusterOptions(
        images_dir=args.images,
        out_dir=args.out,
        method=method,
        model=args.model,
        solver=solver or "kl",
        params=args.params,
        threshold=args.threshold,
        bias=args.bias,
        symmetrize=args.symmetrize,
        crop=args.crop,
        truth=args.truth,
        ids_table=args.ids_table,
        sweep=args.sweep,
        seed=args.seed,
        time_limit=args.time_limit,
        threads=args.threads,
        pqap_mode=args.pqap_mode,
        correlations=args.similarities,
        progress=args.progress,
        feedback=args.feedback,
        calibrate=args.calibrate,
        route_options={
            dest: getattr(args, dest)
            for name in ((method,) if method != AUTO else METHODS)
            for dest in _ROUTE_DESTS.get(name, ())
        },
        read=read_options(args),
        name_pattern=args.name_pattern,
    )


def print_summary(result, stream=None) -> None:
    """The few lines a user wants after a run: where the report is, and the headline numbers."""
    stream = sys.stdout if stream is None else stream
    c = result.clustering
    print(
        f"{result.correlations.ids.size} images -> {c.n_clusters} cluster{'s' if c.n_clusters != 1 else ''} "
        f"(objective {c.objective:.6g}, {result.seconds:.1f} s)",
        file=stream,
    )
    ev = result.evaluation
    if ev is not None:
        m = ev.metrics
        print(
            f"VI {m['vi']:.4f} bits (false cuts {m['false_cuts']:.4f}, false joins {m['false_joins']:.4f}), "
            f"Rand index {100 * m['rand_index']:.2f} %, {m['n_clusters_true']} true classes",
            file=stream,
        )
    assessment = getattr(result, "assessment", None)
    for finding in getattr(assessment, "findings", []):
        print(f"warning: {finding}", file=stream)
    print(f"clusters: {result.files['clusters']}", file=stream)
    print(f"report:   {result.report}", file=stream)


def run(args: argparse.Namespace) -> int:
    if args.scheduler is not None or args.workers is not None:
        if getattr(args, "embeddings", None) is None:
            raise CliError("--scheduler and --workers apply to --embeddings (feature vectors)")
        return run_distributed(args)
    if args.images is None:
        if args.similarities is None:
            raise CliError(
                "pass IMAGES_DIR (a folder of images), or --similarities S.npz to cluster a matrix"
            )
        return run_matrix(args)
    from corrclust import pipeline

    result = pipeline.run(options_from_args(args))
    print_summary(result)
    return 0


# ------------------------------------------------------------------------------ matrix-only mode
def run_matrix(args: argparse.Namespace) -> int:
    """Cluster the matrix of ``--similarities`` (no images, no report).

    S (similarities) gives the costs ``sym(s_ij, s_ji) - threshold``, P (probabilities, e.g. ``corrclust
    twin predict`` output) the costs ``logit(sym(p_ij, p_ji)) + bias``. A truth that covers only some
    ids is handled by the rule of :mod:`corrclust.pipeline.truth`.
    """
    from corrclust.formats.clusterings import clusters_from_labels, read_clustering, write_clustering
    from corrclust.metrics import compare
    from corrclust.pipeline import load_correlations, truth_from_clusters
    from corrclust.solve import solve

    if args.method in METHODS:
        raise CliError(
            f"--method {args.method} needs IMAGES_DIR; to cluster a matrix, pick a solver with --solver"
        )
    method = args.solver or args.method or "kl"
    corr = load_correlations(
        str(args.similarities), threshold=args.threshold, bias=args.bias, symmetrize=args.symmetrize
    )
    ids = [int(i) for i in corr.ids]
    if not math.isfinite(corr.parameter):
        raise CliError(f"--{corr.parameter_name} must be a finite number")
    must = cannot = use = None
    if args.feedback is not None:
        from corrclust.pipeline.answers import use_feedback

        use = use_feedback(corr, args.feedback, calibrate=args.calibrate)
        corr, must, cannot = use.corr, use.must_link, use.cannot_link
        if use.n_skipped:
            print(
                f"{args.feedback}: {use.n_skipped} answer(s) naming ids not in the matrix skipped",
                file=sys.stderr,
            )
    elif args.calibrate:
        raise CliError("--feedback-calibrate needs --feedback")
    problem = corr.problem()
    try:
        res = solve(
            problem,
            method=method,
            time_limit=args.time_limit,
            seed=args.seed,
            must_link=must if must is not None and must.size else None,
            cannot_link=cannot if cannot is not None and cannot.size else None,
        )
    except NotImplementedError as exc:
        raise CliError(str(exc)) from None
    clusters = clusters_from_labels(ids, res.labels)
    metrics = None
    if args.truth:
        truth = truth_from_clusters(read_clustering(args.truth), ids, str(args.truth))
        metrics = compare([c for c in truth.classes if c is not None], res.labels[truth.known])
    if corr.kind == "similarity":
        metadata = {"matching_results_file": "", "clustering_threshold": corr.parameter}
    else:
        metadata = {"probabilities_file": "", "bias": corr.parameter}
    if args.out:
        write_clustering(args.out, clusters, metadata=metadata)
    if args.json:
        out = {
            "ids": ids,
            "labels": res.labels.tolist(),
            "clusters": clusters,
            "n_clusters": res.n_clusters,
            "objective": res.objective,
            "lower_bound": res.lower_bound,
            "status": res.status,
            "method": res.method,
            "runtime": res.runtime,
            corr.parameter_name: corr.parameter,
            "symmetrize": corr.symmetrization,
        }
        if metrics is not None:
            out["metrics"] = metrics
        if use is not None:
            out["feedback"] = {
                "same": int(use.must_link.shape[0]),
                "different": int(use.cannot_link.shape[0]),
                "skipped": use.n_skipped,
            }
        print(json.dumps(jsonable(out)))
        return 0
    bound = f", lower bound {res.lower_bound:.6f}" if res.lower_bound is not None else ""
    print(
        f"{len(ids)} organoids -> {res.n_clusters} clusters ({res.method}, {res.status}); "
        f"objective {res.objective:.6f}{bound}"
    )
    for k, c in enumerate(clusters):
        print(f"  cluster {k}: {', '.join(map(str, c))}")
    if metrics is not None:
        print(
            f"  VI {metrics['vi']:.4f} (false cuts {metrics['false_cuts']:.4f}, "
            f"false joins {metrics['false_joins']:.4f}), "
            f"RI {metrics['rand_index']:.4f}, F1 joins {metrics['f1_joins']:.4f}, F1 cuts {metrics['f1_cuts']:.4f}"
        )
    if args.out:
        print(f"wrote {args.out}")
    return 0


# ------------------------------------------------------------------------------ on a Dask cluster
def run_distributed(args: argparse.Namespace) -> int:
    """``--embeddings E.npy`` with ``--scheduler ADDRESS`` or ``--workers N``: the kNN blocks and
    the pair costs on Dask (:mod:`corrclust.distributed`), the solve here; writes OUT/clusters.csv
    (id, cluster; streamed) and, with ``--truth``, OUT/metrics.json. Finished blocks stay under
    OUT/blocks, so a rerun after an interruption computes only the missing ones."""
    import numpy as np

    from corrclust import distributed
    from corrclust.formats.cluster_table import write_cluster_table

    if args.out is None:
        raise CliError("the output folder is missing: pass -o OUT")
    if args.scheduler is not None and args.workers is not None:
        raise CliError("--workers starts a local cluster; a --scheduler brings its own workers: give one")
    path = Path(args.embeddings)
    try:
        X = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise CliError(f"{path}: not a numpy .npy array ({exc})") from None
    try:
        X = distributed.check_features(X, name=str(path))
    except ValueError as exc:
        raise CliError(str(exc)) from None
    ids = np.arange(X.shape[0], dtype=np.int64)  # the row numbers (an --ids table: see --embeddings)
    res = distributed.cluster_embeddings(
        X,
        method=args.solver or "kl",
        seed=args.seed,
        scheduler=args.scheduler,
        workers=args.workers,
        run_dir=Path(args.out) / "blocks",
        progress=args.progress,
    )
    write_cluster_table(Path(args.out) / "clusters.csv", ids, res.labels + 1)
    if args.truth:
        from corrclust.formats.clusterings import read_clustering
        from corrclust.formats.metrics_file import write_metrics
        from corrclust.pipeline import truth_from_clusters

        truth = truth_from_clusters(read_clustering(args.truth), ids, str(args.truth))
        known = truth.known
        write_metrics(
            Path(args.out) / "metrics.json",
            np.asarray([c for c in truth.classes if c is not None]),
            res.labels[known] + 1,
            {"truth": str(args.truth)},
        )
    print(
        f"{X.shape[0]} rows -> {res.n_clusters} clusters (objective {res.objective:.6g}; "
        + ", ".join(f"{k} {v:.1f} s" for k, v in res.seconds.items())
        + (f"; {res.reused} blocks reused" if res.reused else "")
        + ")"
    )
    print(f"clusters: {Path(args.out) / 'clusters.csv'}")
    return 0
