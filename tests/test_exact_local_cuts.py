"""Local cuts of the exact solver (cpp/src/local_cut_separation.cpp; docs/exact.md, session 16).

Oracles: brute force over all set partitions of the node set (the inequality must hold for every
multicut and be tight for one), a known violated odd-wheel point, and the optimum of the solver
without local cuts / of brute force.
"""

from __future__ import annotations

import numpy as np
import pytest
from partitions import set_partitions

from corrclust._native import _core


def incidence(edges: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return (labels[edges[:, 0]] != labels[edges[:, 1]]).astype(float)


def random_graph(rng, n: int, p: float) -> np.ndarray:
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < p]
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


@pytest.mark.parametrize("seed", range(8))
def test_local_cuts_are_valid_and_tight_for_every_multicut(seed):
    rng = np.random.default_rng(1700 + seed)
    n = 6 + seed % 3
    edges = random_graph(rng, n, 0.7)
    chis = np.array([incidence(edges, lab) for lab in set_partitions(n)])
    found = 0
    for _ in range(6):
        # Points from the cube, and mixtures of multicuts (inside the polytope: never cut off).
        y = rng.choice([0.0, 1 / 3, 0.5, 2 / 3, 1.0], size=len(edges))
        cut = _core.exact.local_cut(n, edges, y, list(range(n)))
        if cut is not None:
            found += 1
            a = np.zeros(len(edges))
            a[cut["edges"]] = cut["coefficients"]
            lhs = chis @ a
            assert lhs.max() <= cut["rhs"] + 1e-9  # valid for every multicut of the graph
            assert lhs.max() == pytest.approx(cut["rhs"], abs=1e-9)  # and tight for one
            assert a @ y - cut["rhs"] == pytest.approx(cut["violation"], abs=1e-9)
            assert cut["violation"] > 1e-6
            assert np.all(np.abs(a) <= 1 + 1e-9)
        w = rng.dirichlet(np.ones(4))
        inside = w @ chis[rng.choice(len(chis), size=4, replace=False)]
        assert _core.exact.local_cut(n, edges, inside, list(range(n))) is None
    assert found >= 1


def test_local_cut_on_a_subset_is_valid_for_the_whole_graph():
    # A node set S of a larger graph: the cut lives on the edges of G[S] and holds for every
    # multicut of G (a multicut of G restricts to one of G[S]).
    rng = np.random.default_rng(17)
    n = 8
    edges = random_graph(rng, n, 0.6)
    chis = np.array([incidence(edges, lab) for lab in set_partitions(n)])
    hits = 0
    for _ in range(30):
        y = rng.random(len(edges))
        nodes = sorted(rng.choice(n, size=6, replace=False).tolist())
        cut = _core.exact.local_cut(n, edges, y, nodes)
        if cut is None:
            continue
        hits += 1
        assert all(int(edges[e, 0]) in nodes and int(edges[e, 1]) in nodes for e in cut["edges"])
        a = np.zeros(len(edges))
        a[cut["edges"]] = cut["coefficients"]
        assert (chis @ a).max() <= cut["rhs"] + 1e-9
    assert hits >= 5


def test_local_cut_separates_the_odd_wheel_point():
    # Hub 0 and a 5-ring: spokes y = 1/2, rim y = 1 satisfies every cycle inequality but violates the
    # wheel inequality sum(rim) - sum(spokes) <= 2 by 1/2; the separation LP (coefficients in
    # [-1, 1]) finds a cut at least that violated.
    k = 5
    edges = np.array(
        [(0, i) for i in range(1, k + 1)] + [(min(i, i % k + 1), max(i, i % k + 1)) for i in range(1, k + 1)],
        dtype=np.int64,
    )
    y = np.array([0.5] * k + [1.0] * k)
    cut = _core.exact.local_cut(k + 1, edges, y, list(range(k + 1)))
    assert cut is not None and cut["violation"] >= 0.5 - 1e-9
    # A 4-wheel is not an odd wheel: its all-1/2-spokes point is a mixture of multicuts.
    edges4 = np.array([(0, i) for i in range(1, 5)] + [(1, 2), (2, 3), (3, 4), (1, 4)], dtype=np.int64)
    assert _core.exact.local_cut(5, edges4, np.array([0.5] * 4 + [1.0] * 4), range(5)) is None


@pytest.mark.parametrize("seed", range(4))
def test_row_generation_finds_the_distance_of_the_full_lp(seed):
    # The violation found is the L1 distance of y_S to the multicut polytope of G[S] (the optimum of
    # the partition LP); row generation over the partitions must reach the same optimum as the LP
    # with every partition (sets of 7-9 nodes: the full LP of 10 nodes can pass its 1 s limit).
    rng = np.random.default_rng(3700 + seed)
    found = 0
    for trial in range(8):
        n = 7 + (seed + trial) % 3
        edges = random_graph(rng, n, 0.5)
        y = rng.choice([0.0, 0.25, 0.5, 2 / 3, 1.0], size=len(edges))
        full = _core.exact.local_cut(n, edges, y, list(range(n)), row_generation=False)
        rowgen = _core.exact.local_cut(n, edges, y, list(range(n)), row_generation=True)
        assert (full is None) == (rowgen is None)
        if full is not None:
            found += 1
            assert rowgen["violation"] == pytest.approx(full["violation"], abs=1e-7)
    assert found >= 2


def test_local_cut_rejects_bad_node_sets():
    edges = np.array([(0, 1), (1, 2), (0, 2)], dtype=np.int64)
    y = np.full(3, 0.5)
    for nodes in ([0, 1], [0, 1, 1], [0, 1, 5]):
        with pytest.raises(ValueError):
            _core.exact.local_cut(3, edges, y, nodes)


@pytest.mark.parametrize("seed", range(6))
def test_local_cuts_keep_the_optimum(seed):
    # Random sparse graphs: with local cuts at the root and in the tree the solver proves the same
    # optimum as brute force.
    rng = np.random.default_rng(2700 + seed)
    n = 9
    edges = random_graph(rng, n, 0.55)
    costs = rng.normal(size=len(edges))
    best = min(float(costs @ incidence(edges, lab)) for lab in set_partitions(n))
    opts = _core.exact.ExactOptions(
        heuristic="none",
        reduce=False,
        local_cuts=True,
        tree_local_cuts=True,
        local_cut_min_size=5,
        local_cut_max_size=7,
        local_cut_growth=seed % 3,
        local_cut_row_generation=seed < 3,
    )
    r = _core.exact.solve_sparse(n, edges, costs, options=opts)
    assert r["status"] == "optimal"
    assert r["objective"] == pytest.approx(best, abs=1e-9)
    assert float(costs @ incidence(edges, np.asarray(r["labels"]))) == pytest.approx(best, abs=1e-9)


def test_local_cut_options_are_checked():
    for bad in (
        dict(local_cut_min_size=2),
        dict(local_cut_max_size=11),
        dict(local_cut_min_size=8, local_cut_max_size=7),
        dict(local_cut_sets=0),
        dict(local_cut_growth=3),
    ):
        with pytest.raises(ValueError):
            _core.exact.solve_sparse(
                3,
                np.array([(0, 1)], dtype=np.int64),
                np.array([1.0]),
                options=_core.exact.ExactOptions(**bad),
            )
