"""The background model (a sparse graph whose missing pairs cost b <= 0): GAEC against the dense
GAEC on the filled matrix, the local search against brute force, b = 0, Ctrl-C and bad input."""

from __future__ import annotations

import _thread
import csv
import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from corrclust import feature_costs
from corrclust._native import _core
from corrclust.background import background_objective, parse_background, solve_background
from corrclust.candidates import candidate_edges, exact_knn
from corrclust.embedding_clustering import REPULSION_SAMPLES, cluster_embeddings, two_hop_sample
from corrclust.generators import planted_embeddings
from corrclust.pipeline import number_clusters
from corrclust.solve import _renumber, solve


def random_instance(n: int, density: float, seed: int, integer: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Edges (u < v, each pair once) of a random graph and their costs (integers in [-4, 4]: sums
    are exact in floating point, and the many ties test the tie rule)."""
    rng = np.random.default_rng(seed)
    pairs = np.array([(i, j) for i in range(n) for j in range(i + 1, n)], dtype=np.int64).reshape(-1, 2)
    uv = pairs[rng.random(len(pairs)) < density]
    costs = rng.integers(-4, 5, len(uv)).astype(float) if integer else rng.normal(size=len(uv))
    return uv, costs


def filled(n: int, uv: np.ndarray, costs: np.ndarray, b: float) -> np.ndarray:
    C = np.full((n, n), b)
    C[uv[:, 0], uv[:, 1]] = costs
    C[uv[:, 1], uv[:, 0]] = costs
    np.fill_diagonal(C, 0.0)
    return C


def dense_objective(C: np.ndarray, labels: np.ndarray) -> float:
    return float(C[labels[:, None] != labels[None, :]].sum() / 2)


CASES = [(n, density, b, seed) for seed in range(12) for n, density in ((6, 0.5), (15, 0.3), (40, 0.15))
         for b in (-0.5, -1.0, -3.0)]  # fmt: skip


@pytest.mark.parametrize(("n", "density", "b", "seed"), CASES)
def test_gaec_equals_the_dense_gaec_on_the_filled_matrix(n: int, density: float, b: float, seed: int) -> None:
    uv, costs = random_instance(n, density, seed)
    C = filled(n, uv, costs, b)
    want = _core.heuristics.solve_dense(C, "gaec")
    got = solve_background(n, uv, costs, b, method="gaec")
    assert got.labels.tolist() == _renumber(np.asarray(want["labels"])).tolist()
    assert got.objective == dense_objective(C, got.labels) == want["objective"]
    # from a warm start: the start's clusters first, then GAEC, on both
    start = np.random.default_rng(seed).integers(0, max(2, n // 3), n)
    want = _core.heuristics.solve_dense(C, "gaec", warm_start=start)
    got = solve_background(n, uv, costs, b, method="gaec", warm_start=start)
    assert got.labels.tolist() == _renumber(np.asarray(want["labels"])).tolist()


def partitions(n: int) -> np.ndarray:
    """Every partition of n nodes as restricted growth strings (Bell(n) rows)."""
    rows: list[list[int]] = [[0]]
    for _ in range(1, n):
        rows = [r + [c] for r in rows for c in range(max(r) + 2)]
    return np.array(rows, dtype=np.int64)


def improving_move(C: np.ndarray, labels: np.ndarray, tol: float) -> bool:
    """Whether moving one node to another cluster (or alone) or joining two clusters lowers the cost."""
    base = dense_objective(C, labels)
    n = labels.size
    for v, target in itertools.product(range(n), range(n + 1)):
        trial = labels.copy()
        trial[v] = target if target < n else labels.max() + 1
        if dense_objective(C, trial) < base - tol:
            return True
    for a, c in itertools.combinations(range(int(labels.max()) + 1), 2):
        if dense_objective(C, np.where(labels == c, a, labels)) < base - tol:
            return True
    return False


@pytest.mark.parametrize("seed", range(10))
def test_moves_against_brute_force(seed: int) -> None:
    n = 7 + seed % 3  # 7, 8 and 9 nodes
    uv, costs = random_instance(n, 0.5, 100 + seed, integer=False)
    b = -0.25 - 0.5 * (seed % 4)
    C = filled(n, uv, costs, b)
    P = partitions(n)
    cut = P[:, :, None] != P[:, None, :]
    optimum = float((cut * C).sum(axis=(1, 2)).min() / 2)
    gaec = solve_background(n, uv, costs, b, method="gaec")
    moves = solve_background(n, uv, costs, b, method="moves")
    assert optimum - 1e-9 <= moves.objective <= gaec.objective + 1e-12
    # the reported objective is the model's, i.e. the dense objective of the filled matrix
    assert moves.objective == pytest.approx(dense_objective(C, moves.labels), abs=1e-9)
    assert moves.objective == pytest.approx(background_objective(n, uv, costs, b, moves.labels), abs=1e-9)
    assert not improving_move(C, moves.labels, 1e-9)  # a local optimum of moves and joins


def test_zero_background_is_the_sparse_graph_alone() -> None:
    n = 300
    uv, costs = random_instance(n, 0.03, 7, integer=False)
    plain = solve((n, uv, costs), method="gaec")
    got = solve_background(n, uv, costs, 0.0, method="gaec")
    assert got.labels.tolist() == plain.labels.tolist()
    assert got.objective == pytest.approx(plain.objective, abs=1e-9)


def test_zero_background_keeps_the_sparse_path_labels() -> None:
    X, _ = planted_embeddings(400, 8, seed=3)
    r = cluster_embeddings(X, path="sparse", background=0)
    idx, dist = exact_knn(X, 30)
    uv, d = candidate_edges(idx, dist)
    costs = feature_costs.pair_costs(uv, d, feature_costs.local_scales(dist, 7))
    want = solve((400, uv, costs), method="kl")
    assert r.background == 0.0 and r.labels.tolist() == want.labels.tolist()
    assert r.objective == want.objective


def test_two_hop_sample_holds_only_non_edges_two_steps_apart() -> None:
    # the path 0-1-2-3-4 and the edge 5-6: two-hop non-edges are (0,2), (1,3), (2,4) only
    uv = np.array([[0, 1], [1, 2], [2, 3], [3, 4], [5, 6]], dtype=np.int64)
    X = np.arange(7, dtype=float)[:, None] ** 2
    pairs, d = two_hop_sample(X, uv, 5000, 3)
    got = {tuple(p) for p in pairs.tolist()}
    assert got == {(0, 2), (1, 3), (2, 4)}
    np.testing.assert_array_equal(d, np.abs(X[pairs[:, 0], 0] - X[pairs[:, 1], 0]))
    # the same seed draws the same pairs; a complete graph has none to draw
    again, _ = two_hop_sample(X, uv, 5000, 3)
    np.testing.assert_array_equal(pairs, again)
    full = np.array([[0, 1], [0, 2], [1, 2]], dtype=np.int64)
    assert two_hop_sample(X[:3], full, 1000, 0)[0].shape == (0, 2)


def test_auto_background_solves_the_all_pairs_objective() -> None:
    X, _ = planted_embeddings(600, 16, seed=2)
    r = cluster_embeddings(X, path="sparse", refine=False)  # the solve alone
    idx, dist = exact_knn(X, 30)
    uv, d = candidate_edges(idx, dist)
    sigma = feature_costs.local_scales(dist, 7)
    costs = feature_costs.pair_costs(uv, d, sigma)
    # "auto" is the mean cost of the two-hop pairs outside the graph, nearer (less repulsive) than
    # the random pairs whose mean estimates the dense objective
    pairs, dd = two_hop_sample(X, uv, REPULSION_SAMPLES, 0)
    assert r.background == feature_costs.pair_costs(pairs, dd, sigma).mean()
    assert r.left_out_cost is not None and r.left_out_cost < r.background < 0
    want = background_objective(600, uv, costs, r.background, r.labels)
    assert r.objective == pytest.approx(want, rel=1e-12)
    estimate = background_objective(600, uv, costs, r.left_out_cost, r.labels)
    assert r.objective_all_pairs == pytest.approx(estimate, rel=1e-12)
    # GAEC alone does no better than GAEC with moves and joins
    g = cluster_embeddings(X, path="sparse", solver="gaec")
    assert r.objective <= g.objective


def test_ctrl_c_raises_keyboard_interrupt() -> None:
    rng = np.random.default_rng(0)
    n = 200_000
    u = rng.integers(0, n, 2_000_000)
    v = (u + rng.integers(1, 50, u.size)) % n
    uv = np.stack([u, v], axis=1)
    costs = rng.normal(size=u.size)

    def interrupt_now(_: dict) -> None:
        _thread.interrupt_main()  # as if Ctrl-C came during the first progress report

    with pytest.raises(KeyboardInterrupt):
        solve_background(n, uv, costs, -0.5, method="moves", progress=interrupt_now, time_limit=120)


def test_time_limit_zero_returns_the_start() -> None:
    uv, costs = random_instance(30, 0.3, 1)
    start = np.arange(30) % 4
    r = solve_background(30, uv, costs, -1.0, method="moves", warm_start=start, time_limit=0)
    assert r.status == "time_limit" and r.labels.tolist() == _renumber(start).tolist()
    assert r.objective == background_objective(30, uv, costs, -1.0, start)


@pytest.mark.parametrize(
    ("value", "message"),
    [(0.5, "finite number <= 0"), ("many", "'auto' or a number"), (float("nan"), "finite"), (True, "'auto'")],
)
def test_bad_background_is_one_line(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_background(value)
    with pytest.raises(ValueError, match=message):
        cluster_embeddings(np.eye(5), path="sparse", background=value)  # type: ignore[arg-type]


def test_background_needs_a_solver_that_knows_it() -> None:
    with pytest.raises(ValueError, match="solver 'anytime' cannot solve with a background cost"):
        cluster_embeddings(np.eye(5), path="sparse", solver="anytime")
    with pytest.raises(ValueError, match="background must be a number <= 0"):
        _core.heuristics.solve_background(3, np.zeros((0, 2), np.int64), np.zeros(0), 1.0, "gaec")
    assert (
        parse_background("auto") == "auto" and parse_background("-2") == -2.0 and parse_background(0) == 0.0
    )


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    # the environment is inherited: the corrclust under test is the one this interpreter imports
    return subprocess.run(
        [sys.executable, "-m", "corrclust", "cluster", *args], cwd=cwd, capture_output=True, text=True
    )


def test_cli_background_option(tmp_path: Path) -> None:
    X, _ = planted_embeddings(300, 8, seed=4)
    np.save(tmp_path / "E.npy", X)
    out = run_cli(
        "--embeddings", "E.npy", "-o", "out", "--pairs", "knn", "--background", "-1.5", cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    want = cluster_embeddings(X, path="sparse", background=-1.5)
    assert summary["background"] == -1.5 and summary["clusters"] == want.n_clusters
    with open(tmp_path / "out" / "clusters.csv", newline="") as fh:
        # numbered 1..K by decreasing size, as an image folder's clusters.csv
        assert [int(r["cluster"]) for r in csv.DictReader(fh)] == number_clusters(want.labels).tolist()
    for args, message in (
        (["--background", "2"], "--background must be 'auto' or a finite number <= 0 (repulsive), got '2'"),
        (["--solver", "anytime"], "--solver anytime cannot solve the sparse path with a background cost"),
    ):
        bad = run_cli("--embeddings", "E.npy", "-o", "o2", "--pairs", "knn", *args, cwd=tmp_path)
        lines = bad.stderr.strip().splitlines()
        assert bad.returncode == 2 and len(lines) == 1 and message in lines[0], bad.stderr
    assert not (tmp_path / "o2").exists()
