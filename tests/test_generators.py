"""The planted-partition generator: seeded, well formed, and recoverable when noise-free."""

import numpy as np
import pytest

import corrclust
from corrclust import metrics
from corrclust.generators import planted_partition


def test_planted_partition_is_seeded_symmetric_and_well_formed():
    c1, t1 = planted_partition(50, k=5, sigma=3.0, seed=7)
    c2, t2 = planted_partition(50, k=5, sigma=3.0, seed=7)
    c3, _ = planted_partition(50, k=5, sigma=3.0, seed=8)
    assert np.array_equal(c1, c2) and np.array_equal(t1, t2) and not np.array_equal(c1, c3)
    assert c1.flags.c_contiguous and c1.dtype == np.float64
    assert np.array_equal(c1, c1.T) and np.all(np.diag(c1) == 0)
    assert np.abs(c1).max() <= np.log((1 - 1e-6) / 1e-6) + 1e-9


def test_noise_free_costs_are_plus_minus_one_and_recovered():
    costs, truth = planted_partition(40, k=4, sigma=0.0, seed=1)
    same = truth[:, None] == truth[None, :]
    off = ~np.eye(40, dtype=bool)
    assert np.allclose(costs[same & off], 1.0) and np.allclose(costs[~same], -1.0)
    labels = corrclust.solve(costs, method="kl").labels
    assert metrics.variation_of_information(truth, labels)[0] == pytest.approx(0.0, abs=1e-12)


def test_bad_arguments():
    with pytest.raises(ValueError, match="positive"):
        planted_partition(0)
    with pytest.raises(ValueError, match="sigma"):
        planted_partition(5, sigma=float("nan"))
