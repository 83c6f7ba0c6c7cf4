"""Tests of the C++ heuristics (GAEC, Kernighan-Lin, anytime) through the ``_core`` binding.

Small random instances are checked against brute force over all set partitions; the shared PACE and
OpenGM instances against their proven optima.
"""

from __future__ import annotations

import functools
import itertools
import os
import time

import numpy as np
import pytest
from interrupts import interrupt_delay

import corrclust
from corrclust._native import _core
from corrclust.generators import planted_partition

# tools/run_sanitizers.sh sets this: the core is built with ASan+UBSan, so CPU-time bounds do not hold.
SANITIZED = os.environ.get("CORRCLUST_SANITIZED") == "1"

METHODS = ("gaec", "kl", "anytime")

# ---------------------------------------------------------------------------------------------
# helpers


@functools.cache
def all_partitions(n: int) -> np.ndarray:
    """Every set partition of n nodes as restricted growth strings, shape (Bell(n), n)."""
    out = []

    def rec(prefix, k):
        if len(prefix) == n:
            out.append(prefix.copy())
            return
        for c in range(k + 1):
            prefix.append(c)
            rec(prefix, max(k, c + 1))
            prefix.pop()

    rec([], 0)
    return np.array(out, dtype=np.int64)


def brute_force_optimum(costs: np.ndarray) -> float:
    n = costs.shape[0]
    parts = all_partitions(n)
    total = np.zeros(len(parts))
    for i, j in itertools.combinations(range(n), 2):
        if costs[i, j] != 0.0:
            total += costs[i, j] * (parts[:, i] != parts[:, j])
    return float(total.min())


def objective(costs: np.ndarray, labels: np.ndarray) -> float:
    cut = labels[:, None] != labels[None, :]
    return float(np.triu(costs * cut, 1).sum())


