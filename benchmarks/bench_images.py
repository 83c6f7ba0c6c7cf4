"""Image-pipeline benchmark: organoid detection quality and speed, key-point extraction speed.

    python benchmarks/bench_images.py [--fields N] [--keypoints N]

Detection is scored on the OrgaQuant fields of ../shared/data/organoid-fields against the manual
boxes: precision, recall and mean IoU of one-to-one (Hungarian) matches at IoU >= 0.5. The score
weights were fitted on the even-numbered fields (sorted file names, 0-based index), so the
odd-numbered fields are the held-out figure. A single-threshold baseline (Otsu x1, no candidate
score) runs side by side. Key points are timed on synthetic 160 px organoids.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

from corrclust.images.detection import detect_organoids, match_boxes
from corrclust.images.io import read_image
from corrclust.images.keypoints import extract_keypoints
from corrclust.images.synthetic import render_organoid

SHARED = Path(__file__).resolve().parents[1].parent / "shared"

BASELINE = dict(threshold_scales=(1.0,), min_score=0.0, nms_overlap=1.01)


def detection_table(n_fields: int | None) -> None:
    root = SHARED / "data" / "organoid-fields"
    if not root.is_dir():
        print(f"(skipping detection: {root} not found)")
        return
    truth: dict[str, list] = {}
    with open(root / "bboxes.csv") as fh:
        for r in csv.DictReader(fh):
            truth.setdefault(r["filename"], []).append([int(r[k]) for k in ("x1", "y1", "x2", "y2")])
    names = sorted(truth)[: n_fields or None]
    images = {n: read_image(root / "images" / n) for n in names}
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
        idx = {n: i for i, n in enumerate(sorted(truth))}
        for subset, keep in (
            ("even (tuning)", lambda n: idx[n] % 2 == 0),
            ("odd (held out)", lambda n: idx[n] % 2 == 1),
            ("all", lambda n: True),
        ):
            sel = [per[n] for n in names if keep(n)]
            if not sel:
                continue
            tp = sum(s[0] for s in sel)
            fp = sum(s[1] for s in sel)
            fn = sum(s[2] for s in sel)
            ious = [i for s in sel for i in s[3]]
            p = tp / max(tp + fp, 1)
            r = tp / max(tp + fn, 1)
            f1 = 2 * p * r / max(p + r, 1e-12)
            print(f"{label:<26}{subset:<18}{tp + fn:>7}{tp + fp:>7}{tp:>6}{p:>11.3f}{r:>8.3f}{f1:>7.3f}"
                  f"{(np.mean(ious) if ious else 0):>10.3f}{rate:>8.1f}")


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
    args = ap.parse_args()
    detection_table(args.fields)
    keypoint_table(args.keypoints)


if __name__ == "__main__":
    main()
