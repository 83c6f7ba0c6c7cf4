"""Key-point extraction (paper-model §2): nuclei, red acceptance rule, geometry, CSV round trip."""

from __future__ import annotations

import math

import numpy as np
import pytest

from corrclust.images.io import list_images
from corrclust.images.keypoints import (
    FIELDS,
    SelectionParameters,
    extract_keypoint_set,
    extract_keypoints,
    keypoint_geometry,
    red_peaks,
)
from corrclust.images.nuclei import SkimageNuclei, StarDistNuclei
from corrclust.images.synthetic import generate, render_organoid
from corrclust.pqap.io import FIELDS as PQAP_FIELDS
from corrclust.pqap.io import read_keypoints, write_keypoints

F = {n: i for i, n in enumerate(FIELDS)}


def test_fields_match_the_pqap_reader():
    assert FIELDS == PQAP_FIELDS


# ---------------------------------------------------------------- geometry


def test_angle_conventions_and_boundary_distances():
    H = W = 101
    yy, xx = np.mgrid[0:H, 0:W]
    mask = (yy - 50) ** 2 + (xx - 50) ** 2 <= 40**2
    # up, left, down, right of the centre (50, 50), at distance 20
    rows = np.array([30, 50, 70, 50, 50])
    cols = np.array([50, 30, 50, 70, 60])
    ang, rb, rm = keypoint_geometry(rows, cols, mask, (50, 50))
    assert ang.dtype == np.float32
    assert ang[0] in (0.0, 360.0)
    np.testing.assert_allclose(ang[1:4], [90, 180, 270])
    # the boundary point is the first pixel outside the disk: 41 px from the centre on the axes
    np.testing.assert_allclose(rb[:4], 20 / 41, rtol=1e-6)
    np.testing.assert_allclose(rb[4], 10 / 41, rtol=1e-6)
    np.testing.assert_allclose(rm, np.array([20, 20, 20, 20, 10]) / 41, rtol=1e-6)


def test_boundary_walk_leaving_the_image_stops_at_the_last_pixel():
    mask = np.ones((21, 21), bool)  # the mask fills the image: walks leave the image
    ang, rb, rm = keypoint_geometry(np.array([10, 5]), np.array([15, 10]), mask, (10, 10))
    # right: last pixel inside is col 20, 10 px from the centre; up: row 0, 10 px
    np.testing.assert_allclose(rb, [0.5, 0.5])
    np.testing.assert_allclose(ang, [270, 360])


def test_point_at_centre_is_defined():
    mask = np.ones((9, 9), bool)
    ang, rb, rm = keypoint_geometry(np.array([4]), np.array([4]), mask, (4, 4))
    assert ang[0] == 180 and rb[0] == 0 and rm[0] == 0


# ---------------------------------------------------------------- red acceptance rule


def test_acceptance_rule_on_a_hand_made_plane():
    plane = np.full((101, 101), 6000, np.uint16)  # 6000/65535 < 0.1: background never accepted
    plane[50, 30] = 8200  # p1, strongest: accepted in both lists
    plane[50, 18] = 8100  # p3: 12 px from p1 -> d_rel 0.084 > 0.075 -> both lists
    plane[52, 30] = 8050  # p4: 2 px from p1 -> d_rel < 0.02 -> rejected everywhere
    plane[50, 39] = 8000  # p2: 9 px from p1 -> d_rel 0.063: a candidate but not a feature
    plane[20, 80] = 6500  # p5: isolated but normalized 0.0992 < 0.1 -> rejected
    feats, cands, d = red_peaks(plane)
    assert d == 5  # round(0.05 * 101)
    got_f = [(int(r), int(c)) for r, c in feats[:, [F["row"], F["col"]]]]
    got_c = [(int(r), int(c)) for r, c in cands[:, [F["row"], F["col"]]]]
    assert got_f == [(50, 30), (50, 18)]
    assert got_c == [(50, 30), (50, 18), (50, 39)]
    # statistics of p1: 120 neighbours, one of them p4
    row = feats[0]
    assert row[F["peak_value"]] == 8200 and row[F["channel"]] == 3 and row[F["local_search_dim"]] == 5
    np.testing.assert_allclose(row[F["local_mean"]], (119 * 6000 + 8050) / 120)
    np.testing.assert_allclose(row[F["local_mean_forground_only"]], (119 * 6000 + 8050) / 120)
    np.testing.assert_allclose(row[F["local_std_dev"]], np.std([6000] * 119 + [8050]))
    np.testing.assert_allclose(row[F["normalize_peak_value"]], 8200 / 65535)


