"""Organoid detection on a stitched field: tiles against the fields detected one by one.

    OMP_NUM_THREADS=1 python benchmarks/bench_detection_tiles.py --half even --grid 4 4 \
        --tile-sizes 768:128 1024 2048 [--whole] [--jobs N]
    python benchmarks/bench_detection_tiles.py --half even --grid 27 27 --write FIELD.tif

A whole-well scan is stitched from fields; the OrgaQuant fields (``../shared/data/organoid-fields``,
450 x 450, with manual boxes) laid side by side in a ``rows x cols`` grid (field ``k`` of the half
at grid position ``k mod n``, in row order) make such a scan with known organoids. Printed, for the
fields detected one by one (what detection does to fields stored separately), for the mosaic
detected in tiles of each ``--tile-sizes`` (``DetectionParams.tile_size`` and ``tile_overlap``,
``SIZE`` or ``SIZE:OVERLAP``, overlap 256 by default) and, with ``--whole``, for the mosaic
detected at once (the code before tiling; slow and memory-hungry past a few thousand px):
precision, recall and mean IoU of the one-to-one matches (IoU >= 0.5) with the manual boxes; the
recall of the manual boxes that no field edge cuts (``inner``: in the mosaic an organoid cut by its
field's edge runs on into an unrelated field); the share of the one-by-one detections that the
mosaic's detections reproduce (matched at IoU >= 0.9); the CPU seconds of this process (with
``--jobs`` above 1 the fields one by one run in other processes and are not counted). ``--write``
saves the mosaic as a TIFF (for timing the command line).

The shipped score is fitted on all 112 fields, so every figure is in-sample for the score; the
tile size was chosen on the even half (``names[0::2]``) and the odd half (``names[1::2]``) scored
once afterwards. So was, in session 19, the candidate count per 450 x 450 px of a larger field or
tile (``detection._log_candidates``; the diagnosis that led to it: bench_detection_mosaic.py, even
half only): the protocol is in that commit's message, the odd half was scored once after it.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
from bench_images import SHARED, _map

from corrclust.images.detection import DetectionParams, detect_organoids, match_boxes
from corrclust.images.io import read_image

FIELDS = SHARED / "data" / "organoid-fields"


def _half(half: str) -> list[str]:
    with open(FIELDS / "bboxes.csv", newline="") as fh:
        names = sorted({r["filename"] for r in csv.DictReader(fh)})
    return names[0::2] if half == "even" else names[1::2]


def mosaic(names: list[str], rows: int, cols: int) -> tuple[np.ndarray, np.ndarray, list[tuple]]:
    """(image, manual boxes in mosaic pixels, (name, x offset, y offset) of every grid cell)."""
    truth: dict[str, list] = {}
    with open(FIELDS / "bboxes.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            truth.setdefault(r["filename"], []).append([int(r[k]) for k in ("x1", "y1", "x2", "y2")])
    first = read_image(FIELDS / "images" / names[0])
    h, w, c = first.shape
    image = np.zeros((rows * h, cols * w, c), first.dtype)
    boxes = []
    cells = []
    for k in range(rows * cols):
        name = names[k % len(names)]
        y, x = (k // cols) * h, (k % cols) * w
        image[y : y + h, x : x + w] = read_image(FIELDS / "images" / name)
        boxes += [[b[0] + x, b[1] + y, b[2] + x, b[3] + y] for b in truth.get(name, [])]
        cells.append((name, x, y))
    return image, np.array(boxes, float).reshape(-1, 4), cells


def _boxes(dets) -> np.ndarray:
    return np.array([d.box for d in dets], float).reshape(-1, 4)


def _one_field(name: str) -> np.ndarray:
    return _boxes(detect_organoids(read_image(FIELDS / "images" / name)))


def _matched_truth(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Which manual boxes the one-to-one matching (IoU >= 0.5) pairs with a detection."""
    from scipy.optimize import linear_sum_assignment

    from corrclust.images.detection import box_iou

    hit = np.zeros(len(truth), bool)
    if len(pred) and len(truth):
        iou = box_iou(pred, truth)
        rows, cols = linear_sum_assignment(-iou)
        hit[cols[iou[rows, cols] >= 0.5]] = True
    return hit


