"""``corrclust demo``: synthetic organoids -> the whole pipeline -> a report, in well under a minute."""

from __future__ import annotations

import argparse
from pathlib import Path

from corrclust.pipeline import SOLVERS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="generate synthetic organoids, cluster them and write a report (start here)",
        description=(
            "Generate a small synthetic organoid collection with known classes into OUT/images, run the "
            "same pipeline as 'corrclust cluster' with PQAP similarities (key points, all-pairs matching, "
            "correlation clustering), and write OUT/clusters.csv, OUT/similarities.npz, OUT/metrics.json, "
            "OUT/sweep.csv and OUT/report.html."
        ),
    )
    p.add_argument("-o", "--out", type=Path, default=Path("corrclust-demo"),
                   help="output folder (default ./corrclust-demo)")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic images and the solver (default 0)")
    p.add_argument("--classes", type=int, default=4, help="number of synthetic classes (default 4)")
    p.add_argument("--per-class", type=int, default=8, help="images per class (default 8)")
    p.add_argument("--size", type=int, default=128, help="image side in pixels (default 128)")
    p.add_argument("--solver", choices=SOLVERS, default="kl", help="correlation-clustering solver (default kl)")
    p.add_argument("--threshold", type=float, default=0.64, help="PQAP threshold (default 0.64)")
    p.add_argument("--threads", type=int, help="threads for PQAP matching (default: all cores)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from corrclust import pipeline
    from corrclust.commands.cluster import print_summary
    from corrclust.images import synthetic

    if args.classes < 2:
        raise ValueError(f"--classes must be at least 2, got {args.classes}")
    if args.per_class < 2:
        raise ValueError(f"--per-class must be at least 2, got {args.per_class}")
    out = Path(args.out)
    images_dir = out / "images"
    synthetic.generate(images_dir, classes=args.classes, per_class=args.per_class, seed=args.seed,
                       size=args.size, progress=args.progress)
    options = pipeline.ClusterOptions(
        images_dir=images_dir,
        out_dir=out,
        method="pqap",
        solver=args.solver,
        threshold=args.threshold,
        truth=str(images_dir / "truth.csv"),
        seed=args.seed,
        threads=args.threads,
        progress=args.progress,
    )
    result = pipeline.run(
        options,
        title="corrclust demo: synthetic organoids",
        extra_settings=[("synthetic set", f"{args.classes} classes x {args.per_class} images, "
                                          f"{args.size} px, seed {args.seed}")],
    )
    print_summary(result)
    return 0
