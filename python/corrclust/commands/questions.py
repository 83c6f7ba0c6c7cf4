"""``corrclust questions OUT -n K``: the next pairs of images to ask the expert about.

Reads ``OUT/similarities.npz`` of a ``corrclust cluster`` run and the answers so far
(``--feedback``, default ``OUT/feedback.csv`` when it exists) and writes the next K pairs, header
``a,b``, to ``-o FILE`` or stdout. The selection is :mod:`corrclust.questions` (``--strategy``).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

from corrclust.cli_support import add_feedback_propagate_flag, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "questions",
        help="the next pairs of images to ask the expert about (a,b per line)",
        description="Propose the next K pairs of images whose 'same class?' answer would help the clustering of "
        "OUT most, given the answers so far. See docs/cli.md.",
    )
    p.add_argument("out", type=Path, metavar="OUT", help="output folder of 'corrclust cluster'")
    p.add_argument(
        "-n", "--number", type=positive_int, default=10, metavar="K", help="how many pairs (default 10)"
    )
    p.add_argument(
        "--feedback",
        type=Path,
        metavar="FEEDBACK.csv",
        help="answers so far (default: OUT/feedback.csv when it exists)",
    )
    p.add_argument("-o", "--output", type=Path, metavar="QUESTIONS.csv", help="write here instead of stdout")
    p.add_argument(
        "--strategy",
        choices=("active", "committee", "uncertain", "random"),
        default="active",
        help="active: merge/split questions about whole clusters, by expected change (default); "
        "committee: where perturbed clusterings disagree most (the earlier default, slower); "
        "uncertain: smallest |cost|; random",
    )
    p.add_argument(
        "--feedback-calibrate",
        dest="calibrate",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="fit the threshold/bias to the answers first (as cluster --feedback-calibrate)",
    )
    add_feedback_propagate_flag(p)
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from corrclust.atomic import write_text
    from corrclust.pipeline.answers import load_run, next_questions

    corr = load_run(args.out)
    feedback = args.feedback
    if feedback is None and (args.out / "feedback.csv").is_file():
        feedback = args.out / "feedback.csv"

    def said_skipped(n: int) -> None:  # said as cluster --feedback says it (it was silent here)
        print(f"{feedback}: {n} answer(s) naming ids not in the run skipped", file=sys.stderr)

    pairs = next_questions(
        corr,
        feedback,
        args.number,
        strategy=args.strategy,
        calibrate=args.calibrate,
        propagate=args.propagate,
        seed=args.seed,
        on_skipped=said_skipped,
    )
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["a", "b"])
    w.writerows(pairs)
    if args.output is not None:
        write_text(args.output, buf.getvalue())
        print(f"wrote {len(pairs)} pair(s) to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(buf.getvalue())
    return 0
