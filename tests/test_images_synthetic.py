"""Synthetic organoid generator: layout, determinism, ground truth, class separability."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import tifffile
from skimage.measure import regionprops

from corrclust.images.io import list_images, read_image, read_mask
from corrclust.images.synthetic import TEMPLATES, generate, render_organoid


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_layout_and_truth(tmp_path):
    recs = generate(tmp_path, classes=3, per_class=2, seed=5, size=96)
    assert [r.id for r in recs] == [100, 101, 200, 201, 300, 301]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"organoid_{i}.tif" for i in (100, 101, 200, 201, 300, 301)]
        + [f"organoid_{i}_mask.tif" for i in (100, 101, 200, 201, 300, 301)]
        + ["truth.csv"]
    )
    assert (tmp_path / "truth.csv").read_text() == (
        "100,101\n200,201\n300,301\nmatching_results_file:\nclustering_threshold:0.5\n"
    )
    listed = list_images(tmp_path)
    assert [(r.id, r.label) for r in listed] == [(r.id, r.label) for r in recs]
    img = tifffile.imread(recs[0].path)  # how the twin networks read it
    assert img.shape == (96, 96, 4) and img.dtype == np.uint16
    np.testing.assert_array_equal(read_image(recs[0].path), img)
    mask = read_mask(recs[0].mask)
    assert img[~mask].max() == 0, "background must be masked to 0"
    assert img[..., 2].max() == 0, "channel 2 (NEUROG3-RFP) is never present"
    for ch in (0, 1, 3):
        assert img[mask, ch].mean() > 500


def test_same_seed_same_bytes_and_subset_property(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(a, classes=2, per_class=3, seed=11, size=64)
    generate(b, classes=2, per_class=3, seed=11, size=64)
    generate(c, classes=2, per_class=3, seed=12, size=64)
    assert _digest(a) == _digest(b)
    da, dc = _digest(a), _digest(c)
    assert da["organoid_100.tif"] != dc["organoid_100.tif"]
    d = tmp_path / "d"
    generate(d, classes=2, per_class=2, seed=11, size=64)
    dd = _digest(d)
    assert dd["organoid_101.tif"] == da["organoid_101.tif"]


def test_argument_validation(tmp_path):
    with pytest.raises(ValueError, match="classes"):
        generate(tmp_path, classes=len(TEMPLATES) + 1)
    with pytest.raises(ValueError, match="per_class"):
        generate(tmp_path, per_class=101)
    with pytest.raises(ValueError, match="template"):
        render_organoid("blob", np.random.default_rng(0))


def test_nuclei_are_inside_and_cysts_have_lumens():
    for c, (name, _) in enumerate(TEMPLATES, start=1):
        org = render_organoid(c, np.random.default_rng([3, c]), 128)
        assert len(org.nuclei) >= 8, name
        r = org.nuclei[:, 0].astype(int)
        q = org.nuclei[:, 1].astype(int)
        assert org.mask[r, q].all() and not org.lumen[r, q].any(), name
        # each nucleus is a local bright blob in DAPI
        blue = org.image[..., 0].astype(float)
        assert np.median(blue[r, q]) > 2 * np.median(blue[org.mask]), name
        if name in ("cyst", "multicystic", "budding_cysts"):
            assert org.lumen.sum() > 0.05 * org.mask.sum(), name
        else:
            assert not org.lumen.any(), name


def _descriptor(img, mask):
    p = regionprops(mask.astype(np.uint8))[0]
    dark = (img[..., 0] < 2500) & (img[..., 3] < 2500) & mask
    return np.array([p.solidity, p.eccentricity, dark.sum() / mask.sum(), np.sqrt(p.area) / 40])


def test_classes_separable_by_shape():
    """The classes differ in shape and arrangement: a nearest-centroid rule on four simple shape
    descriptors (solidity, eccentricity, lumen fraction, size) recovers them (leave-one-out)."""
    feats, labels = [], []
    for c in range(1, 5):
        for k in range(6):
            org = render_organoid(c, np.random.default_rng([0, c, k]), 128)
            feats.append(_descriptor(org.image, org.mask))
            labels.append(c)
    X, y = np.array(feats), np.array(labels)
    X = (X - X.mean(0)) / X.std(0)
    correct = 0
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        cents = np.array([X[keep & (y == c)].mean(0) for c in range(1, 5)])
        correct += int(np.argmin(((cents - X[i]) ** 2).sum(1)) + 1 == y[i])
    assert correct / len(y) >= 0.9
