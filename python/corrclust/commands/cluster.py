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

* **Feature vectors** (no IMAGES_DIR)::

      corrclust cluster --embeddings E.npy [--ids IDS.csv] -o OUT [--pairs auto|all|knn]
                        [--dense-max-n N] [--knn-k 30] [--knn auto|exact|faiss]
                        [--background auto|0|B] [--no-refine]
                        [--neighbours K] [--granularity G] [--solver kl|anytime|gaec] [--seed N]

  ``E.npy`` is an ``(n, d)`` float array (any route's embeddings or profiles, or another tool's);
  ``IDS.csv`` a CSV with an ``id`` column, one row per row of E (default: the row numbers 0..n-1).
  :func:`corrclust.embedding_clustering.cluster_embeddings` clusters the rows by the label-free
  rule, densely up to ``--dense-max-n`` rows (default 20,000) and on a k-nearest-neighbour graph
  above it (said on stderr); there the pairs outside the graph cost ``--background`` in the solve
  (default auto: their estimated mean cost; docs/sparse.md), and the rows are then solved again
  (GAEC, node moves and joins) with the exact costs of the pairs inside and between neighbouring
  clusters (``--no-refine``: not). Writes OUT/clusters.csv (``id,cluster``) and OUT/summary.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from corrclust.cli_support import (
    CliError,
    add_feedback_propagate_flag,
    add_progress_flag,
    add_read_arguments,
    positive_int,
    read_options,
)
from corrclust.jsonable import jsonable
from corrclust.pipeline import METHODS, ClusterOptions, get_route, number_clusters
from corrclust.pipeline.routes import AUTO

#: The ``dest`` of every option a route added to this command (pipeline/routes/__init__.py).
_ROUTE_DESTS: dict[str, list[str]] = {}
#: The parser defaults of the routes' own options (an option that differs names its route when --method is not given).
_ROUTE_DEFAULTS: dict[str, object] = {}
#: The flag of each of those options, as the user types it (for the message that names it).
_ROUTE_FLAGS: dict[str, str] = {}