def _reference_red(plane, eight_bit, sp=SelectionParameters()):  # noqa: B008 (a frozen dataclass)
    """Brute-force transcription of paper-model §2.2, one pixel at a time."""
    H, W = plane.shape
    d = int(math.floor(0.05 * max(W, H) + 0.5))
    full = 255.0 if eight_bit else 65535.0
    gm = plane.astype(float).mean()
    diag = math.hypot(W, H)
    peaks = []
    for r in range(H):
        for c in range(W):
            v = int(plane[r, c])
            if v <= 5:
                continue
            nb = [
                int(plane[rr, cc])
                for rr in range(max(0, r - d), min(H, r + d + 1))
                for cc in range(max(0, c - d), min(W, c + d + 1))
                if (rr, cc) != (r, c)
            ]
            fg = [x for x in nb if x > 0]
            lm_fg = np.mean(fg) if fg else 0.0
            peaks.append((v, r, c, np.mean(nb), lm_fg, np.std(nb), np.std(fg) if fg else 0.0))
    peaks.sort(key=lambda p: (-p[0], p[1], p[2]))
    lists = {0.5: [], 0.4: []}
    for v, r, c, lm, lmf, sd, sdf in peaks:
        for t, acc in lists.items():
            drel = min((math.hypot(r - a[1], c - a[2]) for a in acc), default=math.inf) / diag
            if drel < 0.02:
                continue
            dp = min(1.0, (drel - 0.05) / 0.05)
            if v / full < 0.1:
                continue
            pres = min(v / lmf if lmf > 0 else math.inf, 2) / 2
            rel = min(v / gm, 4) / 4
            if (1.5 * dp + 2 * pres + 2 * rel) / 5.5 > t:
                acc.append((v, r, c, lm, lmf, sd, sdf))
    return lists[0.5], lists[0.4]


@pytest.mark.parametrize("eight_bit", [False, True])
def test_red_peaks_match_a_brute_force_reference(eight_bit):
    rng = np.random.default_rng(7 if eight_bit else 8)
    dtype = np.uint8 if eight_bit else np.uint16
    top = 255 if eight_bit else 65535
    plane = (rng.uniform(size=(36, 44)) ** 3 * top).astype(dtype)
    plane[rng.uniform(size=plane.shape) < 0.3] = 0
    feats, cands, _ = red_peaks(plane)
    ref_f, ref_c = _reference_red(plane, eight_bit)
    for ours, ref in ((feats, ref_f), (cands, ref_c)):
        assert len(ours) == len(ref) > 5
        expect = np.array([[c, r, lm, lmf, sd, sdf, v] for v, r, c, lm, lmf, sd, sdf in ref])
        cols = [
            F[k]
            for k in (
                "col",
                "row",
                "local_mean",
                "local_mean_forground_only",
                "local_std_dev",
                "local_std_dev_forground_only",
                "peak_value",
            )
        ]
        np.testing.assert_allclose(ours[:, cols], expect, rtol=1e-9, atol=1e-6)
        np.testing.assert_allclose(ours[:, F["normalize_peak_value"]], expect[:, 6] / top)
    assert len(cands) > len(feats)


# ---------------------------------------------------------------- nuclei and whole images


def _match(points, truth, tol):
    """Greedy one-to-one matching of (row, col) points to truth within tol pixels."""
    from scipy.optimize import linear_sum_assignment

    if len(points) == 0 or len(truth) == 0:
        return 0
    dist = np.hypot(points[:, None, 0] - truth[None, :, 0], points[:, None, 1] - truth[None, :, 1])
    r, c = linear_sum_assignment(dist)
    return int(np.sum(dist[r, c] <= tol))


