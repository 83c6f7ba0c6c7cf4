"""Synthetic correlation-clustering instances with a known planted partition.

Used by the benchmarks and tests, and by anyone who wants to try a solver on data with a known
answer. The model is the one of ``solver-notes.md`` §4: nodes fall uniformly into ``k`` planted
clusters, and the pair (i, j) gets the probability ``p = sigmoid(y + sigma * eps)`` of being in one
cluster, with ``y = +1`` for a planted pair, ``-1`` otherwise and ``eps ~ N(0, 1)``; the cost is
``logit(p)`` with ``p`` clipped to ``[1e-6, 1 - 1e-6]`` (the twin-network cost construction).
``sigma = 1.5`` is called clean and ``sigma = 3`` noisy.
"""

from __future__ import annotations

import numpy as np

__all__ = ["planted_partition"]


def planted_partition(
    n: int, k: int = 10, sigma: float = 1.5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A dense n x n cost matrix (C-contiguous float64, zero diagonal) and the planted labels."""
    if n < 1 or k < 1:
        raise ValueError(f"n and k must be positive, got n={n}, k={k}")
    if not np.isfinite(sigma) or sigma < 0:
        raise ValueError(f"sigma must be a finite non-negative number, got {sigma}")
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, size=n)
    y = np.where(truth[:, None] == truth[None, :], 1.0, -1.0)
    eps = np.triu(rng.normal(size=(n, n)), 1)
    eps = eps + eps.T
    p = np.clip(1.0 / (1.0 + np.exp(-(y + sigma * eps))), 1e-6, 1 - 1e-6)
    costs = np.log(p / (1 - p))
    np.fill_diagonal(costs, 0.0)
    return np.ascontiguousarray(costs), truth
