"""Problem construction from every input shape, cost models, and validation of bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse
from conftest import require_shared
from scipy.spatial.distance import squareform

from corrclust.problem import Problem, as_problem

MATCHING = "data/paper-keypoints/matching_results/matching_results_organoid_dataset_unseen_classes.csv"


def load_test30_similarities() -> tuple[list[int], np.ndarray]:
    """The stored Test-30 ``quadratic_matching`` block: ids and S (diagonal 'S' read as NaN)."""
    path = require_shared(MATCHING)
    lines = path.read_text().splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith("quadratic_matching,"))
    ids = [int(x) for x in lines[start].split(",")[1:] if x]
    sim = np.full((len(ids), len(ids)), np.nan)
    for r, line in enumerate(lines[start + 1 : start + 1 + len(ids)]):
        cells = [x for x in line.split(",") if x]
        assert int(cells[0]) == ids[r]
        sim[r] = [np.nan if x == "S" else float(x) for x in cells[1:]]
    return ids, sim


def random_symmetric(n, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n))
    a = (a + a.T) / 2
    np.fill_diagonal(a, 0)
    return a


def brute_objective(costs, labels):
    n = len(labels)
    return sum(costs[i, j] for i, j in itertools.combinations(range(n), 2) if labels[i] != labels[j])


def test_from_dense_is_zero_copy_and_objective_matches_definition():
    c = random_symmetric(7)
    p = Problem.from_dense(c)
    assert p.is_dense and p.n == 7 and p.num_edges == 21
    assert np.shares_memory(p.costs, c)  # C-contiguous float64, zero diagonal: no copy
    labels = np.array([0, 0, 1, 1, 2, 0, 2])
    assert p.objective(labels) == pytest.approx(brute_objective(c, labels))
    assert p.objective(np.zeros(7, int)) == 0.0
    assert p.objective(np.arange(7)) == pytest.approx(c[np.triu_indices(7, 1)].sum())


def test_from_dense_ignores_the_diagonal_and_tolerates_rounding():
    c = random_symmetric(5)
    d = c.copy()
    np.fill_diagonal(d, np.nan)
    d[0, 1] += 1e-12  # asymmetric only by round-off
    p = Problem.from_dense(d)
    assert np.all(np.diagonal(p.costs) == 0)
    np.testing.assert_array_equal(p.costs, p.costs.T)
    np.testing.assert_allclose(p.costs, c, atol=1e-11)
    assert np.isnan(d[0, 0])  # the caller's array is untouched


def test_condensed_and_dense_agree():
    c = random_symmetric(6, seed=3)
    p = Problem.from_condensed(squareform(c, checks=False))
    np.testing.assert_array_equal(p.costs, c)


def test_from_edges_sums_parallel_edges_in_either_orientation():
    p = Problem.from_edges(4, [[1, 0], [0, 1], [2, 3], [3, 2], [1, 2]], [1.0, 2.5, -1.0, -2.0, 0.5])
    assert not p.is_dense
    np.testing.assert_array_equal(p.edges, [[0, 1], [1, 2], [2, 3]])
    np.testing.assert_allclose(p.costs, [3.5, 0.5, -3.0])
    assert p.edges.dtype == np.int64 and p.costs.dtype == np.float64
    assert p.objective([0, 0, 1, 1]) == pytest.approx(0.5)
    assert p.objective([0, 1, 2, 3]) == pytest.approx(1.0)


def test_sparse_and_dense_give_the_same_objective():
    c = random_symmetric(8, seed=5)
    dense = Problem.from_dense(c)
    edges, costs = dense.to_edges()
    sparse = Problem.from_edges(8, edges, costs)
    rng = np.random.default_rng(1)
    for _ in range(5):
        labels = rng.integers(0, 3, size=8)
        assert sparse.objective(labels) == pytest.approx(dense.objective(labels))
    np.testing.assert_allclose(sparse.to_dense(), c)


def test_from_sparse_symmetric_and_sum_conventions():
    c = np.array([[0, 2.0, 0], [2.0, 0, -1.0], [0, -1.0, 0]])
    sym = Problem.from_sparse(scipy.sparse.csr_matrix(c))
    np.testing.assert_array_equal(sym.edges, [[0, 1], [1, 2]])
    np.testing.assert_allclose(sym.costs, [2.0, -1.0])
    # "sum": both triangles are parallel edges and add up.
    summed = Problem.from_sparse(scipy.sparse.csr_matrix(c), triangles="sum")
    np.testing.assert_allclose(summed.costs, [4.0, -2.0])
    # one triangle + "sum" is the natural way to pass an edge list as a matrix
    upper = Problem.from_sparse(scipy.sparse.coo_matrix(np.triu(c)), triangles="sum")
    np.testing.assert_allclose(upper.costs, [2.0, -1.0])
    # duplicate COO entries of one cell are summed (scipy's rule), the diagonal is ignored
    coo = scipy.sparse.coo_matrix(([1.0, 1.5, 7.0], ([0, 0, 2], [1, 1, 2])), shape=(3, 3))
    dup = Problem.from_sparse(coo, triangles="sum")
    np.testing.assert_array_equal(dup.edges, [[0, 1]])
    np.testing.assert_allclose(dup.costs, [2.5])
    with pytest.raises(ValueError, match="not symmetric.*triangles='sum'"):
        Problem.from_sparse(scipy.sparse.csr_matrix(np.triu(c)))
    with pytest.raises(ValueError, match="triangles"):
        Problem.from_sparse(scipy.sparse.csr_matrix(c), triangles="lower")


def test_from_networkx_keeps_node_order():
    nx = pytest.importorskip("networkx")
    g = nx.MultiGraph()
    g.add_nodes_from(["c", "a", "b"])
    g.add_edge("a", "b", weight=2.0)
    g.add_edge("b", "a", weight=1.0)
    g.add_edge("c", "a", weight=-4.0)
    p = Problem.from_networkx(g)
    assert p.nodes == ["c", "a", "b"] and p.n == 3
    np.testing.assert_array_equal(p.edges, [[0, 1], [1, 2]])
    np.testing.assert_allclose(p.costs, [-4.0, 3.0])
    h = nx.Graph()
    h.add_edge(0, 1)
    with pytest.raises(ValueError, match="no 'weight'"):
        Problem.from_networkx(h)
    h.edges[0, 1]["weight"] = 1.0
    h.add_edge(0, 0, weight=1.0)
    with pytest.raises(ValueError, match="self-loop"):
        Problem.from_networkx(h, weight="weight")


def test_from_probabilities_mean_logit_and_clamp():
    p = np.array([[np.nan, 0.9, 0.0], [0.7, np.nan, 0.5], [0.0, 0.5, np.nan]])
    prob = Problem.from_probabilities(p)
    assert prob.costs[0, 1] == pytest.approx(np.log(0.8 / 0.2))
    assert prob.costs[1, 2] == pytest.approx(0.0)
    assert prob.costs[0, 2] == pytest.approx(np.log(1e-6 / (1 - 1e-6)))  # clamped, finite
    np.testing.assert_array_equal(prob.costs, prob.costs.T)
    assert Problem.from_probabilities(p, symmetrize="min").costs[0, 1] == pytest.approx(np.log(0.7 / 0.3))
    assert Problem.from_probabilities(p, bias=0.25).costs[1, 2] == pytest.approx(0.25)
    cond = Problem.from_probabilities(np.array([0.8, 1.0, 0.5]))
    assert cond.costs[0, 1] == pytest.approx(np.log(4.0))
    assert cond.costs[0, 2] == pytest.approx(np.log((1 - 1e-6) / 1e-6))


@pytest.mark.parametrize("bad", [1.2, -0.1, np.nan])
def test_from_probabilities_rejects_non_probabilities(bad):
    p = np.full((3, 3), 0.5)
    p[0, 2] = bad
    with pytest.raises(ValueError, match=r"probabilities\[0, 2\]|probabilities\[2, 0\]"):
        Problem.from_probabilities(p)


def test_from_similarities_min_minus_threshold():
    s = np.array([[np.nan, 0.9, 0.3], [0.7, np.nan, 0.64], [0.5, 0.64, np.nan]])
    prob = Problem.from_similarities(s)
    assert prob.costs[0, 1] == pytest.approx(0.7 - 0.64)
    assert prob.costs[0, 2] == pytest.approx(0.3 - 0.64)
    assert prob.costs[1, 2] == pytest.approx(0.0)
    assert Problem.from_similarities(s, threshold=0.5, symmetrize="mean").costs[0, 1] == pytest.approx(0.3)
    with pytest.raises(ValueError, match="symmetrize"):
        Problem.from_similarities(s, symmetrize="median")
    with pytest.raises(ValueError, match="threshold"):
        Problem.from_similarities(s, threshold=np.nan)


def test_test30_similarities_give_the_f9_problem():
    ids, sim = load_test30_similarities()
    assert len(ids) == 30 and np.isnan(np.diagonal(sim)).all()
    prob = Problem.from_similarities(sim, threshold=0.64)
    iu = np.triu_indices(30, 1)
    vals = prob.costs[iu] + 0.64
    assert vals.min() == pytest.approx(0.384747, abs=1e-6) and vals.max() == pytest.approx(0.779797, abs=1e-6)
    assert int((vals < 0.64).sum()) == 213 and int((vals < 0.5).sum()) == 23
    # The F9 partition scores the F9 optimum.
    pred = [0 if (i // 100 in (11, 13) and i != 1305) else (1 if i // 100 == 12 else 2) for i in ids]
    assert prob.objective(pred) == pytest.approx(-11.967111, abs=5e-6)


def test_n_equal_one_is_valid():
    p = Problem.from_dense(np.zeros((1, 1)))
    assert p.n == 1 and p.objective([5]) == 0.0
    assert Problem.from_edges(1, np.zeros((0, 2), int), []).num_edges == 0


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: Problem.from_dense(np.zeros((0, 0))), "empty"),
        (lambda: Problem.from_dense(np.zeros((2, 3))), "square"),
        (lambda: Problem.from_dense(np.zeros(3)), "2-D"),
        (lambda: Problem.from_dense(np.array([["a", "b"], ["c", "d"]])), "numeric"),
        (lambda: Problem.from_dense(np.array([[0, np.nan], [np.nan, 0]])), r"costs\[0, 1\] is not finite"),
        (lambda: Problem.from_dense(np.array([[0, np.inf], [np.inf, 0]])), "not finite"),
        (lambda: Problem.from_dense(np.array([[0, 1.0], [2.0, 0]])), r"not symmetric: costs\[0, 1\] = 1.0"),
        (lambda: Problem.from_condensed(np.ones(4)), "length"),
        (lambda: Problem.from_condensed(np.array([1.0, np.nan, 2.0])), r"costs\[1\]"),
        (lambda: Problem.from_condensed(np.ones((2, 2))), "1-D"),
        (lambda: Problem.from_edges(3, [[0, 3]], [1.0]), "outside"),
        (lambda: Problem.from_edges(3, [[-1, 2]], [1.0]), "outside"),
        (lambda: Problem.from_edges(3, [[1, 1]], [1.0]), "self-loop"),
        (lambda: Problem.from_edges(3, [[0, 1]], [1.0, 2.0]), "differ in length"),
        (lambda: Problem.from_edges(3, [[0, 1, 2]], [1.0]), r"\(m, 2\)"),
        (lambda: Problem.from_edges(3, [[0.5, 1]], [1.0]), "integers"),
        (lambda: Problem.from_edges(3, [[0, 1]], [np.nan]), "not finite"),
        (lambda: Problem.from_edges(0, np.zeros((0, 2), int), []), "empty"),
        (lambda: Problem.from_edges(2.5, [[0, 1]], [1.0]), "integer"),
        (lambda: Problem.from_sparse(np.eye(2)), "scipy.sparse"),
        (lambda: Problem.from_sparse(scipy.sparse.csr_matrix((2, 3))), "square"),
        (
            lambda: Problem.from_sparse(scipy.sparse.csr_matrix(np.array([[0, np.nan], [np.nan, 0]]))),
            "finite",
        ),
        (lambda: Problem.from_probabilities(np.full((2, 2), 0.5), bias="x"), "bias"),
        # a numeric string is a mistake too (float() would take it; time limits refuse it likewise)
        (
            lambda: Problem.from_probabilities(np.full((2, 2), 0.5), bias="1"),
            "^bias must be a number, got '1'$",
        ),
        (
            lambda: Problem.from_probabilities(np.full((2, 2), 0.5), bias=True),
            "^bias must be a number, got True$",
        ),
        (
            lambda: Problem.from_similarities(np.full((2, 2), 0.5), threshold="0.6"),
            "^threshold must be a number",
        ),
        (lambda: as_problem(np.zeros((2, 2, 2))), "cannot build"),
        (lambda: as_problem(([[0, 1]], [1.0], 3, 4)), "tuple"),
    ],
)
def test_bad_inputs_raise_clear_errors(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_objective_validates_labels():
    p = Problem.from_dense(random_symmetric(3))
    with pytest.raises(ValueError, match="length 2"):
        p.objective([0, 1])
    with pytest.raises(ValueError, match="integers"):
        p.objective([0.5, 1, 2])
    with pytest.raises(ValueError, match="1-D"):
        p.objective([[0, 1, 2]])


def test_as_problem_accepts_every_input_shape():
    nx = pytest.importorskip("networkx")
    c = random_symmetric(5, seed=9)
    labels = np.array([0, 1, 0, 2, 1])
    expected = brute_objective(c, labels)
    edges, costs = Problem.from_dense(c).to_edges()
    g = nx.Graph()
    g.add_nodes_from(range(5))
    g.add_weighted_edges_from((int(u), int(v), w) for (u, v), w in zip(edges, costs, strict=False))
    inputs = [
        c,
        c.tolist(),
        squareform(c, checks=False),
        scipy.sparse.csr_matrix(c),
        (edges, costs),
        (5, edges, costs),
        g,
        Problem.from_dense(c),
    ]
    for x in inputs:
        assert as_problem(x).objective(labels) == pytest.approx(expected), type(x)


def test_from_sparse_leaves_the_input_alone():
    # a CSR matrix with an unsorted, duplicated row: canonicalising it in place would change it
    a = scipy.sparse.csr_matrix(
        (np.array([1.0, 2.0, 0.5, 3.0]), np.array([2, 1, 2, 0]), np.array([0, 3, 3, 4])), shape=(3, 3)
    )
    before = (a.data.copy(), a.indices.copy(), a.indptr.copy())
    p = Problem.from_sparse(a, triangles="sum")
    np.testing.assert_array_equal(p.edges, [[0, 1], [0, 2]])
    np.testing.assert_allclose(p.costs, [2.0, 4.5])
    for x, y in zip(before, (a.data, a.indices, a.indptr), strict=False):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("hub", [False, True])
def test_from_edges_matches_a_numpy_reference_on_shuffled_parallel_edges(hub):
    # the C++ construction against numpy.unique + bincount (the former implementation): same
    # edges, and sums bit-identical (both add parallel edges in input order); `hub` gives node 0
    # more than 32 entries, the branch that sorts a bucket with std::stable_sort
    rng = np.random.default_rng(7)
    n, m = 50, 2000
    e = rng.integers(0, n, size=(m, 2))
    if hub:
        e[: m // 2, 0] = 0
    e = e[e[:, 0] != e[:, 1]]
    c = rng.normal(size=len(e))
    p = Problem.from_edges(n, e, c)
    lo, hi = np.minimum(e[:, 0], e[:, 1]), np.maximum(e[:, 0], e[:, 1])
    uniq, inverse = np.unique(lo * n + hi, return_inverse=True)
    np.testing.assert_array_equal(p.edges, np.stack([uniq // n, uniq % n], axis=1))
    np.testing.assert_array_equal(p.costs, np.bincount(inverse, weights=c))
    assert p.edges.flags.c_contiguous and p.costs.flags.c_contiguous
    # already canonical input comes back unchanged
    q = Problem.from_edges(n, p.edges, p.costs)
    np.testing.assert_array_equal(q.edges, p.edges)
    np.testing.assert_array_equal(q.costs, p.costs)


@pytest.mark.parametrize(
    "edges, costs, match",
    [
        ([[0, 1], [1, 5]], [1.0, 2.0], r"^edge 1 = \(1, 5\) has a node index outside \[0, 4\)$"),
        ([[0, 1], [2, 2]], [1.0, 2.0], r"^edge 1 is a self-loop on node 2$"),
        ([[0, 1], [1, 2]], [1.0, np.inf], r"^costs\[1\] \(edge 1-2\) is not finite \(inf\)$"),
    ],
)
def test_from_edges_bad_input_is_one_line(edges, costs, match):
    with pytest.raises(ValueError, match=match) as info:
        Problem.from_edges(4, edges, costs)
    assert "\n" not in str(info.value)
