"""The package imports, the compiled core loads and the CLI answers."""

import subprocess
import sys

import numpy as np

import corrclust
from corrclust._native import _core


def test_core_objective_dense_matches_definition():
    costs = np.array([[0, 2.0, -1.0], [2.0, 0, 3.0], [-1.0, 3.0, 0]])
    # labels {0,1} | {2}: cut edges (0,2) and (1,2)
    assert _core.problem.objective_dense(costs, np.array([0, 0, 1])) == 2.0
    assert _core.problem.objective_dense(costs, np.array([5, 5, 5])) == 0.0
    assert _core.problem.objective_dense(costs, np.array([0, 1, 2])) == 4.0


def test_core_objective_sparse_sums_parallel_edges():
    edges = np.array([[0, 1], [1, 0], [1, 2]])
    costs = np.array([1.5, 2.0, -4.0])
    assert _core.problem.objective_sparse(3, edges, costs, np.array([0, 1, 1])) == 3.5
    assert _core.problem.objective_sparse(3, edges, costs, np.array([0, 0, 1])) == -4.0


def test_version_and_cli_help():
    assert corrclust.__version__ == _core.__version__
    out = subprocess.run(
        [sys.executable, "-m", "corrclust", "--help"], capture_output=True, text=True, check=True
    )
    assert "solve" in out.stdout
