"""The crop CNN of organoid detection: crops, seeded training, files, and the no-torch fallback."""

from __future__ import annotations

import numpy as np
import pytest

from corrclust.images.organoid_cnn import CROP_MARGIN, CROP_SIZE, candidate_crops


def test_candidate_crops_exact_values():
    """On a field whose contrast map is the column index, the contrast channel of a crop is the
    column of each crop pixel centre over Otsu; the flat-field channel is flat - 1; the mask
    channel is the candidate's mask where the crop pixel falls in the box, else 0."""
    H, W = 40, 50
    flat = np.full((H, W), 1.25)
    cmap = np.tile(np.arange(W, dtype=float), (H, 1))
    box = np.array([[16, 10, 24, 26]])  # x1, y1, x2, y2: 8 wide, 16 high
    mask = np.zeros((16, 8), bool)
    mask[:, :4] = True  # the left half of the box
    crops = candidate_crops(flat, cmap, 2.0, box, [mask])
    assert crops.shape == (1, 3, CROP_SIZE, CROP_SIZE) and crops.dtype == np.float32
    u = (np.arange(CROP_SIZE) + 0.5) / CROP_SIZE * (1 + 2 * CROP_MARGIN) - CROP_MARGIN
    xs = 16 + u * 8 - 0.5  # column of each crop pixel centre (all inside the field here)
    np.testing.assert_allclose(crops[0, 0], 0.25)
    np.testing.assert_allclose(crops[0, 1], np.tile(xs / 2.0, (CROP_SIZE, 1)), rtol=1e-6)
    # nearest box pixel of each crop pixel centre; centres outside [0, n - 1] of the box get 0
    cx, cy = xs - 16, 10 + u * 16 - 0.5 - 10
    in_x = (cx >= 0) & (cx <= 7) & (np.floor(cx + 0.5) < 4)
    in_y = (cy >= 0) & (cy <= 15)
    assert crops[0, 2].sum() == in_x.sum() * in_y.sum() == 9 * 20
    np.testing.assert_array_equal(crops[0, 2], (in_y[:, None] & in_x[None, :]).astype(np.float32))
    assert candidate_crops(flat, cmap, 2.0, np.zeros((0, 4)), []).shape == (0, 3, CROP_SIZE, CROP_SIZE)


def _toy(n=192, seed=0):
    """Crops with a bright centre (label 1) or a bright corner (label 0), and two features."""
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 0.1, (n, 3, CROP_SIZE, CROP_SIZE)).astype(np.float32)
    y = np.arange(n) % 2 == 0
    X[y, :, 12:20, 12:20] += 1.0
    X[~y, :, :8, :8] += 1.0
    F = rng.normal(0, 1, (n, 2))
    return X, F, y


def test_fit_is_seeded_and_learns_a_toy_problem(tmp_path):
    pytest.importorskip("torch")
    import torch

    from corrclust.images.organoid_cnn import fit_crop_score, load_crop_score, save_crop_score

    torch.set_num_threads(1)
    X, F, y = _toy()
    a = fit_crop_score(X, F, y, ("f0", "f1"), seed=3, epochs=12, batch=16)
    b = fit_crop_score(X, F, y, ("f0", "f1"), seed=3, epochs=12, batch=16)
    c = fit_crop_score(X, F, y, ("f0", "f1"), seed=4, epochs=12, batch=16)
    assert a.weights.keys() == b.weights.keys()
    for k in a.weights:
        np.testing.assert_array_equal(a.weights[k], b.weights[k])
    assert any(not np.array_equal(a.weights[k], c.weights[k]) for k in a.weights)
    Xt, Ft, yt = _toy(seed=1)
    d = a.decision(Xt, Ft)
    np.testing.assert_array_equal(d, b.decision(Xt, Ft))
    assert ((d > 0) == yt).mean() >= 0.95  # held-out toy crops
    save_crop_score(a, tmp_path / "cnn.npz")
    back = load_crop_score(str(tmp_path / "cnn.npz"))
    assert back.features == ("f0", "f1") and back.min_score == a.min_score
    np.testing.assert_array_equal(back.decision(Xt, Ft), d)
    with pytest.raises(ValueError, match="expects"):
        a.decision(Xt[:, :2], Ft)
    with pytest.raises(ValueError, match="both labels"):
        fit_crop_score(X, F, np.zeros(len(X), bool), ("f0", "f1"))


def test_unreadable_cnn_file_is_one_line_error(tmp_path):
    from corrclust.images.organoid_cnn import load_crop_score

    bad = tmp_path / "cnn.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="cannot read the detection CNN score .*cnn.npz"):
        load_crop_score(str(bad))


def test_combined_score_is_the_mean_of_log_odds():
    from corrclust.images.organoid_cnn import combined_scores

    s = combined_scores(np.array([0.0, 2.0, -4.0]), np.array([0.0, 0.0, 2.0]))
    np.testing.assert_allclose(s, 1 / (1 + np.exp(-np.array([0.0, 1.0, -1.0]))))


def _fitted_files(tmp_path):
    """Trees and CNN fitted by fit_cnn_detector on five synthetic fields, saved to files."""
    import torch
    from test_images_detection import _field

    from corrclust.images.detection import brightfield_candidates
    from corrclust.images.detection_model import fit_cnn_detector
    from corrclust.images.organoid_score import save_score_model

    torch.set_num_threads(1)
    fields = {f"f{k}": _field(seed=10 + k) for k in range(5)}
    cands = {n: brightfield_candidates(img, crops=True) for n, (img, _) in fields.items()}
    truth = {n: t for n, (_, t) in fields.items()}
    trees, cnn, point, combined = fit_cnn_detector(cands, truth, list(fields), folds=5, min_precision=0.9)
    assert combined.precision >= 0.9 and combined.recall >= 0.9, combined  # cross-validated over fields
    from corrclust.images.organoid_cnn import save_crop_score

    save_score_model(trees, tmp_path / "trees.npz")
    save_crop_score(cnn, tmp_path / "cnn.npz")
    return str(tmp_path / "trees.npz"), str(tmp_path / "cnn.npz")


