"""Organoid detection: box matching, a drawn field with known objects, real OrgaQuant fields."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from conftest import require_shared
from PIL import Image

from corrclust.images.detection import FEATURES, box_iou, crop_fields, detect_organoids, match_boxes
from corrclust.images.detection_model import read_boxes
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
    assert [r["crop"] for r in rows] == [f"plate_A_1__{k}.tif" for k in range(len(rows))]
    for r in rows:
        crop = read_image(out / r["crop"])
        x1, y1, x2, y2 = (int(r[k]) for k in ("x1", "y1", "x2", "y2"))
        np.testing.assert_array_equal(crop[..., 0], img[y1:y2, x1:x2])
        assert read_mask(out / r["crop"].replace(".tif", "_mask.tif")).shape == crop.shape[:2]


def test_real_fields_subset():
    """The shipped detector on 8 real fields. The shipped model was fitted on all 112 fields, so
    this is an in-sample regression check; the out-of-sample check fits on other fields
    (test_images_detection_model.py), and benchmarks/bench_images.py has the nested
    cross-validation over all 112."""
    root = require_shared("data/organoid-fields")
    truth = read_boxes(root / "bboxes.csv")
    names = sorted(truth)[1::14]
    TP = FP = FN = 0
    for n in names:
        dets = detect_organoids(read_image(root / "images" / n), scorer="trees")
        tp, fp, fn, _ = match_boxes([d.box for d in dets], truth[n])
        TP, FP, FN = TP + tp, FP + fp, FN + fn
    precision, recall = TP / (TP + FP), TP / (TP + FN)
    assert precision >= 0.76 and recall >= 0.88, (
        precision,
        recall,
    )  # measured: 0.810, 0.932 (min_score 0.36)


def test_fill_holes_open_border_matches_padded_fill_holes():
    """The labelling version equals scipy's fill_holes of the mask and of the mask with each
    border line set (the rim-cut-by-the-border case)."""
    from scipy import ndimage as ndi

    from corrclust.images.detection import _fill_holes_open_border

    def reference(fg):
        filled = ndi.binary_fill_holes(fg)
        for sl in ((0, slice(None)), (-1, slice(None)), (slice(None), 0), (slice(None), -1)):
            padded = fg.copy()
            padded[sl] = True
            closed = ndi.binary_fill_holes(padded)
            closed[sl] = fg[sl]
            filled |= closed
        return filled

    rng = np.random.default_rng(0)
    for k in range(60):
        fg = rng.uniform(size=(25, 33)) < rng.uniform(0.3, 0.7)
        if k % 2:
            fg = ndi.binary_opening(fg)
        np.testing.assert_array_equal(_fill_holes_open_border(fg), reference(fg))
    # a rim cut by the left border is filled; the field background is not
    fg = np.zeros((20, 20), bool)
    fg[5, 0:6] = fg[12, 0:6] = fg[5:13, 5] = True
    out = _fill_holes_open_border(fg)
    assert out[6:12, 1:5].all() and not out[6:12, 0].any()  # the border line itself is not added
    assert not out[15:, :].any()


def test_fluorescence_field_of_synthetic_organoids():
    from corrclust.images.synthetic import render_organoid

    canvas = np.zeros((400, 400, 4), np.uint16)
    truth = []
    for k, (y, x) in enumerate([(20, 20), (30, 220), (220, 120)]):
        org = render_organoid(k + 1, np.random.default_rng(k), 160)  # spheroid, cyst, budding
        canvas[y : y + 160, x : x + 160] = np.maximum(canvas[y : y + 160, x : x + 160], org.image)
        r, c = np.nonzero(org.mask)
        truth.append([x + c.min(), y + r.min(), x + c.max() + 1, y + r.max() + 1])
    rng = np.random.default_rng(1)
    canvas = (canvas + rng.normal(300, 80, canvas.shape)).clip(0, 65535).astype(np.uint16)
    dets = detect_organoids(canvas, modality="fluorescence")
    tp, fp, fn, ious = match_boxes([d.box for d in dets], truth)
    assert (tp, fp, fn) == (3, 0, 0) and min(ious) > 0.9  # the cyst's lumen and the buds stay whole
    with pytest.raises(ValueError, match="modality"):
        detect_organoids(canvas, modality="phase")


def test_crop_fields_rerun_replaces_its_own_crops_only(tmp_path):
    img, truth = _field()
    src = tmp_path / "fields"
    src.mkdir()
    Image.fromarray(img).save(src / "a.png")
    out = tmp_path / "crops"
    crop_fields(src, out)
    n = len(list(out.glob("*.tif")))
    crop_fields(src, out, files=["a.png"])  # a rerun replaces the previous crops
    assert len(list(out.glob("*.tif"))) == n
    Image.fromarray(img).save(out / "foreign.png")
    with pytest.raises(ValueError, match="foreign.png"):
        crop_fields(src, out)


def _ring_field(centres, r=24, size=200, seed=0):
    """Dark thin rings (ring-shaped organoids) on a noisy flat background; their true boxes."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    img = np.full((size, size), 170.0)
    boxes = []
    for cy, cx in centres:
        d = np.hypot(yy - cy, xx - cx)
        img -= 80 * np.exp(-((d - r) ** 2) / (2 * 1.5**2))
        boxes.append([cx - r - 2, cy - r - 2, cx + r + 3, cy + r + 3])
    img += rng.normal(0, 2, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), np.array(boxes)