# Solvers accepted in the matrix-only mode (gaec is a fast heuristic without a report-worthy quality).
MATRIX_SOLVERS = ("gaec", "kl", "anytime", "exact")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cluster",
        help="cluster a folder of organoid images (or a similarity matrix) and write a report",
        description=(
            "Correlate every pair of images (label-free morphology profiles, PQAP key-point matching, "
            "a trained twin network or a self-supervised embedding), "
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
        help="folder of images: <name>_<id>.tif (class = id // 100), class sub-folders, or subset "
        "sub-folders (docs/cli.md)",
    )
    p.add_argument(
        "-o",
        "--out",
        "--output",
        dest="out",
        type=str,  # made a Path in run(), after noting a trailing slash (Path drops it)
        metavar="OUT",
        help="output folder (with IMAGES_DIR); the clustering CSV to write (matrix-only mode)",
    )
    p.add_argument(
        "--method",
        choices=METHODS + MATRIX_SOLVERS,
        default=None,
        help="pair correlations: profile (morphology profiles, no labels), pqap (the paper's key "
        "points), twin (needs --model) or ssl (a self-supervised network trained on the folder's "
        "own crops). Default: twin with --model, profile with a profile option, else pqap when "
        "every image has the key-point channels (4 or more), else profile. In the matrix-only mode: "
        "the solver (gaec, kl, anytime, exact)",
    )
    p.add_argument(
        "--model",
        type=Path,
        help="trained twin-network model (for --method twin), or a model from 'corrclust ssl train' "
        "(for --method ssl: its training is skipped)",
    )
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
        help="how S[i, j] and S[j, i] are combined (default: min for PQAP, mean for twin, profile and ssl)",
    )
    p.add_argument(
        "--bias",
        type=float,
        default=0.0,
        help="twin: added to logit(p); ssl: added to the rule's costs; positive favours joins (default 0; "
        "--method profile: use --granularity)",
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
        help="CSV with header file,id[,class][,subset][,plate][,well][,site] listing the images "
        "(subsets give per-subset metrics)",
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
    emb = p.add_argument_group("feature vectors (--embeddings, without IMAGES_DIR)")
    emb.add_argument(
        "--embeddings",
        type=Path,
        metavar="E.npy",
        help="an (n, d) float array saved by numpy (embeddings, profiles, any features): cluster its "
        "rows by the label-free rule; --ids names them (an id column), else they are 0..n-1",
    )
    emb.add_argument(
        "--pairs",
        choices=("auto", "all", "knn"),
        default="auto",
        help="pairs scored: all (dense n x n), knn (a k-nearest-neighbour graph) or auto (all up to "
        "--dense-max-n rows when it fits in memory, else knn; default)",
    )
    emb.add_argument(
        "--dense-max-n",
        type=int,
        metavar="N",
        help="never build a dense n x n matrix above N rows or images (default 20,000, or "
        "CORRCLUST_DENSE_MAX_N): above it --embeddings and the profile and ssl routes go sparse, "
        "pqap and twin are refused",
    )
    emb.add_argument(
        "--knn-k",
        type=int,
        default=30,
        metavar="K",
        help="neighbours per row of the sparse graph (default 30)",
    )
    emb.add_argument(
        "--knn",
        choices=("auto", "exact", "faiss"),
        default="auto",
        help="kNN search: exact (blockwise), faiss (approximate, the ann extra) or auto (exact up to "
        "20,000 rows or without faiss; default); with --scheduler/--workers too",
    )
    emb.add_argument(
        "--background",
        default="auto",
        metavar="auto|0|B",
        help="sparse path: the cost of every pair outside the kNN graph in the solve: auto (their "
        "estimated mean cost under the rule; default), 0 (none: the graph alone) or a number <= 0 "
        "(with --solver kl or gaec unless 0; docs/sparse.md)",
    )
    emb.add_argument(
        "--no-refine",
        dest="refine",
        action="store_false",
        help="sparse path: keep the solve's labels, without the second solve (GAEC, node moves and "
        "joins) on the exact costs of the pairs inside and between neighbouring clusters that "
        "follows it by default (docs/sparse.md)",
    )
    emb.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --embeddings: compute the kNN blocks and pair costs on this Dask scheduler "
        "(tcp://host:8786); finished blocks are kept under OUT/blocks and a rerun skips them "
        "(docs/distributed.md)",
    )
    emb.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="with --embeddings: the same on a local Dask cluster of N worker processes",
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
    p.add_argument(
        "--threads",
        type=int,
        help="threads for PQAP matching, or of the faiss kNN search with --embeddings (default: all cores)",
    )
    p.add_argument(
        "--pqap-mode",
        choices=("reference", "improved"),
        default="reference",
        help="PQAP solver: the paper's heuristics (reference, default) or improved (the reversed matching competes)",
    )
    p.add_argument("--json", action="store_true", help="matrix-only mode: print one JSON object")
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
    add_feedback_propagate_flag(p)
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
            _ROUTE_FLAGS.update({action.dest: action.option_strings[0] for action in group._group_actions})
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
        typed = "--solver" if args.solver == "gaec" else "--method"  # name the option the user typed
        raise CliError(f"{typed} gaec is for the matrix-only mode; with images use kl, anytime or exact")
    if method is None:
        given = [
            d for d in _ROUTE_DESTS.get("profile", ()) if getattr(args, d, None) != _ROUTE_DEFAULTS.get(d)
        ]
        # a profile option or a model names the route; otherwise the images choose (pipeline.routes.default_route)
        method = "twin" if args.model is not None else "profile" if given else AUTO
    if method not in ("profile", AUTO) and getattr(args, "profile_ssl_model", None) is not None:
        why = {"ssl": "; with --method ssl give the network as --model"}.get(
            method,
            f"; it does not apply to --method {method}"
            + (" (chosen by --model)" if args.method is None else ""),
        )
        raise CliError("--ssl-model joins a self-supervised network to the morphology profiles" + why)
    # Another route's option was dropped without a word (--calibrate with twin, --time-budget when the
    # images chose profiles; audit qa15). The images choose pqap or profile only, so under auto an
    # option of any other route can never apply.
    for other, dests in _ROUTE_DESTS.items():
        if other == method or (method == AUTO and other in ("pqap", "profile")):
            continue
        for dest in dests:
            default = _ROUTE_DEFAULTS.get(dest)
            if getattr(args, dest, default) == default:  # absent: a route this parser was built without
                continue
            flag = _ROUTE_FLAGS[dest]
            if method == AUTO:
                raise CliError(f"{flag} is an option of --method {other}; give --method {other} with it")
            raise CliError(
                f"{flag} is an option of --method {other}; it does not apply to --method {method}"
                + (" (chosen by --model)" if args.method is None else "")
            )
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
        propagate=args.propagate,
        route_options={
            dest: getattr(args, dest)
            for name in ((method,) if method != AUTO else METHODS)
            for dest in _ROUTE_DESTS.get(name, ())
        },
        read=read_options(args),
        name_pattern=args.name_pattern,
        dense_max_n=args.dense_max_n,
    )