def _row(
    label: str, pred: np.ndarray, truth: np.ndarray, ref: np.ndarray, seconds: float, inner: np.ndarray
) -> None:
    tp, fp, fn, ious = match_boxes(pred, truth, 0.5)
    same = match_boxes(pred, ref, 0.9)[0]
    hit = _matched_truth(pred, truth)
    print(
        f"{label:<28} {len(pred):>6} {tp / max(tp + fp, 1):>9.3f} {tp / max(tp + fn, 1):>7.3f} "
        f"{hit[inner].mean():>7.3f} {np.mean(ious) if ious else 0:>8.3f} {same / max(len(ref), 1):>11.3f} "
        f"{seconds:>9.1f}",
        flush=True,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--half", choices=("even", "odd"), required=True)
    ap.add_argument("--grid", type=int, nargs=2, default=(7, 8), metavar=("ROWS", "COLS"))
    ap.add_argument("--tile-sizes", nargs="*", default=["2048"], help="SIZE or SIZE:OVERLAP (overlap 256)")
    ap.add_argument("--whole", action="store_true", help="also the mosaic at once (old behaviour)")
    ap.add_argument("--write", type=Path, help="only write the mosaic to this TIFF")
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()
    names = _half(args.half)
    image, truth, cells = mosaic(names, *args.grid)
    if args.write is not None:
        import tifffile

        tifffile.imwrite(args.write, image, photometric="rgb")
        print(
            f"{image.shape} mosaic of {len(cells)} {args.half} fields, {len(truth)} manual boxes -> {args.write}"
        )
        return 0
    print(
        f"{args.half} half, {args.grid[0]} x {args.grid[1]} fields, mosaic {image.shape[1]} x {image.shape[0]} px"
    )
    head = (
        ("boxes", 6),
        ("precision", 9),
        ("recall", 7),
        ("inner", 7),
        ("mean IoU", 8),
        ("one-by-one", 11),
        ("cpu s", 9),
    )
    print(f"{'detection':<28} " + " ".join(f"{h:>{w}}" for h, w in head))
    # manual boxes that no field edge cuts (the fields' edges are seams in the mosaic, where an
    # organoid cut by its field runs into an unrelated field)
    h = w = 450
    x_in = (truth[:, 0] % w > 0) & ((truth[:, 2] - 1) // w == truth[:, 0] // w) & (truth[:, 2] % w != 0)
    y_in = (truth[:, 1] % h > 0) & ((truth[:, 3] - 1) // h == truth[:, 1] // h) & (truth[:, 3] % h != 0)
    inner = x_in & y_in
    t = time.process_time()
    distinct = sorted({c[0] for c in cells})
    per_name = dict(zip(distinct, _map(_one_field, distinct, args.jobs), strict=True))
    ref = np.vstack([per_name[n] + [x, y, x, y] for n, x, y in cells])
    # every distinct field is detected once; the time is scaled to the mosaic's cells
    _row("fields one by one", ref, truth, ref, (time.process_time() - t) * len(cells) / len(distinct), inner)
    for spec in args.tile_sizes:
        size, _, overlap = spec.partition(":")
        t = time.process_time()
        params = DetectionParams(tile_size=int(size), tile_overlap=int(overlap or 256))
        pred = _boxes(detect_organoids(image, params))
        _row(f"tiles of {size}, overlap {overlap or 256}", pred, truth, ref, time.process_time() - t, inner)
    if args.whole:
        t = time.process_time()
        pred = _boxes(detect_organoids(image, DetectionParams(tile_size=None)))
        _row("whole mosaic at once", pred, truth, ref, time.process_time() - t, inner)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
