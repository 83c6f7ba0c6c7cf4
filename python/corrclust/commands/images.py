"""``corrclust images``: from microscopy images to organoid crops and key points.

    corrclust images crop FIELDS_DIR -o CROPS_DIR [--fluorescence] [--min-score S] [--scorer auto|trees|trees+cnn]
        [--score-model FILE] [--cnn-model FILE] [--no-progress]
    corrclust images keypoints CROPS_DIR -o KEYPOINTS.csv [--ids IDS.csv] [--image-set NAME] [--no-progress]

The commands that read images also take --channels, --z-project, --t, --pixel-size and
--name-pattern (``corrclust.cli_support.add_read_arguments``; docs/images.md, "Reading images").
    corrclust images synth -o DIR [--classes K] [--per-class N] [--seed S] [--size PX] [--no-progress]
    corrclust images rbc-crops RBC_DIR -o DIR [--size PX] [--train N] [--test N] [--unseen N] [--seed S]

Every loop over files shows a progress bar (``--no-progress`` hides it). Unreadable images are listed
on stderr and skipped; the exit code is then 1 (0 when every file was processed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from corrclust.cli_support import CliError, add_progress_flag, add_read_arguments, help_of, read_options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "images",
        help="organoid crops from fields, key points, synthetic organoids, RBC crops",
        description="Image processing: detect and crop organoids, extract key points, make data sets.",
    )
    isub = p.add_subparsers(dest="images_command", metavar="ACTION")

    c = isub.add_parser(
        "crop",
        help="detect organoids in whole fields and crop them",
        description="Detect organoids in every image of FIELDS_DIR; write one crop and "
        "mask per organoid and CROPS_DIR/crops.csv (source,crop,x1,y1,x2,y2).",
    )
    c.add_argument("fields", metavar="FIELDS_DIR")
    c.add_argument("-o", "--output", required=True, metavar="CROPS_DIR")
    c.add_argument(
        "--fluorescence",
        action="store_true",
        help="bright organoids on a dark background (default: brightfield)",
    )
    c.add_argument(
        "--min-score",
        type=float,
        default=None,
        metavar="S",
        help="detection score threshold in [0, 1] (default: the operating point stored with the "
        "score; higher = fewer, surer)",
    )
    c.add_argument(
        "--scorer",
        choices=("auto", "trees", "trees+cnn"),
        default="trees",
        help="brightfield candidate score: boosted trees alone (default), or trees and the crop CNN "
        "(needs torch and --cnn-model); auto: trees+cnn when torch is installed",
    )
    c.add_argument(
        "--cnn-model",
        default=None,
        metavar="FILE",
        help="crop CNN written by `python -m corrclust.images.detection_model ... --cnn-output FILE` "
        "(with --score-model: the trees fitted beside it)",
    )
    c.add_argument(
        "--score-model",
        default=None,
        metavar="FILE",
        help="brightfield candidate score fitted by `python -m corrclust.images.detection_model` "
        "(default: the shipped model)",
    )
    add_read_arguments(
        c,
        channels_help="planes written into the crops and seen by the detector, by index or "
        "channel name, '-' for a blank plane (default: all planes)",
    )
    add_progress_flag(c)
    c.set_defaults(func=run_crop)

    k = isub.add_parser(
        "keypoints",
        help="key points of single-organoid images (paper format CSV)",
        description="Extract the paper's key points (nuclei in channels 0 and 1, red "
        "peaks in channel 3) of every image in CROPS_DIR, using "
        "<stem>_mask.tif masks when present.",
    )
    k.add_argument("crops", metavar="CROPS_DIR")
    k.add_argument("-o", "--output", required=True, metavar="KEYPOINTS.csv")
    k.add_argument("--ids", metavar="IDS.csv", help="table file,id[,class][,subset] overriding ids")
    k.add_argument(
        "--image-set",
        default=None,
        metavar="NAME",
        help="name written in the header (default: the folder name)",
    )
    add_read_arguments(
        k,
        channels_default="0,1,3",
        name_pattern=False,
        channels_help="B,G,R: planes used as blue nuclei, green nuclei and red membranes, by index "
        "or channel name, '-' for none (default 0,1,3 as in the paper; "
        "--channels -,-,0 and --channels=-,-,0 both work)",
    )
    add_progress_flag(k)
    k.set_defaults(func=run_keypoints)

    s = isub.add_parser(
        "synth",
        help="write synthetic organoids with known classes",
        description="Write seeded synthetic 4-channel 16-bit organoids, masks and "
        "truth.csv in the paper's layout.",
    )
    s.add_argument("-o", "--output", required=True, metavar="DIR")
    s.add_argument("--classes", type=int, default=4, metavar="K", help="number of classes (1-8, default 4)")
    s.add_argument("--per-class", type=int, default=10, metavar="N", help="images per class (default 10)")
    s.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    s.add_argument("--size", type=int, default=160, metavar="PX", help="image side in pixels (default 160)")
    add_progress_flag(s)
    s.set_defaults(func=run_synth)

    r = isub.add_parser(
        "rbc-crops",
        help="fixed-size red-blood-cell crops (train/test/unseen)",
        description="Cut unscaled crops around the labelled cells of Chula RBC-12 "
        "(RBC_DIR with images/ and points.csv) into DIR/{train,test,unseen}.",
    )
    r.add_argument("rbc", metavar="RBC_DIR")
    r.add_argument("-o", "--output", required=True, metavar="DIR")
    r.add_argument("--size", type=int, default=64, metavar="PX", help="crop side (default 64)")
    r.add_argument(
        "--train", type=int, default=10, metavar="N", help="training crops per seen class (default 10)"
    )
    r.add_argument("--test", type=int, default=10, metavar="N", help="test crops per seen class (default 10)")
    r.add_argument("--unseen", type=int, default=10, metavar="N", help="crops per unseen class (default 10)")
    r.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    add_read_arguments(r, pixel_size=False, name_pattern=False)
    add_progress_flag(r)
    r.set_defaults(func=run_rbc)

    p.set_defaults(func=help_of(p))


def _report_failures(failures) -> int:
    for path, msg in failures:
        print(f"skipped {path}: {msg}", file=sys.stderr)
    if failures:
        print(f"{len(failures)} file(s) could not be processed", file=sys.stderr)
    return 1 if failures else 0


def run_crop(args: argparse.Namespace) -> int:
    from corrclust.images.detection import (
        DetectionParams,
        cnn_model,
        crop_fields,
        resolve_scorer,
        score_model,
    )

    kw: dict[str, Any] = {}
    if args.fluorescence:
        kw["modality"] = "fluorescence"
    if args.min_score is not None:
        if not 0.0 <= args.min_score <= 1.0:
            raise CliError(f"--min-score must be in [0, 1], got {args.min_score}")
        kw["min_score"] = args.min_score
    if args.score_model is not None:
        if args.fluorescence:
            raise CliError("--score-model applies to brightfield fields; fluorescence detection has no score")
        score_model(str(args.score_model))  # an unreadable or foreign file fails here, before any field
        kw["score_model"] = str(args.score_model)
    if not args.fluorescence:
        kw["scorer"] = resolve_scorer(args.scorer)  # the no-torch warning once, here
        if kw["scorer"] == "trees+cnn":
            try:
                cnn_model(None if args.cnn_model is None else str(args.cnn_model))  # fails before any field
            except ValueError as exc:
                raise CliError(str(exc)) from exc
            kw["cnn_model"] = None if args.cnn_model is None else str(args.cnn_model)
        elif args.cnn_model is not None:
            raise CliError("--cnn-model needs --scorer trees+cnn (or auto with torch installed)")
    res = crop_fields(
        args.fields,
        args.output,
        DetectionParams(**kw),
        progress=args.progress,
        read=read_options(args),
        name_pattern=args.name_pattern,
    )
    n_src = len({r[0] for r in res.rows})
    print(f"{len(res.rows)} organoid crops from {n_src} image(s) -> {res.table}")
    return _report_failures(res.failures)


def run_keypoints(args: argparse.Namespace) -> int:
    from corrclust.images.io import list_images
    from corrclust.images.keypoints import extract_keypoint_set
    from corrclust.pqap.io import write_keypoints

    channels = args.channels
    if len(channels) != 3:
        raise CliError(
            f"--channels needs three comma-separated entries (blue,green,red), got {len(channels)}"
        )
    read = read_options(args, channels=False)
    records = list_images(args.crops, args.ids, read=read)
    failures: list = []
    ks = extract_keypoint_set(
        records,
        channels=channels,
        image_set=args.image_set or Path(args.crops).resolve().name,
        failures=failures,
        progress=args.progress,
        read=read,
    )
    if not ks.ids:
        _report_failures(failures)
        raise CliError(f"no key points extracted: none of the {len(records)} images could be processed")
    write_keypoints(args.output, ks)
    n_f = sum(len(ks.features[i]) for i in ks.ids)
    n_c = sum(len(ks.candidates[i]) for i in ks.ids)
    print(f"{len(ks.ids)} organoids, {n_f} features, {n_c} candidates -> {args.output}")
    return _report_failures(failures)


def run_synth(args: argparse.Namespace) -> int:
    from corrclust.images.synthetic import generate

    recs = generate(
        args.output,
        classes=args.classes,
        per_class=args.per_class,
        seed=args.seed,
        size=args.size,
        progress=args.progress,
    )
    print(f"{len(recs)} synthetic organoids in {args.classes} classes -> {args.output} (truth.csv)")
    return 0


def run_rbc(args: argparse.Namespace) -> int:
    from corrclust.images.rbc import make_crops

    recs = make_crops(
        args.rbc,
        args.output,
        size=args.size,
        train_per_class=args.train,
        test_per_class=args.test,
        seed=args.seed,
        unseen_per_class=args.unseen,
        progress=args.progress,
        read=read_options(args),
    )
    counts = ", ".join(f"{k} {len(v)}" for k, v in recs.items())
    print(f"RBC crops: {counts} -> {args.output} (crops.csv, <split>/truth.csv)")
    return 0
