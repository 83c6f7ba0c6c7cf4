"""Image-pipeline benchmark: organoid detection quality and speed, key-point extraction speed.

    python benchmarks/bench_images.py [--fields N] [--keypoints N] [--sweep]

Detection is scored on the OrgaQuant fields of ../shared/data/organoid-fields against the manual
boxes: precision, recall and mean IoU of one-to-one (Hungarian) matches at IoU >= 0.5. The
candidate score model and the operating point (min_score, NMS) were chosen on the even-numbered
fields only (sorted file names, 0-based index), so the odd-numbered fields are the held-out
figure. A single-threshold baseline (Otsu x1 of the fine contrast map, no rim insides, no coarse
map, no score) runs side by side. ``--sweep`` adds the candidate ceiling (boxes that some
candidate matches) and precision/recall per subset at other ``min_score`` values (for reading
the trade-off; the default was not chosen from it). Key points are timed on synthetic 160 px
organoids.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from corrclust.images.detection import detect_organoids, match_boxes
from corrclust.images.detection_model import read_boxes
from corrclust.images.io import read_image
from corrclust.images.keypoints import extract_keypoints
from corrclust.images.synthetic import render_organoid

SHARED = Path(__file__).resolve().parents[1].parent / "shared"

BASELINE = dict(threshold_scales=(1.0,), coarse_sigma=None, hole_growth=(), min_score=0.0, nms_iou=1.01,
                nms_overlap=1.01)
SWEEP = (0.2, 0.3, 0.4, 0.5, 0.6)


def _subsets(names: list[str], idx: dict[str, int]):
    return (
        ("even (tuning)", [n for n in names if idx[n] % 2 == 0]),
        ("odd (held out)", [n for n in names if idx[n] % 2 == 1]),
        ("all", names),
    )


def _scores(matches: list[tuple]) -> tuple[int, int, int, float, float, float, float]:
    tp = sum(s[0] for s in matches)
    fp = sum(s[1] for s in matches)
    fn = sum(s[2] for s in matches)
    ious = [i for s in matches for i in s[3]]
    p = tp / max(tp + fp, 1)
    r = tp / max(tp + fn, 1)
    return tp, fp, fn, p, r, 2 * p * r / max(p + r, 1e-12), float(np.mean(ious)) if ious else 0.0


def sweep_table(names: list[str], images: dict, truth: dict, idx: dict[str, int]) -> None:
    """Candidate ceiling and precision/recall at other min_score values (one candidate pass)."""
    from corrclust.images.detection import (
        DetectionParams, box_iou, brightfield_candidates, non_maximum_suppression,
    )
    from corrclust.images.detection_model import load_score_model

    p = DetectionParams()
    model = load_score_model(p.score_model)
    cands = {n: brightfield_candidates(images[n], p) for n in names}
    scores = {n: model.predict(c.features) for n, c in cands.items()}
    print(f"\nCandidates per field: {np.mean([len(c.boxes) for c in cands.values()]):.0f}")
    print(f"{'min_score':<12}{'subset':<18}{'precision':>11}{'recall':>8}{'F1':>7}{'mean IoU':>10}")
    for subset, sel in _subsets(names, idx):
        if not sel:
            continue
        hit = sum(int((box_iou(truth[n], cands[n].boxes).max(axis=1) >= 0.5).sum()) for n in sel)
        total = sum(len(truth[n]) for n in sel)
        print(f"{'(ceiling)':<12}{subset:<18}{'':>11}{hit / total:>8.3f}")
    for ms in SWEEP:
        for subset, sel in _subsets(names, idx):
            if not sel:
                continue
            per = []
            for n in sel:
                kept = non_maximum_suppression(cands[n].boxes, scores[n], ms, p.nms_iou, p.nms_overlap)
                per.append(match_boxes(cands[n].boxes[kept], truth[n]))
            _, _, _, pr, rc, f1, miou = _scores(per)
            print(f"{ms:<12.2f}{subset:<18}{pr:>11.3f}{rc:>8.3f}{f1:>7.3f}{miou:>10.3f}")


def detection_table(n_fields: int | None, sweep: bool = False) -> None:
    root = SHARED / "data" / "organoid-fields"
    if not root.is_dir():
        print(f"(skipping detection: {root} not found)")
        return
    truth = read_boxes(root / "bboxes.csv")
    names = sorted(truth)[: n_fields or None]
    images = {n: read_image(root / "images" / n) for n in names}
    idx = {n: i for i, n in enumerate(sorted(truth))}
    detect_organoids(images[names[0]])  # warm-up (imports, model file)
    print(f"Organoid detection on {len(names)} OrgaQuant fields (450x450), IoU >= 0.5, Hungarian matching")
    print(f"{'method':<26}{'subset':<18}{'boxes':>7}{'found':>7}{'TP':>6}{'precision':>11}{'recall':>8}"
          f"{'F1':>7}{'mean IoU':>10}{'img/s':>8}")
    for label, kw in (("single threshold (base)", BASELINE), ("corrclust default", {})):
        per: dict[str, tuple] = {}
        t0 = time.perf_counter()
        for n in names:
            dets = detect_organoids(images[n], **kw)
            per[n] = match_boxes([d.box for d in dets], truth[n])
        rate = len(names) / (time.perf_counter() - t0)
        for subset, sel in _subsets(names, idx):
            if not sel:
                continue
            tp, fp, fn, p, r, f1, miou = _scores([per[n] for n in sel])
            print(f"{label:<26}{subset:<18}{tp + fn:>7}{tp + fp:>7}{tp:>6}{p:>11.3f}{r:>8.3f}{f1:>7.3f}"
                  f"{miou:>10.3f}{rate:>8.1f}")
    if sweep:
        sweep_table(names, images, truth, idx)


def keypoint_table(n_images: int) -> None:
    print(f"\nKey-point extraction on {n_images} synthetic organoids (scikit-image nuclei detector)")
    print(f"{'size':>6}{'img/s':>8}{'ms/img':>8}{'features':>10}{'candidates':>12}")
    for size in (160, 256):
        orgs = [render_organoid(1 + k % 4, np.random.default_rng([9, k]), size) for k in range(n_images)]
        extract_keypoints(orgs[0].image, orgs[0].mask)  # warm-up (imports)
        t0 = time.perf_counter()
        nf = nc = 0
        for o in orgs:
            f, c = extract_keypoints(o.image, o.mask)
            nf += len(f)
            nc += len(c)
        dt = time.perf_counter() - t0
        print(f"{size:>6}{n_images / dt:>8.1f}{1000 * dt / n_images:>8.0f}{nf / n_images:>10.1f}{nc / n_images:>12.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fields", type=int, default=None, help="only the first N fields (default: all 112)")
    ap.add_argument("--keypoints", type=int, default=20, help="synthetic images per size (default 20)")
    ap.add_argument("--sweep", action="store_true",
                    help="also the candidate ceiling and other min_score values (one more candidate pass)")
    args = ap.parse_args()
    detection_table(args.fields, args.sweep)
    keypoint_table(args.keypoints)


if __name__ == "__main__":
    main()
