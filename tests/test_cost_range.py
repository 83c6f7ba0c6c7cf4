"""Costs near the float limit: no objective overflows to +-inf, no solver fails or cycles on them.

A problem whose absolute costs sum beyond :data:`corrclust.problem.MAX_TOTAL_COST` is refused by
every constructor (some objective would not be representable); a problem inside that range but with
costs far beyond what HiGHS's "infinite" cost (1e20) allows is solved scaled by a power of two
(exact) and reported in its own units. The heuristics alone need no scaling: their improvement
threshold is relative to the largest cost (checked on the raw bindings below).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse
from test_exact import brute_force_dense

import corrclust
from corrclust._native import _core
from corrclust.problem import MAX_TOTAL_COST, Problem

METHODS = ("gaec", "kl", "anytime", "exact")


def _signs(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = np.triu(rng.normal(size=(n, n)), 1)
    return c + c.T


def _one_line_overflow(exc: pytest.ExceptionInfo) -> None:
    message = str(exc.value)
    assert "\n" not in message and "overflow to infinity" in message


@pytest.mark.parametrize("value", [1e307, np.finfo(np.float64).max])
def test_from_dense_refuses_costs_whose_sum_overflows(value):
    c = np.full((20, 20), -value)  # before the check: kl's objective was -inf
    np.fill_diagonal(c, 0.0)
    with pytest.raises(ValueError) as exc:
        Problem.from_dense(c)
    _one_line_overflow(exc)
    with pytest.raises(ValueError) as exc:
        corrclust.solve(c, method="kl")
    _one_line_overflow(exc)


def test_every_constructor_refuses_an_overflowing_total():
    big = np.finfo(np.float64).max / 2
    with pytest.raises(ValueError) as exc:  # parallel edges whose sum is inf
        Problem.from_edges(3, [[0, 1], [1, 0], [0, 1]], [big, big, big])
    _one_line_overflow(exc)
    with pytest.raises(ValueError) as exc:  # distinct edges, each finite
        Problem.from_edges(4, [[0, 1], [1, 2], [2, 3]], [big, -big, big])
    _one_line_overflow(exc)
    with pytest.raises(ValueError) as exc:
        Problem.from_condensed(np.array([big, big, -big]))
    _one_line_overflow(exc)
    with pytest.raises(ValueError) as exc:
        Problem.from_sparse(
            scipy.sparse.coo_matrix(([big, big, big, big], ([0, 1, 1, 2], [1, 0, 2, 1])), (3, 3))
        )
    _one_line_overflow(exc)
    with pytest.raises(ValueError) as exc:  # s - threshold is inf
        Problem.from_similarities(np.full((3, 3), np.finfo(np.float64).max), threshold=-1e308)
    _one_line_overflow(exc)


def test_a_total_just_under_the_limit_is_accepted():
    per_edge = MAX_TOTAL_COST / 3 * (1 - 1e-9)
    p = Problem.from_edges(3, [[0, 1], [1, 2], [0, 2]], [per_edge, -per_edge, per_edge])
    assert math.isfinite(p.objective([0, 1, 2]))


@pytest.mark.parametrize("dense", [True, False])
@pytest.mark.parametrize("method", METHODS)
def test_every_method_is_exact_on_costs_near_the_float_limit(method, dense):
    base = _signs(7, seed=4)
    scale = MAX_TOTAL_COST / np.abs(base[np.triu_indices(7, 1)]).sum() * 0.99
    costs = base * scale
    iu = np.triu_indices(7, 1)
    problem = Problem.from_dense(costs) if dense else Problem.from_edges(7, np.stack(iu, 1), costs[iu])
    result = corrclust.solve(problem, method=method, seed=0)
    cut = result.labels[iu[0]] != result.labels[iu[1]]
    recomputed = math.fsum(costs[iu][cut].tolist())
    assert math.isfinite(result.objective)
    assert result.objective == pytest.approx(recomputed, rel=1e-12)
    assert result.objective == pytest.approx(problem.objective(result.labels), rel=1e-12)
    optimum = brute_force_dense(base) * scale
    assert result.objective >= optimum * (1 + 1e-12)  # optimum < 0: the bound, with rounding room
    if method == "exact":
        assert result.status == "optimal"
        assert result.objective == pytest.approx(optimum, rel=1e-12)
        assert result.lower_bound == pytest.approx(optimum, rel=1e-9)


@pytest.mark.parametrize("scale", [1e15, 1e30, 1e100, 1e300])
def test_large_costs_neither_cycle_nor_fail(scale):
    # Before the scaling: kl and anytime ran to the time limit at 1e15 and 1e30 (their 1e-9
    # improvement test met rounding noise) and the exact LP failed beyond 1e20.
    base = _signs(7, seed=1)
    optimum = brute_force_dense(base)
    seen = []
    for method in METHODS:
        # anytime with a limit runs until it by design; the round counts must stop it here
        options = corrclust.AnytimeOptions(until_time_limit=False) if method == "anytime" else None
        result = corrclust.solve(base * scale, method=method, time_limit=60, seed=0, options=options)
        assert result.status in ("heuristic", "optimal"), (method, result.status)
        assert result.objective / scale == pytest.approx(optimum, rel=1e-9), method
        seen.append(result.extra.get("cost_scale"))
    assert all(s is not None and s < scale for s in seen)


@pytest.mark.parametrize("dense", [True, False])
@pytest.mark.parametrize("scale", [1e15, 1e30])
def test_raw_solvers_stop_by_their_own_rules_on_large_costs(scale, dense):
    # The C++ solvers alone, without solve()'s scaling: KL's improvement threshold is relative to
    # the largest |cost|, so rounding noise is never taken for a gain. With the absolute 1e-9 of
    # before, both ran until this time limit (KL about 10^6 passes in 3 s).
    h = _core.heuristics
    base = _signs(7, seed=1)
    optimum = brute_force_dense(base)
    iu = np.triu_indices(7, 1)
    for method, options in (("kl", None), ("anytime", h.AnytimeOptions(until_time_limit=False))):
        if dense:
            r = h.solve_dense(base * scale, method, time_limit=60, options=options)
        else:
            edges = np.stack(iu, 1).astype(np.int64)
            r = h.solve_sparse(7, edges, base[iu] * scale, method, time_limit=60, options=options)
        assert r["status"] == "heuristic", method  # stopped by its own rule, not the limit
        assert r["objective"] / scale == pytest.approx(optimum, rel=1e-9), method
        if method == "kl":
            assert r["iterations"] <= 3  # passes of KL: the first finds the optimum, one more confirms


@pytest.mark.parametrize("power", [50, 100])
def test_kl_and_anytime_are_invariant_under_power_of_two_scaling(power):
    # A power of two scales every sum and the threshold exactly, so the labels must be the same.
    h = _core.heuristics
    rng = np.random.default_rng(5)
    n = 300
    e = rng.integers(0, n, (1500, 2))
    e = e[e[:, 0] < e[:, 1]]
    edges = np.unique(e, axis=0).astype(np.int64)
    costs = rng.normal(0.2, 2.0, len(edges))
    # (exact fusion, on under a limit, is left out: HiGHS takes costs beyond 1e20 as infinite)
    for method, options in (("kl", None), ("anytime", h.AnytimeOptions(until_time_limit=False))):
        plain = h.solve_sparse(n, edges, costs, method, seed=0, options=options)
        big = h.solve_sparse(n, edges, np.ldexp(costs, power), method, seed=0, time_limit=60, options=options)
        assert big["status"] == "heuristic", method
        np.testing.assert_array_equal(big["labels"], plain["labels"])
        assert big["objective"] == np.ldexp(plain["objective"], power)


def test_raw_anytime_under_a_limit_skips_exact_fusion_on_huge_costs():
    # Exact fusion solves LPs; HiGHS takes costs beyond 1e20 as infinite, and before this the raw
    # binding raised "branch_and_cut: the LP solver failed" here. Above a sum of 1e15 the solver
    # keeps to its KL fusion rounds until the limit.
    h = _core.heuristics
    rng = np.random.default_rng(5)
    n = 60
    e = rng.integers(0, n, (300, 2))
    edges = np.unique(e[e[:, 0] < e[:, 1]], axis=0).astype(np.int64)
    costs = rng.normal(0.2, 2.0, len(edges))
    big_costs = np.ldexp(costs, 100)
    kl = h.solve_sparse(n, edges, big_costs, "kl", seed=0)
    big = h.solve_sparse(n, edges, big_costs, "anytime", seed=0, time_limit=1.0)
    assert big["status"] == "time_limit"
    cut = big["labels"][edges[:, 0]] != big["labels"][edges[:, 1]]
    assert big["objective"] == pytest.approx(math.fsum(big_costs[cut].tolist()), rel=1e-12)
    assert big["objective"] <= kl["objective"]  # never worse than its GAEC + KL start


def test_costs_in_the_usual_range_are_not_scaled():
    result = corrclust.solve(_signs(6, seed=2) * 1e9, method="kl")
    assert "cost_scale" not in result.extra


def test_progress_reports_the_original_units():
    base = _signs(7, seed=1)
    reports = []
    result = corrclust.solve(base * 1e30, method="exact", progress=reports.append)
    objectives = [
        d["objective"] for d in reports if d.get("objective") is not None and math.isfinite(d["objective"])
    ]
    assert objectives and objectives[-1] == pytest.approx(result.objective, rel=1e-12)
