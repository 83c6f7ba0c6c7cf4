"""solve(): every input shape, every method, the paper fixtures F9/F12, shared optima, validation."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
import scipy.sparse
from scipy.spatial.distance import squareform
from test_problem import load_test30_similarities, random_symmetric

import corrclust
from corrclust import metrics
from corrclust._native import _core
from corrclust.formats.instances import pace_edits, read_instance
from corrclust.problem import Problem
from corrclust.solve import SolveResult, solve

HEURISTICS = ("gaec", "kl", "anytime")
PACE_OPT = {"exact001": -31, "exact013": -302, "exact041": -1502, "exact121": -15063, "exact165": -7910}
MULTICUT_OPT = {"3096": -638.289934, "gm_knott_3d_032": -5811.467771, "gm_knott_3d_034": -4064.865759}


def set_partitions(n):
    """All set partitions of range(n) as label lists (restricted growth strings)."""

    def grow(prefix, k):
        if len(prefix) == n:
            yield list(prefix)
            return
        for label in range(k + 1):
            yield from grow(prefix + [label], max(k, label + 1))

    yield from grow([0], 1) if n else iter([[]])


def brute_force_optimum(costs):
    n = costs.shape[0]
    iu, ju = np.triu_indices(n, 1)
    best = np.inf
    for labels in set_partitions(n):
        lab = np.asarray(labels)
        best = min(best, costs[iu, ju][lab[iu] != lab[ju]].sum())
    return best


def same_partition(a, b):
    return metrics.variation_of_information(a, b)[0] == 0.0


@pytest.mark.parametrize("method", HEURISTICS)
def test_f9_test30_pqap_problem(method):
    ids, sim = load_test30_similarities()
    result = solve(Problem.from_similarities(sim, threshold=0.64), method=method)
    assert result.n_clusters == 3
    assert result.objective == pytest.approx(-11.967111, abs=5e-6)
    assert result.status == "heuristic" and result.lower_bound is None and result.gap is None
    clusters = {frozenset(np.asarray(ids)[result.labels == k].tolist()) for k in range(3)}
    group_a = frozenset([1100 + i for i in range(10)] + [1300 + i for i in range(10) if i != 5])
    assert clusters == {group_a, frozenset(range(1200, 1210)), frozenset([1305])}
    truth = [i // 100 for i in ids]
    assert metrics.compare(truth, result.labels)["vi"] == pytest.approx(0.7884, abs=5e-5)


def test_f12_gaec_is_not_exact_at_060():
    _, sim = load_test30_similarities()
    result = solve(Problem.from_similarities(sim, threshold=0.60), method="gaec")
    assert result.n_clusters == 3
    assert result.objective == pytest.approx(-2.695288, abs=5e-6)
    assert result.objective > -3.207111  # the exact optimum


@pytest.mark.parametrize("name", sorted(PACE_OPT))
def test_heuristics_on_pace_instances(cc_instances_dir, name):
    problem = read_instance(cc_instances_dir / "pace2021" / f"{name}.gr")
    kl = solve(problem, method="kl")
    assert kl.objective >= PACE_OPT[name] - 1e-9
    assert kl.objective == pytest.approx(problem.objective(kl.labels))
    assert pace_edits(problem, kl.objective) >= pace_edits(problem, PACE_OPT[name])
    gaec = solve(problem, method="gaec")
    assert kl.objective <= gaec.objective  # KL starts from GAEC and never worsens it


@pytest.mark.parametrize("name", sorted(MULTICUT_OPT))
def test_heuristics_on_multicut_instances(cc_instances_dir, name):
    problem = read_instance(cc_instances_dir / "opengm-multicut" / f"{name}.txt")
    result = solve(problem, method="kl")
    assert result.objective >= MULTICUT_OPT[name] - 1e-6
    assert result.objective <= MULTICUT_OPT[name] * 0.99  # within 1 % of the optimum (negative values)
    assert result.objective == pytest.approx(problem.objective(result.labels))


@pytest.mark.parametrize("seed", range(4))
def test_heuristics_never_beat_brute_force(seed):
    costs = random_symmetric(7, seed=seed)
    opt = brute_force_optimum(costs)
    for method in HEURISTICS:
        r = solve(costs, method=method)
        assert r.objective >= opt - 1e-9
        assert r.objective == pytest.approx(Problem.from_dense(costs).objective(r.labels))
    assert solve(costs, method="anytime").objective == pytest.approx(opt)


@pytest.mark.parametrize("method", HEURISTICS)
def test_every_input_shape_gives_the_same_result(method):
    nx = pytest.importorskip("networkx")
    costs = random_symmetric(12, seed=4)
    problem = Problem.from_dense(costs)
    edges, edge_costs = problem.to_edges()
    graph = nx.Graph()
    graph.add_nodes_from(range(12))
    graph.add_weighted_edges_from((int(u), int(v), w) for (u, v), w in zip(edges, edge_costs, strict=False))
    reference = solve(problem, method=method)
    inputs = {
        "dense": costs,
        "list": costs.tolist(),
        "condensed": squareform(costs, checks=False),
        "scipy.sparse": scipy.sparse.csr_matrix(costs),
        "(edges, costs)": (edges, edge_costs),
        "(n, edges, costs)": (12, edges, edge_costs),
        "networkx": graph,
    }
    for name, x in inputs.items():
        r = solve(x, method=method)
        assert r.objective == pytest.approx(reference.objective), name
        assert same_partition(r.labels, reference.labels), name


def test_labels_are_int64_and_numbered_in_order_of_appearance():
    r = solve(random_symmetric(20, seed=2), method="kl")
    assert r.labels.dtype == np.int64 and r.labels.shape == (20,)
    assert sorted(set(r.labels.tolist())) == list(range(r.n_clusters))
    first_seen = [r.labels.tolist().index(k) for k in range(r.n_clusters)]
    assert first_seen == sorted(first_seen)


def test_one_node_needs_no_solver(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("the C++ solver must not be called for n = 1")

    monkeypatch.setattr(_core.heuristics, "solve_dense", boom)
    r = solve(np.zeros((1, 1)), method="kl")
    assert r.labels.tolist() == [0] and r.objective == 0.0 and r.status == "optimal" and r.n_clusters == 1
    assert r.lower_bound == 0.0


def test_attractive_and_repulsive_extremes():
    n = 6
    attract = np.ones((n, n)) - np.eye(n)
    assert solve(attract).n_clusters == 1
    assert solve(-attract).n_clusters == n
    assert solve(-attract).objective == -n * (n - 1) / 2
    # a sparse graph with no edges: every labelling costs 0
    assert solve((n, np.zeros((0, 2), np.int64), np.zeros(0))).objective == 0.0


def test_warm_start_is_used_and_validated():
    costs = random_symmetric(15, seed=8)
    p = Problem.from_dense(costs)
    start = np.array([100, 100, -5, 7, 7, 7, 100, -5, 3, 3, 3, 3, 9, 9, 9])
    r = solve(p, method="kl", warm_start=start)
    assert r.objective <= p.objective(start) + 1e-12  # KL never worsens its start
    r2 = solve(p, method="kl", warm_start=start.astype(float))
    assert same_partition(r.labels, r2.labels)
    with pytest.raises(ValueError, match="one label per node"):
        solve(p, warm_start=[0, 1])
    with pytest.raises(ValueError, match="integer labels"):
        solve(p, warm_start=np.full(15, 0.5))
    with pytest.raises(ValueError, match="integer labels"):
        solve(p, warm_start=["a"] * 15)


def test_anytime_is_deterministic_for_a_seed():
    costs = random_symmetric(40, seed=11)
    a = solve(costs, method="anytime", seed=3)
    b = solve(costs, method="anytime", seed=3)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.objective == b.objective


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"method": "greedy"}, "method must be one of"),
        ({"time_limit": -1}, "time_limit"),
        ({"time_limit": float("nan")}, "time_limit"),
        ({"time_limit": "soon"}, "time_limit"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"progress": "yes"}, "progress"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        solve(random_symmetric(4), **kwargs)


def test_bad_problem_input_is_a_value_error():
    with pytest.raises(ValueError, match="not symmetric"):
        solve(np.array([[0, 1.0], [-1.0, 0]]))
    with pytest.raises(ValueError, match="empty"):
        solve(np.zeros((0, 0)))


def test_progress_callable_and_bar(capsys):
    seen = []
    solve(random_symmetric(60, seed=1), method="anytime", time_limit=0.5, progress=seen.append)
    assert seen and all(isinstance(d, dict) and "phase" in d and "elapsed" in d for d in seen)
    r = solve(random_symmetric(60, seed=1), method="anytime", time_limit=0.5, progress=True)
    assert r.labels.shape == (60,)


def test_time_limit_returns_the_best_so_far():
    costs = random_symmetric(300, seed=5)
    r = solve(costs, method="anytime", time_limit=0.05)
    assert r.status in ("time_limit", "heuristic")
    assert r.runtime < 5.0
    assert r.objective == pytest.approx(Problem.from_dense(costs).objective(r.labels))


def test_exact_without_binding_is_a_clear_not_implemented(monkeypatch):
    monkeypatch.delattr(_core, "exact", raising=False)
    with pytest.raises(NotImplementedError, match="exact solver is not available"):
        solve(random_symmetric(4), method="exact")


def test_exact_dispatch_follows_the_binding_contract(monkeypatch):
    calls = []

    def fake_dense(costs, time_limit=None, seed=0, warm_start=None, progress=None, options=None):
        calls.append(("dense", costs.shape, time_limit, seed, warm_start))
        return {
            "labels": np.array([4, 4, 2, 2]),
            "objective": -1.5,
            "lower_bound": -1.5,
            "gap": 0.0,
            "status": "optimal",
            "nodes": 3,
            "cuts": 17,
            "runtime": 0.01,
        }

    def fake_sparse(n, edges, costs, time_limit=None, seed=0, warm_start=None, progress=None, options=None):
        calls.append(("sparse", n, edges.shape, costs.shape))
        return {
            "labels": np.array([0, 1, 1, 0]),
            "objective": -1.0,
            "lower_bound": -2.0,
            "gap": 1.0,
            "status": "time_limit",
            "nodes": 9,
            "cuts": 4,
            "runtime": 0.5,
        }

    monkeypatch.setattr(_core.exact, "solve_dense", fake_dense)
    monkeypatch.setattr(_core.exact, "solve_sparse", fake_sparse)
    r = solve(random_symmetric(4), method="exact", time_limit=2, seed=7, warm_start=[5, 5, 6, 6])
    assert calls[0][0] == "dense" and calls[0][2] == 2.0 and calls[0][3] == 7
    np.testing.assert_array_equal(calls[0][4], [0, 0, 1, 1])
    assert r.labels.tolist() == [0, 0, 1, 1] and r.status == "optimal"
    assert (r.lower_bound, r.gap, r.nodes, r.cuts) == (-1.5, 0.0, 3, 17)
    r = solve((4, [[0, 1], [1, 2], [2, 3]], [1.0, -1.0, 1.0]), method="exact")
    assert calls[1] == ("sparse", 4, (3, 2), (3,))
    assert r.status == "time_limit" and r.lower_bound == -2.0 and r.nodes == 9


def test_result_serialises_and_package_level_names_work():
    r = corrclust.solve(random_symmetric(5), method="gaec")
    assert isinstance(r, SolveResult) and isinstance(r, corrclust.SolveResult)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["labels"] == r.labels.tolist() and d["n_clusters"] == r.n_clusters
    # importing the submodule must not rebind the package attribute corrclust.solve
    solve_module = importlib.import_module("corrclust.solve")

    assert corrclust.solve(random_symmetric(5), method="gaec").objective == r.objective
    assert solve_module.solve is solve


needs_exact = pytest.mark.skipif(not hasattr(_core, "exact"), reason="this build has no exact solver binding")


@needs_exact
@pytest.mark.parametrize("threshold, clusters, optimum", [(0.64, 3, -11.967111), (0.65, 4, -14.424960)])
def test_exact_on_the_test30_problem(threshold, clusters, optimum):
    _, sim = load_test30_similarities()
    problem = Problem.from_similarities(sim, threshold=threshold)
    r = solve(problem, method="exact", time_limit=60)
    assert r.status == "optimal" and r.n_clusters == clusters
    assert r.objective == pytest.approx(optimum, abs=5e-6)
    assert r.lower_bound == pytest.approx(r.objective, abs=1e-6) and r.gap <= 1e-6
    assert r.nodes is not None and r.cuts is not None
    assert r.objective <= solve(problem, method="gaec").objective + 1e-9


@needs_exact
@pytest.mark.parametrize("seed", range(3))
def test_exact_matches_brute_force_dense_and_sparse(seed):
    costs = random_symmetric(7, seed=seed)
    opt = brute_force_optimum(costs)
    dense = solve(costs, method="exact")
    sparse = solve(Problem.from_edges(7, *Problem.from_dense(costs).to_edges()), method="exact")
    for r in (dense, sparse):
        assert r.status == "optimal" and r.objective == pytest.approx(opt, abs=1e-9)
