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
