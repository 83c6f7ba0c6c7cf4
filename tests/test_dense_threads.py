"""The dense GAEC on two threads gives the labels of one thread, bit for bit.

The dense GAEC splits each contraction over a team of threads once the problem has at least 2048
clusters (cpp/src/gaec.cpp), so the instances here are above that size. Two checks:

* ``"kl"`` with ``KLOptions(threads=1)`` and ``threads=2`` (and the default, 0) return identical
  labels and objectives on random complete graphs (Gaussian costs, and small integers with many
  ties);
* the dense GAEC (its default team) gives exactly the partition of the sparse GAEC on the same
  complete graph: both follow the same rule (largest sum first, ties to the smallest pair, the
  lower id survives on a complete graph), and with costs in multiples of 1/8 every sum is exact,
  so any step taken differently by the team would show.

Small problems (n <= 9) never reach the team; tests/test_heuristics.py checks them against brute
force.
"""

from __future__ import annotations

import numpy as np
import pytest
from interrupts import interrupt_delay

from corrclust._native import _core

h = _core.heuristics


def symmetric(c: np.ndarray) -> np.ndarray:
    c = np.triu(c, 1)
    return np.ascontiguousarray(c + c.T)


def instance(n: int, kind: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "gaussian":
        return symmetric(rng.normal(0.0, 1.0, (n, n)))
    if kind == "ties":  # integers in -3..3: many equal sums
        return symmetric(rng.integers(-3, 4, (n, n)).astype(np.float64))
    # planted: 8 groups, attractive inside (+) and repulsive across (-), eighths
    group = rng.integers(0, 8, n)
    mean = np.where(group[:, None] == group[None, :], 1.0, -1.0)
    return symmetric(np.round((mean + rng.normal(0.0, 2.0, (n, n))) * 8.0) / 8.0)


@pytest.mark.parametrize(
    ("kind", "n", "seed"), [("gaussian", 2300, 0), ("ties", 2300, 1), ("planted", 2600, 2)]
)
def test_kl_labels_do_not_depend_on_threads(kind, n, seed):
    costs = instance(n, kind, seed)
    runs = [h.solve_dense(costs, "kl", options=h.KLOptions(threads=t)) for t in (1, 2, 0)]
    for r in runs[1:]:
        np.testing.assert_array_equal(r["labels"], runs[0]["labels"])
        assert r["objective"] == runs[0]["objective"]  # bit-identical, not approximately equal
    assert runs[0]["labels"].max() + 1 < n  # GAEC contracted: the team had work to do


def test_dense_gaec_matches_sparse_gaec_on_a_complete_graph():
    n = 2200
    costs = instance(n, "planted", 7)
    iu, ju = np.triu_indices(n, 1)
    edges = np.stack([iu, ju], 1).astype(np.int64)
    dense = h.solve_dense(costs, "gaec")
    sparse = h.solve_sparse(n, edges, np.ascontiguousarray(costs[iu, ju]), "gaec")
    np.testing.assert_array_equal(dense["labels"], sparse["labels"])
    assert dense["iterations"] == sparse["iterations"]
    assert 8 <= dense["labels"].max() + 1 < n // 4


def test_ctrl_c_stops_the_team_promptly():
    """Ctrl-C while GAEC + KL run on two threads at n = 4000 (GAEC is most of each call): the call
    raises KeyboardInterrupt within half a second, and the helper thread does not hang the exit."""
    setup = """
        import numpy as np
        from corrclust._native import _core
        h = _core.heuristics
        c = np.random.default_rng(0).normal(size=(4000, 4000)); c = np.triu(c, 1); c = c + c.T
        c = np.ascontiguousarray(c)
        """
    call = """
        while True:
            h.solve_dense(c, "kl", options=h.KLOptions(threads=2))
        """
    assert interrupt_delay(setup, call, wait=0.4) < 0.5


def test_threads_must_not_be_negative():
    with pytest.raises(ValueError, match="threads must be >= 0"):
        h.solve_dense(np.zeros((3, 3)), "kl", options=h.KLOptions(threads=-1))
