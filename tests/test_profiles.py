"""Morphology profiles: feature values on drawn shapes, invariances, the object mask, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import require_shared

from corrclust import profiles as P


def _names(channels=1):
    return P.feature_names(channels)[0]


def _value(row, name, channels=1):
    return row[_names(channels).index(name)]


def _disc(size=64, r=15.0, cy=None, cx=None):
    cy = (size - 1) / 2 if cy is None else cy
    cx = (size - 1) / 2 if cx is None else cx
    yy, xx = np.mgrid[0:size, 0:size]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2


def _ellipse(size=96, a=30.0, b=12.0, theta=0.0):
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    c = (size - 1) / 2
    u = (xx - c) * math.cos(theta) + (yy - c) * math.sin(theta)
    v = -(xx - c) * math.sin(theta) + (yy - c) * math.cos(theta)
    return (u / a) ** 2 + (v / b) ** 2 <= 1


def _textured(mask, seed=0):
    rng = np.random.default_rng(seed)
    img = np.full(mask.shape, 200, np.uint8)
    img[mask] = rng.integers(20, 120, int(mask.sum()))
    return img


def test_names_match_the_vector_length():
    for c in (1, 3, 4):
        names, groups = P.feature_names(c)
        assert len(names) == len(groups) == len(set(names))
    img = np.dstack([_textured(_disc())] * 3)
    assert P.profile(img).shape == (len(_names(3)),)


def test_disc_shape_values():
    mask = _disc(r=15)
    row = P.profile(_textured(mask), mask)
    area = mask.sum()
    assert _value(row, "area") == area  # the pixel count
    assert _value(row, "equivalent_diameter") == pytest.approx(2 * math.sqrt(area / math.pi))
    assert _value(row, "major_axis") == pytest.approx(30.0, rel=0.03)
    assert _value(row, "minor_axis") == pytest.approx(30.0, rel=0.03)
    assert _value(row, "eccentricity") < 0.1
    assert _value(row, "solidity") > 0.97
    assert _value(row, "euler_number") == 1
    # a circle's outline: the centroid distance is nearly constant, no harmonic stands out
    assert _value(row, "radius_cv") < 0.02
    assert max(_value(row, f"fourier{k}") for k in range(1, P.N_FOURIER + 1)) < 0.01
    assert _value(row, "form_factor") == pytest.approx(1.0, abs=0.1)


def test_ellipse_axes_and_second_harmonic():
    a, b = 30.0, 12.0
    mask = _ellipse(a=a, b=b)
    row = P.profile(_textured(mask), mask)
    assert _value(row, "major_axis") == pytest.approx(2 * a, rel=0.02)
    assert _value(row, "minor_axis") == pytest.approx(2 * b, rel=0.03)
    assert _value(row, "eccentricity") == pytest.approx(math.sqrt(1 - (b / a) ** 2), abs=0.01)
    # an ellipse's radius goes up and down twice per turn: the second harmonic dominates the odd ones
    f = [_value(row, f"fourier{k}") for k in range(1, P.N_FOURIER + 1)]
    assert f[1] > 0.1 and f[1] > 10 * max(f[0], f[2])


def test_checkerboard_glcm_by_hand():
    """A 1-pixel checkerboard inside a square: neighbours along rows and columns always differ by the
    full quantised range (15 levels), diagonal neighbours never do; at distance 2 and 4 every offset
    lands on the same colour."""
    mask = np.zeros((48, 48), bool)
    mask[8:40, 8:40] = True
    yy, xx = np.mgrid[0:48, 0:48]
    img = np.where((yy + xx) % 2 == 0, 50, 150).astype(np.uint8)
    img[~mask] = 250
    row = P.profile(img, mask)
    contrast = [_value(row, f"ch0_glcm_contrast_d{d}") for d in P.GLCM_DISTANCES]
    assert contrast == pytest.approx([(2 * 15**2 + 2 * 0) / 4, 0.0, 0.0])
    homogeneity = _value(row, "ch0_glcm_homogeneity_d1")
    assert homogeneity == pytest.approx((2 / (1 + 15**2) + 2 * 1.0) / 4)
    # relative intensity: the object's mean is 100, its 5th/95th percentiles 50/150
    assert _value(row, "ch0_mean") == pytest.approx(100.0)
    assert _value(row, "ch0_rel_p05") == pytest.approx(0.5)
    assert _value(row, "ch0_rel_p95") == pytest.approx(1.5)
    assert _value(row, "ch0_background") == pytest.approx(250.0)


def test_radial_shells_see_a_pale_centre():
    mask = _disc(r=20)
    yy, xx = np.mgrid[0:64, 0:64]
    r = np.hypot(yy - 31.5, xx - 31.5)
    img = np.where(r < 8, 200, 80).astype(np.uint8)
    img[~mask] = 230
    row = P.profile(img, mask)
    shells = [_value(row, f"ch0_shell{k}") for k in range(P.N_RADIAL)]
    assert shells[0] == pytest.approx(80 / _value(row, "ch0_mean"))  # the rim
    assert shells[-1] == pytest.approx(200 / _value(row, "ch0_mean"))  # the centre
    assert shells == sorted(shells)


@pytest.mark.parametrize(
    "transform",
    [
        lambda a: np.rot90(a, 1),
        lambda a: np.rot90(a, 2),
        lambda a: np.rot90(a, 3),
        lambda a: a[::-1],
        lambda a: a[:, ::-1],
        lambda a: np.swapaxes(a, 0, 1),
    ],
)
def test_invariant_to_right_angle_rotations_and_flips(transform):
    mask = _ellipse(size=80, a=25, b=14, theta=0.4)
    img = np.dstack([_textured(mask, 1), _textured(mask, 2)])
    a = P.profile(img)
    b = P.profile(np.ascontiguousarray(transform(img)))
    names = _names(2)
    contour = [i for i, n in enumerate(names) if n.startswith("fourier") or n == "radius_cv"]
    other = [i for i in range(len(names)) if i not in contour]
    np.testing.assert_allclose(b[other], a[other], rtol=1e-9, atol=1e-9)
    # the outline is resampled from another start point: equal up to the sampling
    np.testing.assert_allclose(b[contour], a[contour], atol=0.01)


def test_shape_nearly_invariant_to_any_rotation():
    base = P.profile(_textured(_ellipse(a=30, b=12, theta=0.0)))
    turned = P.profile(_textured(_ellipse(a=30, b=12, theta=math.radians(33))))
    for name in ("area", "major_axis", "minor_axis", "eccentricity", "solidity"):
        assert _value(turned, name) == pytest.approx(_value(base, name), rel=0.03), name


def test_deterministic():
    img = np.dstack([_textured(_disc(), 3)] * 3)
    np.testing.assert_array_equal(P.profile(img), P.profile(img.copy()))


def test_mask_dark_object_on_bright_field_and_bright_on_dark():
    disc = _disc(r=14)
    rng = np.random.default_rng(0)
    bright_field = (200 + rng.normal(0, 3, disc.shape) - 90 * disc).clip(0, 255).astype(np.uint8)
    fluorescence = (100 + rng.normal(0, 30, disc.shape) + 3000 * disc).clip(0, 65535).astype(np.uint16)
    for img in (bright_field, fluorescence):
        m = P.object_mask(img)
        assert (m & disc).sum() / (m | disc).sum() > 0.9


def test_mask_keeps_the_central_object_of_touching_neighbours():
    centre = _disc(size=64, r=14)
    neighbour = _disc(size=64, r=14, cy=31.5, cx=31.5 + 27)  # touches the centre disc and the border
    img = np.full((64, 64, 3), 210, np.uint8)
    img[centre | neighbour] = (150, 90, 120)
    m = P.object_mask(img)
    assert (m & centre).sum() / centre.sum() > 0.9
    assert (m & neighbour & ~centre).sum() < 0.1 * centre.sum()


def test_constant_and_empty_images_have_no_object():
    with pytest.raises(P.NoObjectError, match="constant image"):
        P.object_mask(np.full((32, 32), 7, np.uint8))
    corner = np.zeros((64, 64), np.uint8)
    corner[4:16, 4:16] = 255  # something, but nowhere near the centre
    with pytest.raises(P.NoObjectError, match="centre"):
        P.object_mask(corner)


def test_collection_skips_and_lists_images_without_object():
    good = _textured(_disc(r=12))
    items = [
        ("a.tif", good, None),
        ("flat.tif", np.zeros((64, 64), np.uint8), None),
        ("b.tif", good[::-1], None),
    ]
    pr = P.profile_collection(items)
    assert pr.kept.tolist() == [0, 2]
    assert pr.skipped == [(1, "constant image")]
    with pytest.raises(P.NoObjectError, match=r"found in 1 of 2 images.*flat.tif: constant image"):
        P.profile_collection(items[:2])


def test_collection_rejects_mixed_channels_and_bit_depths_naming_files():
    g = _textured(_disc(r=12))
    with pytest.raises(ValueError, match=r"mixed channel counts.*a.tif has 1, rgb.tif has 3"):
        P.profile_collection([("a.tif", g, None), ("rgb.tif", np.dstack([g] * 3), None)])
    with pytest.raises(ValueError, match=r"mixed sample types.*a.tif has uint8, deep.tif has uint16"):
        P.profile_collection([("a.tif", g, None), ("deep.tif", g.astype(np.uint16) * 200, None)])


def test_standardise_is_robust_and_balances_groups():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 4))
    X[0, 0] = 1e6  # one outlier must not squash the column
    X = np.hstack([X, np.ones((50, 1))])  # a constant column is dropped
    Z = P.standardise(X, ["a", "b", "b", "b", "c"])
    assert Z.shape == (50, 4)
    assert np.abs(Z[:, 0]).max() == P.CLIP
    assert np.std(Z[1:, 0]) > 0.5
    # group b (3 columns) adds as much to squared distances as group a (1 column)
    assert np.sum(Z[:, 1:4] ** 2) / np.sum(Z[1:, 0] ** 2) == pytest.approx(1.0, rel=0.5)
    assert P.standardise(X, None, pca=2).shape == (50, 2)


def test_mask_of_a_crowded_crop_whose_frame_is_mostly_cells():
    # a central cell among neighbours that cover most of the border frame: the frame's median is
    # cell colour, so the object must be told from the background by the centre, not by the frame
    centre = _disc(size=64, r=14)
    img = np.full((64, 64, 3), 205, np.uint8)
    neighbours = np.zeros((64, 64), bool)
    for cy in (2.0, 31.5, 61.0):
        for cx in (2.0, 31.5, 61.0):
            if (cy, cx) != (31.5, 31.5):
                neighbours |= _disc(size=64, r=10, cy=cy, cx=cx)
    neighbours &= ~_disc(size=64, r=19)  # a gap of background around the central cell
    frame = P._border_frame((64, 64))
    assert neighbours[frame].mean() > 0.5
    img[centre | neighbours] = (160, 95, 125)
    m = P.object_mask(img)
    assert (m & centre).sum() / (m | centre).sum() > 0.9


@pytest.mark.parametrize("sigma", P.SIGMAS)
def test_hessian_is_scikit_images_gaussian_derivative_hessian(sigma):
    # the same entries as scikit-image's call, whose kernels at sigma <= 1 reach 100 deviations
    from skimage.feature import hessian_matrix

    plane = _textured(_ellipse(size=64, a=24, b=15, theta=0.3), 5) / 77.0
    want = hessian_matrix(plane, sigma=sigma, order="rc", use_gaussian_derivatives=True)
    got = P.hessian(plane, sigma)
    for g, w in zip(got, want, strict=True):
        if sigma > 1:
            np.testing.assert_array_equal(g, w)  # the same kernels
        else:
            np.testing.assert_allclose(g, w, rtol=0, atol=1e-12)


def test_profiles_of_red_cells_equal_those_with_scikit_images_hessian(monkeypatch):
    from skimage.feature import hessian_matrix

    from corrclust.images.io import read_image

    smear = read_image(require_shared("data/rbc-morphology/images") / "1.jpg")
    cells = ((95, 594), (151, 601), (153, 556))  # (y, x) of the first cells in points.csv
    crops = [np.ascontiguousarray(smear[y - 32 : y + 32, x - 32 : x + 32]) for y, x in cells]
    fast = [P.profile(c) for c in crops]
    monkeypatch.setattr(
        P,
        "hessian",
        lambda plane, s: hessian_matrix(plane, sigma=s, order="rc", use_gaussian_derivatives=True),
    )
    for c, row in zip(crops, fast, strict=True):
        np.testing.assert_allclose(row, P.profile(c), rtol=1e-9, atol=0)
