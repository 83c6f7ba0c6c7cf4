"""Feature vectors in, clusters out: :func:`cluster_embeddings` (``corrclust cluster --embeddings``).

Any route's embeddings or profiles, or another tool's features, saved as an ``(n, d)`` float array,
are clustered by the label-free rule of :mod:`corrclust.feature_costs` on one of two paths:

* **dense** (n up to :func:`corrclust.memory.dense_max_n`, default 20,000, and the n x n matrices
  fit in memory): every pair is scored, :func:`corrclust.feature_costs.costs_from_features`;
* **sparse** (above it, or asked for): only the pairs of a k-nearest-neighbour graph
  (:func:`corrclust.candidates.knn_graph`, default k = :data:`GRAPH_K`) are scored, with the same
  rule and the same local scales, so that each scored pair gets exactly its dense cost, and the
  sparse solvers cluster that graph.

**Pairs left out of the graph.** ``left_out_cost`` (``c_out``) is the mean cost the rule gives to
random pairs of rows that are not graph neighbours (:data:`REPULSION_SAMPLES` pairs, drawn with the
seed). With ``background="auto"`` (the default) the solve charges every pair outside the graph one
uniform cost ``b``: the mean rule cost of the two-hop pairs outside the graph
(:func:`two_hop_sample`), the range at which a join actually adds unseen pairs, so a cluster pays for
each of its pairs the graph does not hold (:mod:`corrclust.background`). With ``background=0`` they
cost 0 in the solve (the graph alone, the solvers of :func:`corrclust.solve`).
``objective_all_pairs`` = (cut graph edges) + ``c_out`` x (cut pairs outside the graph), counted in
closed form from the cluster sizes, estimates the dense objective of the same labels.
``benchmarks/bench_scale.py`` measures both against the dense path; docs/sparse.md says why two hops.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from corrclust import cluster_refinement, feature_costs, memory
from corrclust.background import parse_background, solve_background
from corrclust.candidates import KNN_METHODS, candidate_edges, knn_graph

__all__ = [
    "GRAPH_K",
    "REPULSION_SAMPLES",
    "two_hop_sample",
    "PATHS",
    "BACKGROUND_SOLVERS",
    "EmbeddingClustering",
    "check_features",
    "check_ids",
    "choose_path",
    "cluster_embeddings",
]

#: Neighbours per row of the sparse candidate graph (the issue's range is 10-30; the rule's local
#: scale needs at least its own k = 7 of them).
GRAPH_K = 30
#: Random pairs whose mean cost is the uniform cost of the pairs left out of the graph.
REPULSION_SAMPLES = 100_000
PATHS = ("auto", "dense", "sparse")
#: The solvers of the sparse path with a background cost: ``solver`` -> the method of
#: :func:`corrclust.background.solve_background`.
BACKGROUND_SOLVERS = {"kl": "moves", "gaec": "gaec"}


@dataclass
class EmbeddingClustering:
    """The clusters of feature vectors and how they were found.

    ``objective`` is what the solver minimised: the cut pairs it saw, and with a ``background``
    (the sparse path's uniform cost of the pairs outside the graph, :mod:`corrclust.background`)
    that cost times the cut pairs outside the graph. ``objective_all_pairs`` adds the pairs left
    out of a sparse graph at ``left_out_cost`` (equal to ``objective`` on the dense path and with
    ``background == left_out_cost``).
    """

    ids: np.ndarray
    labels: np.ndarray
    path: str
    objective: float
    objective_all_pairs: float
    pairs: int
    left_out_cost: float | None
    knn: str | None
    neighbours: int
    graph_k: int | None
    granularity: float
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    solve: Any = field(default=None, repr=False)
    background: float | None = None
    refinement: Any = field(default=None, repr=False)

    @property
    def n_clusters(self) -> int:
        return int(self.labels.max()) + 1 if self.labels.size else 0

    def summary(self) -> dict[str, Any]:
        """A JSON-ready account of the run (no per-row arrays)."""
        return {
            "n": int(self.ids.size),
            "clusters": self.n_clusters,
            "path": self.path,
            "pairs_scored": self.pairs,
            "knn": self.knn,
            "graph_k": self.graph_k,
            "neighbours": self.neighbours,
            "granularity": self.granularity,
            "objective": self.objective,
            "objective_all_pairs": self.objective_all_pairs,
            "left_out_cost": self.left_out_cost,
            "background": self.background,
            "refined_pairs": None if self.refinement is None else list(self.refinement.pairs),
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "notes": list(self.notes),
        }


def _listed(items: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" (and {len(items) - limit} more)" if len(items) > limit else "")


def check_features(E: Any, where: str = "features") -> np.ndarray:
    """``E`` as a finite ``(n, d)`` float64 array with n >= 2; else one ValueError line naming the rows."""
    try:
        X = np.asarray(E, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: not an array of numbers") from None
    if X.ndim != 2 or X.shape[0] < 2 or X.shape[1] < 1:
        raise ValueError(
            f"{where}: expected an (n, d) array with n >= 2 rows and d >= 1, got shape {X.shape}"
        )
    bad = np.flatnonzero(~np.isfinite(X).all(axis=1))
    if bad.size:
        raise ValueError(
            f"{where}: NaN or infinite features in {bad.size} row(s): {_listed([str(int(r)) for r in bad])}"
        )
    return X


def check_ids(ids: Any, n: int, where: str = "ids") -> np.ndarray:
    """``ids`` (one per row, unique) as an array; row numbers 0..n-1 when None."""
    if ids is None:
        return np.arange(n, dtype=np.int64)
    arr = np.asarray(list(ids))
    if arr.ndim != 1 or arr.size != n:
        raise ValueError(f"{where}: {arr.size} ids for {n} rows of features")
    values, counts = np.unique(arr, return_counts=True)
    dup = values[counts > 1]
    if dup.size:
        raise ValueError(f"{where}: duplicate ids {_listed([str(v) for v in dup])}")
    return arr


def choose_path(n: int, path: str = "auto", dense_max_n: int | None = None) -> tuple[str, str | None]:
    """``(path, note)``: which path n rows take, and why when it was not asked for.

    A dense request above the limit raises :class:`corrclust.memory.DenseLimitError`; one that would
    not fit in memory raises :class:`corrclust.memory.InsufficientMemoryError` with the size it
    needs, before anything is allocated. ``auto`` goes sparse in both cases and says so.
    """
    if path not in PATHS:
        raise ValueError(f"path must be one of {', '.join(PATHS)}, got {path!r}")
    limit = memory.dense_max_n(dense_max_n)
    need = memory.dense_feature_bytes(n)
    if path == "sparse":
        return "sparse", None
    if n > limit:
        if path == "dense":
            raise memory.DenseLimitError(
                f"{n} rows are above the dense limit of {limit} (a dense run would need "
                f"{memory.format_bytes(need)}); use the sparse path or raise the limit (--dense-max-n)"
            )
        return (
            "sparse",
            f"{n} rows are above the dense limit of {limit}: sparse path (k-nearest-neighbour graph)",
        )
    available = memory.available_bytes()
    if available is not None and need > available:
        if path == "dense":
            memory.require(need, f"the dense cost matrices of {n} rows")
        return "sparse", (
            f"the dense cost matrices of {n} rows need {memory.format_bytes(need)} and "
            f"{memory.format_bytes(available)} is available: sparse path (k-nearest-neighbour graph)"
        )
    return "dense", None


def left_out_sample(X: np.ndarray, uv: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(pairs, distances)``: the random pairs (drawn with the seed, :data:`REPULSION_SAMPLES` of
    them before the graph's own and the self pairs are dropped) whose mean cost is ``c_out``."""
    n = X.shape[0]
    rng = np.random.default_rng([seed, 18])
    a = rng.integers(0, n, REPULSION_SAMPLES)
    b = rng.integers(0, n, REPULSION_SAMPLES)
    return _non_edges(X, uv, a, b)


def _non_edges(X: np.ndarray, uv: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(pairs, distances)``: the pairs ``(a, b)``, each as (lower, higher), without the self pairs
    and the edges of ``uv`` (sorted rows ``u < v``)."""
    n = X.shape[0]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keys = uv[:, 0] * n + uv[:, 1]
    k = lo * n + hi
    pos = np.minimum(np.searchsorted(keys, k), max(keys.size - 1, 0))
    out = (lo != hi) & ((keys.size == 0) | (keys[pos] != k))
    pairs = np.stack([lo[out], hi[out]], axis=1)
    return pairs, np.linalg.norm(X[pairs[:, 0]] - X[pairs[:, 1]], axis=1)


def two_hop_sample(X: np.ndarray, uv: np.ndarray, n_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(pairs, distances)``: pairs ``(i, l)`` at two hops in the graph ``uv`` (``l`` a neighbour of a
    neighbour of ``i``) that are not graph edges themselves, drawn with the seed (``n_samples`` walks
    from uniformly drawn rows before the self pairs and edges are dropped).

    These are the left-out pairs that matter to a solve: a join is only ever weighed between two
    clusters that share an edge, and the pairs it adds outside the graph sit at about this range,
    not at the range of two random rows (which is what ``left_out_cost`` averages)."""
    n = X.shape[0]
    if uv.size == 0 or n_samples < 1:
        return np.empty((0, 2), np.int64), np.empty(0)
    ends = np.concatenate([uv[:, 0], uv[:, 1]])
    other = np.concatenate([uv[:, 1], uv[:, 0]])
    order = np.argsort(ends, kind="stable")
    nbr = other[order]
    start = np.concatenate([[0], np.cumsum(np.bincount(ends, minlength=n))])
    deg = np.diff(start)
    rng = np.random.default_rng([seed, 18, 2])
    i = rng.integers(0, n, n_samples)
    i = i[deg[i] > 0]
    j = nbr[start[i] + (rng.random(i.size) * deg[i]).astype(np.int64)]
    l_ = nbr[start[j] + (rng.random(j.size) * deg[j]).astype(np.int64)]
    return _non_edges(X, uv, i, l_)


def _background_auto(
    X: np.ndarray, score: feature_costs.LocalScalingCost, uv: np.ndarray, seed: int
) -> float:
    """``background="auto"``: the mean rule cost of the two-hop pairs outside the graph
    (:func:`two_hop_sample`, :data:`REPULSION_SAMPLES` walks), 0 when there are none."""
    pairs, d = two_hop_sample(X, uv, REPULSION_SAMPLES, seed)
    if not pairs.size:
        return 0.0
    return float(score(X, pairs, d).mean())


def _left_out_cost(X: np.ndarray, score: feature_costs.LocalScalingCost, uv: np.ndarray, seed: int) -> float:
    """Mean rule cost of random pairs that are not graph edges (the uniform cost of the left-out pairs)."""
    pairs, d = left_out_sample(X, uv, seed)
    if not pairs.size:
        return 0.0
    return float(score(X, pairs, d).mean())


def cut_pairs(labels: np.ndarray) -> int:
    """Pairs of rows in different clusters, from the cluster sizes."""
    sizes = np.bincount(labels).astype(np.int64)
    n = int(labels.size)
    return (n * n - int((sizes * sizes).sum())) // 2


def cluster_embeddings(
    E: Any,
    *,
    ids: Any = None,
    path: str = "auto",
    neighbours: int = feature_costs.K_NEIGHBOURS,
    graph_k: int = GRAPH_K,
    granularity: float = 0.0,
    solver: str = "kl",
    seed: int = 0,
    time_limit: float | None = None,
    knn: str = "auto",
    background: str | float = "auto",
    dense_max_n: int | None = None,
    threads: int | None = None,
    refine: bool = True,
    progress: Callable[[str], None] | None = None,
) -> EmbeddingClustering:
    """Cluster the rows of ``E`` (an ``(n, d)`` float array) by the label-free rule.

    ``ids``: one per row (unique), default the row numbers 0..n-1. ``path``: ``"auto"`` (dense up
    to the limit ``dense_max_n`` when it fits in memory, else sparse), ``"dense"`` or ``"sparse"``.
    ``neighbours``: the rule's neighbourhood (local scale); ``graph_k``: neighbours per row of the
    sparse graph (at least ``neighbours``); ``knn``: ``"auto"``, ``"exact"`` or ``"faiss"`` (see
    :func:`corrclust.candidates.knn_graph`). ``background`` (sparse path): the cost of the pairs
    outside the graph in the solve, ``"auto"`` (the mean cost of the two-hop pairs outside the
    graph, :func:`two_hop_sample`), ``0``
    (none: the graph alone, any ``solver``) or a number <= 0; with one, ``solver`` ``"kl"`` runs
    GAEC then node moves and joins under that cost, ``"gaec"`` GAEC alone
    (:func:`corrclust.background.solve_background`). ``refine`` (sparse path, ``"kl"`` with a
    background): then solve again (GAEC from single rows, node moves and joins) with the exact
    costs of the pairs inside each cluster and between clusters that share an attractive edge
    (:func:`corrclust.cluster_refinement.refine` with ``restart``). ``progress(message)`` is told of each step.
    NaN features or duplicate ids raise one ValueError line naming them.
    """
    X = check_features(E)
    n = X.shape[0]
    ids = check_ids(ids, n)
    if knn not in KNN_METHODS:
        raise ValueError(f"knn must be one of {', '.join(KNN_METHODS)}, got {knn!r}")
    wanted = parse_background(background)
    neighbours = max(1, min(int(neighbours), n - 1))
    chosen, note = choose_path(n, path, dense_max_n)
    if chosen == "sparse" and wanted != 0 and solver not in BACKGROUND_SOLVERS:
        raise ValueError(
            f"solver {solver!r} cannot solve with a background cost: use "
            f"{' or '.join(map(repr, BACKGROUND_SOLVERS))}, or background=0"
        )
    notes = [note] if note else []
    say = progress or (lambda message: None)
    if note:
        say(note)
    from corrclust.solve import solve

    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    if chosen == "dense":
        say(f"dense path: costs of all {n * (n - 1) // 2} pairs")
        C, _ = feature_costs.costs_from_features(X, k=neighbours, granularity=granularity)
        seconds["costs"] = time.perf_counter() - t0
        # the solve took 76 of the 215 s at n = 20,000 (load 6), after the line above (audit qa16)
        say(f"dense path: solving ({solver})")
        t1 = time.perf_counter()
        res = solve(C, method=solver, seed=seed, time_limit=time_limit)
        seconds["solve"] = time.perf_counter() - t1
        seconds["total"] = time.perf_counter() - t0
        return EmbeddingClustering(
            ids, res.labels, "dense", res.objective, res.objective, n * (n - 1) // 2, None, None,
            neighbours, None, granularity, seconds, notes, res,
        )  # fmt: skip
    k = max(int(graph_k), neighbours)
    if k >= n:
        k = n - 1
    edges_max = n * k
    memory.require(memory.sparse_problem_bytes(n, edges_max) + 8 * n * k * 3, f"the sparse graph of {n} rows")
    say(f"sparse path: {k} nearest neighbours of {n} rows")
    idx, dist, used = knn_graph(X, k, method=knn, seed=seed, threads=threads)
    seconds["knn"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    score = feature_costs.LocalScalingCost.from_knn(dist, neighbours, granularity)  # as the Dask path
    uv, d = candidate_edges(idx, dist)
    del idx, dist
    costs = score(X, uv, d)
    c_out = _left_out_cost(X, score, uv, seed)
    b_auto = _background_auto(X, score, uv, seed) if wanted == "auto" else 0.0
    seconds["costs"] = time.perf_counter() - t1
    b = min(b_auto, 0.0) if wanted == "auto" else float(wanted)
    if wanted == "auto" and b_auto > 0:
        notes.append(
            f"the two-hop pairs outside the graph attract on average ({b_auto:.4g}): solved without a background"
        )
        say(notes[-1])
    pairs = int(uv.shape[0])
    say(f"sparse path: solving {pairs} pairs ({solver}, background {b:.4g})")
    t2 = time.perf_counter()
    if b == 0:
        res = solve((n, uv, costs), method=solver, seed=seed, time_limit=time_limit)
    else:
        res = solve_background(n, uv, costs, b, method=BACKGROUND_SOLVERS[solver], time_limit=time_limit)
    seconds["solve"] = time.perf_counter() - t2
    lab, objective, refined = res.labels, res.objective, None
    if refine and b != 0 and solver == "kl":
        # 99 of the 145 s at n = 10^5 (load 6), which showed no line of its own (audit qa16)
        say(
            f"sparse path: refining the {int(lab.max(initial=-1)) + 1} clusters on the exact pairs inside "
            f"and between them (up to {cluster_refinement.REFINE_ROUNDS} rounds)"
        )
        t3 = time.perf_counter()
        refined = cluster_refinement.refine(
            n,
            uv,
            costs,
            lab,
            b,
            lambda pairs: score(X, pairs),
            chunk=cluster_refinement.score_chunk(X.shape[1]),
            restart=True,
        )
        if refined.skipped:
            notes.append(refined.skipped)
            say(refined.skipped)
        if refined.pairs:  # the left-out pairs are now those outside the refined graph
            lab, objective, uv, costs = refined.labels, refined.objective, refined.edges, refined.costs
            c_out = _left_out_cost(X, score, uv, seed)
        seconds["refine"] = time.perf_counter() - t3
    seconds["total"] = time.perf_counter() - t0
    cut = lab[uv[:, 0]] != lab[uv[:, 1]]
    all_pairs = float(costs[cut].sum()) + c_out * (cut_pairs(lab) - int(np.count_nonzero(cut)))
    return EmbeddingClustering(
        ids, lab, "sparse", objective, all_pairs, pairs, c_out, used,
        neighbours, k, granularity, seconds, notes, res, b, refined,
    )  # fmt: skip
