"""Organoid detection on mosaics of fields: at which step the manual boxes are lost, and why.

    OMP_NUM_THREADS=1 python benchmarks/bench_detection_mosaic.py --arrangement mixed --grid 4 4
    python benchmarks/bench_detection_mosaic.py --arrangement mixed --grid 4 4 --otsu-without-seams 4
    python benchmarks/bench_detection_mosaic.py --arrangement mirror --grid 3 3 --fields 1 5 9

The even-half OrgaQuant fields (``names[0::2]``, the development half of bench_detection_tiles.py;
this script never reads the odd half) laid into one mosaic, detected at once (no tiles: a mosaic up
to 2,048 px is one tile anyway) and field by field. ``mixed``: field ``k mod n`` of the half at grid
position ``k`` (as bench_detection_tiles.py), one mosaic; ``mirror``: each field of ``--fields``
(indices into the half) repeated over the grid, every other column and row mirrored, so that the
mosaic has no seams and every field's flat field, contrast maps and Otsu levels are those of the
field alone (scipy's and skimage's "reflect" borders are that mirror), one mosaic per field.

For the manual boxes that no field edge cuts, the share that a step keeps: ``cand`` a candidate with
box IoU >= 0.5, ``score`` such a candidate scoring at least min_score, ``final`` matched one to one
after the suppression; and precision / recall of the detections that touch no field edge against
those boxes. Rows: the mosaic with the candidate count of the whole mosaic (the rule before session
19), with the count per 450 x 450 px (``detection._log_candidates``, now), with every field-level
feature (Otsu level, ranks, count) recomputed among the candidates whose centre lies in each field,
and each field alone. ``--otsu-without-seams PX`` takes the mosaic's Otsu levels without the pixels
within PX of a field edge (where unrelated fields meet the flat field steps).
"""

from __future__ import annotations

import argparse
import csv
import time

import numpy as np
from bench_detection_tiles import FIELDS, _half, _matched_truth

from corrclust.images import detection as det
from corrclust.images.detection import FEATURES, DetectionParams, match_boxes
from corrclust.images.io import read_image

P = DetectionParams(tile_size=None)
SIDE = 450


