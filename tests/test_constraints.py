"""Must-link / cannot-link constraints (corrclust.constraints) for every solver.

Oracle: brute force over all set partitions (n <= 8) that honour the constraints."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from partitions import set_partitions

import corrclust
from corrclust.constraints import ConstraintError, constrain


def objective(C, labels):
    cut = labels[:, None] != labels[None, :]
    return float(np.triu(C * cut, 1).sum())


def brute_force(C, must, cannot):
    best = None
    for lab in set_partitions(C.shape[0]):
        if any(lab[a] != lab[b] for a, b in must) or any(lab[a] == lab[b] for a, b in cannot):
            continue
        v = objective(C, lab)
        if best is None or v < best:
            best = v
    return best


def random_instance(seed, n):
    rng = np.random.default_rng(seed)
    C = np.round(rng.normal(size=(n, n)), 3)
    C = np.triu(C, 1)
    C = C + C.T
    # constraints from a hidden partition, so that they never contradict each other
    hidden = rng.integers(0, 3, size=n)
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
    rng.shuffle(pairs)
    must = [p for p in pairs if hidden[p[0]] == hidden[p[1]]][:2]
    cannot = [p for p in pairs if hidden[p[0]] != hidden[p[1]]][:3]
    return C, must, cannot


def honours(labels, must, cannot):
    return all(labels[a] == labels[b] for a, b in must) and all(labels[a] != labels[b] for a, b in cannot)


@pytest.mark.parametrize("seed", range(12))
def test_exact_equals_brute_force_under_constraints(seed):
    n = 5 + seed % 4  # 5..8
    C, must, cannot = random_instance(seed, n)
    best = brute_force(C, must, cannot)
    r = corrclust.solve(C, method="exact", must_link=must, cannot_link=cannot)
    assert r.status == "optimal"
    assert honours(r.labels, must, cannot)
    assert r.objective == pytest.approx(best, abs=1e-9)
    assert r.objective == pytest.approx(objective(C, r.labels), abs=1e-9)  # reported for the original costs
    assert r.lower_bound == pytest.approx(best, abs=1e-6)
    assert r.lower_bound <= r.objective + 1e-12


@pytest.mark.parametrize("seed", range(6))
def test_exact_sparse_equals_brute_force(seed):
    n = 6 + seed % 3
    C, must, cannot = random_instance(100 + seed, n)
    C[np.abs(C) < 0.5] = 0.0  # absent edges
    best = brute_force(C, must, cannot)
    r = corrclust.solve(scipy.sparse.csr_matrix(C), method="exact", must_link=must, cannot_link=cannot)
    assert r.status == "optimal"
    assert honours(r.labels, must, cannot)
    assert r.objective == pytest.approx(best, abs=1e-9)


@pytest.mark.parametrize("method", ["gaec", "kl", "anytime"])
@pytest.mark.parametrize("seed", range(8))
def test_heuristics_never_break_a_constraint(method, seed):
    rng = np.random.default_rng(seed)
    n = 60
    truth = rng.integers(0, 5, size=n)
    C = np.where(truth[:, None] == truth[None, :], 1.0, -1.0) + rng.normal(scale=1.5, size=(n, n))
    C = np.triu(C, 1)
    C = C + C.T
    # constraints that go against the costs: join strongly repelling pairs, cut strongly attracting ones
    iu = np.triu_indices(n, 1)
    order = np.argsort(C[iu])
    must = [(iu[0][i], iu[1][i]) for i in order[:5]]
    comp_ok = []
    for i in order[::-1]:
        a, b = iu[0][i], iu[1][i]
        comp_ok.append((a, b))
        if len(comp_ok) == 15:
            break
    con = constrain(C, must)
    cannot = [(a, b) for a, b in comp_ok if con.component[a] != con.component[b]]
    r = corrclust.solve(C, method=method, must_link=must, cannot_link=cannot, time_limit=2, seed=seed)
    assert honours(r.labels, must, cannot)
    assert r.objective == pytest.approx(objective(C, r.labels), abs=1e-9)
    # and the sparse path as well
    rs = corrclust.solve(
        scipy.sparse.csr_matrix(C), method=method, must_link=must, cannot_link=cannot, time_limit=2, seed=seed
    )
    assert honours(rs.labels, must, cannot)


def test_must_link_contracts_costs_dense_and_sparse():
    C = np.array([[0, 1, -2, 3], [1, 0, 4, -5], [-2, 4, 0, 6], [3, -5, 6, 0]], dtype=float)
    con = constrain(C, must_link=[(0, 1)])
    assert con.component.tolist() == [0, 0, 1, 2]
    assert con.problem.costs.tolist() == [[0, 2, -2], [2, 0, 6], [-2, 6, 0]]
    sp = constrain(scipy.sparse.csr_matrix(C), must_link=[(0, 1)])
    assert sp.problem.edges.tolist() == [[0, 1], [0, 2], [1, 2]]
    assert sp.problem.costs.tolist() == [2, -2, 6]
    # the penalty: M = 2 * sum|c| + 1 of the contracted problem
    con = constrain(C, must_link=[(0, 1)], cannot_link=[(2, 3)])
    assert con.penalty == 2 * 10 + 1
    assert con.problem.costs[1, 2] == 6 - 21


def test_contradiction_names_the_chain():
    C = np.zeros((5, 5))
    with pytest.raises(ValueError, match=r"cannot-link \(0, 3\).*\(0, 1\) \+ \(1, 2\) \+ \(2, 3\)"):
        corrclust.solve(C, must_link=[(0, 1), (2, 1), (3, 2), (3, 4)], cannot_link=[(0, 3)])
    with pytest.raises(ConstraintError, match="apart from itself"):
        corrclust.solve(C, cannot_link=[(2, 2)])
    with pytest.raises(ConstraintError, match=r"outside \[0, 5\)"):
        corrclust.solve(C, must_link=[(0, 5)])
    with pytest.raises(ConstraintError, match="shape"):
        corrclust.solve(C, must_link=[0, 1])


def test_constraints_on_the_test30_matrix():
    """F9's exact partition has 1305 alone and classes 11 and 13 together; two answers fix both."""
    from conftest import require_shared

    from corrclust.pipeline import load_correlations

    path = require_shared(
        "data/paper-keypoints/matching_results/matching_results_organoid_dataset_unseen_classes.csv"
    )
    corr = load_correlations(path)
    ids = corr.ids.tolist()
    P = corr.problem()
    plain = corrclust.solve(P, method="exact")
    assert plain.objective == pytest.approx(-11.967111, abs=1e-6)
    must = [(ids.index(1305), ids.index(1300))]
    cannot = [(ids.index(1100), ids.index(1300))]
    r = corrclust.solve(P, method="exact", must_link=must, cannot_link=cannot)
    assert r.status == "optimal"
    assert honours(r.labels, must, cannot)
    assert r.objective >= plain.objective - 1e-9  # constraints can only cost
    # recomputed with the exact solver: the constraints move 1300 to 1305, nothing else changes
    assert r.objective == pytest.approx(-11.837199, abs=1e-6)
    clusters = sorted(sorted(np.array(ids)[r.labels == k].tolist()) for k in range(r.n_clusters))
    assert clusters == sorted(
        [
            [1300, 1305],
            list(range(1200, 1210)),
            sorted(set(range(1100, 1110)) | set(range(1301, 1310)) - {1305}),
        ]
    )