def print_summary(result, stream=None) -> None:
    """The few lines a user wants after a run: where the report is, and the headline numbers."""
    stream = sys.stdout if stream is None else stream
    c = result.clustering
    print(
        f"{c.labels.size} images -> {c.n_clusters} cluster{'s' if c.n_clusters != 1 else ''} "
        f"(objective {c.objective:.6g}, {result.seconds:.1f} s)",
        file=stream,
    )
    ev = result.evaluation
    m = ev.metrics if ev is not None else None
    if m is None and "metrics" in result.files:
        # The sparse path keeps no Evaluation; its metrics.json holds the same keys, and a run with a
        # truth printed no VI line at all there.
        m = json.loads(Path(result.files["metrics"]).read_text())
    if m is not None:
        n_true = m["n_clusters_true"]
        print(
            f"VI {m['vi']:.4f} bits (false cuts {m['false_cuts']:.4f}, false joins {m['false_joins']:.4f}), "
            f"Rand index {100 * m['rand_index']:.2f} %, {n_true} true class{'' if n_true == 1 else 'es'}",
            file=stream,
        )
    assessment = getattr(result, "assessment", None)
    for finding in getattr(assessment, "findings", []):
        print(f"warning: {finding}", file=stream)
    print(f"clusters: {result.files['clusters']}", file=stream)
    print(f"report:   {result.report}", file=stream)


def run(args: argparse.Namespace) -> int:
    out_text = args.out
    # "-o results/" names a folder even before it exists; matrix-only mode writes a file at -o
    args.out_names_folder = out_text is not None and str(out_text).endswith(("/", os.sep))
    args.out = Path(out_text) if out_text is not None else None
    if args.out is None or (args.images is None and args.embeddings is None):
        return _run(args)  # no OUT folder to write (the matrix-only mode writes one file at -o)
    from corrclust import folder_lock

    # two runs into one OUT mixed their files silently (audit qa16): the second is refused
    with folder_lock.hold(args.out, "corrclust cluster"):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    if args.scheduler is not None or args.workers is not None:
        if args.embeddings is None:
            raise CliError("--scheduler and --workers apply to --embeddings (feature vectors)")
        return run_distributed(args)
    if args.embeddings is not None:
        return run_embeddings(args)
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
    from corrclust.formats.clusterings import read_clustering, write_clustering
    from corrclust.metrics import compare
    from corrclust.pipeline import load_correlations, truth_from_clusters
    from corrclust.solve import solve

    if args.method in METHODS:
        raise CliError(
            f"--method {args.method} needs IMAGES_DIR; to cluster a matrix, pick a solver with --solver"
        )
    if args.truth == "auto":  # it was read as a truth file named "auto"
        raise CliError(
            "--truth auto needs IMAGES_DIR (the classes come from the images); without it pass a truth "
            "file (one line of ids per class)"
        )
    names_folder = getattr(args, "out_names_folder", False)  # set by run()
    if args.out and (Path(args.out).is_dir() or names_folder):
        # was "results: Is a directory" after the solve, and "-o results/" wrote a file "results"
        shown = f"{args.out}{os.sep}" if names_folder else str(args.out)
        raise CliError(
            f"-o {shown}: without IMAGES_DIR, -o names the clustering CSV to write, not a folder "
            "(e.g. -o clusters.csv)"
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

        use = use_feedback(corr, args.feedback, calibrate=args.calibrate, propagate=args.propagate)
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
    # clusters in the order of their numbers 1..K (by decreasing size), the numbering of an image
    # folder's clusters.csv, so that "cluster 1" means the same in every mode
    numbers = number_clusters(res.labels)
    clusters: list[list[int]] = [[] for _ in range(int(numbers.max(initial=0)))]
    for ident, k in zip(ids, numbers.tolist(), strict=True):
        clusters[k - 1].append(ident)
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
            "labels": numbers.tolist(),  # 1..K, the numbers of "clusters" and of clusters.csv
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
        f"{len(ids)} images -> {res.n_clusters} clusters ({res.method}, {res.status}); "
        f"objective {res.objective:.6f}{bound}"
    )
    for k, c in enumerate(clusters, start=1):
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


