"""Property tests (hypothesis) for the solvers and the instance readers.

Each property is checked on many generated inputs rather than on hand-picked ones:

* every method's objective equals an independent numpy recomputation from its labels;
* no heuristic is ever below the brute-force optimum, and the exact solver equals it (n <= 8);
* the same seed gives the same labels;
* dense, condensed and edge-list forms of one problem give the same result;
* a MULTICUT file, mutated byte by byte, is either read exactly as a strict reference parser of
  this test reads it, or refused with a ``ValueError`` that names the file (and the line, for text).

Profiles: ``ci`` (default, bounded to a few seconds per test) and ``nightly`` (many more examples),
chosen with ``HYPOTHESIS_PROFILE=nightly``.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from test_exact import brute_force_dense

hypothesis = pytest.importorskip("hypothesis")
from fuzz_profiles import examples  # noqa: E402  (registers and loads the ci/nightly profiles)
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from reference_text import text_lines  # noqa: E402

import corrclust  # noqa: E402
from corrclust import read_instance  # noqa: E402
from corrclust.problem import Problem  # noqa: E402

HEURISTICS = ("gaec", "kl", "anytime")


@st.composite
def dense_costs(draw, max_n: int = 8) -> np.ndarray:
    n = draw(st.integers(2, max_n))
    values = draw(
        st.lists(
            st.one_of(st.integers(-5, 5).map(float), st.floats(-3, 3, allow_nan=False, width=32)),
            min_size=n * (n - 1) // 2,
            max_size=n * (n - 1) // 2,
        )
    )
    c = np.zeros((n, n))
    c[np.triu_indices(n, 1)] = values
    return c + c.T


@st.composite
def edge_lists(draw, max_n: int = 8) -> tuple[int, np.ndarray, np.ndarray]:
    n = draw(st.integers(2, max_n))
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    chosen = draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=len(pairs), unique=True))
    costs = draw(st.lists(st.integers(-4, 4).map(float), min_size=len(chosen), max_size=len(chosen)))
    return n, np.array(chosen, dtype=np.int64), np.array(costs)


def numpy_objective(costs: np.ndarray, labels: np.ndarray) -> float:
    """Sum of the costs of the cut pairs, from the dense matrix (each pair once)."""
    iu = np.triu_indices(len(costs), 1)
    return float(costs[iu][labels[iu[0]] != labels[iu[1]]].sum())


@given(dense_costs())
def test_dense_methods_against_brute_force(costs):
    optimum = brute_force_dense(costs)
    for method in (*HEURISTICS, "exact"):
        result = corrclust.solve(costs, method=method, seed=3)
        recomputed = numpy_objective(costs, result.labels)
        assert result.objective == pytest.approx(recomputed, abs=1e-9)
        assert result.objective >= optimum - 1e-9, method
        if method == "exact":
            assert result.status == "optimal"
            assert result.objective == pytest.approx(optimum, abs=1e-9)
            assert result.lower_bound <= optimum + 1e-9


@given(edge_lists())
def test_sparse_methods_against_brute_force(graph):
    n, edges, costs = graph
    dense = np.zeros((n, n))
    dense[edges[:, 0], edges[:, 1]] = costs
    dense += dense.T
    optimum = brute_force_dense(dense)
    problem = Problem.from_edges(n, edges, costs)
    for method in (*HEURISTICS, "exact"):
        result = corrclust.solve(problem, method=method, seed=1)
        assert result.objective == pytest.approx(numpy_objective(dense, result.labels), abs=1e-9)
        assert result.objective >= optimum - 1e-9, method
        if method == "exact":
            assert result.objective == pytest.approx(optimum, abs=1e-9)


@given(dense_costs(max_n=12), st.integers(0, 2**31 - 1))
def test_same_seed_same_labels_and_forms_agree(costs, seed):
    n = len(costs)
    condensed = costs[np.triu_indices(n, 1)]
    for method in HEURISTICS:
        a = corrclust.solve(costs, method=method, seed=seed)
        b = corrclust.solve(costs, method=method, seed=seed)
        np.testing.assert_array_equal(a.labels, b.labels)
        c = corrclust.solve(Problem.from_condensed(condensed), method=method, seed=seed)
        np.testing.assert_array_equal(a.labels, c.labels)
        assert a.objective == c.objective


# --- readers -------------------------------------------------------------------------------

_INT = re.compile(r"[+-]?[0-9]+")
_NUM = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def reference_multicut(data: bytes):
    """A strict reading of the MULTICUT format, written independently of the package: the edge
    list (i, j, cost) with parallel edges summed, or None where the file is not a valid instance."""
    lines = text_lines(data, need_final_newline=True)
    if lines is None:
        return None
    lines = [line.strip() for line in lines]
    lines = [line for line in lines if line]
    if not lines or lines[0].upper() != "MULTICUT" or len(lines) == 1:
        return None
    summed: dict[tuple[int, int], float] = {}
    for line in lines[1:]:
        parts = line.split()
        if len(parts) != 3 or not (_INT.fullmatch(parts[0]) and _INT.fullmatch(parts[1])):
            return None
        if not _NUM.fullmatch(parts[2]):
            return None
        i, j, c = int(parts[0]), int(parts[1]), float(parts[2])
        if i < 0 or j < 0 or i == j or not np.isfinite(c):
            return None
        key = (min(i, j), max(i, j))
        summed[key] = summed.get(key, 0.0) + c
    return summed


def _multicut_bytes(n: int, edges: np.ndarray, costs: np.ndarray) -> bytes:
    body = "".join(f"{i} {j} {c:g}\n" for (i, j), c in zip(edges.tolist(), costs.tolist(), strict=False))
    return ("MULTICUT\n" + body).encode()


@settings(max_examples=examples(ci=200, nightly=5000))
@given(
    edge_lists(max_n=6),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=3),
    st.data(),
)
def test_mutated_multicut_files_are_read_exactly_or_refused(tmp_path_factory, graph, mutations, data):
    n, edges, costs = graph
    raw = bytearray(_multicut_bytes(n, edges, costs))
    for pos, byte in mutations:
        action = data.draw(st.sampled_from(("replace", "insert", "delete")))
        k = pos % (len(raw) + 1)
        if action == "insert":
            raw[k:k] = bytes([byte])
        elif raw and k < len(raw):
            if action == "replace":
                raw[k] = byte
            else:
                del raw[k]
    path = tmp_path_factory.mktemp("fuzz") / "instance.txt"
    path.write_bytes(bytes(raw))
    expected = reference_multicut(bytes(raw))
    try:
        problem = read_instance(path)
    except ValueError as exc:
        message = str(exc)
        assert str(path) in message and "\n" not in message
        if expected is not None:
            # the only valid files the package may refuse are ones that would not fit in memory
            pytest.fail(f"a valid file was refused: {message}")
        return
    assert expected is not None, f"an invalid file was read: {bytes(raw)!r}"
    got_edges, got_costs = problem.to_edges()
    got = {
        (int(i), int(j)): float(c) for (i, j), c in zip(got_edges.tolist(), got_costs.tolist(), strict=False)
    }
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-12)