def random_costs(n: int, kind: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "gaussian":
        a = rng.normal(size=(n, n))
    elif kind == "pm1":  # +/-1 with many ties
        a = rng.choice([-1.0, 1.0], size=(n, n))
    elif kind == "zeros":  # many exact zeros
        a = rng.choice([-1.0, 0.0, 0.0, 2.0], size=(n, n)) * rng.integers(1, 3, size=(n, n))
    elif kind == "negative":
        a = -rng.uniform(0.1, 2.0, size=(n, n))
    elif kind == "positive":
        a = rng.uniform(0.1, 2.0, size=(n, n))
    elif kind == "planted":  # two-ish groups with noise
        g = rng.integers(0, 3, size=n)
        a = np.where(g[:, None] == g[None, :], 1.0, -1.0) + 1.5 * rng.normal(size=(n, n))
    else:
        raise AssertionError(kind)
    c = np.triu(a, 1)
    c = c + c.T
    return np.ascontiguousarray(c)


def to_sparse(costs: np.ndarray, seed: int, density: float = 1.0):
    """Edge list of the upper triangle (optionally thinned); every edge is split into two
    parallel edges in random orientation, which the solver must sum back."""
    rng = np.random.default_rng(seed)
    n = costs.shape[0]
    iu, ju = np.triu_indices(n, 1)
    keep = rng.random(len(iu)) < density
    iu, ju = iu[keep], ju[keep]
    c = costs[iu, ju]
    part = rng.uniform(-1, 2, size=len(c))
    flip = rng.random(len(c)) < 0.5
    e1 = np.stack([iu, ju], 1)
    e2 = np.where(flip[:, None], np.stack([ju, iu], 1), e1)
    edges = np.concatenate([e1, e2]).astype(np.int64)
    split = np.concatenate([c * part, c * (1 - part)])
    dense = np.zeros_like(costs)
    dense[iu, ju] = c
    dense[ju, iu] = c
    return n, edges, split, dense


def assert_first_appearance(labels: np.ndarray) -> None:
    assert labels.dtype == np.int64
    seen = []
    for x in labels:
        if x not in seen:
            assert x == len(seen), labels
            seen.append(x)


def read_pace(path) -> np.ndarray:
    return corrclust.read_instance(path).costs


def read_multicut(path):
    p = corrclust.read_instance(path)
    return p.n, p.edges, p.costs


def planted_complete(n: int, sigma: float, seed: int, k: int = 10) -> np.ndarray:
    return planted_partition(n, k=k, sigma=sigma, seed=seed)[0]


KINDS = ("gaussian", "pm1", "zeros", "negative", "positive", "planted")

# ---------------------------------------------------------------------------------------------
# brute force on small instances


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n", [5, 8])
def test_dense_against_brute_force(kind, n):
    for seed in range(4):
        costs = random_costs(n, kind, seed)
        opt = brute_force_optimum(costs)
        for method in METHODS:
            r = _core.heuristics.solve_dense(costs, method, seed=seed)
            labels = r["labels"]
            assert labels.shape == (n,)
            assert_first_appearance(labels)
            assert r["status"] == "heuristic"
            assert r["objective"] == pytest.approx(objective(costs, labels), abs=1e-9)
            assert r["objective"] >= opt - 1e-9, (kind, seed, method)
            if method == "anytime":
                assert r["objective"] == pytest.approx(opt, abs=1e-9), (kind, seed)


@pytest.mark.parametrize("kind", ("gaussian", "pm1", "zeros", "planted"))
def test_sparse_against_brute_force(kind):
    n = 8
    for seed in range(4):
        n, edges, split, dense = to_sparse(random_costs(n, kind, seed), seed, density=0.6)
        opt = brute_force_optimum(dense)
        for method in METHODS:
            r = _core.heuristics.solve_sparse(n, edges, split, method, seed=seed)
            assert_first_appearance(r["labels"])
            assert r["objective"] == pytest.approx(objective(dense, r["labels"]), abs=1e-9)
            assert r["objective"] >= opt - 1e-9
            if method == "anytime":
                assert r["objective"] == pytest.approx(opt, abs=1e-9), (kind, seed)


def test_nine_nodes_brute_force():
    for kind in ("gaussian", "pm1"):
        costs = random_costs(9, kind, 11)
        opt = brute_force_optimum(costs)
        r = _core.heuristics.solve_dense(costs, "anytime", seed=3)
        assert r["objective"] == pytest.approx(opt, abs=1e-9)


# ---------------------------------------------------------------------------------------------
# invariants


@pytest.mark.parametrize("shape", ["dense", "sparse"])
def test_kl_never_worsens_its_start(shape):
    rng = np.random.default_rng(5)
    for trial in range(30):
        n = int(rng.integers(2, 40))
        costs = random_costs(n, KINDS[trial % len(KINDS)], trial)
        start = rng.integers(0, int(rng.integers(1, n + 1)), size=n).astype(np.int64)
        if shape == "dense":
            r = _core.heuristics.solve_dense(costs, "kl", warm_start=start)
        else:
            nn, edges, split, dense = to_sparse(costs, trial, density=0.5)
            costs = dense
            r = _core.heuristics.solve_sparse(nn, edges, split, "kl", warm_start=start)
        assert r["objective"] <= objective(costs, start) + 1e-9
        assert r["objective"] == pytest.approx(objective(costs, r["labels"]), abs=1e-9)


def test_warm_start_with_arbitrary_label_values():
    costs = random_costs(20, "planted", 9)
    rng = np.random.default_rng(0)
    start = rng.choice(np.array([-7, 10**12, 3, -1], dtype=np.int64), size=20)
    for method in METHODS:
        r = _core.heuristics.solve_dense(costs, method, warm_start=start)
        assert_first_appearance(r["labels"])
        if method != "gaec":
            assert r["objective"] <= objective(costs, start) + 1e-9
    r = _core.heuristics.solve_dense(costs, "gaec", warm_start=start)
    for value in np.unique(start):  # GAEC only merges the warm start's clusters
        assert len(set(r["labels"][start == value])) == 1


def test_kl_keeps_a_local_optimum():
    # KL from the proven optimum must return a labelling of the same objective.
    costs = random_costs(8, "gaussian", 2)
    opt = brute_force_optimum(costs)
    best = _core.heuristics.solve_dense(costs, "anytime")["labels"]
    r = _core.heuristics.solve_dense(costs, "kl", warm_start=best)
    assert r["objective"] == pytest.approx(opt, abs=1e-12)


def test_gaec_all_negative_gives_singletons_all_positive_one_cluster():
    for n in (1, 2, 7, 40):
        neg = random_costs(n, "negative", n)
        pos = random_costs(n, "positive", n)
        for solve in ("dense", "sparse"):
            if solve == "dense":
                rn = _core.heuristics.solve_dense(neg, "gaec")
                rp = _core.heuristics.solve_dense(pos, "gaec")
            else:
                nn, e, c, _ = to_sparse(neg, 1)
                rn = _core.heuristics.solve_sparse(nn, e, c, "gaec")
                nn, e, c, _ = to_sparse(pos, 1)
                rp = _core.heuristics.solve_sparse(nn, e, c, "gaec")
            assert list(rn["labels"]) == list(range(n))
            assert set(rp["labels"]) == {0}
            assert rp["objective"] == 0.0


@pytest.mark.parametrize("kind", KINDS)
def test_gaec_stops_only_when_every_cluster_pair_is_repulsive(kind):
    """GAEC contracts while some pair of clusters has summed cost >= 0: at its end every pair of
    clusters must have a negative summed cost, and the result is never worse than singletons."""
    costs = random_costs(30, kind, 7)
    r = _core.heuristics.solve_dense(costs, "gaec")
    labels = r["labels"]
    k = labels.max() + 1
    onehot = np.eye(k)[labels]
    between = onehot.T @ costs @ onehot
    off = between[~np.eye(k, dtype=bool)]
    assert np.all(off < 0)
    assert r["objective"] <= np.triu(costs, 1).sum() + 1e-9


def test_gaec_warm_start_only_merges_its_clusters():
    costs = random_costs(30, "planted", 3)
    start = (np.arange(30) % 6).astype(np.int64)
    r = _core.heuristics.solve_dense(costs, "gaec", warm_start=start)
    # nodes in the same start cluster stay together
    for c in range(6):
        assert len(set(r["labels"][start == c])) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_dense_and_sparse_agree_on_complete_graphs(kind):
    costs = random_costs(40, kind, 4)
    n = costs.shape[0]
    iu, ju = np.triu_indices(n, 1)
    edges = np.stack([iu, ju], 1).astype(np.int64)
    c = np.ascontiguousarray(costs[iu, ju])
    d = _core.heuristics.solve_dense(costs, "gaec")
    s = _core.heuristics.solve_sparse(n, edges, c, "gaec")
    np.testing.assert_array_equal(d["labels"], s["labels"])
    gaec_obj = d["objective"]
    for method in ("kl", "anytime"):
        d = _core.heuristics.solve_dense(costs, method, seed=1)
        s = _core.heuristics.solve_sparse(n, edges, c, method, seed=1)
        if kind in ("pm1", "zeros"):
            # with tied gains the sparse KL (which visits nodes in a different order) may settle in
            # another local optimum; both must still improve on GAEC
            assert max(d["objective"], s["objective"]) <= gaec_obj + 1e-9
        else:
            assert d["objective"] == pytest.approx(s["objective"], rel=1e-9, abs=1e-9)


def test_anytime_deterministic_for_a_seed():
    costs = planted_complete(150, 3.0, 0)
    a = _core.heuristics.solve_dense(costs, "anytime", seed=42)
    b = _core.heuristics.solve_dense(costs, "anytime", seed=42)
    np.testing.assert_array_equal(a["labels"], b["labels"])
    assert a["iterations"] == b["iterations"]
    n, edges, split, _ = to_sparse(costs, 0, density=0.3)
    a = _core.heuristics.solve_sparse(n, edges, split, "anytime", seed=7)
    b = _core.heuristics.solve_sparse(n, edges, split, "anytime", seed=7)
    np.testing.assert_array_equal(a["labels"], b["labels"])


def test_anytime_warm_start_is_never_lost():
    costs = planted_complete(80, 3.0, 1)
    best = _core.heuristics.solve_dense(costs, "anytime", seed=0)
    r = _core.heuristics.solve_dense(costs, "anytime", seed=9, warm_start=best["labels"])
    assert r["objective"] <= best["objective"] + 1e-9


def test_anytime_beats_or_equals_gaec_kl():
    for seed in range(3):
        costs = planted_complete(120, 3.0, seed)
        kl = _core.heuristics.solve_dense(costs, "kl")
        at = _core.heuristics.solve_dense(costs, "anytime", seed=seed)
        assert at["objective"] <= kl["objective"] + 1e-9


def test_bad_arguments_raise_value_error():
    costs = random_costs(5, "gaussian", 0)
    with pytest.raises(ValueError, match="method"):
        _core.heuristics.solve_dense(costs, "nope")
    with pytest.raises(ValueError, match="warm_start"):
        _core.heuristics.solve_dense(costs, "kl", warm_start=np.zeros(4, dtype=np.int64))
    with pytest.raises(ValueError, match="square"):
        _core.heuristics.solve_dense(np.zeros((3, 4)), "gaec")
    with pytest.raises(ValueError):
        _core.heuristics.solve_sparse(3, np.array([[0, 3]], dtype=np.int64), np.array([1.0]), "gaec")
    with pytest.raises(ValueError):
        _core.heuristics.solve_sparse(3, np.array([[1, 1]], dtype=np.int64), np.array([1.0]), "gaec")


def test_empty_and_tiny_problems():
    for method in METHODS:
        r = _core.heuristics.solve_dense(np.zeros((0, 0)), method)
        assert r["labels"].shape == (0,) and r["objective"] == 0.0
        r = _core.heuristics.solve_dense(np.zeros((1, 1)), method)
        assert list(r["labels"]) == [0]
        r = _core.heuristics.solve_sparse(4, np.zeros((0, 2), dtype=np.int64), np.zeros(0), method)
        assert r["objective"] == 0.0 and len(r["labels"]) == 4


# ---------------------------------------------------------------------------------------------
# shared instances with proven optima

PACE_OPT = {"exact001": -31, "exact013": -302, "exact041": -1502, "exact121": -15063, "exact165": -7910}
OPENGM_OPT = {"gm_knott_3d_032": -5811.467771, "gm_knott_3d_034": -4064.865759, "3096": -638.289934}


@pytest.mark.parametrize("name", sorted(PACE_OPT))
def test_pace_optimum_reached_by_anytime(cc_instances_dir, name):
    costs = read_pace(cc_instances_dir / "pace2021" / f"{name}.gr")
    r = _core.heuristics.solve_dense(costs, "anytime", seed=0)
    assert r["objective"] == PACE_OPT[name]
    kl = _core.heuristics.solve_dense(costs, "kl")
    assert kl["objective"] >= PACE_OPT[name]
    if name == "exact013":
        # GAEC + KL alone is stuck at -300 (183 edits); recorded in docs/solvers.md
        assert kl["objective"] >= -302


@pytest.mark.parametrize("name", sorted(OPENGM_OPT))
def test_opengm_within_tenth_of_a_percent(cc_instances_dir, name):
    n, edges, costs = read_multicut(cc_instances_dir / "opengm-multicut" / f"{name}.txt")
    opt = OPENGM_OPT[name]
    r = _core.heuristics.solve_sparse(n, edges, costs, "anytime", seed=0)
    assert r["objective"] >= opt - 1e-5
    assert r["objective"] <= opt + 1e-3 * abs(opt)
    kl = _core.heuristics.solve_sparse(n, edges, costs, "kl")
    assert kl["objective"] >= opt - 1e-5


# ---------------------------------------------------------------------------------------------
# time limit, progress, interruption


def test_time_limit_is_honoured():
    costs = planted_complete(2500, 3.0, 0)
    for method in ("anytime", "kl", "gaec"):
        limit = 0.2 if method == "anytime" else 0.005
        t0, c0 = time.perf_counter(), time.thread_time()
        r = _core.heuristics.solve_dense(costs, method, time_limit=limit)
        wall, cpu = time.perf_counter() - t0, time.thread_time() - c0
        assert r["status"] == "time_limit", method
        # 50 ms target, plus slack for the final objective evaluation. The solve runs in this
        # thread, so its CPU time is the load-independent measure (a busy machine can keep the
        # thread off the core past its deadline); wall time gets a generous bound.
        assert cpu < limit + 0.15, (method, cpu)
        assert wall < limit + 1.0, (method, wall)
        assert r["objective"] == pytest.approx(objective(costs, r["labels"]), rel=1e-9)


def test_sparse_time_limit_is_honoured():
    """A 500 x 500 grid (0.5 M edges): GAEC alone takes several times the limit here."""
    side = 500
    idx = np.arange(side * side).reshape(side, side)
    edges = np.concatenate(
        [
            np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], 1),
            np.stack([idx[:-1].ravel(), idx[1:].ravel()], 1),
        ]
    ).astype(np.int64)
    costs = np.random.default_rng(0).normal(0.3, 1.0, len(edges))
    full = _core.heuristics.solve_sparse(side * side, edges, costs, "gaec")
    for method in ("gaec", "kl"):
        limit = 0.02
        t0, c0 = time.perf_counter(), time.thread_time()
        r = _core.heuristics.solve_sparse(side * side, edges, costs, method, time_limit=limit)
        wall, cpu = time.perf_counter() - t0, time.thread_time() - c0
        assert r["status"] == "time_limit", method
        assert cpu < limit + 0.15, (method, cpu)
        assert wall < limit + 1.0, (method, wall)
        assert r["objective"] == pytest.approx(
            _core.problem.objective_sparse(side * side, edges, costs, r["labels"])
        )
        if method == "gaec":  # stopped part way (or before the first contraction, on a slow machine)
            assert r["iterations"] < full["iterations"]


