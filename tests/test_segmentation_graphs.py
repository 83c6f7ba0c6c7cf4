"""Segmentation multicut instances from images: seeded, sized as asked, well formed, solved exactly."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import LinearConstraint, milp
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components

import corrclust
from corrclust.formats.instances import read_instance, write_multicut
from corrclust.problem import PROBABILITY_CLAMP
from corrclust.segmentation_graphs import folder_multicut, superpixel_multicut, superpixels
from tests.conftest import require_shared

CLAMP = np.log((1 - PROBABILITY_CLAMP) / PROBABILITY_CLAMP)


def blobs(shape=(200, 260), seed=0) -> np.ndarray:
    """A grey test image: bright discs on a ramp, plus noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    img = 0.2 + 0.3 * xx / shape[1]
    for _ in range(12):
        cy, cx, r = rng.uniform(0, shape[0]), rng.uniform(0, shape[1]), rng.uniform(8, 30)
        img = np.where((yy - cy) ** 2 + (xx - cx) ** 2 < r * r, rng.uniform(0.5, 1.0), img)
    return np.clip(img + 0.05 * rng.normal(size=shape), 0, 1)


def check_well_formed(problem: corrclust.Problem) -> None:
    edges, costs = problem.edges, problem.costs
    assert edges is not None and edges.dtype == np.int64 and costs.dtype == np.float64
    assert np.all(edges[:, 0] < edges[:, 1])
    keys = edges[:, 0] * problem.n + edges[:, 1]
    assert np.all(np.diff(keys) > 0)  # sorted, distinct
    assert np.isfinite(costs).all() and np.abs(costs).max() <= CLAMP + 1e-9
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(problem.n,) * 2)
    assert connected_components(graph, directed=False)[0] == 1
    assert len(edges) <= 3 * problem.n - 6  # a planar graph's edge bound (Euler)


def test_instance_is_deterministic_sized_and_well_formed():
    img = blobs()
    a = superpixel_multicut(img, 500, noise=0.5, seed=3)
    b = superpixel_multicut(img, 500, noise=0.5, seed=3)
    c = superpixel_multicut(img, 500, noise=0.5, seed=4)
    assert np.array_equal(a.edges, b.edges) and np.array_equal(a.costs, b.costs)
    assert np.array_equal(a.edges, c.edges) and not np.array_equal(a.costs, c.costs)
    assert 450 <= a.n <= 550
    check_well_formed(a)
    # boundary_share: the share of edges with a boundary probability above 1/2 (negative cost).
    clean = superpixel_multicut(img, 500, boundary_share=0.3)
    assert np.mean(clean.costs < 0) == pytest.approx(0.3, abs=0.01)


def test_edges_are_the_touching_superpixels():
    # An independent adjacency: skimage's region adjacency graph of the same label image.
    from skimage.graph import RAG
    from skimage.measure import label

    img = blobs(seed=1)
    labels = superpixels(img, 400)
    problem = superpixel_multicut(img, 400)
    assert problem.n == labels.max() + 1
    for k in range(problem.n):  # every superpixel is one connected piece (4-neighbourhood)
        assert label(labels == k, connectivity=1).max() == 1
    rag = RAG(labels, connectivity=1)
    expected = sorted((min(u, v), max(u, v)) for u, v in rag.edges)
    assert [tuple(e) for e in problem.edges.tolist()] == expected
    lengths = problem.metadata["boundary_length"]
    assert lengths.shape == (problem.num_edges,) and lengths.min() >= 1


def test_bad_arguments():
    img = blobs((40, 40))
    with pytest.raises(ValueError, match="too small"):
        superpixel_multicut(img, 1000)
    with pytest.raises(ValueError, match="boundary_share"):
        superpixel_multicut(img, 50, boundary_share=1.0)
    with pytest.raises(ValueError, match="noise"):
        superpixel_multicut(img, 50, noise=float("nan"))
    with pytest.raises(ValueError, match="shape"):
        superpixel_multicut(np.zeros((5, 5, 5, 5)), 2)


