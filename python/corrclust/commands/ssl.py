"""``corrclust ssl``: self-supervised embeddings of unlabelled crops (needs PyTorch).

    corrclust ssl train IMAGES_DIR -o MODEL.pt [--time-budget 300] [--seed 0] ...
    corrclust ssl embed MODEL.pt IMAGES_DIR -o OUT.npz
    corrclust cluster CROPS_DIR --ssl-model MODEL.pt -o OUT   # profiles + the embedding (docs/ssl.md)

torch is imported only when a sub-command runs, so the rest of the CLI works without it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from corrclust.cli_support import add_progress_flag, help_of, positive_int
from corrclust.training_cli import (
    add_training_arguments,
    check_output_file,
    import_torch_package,
    report_training,
    say_start,
)


def _ssl() -> Any:
    return import_torch_package("corrclust.ssl", "self-supervised embeddings")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ssl",
        help="self-supervised embeddings: train on your own unlabelled crops, embed a folder",
        description="Self-supervised embedding networks for unlabelled crops (needs PyTorch).",
    )
    p.set_defaults(func=help_of(p))
    ssub = p.add_subparsers(dest="ssl_command", metavar="ACTION")

    t = ssub.add_parser(
        "train",
        help="train an embedding network on the crops of a folder (no labels)",
        description=(
            "Train an embedding network on the crops of IMAGES_DIR without labels (SimCLR by default: "
            "two augmented views of a crop must embed alike). A checkpoint MODEL.pt.ckpt is written every "
            "--checkpoint-every seconds and on Ctrl-C; running the same command again continues from it, "
            "and after a --time-budget stop a larger budget trains on. Best trained once on a large pool "
            "(thousands of the lab's crops), then joined to the profiles of each folder with "
            "'corrclust cluster FOLDER --ssl-model MODEL.pt' (docs/ssl.md)."
        ),
    )
    t.add_argument("images_dir", metavar="IMAGES_DIR", type=Path)
    add_training_arguments(
        t,
        output_help=None,
        time_budget_default=300.0,
        time_budget_help="seconds of training in total over resumed runs (default 300)",
        checkpoint_every_help=(
            "write the checkpoint after this many seconds of training (default 120; 0: only at the end)"
        ),
        seed_help=None,
    )
    t.add_argument(
        "--method", choices=("simclr", "byol"), default="simclr", help="objective (default simclr)"
    )
    t.add_argument(
        "--steps", type=positive_int, help="planned steps (default 2000; the budget usually ends earlier)"
    )
    t.add_argument("--image-size", type=positive_int, help="network input side in pixels (default 64)")
    t.add_argument("--width", type=positive_int, help="ResNet-18 base width (default 32)")
    t.add_argument("--batch-size", type=positive_int, help="crops per step (default 64)")
    t.add_argument("--threads", type=positive_int, help="torch CPU threads (default: torch's choice)")
    t.add_argument("--restart", action="store_true", help="ignore an existing checkpoint and start afresh")
    add_progress_flag(t)
    t.set_defaults(func=run_train)

    e = ssub.add_parser(
        "embed",
        help="embeddings (and label-free clustering costs) of a folder's crops",
        description="Writes OUT.npz with ids, features (n x d, unit rows) and costs (n x n, positive = join).",
    )
    e.add_argument("model", metavar="MODEL.pt", type=Path)
    e.add_argument("images_dir", metavar="IMAGES_DIR", type=Path)
    e.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.npz")
    add_progress_flag(e)
    e.set_defaults(func=run_embed)


def run_train(args: argparse.Namespace) -> int:
    ssl = _ssl()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    check_output_file(args.output)
    fields = {
        "method": args.method,
        "steps": args.steps,
        "image_size": args.image_size,
        "width": args.width,
        "batch_size": args.batch_size,
    }
    config = ssl.SSLConfig(**{k: v for k, v in fields.items() if v is not None})
    config.validate()
    from corrclust.twin.data import load_folder

    data = load_folder(
        args.images_dir, image_size=config.image_size, require_labels=False, progress=args.progress
    )
    if len(data) < 2:  # said as the array shape "(1, 1, 64, 64)" by the trainer before
        raise ValueError(
            f"self-supervised training needs at least 2 images, {args.images_dir} has {len(data)} readable"
        )
    ckpt = Path(str(args.output) + ".ckpt")
    say_start(  # with --no-progress too: whether it resumes is not a progress bar (audit qa15)
        "ssl train",
        f"{len(data)} crops, {data.in_channels} channel(s); {config.method}, "
        f"{config.image_size} px, width {config.width}",
        ckpt,
        args.restart,
    )
    res = ssl.train(
        data.inputs,
        data.ids,
        config,
        seed=args.seed,
        output=args.output,
        checkpoint=ckpt,
        resume=not args.restart,
        time_budget=args.time_budget,
        checkpoint_every=args.checkpoint_every,
        progress=args.progress,
    )
    loss = ""
    if res.losses:
        first, last = res.losses[:10], res.losses[-10:]
        loss = f", loss {sum(first) / len(first):.3f} -> {sum(last) / len(last):.3f}"
    return report_training(
        "ssl train",
        res,
        ckpt,
        summary=f"{res.stopped} after {res.steps} steps ({res.elapsed_s:.0f} s{loss}); "
        f"model written to {res.model_path}",
        kept=f"{ckpt} is kept: the same command with a larger --time-budget trains on",
    )


def run_embed(args: argparse.Namespace) -> int:
    import numpy as np

    ssl = _ssl()
    emb = ssl.embed_folder(args.images_dir, model=args.model, progress=args.progress)
    for w in emb.warnings:
        print(f"ssl embed: warning: model {args.model}: {w}", file=sys.stderr)
    costs, _ = ssl.embedding_costs(emb.features)
    from corrclust.atomic import atomic_path

    with atomic_path(args.output) as tmp, open(tmp, "wb") as fh:  # the name is kept as given
        np.savez_compressed(fh, ids=np.array(emb.ids), features=emb.features, costs=costs)
    if args.progress:
        print(
            f"ssl embed: {len(emb.ids)} crops, {emb.features.shape[1]} features; wrote {args.output}",
            file=sys.stderr,
        )
    return 0
