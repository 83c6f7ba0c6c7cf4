"""The learned candidate score: folds, operating curve and point, fitting on real fields."""

from __future__ import annotations

import csv
import dataclasses

import numpy as np
import pytest
from conftest import require_shared

from corrclust.images.detection import (
    FEATURES,
    Candidates,
    detect_organoids,
    match_boxes,
    non_maximum_suppression,
)
from corrclust.images.detection_model import (
    MIN_PRECISION,
    MIN_SCORE_GRID,
    OperatingPoint,
    choose_min_score,
    field_candidates,
    field_folds,
    fit_detector,
    main,
    operating_curve,
    read_boxes,
)
from corrclust.images.io import read_image
from corrclust.images.organoid_score import load_score_model, save_score_model


def test_field_folds_partition_the_fields_reproducibly():
    names = [f"f{k:03d}" for k in range(11)]
    folds = field_folds(names, 4, seed=0)
    assert [len(f) for f in folds] == [3, 3, 3, 2]
    assert sorted(n for f in folds for n in f) == names
    assert all(f == sorted(f) for f in folds)  # each fold in the order of the names
    assert field_folds(names, 4, seed=0) == folds
    assert field_folds(names, 4, seed=1) != folds
    for k in (1, 12):
        with pytest.raises(ValueError, match="folds"):
            field_folds(names, k)


def test_choose_min_score_takes_the_largest_recall_above_the_precision_floor():
    def pt(ms, tp, fp, fn):
        return OperatingPoint(ms, tp, fp, fn, 0.8)

    curve = [
        pt(0.1, 90, 60, 10),  # P 0.60, R 0.90
        pt(0.2, 85, 30, 15),  # P 0.739, R 0.85  <- largest recall with P >= 0.73
        pt(0.3, 85, 25, 15),  # P 0.773, R 0.85  <- same recall, higher precision: wins
        pt(0.4, 70, 10, 30),  # P 0.875, R 0.70
    ]
    assert choose_min_score(curve, 0.73).min_score == 0.3
    assert choose_min_score(curve, 0.80).min_score == 0.4
    assert choose_min_score(curve, 0.50).min_score == 0.1
    # no point reaches the floor: the most precise one
    assert choose_min_score(curve, 0.95).min_score == 0.4
    # equal recall and precision: the lower score
    assert choose_min_score([pt(0.5, 5, 1, 1), pt(0.2, 5, 1, 1)], 0.7).min_score == 0.2


def test_operating_curve_counts_matches_after_suppression():
    truth = {"a": np.array([[0, 0, 10, 10], [50, 50, 60, 60]]), "b": np.array([[0, 0, 20, 20]])}
    cands = {
        "a": Candidates(
            np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 62, 61], [100, 100, 110, 110]]),
            [],
            np.zeros((4, len(FEATURES))),
        ),
        "b": Candidates(np.array([[0, 0, 20, 20], [200, 200, 220, 220]]), [], np.zeros((2, len(FEATURES)))),
    }
    scores = {"a": np.array([0.9, 0.8, 0.5, 0.3]), "b": np.array([0.4, 0.6])}
    curve = operating_curve(cands, scores, truth, (0.2, 0.45, 0.7))
    # 0.2: a keeps 0 (its near copy 1 is suppressed), 2 and 3; b keeps both -> 3 TP, 2 FP, 0 FN
    # 0.45: a keeps 0 and 2, b keeps only the false one -> 2 TP, 1 FP, 1 FN
    # 0.7: a keeps 0 -> 1 TP, 0 FP, 2 FN
    assert [(p.tp, p.fp, p.fn) for p in curve] == [(3, 2, 0), (2, 1, 1), (1, 0, 2)]
    assert curve[0].precision == pytest.approx(0.6) and curve[0].recall == 1.0
    iou_a2 = (10 * 10) / (12 * 11)
    assert curve[1].mean_iou == pytest.approx((1 + iou_a2) / 2)


def test_model_operating_point_is_saved_loaded_and_used(tmp_path):
    pytest.importorskip("sklearn")
    packaged = load_score_model(None)
    assert packaged.features == FEATURES and packaged.min_score in MIN_SCORE_GRID
    # the default min_score (None) is the model's
    from test_images_detection import _field

    img, truth = _field()
    boxes = [d.box for d in detect_organoids(img, scorer="trees")]
    assert boxes == [d.box for d in detect_organoids(img, scorer="trees", min_score=packaged.min_score)]
    assert match_boxes(boxes, truth)[:3] == (len(truth), 0, 0)
    strict = tmp_path / "strict.npz"
    save_score_model(dataclasses.replace(packaged, min_score=1.01), strict)
    assert load_score_model(str(strict)).min_score == 1.01
    assert detect_organoids(img, score_model=str(strict)) == []
    assert len(detect_organoids(img, score_model=str(strict), min_score=packaged.min_score)) == len(truth)
    # a file from before operating points were stored: 0.5
    old = tmp_path / "old.npz"
    with np.load(strict) as z:
        np.savez(old, **{k: z[k] for k in z.files if k != "min_score"})
    assert load_score_model(str(old)).min_score == 0.5
    with pytest.raises(ValueError, match="min_score"):
        dataclasses.replace(packaged, min_score=float("nan"))