@pytest.mark.parametrize("template", [1, 2, 3, 4])
def test_nuclei_recovered_on_synthetic_organoids(template):
    org = render_organoid(template, np.random.default_rng([42, template]), 160)
    feats, cands = extract_keypoints(org.image, org.mask)
    for ch, truth in ((0, org.nuclei), (1, org.nuclei[org.green])):
        pts = feats[feats[:, F["channel"]] == ch][:, [F["row"], F["col"]]]
        hits = _match(pts, truth, tol=2.0)
        assert hits >= 0.9 * len(truth), (ch, hits, len(truth))
        assert hits >= 0.9 * len(pts), (ch, hits, len(pts))
        # nuclei rows are identical in the two lists
        np.testing.assert_array_equal(
            np.sort(feats[feats[:, 1] == ch], axis=0), np.sort(cands[cands[:, 1] == ch], axis=0)
        )
    for a in (feats, cands):
        assert a.shape[1] == 13 and a.dtype == np.float64
        assert np.all(np.diff(a[:, F["angle"]]) >= 0)
        assert set(np.unique(a[:, F["channel"]])) <= {0, 1, 3}
        assert np.all((a[:, F["angle"]] >= 0) & (a[:, F["angle"]] <= 360))
        red = a[a[:, 1] == 3]
        assert len(red) > 10
        assert np.all(red[:, F["normalize_peak_value"]] >= 0.1)
        assert np.all(red[:, F["local_search_dim"]] == 8)  # round(0.05 * 160)
        nuc = a[a[:, 1] != 3]
        assert np.all(nuc[:, F["local_mean"]] == 0) and np.all(nuc[:, F["local_search_dim"]] == 0)
        np.testing.assert_allclose(nuc[:, F["normalize_peak_value"]], nuc[:, F["peak_value"]] / 256)
        # per-list maximum normalisation: the farthest boundary of each channel list is 1 or less
        for ch in (0, 1, 3):
            rm = a[a[:, 1] == ch][:, F["relative_distance_center_max_distance"]]
            assert rm.max() <= 1.0 + 1e-6
    assert len(cands[cands[:, 1] == 3]) >= len(feats[feats[:, 1] == 3])


def test_eight_bit_image_rules():
    org = render_organoid(1, np.random.default_rng(3), 128)
    img8 = (org.image // 256).astype(np.uint8)
    feats, _ = extract_keypoints(img8, org.mask)
    red = feats[feats[:, 1] == 3]
    np.testing.assert_allclose(red[:, F["normalize_peak_value"]], red[:, F["peak_value"]] / 255)
    assert red[:, F["peak_value"]].max() <= 255
    nuc = feats[feats[:, 1] == 0]
    assert nuc[:, F["peak_value"]].max() <= 255 and len(nuc) > 10


def test_custom_detector_and_validation():
    org = render_organoid(2, np.random.default_rng(5), 96)

    def one_blob(plane):  # a detector is any callable plane -> labels
        lab = np.zeros(plane.shape, np.int32)
        lab[10:14, 20:24] = 1
        return lab

    feats, _ = extract_keypoints(org.image, org.mask, one_blob)
    blue = feats[feats[:, 1] == 0]
    assert len(blue) == 1 and (blue[0, F["row"]], blue[0, F["col"]]) == (11, 21)
    with pytest.raises(ValueError, match="channel 3"):
        extract_keypoints(org.image[..., :3], org.mask)
    with pytest.raises(ValueError, match="mask shape"):
        extract_keypoints(org.image, org.mask[:10])
    with pytest.raises(ValueError, match="empty"):
        extract_keypoints(org.image, np.zeros_like(org.mask))
    assert isinstance(SkimageNuclei(), object)
    try:
        import stardist  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="stardist"):
            StarDistNuclei()


def test_keypoint_set_csv_round_trip(tmp_path):
    generate(tmp_path / "imgs", classes=2, per_class=2, seed=1, size=96)
    (tmp_path / "imgs" / "organoid_150.tif").write_bytes(b"broken")
    failures = []
    ks = extract_keypoint_set(list_images(tmp_path / "imgs"), image_set="synthetic", failures=failures)
    assert ks.ids == [100, 101, 200, 201]
    assert len(failures) == 1 and failures[0][0].name == "organoid_150.tif"
    assert ks.selection["image_set"] == "synthetic"
    assert ks.selection["red_channel_local_search_dim"] == "0.05"
    write_keypoints(tmp_path / "kp.csv", ks)
    back = read_keypoints(tmp_path / "kp.csv")
    assert back.ids == ks.ids
    for i in ks.ids:
        for a, b in ((ks.features[i], back.features[i]), (ks.candidates[i], back.candidates[i])):
            assert a.shape == b.shape
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    text = (tmp_path / "kp.csv").read_text().splitlines()
    assert text[0] == "begin_selection_parameters" and text[1] == "image_set,synthetic"
    assert "features_begin,100" in text
