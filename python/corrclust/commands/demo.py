"""``corrclust demo``: synthetic organoids -> the whole pipeline -> a report, in well under a minute."""

from __future__ import annotations

import argparse
from pathlib import Path

from corrclust.cli_support import add_progress_flag
from corrclust.pipeline import SOLVERS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="generate synthetic organoids, cluster them and write a report (start here)",
        description=(
            "Generate a small synthetic organoid collection with known classes into OUT/images, run the "
            "same pipeline as 'corrclust cluster' (by default with label-free morphology profiles; --method "
            "pqap for the paper's key-point matching), and write OUT/clusters.csv, OUT/similarities.npz, "
            "OUT/metrics.json, OUT/sweep.csv and OUT/report.html."
        ),
    )
    p.add_argument(
        "-o",
        "--out",
        type=Path,
        default=Path("corrclust-demo"),
        help="output folder (default ./corrclust-demo)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the synthetic images and the solver (default 0)"
    )
    p.add_argument("--classes", type=int, default=4, help="number of synthetic classes (default 4)")
    # 10 per class: the profile route's cost rule has a neighbourhood of at least 7 images
    # (feature_costs.scaled_neighbours),
    # and classes much smaller than that are joined
    p.add_argument("--per-class", type=int, default=10, help="images per class (default 10)")
    p.add_argument(
        "--method",
        choices=("profile", "pqap"),
        default="profile",
        help="pair similarities: profile (morphology profiles, no labels; default) or pqap (key points)",
    )
    p.add_argument("--size", type=int, default=96, help="image side in pixels (default 96)")
    p.add_argument(
        "--solver", choices=SOLVERS, default="kl", help="correlation-clustering solver (default kl)"
    )
    p.add_argument("--threshold", type=float, default=0.64, help="PQAP threshold (default 0.64)")
    p.add_argument(
        "--granularity",
        type=float,
        default=0.0,
        help="profile: added to every pair cost; negative: more, smaller clusters (default 0)",
    )
    p.add_argument(
        "--calibrate",
        type=int,
        metavar="N",
        help="profile: label the first N images of each class (OUT/calibration.csv) and let them "
        "calibrate the run, as 'corrclust cluster --calibrate' does with a user's labels",
    )
    p.add_argument("--threads", type=int, help="threads for PQAP matching (default: all cores)")
    p.add_argument(
        "--twin",
        action="store_true",
        help="also train a small twin network (needs PyTorch) on a separate synthetic set of the same "
        "classes and cluster with it into OUT/twin/",
    )
    p.add_argument(
        "--twin-budget",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="training time of the --twin network (default 60 s)",
    )
    add_progress_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.classes < 2:
        raise ValueError(f"--classes must be at least 2, got {args.classes}")
    if args.per_class < 2:
        raise ValueError(f"--per-class must be at least 2, got {args.per_class}")
    if args.twin:  # before the demo's minute of work, not after it (audit qa15)
        from corrclust.pipeline.routes import require_torch

        require_torch("--twin")
        if not args.twin_budget > 0:
            raise ValueError(f"--twin-budget must be positive, got {args.twin_budget}")
    from corrclust import folder_lock

    with folder_lock.hold(Path(args.out), "corrclust demo"):  # one writer per OUT (audit qa16)
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from corrclust import pipeline
    from corrclust.commands.cluster import print_summary
    from corrclust.images import synthetic

    out = Path(args.out)
    images_dir = out / "images"
    _clear_generated(images_dir)
    synthetic.generate(
        images_dir,
        classes=args.classes,
        per_class=args.per_class,
        seed=args.seed,
        size=args.size,
        progress=args.progress,
    )
    options = pipeline.ClusterOptions(
        images_dir=images_dir,
        out_dir=out,
        method=args.method,
        solver=args.solver,
        threshold=args.threshold,
        route_options=_profile_options(args, out, images_dir) if args.method == "profile" else {},
        truth=str(images_dir / "truth.csv"),
        seed=args.seed,
        threads=args.threads,
        progress=args.progress,
    )
    result = pipeline.run(
        options,
        title="corrclust demo: synthetic organoids",
        extra_settings=[
            (
                "synthetic set",
                f"{args.classes} classes x {args.per_class} images, {args.size} px, seed {args.seed}",
            )
        ],
    )
    print_summary(result)
    if args.twin:
        print_summary(_run_twin(args, out, images_dir))
    return 0


def _profile_options(args: argparse.Namespace, out: Path, images_dir: Path) -> dict:
    options = {"profile_granularity": args.granularity}
    if args.calibrate is not None:
        if not 1 <= args.calibrate <= args.per_class:
            raise ValueError(
                f"--calibrate must be between 1 and --per-class ({args.per_class}), got {args.calibrate}"
            )
        from corrclust.atomic import write_text

        rows = [
            f"organoid_{c * 100 + k}.tif,{c}"
            for c in range(1, args.classes + 1)
            for k in range(args.calibrate)
        ]
        options["profile_calibrate"] = out / "calibration.csv"
        write_text(options["profile_calibrate"], "file,class\n" + "\n".join(rows) + "\n")
    return options


def _clear_generated(folder: Path) -> None:
    """Remove a previous demo's synthetic images (a smaller rerun must not cluster stale ones).

    Only a folder holding nothing but what the demo writes is removed; anything else is an error.
    """
    import re
    import shutil

    if not folder.exists():
        return
    ours = re.compile(r"^(organoid_\d+(_mask)?\.tif|truth\.csv)$")
    foreign = [p.name for p in folder.iterdir() if not (p.is_file() and ours.match(p.name))]
    if foreign:
        raise ValueError(
            f"{folder} holds files the demo did not write (e.g. {foreign[0]}); "
            "choose another output folder with -o"
        )
    shutil.rmtree(folder)


def _run_twin(args: argparse.Namespace, out: Path, images_dir: Path):
    """Train the ``fast`` twin recipe, small and briefly, on other images of the same classes; cluster."""
    from corrclust import pipeline
    from corrclust.images import synthetic

    try:
        from corrclust import twin
    except ImportError as exc:
        raise ValueError(f"--twin needs PyTorch ({exc})") from None
    train_dir = out / "twin" / "train-images"
    _clear_generated(train_dir)
    # Training images are new draws of the same classes (another seed), never the images clustered.
    synthetic.generate(
        train_dir,
        classes=args.classes,
        per_class=max(args.per_class, 8),
        seed=args.seed + 1000,
        size=args.size,
        progress=args.progress,
    )
    recipe = twin.get_recipe("fast").with_overrides(image_size=64, width=16, steps_per_epoch=10, epochs=20)
    data = twin.load_folder(
        train_dir, input_kind=recipe.input, image_size=recipe.image_size, require_labels=True
    )
    model = out / "twin" / "model.pt"
    twin.train(
        data,
        recipe,
        seed=args.seed,
        output=model,
        checkpoint=out / "twin" / "model.pt.ckpt",
        resume=False,
        time_budget=args.twin_budget,
        progress=args.progress,
        longer_hint="give the demo a larger --twin-budget (it trains from the start each time)",
    )
    options = pipeline.ClusterOptions(
        images_dir=images_dir,
        out_dir=out / "twin",
        method="twin",
        model=model,
        solver=args.solver,
        truth=str(images_dir / "truth.csv"),
        seed=args.seed,
        progress=args.progress,
    )
    return pipeline.run(
        options,
        title="corrclust demo: synthetic organoids, twin network",
        extra_settings=[
            (
                "twin training",
                f"recipe fast (64 px, width 16), at most {args.twin_budget:g} s, on {train_dir.name}/",
            )
        ],
    )
