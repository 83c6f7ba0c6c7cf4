"""pytest-benchmark timings of the heuristics, each asserting the result it times.

    python -m pytest benchmarks/test_bench_cc.py                 # timings
    python -m pytest benchmarks/test_bench_cc.py --benchmark-disable   # quick form: each case once

The quick form runs every case once without timing rounds (a few seconds) and is what CI runs.
bioimage-cpp rows run only when it is installed (the bench extra); they assert the peer's objective
is not better than ours on the same costs, so a regression in quality shows up as a failure, not
just a number. Cases on the instances in ../shared skip when it is absent and fail instead under
CORRCLUST_REQUIRE_SHARED=1, as the tests do.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cc import (
    SHARED,
    Bioimage,
    dense_to_edges,
    generated_sparse,
    planted_complete,
    read_multicut,
    read_pace,
    unique_edges,
)

from corrclust._native import _core

PACE_OPT = {"exact041": -1502, "exact121": -15063, "exact165": -7910}
OPENGM_OPT = {"gm_knott_3d_032": -5811.467771, "gm_knott_3d_034": -4064.865759}


@pytest.fixture(scope="module")
def planted1000():
    return planted_complete(1000, 3.0, seed=1000)


def shared_instance(relpath: str) -> Path:
    """Path of a shared instance; skips when it is absent, or fails under CORRCLUST_REQUIRE_SHARED=1."""
    path = SHARED / relpath
    if not path.exists():
        msg = f"shared instance not found: {path}"
        if os.environ.get("CORRCLUST_REQUIRE_SHARED") == "1":
            pytest.fail(msg + " (CORRCLUST_REQUIRE_SHARED=1)")
        pytest.skip(msg)
    return path


def opengm(name):
    """(n, edges, costs) of a shared OpenGM instance."""
    return read_multicut(shared_instance(f"opengm-multicut/{name}.txt"))


def _check(costs, r):
    labels = r["labels"]
    assert labels.shape == (costs.shape[0],)
    assert r["objective"] == pytest.approx(_core.problem.objective_dense(costs, labels), rel=1e-12, abs=1e-9)


@pytest.mark.parametrize("method", ["gaec", "kl"])
def test_dense_planted_1000(benchmark, planted1000, method):
    r = benchmark(_core.heuristics.solve_dense, planted1000, method)
    _check(planted1000, r)
    # the planted partition (10 clusters) is recovered up to a few stray nodes
    assert 10 <= r["labels"].max() + 1 <= 30


def test_dense_anytime_300(benchmark):
    costs = planted_complete(300, 3.0, seed=300)
    kl = _core.heuristics.solve_dense(costs, "kl")
    r = benchmark.pedantic(
        _core.heuristics.solve_dense, args=(costs, "anytime"), kwargs={"seed": 0}, rounds=1, iterations=1
    )
    _check(costs, r)
    assert r["objective"] <= kl["objective"] + 1e-9


@pytest.mark.parametrize("name", sorted(PACE_OPT))
def test_pace_gaec_kl(benchmark, name):
    costs = read_pace(shared_instance(f"pace2021/{name}.gr"))
    r = benchmark(_core.heuristics.solve_dense, costs, "kl")
    _check(costs, r)
    assert r["objective"] == PACE_OPT[name]  # GAEC + KL reaches these optima


@pytest.mark.parametrize("name", sorted(OPENGM_OPT))
def test_opengm_gaec_kl(benchmark, name):
    n, edges, costs = opengm(name)
    r = benchmark(_core.heuristics.solve_sparse, n, edges, costs, "kl")
    assert r["objective"] == pytest.approx(OPENGM_OPT[name], abs=1e-5)


# GAEC's objective on the OpenGM instances (the same for corrclust and bioimage-cpp)
OPENGM_GAEC = {"gm_knott_3d_032": -5798.379328, "gm_knott_3d_034": -4064.865759}


@pytest.mark.parametrize("name", sorted(OPENGM_GAEC))
def test_opengm_gaec(benchmark, name):
    n, edges, costs = opengm(name)
    r = benchmark(_core.heuristics.solve_sparse, n, edges, costs, "gaec")
    assert r["objective"] == pytest.approx(OPENGM_GAEC[name], abs=1e-5)


@pytest.mark.parametrize("name", sorted(OPENGM_GAEC))
def test_bioimage_opengm_gaec(benchmark, name):
    pytest.importorskip("bioimage_cpp")
    n, edges, costs = opengm(name)
    uv, c = unique_edges(n, edges, costs)
    peer = Bioimage(n, uv, c)
    labels = benchmark(peer.gaec)
    assert peer.energy(labels) == pytest.approx(OPENGM_GAEC[name], abs=1e-5)


@pytest.mark.parametrize("method", ["gaec", "gaec_kl"])
def test_bioimage_dense_planted_1000(benchmark, planted1000, method):
    pytest.importorskip("bioimage_cpp")
    uv, c = dense_to_edges(planted1000)
    peer = Bioimage(1000, uv, c)
    labels = benchmark(getattr(peer, method))
    ours = _core.heuristics.solve_dense(planted1000, {"gaec": "gaec", "gaec_kl": "kl"}[method])
    assert ours["objective"] <= peer.energy(labels) + 1e-6


@pytest.mark.parametrize("name", sorted(OPENGM_OPT))
def test_bioimage_opengm_gaec_kl(benchmark, name):
    pytest.importorskip("bioimage_cpp")
    n, edges, costs = opengm(name)
    uv, c = unique_edges(n, edges, costs)
    peer = Bioimage(n, uv, c)
    labels = benchmark(peer.gaec_kl)
    assert peer.energy(labels) >= OPENGM_OPT[name] - 1e-5


GENERATED = list(generated_sparse(quick=True))


@pytest.mark.parametrize("case", GENERATED, ids=[c[0] for c in GENERATED])
def test_bioimage_generated_sparse_gaec_kl(benchmark, case):
    # corrclust's GAEC + KL is not above bioimage-cpp's on the generated sparse set (quick form)
    pytest.importorskip("bioimage_cpp")
    name, n, edges, costs = case
    uv, c = unique_edges(n, edges, costs)
    peer = Bioimage(n, uv, c)
    ours = benchmark(_core.heuristics.solve_sparse, n, edges, costs, "kl")
    assert ours["objective"] <= peer.energy(peer.gaec_kl()) + 1e-9