def test_cnn_fitted_on_synthetic_fields_detects_a_new_one(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    from test_images_detection import _field

    from corrclust.images.detection import detect_organoids, match_boxes

    trees, cnn = _fitted_files(tmp_path)
    img, truth = _field(seed=0)
    dets = detect_organoids(img, scorer="trees+cnn", score_model=trees, cnn_model=cnn)
    tp, fp, fn, _ = match_boxes([d.box for d in dets], truth)
    assert tp == len(truth) and fp <= 1, [d.box for d in dets]  # measured: 5 of 5, 1 small false box
    # auto with both files: the same; auto with the trees' file only: the trees alone
    auto = detect_organoids(img, scorer="auto", score_model=trees, cnn_model=cnn)
    assert [d.box for d in auto] == [d.box for d in dets] and [d.score for d in auto] == [
        d.score for d in dets
    ]
    alone = detect_organoids(img, scorer="auto", score_model=trees)
    assert [d.score for d in alone] == [
        d.score for d in detect_organoids(img, scorer="trees", score_model=trees)
    ]


def test_without_torch_detection_falls_back_to_the_trees(monkeypatch, tmp_path):
    """scorer='auto' without torch: one warning, then the same detections as scorer='trees'."""
    from test_images_detection import _field

    import corrclust.images.detection as detection
    import corrclust.images.organoid_cnn as organoid_cnn

    img, _ = _field()
    trees = detection.detect_organoids(img, scorer="trees")
    monkeypatch.setattr(organoid_cnn, "torch_available", lambda: False)
    monkeypatch.setattr(detection, "_warned_no_torch", False)
    with pytest.warns(UserWarning, match="torch is not installed"):
        auto = detection.detect_organoids(img, scorer="auto", cnn_model=str(tmp_path / "cnn.npz"))
    assert [d.box for d in auto] == [d.box for d in trees]
    assert [d.score for d in auto] == [d.score for d in trees]
    with pytest.raises(ValueError, match="needs torch"):
        detection.detect_organoids(img, scorer="trees+cnn")
    with pytest.raises(ValueError, match="scorer must be"):
        detection.detect_organoids(img, scorer="cnn")


def test_packaged_cnn_goes_with_the_packaged_trees():
    """The packaged CNN: this version's features, its operating point (0.32, chosen by 4-fold
    cross-validation over the 112 OrgaQuant fields), and the drawn organoids found under
    trees+cnn and under auto (torch installed)."""
    pytest.importorskip("torch")
    from test_images_detection import _field

    from corrclust.images.detection import FEATURES, cnn_model, detect_organoids, match_boxes

    model = cnn_model(None)
    assert model.features == FEATURES and model.min_score == 0.32
    assert model.views == 1  # written before the views option: read as one view
    img, truth = _field()
    for scorer in ("trees+cnn", "auto"):
        dets = detect_organoids(img, scorer=scorer)
        assert match_boxes([d.box for d in dets], truth)[:3] == (len(truth), 0, 0), scorer


def test_eight_view_score_is_invariant_to_flips_and_transposes(tmp_path):
    """With views=8 the log-odds are the mean over the 8 symmetries of the square, so a crop
    flipped, rotated or transposed gets the same score; views=1 does not have that property, and
    the views count survives a file round trip (files without it read as 1)."""
    pytest.importorskip("torch")
    import dataclasses

    import torch

    from corrclust.images.organoid_cnn import fit_crop_score, load_crop_score, save_crop_score

    torch.set_num_threads(1)
    X, F, y = _toy(64)
    one = fit_crop_score(X, F, y, ("f0", "f1"), seed=0, epochs=2, batch=16)
    eight = dataclasses.replace(one, views=8)
    base = eight.decision(X, F)
    for t in (
        X[:, :, ::-1, :],
        X[:, :, :, ::-1],
        X.transpose(0, 1, 3, 2),
        np.rot90(X, 1, axes=(2, 3)),
        np.rot90(X, 2, axes=(2, 3)),
        np.rot90(X, 3, axes=(2, 3)),
    ):
        np.testing.assert_allclose(eight.decision(np.ascontiguousarray(t), F), base, atol=1e-5)
    plain = one.decision(X, F)
    assert np.abs(one.decision(np.ascontiguousarray(X[:, :, ::-1, :]), F) - plain).max() > 1e-3
    # the 8-view score is the mean of the single-view scores of the 8 transformed crops
    views = [np.rot90(X, k, axes=(2, 3)) for k in range(4)]
    views += [v.transpose(0, 1, 3, 2) for v in views]
    mean = np.mean([one.decision(np.ascontiguousarray(v), F) for v in views], axis=0)
    np.testing.assert_allclose(base, mean, atol=1e-5)
    save_crop_score(eight, tmp_path / "cnn8.npz")
    back = load_crop_score(str(tmp_path / "cnn8.npz"))
    assert back.views == 8
    np.testing.assert_allclose(back.decision(X, F), base, atol=1e-6)
    with pytest.raises(ValueError, match="views must be 1 or 8"):
        dataclasses.replace(one, views=4).decision(X, F)
    with pytest.raises(ValueError, match="views must be 1 or 8"):
        fit_crop_score(X, F, y, ("f0", "f1"), views=2)
