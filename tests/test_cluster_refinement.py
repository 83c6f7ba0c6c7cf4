"""The refinement of a sparse solve on the exact pairs around its clusters: the pairs it lists
against brute force, a join the background cost blocks, local optimality on the dense objective
where the listed pairs are all pairs, the pair budget, and its effect inside cluster_embeddings."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from corrclust import feature_costs
from corrclust.background import background_objective, solve_background
from corrclust.cluster_refinement import attractive_neighbours, block_pairs, count_block_pairs, refine
from corrclust.embedding_clustering import cluster_embeddings


def dense_objective(C: np.ndarray, labels: np.ndarray) -> float:
    return float(C[labels[:, None] != labels[None, :]].sum() / 2)


def brute_pairs(labels: np.ndarray, neighbours: np.ndarray) -> set[tuple[int, int]]:
    across = {tuple(p) for p in neighbours.tolist()}
    return {
        (i, j)
        for i, j in itertools.combinations(range(labels.size), 2)
        if labels[i] == labels[j] or (min(labels[i], labels[j]), max(labels[i], labels[j])) in across
    }


@pytest.mark.parametrize("chunk", [1, 3, 7, 1 << 20])
def test_block_pairs_are_the_pairs_inside_and_across_once(chunk: int) -> None:
    labels = np.array([2, 0, 1, 0, 2, 2, 3, 1, 0, 4])
    neighbours = np.array([[0, 2], [1, 3], [2, 4]])
    listed = np.concatenate(list(block_pairs(labels, neighbours, chunk=chunk)))
    got = [tuple(p) for p in listed.tolist()]
    assert len(got) == len(set(got)) == count_block_pairs(labels, neighbours) == 3 + 1 + 3 + 9 + 2 + 3
    assert set(got) == brute_pairs(labels, neighbours)
    assert all(i < j for i, j in got)


def test_attractive_neighbours_need_an_edge_of_positive_cost() -> None:
    labels = np.array([0, 0, 1, 1, 2, 3])
    uv = np.array([[0, 1], [1, 2], [0, 3], [3, 4], [2, 5], [4, 5]])
    costs = np.array([5.0, 0.5, -1.0, -2.0, 0.0, 1.5])
    assert attractive_neighbours(labels, uv, costs).tolist() == [[0, 1], [2, 3]]


def test_a_join_the_background_blocks_is_made_on_the_exact_pairs() -> None:
    # two paths 0-1-2 and 3-4-5 joined by the edge (2, 3); every pair attracts (+1, +2 on the
    # graph), but at b = -1 the solve keeps them apart: joining gains 1 + (-1)(9 - 1) = -7
    uv = np.array([[0, 1], [1, 2], [3, 4], [4, 5], [2, 3]])
    costs = np.array([2.0, 2.0, 2.0, 2.0, 1.0])
    C = np.ones((6, 6))
    C[uv[:, 0], uv[:, 1]] = C[uv[:, 1], uv[:, 0]] = costs
    first = solve_background(6, uv, costs, -1.0, method="moves")
    assert first.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert first.objective == 1.0 - 8.0
    out = refine(6, uv, costs, first.labels, -1.0, lambda p: C[p[:, 0], p[:, 1]])
    assert out.labels.tolist() == [0] * 6
    assert out.objective == 0.0
    assert out.pairs == [15, 15]  # all pairs, then the same again with nothing left to change
    assert out.edges.tolist() == [list(p) for p in itertools.combinations(range(6), 2)]
    assert out.skipped is None


def chain_instance(
    seed: int, attract: tuple[tuple[int, int], ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """9 nodes, integer costs ``C``, the chain graph ``uv`` with its ``costs``; the pairs ``attract``
    made attractive, so that clusters split there share an attractive edge."""
    rng = np.random.default_rng(seed)
    n = 9
    C = rng.integers(-4, 5, (n, n)).astype(float)
    C = np.triu(C, 1) + np.triu(C, 1).T
    for (i, j), c in zip(attract, (3.0, 2.0), strict=False):
        C[i, j] = C[j, i] = c
    uv = np.array([[i, i + 1] for i in range(n - 1)])
    return C, uv, C[uv[:, 0], uv[:, 1]]


def assert_no_single_move_improves(C: np.ndarray, labels: np.ndarray, objective: float) -> None:
    n = labels.size
    for node, target in itertools.product(range(n), range(n + 1)):
        moved = labels.copy()
        moved[node] = target if target < n else labels.max() + 1
        assert dense_objective(C, moved) >= objective


@pytest.mark.parametrize("seed", range(8))
def test_where_all_pairs_are_listed_the_result_is_a_dense_local_optimum(seed: int) -> None:
    # 9 nodes, integer costs; the start puts every node in one of two clusters that share an
    # attractive edge, so the first round lists all 36 pairs and the model is the dense objective
    C, uv, costs = chain_instance(seed, ((3, 4),))
    start = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1])
    out = refine(9, uv, costs, start, -2.0, lambda p: C[p[:, 0], p[:, 1]], rounds=1)
    assert out.pairs == [36]
    assert out.objective == dense_objective(C, out.labels)
    assert out.objective <= dense_objective(C, start)
    assert_no_single_move_improves(C, out.labels, out.objective)


@pytest.mark.parametrize("seed", range(8))
def test_restart_where_all_pairs_are_listed_is_the_solve_of_the_complete_graph(seed: int) -> None:
    # as above, every pair is listed: with restart the round is GAEC + moves from single rows on the
    # complete graph, whatever the start, and the result is a dense local optimum
    C, uv, costs = chain_instance(seed, ((3, 4), (4, 5)))  # (4, 5): the second start's split
    complete = np.array(list(itertools.combinations(range(9), 2)))
    alone = solve_background(9, complete, C[complete[:, 0], complete[:, 1]], -2.0, method="moves")
    same = alone.labels[:, None] == alone.labels[None, :]
    for start in ([0, 0, 0, 0, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 1, 1, 1, 1]):
        out = refine(
            9, uv, costs, np.array(start), -2.0, lambda p: C[p[:, 0], p[:, 1]], rounds=1, restart=True
        )
        assert out.pairs == [36]
        assert np.array_equal(out.labels[:, None] == out.labels[None, :], same)
        assert out.objective == dense_objective(C, out.labels) == alone.objective
        assert_no_single_move_improves(C, out.labels, out.objective)


def test_the_pair_budget_skips_and_says_so() -> None:
    uv = np.array([[0, 1], [1, 2], [2, 3]])
    costs = np.array([1.0, 1.0, 1.0])
    out = refine(4, uv, costs, np.array([5, 5, 7, 7]), -1.0, lambda p: np.ones(len(p)), max_pairs=5)
    assert out.labels.tolist() == [0, 0, 1, 1]
    assert out.pairs == [] and out.edges is not None and out.edges.tolist() == uv.tolist()
    assert (
        out.skipped
        == "the pairs around the clusters (6) are more than 5 (8 x the graph's or max_pairs): not refined"
    )
    assert out.objective == background_objective(4, uv, costs, -1.0, out.labels)


def test_bad_labels_are_refused() -> None:
    with pytest.raises(ValueError, match="one label per node"):
        refine(3, np.array([[0, 1]]), np.array([1.0]), np.array([0, 0]), -1.0, lambda p: np.ones(len(p)))


def test_cluster_embeddings_refines_toward_the_dense_objective() -> None:
    # rows without classes (the weakly separated case): the sparse solve splits more than the dense
    # path, and the refinement (solved again from single rows on the exact pairs) brings its labels'
    # dense objective most of the way to the dense path's (-268611.761 with moves from the labels)
    X = np.random.default_rng(0).normal(size=(400, 6))
    C, _ = feature_costs.costs_from_features(X)
    dense = cluster_embeddings(X, path="dense")
    plain = cluster_embeddings(X, path="sparse", graph_k=10, refine=False)
    refined = cluster_embeddings(X, path="sparse", graph_k=10)
    assert (dense.n_clusters, plain.n_clusters, refined.n_clusters) == (94, 118, 95)
    assert dense_objective(C, dense.labels) == pytest.approx(-268626.342, abs=1e-3)
    assert dense_objective(C, plain.labels) == pytest.approx(-268579.557, abs=1e-3)
    assert dense_objective(C, refined.labels) == pytest.approx(-268620.084, abs=1e-3)
    r, b = refined.refinement, refined.background
    assert b is not None and r is not None
    assert r.pairs == [12520, 16358, 16691] and r.skipped is None
    # the pairs of the last graph carry the dense entries, and the objective is the model's on it
    assert np.allclose(r.costs, C[r.edges[:, 0], r.edges[:, 1]], rtol=0, atol=1e-10)
    assert refined.objective == pytest.approx(
        background_objective(400, r.edges, r.costs, b, refined.labels), abs=1e-6
    )
    assert plain.refinement is None and refined.summary()["refined_pairs"] == [12520, 16358, 16691]


def test_on_planted_classes_the_refined_labels_are_the_dense_paths() -> None:
    from corrclust.generators import planted_embeddings
    from corrclust.metrics import variation_of_information

    X, _ = planted_embeddings(600, 16, seed=2)  # 60 classes of 10 rows
    dense = cluster_embeddings(X, path="dense")
    plain = cluster_embeddings(X, path="sparse", refine=False)
    refined = cluster_embeddings(X, path="sparse")
    assert (dense.n_clusters, plain.n_clusters, refined.n_clusters) == (60, 61, 60)
    assert variation_of_information(dense.labels, refined.labels)[0] == 0.0
    assert variation_of_information(dense.labels, plain.labels)[0] > 0.005


def test_cli_no_refine_keeps_the_solve(tmp_path) -> None:
    import json
    import subprocess
    import sys

    X = np.random.default_rng(0).normal(size=(400, 6))
    np.save(tmp_path / "E.npy", X)
    for flag, out in (([], "on"), (["--no-refine"], "off")):
        args = ["--embeddings", "E.npy", "-o", out, "--pairs", "knn", "--knn-k", "10", *flag]
        done = subprocess.run(
            [sys.executable, "-m", "corrclust", "cluster", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
    on = json.loads((tmp_path / "on" / "summary.json").read_text())
    off = json.loads((tmp_path / "off" / "summary.json").read_text())
    assert (on["clusters"], off["clusters"]) == (95, 118)
    assert on["refined_pairs"] == [12520, 16358, 16691] and off["refined_pairs"] is None
