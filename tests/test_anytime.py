"""The anytime solver's two stopping regimes (issue 17, item 1).

With a time limit it keeps improving until the limit (exact fusion once stalled) and never returns
worse than its GAEC + KL start; without one it stops by its round counts and is deterministic for a
seed. Every objective is checked against a numpy recomputation from the labels.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from interrupts import interrupt_delay
from partitions import brute_force_sparse, random_edges

import corrclust
from corrclust.generators import planted_partition, supervoxel_multicut

# Polling tolerance of a time limit: the control is read every few tens of microseconds of work, the
# exact fusion's child control every 50 ms; the rest is slack for a loaded 2-core machine.
LATE = 3.0


def objective(edges: np.ndarray, costs: np.ndarray, labels: np.ndarray) -> float:
    """Sum of the costs of the cut edges, independently of the core."""
    labels = np.asarray(labels)
    return float(costs[labels[edges[:, 0]] != labels[edges[:, 1]]].sum())


def dense_objective(costs: np.ndarray, labels: np.ndarray) -> float:
    labels = np.asarray(labels)
    cut = labels[:, None] != labels[None, :]
    return float(np.triu(costs * cut, 1).sum())


@pytest.fixture(scope="module")
def supervoxel():
    edges, costs, truth = supervoxel_multicut(1200, seed=5, sigma=3.0)
    return len(truth), edges, costs


def test_with_a_limit_it_runs_until_the_limit_and_never_loses_its_start(supervoxel):
    n, edges, costs = supervoxel
    problem = corrclust.Problem.from_edges(n, edges, costs)
    start = corrclust.solve(problem, method="kl")  # the GAEC + KL incumbent the anytime solver starts from
    # the stall rule alone ends this run early: the regime the limit must override
    stall = corrclust.solve(
        problem, method="anytime", time_limit=60.0, options=corrclust.AnytimeOptions(until_time_limit=False)
    )
    assert stall.status == "heuristic" and stall.runtime < 60.0
    limit = 2.0
    t0 = time.perf_counter()
    r = corrclust.solve(problem, method="anytime", time_limit=limit, seed=1)
    wall = time.perf_counter() - t0
    assert r.status == "time_limit"
    assert r.runtime >= limit
    assert limit <= wall < limit + LATE
    assert r.objective == pytest.approx(objective(edges, costs, r.labels), abs=1e-7)
    assert r.objective <= start.objective + 1e-9
    # the same without exact fusion: also until the limit, also never worse than the start
    kl_only = corrclust.solve(
        problem,
        method="anytime",
        time_limit=limit,
        seed=1,
        options=corrclust.AnytimeOptions(exact_fusion=False),
    )
    assert kl_only.status == "time_limit" and kl_only.runtime >= limit
    assert kl_only.objective == pytest.approx(objective(edges, costs, kl_only.labels), abs=1e-7)
    assert kl_only.objective <= start.objective + 1e-9


def test_dense_with_a_limit_runs_until_the_limit():
    costs = planted_partition(150, k=6, sigma=3.0, seed=2)[0]
    start = corrclust.solve(costs, method="kl")
    t0 = time.perf_counter()
    r = corrclust.solve(costs, method="anytime", time_limit=1.0, seed=3)
    wall = time.perf_counter() - t0
    assert r.status == "time_limit" and r.runtime >= 1.0 and wall < 1.0 + LATE
    assert r.objective == pytest.approx(dense_objective(costs, r.labels), abs=1e-7)
    assert r.objective <= start.objective + 1e-9


def test_warm_start_is_never_lost_under_a_limit(supervoxel):
    n, edges, costs = supervoxel
    problem = corrclust.Problem.from_edges(n, edges, costs)
    best = corrclust.solve(problem, method="anytime", time_limit=1.5, seed=0)
    again = corrclust.solve(problem, method="anytime", time_limit=0.5, seed=9, warm_start=best.labels)
    assert again.objective <= best.objective + 1e-9
    assert again.objective == pytest.approx(objective(edges, costs, again.labels), abs=1e-7)


def test_exact_fusion_reaches_the_proven_optimum():
    edges, costs, truth = supervoxel_multicut(400, seed=3, sigma=3.0)
    problem = corrclust.Problem.from_edges(len(truth), edges, costs)
    opt = corrclust.solve(problem, method="exact", time_limit=120.0)
    assert opt.status == "optimal"
    r = corrclust.solve(problem, method="anytime", time_limit=5.0, seed=0)
    assert r.objective == pytest.approx(opt.objective, abs=1e-6)
    assert r.objective == pytest.approx(objective(edges, costs, r.labels), abs=1e-7)


@pytest.mark.parametrize("n, seed", [(400, 5), (600, 4)])
def test_a_limit_never_ends_worse_than_the_no_limit_run_of_the_seed(n, seed):
    # until the first stall the timed run repeats the no-limit run round for round (that run takes
    # well under a second here), then it only adds improvements
    edges, costs, truth = supervoxel_multicut(n, seed=seed, sigma=3.0)
    problem = corrclust.Problem.from_edges(len(truth), edges, costs)
    free = corrclust.solve(problem, method="anytime", seed=2)
    timed = corrclust.solve(problem, method="anytime", seed=2, time_limit=3.0)
    assert free.status == "heuristic" and timed.status == "time_limit"
    assert timed.objective <= free.objective + 1e-9
    assert timed.objective == pytest.approx(objective(edges, costs, timed.labels), abs=1e-7)


def test_no_limit_is_deterministic_for_a_seed(supervoxel):
    n, edges, costs = supervoxel
    problem = corrclust.Problem.from_edges(n, edges, costs)
    a = corrclust.solve(problem, method="anytime", seed=11)
    b = corrclust.solve(problem, method="anytime", seed=11)
    assert a.status == b.status == "heuristic"
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.objective == b.objective == pytest.approx(objective(edges, costs, a.labels), abs=1e-7)
    assert a.iterations == b.iterations
    dense = planted_partition(120, k=5, sigma=3.0, seed=4)[0]
    c = corrclust.solve(dense, method="anytime", seed=2)
    d = corrclust.solve(dense, method="anytime", seed=2)
    np.testing.assert_array_equal(c.labels, d.labels)
    assert c.objective == pytest.approx(dense_objective(dense, c.labels), abs=1e-7)


def test_options_are_checked():
    with pytest.raises(ValueError, match="exact_fusion_share"):
        corrclust.solve(
            np.zeros((3, 3)), method="anytime", options=corrclust.AnytimeOptions(exact_fusion_share=0.0)
        )
    o = corrclust.AnytimeOptions(until_time_limit=False, exact_fusion=False, exact_fusion_share=0.5)
    assert (o.until_time_limit, o.exact_fusion, o.exact_fusion_share) == (False, False, 0.5)


def test_ctrl_c_stops_a_timed_run_promptly_also_inside_exact_fusion():
    setup = """
        import corrclust
        from corrclust.generators import supervoxel_multicut
        edges, costs, truth = supervoxel_multicut(1200, seed=5, sigma=3.0)
        p = corrclust.Problem.from_edges(len(truth), edges, costs)
        """
    call = 'corrclust.solve(p, method="anytime", time_limit=120)'
    # 3 s: past the starts and the first stalled rounds, exact fusion is running
    assert interrupt_delay(setup, call, wait=3.0, timeout=60) < 1.0


# ----------------------------------------------------------------------------------------------
# Window rounds (AnytimeOptions.window_nodes): each round re-solves one region of the graph with the
# rest held fixed (cpp/src/window_search.cpp)


def noisy_grid(side: int, seed: int) -> tuple[int, np.ndarray, np.ndarray]:
    """A side x side grid with +-1 costs of two planted halves plus unit Gaussian noise."""
    rng = np.random.default_rng(seed)
    idx = np.arange(side * side).reshape(side, side)
    edges = np.concatenate(
        [
            np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], axis=1),
            np.stack([idx[:-1, :].ravel(), idx[1:, :].ravel()], axis=1),
        ]
    ).astype(np.int64)
    half = (idx % side) < side // 2
    same = np.where(half.ravel()[edges[:, 0]] == half.ravel()[edges[:, 1]], 1.0, -1.0)
    return side * side, edges, same + rng.normal(size=len(edges))


@pytest.mark.parametrize("seed", range(6))
def test_window_rounds_against_brute_force(seed):
    # nine nodes, windows of three or four: every round re-solves a part of the graph with the rest
    # fixed; the result is a valid labelling, never worse than its (random) start, never below the
    # optimum, and its objective is the recomputed one
    rng = np.random.default_rng(300 + seed)
    n = 9
    edges = random_edges(rng, n, 0.5)
    costs = rng.normal(0.3, 1.0, len(edges))
    problem = corrclust.Problem.from_edges(n, edges, costs)
    start = rng.integers(0, 4, n)
    opt = brute_force_sparse(n, edges, costs)
    for window in (3, 4):
        options = corrclust.AnytimeOptions(window_nodes=window)
        r = corrclust.solve(problem, method="anytime", seed=seed, warm_start=start, options=options)
        assert r.objective == pytest.approx(objective(edges, costs, r.labels), abs=1e-9)
        assert opt - 1e-9 <= r.objective <= objective(edges, costs, start) + 1e-9
        assert r.iterations > 0  # window rounds ran (n > 2 x window)


def test_window_rounds_on_a_graph_of_several_components():
    # the regions of a sweep grow from random seeds; the components no seed reaches (two grids, a
    # path and isolated nodes) seed regions of their own, so every node is still re-solved
    parts, offset = [], 0
    for side, seed in ((12, 1), (9, 2)):
        m, e, c = noisy_grid(side, seed)
        parts.append((e + offset, c))
        offset += m
    path = np.stack([np.arange(offset, offset + 5), np.arange(offset + 1, offset + 6)], axis=1)
    parts.append((path, np.array([1.0, -2.0, 0.5, 3.0, -0.1])))
    n = offset + 6 + 4  # four isolated nodes
    edges = np.concatenate([p[0] for p in parts]).astype(np.int64)
    costs = np.concatenate([p[1] for p in parts])
    problem = corrclust.Problem.from_edges(n, edges, costs)
    start = np.zeros(n, dtype=np.int64)
    options = corrclust.AnytimeOptions(window_nodes=40)
    a = corrclust.solve(problem, method="anytime", seed=3, warm_start=start, options=options)
    b = corrclust.solve(problem, method="anytime", seed=3, warm_start=start, options=options)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.objective == pytest.approx(objective(edges, costs, a.labels), abs=1e-9)
    assert a.objective < objective(edges, costs, start)
    assert a.iterations > 0
    # the path's optimum (cut exactly its negative edges) is found by the regions that hold it
    lab = np.asarray(a.labels)
    cut = lab[path[:, 0]] != lab[path[:, 1]]
    np.testing.assert_array_equal(cut, [False, True, False, False, True])


def test_window_rounds_run_until_the_limit_and_never_lose_the_start():
    n, edges, costs = noisy_grid(40, seed=1)
    problem = corrclust.Problem.from_edges(n, edges, costs)
    start = corrclust.solve(problem, method="kl")
    options = corrclust.AnytimeOptions(window_nodes=300)
    limit = 1.5
    t0 = time.perf_counter()
    r = corrclust.solve(
        problem, method="anytime", time_limit=limit, seed=4, warm_start=start.labels, options=options
    )
    wall = time.perf_counter() - t0
    assert r.status == "time_limit" and r.runtime >= limit and wall < limit + LATE
    assert r.objective == pytest.approx(objective(edges, costs, r.labels), abs=1e-7)
    assert r.objective < start.objective  # the noisy grid leaves KL room to improve
    assert r.iterations > 0


def test_window_rounds_without_a_limit_are_deterministic_and_can_be_turned_off():
    n, edges, costs = noisy_grid(30, seed=2)
    problem = corrclust.Problem.from_edges(n, edges, costs)
    options = corrclust.AnytimeOptions(window_nodes=200)
    a = corrclust.solve(problem, method="anytime", seed=5, options=options)
    b = corrclust.solve(problem, method="anytime", seed=5, options=options)
    assert a.status == b.status == "heuristic"
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.objective == pytest.approx(objective(edges, costs, a.labels), abs=1e-7)
    # a window of half the graph or more: global rounds, the same run as without windows
    half = corrclust.solve(
        problem, method="anytime", seed=5, options=corrclust.AnytimeOptions(window_nodes=450)
    )
    plain = corrclust.solve(problem, method="anytime", seed=5)
    np.testing.assert_array_equal(half.labels, plain.labels)
    with pytest.raises(ValueError, match="window_nodes"):
        corrclust.AnytimeOptions(window_nodes=-2)
    with pytest.raises(ValueError, match="window_seconds"):
        corrclust.AnytimeOptions(window_seconds=0.0)
    o = corrclust.AnytimeOptions()
    assert (o.window_nodes, o.window_seconds) == (-1, 1.0)
    # automatic (the default) on a graph of fewer than 200,000 nodes: the global run, also with a limit
    # (its rounds are the no-limit run's until the stall)
    auto = corrclust.solve(problem, method="anytime", seed=5)
    off = corrclust.solve(problem, method="anytime", seed=5, options=corrclust.AnytimeOptions(window_nodes=0))
    np.testing.assert_array_equal(auto.labels, off.labels)


def test_automatic_windows_on_a_large_grid_run_until_the_limit_from_the_warm_start():
    # over 200,000 nodes: the default turns window rounds on under a limit (windows of 10,000 nodes, 1 s
    # each); the warm start is the only global start, so the windows start within a second or two
    from scipy.spatial import cKDTree

    side = 448  # 200,704 nodes; segments of about 400 nodes, as in benchmarks/bench_bound.py
    n = side * side
    rng = np.random.default_rng(3)
    ys, xs = np.divmod(np.arange(n), side)
    truth = cKDTree(rng.uniform(0, side, size=(n // 400, 2))).query(np.stack([ys, xs], axis=1) + 0.5)[1]
    idx = np.arange(n).reshape(side, side)
    edges = np.concatenate(
        [
            np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], axis=1),
            np.stack([idx[:-1, :].ravel(), idx[1:, :].ravel()], axis=1),
        ]
    ).astype(np.int64)
    costs = np.where(truth[edges[:, 0]] == truth[edges[:, 1]], 1.0, -1.0) + rng.normal(size=len(edges))
    problem = corrclust.Problem.from_edges(n, edges, costs)
    # from KL's labelling, so that the warm start's KL ends at once and the windows get the time
    start = corrclust.solve(problem, method="kl")
    limit = 6.0
    t0 = time.perf_counter()
    r = corrclust.solve(problem, method="anytime", time_limit=limit, seed=1, warm_start=start.labels)
    wall = time.perf_counter() - t0
    assert r.status == "time_limit" and r.runtime >= limit and wall < limit + LATE
    assert r.objective == pytest.approx(objective(edges, costs, r.labels), rel=1e-9)
    assert r.objective < start.objective
    assert r.iterations > 0