# ------------------------------------------------------------------------------ feature vectors
def read_ids(path: Path, n: int) -> list[str]:
    """The ``id`` column of a CSV (one row per row of the features); one-line errors name the file
    and the line (blank lines counted, as an editor shows them)."""
    from corrclust.formats.csv_rows import read_rows

    if not path.is_file():
        raise CliError(f"{path}: ids file not found")
    rows = [(k, r) for k, r in read_rows(path) if r and any(c.strip() for c in r)]
    if not rows:
        raise ValueError(f"{path}: empty ids file")
    first, names = rows[0]
    header = [h.strip().lower() for h in names]
    if "id" not in header:
        raise ValueError(f"{path}:{first}: expected a header with an id column, got {','.join(names)}")
    col = header.index("id")
    ids = []
    for lineno, r in rows[1:]:
        if len(r) <= col or not r[col].strip():
            raise ValueError(f"{path}:{lineno}: no id")
        ids.append(r[col].strip())
    if len(ids) != n:
        raise ValueError(f"{path}: {len(ids)} ids for {n} rows of features")
    return ids


def read_embeddings(path: Path) -> np.ndarray:
    """An (n, d) array from a .npy file, an .npz holding one array, or the ``features`` of an .npz
    of ``corrclust ssl embed`` (``OUT/ssl/embeddings.npz``); one-line errors name the file."""
    import zipfile

    if not path.is_file():
        raise CliError(f"{path}: embeddings file not found")
    try:
        with open(path, "rb") as fh:
            loaded = np.load(fh, allow_pickle=False)
            if isinstance(loaded, np.lib.npyio.NpzFile):
                names = list(loaded.files)
                if "features" in names:  # ssl embed's archive was refused as "holds 3 arrays"
                    names = ["features"]
                if len(names) != 1:
                    raise CliError(
                        f"{path}: an .npz must hold one array (or 'features' and 'ids'), it holds {len(names)}"
                    )
                arr = loaded[names[0]]
            else:
                arr = np.asarray(loaded)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise CliError(f"{path}: not a numpy array file ({str(exc).splitlines()[0]})") from None
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise CliError(f"{path}: expected numbers, got an array of {arr.dtype}")
    return arr


def embedding_ids(path: Path) -> list[str] | None:
    """The ``ids`` stored beside ``features`` in an .npz of ``corrclust ssl embed``, else None (so the
    rows keep the image ids rather than becoming 0..n-1)."""
    if path.suffix.lower() != ".npz":
        return None
    with np.load(path, allow_pickle=False) as z:
        if "features" in z.files and "ids" in z.files:
            return [str(i) for i in z["ids"].tolist()]
    return None