def test_overlapping_rings_are_separate_detections():
    """Two overlapping rings: each has a close candidate (objects and grown insides), the
    candidate features are finite, and both rings are detected."""
    from corrclust.images.detection import brightfield_candidates

    img, truth = _ring_field([(100, 80), (100, 118)])
    with_holes = brightfield_candidates(img)
    best = box_iou(truth, with_holes.boxes).max(axis=1)
    assert (best > 0.8).all(), best
    assert with_holes.features.shape == (len(with_holes.boxes), len(FEATURES))
    assert np.isfinite(with_holes.features).all()
    hole = with_holes.features[:, FEATURES.index("is_hole")]
    assert set(np.unique(hole)) == {0.0, 1.0}
    dets = detect_organoids(img)
    tp, fp, fn, _ = match_boxes([d.box for d in dets], truth)
    assert tp == 2, [d.box for d in dets]


def test_non_maximum_suppression():
    from corrclust.images.detection import non_maximum_suppression

    boxes = np.array(
        [
            [0, 0, 10, 10],  # best
            [1, 0, 11, 10],  # IoU 0.82 with the best: dropped
            [0, 0, 30, 30],  # holds the best (overlap of the smaller box = 1): dropped
            [40, 40, 50, 50],  # apart, kept
            [60, 60, 70, 70],  # below min_score
        ]
    )
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.1])
    assert non_maximum_suppression(boxes, scores, 0.3, 0.3, 0.7) == [0, 3]
    assert non_maximum_suppression(boxes, scores, 0.3, 0.5, 1.01) == [0, 2, 3]
    assert non_maximum_suppression(boxes, scores, 0.0, 1.01, 1.01) == [0, 1, 2, 3, 4]


def test_score_model_conversion_save_load_and_errors(tmp_path):
    """The tree arrays reproduce scikit-learn's probabilities and survive the file round trip;
    broken files and mismatched models give errors that name the problem."""
    pytest.importorskip("sklearn")
    from corrclust.images.detection_model import fit_score_model
    from corrclust.images.organoid_score import ScoreModel, load_score_model, save_score_model

    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 4))
    y = X[:, 0] + 0.5 * X[:, 1] ** 2 + rng.normal(0, 0.3, 3000) > 0.5
    model = fit_score_model(X, y, ("a", "b", "c", "d"), n_trees=30, depth=3)  # checks sklearn itself
    p = model.predict(X)
    assert ((p > 0.5) == y).mean() > 0.85
    save_score_model(model, tmp_path / "m.npz")
    again = load_score_model(str(tmp_path / "m.npz"))
    assert again.features == ("a", "b", "c", "d") and again.link == "logit"
    np.testing.assert_allclose(again.predict(X), p)
    reg = fit_score_model(X, X[:, 0] ** 2, ("a", "b", "c", "d"), n_trees=30, depth=3)
    assert reg.link == "identity" and np.corrcoef(reg.predict(X), X[:, 0] ** 2)[0, 1] > 0.9
    with pytest.raises(ValueError, match="expects"):
        model.predict(X[:, :3])
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="bad.npz"):
        load_score_model(str(bad))
    with pytest.raises(ValueError, match="child"):
        left = model.left.copy()
        left[0, 0] = 10**6
        ScoreModel(model.features, model.bias, model.feature, model.threshold, left, model.right, model.value)
    img, _ = _field()
    with pytest.raises(ValueError, match="other features"):
        detect_organoids(img, score_model=str(tmp_path / "m.npz"))