def test_sparse_time_limit_covers_building_the_graph():
    """A 1000 x 1000 grid (2 M edges, not sorted): building its graph alone takes several times
    a 2 ms limit, so the call stops while building and returns the start (or all singletons)."""
    side = 1000
    idx = np.arange(side * side).reshape(side, side)
    edges = np.concatenate(
        [
            np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], 1),
            np.stack([idx[:-1].ravel(), idx[1:].ravel()], 1),
        ]
    ).astype(np.int64)
    costs = np.random.default_rng(1).normal(0.3, 1.0, len(edges))
    n = side * side
    start = (np.arange(n) // 7).astype(np.int64)  # runs of 7 nodes along the rows
    for method in ("gaec", "kl", "anytime"):
        for ws in (None, start):
            limit = 0.002
            c0 = time.thread_time()
            r = _core.heuristics.solve_sparse(n, edges, costs, method, time_limit=limit, warm_start=ws)
            cpu = time.thread_time() - c0
            assert r["status"] == "time_limit", method
            # the 50 ms target plus 20 ms for first-touching the build's buffers; building the
            # whole graph before reading the clock took 70-90 ms of CPU here
            if not SANITIZED:  # instrumented code runs several times slower: no CPU bound then
                assert cpu < limit + 0.07, (method, cpu)
            expected = np.arange(n) if ws is None else np.unique(start, return_inverse=True)[1]
            np.testing.assert_array_equal(r["labels"], expected)
            assert r["objective"] == pytest.approx(
                _core.problem.objective_sparse(n, edges, costs, r["labels"])
            )
            assert r["runtime"] >= limit


def test_zero_time_limit_still_returns_a_labelling():
    costs = random_costs(50, "planted", 0)
    n, edges, split, dense = to_sparse(costs, 0, density=0.5)
    start = (np.arange(50) % 3).astype(np.int64)
    for method in METHODS:
        for ws in (None, start):
            r = _core.heuristics.solve_dense(costs, method, time_limit=0.0, warm_start=ws)
            assert r["labels"].shape == (50,) and r["status"] == "time_limit"
            assert r["objective"] == pytest.approx(objective(costs, r["labels"]), abs=1e-9)
            if ws is not None and method != "gaec":
                assert r["objective"] <= objective(costs, start) + 1e-9
            r = _core.heuristics.solve_sparse(n, edges, split, method, time_limit=0.0, warm_start=ws)
            # (a solver that finishes before its first clock check reports "heuristic")
            assert r["labels"].shape == (50,) and r["status"] in ("time_limit", "heuristic")
            assert r["objective"] == pytest.approx(objective(dense, r["labels"]), abs=1e-9)


def test_progress_callback_is_throttled():
    costs = planted_complete(400, 3.0, 0)
    calls = []
    t0 = time.perf_counter()
    r = _core.heuristics.solve_dense(costs, "anytime", time_limit=0.8, progress=calls.append)
    wall = time.perf_counter() - t0
    assert calls, "no progress reported"
    assert set(calls[0]) == {"phase", "elapsed", "objective", "lower_bound", "done", "total"}
    assert len(calls) <= wall / 0.1 + 5
    assert r["status"] in ("heuristic", "time_limit")


def test_progress_exception_propagates():
    costs = planted_complete(300, 3.0, 0)

    def boom(d):
        raise RuntimeError("stop it")

    t0 = time.perf_counter()
    with pytest.raises(RuntimeError, match="stop it"):
        _core.heuristics.solve_dense(costs, "anytime", time_limit=20.0, progress=boom)
    # the exception stops the solve at the next poll, not at the time limit
    assert time.perf_counter() - t0 < 2.0


def test_ctrl_c_raises_keyboard_interrupt_promptly(tmp_path):
    setup = """
        import numpy as np
        from corrclust._native import _core
        rng = np.random.default_rng(0)
        n = 1500
        c = rng.normal(size=(n, n)); c = np.triu(c, 1); c = c + c.T
        c = np.ascontiguousarray(c)
        """
    delay = interrupt_delay(setup, '_core.heuristics.solve_dense(c, "anytime", time_limit=60)', wait=0.3)
    assert delay < 0.5, delay
