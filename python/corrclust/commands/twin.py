"""``corrclust twin``: train twin networks and predict pair probabilities (needs PyTorch).

    corrclust twin train DATA_DIR --recipe fast -o MODEL.pt [--time-budget S] [--seed S] ...
    corrclust twin predict MODEL.pt IMAGES_DIR -o OUT.npz

torch is imported only when a sub-command runs, so the rest of the CLI works without it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from corrclust.atomic import atomic_path
from corrclust.cli_support import (
    CliError,
    add_progress_flag,
    add_read_arguments,
    help_of,
    positive_int,
    read_options,
)
from corrclust.training_cli import (
    add_training_arguments,
    check_output_file,
    import_torch_package,
    report_training,
    say_start,
)

RECIPE_NAMES = ("paper-tni", "paper-tnia", "paper-tnh", "fast", "cpu")


def _twin() -> Any:
    return import_torch_package("corrclust.twin", "twin networks")


def _say_torch(args: argparse.Namespace) -> None:
    """Name the torch build and the device before any work (unknown devices fail here)."""
    from corrclust.twin.torch_build import describe

    line = describe(None if args.device == "auto" else args.device)
    if args.progress:  # the build and device are detail; whether a run resumes is said either way
        print(f"twin {args.twin_command}: {line}", file=sys.stderr)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "twin",
        help="train twin networks (paper TNI/TNIa/TNH or the fast recipe) and predict pair probabilities",
        description="Twin networks on images (needs PyTorch: pip install 'corrclust[torch]').",
    )
    p.set_defaults(func=help_of(p))
    tsub = p.add_subparsers(dest="twin_command", metavar="ACTION")

    t = tsub.add_parser(
        "train",
        help="train a twin network on a labelled image folder",
        description=(
            "Train a twin network. DATA_DIR holds images named with the paper's ids (class = id // 100) "
            "or one sub-folder per class; 8- or 16-bit images with 1 to 3 channels (after --channels) in any "
            "format corrclust reads (TIFF, OME-TIFF, OME-Zarr, PNG, JPEG; CZI/ND2/LIF with corrclust[formats]). "
            "A checkpoint MODEL.pt.ckpt is written every epoch and every --checkpoint-every seconds; "
            "Ctrl-C saves it and stops, and running the same command again resumes from it. After a "
            "--time-budget stop it is kept: the same command with a larger budget trains on. A model "
            "that is barely trained is saved with a warning, printed here and by 'twin predict'."
        ),
    )
    t.add_argument("data_dir", metavar="DATA_DIR", type=Path)
    t.add_argument(
        "--recipe",
        choices=RECIPE_NAMES,
        default=None,
        help="training recipe (default: cpu without a GPU, fast with one)",
    )
    add_training_arguments(
        t,
        output_help="model file to write",
        time_budget_default=None,
        time_budget_help="stop training after this many seconds (in total over resumed runs) and save the model",
        checkpoint_every_help=(
            "also write the checkpoint after this many seconds of training (default 120; 0: per epoch only)"
        ),
        seed_help="random seed (default 0)",
    )
    t.add_argument("--epochs", type=positive_int, help="override the recipe's number of epochs")
    t.add_argument("--steps-per-epoch", type=positive_int, help="override the recipe's steps per epoch")
    t.add_argument("--image-size", type=positive_int, help="override the recipe's input size (pixels)")
    t.add_argument(
        "--width",
        type=positive_int,
        help="ResNet-18 base width (default 64, the standard network; smaller for small data)",
    )
    t.add_argument(
        "--batch-size",
        type=positive_int,
        help="pairs per batch (paper recipes) or images per class per batch (fast)",
    )
    t.add_argument("--device", default="auto", help="cpu, cuda or auto (default: cuda when available)")
    t.add_argument(
        "--resume",
        nargs="?",
        const="",
        default=None,
        metavar="CKPT",
        help="resume from CKPT (default MODEL.pt.ckpt, which is also picked up automatically)",
    )
    t.add_argument("--restart", action="store_true", help="ignore an existing checkpoint and start afresh")
    add_read_arguments(t, name_pattern=False)
    add_progress_flag(t)
    t.set_defaults(func=run_train)

    q = tsub.add_parser(
        "predict",
        help="pair probabilities and correlation-clustering costs for a folder of images",
        description=(
            "Embed every image once and score all pairs. Writes OUT.npz with ids, P (n x n, p(same class), "
            "diagonal 1), costs (n x n logit costs of the mean-symmetrised P, positive = attractive) "
            "and labels when the folder gives classes."
        ),
    )
    q.add_argument("model", metavar="MODEL.pt", type=Path)
    q.add_argument("images_dir", metavar="IMAGES_DIR", type=Path)
    q.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.npz")
    q.add_argument("--device", default="auto", help="cpu, cuda or auto (default: cuda when available)")
    q.add_argument("--batch-size", type=positive_int, default=64, help="images per embedding batch")
    add_read_arguments(q, name_pattern=False)
    add_progress_flag(q)
    q.set_defaults(func=run_predict)


def run_train(args: argparse.Namespace) -> int:
    twin = _twin()
    _say_torch(args)
    from corrclust.twin.train import resolve_device

    try:
        device_type = resolve_device(None if args.device == "auto" else args.device).type
    except ValueError as exc:
        raise CliError(str(exc)) from None
    recipe = twin.get_recipe(args.recipe or twin.default_recipe(device_type))
    overrides: dict[str, Any] = {
        "epochs": args.epochs,
        "steps_per_epoch": args.steps_per_epoch,
        "image_size": args.image_size,
        "width": args.width,
    }
    if args.batch_size is not None:
        overrides["batch_size" if recipe.sampler == "pairs" else "images_per_class"] = args.batch_size
    recipe = recipe.with_overrides(**overrides)
    if args.resume is not None and args.restart:
        raise CliError("--resume and --restart contradict each other")
    checkpoint = Path(args.resume) if args.resume else Path(str(args.output) + ".ckpt")
    if args.resume is not None and not checkpoint.is_file():
        raise CliError(f"no checkpoint to resume from: {checkpoint}")
    check_output_file(args.output)
    data = twin.load_folder(
        args.data_dir,
        input_kind=recipe.input,
        image_size=recipe.image_size,
        require_labels=True,
        progress=args.progress,
        read=read_options(args),
    )
    data.check_trainable()
    say_start(  # with --no-progress too: whether it resumes is not a progress bar
        "twin train",
        f"{len(data)} images, {len(data.classes)} classes, {data.in_channels} channel(s); recipe {recipe.name}",
        checkpoint,
        args.restart,
    )
    result = twin.train(
        data,
        recipe,
        seed=args.seed,
        output=args.output,
        checkpoint=checkpoint,
        resume=not args.restart,
        time_budget=args.time_budget,
        device=None if args.device == "auto" else args.device,
        progress=args.progress,
        checkpoint_every=args.checkpoint_every,
    )
    last = f", last epoch loss {result.history[-1]:.4f}" if result.history else ""
    kept = None
    if result.checkpoint_path is not None:
        kept = (
            f"the time budget is used up; {result.checkpoint_path} is kept: the same command "
            "with a larger --time-budget trains on from it (--restart starts afresh)"
        )
    return report_training(
        "twin train",
        result,
        checkpoint,
        summary=f"{result.stopped} after {result.steps} of {recipe.total_steps} steps "
        f"({result.epochs_completed} epochs, {result.elapsed_s:.1f} s{last}, training pair AUC "
        f"{result.check.get('train_pair_auc', float('nan')):.2f}); model written to {result.model_path}",
        kept=kept,
    )


def run_predict(args: argparse.Namespace) -> int:
    import numpy as np

    twin = _twin()
    _say_torch(args)
    loaded = twin.load_model(args.model, device=None if args.device == "auto" else args.device)
    for w in loaded.warnings:
        print(f"twin predict: warning: model {args.model}: {w}", file=sys.stderr)
    pred = twin.predict(
        loaded, args.images_dir, batch_size=args.batch_size, progress=args.progress, read=read_options(args)
    )
    costs = twin.cost_matrix(pred.P)
    out: dict[str, Any] = {"ids": np.array(pred.ids), "P": pred.P, "costs": costs}
    if pred.labels is not None:
        out["labels"] = np.array(pred.labels)
    with atomic_path(args.output) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **out)
    if args.progress:
        print(f"twin predict: {len(pred.ids)} images; wrote {args.output}", file=sys.stderr)
    return 0