def test_inference_imports_nothing_from_the_training_side():
    """Detection (and the score file it reads) never imports the training module or
    scikit-learn: a fresh interpreter detects organoids and neither is loaded."""
    import ast
    import subprocess
    import sys
    from pathlib import Path

    import corrclust.images.detection as detection
    import corrclust.images.organoid_score as organoid_score

    for mod in (detection, organoid_score):
        tree = ast.parse(Path(mod.__file__).read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not {m for m in imported if m and ("detection_model" in m or m.startswith("sklearn"))}, (
            imported
        )
    code = (
        "import sys, numpy as np\n"
        "from corrclust.images.detection import detect_organoids\n"
        "img = np.full((120, 120), 150, np.uint8); img[40:80, 40:80] = 60\n"
        "detect_organoids(img)\n"
        "print(sorted(m for m in sys.modules if 'detection_model' in m or m.startswith('sklearn')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_packaged_score_model_matches_features():
    from corrclust.images.organoid_score import load_score_model

    model = load_score_model(None)
    assert model.features == FEATURES and model.link == "logit"
    assert model.feature.shape[0] >= 50  # a fitted ensemble, not a placeholder


def test_rim_insides_and_coarse_map_raise_the_candidate_ceiling_on_a_real_field():
    """On a crowded OrgaQuant field (a tuning field) the grown rim insides and the coarse map
    supply candidates for organoids that the filled, split objects miss."""
    from corrclust.images.detection import DetectionParams, brightfield_candidates

    root = require_shared("data/organoid-fields")
    name = "Subset_1_450x450_105.jpg"
    truth = read_boxes(root / "bboxes.csv")[name]
    img = read_image(root / "images" / name)

    def matched(**kw):
        c = brightfield_candidates(img, DetectionParams(**kw))
        return int((box_iou(truth, c.boxes).max(axis=1) >= 0.5).sum())

    assert len(truth) == 25
    assert matched() >= 24  # measured 24
    assert matched(hole_growth=()) <= 20  # measured 20
    assert matched(hole_growth=(), coarse_sigma=None) <= 17  # measured 17


def test_box_relations_are_counted_in_blocks_of_bounded_memory():
    """The candidates' relation features took about ten N x N float64 matrices at once: 16 GB on a
    3000 x 3000 px field (audit qa16). Counted over row blocks they are the same numbers."""
    import tracemalloc

    from corrclust.images.detection import _box_relations, _intersection, box_iou

    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 500, (3000, 2))
    wh = rng.uniform(5, 80, (3000, 2))
    boxes = np.round(np.hstack([xy, xy + wh]))
    boxes[1000:1100] = boxes[:100]  # repeated boxes: IoU 1
    iou = box_iou(boxes, boxes)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    inside = (_intersection(boxes, boxes) >= 0.9 * area[None, :]) & (area[None, :] < 0.6 * area[:, None])
    want = ((iou > 0.85).sum(1), inside.sum(1), inside.sum(0))
    del iou, inside
    assert want[1].sum() > 1000 and want[0].max() >= 2  # the cases occur
    for block in (1, 7 * 8 * 3000, 64 * 2**20):
        got = _box_relations(boxes, block_bytes=block)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, w)
    tracemalloc.start()
    _box_relations(boxes, block_bytes=2**20)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 16 * 2**20  # the whole matrices: 72 MB each at N = 3000


def test_field_tiles_cover_the_field_once_within_the_tile_size():
    from corrclust.images.detection import field_tiles

    assert field_tiles(450, 450, 2048, 256) == [((0, 0, 450, 450), (0, 0, 450, 450))]
    assert field_tiles(5000, 5000, None, 256) == [((0, 0, 5000, 5000), (0, 0, 5000, 5000))]
    tiles = field_tiles(1000, 500, 400, 50)  # cores of at most 300: 4 rows (250 each) x 2 columns
    assert [t[0] for t in tiles[:3]] == [(0, 0, 250, 250), (250, 0, 500, 250), (0, 250, 250, 500)]
    assert tiles[0][1] == (0, 0, 300, 300) and tiles[3][1] == (200, 200, 500, 550)
    cover = np.zeros((1000, 500), int)
    for (x1, y1, x2, y2), (a1, b1, a2, b2) in tiles:
        cover[y1:y2, x1:x2] += 1
        assert a1 <= x1 and b1 <= y1 and a2 >= x2 and b2 >= y2
        assert a2 - a1 <= 400 and b2 - b1 <= 400
    assert len(tiles) == 8 and (cover == 1).all()
    with pytest.raises(ValueError, match="no core"):
        field_tiles(1000, 1000, 100, 50)


