"""Regression tests for the faults of issue 16 item 1: each failed (traceback, hang, clobbered or
silently wrong result) before its fix."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from corrclust.report import figures


# --- degenerate images: the thumbnail is bounded, the pipeline skips and lists them -------------


@pytest.mark.parametrize("shape", [(20000, 1, 1), (1, 100000, 1), (8000, 1, 3)])
def test_thumbnail_of_a_thin_image_is_bounded(shape):
    # Padding to square first made these a 20000^2 / 100000^2 float array (hang / 112 GiB request).
    img = np.full(shape, 500, dtype=np.uint16)
    t = figures.thumbnail(img, 32)
    assert t.shape == (32, 32, 3) and t.dtype == np.uint8
    # A one-pixel line through the middle of the square, padding elsewhere.
    assert t.max() == 255 and (t > 0).sum() < 32 * 3 * 2


def test_thumbnail_of_a_normal_image_keeps_its_layout():
    img = np.full((40, 80, 1), 1000, dtype=np.uint16)
    t = figures.thumbnail(img, 32)
    assert t[:8].max() == 0 and t[-8:].max() == 0 and t[8:24].min() == 255


def _organoid(rng, h=24, w=24):
    return rng.integers(1, 4000, (h, w), dtype=np.uint16)


def test_load_images_skips_and_lists_degenerate_images(tmp_path):
    from corrclust.pipeline.images import load_images

    rng = np.random.default_rng(0)
    for ident in (101, 102, 201):
        tifffile.imwrite(tmp_path / f"org_{ident}.tif", _organoid(rng))
    tifffile.imwrite(tmp_path / "org_202.tif", np.ones((20000, 1), dtype=np.uint16))
    tifffile.imwrite(tmp_path / "org_203.tif", np.ones((1, 100000), dtype=np.uint16))
    tifffile.imwrite(tmp_path / "org_204.tif", np.ones((30, 900), dtype=np.uint16))
    images = load_images(tmp_path, progress=False)
    assert images.ids.tolist() == [101, 102, 201]
    reasons = {p.name: r for p, r in images.failures}
    assert sorted(reasons) == ["org_202.tif", "org_203.tif", "org_204.tif"]
    assert "20000 x 1" in reasons["org_202.tif"] and "aspect" in reasons["org_204.tif"]
