"""The sparse GAEC against a plain reference implementation, label for label.

The C++ sparse GAEC keeps pair records, per-cluster hash tables and an addressable heap; the
reference below is the rule of docs/solvers.md written as directly as possible (a dict per
cluster, a full scan for the best pair at every step), so the two share no code or data
structure. They must agree exactly: the same contractions in the same order give the same
labels. The rule:

* contract the pair of adjacent clusters with the largest summed cost while it is >= 0;
* ties go to the lexicographically smallest (lower id, higher id) pair;
* the cluster with more neighbouring clusters survives and keeps its id; with equally many, the
  lower id survives;
* with a warm start, its clusters (numbered by first appearance) are the initial clusters.

Costs are multiples of 1/8, so every sum is exact whatever the order of additions, and equal
values (ties, zeros) are frequent.
"""

from __future__ import annotations

import numpy as np
import pytest

from corrclust._native import _core


def first_appearance(labels) -> np.ndarray:
    seen: dict = {}
    return np.array([seen.setdefault(int(x), len(seen)) for x in labels], dtype=np.int64)


def reference_gaec(n: int, edges: np.ndarray, costs: np.ndarray, start=None) -> np.ndarray:
    cluster = first_appearance(start) if start is not None else np.arange(n)
    k = int(cluster.max()) + 1 if n else 0
    adj: list[dict[int, float]] = [{} for _ in range(k)]
    for (u, v), c in zip(edges.tolist(), costs.tolist(), strict=False):
        a, b = int(cluster[u]), int(cluster[v])
        if a != b:
            adj[a][b] = adj[a].get(b, 0.0) + c
            adj[b][a] = adj[b].get(a, 0.0) + c
    owner = list(range(k))  # initial cluster -> current cluster
    while True:
        best = None
        for a in range(k):
            for b, w in adj[a].items():
                if a < b and w >= 0.0 and (best is None or (-w, a, b) < (-best[0], best[1], best[2])):
                    best = (w, a, b)
        if best is None:
            break
        _, s, d = best
        if len(adj[d]) > len(adj[s]):
            s, d = d, s
        del adj[s][d], adj[d][s]
        for x, w in adj[d].items():
            del adj[x][d]
            adj[s][x] = adj[s][x] + w if x in adj[s] else w
            adj[x][s] = adj[s][x]
        adj[d] = {}
        owner = [s if o == d else o for o in owner]
    return first_appearance([owner[c] for c in cluster])


def random_graph(rng, n: int, density: float, parallel: bool):
    iu, ju = np.triu_indices(n, 1)
    keep = rng.random(len(iu)) < density
    edges = np.stack([iu[keep], ju[keep]], 1).astype(np.int64)
    if parallel and len(edges):  # repeat some edges, in either orientation, in shuffled order
        extra = edges[rng.random(len(edges)) < 0.3]
        edges = np.concatenate([edges, extra[:, ::-1], extra])
        flip = rng.random(len(edges)) < 0.5
        edges[flip] = edges[flip][:, ::-1]
        edges = edges[rng.permutation(len(edges))]
    costs = rng.integers(-16, 13, len(edges)) / 8.0  # ties and zeros, exact sums
    return np.ascontiguousarray(edges), costs


CASES = [(seed, warm) for seed in range(24) for warm in (False, True)]


@pytest.mark.parametrize("seed,warm", CASES)
def test_sparse_gaec_matches_reference(seed, warm):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    edges, costs = random_graph(rng, n, float(rng.uniform(0.03, 0.5)), parallel=seed % 3 == 0)
    start = rng.integers(0, max(1, n // 3), n) if warm else None
    r = _core.heuristics.solve_sparse(n, edges, costs, "gaec", warm_start=start)
    expected = reference_gaec(n, edges, costs, start)
    np.testing.assert_array_equal(r["labels"], expected)
    assert r["objective"] == _core.problem.objective_sparse(n, edges, costs, expected)


def test_sparse_gaec_matches_reference_on_a_grid():
    """Large clusters absorbing many small ones (the survivor rule and table growth at work)."""
    rng = np.random.default_rng(5)
    side = 14
    idx = np.arange(side * side).reshape(side, side)
    edges = np.concatenate(
        [
            np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], 1),
            np.stack([idx[:-1].ravel(), idx[1:].ravel()], 1),
        ]
    ).astype(np.int64)
    costs = rng.integers(-8, 17, len(edges)) / 8.0
    r = _core.heuristics.solve_sparse(side * side, edges, costs, "gaec")
    np.testing.assert_array_equal(r["labels"], reference_gaec(side * side, edges, costs))
    assert r["labels"].max() + 1 < side * side // 4  # it did contract a lot


def test_sparse_gaec_continuous_costs_match_reference():
    """Gaussian costs on sorted unique edges: the C++ code sums in edge order like the reference."""
    for seed in range(6):
        rng = np.random.default_rng(100 + seed)
        n = 50
        edges, _ = random_graph(rng, n, 0.15, parallel=False)
        costs = rng.normal(0.2, 1.0, len(edges))
        for start in (None, rng.integers(0, 12, n)):
            r = _core.heuristics.solve_sparse(n, edges, costs, "gaec", warm_start=start)
            np.testing.assert_array_equal(r["labels"], reference_gaec(n, edges, costs, start))


def test_edge_order_and_parallel_edges_do_not_matter():
    """The graph build takes sorted input as it is and sorts anything else (flipped, shuffled,
    split into parallel parts): the same graph, so the same GAEC and KL results."""
    rng = np.random.default_rng(7)
    n = 80
    edges, costs = random_graph(rng, n, 0.1, parallel=False)  # sorted, unique, u < v
    split = rng.integers(-8, 9, len(costs)) / 8.0  # exact parts: costs = (costs - split) + split
    messy_edges = np.concatenate([edges, edges[:, ::-1]])
    messy_costs = np.concatenate([costs - split, split])
    order = rng.permutation(len(messy_costs))
    messy_edges, messy_costs = np.ascontiguousarray(messy_edges[order]), messy_costs[order]
    for method in ("gaec", "kl"):
        a = _core.heuristics.solve_sparse(n, edges, costs, method)
        b = _core.heuristics.solve_sparse(n, messy_edges, messy_costs, method)
        np.testing.assert_array_equal(a["labels"], b["labels"])
        assert a["objective"] == b["objective"]