def _truth() -> dict[str, list[list[int]]]:
    out: dict[str, list[list[int]]] = {}
    with open(FIELDS / "bboxes.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            out.setdefault(r["filename"], []).append([int(r[k]) for k in ("x1", "y1", "x2", "y2")])
    return out


def build(names, rows, cols, mirror, truth):
    """(image, manual boxes, which of them no field edge cuts) of the mosaic."""
    image = np.zeros((rows * SIDE, cols * SIDE, 3), np.uint8)
    boxes, inner = [], []
    for k, name in enumerate(names):
        fy, fx = mirror and (k // cols) % 2 == 1, mirror and (k % cols) % 2 == 1
        y, x = (k // cols) * SIDE, (k % cols) * SIDE
        im = read_image(FIELDS / "images" / name)
        image[y : y + SIDE, x : x + SIDE] = im[:: -1 if fy else 1, :: -1 if fx else 1]
        for b in truth.get(name, []):
            b = list(b)
            if fx:
                b[0], b[2] = SIDE - b[2], SIDE - b[0]
            if fy:
                b[1], b[3] = SIDE - b[3], SIDE - b[1]
            boxes.append([b[0] + x, b[1] + y, b[2] + x, b[3] + y])
            inner.append(b[0] > 0 and b[1] > 0 and b[2] < SIDE and b[3] < SIDE)
    return image, np.array(boxes, float).reshape(-1, 4), np.array(inner, bool)


def _inside(boxes: np.ndarray) -> np.ndarray:
    """Boxes that touch no field edge (at least 1 px inside one field)."""
    cx, cy = boxes[:, 0] // SIDE, boxes[:, 1] // SIDE
    return (
        (boxes[:, 0] > cx * SIDE)
        & (boxes[:, 1] > cy * SIDE)
        & (boxes[:, 2] < (cx + 1) * SIDE)
        & (boxes[:, 3] < (cy + 1) * SIDE)
    )


def evaluate(boxes, scores, min_score, truth, inner) -> np.ndarray:
    """cand, score, final (per manual box that no field edge cuts) and tp, fp, fn inside the fields."""
    iou = det.box_iou(boxes, truth) if len(boxes) else np.zeros((0, len(truth)))
    cand = iou.max(0) >= 0.5 if len(boxes) else np.zeros(len(truth), bool)
    ok = scores >= min_score
    scored = iou[ok].max(0) >= 0.5 if ok.any() else np.zeros(len(truth), bool)
    pred = boxes[det.non_maximum_suppression(boxes, scores, min_score, P.nms_iou, P.nms_overlap)]
    final = _matched_truth(pred, truth)
    tp, fp, fn, _ = match_boxes(pred[_inside(pred)] if len(pred) else pred, truth[inner], 0.5)
    return np.array([cand[inner].sum(), scored[inner].sum(), final[inner].sum(), tp, fp, fn, inner.sum()])


def per_field_features(image, cands) -> np.ndarray:
    """The field-level features recomputed among the candidates whose box centre lies in each field."""
    from skimage.filters import threshold_otsu

    X = cands.features.copy()
    cmap = det.contrast_map(image, P)
    cols = image.shape[1] // SIDE
    cx = (cands.boxes[:, 0] + cands.boxes[:, 2]) // 2 // SIDE
    cy = (cands.boxes[:, 1] + cands.boxes[:, 3]) // 2 // SIDE
    cell = cy * cols + cx
    for k in np.unique(cell):
        sel = cell == k
        y, x = (k // cols) * SIDE, (k % cols) * SIDE
        otsu = float(threshold_otsu(cmap[y : y + SIDE, x : x + SIDE]))
        Xs = X[sel]
        Xs[:, FEATURES.index("field_otsu")] = otsu
        Xs[:, FEATURES.index("rim_rel_otsu")] = Xs[:, FEATURES.index("rim_contrast")] / otsu
        for name in ("rim_contrast", "rim_contrast_coarse", "flat_p5"):
            v = Xs[:, FEATURES.index(name)]
            s = np.sort(v)
            Xs[:, FEATURES.index(name + "_rank")] = (
                np.searchsorted(s, v, "left") + np.searchsorted(s, v, "right") + 1
            ) / (2.0 * len(v))
            Xs[:, FEATURES.index(name + "_rel_p90")] = v / max(float(np.percentile(v, 90)), 1e-12)
        Xs[:, FEATURES.index("log_candidates")] = np.log(sel.sum())
        X[sel] = Xs
    return X


def _otsu_without_seams(px: int):
    """skimage's threshold_otsu, leaving out the pixels within px of a field edge of mosaic-sized maps."""
    import skimage.filters as skf

    plain = skf.threshold_otsu

    def otsu(a, *args, **kw):
        if a.ndim == 2 and max(a.shape) > SIDE and a.shape[0] % SIDE == 0 and a.shape[1] % SIDE == 0:
            keep = np.ones(a.shape, bool)
            for s in range(SIDE, a.shape[0], SIDE):
                keep[s - px : s + px, :] = False
            for s in range(SIDE, a.shape[1], SIDE):
                keep[:, s - px : s + px] = False
            return plain(a[keep], *args, **kw)
        return plain(a, *args, **kw)

    skf.threshold_otsu = otsu


ROWS = ("whole mosaic's count", "count per 450 x 450", "field features per field", "each field alone")


def one_mosaic(names, rows, cols, mirror, truth, model) -> dict[str, np.ndarray]:
    image, boxes, inner = build(names, rows, cols, mirror, truth)
    cands = det.brightfield_candidates(image, P)
    b = cands.boxes.astype(float)
    old = cands.features.copy()
    old[:, FEATURES.index("log_candidates")] = np.log(len(b))
    out = {
        ROWS[0]: evaluate(b, model.predict(old), model.min_score, boxes, inner),
        ROWS[1]: evaluate(b, model.predict(cands.features), model.min_score, boxes, inner),
        ROWS[2]: evaluate(b, model.predict(per_field_features(image, cands)), model.min_score, boxes, inner),
    }
    alone = np.zeros(7, np.int64)
    seen: dict[tuple, np.ndarray] = {}
    for k, name in enumerate(names):
        key = (name, mirror and (k // cols) % 2 == 1, mirror and (k % cols) % 2 == 1)
        if key not in seen:
            im1, t1, in1 = build([name], 1, 1, False, truth)
            im1 = im1[:: -1 if key[1] else 1, :: -1 if key[2] else 1]
            t1 = t1.copy()
            if key[2]:
                t1[:, [0, 2]] = SIDE - t1[:, [2, 0]]
            if key[1]:
                t1[:, [1, 3]] = SIDE - t1[:, [3, 1]]
            c1 = det.brightfield_candidates(im1, P)
            seen[key] = evaluate(c1.boxes.astype(float), model.predict(c1.features), model.min_score, t1, in1)
        alone += seen[key]
    out[ROWS[3]] = alone
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arrangement", choices=("mixed", "mirror"), default="mixed")
    ap.add_argument("--grid", type=int, nargs=2, default=(4, 4), metavar=("ROWS", "COLS"))
    ap.add_argument("--fields", type=int, nargs="*", help="mirror: indices into the even half (default all)")
    ap.add_argument("--otsu-without-seams", type=int, default=0, metavar="PX")
    args = ap.parse_args()
    names = _half("even")
    truth = _truth()
    model = det.score_model()
    if args.otsu_without_seams:
        _otsu_without_seams(args.otsu_without_seams)
    rows, cols = args.grid
    if args.arrangement == "mixed":
        mosaics = [[names[k % len(names)] for k in range(rows * cols)]]
    else:
        idx = args.fields if args.fields else range(len(names))
        mosaics = [[names[i]] * (rows * cols) for i in idx]
    t = time.process_time()
    total = {r: np.zeros(7, np.int64) for r in ROWS}
    for cells in mosaics:
        for r, v in one_mosaic(cells, rows, cols, args.arrangement == "mirror", truth, model).items():
            total[r] += v
    n = total[ROWS[0]][6]
    print(
        f"{args.arrangement} {rows} x {cols}, {len(mosaics)} mosaic(s) of even fields, {n} manual boxes "
        f"inside their fields, Otsu without seams: {args.otsu_without_seams or 'no'}, "
        f"{time.process_time() - t:.0f} CPU s"
    )
    print(
        f"{'':<26} {'cand':>6} {'score':>6} {'final':>6}   inside the fields: {'precision':>9} {'recall':>6}"
    )
    for r, (c, s, f, tp, fp, fn, _) in total.items():
        print(
            f"{r:<26} {c / n:>6.3f} {s / n:>6.3f} {f / n:>6.3f}   {'':>18} "
            f"{tp / max(tp + fp, 1):>9.3f} {tp / max(tp + fn, 1):>6.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