def test_detector_fitted_on_real_fields_holds_up_on_other_fields():
    """Fit score and operating point on 28 fields, detect on 8 others (no field in both)."""
    pytest.importorskip("sklearn")
    root = require_shared("data/organoid-fields")
    truth = read_boxes(root / "bboxes.csv")
    names = sorted(truth)
    train, test = names[0::4], names[1::14]
    assert not set(train) & set(test)
    cands = field_candidates(root / "images", train + test, progress=False)
    model, point = fit_detector(cands, truth, train)
    # measured: min_score 0.43, cross-validated precision / recall 0.773 / 0.793
    assert model.min_score == point.min_score and point.precision >= MIN_PRECISION
    TP = FP = FN = 0
    for n in test:
        s = model.predict(cands[n].features)
        kept = non_maximum_suppression(cands[n].boxes, s, model.min_score, 0.3, 0.7)
        tp, fp, fn, _ = match_boxes(cands[n].boxes[kept], truth[n])
        TP, FP, FN = TP + tp, FP + fp, FN + fn
    precision, recall = TP / (TP + FP), TP / (TP + FN)
    assert precision >= 0.70 and recall >= 0.87, (precision, recall)  # measured 0.733, 0.904


def test_fit_command_writes_a_model_with_its_operating_point(tmp_path, capsys):
    pytest.importorskip("sklearn")
    root = require_shared("data/organoid-fields")
    names = sorted(read_boxes(root / "bboxes.csv"))[3::19]
    table = tmp_path / "boxes.csv"
    with open(root / "bboxes.csv", newline="") as src, open(table, "w", newline="") as dst:
        rows = [r for r in csv.DictReader(src) if r["filename"] in names]
        w = csv.DictWriter(dst, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    assert main([str(root / "images"), str(table), "-o", str(tmp_path / "m.npz"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"fitted on {len(names)} fields" in out and "operating point min_score" in out
    model = load_score_model(str(tmp_path / "m.npz"))
    assert model.features == FEATURES and model.min_score in MIN_SCORE_GRID
    img = read_image(root / "images" / names[0])
    assert detect_organoids(img, score_model=str(tmp_path / "m.npz"))  # usable for detection


def test_fit_command_reports_bad_input_in_one_line(tmp_path, capsys):
    table = tmp_path / "boxes.csv"
    table.write_text("filename,x1,y1,x2,y2\nmissing.png,0,0,10,10\n")
    (tmp_path / "fields").mkdir()
    assert main([str(tmp_path / "fields"), str(table), "-o", str(tmp_path / "m.npz"), "--quiet"]) == 2
    assert "missing.png" in capsys.readouterr().err
    assert main([str(tmp_path / "nope"), str(table), "-o", str(tmp_path / "m.npz"), "--quiet"]) == 2
    assert "fields folder not found" in capsys.readouterr().err
    table.write_text("filename,x1,y1\nmissing.png,0,0\n")
    assert main([str(tmp_path / "fields"), str(table), "-o", str(tmp_path / "m.npz"), "--quiet"]) == 2
    assert "line 2" in capsys.readouterr().err
    assert not (tmp_path / "m.npz").exists()


def test_fit_command_without_torch_refuses_cnn_output_before_reading_fields(tmp_path, capsys, monkeypatch):
    """--cnn-output without torch: the line came after the candidates of every field (159 s on the 112
    OrgaQuant fields; audit qa15); now before any field is read."""
    import corrclust.images.detection_model as detection_model
    import corrclust.images.organoid_cnn as organoid_cnn

    def no_fields(*args, **kwargs):
        raise AssertionError("fields read before the torch check")

    monkeypatch.setattr(organoid_cnn, "torch_available", lambda: False)
    monkeypatch.setattr(detection_model, "field_candidates", no_fields)
    table = tmp_path / "boxes.csv"
    table.write_text("filename,x1,y1,x2,y2\nfield.png,0,0,10,10\n")
    (tmp_path / "fields").mkdir()
    args = [str(tmp_path / "fields"), str(table), "-o", str(tmp_path / "m.npz"), "--quiet"]
    assert main([*args, "--cnn-output", str(tmp_path / "cnn.npz")]) == 2
    assert capsys.readouterr().err == "error: --cnn-output needs torch: pip install 'corrclust[torch]'\n"
