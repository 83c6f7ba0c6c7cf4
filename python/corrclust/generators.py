"""Synthetic correlation-clustering instances with a known planted partition.

Used by the benchmarks and tests, and by anyone who wants to try a solver on data with a known
answer. The model is the one of ``solver-notes.md`` §4: nodes fall uniformly into ``k`` planted
clusters, and the pair (i, j) gets the probability ``p = sigmoid(y + sigma * eps)`` of being in one
cluster, with ``y = +1`` for a planted pair, ``-1`` otherwise and ``eps ~ N(0, 1)``; the cost is
``logit(p)`` with ``p`` clipped to ``[1e-6, 1 - 1e-6]`` (the twin-network cost construction).
The share of pairs whose cost sign disagrees with the planted partition is P(N(0, 1) > 1 / sigma):
about 2 %, 16 %, 25 % and 37 % for sigma = 0.5, 1.0, 1.5 and 3.0. The heuristics benchmark calls
sigma = 1.5 "clean" and sigma = 3 "noisy"; the exact benchmark names its rows by sigma.

``supervoxel_multicut`` makes sparse instances like the OpenGM ``knott-3d`` ones (a 3-D supervoxel
adjacency graph with a planted segmentation), for sizes the shared instances do not cover.
"""

from __future__ import annotations

import numpy as np

__all__ = ["planted_partition", "planted_embeddings", "supervoxel_multicut"]


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


def planted_embeddings(
    n: int, d: int = 32, class_size: int = 10, noise: float = 0.5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Feature vectors with planted classes: ``(X, truth)``, X ``(n, d)`` float64.

    ``round(n / class_size)`` class centres are drawn from N(0, I_d); the rows are spread over the
    classes evenly (sizes differ by at most one, order shuffled) and each row is its centre plus
    N(0, noise^2 I_d). With the defaults a row lies about ``noise * sqrt(2 d)`` = 4 from the rows of
    its class and about ``sqrt(2 d)`` = 8 from other centres. ``class_size`` near the neighbourhood
    of the label-free cost rule (tens) is what that rule recovers (it cuts larger classes into
    neighbourhood-sized clusters; see :mod:`corrclust.feature_costs`).
    """
    if n < 1 or d < 1 or class_size < 1:
        raise ValueError(f"n, d and class_size must be positive, got n={n}, d={d}, class_size={class_size}")
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite non-negative number, got {noise}")
    rng = np.random.default_rng(seed)
    classes = max(1, int(round(n / class_size)))
    truth = rng.permutation(np.arange(n) % classes).astype(np.int64)
    centres = rng.normal(size=(classes, d))
    return centres[truth] + noise * rng.normal(size=(n, d)), truth


def supervoxel_multicut(
    n: int = 4000,
    seed: int = 0,
    *,
    voxels_per_node: int = 60,
    nodes_per_segment: int = 20,
    beta: float = 0.8,
    tau: float = 0.6,
    sigma: float = 1.5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A sparse multicut instance like the OpenGM ``knott-3d`` ones, with a planted segmentation.

    A cubic volume of about ``n * voxels_per_node`` voxels is split into ``n`` supervoxels (the
    Voronoi cells of random seeds); supervoxels are grouped into planted segments (about
    ``nodes_per_segment`` each, by the Voronoi cells of coarser seeds), so that the
    oversegmentation respects every true boundary, as a good supervoxel method does. Two
    supervoxels are adjacent when they share voxel faces; with ``a`` shared faces, ``s = +1``
    inside a segment and ``-1`` across, the cost is the log-odds of "no boundary" accumulated over
    the contact, ``sqrt(a) * (beta * s + tau * z1) + sigma * z2`` with ``z1, z2 ~ N(0, 1)`` per edge
    (weak or spurious membranes through tau, a noisy detector through sigma). Positive costs
    attract. Supervoxels that received no voxel are dropped, so the node count can fall a little
    short of ``n``.

    Returns ``(edges, costs, truth)``: int64 (m, 2) with u < v sorted, float64 (m,), and the planted
    segment of every node. docs/exact.md compares its statistics with gm_knott_3d_032 and 034.
    """
    from scipy.spatial import cKDTree

    if n < 2 or voxels_per_node < 1 or nodes_per_segment < 1:
        raise ValueError(
            f"need n >= 2, voxels_per_node >= 1, nodes_per_segment >= 1, got {n}, "
            f"{voxels_per_node}, {nodes_per_segment}"
        )
    for name, value in (("beta", beta), ("tau", tau), ("sigma", sigma)):
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite non-negative number, got {value}")
    rng = np.random.default_rng(seed)
    side = max(4, int(round((n * voxels_per_node) ** (1 / 3))))
    grid = np.stack(np.meshgrid(*(np.arange(side),) * 3, indexing="ij"), axis=-1).reshape(-1, 3) + 0.5
    seeds = rng.uniform(0, side, size=(n, 3))
    node = cKDTree(seeds).query(grid)[1].reshape(side, side, side)
    used, node = np.unique(node, return_inverse=True)
    node = node.reshape(side, side, side)
    segments = max(1, len(used) // nodes_per_segment)
    truth = cKDTree(rng.uniform(0, side, size=(segments, 3))).query(seeds[used])[1].astype(np.int64)

    # Adjacent supervoxel pairs and their contact areas (shared voxel faces).
    pairs = []
    for axis in range(3):
        a = np.moveaxis(node, axis, 0)
        lo, hi = a[:-1].ravel(), a[1:].ravel()
        keep = lo != hi
        pairs.append(np.stack([np.minimum(lo[keep], hi[keep]), np.maximum(lo[keep], hi[keep])], axis=1))
    edges, area = np.unique(np.concatenate(pairs), axis=0, return_counts=True)
    same = np.where(truth[edges[:, 0]] == truth[edges[:, 1]], 1.0, -1.0)
    z1, z2 = rng.normal(size=(2, len(edges)))
    costs = np.sqrt(area) * (beta * same + tau * z1) + sigma * z2
    return edges.astype(np.int64), costs.astype(np.float64), truth