def test_estimator_takes_constraints():
    C = np.array([[0, 2.0, -1.0], [2.0, 0, -3.0], [-1.0, -3.0, 0]])
    est = corrclust.CorrelationClustering(input="costs", method="exact")
    assert est.fit(C).labels_.tolist() == [0, 0, 1]
    assert est.fit(C, cannot_link=[(0, 1)]).labels_.tolist() in ([0, 1, 2], [0, 1, 1], [0, 1, 0])
    lab = est.fit(C, must_link=[(1, 2)]).labels_
    assert lab[1] == lab[2]


def test_warm_start_under_constraints_maps_components_to_their_first_member():
    C = np.array([[0, 1.0, -1.0, -1.0], [1.0, 0, -1.0, -1.0], [-1.0, -1.0, 0, 2.0], [-1.0, -1.0, 2.0, 0]])
    con = constrain(C, must_link=[(3, 2)])
    assert con.component.tolist() == [0, 1, 2, 2]
    assert con.contract_labels(np.array([5, 6, 7, 8])).tolist() == [5, 6, 7]
    r = corrclust.solve(C, method="kl", must_link=[(3, 2)], cannot_link=[(0, 1)], warm_start=[0, 0, 1, 1])
    assert r.labels.tolist() == [0, 1, 2, 2] and r.objective == pytest.approx(-3.0)
