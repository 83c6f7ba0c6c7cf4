"""The background model: a sparse graph whose missing pairs all cost one repulsive value ``b``.

The sparse path of :func:`corrclust.cluster_embeddings` scores only the pairs of a kNN graph. Left
out of the solve, the other pairs would cost 0, and nothing would stop clusters from growing along
chains of neighbours (on the RBC profiles the dense path's 936 clusters became 105). Here every
pair that is not an edge costs ``b <= 0`` instead, so the objective is

    (summed cost of the cut edges) + b x (cut pairs - cut edges),

with the cut pairs counted from the cluster sizes: the objective of the complete graph whose
missing entries are filled with ``b``, solved without building it (``cpp/src/gaec_background.cpp``,
``cpp/src/background_moves.cpp``). Joining two clusters A and B gains
``W_AB + b (|A||B| - m_AB)`` (``W_AB``, ``m_AB``: the summed cost and the number of the edges
between them), so a cluster pays ``b`` for each of its pairs that the graph does not hold.

How ``b`` is chosen for feature vectors (:func:`parse_background`, ``--background``): ``"auto"``
is the mean cost the rule gives to the two-hop pairs outside the graph
(:func:`corrclust.embedding_clustering.two_hop_sample`, drawn with the seed; until session 6 it was
the mean over random non-edge pairs, the ``left_out_cost``, which split classes larger than k, see
docs/sparse.md); ``0`` is the sparse graph alone (the solvers of :func:`corrclust.solve`, as
before this model existed); a number ``<= 0`` is used as given.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from corrclust.solve import SolveResult, _result_from_raw, check_time_limit

__all__ = ["BACKGROUND_METHODS", "parse_background", "solve_background", "background_objective"]

#: ``"gaec"``: GAEC under the model; ``"moves"``: GAEC then node moves alternating with joins.
BACKGROUND_METHODS = ("gaec", "moves")


def parse_background(value: Any, name: str = "background") -> str | float:
    """``"auto"`` or a finite number ``<= 0`` (strings such as ``"-1.5"`` are read as numbers).

    Anything else raises one ValueError line naming ``name`` (e.g. ``"--background"``).
    """
    given = value
    if isinstance(value, str):
        if value.strip().lower() == "auto":
            return "auto"
        try:
            value = float(value)
        except ValueError:
            raise ValueError(f"{name} must be 'auto' or a number <= 0, got {given!r}") from None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be 'auto' or a number <= 0, got {value!r}")
    b = float(value)
    if not math.isfinite(b) or b > 0:
        raise ValueError(f"{name} must be 'auto' or a finite number <= 0 (repulsive), got {given!r}")
    return b


def background_objective(n: int, uv: np.ndarray, costs: np.ndarray, background: float, labels: Any) -> float:
    """The model's objective of ``labels``: cut edges plus ``background`` x (cut pairs - cut edges).

    ``uv`` must hold each pair at most once (as :func:`corrclust.candidates.candidate_edges` gives).
    """
    lab = np.asarray(labels)
    if lab.shape != (n,):
        raise ValueError(f"labels must hold one label per node ({n}), got shape {lab.shape}")
    cut = lab[uv[:, 0]] != lab[uv[:, 1]]
    _, sizes = np.unique(lab, return_counts=True)
    sizes = sizes.astype(np.int64)
    cut_pairs = (n * n - int((sizes * sizes).sum())) // 2
    return float(np.asarray(costs)[cut].sum()) + background * float(cut_pairs - int(cut.sum()))


def solve_background(
    n: int,
    uv: Any,
    costs: Any,
    background: float,
    *,
    method: str = "moves",
    time_limit: float | None = None,
    warm_start: Any = None,
    progress: Callable[[dict], Any] | None = None,
) -> SolveResult:
    """Cluster ``n`` nodes with edges ``uv`` (int64 ``(m, 2)``, costs ``(m,)``) and every other pair
    at ``background`` (<= 0). ``method``: one of :data:`BACKGROUND_METHODS` (``"moves"`` starts
    from ``warm_start`` instead of GAEC when given). ``objective`` is the model's. Ctrl-C raises
    KeyboardInterrupt; a time limit returns the labels so far with status ``"time_limit"``.
    Deterministic: no seed.
    """
    if method not in BACKGROUND_METHODS:
        raise ValueError(f"method must be one of {', '.join(BACKGROUND_METHODS)}, got {method!r}")
    b = parse_background(background)
    if b == "auto":
        raise ValueError("solve_background needs the background cost as a number, not 'auto'")
    from corrclust._native import _core

    raw = _core.heuristics.solve_background(
        int(n),
        np.ascontiguousarray(uv, dtype=np.int64).reshape(-1, 2),
        np.ascontiguousarray(costs, dtype=np.float64),
        float(b),
        method,
        time_limit=check_time_limit(time_limit),
        warm_start=None if warm_start is None else np.ascontiguousarray(warm_start, dtype=np.int64),
        progress=progress,
    )
    result = _result_from_raw(raw, method)
    result.extra["background"] = float(b)
    return result
