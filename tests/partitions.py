"""Small random graphs and brute force over their set partitions, shared by the sparse solver tests."""

from __future__ import annotations

import numpy as np


def brute_force_sparse(n: int, edges: np.ndarray, costs: np.ndarray) -> float:
    """Optimum over all set partitions of n <= 9 nodes (restricted growth strings)."""
    best = np.inf

    def rec(i: int, labels: list[int], k: int) -> None:
        nonlocal best
        if i == n:
            lab = np.array(labels)
            best = min(best, float(costs[lab[edges[:, 0]] != lab[edges[:, 1]]].sum()))
            return
        for c in range(k + 1):
            labels.append(c)
            rec(i + 1, labels, max(k, c + 1))
            labels.pop()

    rec(0, [], 0)
    return best


def set_partitions(n: int):
    """All set partitions of range(n) as restricted growth strings."""
    a = [0] * n

    def rec(i: int, k: int):
        if i == n:
            yield np.array(a)
            return
        for v in range(k + 1):
            a[i] = v
            yield from rec(i + 1, max(k, v + 1))

    if n == 0:
        yield np.zeros(0, dtype=int)
    else:
        yield from rec(1, 1)


def random_edges(rng: np.random.Generator, n: int, density: float) -> np.ndarray:
    """Each of the n (n - 1) / 2 pairs i < j an edge with probability ``density`` (one draw per pair)."""
    pairs = np.array([(i, j) for i in range(n) for j in range(i + 1, n)])
    return pairs[rng.random(len(pairs)) < density].astype(np.int64)