def run_embeddings(args: argparse.Namespace) -> int:
    """Cluster the rows of ``--embeddings`` and write OUT/clusters.csv and OUT/summary.json."""
    from corrclust.atomic import write_text
    from corrclust.embedding_clustering import cluster_embeddings
    from corrclust.formats.cluster_table import write_cluster_table

    if args.images is not None or args.similarities is not None:
        raise CliError("--embeddings replaces IMAGES_DIR and --similarities: pass only one of them")
    if args.out is None:
        raise CliError("the output folder is missing: pass -o OUT")
    # --truth was refused here while --workers took it (a screen with labels got no metrics; qa16)
    for flag, given in (("--feedback", args.feedback), ("--model", args.model)):
        if given:
            raise CliError(f"{flag} does not apply to --embeddings")
    if args.truth == "auto":
        raise CliError("--truth auto needs IMAGES_DIR; with --embeddings pass a truth file (CLUSTERS.csv)")
    solver = args.solver or (args.method if args.method in MATRIX_SOLVERS else None) or "kl"
    if args.method is not None and args.method not in MATRIX_SOLVERS + ("profile",):
        raise CliError(f"--method {args.method} needs IMAGES_DIR; --embeddings uses the profile rule")
    if solver == "exact":
        raise CliError("--solver exact does not scale to feature collections; use kl, anytime or gaec")
    neighbours = _embedding_neighbours(args)
    if args.knn_k < 1:
        raise CliError(f"--knn-k must be at least 1, got {args.knn_k}")
    background = _background_option(args, solver)
    granularity = float(getattr(args, "profile_granularity", 0.0))
    E = read_embeddings(args.embeddings)
    try:
        from corrclust.embedding_clustering import check_features

        n = check_features(E, str(args.embeddings)).shape[0]
    except ValueError as exc:
        raise CliError(str(exc)) from None
    ids = read_ids(args.ids_table, n) if args.ids_table is not None else embedding_ids(args.embeddings)
    from corrclust.embedding_clustering import check_ids

    if ids is not None:
        check_ids(ids, n, str(args.ids_table or args.embeddings))

    truth = _embedding_truth(args, check_ids(ids, n)) if args.truth else None

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    result = cluster_embeddings(
        E,
        ids=ids,
        path={"all": "dense", "knn": "sparse"}.get(args.pairs, "auto"),
        neighbours=neighbours,
        graph_k=args.knn_k,
        granularity=granularity,
        solver=solver,
        seed=args.seed,
        time_limit=args.time_limit,
        knn=args.knn,
        dense_max_n=args.dense_max_n,
        threads=args.threads,
        progress=say if args.progress else None,
        background=background,
        refine=getattr(args, "refine", True),
    )
    for note in result.notes:  # the path taken automatically is said even without progress
        if not args.progress:
            say(note)
    # numbered 1..K by decreasing size, as an image folder's clusters.csv (it was 0..K-1 here)
    write_cluster_table(args.out / "clusters.csv", result.ids, number_clusters(result.labels))  # atomic
    metrics = _embedding_metrics(args, truth, result.labels) if truth is not None else None
    findings = spread_findings(E) + partition_findings(result.labels)
    ratio = structure_findings(E, args.seed, findings)
    summary = result.summary() | {"embeddings": str(args.embeddings), "solver": solver, "seed": args.seed}
    summary["findings"] = findings
    if ratio is not None:
        summary["gaussian_ratio"] = ratio
    write_text(args.out / "summary.json", json.dumps(jsonable(summary), indent=2) + "\n")
    print(
        f"{n} rows -> {_clusters_word(result.n_clusters)} ({result.path} path, {result.pairs} pairs scored, "
        f"{result.seconds.get('total', 0.0):.1f} s); clusters: {args.out / 'clusters.csv'}"
    )
    if metrics is not None:
        _print_vi(metrics)
    for finding in findings:
        print(f"warning: {finding}")
    return 0


def _embedding_truth(args: argparse.Namespace, ids: np.ndarray) -> Any:
    """``--truth`` read against the rows' ids, before the clustering (a typo costs no solve)."""
    from corrclust.formats.clusterings import read_clustering
    from corrclust.pipeline import truth_from_clusters

    if ids.dtype.kind not in "iu":
        try:
            ids = ids.astype(np.int64)
        except (TypeError, ValueError):
            raise CliError(
                "--truth names integer ids: give --ids with integer ids, or none (row numbers)"
            ) from None
    return truth_from_clusters(read_clustering(args.truth), ids, str(args.truth))


def _embedding_metrics(args: argparse.Namespace, truth: Any, labels: np.ndarray) -> dict:
    """OUT/metrics.json of ``--truth`` against the rows' clusters (contingency as non-zero cells)."""
    from corrclust.formats.metrics_file import write_metrics

    return write_metrics(
        Path(args.out) / "metrics.json",
        np.asarray([c for c in truth.classes if c is not None]),
        np.asarray(labels)[truth.known],
        {"truth": str(args.truth)},
    )


def _print_vi(m: dict) -> None:
    n_true = m["n_clusters_true"]
    print(
        f"VI {m['vi']:.4f} bits (false cuts {m['false_cuts']:.4f}, false joins {m['false_joins']:.4f}), "
        f"Rand index {100 * m['rand_index']:.2f} %, {n_true} true class{'' if n_true == 1 else 'es'}"
    )