def test_tiles_give_the_whole_field_detections_of_objects_smaller_than_the_overlap(monkeypatch):
    """With a detector that boxes the connected components of its field, tiles (each component
    kept by the tile whose core holds its box centre, then one more suppression) give exactly the
    boxes of the field at once, for components smaller than the overlap: a component cut by a
    region's edge has its centre outside that tile's core. No region is larger than tile_size."""
    from scipy import ndimage as ndi

    from corrclust.images import detection
    from corrclust.images.detection import Detection, DetectionParams

    sizes = []

    def components(image, p, model, cnn, suppress=True):
        sizes.append(image.shape[:2])
        lab, _ = ndi.label(np.asarray(image)[:, :, 0] > 0)
        out = []
        for k, sl in enumerate(ndi.find_objects(lab), start=1):
            m = lab[sl] == k
            box = (sl[1].start, sl[0].start, sl[1].stop, sl[0].stop)
            out.append(Detection(box, m, int(m.sum()), 0.0, float(m.sum()) / 1000))
        return out

    monkeypatch.setattr(detection, "_detect_brightfield", components)
    rng = np.random.default_rng(3)
    img = np.zeros((700, 900, 1), np.uint8)
    for _ in range(60):
        y, x = rng.integers(0, 680, 1)[0], rng.integers(0, 880, 1)[0]
        h, w = rng.integers(3, 30, 2)
        img[y : y + h, x : x + w] = 200
    whole = detect_organoids(img, DetectionParams(tile_size=None), nms_iou=1.0, nms_overlap=1.0)
    assert len(sizes) == 1 and len(whole) > 30
    sizes.clear()
    tiled = detect_organoids(
        img, DetectionParams(tile_size=160, tile_overlap=40), nms_iou=1.0, nms_overlap=1.0
    )
    assert len(sizes) == 9 * 12 and max(max(s) for s in sizes) <= 160
    assert [d.box for d in tiled] == [d.box for d in whole]
    for a, b in zip(tiled, whole, strict=True):
        np.testing.assert_array_equal(a.mask, b.mask)
    # the box margin is added after the tiles, clipped to the whole field
    padded = detect_organoids(img, DetectionParams(tile_size=160, tile_overlap=40, margin=5), nms_iou=1.0)
    boxes = np.array([d.box for d in padded])
    assert boxes.min() >= 0 and boxes[:, 2].max() <= 900 and boxes[:, 3].max() <= 700
    assert all(d.mask.shape == (d.box[3] - d.box[1], d.box[2] - d.box[0]) for d in padded)


def test_tiled_detection_finds_the_drawn_organoids_with_a_progress_bar(capsys):
    """The real detector in 2 x 2 tiles (regions of 220 px) of the 300 px drawn field: every drawn
    organoid is found, once; the progress bar counts the tiles."""
    img, truth = _field()
    dets = detect_organoids(img, tile_size=290, tile_overlap=70, progress=True)
    tp, fp, fn, ious = match_boxes([d.box for d in dets], truth)
    assert tp == len(truth) and fn == 0 and fp <= 1, [d.box for d in dets]
    assert "detecting in tiles" in capsys.readouterr().err


def _fluorescence_field(seed: int, shape=(700, 900), n=14, size=96):
    """Synthetic organoids (all templates) pasted at random places on a noisy dark field."""
    from corrclust.images.synthetic import render_organoid

    rng = np.random.default_rng(seed)
    canvas = np.zeros((*shape, 3), np.uint16)
    for k in range(n):
        org = render_organoid(k % 4 + 1, rng, size)
        y, x = rng.integers(0, shape[0] - size), rng.integers(0, shape[1] - size)
        canvas[y : y + size, x : x + size] = np.maximum(
            canvas[y : y + size, x : x + size], org.image[..., :3]
        )
    return (canvas + rng.normal(300, 80, canvas.shape)).clip(0, 65535).astype(np.uint16)


