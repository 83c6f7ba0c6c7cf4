"""``corrclust pqap``: PQAP similarity matrices and parameter learning.

    corrclust pqap similarities KEYPOINTS.csv [--params P.txt] [--mode reference|improved] -o OUT.npz
                                [--threads N] [--checkpoint CK.npz] [--scheduler ADDR | --local-cluster N]
                                [--lower-wrap] [--no-progress]
    corrclust pqap learn KEYPOINTS.csv --truth CLUSTERS.csv [--objective f1|vi|triples] [--time-budget S]
                         [--iterations N] [--seed N] [--per-class K] [--start P.txt] -o PARAMS.txt

``similarities`` writes an ``.npz`` with ``ids`` (file order) and ``S`` (S[a, b] = s(ids[a] ->
ids[b]), NaN diagonal), plus the parameters and the mode. ``learn`` writes the learned parameters
as ``key=value`` lines (the paper's parameter-file format) and prints the threshold and scores.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from corrclust.atomic import atomic_path
from corrclust.cli_support import CliError, add_progress_flag, existing_file, help_of


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pqap",
        help="PQAP key-point similarities and parameter learning",
        description="PQAP key-point matching: similarity matrices and parameter learning.",
    )
    psub = p.add_subparsers(dest="pqap_command", metavar="ACTION")

    s = psub.add_parser(
        "similarities",
        help="all ordered-pair similarities of a key-point file",
        description="Compute s(a -> b) for every ordered pair of organoids of a key-point CSV.",
    )
    s.add_argument("keypoints", metavar="KEYPOINTS.csv", help="feature-vector CSV (the paper's format)")
    s.add_argument(
        "--params", metavar="P.txt", help="parameter file (default: the paper's learned parameters)"
    )
    s.add_argument(
        "--mode",
        choices=("reference", "improved"),
        default="reference",
        help="reference = the paper's solver (default); improved = the other direction's matching competes",
    )
    s.add_argument("-o", "--output", required=True, metavar="OUT.npz", help="output .npz (arrays ids, S)")
    s.add_argument(
        "--threads", type=int, default=None, metavar="N", help="worker threads (default: all cores)"
    )
    s.add_argument(
        "--checkpoint",
        metavar="CK.npz",
        help="save finished pairs here; rerun to resume (default: OUT.checkpoint.npz next to the "
        "output, removed when the output is written)",
    )
    g = s.add_mutually_exclusive_group()
    g.add_argument("--scheduler", metavar="ADDR", help="run on a Dask scheduler at ADDR")
    g.add_argument("--local-cluster", type=int, metavar="N", help="run on a local Dask cluster of N workers")
    s.add_argument(
        "--lower-wrap", action="store_true", help="corrected angle term (differs from the paper's data)"
    )
    add_progress_flag(s)
    s.set_defaults(func=run_similarities)

    ln = psub.add_parser(
        "learn",
        help="learn the five cost parameters by simulated annealing",
        description="Learn the PQAP cost parameters on labelled key points (paper §6).",
    )
    ln.add_argument("keypoints", metavar="KEYPOINTS.csv", help="feature-vector CSV of the training organoids")
    ln.add_argument("--truth", required=True, metavar="CLUSTERS.csv", help="true classes, one per line")
    ln.add_argument(
        "--objective",
        choices=("f1", "vi", "triples"),
        default="f1",
        help="pairwise F1 (paper), clustering VI, or the mean clustering VI over class triples "
        "(the rule that learns the operating point; docs/pqap.md)",
    )
    ln.add_argument(
        "--time-budget",
        type=float,
        default=180.0,
        metavar="S",
        help="seconds of annealing (default: 180): a step whose evaluation would end past it is not started, "
        "but the start vector's all-pairs evaluation always runs (on 18 synthetic organoids 15 s, over a "
        "budget of 5; then a warning says so)",
    )
    ln.add_argument(
        "--iterations", type=int, default=3000, metavar="N", help="annealing steps (default: 3000)"
    )
    ln.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default: 0)")
    ln.add_argument(
        "--per-class",
        type=int,
        default=None,
        metavar="K",
        help="train on K organoids per class (default: all)",
    )
    ln.add_argument("--start", metavar="P.txt", help="start vector (default: 0.3/0.3/0.3/0.5/0.5)")
    ln.add_argument("--mode", choices=("reference", "improved"), default="reference", help="PQAP solver")
    ln.add_argument(
        "--threads", type=int, default=None, metavar="N", help="worker threads (default: all cores)"
    )
    ln.add_argument("-o", "--output", required=True, metavar="PARAMS.txt", help="learned parameter file")
    ln.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    add_progress_flag(ln)
    ln.set_defaults(func=run_learn)
    p.set_defaults(func=help_of(p))


def run_similarities(args: argparse.Namespace) -> int:
    from corrclust.pqap import PqapParameters, read_keypoints, read_parameters, similarity_matrix

    kp = read_keypoints(existing_file(args.keypoints, "key-point file"))
    params = (
        read_parameters(existing_file(args.params, "parameter file"))
        if args.params
        else PqapParameters.paper()
    )
    if not args.output.endswith(".npz"):
        raise CliError(f"output must end in .npz: {args.output}")
    if args.threads is not None and args.threads < 1:
        raise CliError("--threads must be a positive integer")
    if args.scheduler or args.local_cluster:
        if args.checkpoint:
            raise CliError("--checkpoint works with local threads only, not with --scheduler/--local-cluster")
        from corrclust.pqap.distributed import similarity_matrix_dask

        ids, S = similarity_matrix_dask(
            kp,
            params,
            args.mode,
            scheduler=args.scheduler,
            local_cluster=args.local_cluster,
            lower_wrap=args.lower_wrap,
            progress=args.progress,
        )
    else:
        # Without --checkpoint a run still saves its finished pairs next to the output, so that an
        # interrupted or killed run resumes when repeated; that file goes once the output is written.
        checkpoint = args.checkpoint or default_checkpoint(args.output)
        ids, S = similarity_matrix(
            kp,
            params,
            args.mode,
            args.threads,
            lower_wrap=args.lower_wrap,
            checkpoint=checkpoint,
            progress=args.progress,
            foreign_checkpoint="error" if args.checkpoint else "restart",
        )
    with atomic_path(args.output) as tmp, open(tmp, "wb") as fh:
        np.savez(
            fh,
            ids=np.asarray(ids, dtype=np.int64),
            S=S,
            mode=np.array(args.mode),
            params=np.array(params.as_tuple()),
            param_names=np.array(PqapParameters.names()),
            lower_wrap=np.array(bool(args.lower_wrap)),
        )
    if not (args.scheduler or args.local_cluster) and not args.checkpoint:
        Path(default_checkpoint(args.output)).unlink(missing_ok=True)
    off = ~np.eye(len(ids), dtype=bool)
    print(
        f"{len(ids)} organoids, {int(off.sum())} ordered pairs ({args.mode}): "
        f"s in [{np.nanmin(S):.4f}, {np.nanmax(S):.4f}], mean {np.nanmean(S):.4f} -> {args.output}"
    )
    return 0


def default_checkpoint(output: str) -> str:
    """The checkpoint ``pqap similarities -o OUT.npz`` keeps without --checkpoint: ``OUT.checkpoint.npz``."""
    return (
        output[: -len(".npz")] + ".checkpoint.npz" if output.endswith(".npz") else output + ".checkpoint.npz"
    )


def run_learn(args: argparse.Namespace) -> int:
    from corrclust.pqap import read_keypoints, read_parameters, write_parameters
    from corrclust.pqap.learn import learn_parameters

    kp = read_keypoints(existing_file(args.keypoints, "key-point file"))
    start = read_parameters(existing_file(args.start, "start parameter file")) if args.start else None
    res = learn_parameters(
        kp,
        existing_file(args.truth, "truth file"),
        objective=args.objective,
        start=start,
        iterations=args.iterations,
        time_budget=args.time_budget,
        seed=args.seed,
        organoids=args.per_class,
        mode=args.mode,
        threads=args.threads,
        progress=args.progress,
    )
    write_parameters(args.output, res.params)
    if args.time_budget is not None and res.iterations == 0 and args.iterations != 0:
        # also when the start fit the budget but no step did: on 20 Test-30 organoids and a 20 s
        # budget the start took 18 s and the file held the start parameters without a word (audit qa15)
        why = (
            f"the start parameters' evaluation alone took {res.elapsed:.0f} s, so no step was run"
            if res.elapsed > args.time_budget
            else f"the start parameters' evaluation took {res.elapsed:.0f} s and a step takes about as long, "
            "so no step was run"
        )
        print(
            f"warning: --time-budget {args.time_budget:g}: {why} and {args.output} holds the start "
            "parameters; give a longer budget (or fewer organoids, --per-class) to learn",
            file=sys.stderr,
        )
    if args.json:
        print(
            json.dumps(
                {
                    "params": res.params.as_dict(),
                    "threshold": res.threshold,
                    "objective": res.objective,
                    "f1": res.f1,
                    "vi": res.vi,
                    "start_f1": res.start.f1,
                    # the VI the objective minimised (mean over class triples for "triples")
                    "start_vi": res.start.objective_vi(res.objective),
                    "iterations": res.iterations,
                    "evaluations": res.evaluations,
                    "elapsed": res.elapsed,
                    "organoids": len(res.ids),
                }
            )
        )
    else:
        print(res.summary())
        print(f"wrote {args.output}")
    return 0