def _clusters_word(k: int) -> str:
    return f"{k} cluster{'s' if k != 1 else ''}"


def partition_findings(labels: np.ndarray) -> list[str]:
    """The checks of :func:`corrclust.informativeness.assess` that need only the partition (one
    cluster, mostly singletons, one dominant cluster), in its words with "rows" for "images":
    5,000 identical rows gave "1 clusters" and no word (audit qa16). The stability check of the
    image route solves four subsets again and is not made here."""
    from corrclust.informativeness import assess

    found = assess(np.zeros((0, 0)), np.asarray(labels)).findings
    return [f.replace("images", "rows") for f in found]


def structure_findings(E: np.ndarray, seed: int, findings: list[str]) -> float | None:
    """Append to ``findings`` a sentence when the rows of ``E`` are not told apart from one Gaussian
    (:func:`corrclust.informativeness.gaussian_ratio`; 5,000 Gaussian rows gave 1,296 clusters of
    about 4 that no partition check flags, audit qa16); return the ratio (None when not measured:
    fewer than 9 rows, or rows already said to be identical)."""
    from corrclust.informativeness import GAUSSIAN_RATIO, gaussian_finding, gaussian_ratio

    if any(f.startswith("the rows ") for f in findings):
        return None
    ratio = gaussian_ratio(E, seed=seed)
    if ratio is not None and ratio >= GAUSSIAN_RATIO:
        findings.append(gaussian_finding(ratio))
    return ratio


# Rows whose features all vary by less than this share of the largest value hold no structure a
# standardising cost rule can see: it scales rounding noise up to unit spread (5,000 rows identical
# up to 1e-9 gave 1,311 clusters without a word; audit qa16). float32 rounding is 6e-8 of a value.
MIN_RELATIVE_SPREAD = 1e-6


def spread_findings(E: np.ndarray) -> list[str]:
    """A finding when the rows of ``E`` are identical up to ``MIN_RELATIVE_SPREAD`` of their largest
    value (read without a float64 copy of ``E``); none otherwise."""
    if E.shape[0] < 2 or E.size == 0:
        return []
    # one pass for each of the column maxima and minima; the largest value comes from them too
    top, bottom = np.asarray(E.max(axis=0), dtype=np.float64), np.asarray(E.min(axis=0), dtype=np.float64)
    spread = float(np.max(top - bottom))
    scale = float(max(np.abs(top).max(), np.abs(bottom).max()))
    if spread > MIN_RELATIVE_SPREAD * scale:
        return []
    how = (
        "are identical"
        if spread == 0
        else f"differ by at most {spread:.3g} ({spread / scale:.1e} of their size)"
    )
    return [
        f"the rows {how}: there is no structure to cluster; any clusters beyond one follow rounding noise"
    ]


def _embedding_neighbours(args: argparse.Namespace) -> int:
    """``--neighbours`` with ``--embeddings``: a whole number, or the default ``scaled``, which is
    the rule's fixed 7 there (as on the sparse path of an image folder; one CliError line else)."""
    from corrclust.feature_costs import K_NEIGHBOURS

    neighbours = str(getattr(args, "profile_neighbours", K_NEIGHBOURS))
    if neighbours == "scaled":
        return K_NEIGHBOURS
    if not (neighbours.isdigit() and int(neighbours) >= 1):
        raise CliError(
            f"--neighbours must be a whole number of at least 1 or scaled with --embeddings, got {neighbours}"
        )
    return int(neighbours)


def _background_option(args: argparse.Namespace, solver: str) -> str | float:
    """``--background`` read and checked against the solver (one CliError line)."""
    from corrclust.background import parse_background
    from corrclust.embedding_clustering import BACKGROUND_SOLVERS

    try:
        background = parse_background(getattr(args, "background", "auto"), "--background")
    except ValueError as exc:
        raise CliError(str(exc)) from None
    # --pairs auto decides later (cluster_embeddings then names the problem in one line)
    if (
        background != 0
        and solver not in BACKGROUND_SOLVERS
        and (args.pairs == "knn" or args.scheduler or args.workers)
    ):
        raise CliError(
            f"--solver {solver} cannot solve the sparse path with a background cost: use "
            f"{' or '.join(BACKGROUND_SOLVERS)}, or --background 0"
        )
    return background


