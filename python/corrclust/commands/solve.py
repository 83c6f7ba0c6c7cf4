"""``corrclust solve``: solve a correlation-clustering instance file.

    corrclust solve INSTANCE [--method gaec|kl|anytime|exact] [--time-limit S] [--seed N]
                             [--warm-start LABELS] [--bound] [--json] [-o LABELS] [--progress]

INSTANCE is a PACE ``.gr`` file, a MULTICUT text file, or a ``.npy``/``.npz`` cost matrix (see
``corrclust.formats.instances``). By default a short human-readable summary is printed; with
``--json`` exactly one JSON object goes to stdout. ``-o`` writes the labels as ``.npy`` or as a
``.csv`` with a ``node,label`` header. ``--bound`` adds a proven lower bound and the gap to it (the
dual bound of ``corrclust.solve(..., bound=True)``, under the same ``--time-limit``), printed and
in the JSON (``lower_bound``, ``gap``; its statistics under ``stats``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from corrclust.atomic import atomic_path, write_text
from corrclust.cli_support import CliError, add_progress_flag
from corrclust.formats.numbers import parse_int
from corrclust.jsonable import jsonable

LABEL_SUFFIXES = (".npy", ".csv")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "solve",
        help="solve a correlation-clustering instance (PACE .gr, MULTICUT, .npy/.npz)",
        description="Solve a correlation-clustering instance: minimise the total cost of the cut edges.",
    )
    p.add_argument("instance", metavar="INSTANCE", help="PACE .gr, MULTICUT text, .npy or .npz file")
    p.add_argument(
        "--method", choices=("gaec", "kl", "anytime", "exact"), default="kl", help="solver (default: kl)"
    )
    p.add_argument("--time-limit", type=float, default=None, metavar="S", help="wall-clock limit in seconds")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default: 0)")
    p.add_argument("--warm-start", metavar="LABELS", help="initial labels (.npy, or .csv as written by -o)")
    p.add_argument(
        "--bound",
        action="store_true",
        help="also compute a proven lower bound and report the gap (dual bound, docs/bound.md)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    p.add_argument("-o", "--output", metavar="LABELS", help="write the labels to LABELS (.npy or .csv)")
    add_progress_flag(p, default=False)
    p.set_defaults(func=run)


def read_labels(path: str) -> np.ndarray:
    """Labels from a .npy file or a ``node,label`` CSV (as written by ``-o``)."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"labels file not found: {path}")
    if path.lower().endswith(".npy"):
        try:
            return np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise CliError(f"{path}: not a readable .npy file ({exc})") from None
    if path.lower().endswith(".csv"):
        # ValueError (not CliError): the CLI prints both as one line, and callers outside it can catch it
        try:
            with open(path, "rb") as fh:
                text = fh.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path}: not a UTF-8 text file (byte {exc.start})") from None
        labels: dict[int, int] = {}
        for lineno, line in enumerate(text.split("\n"), start=1):
            parts = [p.strip() for p in line.strip().split(",")]
            if parts == [""] or (lineno == 1 and parts == ["node", "label"]):
                continue
            node, label = (parse_int(p) for p in parts) if len(parts) == 2 else (None, None)
            if node is None or label is None:
                raise ValueError(
                    f"{path}, line {lineno}: expected 'node,label' integers, got {line.strip()!r}"
                )
            if node in labels:
                raise ValueError(f"{path}, line {lineno}: node {node} is listed twice")
            labels[node] = label
        if sorted(labels) != list(range(len(labels))):
            raise ValueError(f"{path}: nodes must be 0..n-1, each once")
        return np.array([labels[i] for i in range(len(labels))], dtype=np.int64)
    raise CliError(f"labels file must end in .npy or .csv: {path}")


def write_labels(path: str, labels: np.ndarray) -> None:
    """Write ``labels`` as ``.npy`` or as a ``node,label`` CSV, atomically."""
    if path.lower().endswith(".npy"):
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.save(fh, labels)
    else:
        write_text(path, "node,label\n" + "".join(f"{i},{int(label)}\n" for i, label in enumerate(labels)))


def run(args: argparse.Namespace) -> int:
    from corrclust.formats.instances import pace_edits, read_instance
    from corrclust.solve import solve

    if args.output and not args.output.lower().endswith(LABEL_SUFFIXES):
        raise CliError(f"-o must name a .npy or .csv file, got {args.output}")
    from corrclust.solve import check_time_limit

    check_time_limit(args.time_limit, "--time-limit")  # the one rule of corrclust (ValueError: exit 2)
    if args.seed < 0:
        raise CliError(f"--seed must be >= 0, got {args.seed}")
    problem = read_instance(args.instance)
    warm = read_labels(args.warm_start) if args.warm_start else None
    try:
        result = solve(
            problem,
            method=args.method,
            time_limit=args.time_limit,
            seed=args.seed,
            warm_start=warm,
            progress=True if args.progress else None,
            bound=args.bound,
        )
    except NotImplementedError as exc:
        raise CliError(str(exc)) from None
    edits = pace_edits(problem, result.objective)
    if args.output:
        write_labels(args.output, result.labels)

    if args.json:
        out = jsonable(result.to_dict())
        out["n"] = problem.n
        out["edges"] = problem.num_edges
        if edits is not None:
            out["edits"] = edits
        json.dump(out, sys.stdout)
        sys.stdout.write("\n")
        return 0

    shape = "dense" if problem.is_dense else "sparse"
    lines = [
        f"instance    {args.instance}",
        f"problem     {shape}, n = {problem.n}, edges = {problem.num_edges}",
        f"method      {args.method}" + (f" (seed {args.seed})" if args.method == "anytime" else ""),
        f"status      {result.status}",
        f"objective   {result.objective:.10g}",
    ]
    if result.lower_bound is not None:
        lines.append(f"lower bound {result.lower_bound:.10g}")
    if result.gap is not None:
        lines.append(f"gap         {100 * result.gap:.4g} %")
    if "bound_runtime" in result.extra:
        lines.append(
            f"bound       {result.extra['bound_status']} after {result.extra['bound_runtime']:.4g} s "
            f"({result.extra['bound_cycles']} cycles, {result.extra['bound_triangles']} triangles)"
        )
    if edits is not None:
        lines.append(f"edits       {edits}")
    lines.append(f"clusters    {result.n_clusters}")
    if result.nodes is not None:
        lines.append(f"b&b nodes   {result.nodes}, cuts {result.cuts}")
    lines.append(f"runtime     {result.runtime:.4g} s")
    if args.output:
        lines.append(f"labels      written to {args.output}")
    print("\n".join(lines))
    return 0