def test_folder_instances_at_both_ends_of_the_size_range():
    fields = require_shared("data/organoid-fields")
    smears = require_shared("data/rbc-morphology")
    for folder, n in ((fields, 1000), (fields, 20000), (smears, 20000)):
        problem = folder_multicut(folder, n, seed=2)
        assert 0.9 * n <= problem.n <= 1.1 * n, (folder, n, problem.n)
        check_well_formed(problem)
        again = folder_multicut(folder, n, seed=2)
        assert (
            np.array_equal(problem.costs, again.costs)
            and problem.metadata["image"] == again.metadata["image"]
        )
    assert (
        folder_multicut(fields, 1000, seed=5).metadata["image"]
        != folder_multicut(fields, 1000, seed=2).metadata["image"]
    )


def test_folder_errors_name_the_folder(tmp_path):
    with pytest.raises(ValueError, match="no image files"):
        folder_multicut(tmp_path, 100)
    with pytest.raises(ValueError, match="not a folder"):
        folder_multicut(tmp_path / "absent", 100)


def test_written_instance_reads_back_bit_for_bit(tmp_path):
    problem = superpixel_multicut(blobs(seed=2), 300, noise=1.0, seed=1)
    write_multicut(tmp_path / "seg.txt", problem)
    back = read_instance(tmp_path / "seg.txt")
    assert np.array_equal(back.edges, problem.edges) and np.array_equal(back.costs, problem.costs)
    lonely = corrclust.Problem.from_edges(4, [[0, 1], [1, 2]], [1.0, -1.0])
    with pytest.raises(ValueError, match="node 3 has no edge"):
        write_multicut(tmp_path / "lonely.txt", lonely)
    assert not (tmp_path / "lonely.txt").exists()


def cycle_milp_optimum(problem: corrclust.Problem) -> float:
    """The optimum by HiGHS's MILP with lazily added cycle inequalities (independent of corrclust's
    solver): re-solve until the integral solution cuts no edge whose ends stay joined."""
    n, edges, costs = problem.n, problem.edges, problem.costs
    m = len(costs)
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    nrows = 0
    while True:
        cons = []
        if nrows:
            cons = [LinearConstraint(csr_matrix((vals, (rows, cols)), shape=(nrows, m)), -np.inf, 0.0)]
        res = milp(costs, constraints=cons, integrality=np.ones(m), bounds=(0, 1))
        assert res.status == 0
        y = np.round(res.x)
        kept = y == 0
        joined = csr_matrix((np.ones(kept.sum()), (edges[kept, 0], edges[kept, 1])), shape=(n, n))
        joined = joined + joined.T
        comp = connected_components(joined, directed=False)[1]
        violated = np.flatnonzero((y == 1) & (comp[edges[:, 0]] == comp[edges[:, 1]]))
        if violated.size == 0:
            return float(costs @ y)
        index = {(int(a), int(b)): k for k, (a, b) in enumerate(edges.tolist())}
        for e in violated[:200].tolist():
            u, v = int(edges[e, 0]), int(edges[e, 1])
            _, pred = breadth_first_order(joined, u, directed=False, return_predecessors=True)
            path, w = [], v
            while w != u:
                p = int(pred[w])
                path.append(index[(min(p, w), max(p, w))])
                w = p
            # y_e <= sum of y over the path: y_e - sum(y_path) <= 0
            rows += [nrows] * (1 + len(path))
            cols += [e, *path]
            vals += [1.0] + [-1.0] * len(path)
            nrows += 1


def test_exact_solver_proves_the_optimum_of_a_small_image_instance():
    fields = require_shared("data/organoid-fields")
    problem = folder_multicut(fields, 300, seed=0, boundary_share=0.5, noise=1.0)
    assert 270 <= problem.n <= 330
    result = corrclust.solve(problem, method="exact")
    assert result.status == "optimal"
    assert result.objective == pytest.approx(problem.objective(result.labels), abs=1e-9)
    assert result.objective == pytest.approx(cycle_milp_optimum(problem), abs=1e-6)
    assert result.lower_bound <= result.objective + 1e-9
    for method in ("gaec", "kl", "anytime"):  # a proven optimum is never above a heuristic
        assert result.objective <= corrclust.solve(problem, method=method, time_limit=2).objective + 1e-9
