"""Candidate pairs: the exact blockwise kNN against brute force, and the kNN graph's unique pairs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from corrclust.candidates import candidate_edges, exact_knn, exact_knn_block


def brute_force(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Every distance, self excluded, ranked by (distance, index)."""
    D = cdist(X, X)
    np.fill_diagonal(D, np.inf)
    order = np.lexsort((np.broadcast_to(np.arange(len(X)), D.shape), D), axis=-1)[:, :k]
    return order, np.take_along_axis(D, order, axis=1)


@pytest.fixture
def points() -> np.ndarray:
    X = np.random.default_rng(3).normal(size=(300, 6))
    X[11] = X[40]  # duplicates: a tie at distance 0, broken by the index
    X[77] = X[40]
    return X


@pytest.mark.parametrize("block_bytes", [8 * 300 * 1, 8 * 300 * 37, 2**26])
def test_exact_knn_equals_brute_force_for_every_block_size(points: np.ndarray, block_bytes: int) -> None:
    want_i, want_d = brute_force(points, 9)
    got_i, got_d = exact_knn(points, 9, block_bytes=block_bytes)
    np.testing.assert_array_equal(got_i, want_i)
    np.testing.assert_allclose(got_d, want_d, rtol=0, atol=1e-12)
    assert got_i[40, :2].tolist() == [11, 77] and got_d[40, :2].tolist() == [0.0, 0.0]


def test_block_against_a_separate_base_keeps_every_row(points: np.ndarray) -> None:
    queries, base = points[:20], points[100:]
    idx, dist = exact_knn_block(queries, base, 4, query_offset=-1000)  # queries are not base rows
    D = cdist(queries, base)
    order = np.lexsort((np.broadcast_to(np.arange(len(base)), D.shape), D), axis=-1)[:, :4]
    np.testing.assert_array_equal(idx, order)
    assert idx.dtype == np.int64 and dist.dtype == np.float64


def test_block_rejects_a_k_the_base_cannot_give(points: np.ndarray) -> None:
    with pytest.raises(ValueError, match="k must be between 1 and 9"):
        exact_knn_block(points[:3], points[:10], 10, 0)


def test_candidate_edges_are_unique_symmetric_pairs(points: np.ndarray) -> None:
    idx, dist = brute_force(points, 5)
    uv, d = candidate_edges(idx, dist)
    assert (uv[:, 0] < uv[:, 1]).all()
    keys = uv[:, 0] * len(points) + uv[:, 1]
    assert np.all(np.diff(keys) > 0)  # sorted, each pair once
    want = {(min(i, int(j)), max(i, int(j))) for i in range(len(points)) for j in idx[i]}
    assert set(map(tuple, uv.tolist())) == want
    np.testing.assert_allclose(d, np.linalg.norm(points[uv[:, 0]] - points[uv[:, 1]], axis=1), atol=1e-12)


def test_candidate_edges_skip_missing_neighbours_and_self() -> None:
    idx = np.array([[1, -1], [0, 1], [0, 1]])
    dist = np.array([[0.5, np.inf], [0.4, 0.0], [2.0, 1.0]])
    uv, d = candidate_edges(idx, dist)
    assert uv.tolist() == [[0, 1], [0, 2], [1, 2]]
    assert d.tolist() == [0.4, 2.0, 1.0]  # the pair found from both ends keeps the smaller distance
