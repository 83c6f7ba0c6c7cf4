"""The scikit-learn style estimator: fit/labels_/fit_predict/clone, inputs, random_state."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from test_problem import load_test30_similarities, random_symmetric

from corrclust import CorrelationClustering, metrics
from corrclust.problem import Problem
from corrclust.solve import solve


def planted_probabilities(sizes=(6, 5, 4), noise=0.15, seed=0):
    """Pair probabilities of a planted partition, asymmetric like twin-network outputs."""
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(len(sizes)), sizes)
    same = truth[:, None] == truth[None, :]
    p = np.where(same, 0.85, 0.15) + rng.uniform(-noise, noise, size=same.shape)
    np.fill_diagonal(p, np.nan)
    return np.clip(p, 0.0, 1.0), truth


def test_fit_recovers_a_planted_partition():
    p, truth = planted_probabilities()
    est = CorrelationClustering()
    assert est.fit(p) is est
    assert est.labels_.dtype == np.int64 and est.labels_.shape == truth.shape
    assert metrics.variation_of_information(truth, est.labels_)[0] == 0.0
    assert est.n_clusters_ == 3
    assert est.status_ == "heuristic" and est.lower_bound_ is None
    expected = solve(Problem.from_probabilities(p), method="kl")
    assert est.objective_ == pytest.approx(expected.objective)
    np.testing.assert_array_equal(est.fit_predict(p), est.labels_)


def test_bias_and_symmetrize_change_the_costs():
    p, truth = planted_probabilities()
    # a large positive bias makes every pair attractive: one cluster
    assert CorrelationClustering(bias=20.0).fit(p).n_clusters_ == 1
    assert CorrelationClustering(bias=-20.0).fit(p).n_clusters_ == len(truth)
    est = CorrelationClustering(symmetrize="min", method="gaec").fit(p)
    assert est.objective_ == pytest.approx(
        solve(Problem.from_probabilities(p, symmetrize="min"), method="gaec").objective
    )


def test_precomputed_costs_dense_and_sparse():
    costs = random_symmetric(10, seed=6)
    dense = CorrelationClustering(input="costs").fit(costs)
    sparse = CorrelationClustering(input="costs").fit(scipy.sparse.csr_matrix(costs))
    assert dense.objective_ == pytest.approx(sparse.objective_)
    assert metrics.variation_of_information(dense.labels_, sparse.labels_)[0] == 0.0


def test_f9_through_the_estimator():
    ids, sim = load_test30_similarities()
    costs = Problem.from_similarities(sim, threshold=0.64).costs
    est = CorrelationClustering(input="costs", method="gaec").fit(costs)
    assert est.n_clusters_ == 3 and est.objective_ == pytest.approx(-11.967111, abs=5e-6)


def test_get_params_clone_and_set_params():
    sklearn_base = pytest.importorskip("sklearn.base")
    est = CorrelationClustering(method="anytime", bias=0.5, time_limit=1.0, random_state=3)
    params = est.get_params()
    assert params["method"] == "anytime" and params["bias"] == 0.5 and params["random_state"] == 3
    twin = sklearn_base.clone(est)
    assert twin.get_params() == params and twin is not est
    assert not hasattr(twin, "labels_")
    est.set_params(method="gaec")
    assert est.method == "gaec"
    p, _ = planted_probabilities(seed=2)
    a = sklearn_base.clone(est).fit(p).labels_
    b = sklearn_base.clone(est).fit(p).labels_
    np.testing.assert_array_equal(a, b)


def test_sklearn_generic_checks_that_apply():
    checks = pytest.importorskip("sklearn.utils.estimator_checks")
    # The feature-matrix checks do not apply: X is a precomputed pairwise matrix.
    checks.check_parameters_default_constructible("CorrelationClustering", CorrelationClustering())
    checks.check_no_attributes_set_in_init("CorrelationClustering", CorrelationClustering())
    checks.check_get_params_invariance("CorrelationClustering", CorrelationClustering())
    checks.check_set_params("CorrelationClustering", CorrelationClustering())


def test_random_state_forms():
    p, _ = planted_probabilities(sizes=(8, 8, 8, 8), noise=0.3, seed=4)
    for rs in (None, 0, np.int64(5), np.random.default_rng(1), np.random.RandomState(2)):
        est = CorrelationClustering(method="anytime", random_state=rs, time_limit=1.0).fit(p)
        assert est.labels_.shape == (32,)
    a = CorrelationClustering(method="anytime", random_state=np.random.default_rng(9)).fit(p)
    b = CorrelationClustering(method="anytime", random_state=np.random.default_rng(9)).fit(p)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    for bad in (-1, "seed", 1.5):
        with pytest.raises(ValueError, match="random_state"):
            CorrelationClustering(random_state=bad).fit(p)


def test_bad_inputs():
    p, _ = planted_probabilities()
    with pytest.raises(ValueError, match="input must be one of"):
        CorrelationClustering(input="features").fit(p)
    with pytest.raises(ValueError, match="input='costs'"):
        CorrelationClustering().fit(scipy.sparse.csr_matrix(np.full((3, 3), 0.5)))
    with pytest.raises(ValueError, match="not a probability"):
        CorrelationClustering().fit(np.full((3, 3), 2.0))
    with pytest.raises(ValueError, match="square"):
        CorrelationClustering().fit(np.full((3, 4), 0.5))
    with pytest.raises(ValueError, match="method"):
        CorrelationClustering(method="spectral").fit(p)


def test_init_labels_start_the_solver():
    costs = random_symmetric(15, seed=8)
    start = np.repeat([3, 1, 2], 5)
    est = CorrelationClustering(input="costs", method="kl", init=start).fit(costs)
    assert est.objective_ <= Problem.from_dense(costs).objective(start) + 1e-12
    # named as the estimator's parameter, not as solve's warm_start (found by qa14)
    with pytest.raises(ValueError, match=r"^init must hold one label per node \(15\), got shape \(2,\)$"):
        CorrelationClustering(input="costs", init=[0, 1]).fit(costs)
    with pytest.raises(ValueError, match="^init must hold integer labels"):
        CorrelationClustering(input="costs", init=np.full(15, 0.5)).fit(costs)


def test_works_without_scikit_learn():
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['sklearn'] = None; sys.modules['sklearn.base'] = None\n"
        "import numpy as np\n"
        "from corrclust.estimator import CorrelationClustering\n"
        "p = np.full((4, 4), 0.1); p[:2, :2] = 0.9; p[2:, 2:] = 0.9\n"
        "est = CorrelationClustering(bias=0.0)\n"
        "assert est.get_params()['bias'] == 0.0 and est.set_params(method='gaec') is est\n"
        "print(est.fit_predict(p).tolist(), est.n_clusters_, repr(est))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("[0, 0, 1, 1] 2 CorrelationClustering(")
