"""Public solver settings (corrclust.solve(..., options=...)), the one time-limit rule and the one
Ctrl-C rule of every solver."""

from __future__ import annotations

import _thread
import copy
import math

import numpy as np
import pytest

import corrclust
from corrclust import AnytimeOptions, ExactOptions, KLOptions
from corrclust._native import _core
from corrclust.generators import planted_partition
from corrclust.problem import Problem
from corrclust.solve import check_time_limit, solve


@pytest.fixture(scope="module")
def noisy():
    return planted_partition(80, 8, 3.0, seed=11)[0]


def test_defaults_are_the_documented_values():
    k = KLOptions()
    assert (k.patience, k.min_improvement, k.revisit, k.revisit_patience) == (48, 1e-9, True, 4)
    assert (k.threads, k.sparse_threads) == (0, 1)
    assert (k.final_split, k.polish_max_nodes) == (True, 0)
    a = AnytimeOptions()
    assert (a.max_rounds_without_improvement, a.max_rounds, a.kl) == (
        12,
        10000,
        KLOptions(revisit_patience=48),
    )
    assert (a.until_time_limit, a.exact_fusion, a.exact_fusion_share) == (True, True, 0.25)
    e = ExactOptions()
    assert (e.heuristic, e.heuristic_time, e.reduce, e.root_method, e.tree_method, e.max_nodes) == (
        "anytime",
        0.3,
        True,
        "dual_simplex",
        "dual_simplex",
        None,
    )
    assert (e.node_rounds, e.purge_age, e.tree_purge_age, e.abs_gap, e.max_subset_size) == (
        8,
        3,
        20,
        1e-6,
        600,
    )
    assert "patience=48" in repr(KLOptions()) and "heuristic='anytime'" in repr(e)
    assert set(ExactOptions._fields) >= {"heuristic", "star_cuts", "max_nodes", "kl", "reduce_subsets"}


def test_keywords_equality_copy_and_bad_names():
    a = AnytimeOptions(max_rounds=3, kl=KLOptions(patience=5))
    assert a.max_rounds == 3 and a.kl.patience == 5 and a == copy.deepcopy(a) and a != AnytimeOptions()
    b = copy.copy(a)
    b.kl.patience = 6  # a copy is independent (value structs)
    assert a.kl.patience == 5
    with pytest.raises(TypeError, match="unknown option 'patince'"):
        KLOptions(patince=3)
    with pytest.raises(ValueError, match="root_method"):
        ExactOptions(root_method="barrier")
    e = ExactOptions(root_method="auto")  # the documented shorthand
    assert (e.root_method, e.ipm_switch_fraction) == ("ipm", 0.5)


def test_default_options_change_nothing(noisy):
    for method, opts in [("kl", KLOptions()), ("anytime", AnytimeOptions())]:
        a, b = solve(noisy, method, seed=3), solve(noisy, method, seed=3, options=opts)
        assert a.objective == b.objective and np.array_equal(a.labels, b.labels)


def test_kl_settings_reach_the_solver(noisy):
    gaec = solve(noisy, "gaec")
    kl = solve(noisy, "kl")
    assert kl.objective < gaec.objective  # KL improves GAEC on this noisy instance
    # no move gains more than 1e12: KL keeps its GAEC start exactly
    frozen = solve(noisy, "kl", options=KLOptions(min_improvement=1e12))
    assert np.array_equal(frozen.labels, gaec.labels) and frozen.objective == pytest.approx(gaec.objective)
    impatient = solve(noisy, "kl", options=KLOptions(patience=0))
    assert (
        gaec.objective
        >= impatient.objective
        == pytest.approx(Problem.from_dense(noisy).objective(impatient.labels))
    )


def test_kl_revisit_reaches_the_solver():
    side = 40  # a grid where a patient second phase gains (tests/test_kl.py has the exact values)
    idx = np.arange(side * side).reshape(side, side)
    edges = np.concatenate(
        [
            np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], 1),
            np.stack([idx[:-1].ravel(), idx[1:].ravel()], 1),
        ]
    )
    costs = np.random.default_rng(1).normal(0.3, 1.0, len(edges))
    problem = Problem.from_edges(side * side, edges, costs)
    first = solve(problem, "kl", options=KLOptions(revisit=False))
    both = solve(problem, "kl", options=KLOptions(revisit_patience=48))
    assert both.objective < first.objective <= solve(problem, "gaec").objective
    assert first.objective == pytest.approx(problem.objective(first.labels))
    # the default revisit_patience (4) is too short to find the second phase's gain on this grid
    assert solve(problem, "kl").objective == first.objective


def test_anytime_settings_reach_the_solver(noisy):
    full = solve(noisy, "anytime", seed=1)
    starts_only = solve(noisy, "anytime", seed=1, options=AnytimeOptions(max_rounds=0))
    assert full.iterations > 0 and starts_only.iterations == 0
    assert full.objective <= starts_only.objective <= solve(noisy, "kl").objective


