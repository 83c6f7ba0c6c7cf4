"""PQAP cost recipes (corrclust.pqap.recipe): scores, costs and the threshold learned by class triples."""

from __future__ import annotations

import numpy as np
import pytest

from corrclust.pqap.recipe import PAPER, PqapRecipe, learn_threshold, recipe_scores, triple_vi_table

NAN = np.nan
S3 = np.array([[NAN, 0.6, 0.8], [0.4, NAN, 0.7], [0.6, 0.5, NAN]])


def test_scores_by_hand():
    # min: z01 = 0.4, z02 = 0.6, z12 = 0.5; mean: 0.5, 0.7, 0.6
    np.testing.assert_allclose(recipe_scores(S3, "min"), [[0, 0.4, 0.6], [0.4, 0, 0.5], [0.6, 0.5, 0]])
    np.testing.assert_allclose(recipe_scores(S3, "mean"), [[0, 0.5, 0.7], [0.5, 0, 0.6], [0.7, 0.6, 0]])
    # centred mean: organoid means 0.6, 0.55, 0.65 -> z01 = 0.5 - 0.575, z02 = 0.7 - 0.625, z12 = 0.6 - 0.6
    np.testing.assert_allclose(
        recipe_scores(S3, "mean", centred=True),
        [[0, -0.075, 0.075], [-0.075, 0, 0.0], [0.075, 0.0, 0]],
        atol=1e-15,
    )


def test_centring_ignores_a_common_shift():
    rng = np.random.default_rng(3)
    S = rng.random((7, 7))
    shifted = recipe_scores(S + 0.25, "mean", centred=True)
    np.testing.assert_allclose(shifted, recipe_scores(S, "mean", centred=True), atol=1e-14)
    # ... which the plain rule does not
    assert not np.allclose(recipe_scores(S + 0.25, "mean"), recipe_scores(S, "mean"))


def test_recipe_costs_and_problem():
    r = PqapRecipe("improved", "mean", True, 0.01)
    C = r.costs(S3)
    np.testing.assert_allclose(C, [[0, -0.085, 0.065], [-0.085, 0, -0.01], [0.065, -0.01, 0]], atol=1e-15)
    assert r.problem(S3).n == 3
    np.testing.assert_allclose(PAPER.costs(S3)[0, 1], 0.4 - 0.64)
    assert (PAPER.mode, PAPER.symmetrize, PAPER.centred, PAPER.threshold) == ("reference", "min", False, 0.64)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"mode": "fast"}, "mode"),
        ({"symmetrize": "max"}, "symmetrize"),
        ({"threshold": float("nan")}, "finite"),
    ],
)
def test_recipe_refuses_bad_fields(kwargs, match):
    fields = {"mode": "improved", "symmetrize": "mean", "centred": True, "threshold": 0.0, **kwargs}
    with pytest.raises(ValueError, match=match):
        PqapRecipe(**fields)


def test_scores_refuse_bad_matrices():
    with pytest.raises(ValueError, match="square"):
        recipe_scores(np.zeros((2, 3)))
    bad = S3.copy()
    bad[0, 1] = NAN
    with pytest.raises(ValueError, match="NaN"):
        recipe_scores(bad)


def planted(classes: int = 4, size: int = 4) -> tuple[np.ndarray, np.ndarray]:
    labels = np.repeat(np.arange(classes), size)
    S = np.where(labels[:, None] == labels[None, :], 0.805, 0.495)
    np.fill_diagonal(S, NAN)
    return S, labels


def test_learned_threshold_on_a_planted_set():
    S, labels = planted()
    grid = np.arange(40, 91) / 100
    # VI 0 for every t in 0.50 ... 0.80 (31 grid points): the plateau's middle is 0.65
    t, vi = learn_threshold(S, labels, grid, "mean")
    assert (t, vi) == (0.65, 0.0)
    triples, V = triple_vi_table(S, labels, grid, "mean")
    assert len(triples) == 4 and V.shape == (4, 51)
    # below 0.495 every triple is one cluster (VI log2 3); from 0.81 on, 12 singletons (log2 12 - log2 3)
    np.testing.assert_allclose(V[:, 0], np.log2(3))
    np.testing.assert_allclose(V[:, -1], np.log2(12) - np.log2(3))
    assert (V[:, 10:41] == 0).all() and (V[:, 41:] > 0).all() and (V[:, :9] > 0).all()


def test_learned_threshold_is_deterministic():
    rng = np.random.default_rng(0)
    S, labels = planted()
    S = S + rng.normal(0, 0.08, S.shape)
    grid = np.arange(-20, 21) / 100
    a = learn_threshold(S, labels, grid, "mean", centred=True)
    assert a == learn_threshold(S, labels, grid, "mean", centred=True)
    assert -0.2 <= a[0] <= 0.2


def test_learning_needs_three_classes():
    S, labels = planted(classes=2)
    with pytest.raises(ValueError, match="3 classes"):
        learn_threshold(S, labels, [0.6])
    with pytest.raises(ValueError, match="one entry per row"):
        learn_threshold(S, labels[:-1], [0.6])
