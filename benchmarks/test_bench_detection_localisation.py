"""The box arithmetic and edge profile of bench_detection_localisation.py on drawn discs.

python -m pytest -q benchmarks/test_bench_detection_localisation.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage as ndi

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_detection_localisation import apply_offsets, edge_offsets, edge_profile, snap_boxes


def disc(shape, cx, cy, r):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return ((xx - cx) ** 2 + (yy - cy) ** 2 <= r * r).astype(float)


def test_offsets_round_trip():
    boxes = np.array([[10, 20, 50, 44], [0, 0, 8, 8], [30, 30, 90, 100]])
    truth = np.array([[12, 18, 47, 46], [1, 1, 9, 7]])
    best, d = edge_offsets(boxes, truth)
    # the first two boxes' best manual boxes, the third overlaps none
    assert best[0] == pytest.approx((35 * 24) / (40 * 24 + 35 * 28 - 35 * 24))
    assert best[1] == pytest.approx(6 * 7 / (64 + 48 - 42))
    assert d[0] == pytest.approx([2 / 40, -2 / 24, -3 / 40, 2 / 24])
    back = apply_offsets(boxes[:2], d[:2])
    assert back == pytest.approx(truth.astype(float))
    assert edge_offsets(boxes, np.zeros((0, 4)))[1].shape == (3, 4)


def test_profile_finds_the_edges_of_a_disc():
    # a dark disc of radius 15 at (50, 40): bounding box x 35..65, y 25..55 (exclusive ends 66, 56)
    image = 1.0 - 0.5 * disc((100, 120), 50, 40, 15)
    cmap = ndi.gaussian_gradient_magnitude(image, 1.5)
    exact = np.array([[35, 25, 66, 56]])
    loose = np.array([[31, 27, 70, 53]])  # 4 px too far left and right, 2 and 3 px too tight
    for box in (exact, loose):
        snapped = snap_boxes(box, edge_profile(cmap, box))
        assert np.abs(snapped - exact).max() <= 1.0, snapped
    # the profile of the loose box: peaks 4 px inside left/right, 2 and 3 px outside top/bottom
    p = edge_profile(cmap, loose)[0]
    assert p[[0, 2, 4, 6]] * np.array([39, 26, 39, 26]) == pytest.approx([-4, 2, -4, 3], abs=1.0)
    assert (p[[1, 3, 5, 7]] >= 1.0).all()  # the peak is never below the edge's own value
