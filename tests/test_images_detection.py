"""Organoid detection: box matching, a drawn field with known objects, real OrgaQuant fields."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from conftest import require_shared
from corrclust.images.detection import box_iou, crop_fields, detect_organoids, match_boxes
from corrclust.images.io import read_image, read_mask


def test_box_iou_and_matching():
    a = np.array([[0, 0, 10, 10], [20, 20, 30, 30]])
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30], [100, 100, 110, 110]])
    iou = box_iou(a, b)
    np.testing.assert_allclose(iou, [[50 / 150, 0, 0], [0, 1, 0]])
    tp, fp, fn, ious = match_boxes(a, b)
    assert (tp, fp, fn, ious) == (1, 1, 2, [1.0])
    assert match_boxes(a, b, iou_threshold=0.3)[:3] == (2, 0, 1)
    assert match_boxes([], b)[:3] == (0, 0, 3)
    # one-to-one: two predictions on one truth box count once
    assert match_boxes([[0, 0, 10, 10], [0, 0, 10, 11]], [[0, 0, 10, 10]])[:3] == (1, 1, 0)


def _field(seed=0):
    """A brightfield-like field: uneven background, dark-rimmed organoids, small debris, noise."""
    rng = np.random.default_rng(seed)
    H = W = 300
    yy, xx = np.mgrid[0:H, 0:W].astype(float)
    img = 150 + 60 * xx / W  # vignetting-like ramp
    boxes = []
    for cy, cx, r in ((60, 70, 22), (80, 220, 30), (200, 90, 26), (220, 230, 18), (150, 150, 15)):
        d = np.hypot(yy - cy, xx - cx)
        img -= 90 * np.exp(-((d - r) ** 2) / (2 * 2.0**2))  # dark rim
        img += 15 * (d < r - 3)  # slightly brighter lumen
        boxes.append([cx - r - 2, cy - r - 2, cx + r + 3, cy + r + 3])
    for _ in range(15):  # debris: tiny dark dots
        cy, cx = rng.uniform(10, H - 10, 2)
        img -= 70 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 1.5**2))
    img += rng.normal(0, 3, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), np.array(boxes)


def test_detects_drawn_organoids_and_ignores_debris():
    img, truth = _field()
    dets = detect_organoids(img)
    tp, fp, fn, ious = match_boxes([d.box for d in dets], truth)
    assert tp == len(truth) and fp == 0, [d.box for d in dets]
    assert np.mean(ious) > 0.7
    for d in dets:
        x1, y1, x2, y2 = d.box
        assert d.mask.shape == (y2 - y1, x2 - x1) and d.mask.any()


def test_flat_image_gives_nothing():
    assert detect_organoids(np.full((64, 64), 7, np.uint8)) == []


def test_crop_fields_writes_crops_and_reports_bad_files(tmp_path):
    img, truth = _field()
    src = tmp_path / "fields"
    src.mkdir()
    Image.fromarray(img).save(src / "plate_A_1.png")
    (src / "broken.jpg").write_bytes(b"\xff\xd8 nope")
    out = tmp_path / "crops"
    res = crop_fields(src, out)
    assert len(res.failures) == 1 and res.failures[0][0].name == "broken.jpg"
    with open(out / "crops.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(truth)
    assert [r["crop"] for r in rows] == [f"plate-A-1_{k}.tif" for k in range(len(rows))]
    for r in rows:
        crop = read_image(out / r["crop"])
        x1, y1, x2, y2 = (int(r[k]) for k in ("x1", "y1", "x2", "y2"))
        np.testing.assert_array_equal(crop[..., 0], img[y1:y2, x1:x2])
        assert read_mask(out / r["crop"].replace(".tif", "_mask.tif")).shape == crop.shape[:2]


def test_real_fields_subset():
    """Odd-numbered fields were not used for tuning; a conservative bound on 8 of them (the full
    112-image figure comes from benchmarks/bench_images.py)."""
    root = require_shared("data/organoid-fields")
    truth: dict[str, list] = {}
    with open(root / "bboxes.csv") as fh:
        for r in csv.DictReader(fh):
            truth.setdefault(r["filename"], []).append([int(r[k]) for k in ("x1", "y1", "x2", "y2")])
    names = sorted(truth)[1::14]
    TP = FP = FN = 0
    for n in names:
        dets = detect_organoids(read_image(root / "images" / n))
        tp, fp, fn, _ = match_boxes([d.box for d in dets], truth[n])
        TP, FP, FN = TP + tp, FP + fp, FN + fn
    precision, recall = TP / (TP + FP), TP / (TP + FN)
    assert precision >= 0.55 and recall >= 0.5, (precision, recall)