@pytest.mark.parametrize("split", [False, True])
def test_tiled_fluorescence_gives_the_whole_field_objects(split):
    """Tiles of 300 px (12 of them, overlap 110 > every organoid's half-size plus the 8 px of the
    smoothing kernel) take the whole field's Otsu threshold from their cores' histograms, so the
    boxes, masks and scores equal those of the field at once, bit for bit; the margin is added
    after, clipped to the field."""
    from corrclust.images.detection import field_tiles

    img = _fluorescence_field(4)
    p = {"modality": "fluorescence", "fluorescence_split": split}
    whole = detect_organoids(img, tile_size=None, **p)
    assert len(field_tiles(700, 900, 300, 110)) == 9 * 12  # cores of at most 80 px
    tiled = detect_organoids(img, tile_size=300, tile_overlap=110, **p)
    assert len(whole) >= 10
    assert [d.box for d in tiled] == [d.box for d in whole]
    assert [d.score for d in tiled] == [d.score for d in whole]
    for a, b in zip(tiled, whole, strict=True):
        np.testing.assert_array_equal(a.mask, b.mask)
        assert a.area == b.area
    padded = detect_organoids(img, tile_size=300, tile_overlap=110, margin=7, **p)
    assert [d.box for d in padded] == [d.box for d in detect_organoids(img, tile_size=None, margin=7, **p)]


def test_tiled_fluorescence_keeps_one_part_of_an_organoid_larger_than_the_overlap(monkeypatch):
    """An organoid wider than two overlaps is cut by the tiles' region edges: it is kept once (the
    largest part a tile keeps), not as several overlapping parts; a small one is unchanged."""
    from corrclust.images import detection

    canvas = np.full((400, 400), 300, np.uint16)
    yy, xx = np.mgrid[0:400, 0:400]
    canvas[(yy - 200) ** 2 / 150**2 + (xx - 200) ** 2 / 60**2 <= 1] = 3000
    canvas[(yy - 60) ** 2 + (xx - 340) ** 2 <= 20**2] = 3000
    p = {"modality": "fluorescence", "tile_overlap": 30}
    whole = detect_organoids(canvas, tile_size=None, **p)
    assert [(d.box, d.area) for d in whole] == [((321, 41, 360, 80), 1253), ((141, 51, 260, 350), 28281)]
    tiled = detect_organoids(canvas, tile_size=160, **p)  # 4 x 4 tiles, cores of 100
    assert [(d.box, d.area) for d in tiled] == [((321, 41, 360, 80), 1253), ((173, 173, 260, 327), 12420)]
    monkeypatch.setattr(detection, "_masks_meet", lambda a, b: False)
    assert len(detect_organoids(canvas, tile_size=160, **p)) > 2  # the parts the check removed


def test_the_candidate_count_is_per_450_px_square_in_larger_fields():
    """The score learnt log_candidates on 450 x 450 fields: fields up to that area keep the plain
    log count (the 112 OrgaQuant fields unchanged), larger fields and tiles count per 450 x 450 px.
    The drawn field mirrored 2 x 2 (600 px, no seam: every quadrant's maps are the field's) is
    still detected organoid by organoid in every quadrant."""
    from corrclust.images.detection import _log_candidates, brightfield_candidates

    assert _log_candidates(480, 450 * 450) == np.log(480)
    assert _log_candidates(37, 300 * 300) == np.log(37)
    assert _log_candidates(4 * 480, 900 * 900) == pytest.approx(np.log(480))
    img, truth = _field()
    big = np.block([[img, img[:, ::-1]], [img[::-1], img[::-1, ::-1]]])
    cands = brightfield_candidates(big)
    col = cands.features[:, FEATURES.index("log_candidates")]
    np.testing.assert_allclose(col, np.log(len(cands.boxes) * 450 * 450 / (600 * 600)))
    boxes = []
    for fy in (False, True):
        for fx in (False, True):
            t = truth.astype(float).copy()
            if fx:
                t[:, [0, 2]] = 600 - t[:, [2, 0]]
            if fy:
                t[:, [1, 3]] = 600 - t[:, [3, 1]]
            boxes.append(t)
    dets = detect_organoids(big)
    tp, fp, fn, _ = match_boxes([d.box for d in dets], np.vstack(boxes))
    assert (tp, fp, fn) == (20, 0, 0), [d.box for d in dets]