def test_exact_settings_reach_the_solver():
    costs = planted_partition(30, 4, 3.0, seed=2)[0]
    best = solve(costs, "exact", time_limit=120)
    assert best.status == "optimal"
    r = solve(costs, "exact", warm_start=best.labels, options=ExactOptions(heuristic="none", max_nodes=0))
    assert r.status in ("node_limit", "optimal") and r.nodes == 0 or r.status == "optimal"
    assert r.objective == pytest.approx(best.objective)
    kl_first = solve(costs, "exact", options=ExactOptions(heuristic="kl", reduce=False), time_limit=120)
    assert kl_first.status == "optimal" and kl_first.objective == pytest.approx(best.objective)
    assert kl_first.extra["reduced_nodes"] == -1  # reduce=False arrived: no reduction ran


def test_wrong_or_out_of_range_options_are_clear_errors(noisy):
    with pytest.raises(TypeError, match="takes no options"):
        solve(noisy, "gaec", options=KLOptions())
    with pytest.raises(TypeError, match="must be KLOptions"):
        solve(noisy, "kl", options=ExactOptions())
    with pytest.raises(ValueError, match="patience"):
        solve(noisy, "kl", options=KLOptions(patience=-1))
    with pytest.raises(ValueError, match="max_rounds"):
        solve(noisy, "anytime", options=AnytimeOptions(max_rounds=-1))
    with pytest.raises(ValueError, match="tree_method must be 'dual_simplex'"):
        solve(noisy, "exact", options=ExactOptions(tree_method="ipm"))
    with pytest.raises(ValueError, match="heuristic_time"):
        solve(noisy, "exact", options=ExactOptions(heuristic_time=-1.0))
    with pytest.raises(TypeError, match="ExactOptions"):  # the binding checks the class too
        _core.exact.solve_dense(noisy, options=KLOptions())


def test_estimator_passes_options_and_clones():
    from sklearn.base import clone

    p = 1 / (1 + np.exp(-planted_partition(40, 4, 1.5, seed=5)[0]))
    est = corrclust.CorrelationClustering(method="kl", options=KLOptions(min_improvement=1e12))
    assert clone(est).get_params()["options"] == KLOptions(min_improvement=1e12)
    frozen = est.fit(p).objective_
    gaec = corrclust.CorrelationClustering(method="gaec").fit(p).objective_
    assert frozen == pytest.approx(gaec)


# --- the one time-limit rule -------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [(None, None), (math.inf, None), (0, 0.0), (0.0, 0.0), (2, 2.0)])
def test_time_limit_rule_accepts(value, expected):
    assert check_time_limit(value) == expected


@pytest.mark.parametrize("value", [-1, -0.5, math.nan, True, "five", [1]])
def test_time_limit_rule_refuses(value):
    with pytest.raises(ValueError, match="--time-limit"):
        check_time_limit(value, "--time-limit")
    with pytest.raises(ValueError, match="time_limit"):
        solve(np.zeros((3, 3)), "kl", time_limit=value)


def test_bindings_apply_the_same_time_limit_rule(noisy):
    edges = np.array([[0, 1], [1, 2]], dtype=np.int64)
    for bad in (-1.0, math.nan):
        with pytest.raises(ValueError, match="time_limit must be >= 0"):
            _core.heuristics.solve_dense(noisy, "gaec", time_limit=bad)
        with pytest.raises(ValueError, match="time_limit must be >= 0"):
            _core.heuristics.solve_sparse(3, edges, np.ones(2), "kl", time_limit=bad)
        with pytest.raises(ValueError, match="time_limit must be >= 0"):
            _core.exact.solve_dense(noisy, time_limit=bad)
    # 0 is allowed everywhere: the first labelling at once, with its exact objective
    start = np.arange(80) % 3
    for method in ("gaec", "kl", "anytime", "exact"):
        r = solve(noisy, method, time_limit=0, warm_start=start)
        assert r.status == "time_limit"
        assert r.objective == pytest.approx(Problem.from_dense(noisy).objective(r.labels))


# --- one Ctrl-C rule: KeyboardInterrupt from every method ------------------------------------


# GAEC and KL finish before their first report (0.2 s) on any size a test can afford; they share
# the binding's interrupt path with "anytime" (one solve() template in cpp/bindings/heuristics.cpp),
# which test_heuristics.py also checks with a real SIGINT.
@pytest.mark.parametrize("method, n", [("anytime", 300), ("exact", 60)])
def test_ctrl_c_raises_keyboard_interrupt_from_every_method(method, n):
    costs = planted_partition(n, 10, 3.0, seed=4)[0]

    def interrupt_now(_):
        _thread.interrupt_main()  # as if Ctrl-C came during the first progress report

    with pytest.raises(KeyboardInterrupt):
        solve(costs, method, progress=interrupt_now, time_limit=60)
