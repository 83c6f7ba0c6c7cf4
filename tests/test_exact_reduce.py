"""Persistency reductions of the exact solver (corrclust._core.exact.reduce_multicut, solve_exact_*).

Each rule claims that SOME optimal partition respects it. The oracle: brute force over all set
partitions of n <= 9 nodes, once unconstrained and once restricted to the partitions that keep
every contracted group together and separate every pair of independent parts; the two minima
must agree. The instance families are chosen so that each rule actually fires (asserted), so a
rule that never fires cannot pass vacuously.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_exact import set_partitions

from corrclust._native import _core

RULES = {
    "edges": dict(edge_joins=True, subset_joins=False, components=False),
    "subsets": dict(edge_joins=False, subset_joins=True, components=False),
    "components": dict(edge_joins=False, subset_joins=False, components=True),
    "all": dict(edge_joins=True, subset_joins=True, components=True),
}


def all_partitions(n: int) -> np.ndarray:
    return np.array(list(set_partitions(n)))


PARTS = {n: all_partitions(n) for n in range(2, 10)}


def objectives(parts: np.ndarray, edges: np.ndarray, costs: np.ndarray) -> np.ndarray:
    cut = parts[:, edges[:, 0]] != parts[:, edges[:, 1]]
    return (cut * costs).sum(axis=1)


def respects(parts: np.ndarray, red: dict) -> np.ndarray:
    """Partitions that join every contracted group and separate different independent parts."""
    node_of = red["node_of"]
    part_of = red["component"][node_of]
    ok = np.ones(len(parts), dtype=bool)
    n = len(node_of)
    for i in range(n):
        for j in range(i + 1, n):
            same = parts[:, i] == parts[:, j]
            if node_of[i] == node_of[j]:
                ok &= same
            elif part_of[i] != part_of[j]:
                ok &= ~same
    return ok


def random_instance(rng, n, density, kind):
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < density]
    if not pairs:
        pairs = [(0, 1)]
    edges = np.array(pairs, dtype=np.int64)
    m = len(edges)
    if kind == "heavy":  # a few dominant attractive edges among weak ones: edge rules fire
        costs = rng.normal(scale=0.5, size=m)
        heavy = rng.random(m) < 0.3
        costs[heavy] = rng.uniform(2, 6, size=heavy.sum())
    elif kind == "planted":  # strong clusters, weak noise: subset rule fires on the planted groups
        truth = rng.integers(0, 3, size=n)
        same = truth[edges[:, 0]] == truth[edges[:, 1]]
        costs = np.where(same, rng.uniform(1, 3, size=m), rng.uniform(-3, 0.3, size=m))
    elif kind == "sparse-signs":  # many repulsive edges: the positive graph falls apart
        costs = rng.normal(size=m) - 0.6
    else:  # integers with ties and zeros
        costs = rng.integers(-2, 3, size=m).astype(float)
    return edges, costs


def proposal(rng, n, edges, costs, kind):
    """Clusters proposed to the subset rule: the best partition (an optimum) or random ones."""
    if kind == "optimum":
        parts = PARTS[n]
        return parts[np.argmin(objectives(parts, edges, costs))].astype(np.int64)
    return rng.integers(0, 3, size=n).astype(np.int64)


@pytest.mark.parametrize("rule", list(RULES))
def test_each_rule_keeps_an_optimum(rule):
    rng = np.random.default_rng({"edges": 1, "subsets": 2, "components": 3, "all": 4}[rule])
    fired = 0
    for trial in range(60):
        n = int(rng.integers(4, 10))
        kind = ["heavy", "planted", "sparse-signs", "ints"][trial % 4]
        edges, costs = random_instance(rng, n, 0.6 if trial % 3 else 1.0, kind)
        clusters = proposal(rng, n, edges, costs, "optimum" if trial % 2 else "random")
        red = _core.exact.reduce_multicut(n, edges, costs, clusters=clusters, **RULES[rule])
        changed = red["n"] < n or red["component"].max(initial=0) > 0
        fired += changed
        parts = PARTS[n]
        values = objectives(parts, edges, costs)
        ok = respects(parts, red)
        assert ok.any()
        assert values[ok].min() == pytest.approx(values.min(), abs=1e-9), (trial, rule)
        # The contracted graph scores every respecting partition like the original graph.
        red_parts = np.zeros_like(parts[ok][:, : max(red["n"], 1)])
        red_parts[:, red["node_of"]] = parts[ok]
        if len(red["costs"]):
            red_values = objectives(red_parts, red["edges"], red["costs"])
            assert np.allclose(red_values, values[ok], atol=1e-9)
    assert fired >= 10, f"rule {rule} fired on only {fired} of 60 instances"


def test_rules_on_hand_made_cases():
    # Dominant edge: c(0,1) = 5 outweighs everything else at node 0 (|2| + |1| = 3 <= 5).
    edges = np.array([[0, 1], [0, 2], [0, 3], [1, 2], [2, 3]])
    costs = np.array([5.0, 2.0, -1.0, -4.0, 3.0])
    red = _core.exact.reduce_multicut(4, edges, costs, **RULES["edges"])
    assert red["node_of"][0] == red["node_of"][1]
    # Components: node 3 has only repulsive edges, so it is a part of its own.
    edges = np.array([[0, 1], [1, 2], [2, 3], [0, 3]])
    costs = np.array([1.0, 1.0, -1.0, -2.0])
    red = _core.exact.reduce_multicut(4, edges, costs, **RULES["components"])
    comp = red["component"][red["node_of"]]
    assert comp[0] == comp[1] == comp[2] != comp[3]
    # Subset rule: an inner triangle of weight-2 edges (min cut 4) whose positive boundary is 3
    # (three spokes of weight 1 to an outer triangle of weight 1.5) is joined, although neither
    # edge rule applies anywhere (e.g. node 0: 2 * 2 < |2| + |2| + |1|, pair 3 * 2 < 5 + 5).
    edges = np.array([[0, 1], [0, 2], [1, 2], [0, 3], [1, 4], [2, 5], [3, 4], [4, 5], [3, 5]])
    costs = np.array([2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.5, 1.5, 1.5])
    labels = np.array([0, 0, 0, 1, 2, 3])
    assert _core.exact.reduce_multicut(6, edges, costs, clusters=labels, **RULES["edges"])["n"] == 6
    red = _core.exact.reduce_multicut(6, edges, costs, clusters=labels, **RULES["subsets"])
    assert red["subset_joins"] == 1 and len(set(red["node_of"][:3])) == 1 and red["n"] == 4
    # ... and is refused when the boundary (spokes of weight 2: 6) outweighs the min cut (4).
    costs2 = costs.copy()
    costs2[3:6] = 2.0
    red = _core.exact.reduce_multicut(6, edges, costs2, clusters=labels, **RULES["subsets"])
    assert red["subset_joins"] == 0 and red["n"] == 6


@pytest.mark.parametrize("seed", range(8))
def test_solver_with_reductions_equals_brute_force(seed):
    rng = np.random.default_rng(500 + seed)
    n = 9
    kind = ["heavy", "planted", "sparse-signs", "ints"][seed % 4]
    edges, costs = random_instance(rng, n, 0.7, kind)
    best = objectives(PARTS[n], edges, costs).min()
    r = _core.exact.solve_sparse(n, edges, costs)
    assert r["status"] == "optimal"
    assert r["objective"] == pytest.approx(best, abs=1e-9)
    assert r["lower_bound"] == pytest.approx(best, abs=1e-6)
    # dense input takes the same path (contracted parts solved as dense matrices)
    C = np.zeros((n, n))
    for (a, b), c in zip(edges, costs, strict=False):
        C[a, b] += c
        C[b, a] += c
    rd = _core.exact.solve_dense(C)
    assert rd["status"] == "optimal" and rd["objective"] == pytest.approx(best, abs=1e-9)


def test_reductions_split_and_report_statistics():
    from corrclust.generators import planted_partition

    C, truth = planted_partition(60, k=6, sigma=0.5, seed=3)
    on = _core.exact.solve_dense(C)
    off = _core.exact.solve_dense(C, options=_core.exact.ExactOptions(reduce=False))
    assert on["status"] == off["status"] == "optimal"
    assert on["objective"] == pytest.approx(off["objective"], abs=1e-9)
    assert on["reduced_nodes"] < 60 and on["subset_joins"] >= 1
    assert off["reduced_nodes"] == -1


def test_parts_under_a_time_limit_and_to_optimality():
    from corrclust.generators import supervoxel_multicut

    edges, costs, truth = supervoxel_multicut(1500, seed=3)
    n = len(truth)
    full = _core.exact.solve_sparse(
        n, edges, costs, time_limit=120, options=_core.exact.ExactOptions(heuristic_time=0.1)
    )
    assert full["status"] == "optimal" and full["components"] > 1
    capped = _core.exact.solve_sparse(
        n, edges, costs, time_limit=0.3, options=_core.exact.ExactOptions(heuristic_time=0.1)
    )
    for r in (full, capped):
        labels = r["labels"]
        assert r["objective"] == pytest.approx(
            costs[labels[edges[:, 0]] != labels[edges[:, 1]]].sum(), abs=1e-7
        )
        assert r["lower_bound"] <= full["objective"] + 1e-6 <= r["objective"] + 2e-6
    assert capped["status"] in ("time_limit", "optimal")
    # the same optimum without reductions
    plain = _core.exact.solve_sparse(
        n, edges, costs, time_limit=120, options=_core.exact.ExactOptions(heuristic_time=0.1, reduce=False)
    )
    assert plain["objective"] == pytest.approx(full["objective"], abs=1e-6)


def test_supervoxel_generator_is_seeded_and_valid():
    from corrclust.generators import supervoxel_multicut

    e1, c1, t1 = supervoxel_multicut(500, seed=7)
    e2, c2, t2 = supervoxel_multicut(500, seed=7)
    assert np.array_equal(e1, e2) and np.array_equal(c1, c2) and np.array_equal(t1, t2)
    assert e1.dtype == np.int64 and (e1[:, 0] < e1[:, 1]).all()
    assert len(np.unique(e1, axis=0)) == len(e1) and e1.max() < len(t1)
    # attractive edges mostly inside planted segments, repulsive ones mostly across
    same = t1[e1[:, 0]] == t1[e1[:, 1]]
    assert (c1[same] > 0).mean() > 0.7 and (c1[~same] < 0).mean() > 0.7
    with pytest.raises(ValueError, match="sigma"):
        supervoxel_multicut(100, sigma=float("nan"))


def test_progress_over_parts_reports_valid_bounds():
    from corrclust.generators import supervoxel_multicut

    edges, costs, truth = supervoxel_multicut(1500, seed=3)
    seen = []
    r = _core.exact.solve_sparse(
        len(truth), edges, costs, progress=seen.append, options=_core.exact.ExactOptions(heuristic_time=0.1)
    )
    assert r["status"] == "optimal" and r["components"] > 1 and seen
    for d in seen:  # whole-problem values: never below the optimum / above it for the bound
        assert d["lower_bound"] <= r["objective"] + 1e-6
        assert d["objective"] >= r["objective"] - 1e-6