# ------------------------------------------------------------------------------ on a Dask cluster
def run_distributed(args: argparse.Namespace) -> int:
    """``--embeddings E.npy`` with ``--scheduler ADDRESS`` or ``--workers N``: the sparse path
    (as ``--pairs knn``, with ``--knn`` auto, exact or faiss), its kNN blocks and pair costs on Dask
    (:mod:`corrclust.distributed`), the solve here. Writes OUT/clusters.csv (id, cluster; streamed)
    and, with ``--truth``, OUT/metrics.json. Finished blocks stay under OUT/blocks, so a rerun after
    an interruption computes only the missing ones."""
    from corrclust import distributed
    from corrclust.embedding_clustering import check_features, check_ids
    from corrclust.formats.cluster_table import write_cluster_table

    if args.images is not None or args.similarities is not None:
        raise CliError("--embeddings replaces IMAGES_DIR and --similarities: pass only one of them")
    if args.out is None:
        raise CliError("the output folder is missing: pass -o OUT")
    if args.scheduler is not None and args.workers is not None:
        raise CliError("--workers starts a local cluster; a --scheduler brings its own workers: give one")
    if args.pairs == "all":
        raise CliError("--scheduler and --workers run the sparse path on the kNN graph (--pairs knn)")
    from corrclust.candidates import ANN_MISSING, ann_available

    if args.knn == "faiss" and not ann_available():
        raise CliError(ANN_MISSING)
    solver = args.solver or (args.method if args.method in MATRIX_SOLVERS else None) or "kl"
    if solver == "exact":
        raise CliError("--solver exact does not scale to feature collections; use kl, anytime or gaec")
    neighbours = _embedding_neighbours(args)
    if args.knn_k < 1:
        raise CliError(f"--knn-k must be at least 1, got {args.knn_k}")
    background = _background_option(args, solver)
    E = read_embeddings(args.embeddings)
    try:
        X = check_features(E, str(args.embeddings))
        ids = check_ids(
            read_ids(args.ids_table, X.shape[0])
            if args.ids_table is not None
            else embedding_ids(args.embeddings),
            X.shape[0],
            str(args.ids_table or args.embeddings),
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    res = distributed.cluster_embeddings(
        X,
        k=args.knn_k,
        neighbours=neighbours,
        granularity=float(getattr(args, "profile_granularity", 0.0)),
        method=solver,
        seed=args.seed,
        scheduler=args.scheduler,
        workers=args.workers,
        run_dir=Path(args.out) / "blocks",
        progress=args.progress,
        knn=args.knn,
        threads=args.threads,  # of the faiss index build, in this process
        background=background,
        refine=getattr(args, "refine", True),
    )
    if res.refinement is not None and res.refinement.skipped:  # said as without --workers
        print(res.refinement.skipped, file=sys.stderr, flush=True)
    write_cluster_table(Path(args.out) / "clusters.csv", ids, number_clusters(res.labels))  # 1..K
    if args.truth:
        from corrclust.formats.clusterings import read_clustering
        from corrclust.formats.metrics_file import write_metrics
        from corrclust.pipeline import truth_from_clusters

        if ids.dtype.kind not in "iu":
            raise CliError("--truth names integer ids: give --ids with integer ids, or none (row numbers)")
        truth = truth_from_clusters(read_clustering(args.truth), ids, str(args.truth))
        write_metrics(
            Path(args.out) / "metrics.json",
            np.asarray([c for c in truth.classes if c is not None]),
            res.labels[truth.known],
            {"truth": str(args.truth)},
        )
    print(
        f"{X.shape[0]} rows -> {_clusters_word(res.n_clusters)} (objective {res.objective:.6g}; "
        + ", ".join(f"{k} {v:.1f} s" for k, v in res.seconds.items())
        + (f"; {res.reused} blocks reused" if res.reused else "")
        + f"; {res.knn} kNN search)"
    )
    findings = spread_findings(X) + partition_findings(res.labels)
    structure_findings(X, args.seed, findings)
    for finding in findings:
        print(f"warning: {finding}")
    print(f"clusters: {Path(args.out) / 'clusters.csv'}")
    return 0
