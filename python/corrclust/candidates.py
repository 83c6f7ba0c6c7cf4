"""Candidate pairs: the k nearest neighbours of every feature vector, as a sparse graph.

Above a few ten thousand images the n x n pairs neither fit in memory nor can be scored; only the
pairs of a k-nearest-neighbour graph of the feature vectors (profiles or embeddings) are scored and
clustered. The graph comes from an approximate-neighbour library (:func:`knn_graph`) or, for
checking and where none is installed, from the exact blockwise search here
(:func:`exact_knn_block`, :func:`exact_knn`).

Distances are Euclidean, in ``float64``. Exact results are deterministic: ties are broken by the
index of the neighbour, and a query's neighbours do not depend on the block it was searched in
(the candidates found with one matrix product are re-measured row by row before they are ranked,
so the rounding of the product, which depends on the block's shape, does not decide the order).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "BLOCK_BYTES",
    "block_rows",
    "exact_knn_block",
    "exact_knn",
    "candidate_edges",
    "EXACT_MAX_N",
    "KNN_METHODS",
    "ann_available",
    "knn_graph",
    "FAISS_M",
    "FAISS_EF_CONSTRUCTION",
    "ANN_MISSING",
    "faiss_ef_search",
    "faiss_index",
    "faiss_candidates",
    "refine_candidates",
]

#: Size of the distance block one exact search step holds (64 MiB of ``float64``); the rows of a
#: block follow from it and the size of the base.
BLOCK_BYTES = 64 * 2**20
# Candidates kept from the matrix product beyond the k asked for, re-measured exactly before the
# ranking: the product's rounding can swap neighbours whose distances agree to ~1e-8 relative,
# never ones further apart than this many places.
_MARGIN = 8


def _as_features(X: np.ndarray, what: str) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"{what} must be an (n, d) matrix, got shape {X.shape}")
    return X


def exact_knn_block(
    queries: np.ndarray, base: np.ndarray, k: int, query_offset: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest rows of ``base`` for each row of ``queries`` (Euclidean, exact).

    Query row ``i`` is base row ``query_offset + i`` where that index lies in ``base`` (a block of
    the base searched against all of it); that row is left out of its own neighbours. Other rows at
    distance 0 (duplicates) are kept. Returns ``(indices, distances)``, both ``(q, k)``: int64
    indices into ``base`` and ``float64`` distances, ascending, ties broken by the smaller index.
    """
    Q = _as_features(queries, "queries")
    B = _as_features(base, "base")
    if Q.shape[1] != B.shape[1]:
        raise ValueError(f"queries have {Q.shape[1]} features and the base {B.shape[1]}")
    q, n = Q.shape[0], B.shape[0]
    k = int(k)
    own = int(query_offset) + np.arange(q)
    has_own = (own >= 0) & (own < n)
    available = n - 1 if has_own.any() else n
    if k < 1 or k > available:
        raise ValueError(f"k must be between 1 and {available} for a base of {n} rows, got {k}")
    if q == 0:
        return np.empty((0, k), np.int64), np.empty((0, k), np.float64)
    # squared distances from one matrix product: |q|^2 + |b|^2 - 2 q.b
    sq = (Q * Q).sum(axis=1)[:, None] + (B * B).sum(axis=1)[None, :]
    sq -= 2.0 * (Q @ B.T)
    rows = np.flatnonzero(has_own)
    sq[rows, own[rows]] = np.inf
    m = min(k + _MARGIN, n)
    if m < n:
        cand = np.argpartition(sq, m - 1, axis=1)[:, :m]
    else:
        cand = np.broadcast_to(np.arange(n), (q, n)).copy()
    del sq
    # re-measure the candidates one row at a time (independent of the block's shape)
    diff = Q[:, None, :] - B[cand]
    dist = np.sqrt(np.einsum("qmd,qmd->qm", diff, diff, optimize=False))
    del diff
    dist[cand == own[:, None]] = np.inf
    order = np.lexsort((cand, dist), axis=-1)[:, :k]
    return np.take_along_axis(cand, order, axis=1).astype(np.int64), np.take_along_axis(dist, order, axis=1)


def block_rows(n_base: int, block_bytes: int = BLOCK_BYTES) -> int:
    """Query rows per exact search step, so that one step's distance block stays near ``block_bytes``."""
    return max(1, int(block_bytes) // (8 * max(1, int(n_base))))


def exact_knn(
    X: np.ndarray,
    k: int,
    *,
    block_bytes: int = BLOCK_BYTES,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The exact ``k`` nearest neighbours of every row of ``X`` among the others, block by block.

    Memory is the features plus one block of distances (``block_bytes``); time is ``n^2 d``.
    ``progress(done, n)`` is called after each block. Returns ``(indices, distances)``, ``(n, k)``.
    """
    X = _as_features(X, "features")
    n = X.shape[0]
    step = block_rows(n, block_bytes)
    idx = np.empty((n, int(k)), np.int64)
    dist = np.empty((n, int(k)), np.float64)
    for start in range(0, n, step):
        stop = min(n, start + step)
        idx[start:stop], dist[start:stop] = exact_knn_block(X[start:stop], X, k, start)
        if progress is not None:
            progress(stop, n)
    return idx, dist


#: ``knn_graph(method="auto")`` searches exactly up to this many rows (seconds there, and
#: deterministic); above it with the approximate library when it is installed.
EXACT_MAX_N = 20_000
KNN_METHODS = ("auto", "exact", "faiss")


def ann_available() -> bool:
    """Whether the approximate-neighbour library (faiss-cpu, the ``ann`` extra) can be imported."""
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


#: The HNSW settings of the faiss search (M, efConstruction; efSearch is :func:`faiss_ef_search`),
#: fixed before measuring: benchmarks/bench_knn.py compares them with pynndescent and hnswlib.
FAISS_M = 32
FAISS_EF_CONSTRUCTION = 80
#: The one line a missing faiss gives.
ANN_MISSING = "the faiss kNN search needs faiss-cpu: pip install 'corrclust[ann]'"


def faiss_ef_search(k: int) -> int:
    """The HNSW search breadth for ``k`` neighbours: ``max(2 k, 64)``."""
    return max(2 * int(k), 64)


def faiss_index(X: np.ndarray, threads: int | None = None) -> Any:
    """A faiss HNSW index (:data:`FAISS_M`, :data:`FAISS_EF_CONSTRUCTION`) of the rows of ``X``
    (as ``float32``), built with ``threads`` OpenMP threads (default: faiss's, all cores).

    With one thread the build is deterministic. With more, faiss inserts rows concurrently and the
    graph may depend on their timing (faiss does not promise otherwise, although repeated 2-thread
    builds at n = 20,000 gave identical indexes); searching a given index is deterministic.
    """
    if not ann_available():
        raise ImportError(ANN_MISSING)
    import faiss

    if threads is not None:
        faiss.omp_set_num_threads(int(threads))
    index = faiss.IndexHNSWFlat(X.shape[1], FAISS_M)
    index.hnsw.efConstruction = FAISS_EF_CONSTRUCTION
    index.add(np.ascontiguousarray(X, dtype=np.float32))
    return index


def faiss_candidates(index: Any, queries: np.ndarray, k: int, threads: int | None = None) -> np.ndarray:
    """Neighbour candidates ``(q, k + 1)`` int64 of each query row in ``index`` (a query that is a
    row of the index usually finds itself among them; ``-1`` where fewer were found).

    A query's candidates depend only on the index and the query, not on the other queries or the
    number of threads (each query is one graph walk; checked in tests/test_distributed.py), so a
    search split into row blocks gives the candidates of one search of all rows.
    """
    import faiss

    if threads is not None:
        faiss.omp_set_num_threads(int(threads))
    params = faiss.SearchParametersHNSW(efSearch=faiss_ef_search(k))  # type: ignore[attr-defined]
    _, idx = index.search(np.ascontiguousarray(queries, dtype=np.float32), int(k) + 1, params=params)
    return np.asarray(idx, dtype=np.int64)


def refine_candidates(
    X: np.ndarray, cand: np.ndarray, k: int, query_offset: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best candidates of query rows ``X[query_offset : query_offset + len(cand)]``
    (``cand`` indexes rows of ``X``), re-measured in float64 one row at a time and ranked by
    (distance, index), the row itself left out. Returns ``(indices, distances)``; ``-1`` and
    ``inf`` where a row has fewer than ``k`` candidates."""
    q = cand.shape[0]
    rows = int(query_offset) + np.arange(q)[:, None]
    dist = np.empty(cand.shape, np.float64)
    step = max(1, BLOCK_BYTES // (8 * X.shape[1] * max(1, cand.shape[1])))
    for start in range(0, q, step):
        c = cand[start : start + step]
        first = int(query_offset) + start
        diff = X[first : first + c.shape[0], None, :] - X[np.maximum(c, 0)]
        dist[start : start + step] = np.sqrt(np.einsum("qmd,qmd->qm", diff, diff, optimize=False))
    dist[(cand < 0) | (cand == rows)] = np.inf
    order = np.lexsort((cand, dist), axis=-1)[:, :k]
    idx, dist = np.take_along_axis(cand, order, axis=1), np.take_along_axis(dist, order, axis=1)
    idx[~np.isfinite(dist)] = -1
    return idx, dist


def knn_graph(
    X: np.ndarray,
    k: int,
    *,
    method: str = "auto",
    seed: int = 0,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, str]:
    """The ``k`` nearest neighbours of every row of ``X``: ``(indices, distances, method used)``.

    ``method``: ``"exact"`` (:func:`exact_knn`), ``"faiss"`` (approximate, faiss-cpu's HNSW index)
    or ``"auto"`` (exact up to :data:`EXACT_MAX_N` rows or where faiss is not installed, else
    faiss). Approximate candidates are re-measured in ``float64`` and ranked like the exact ones,
    so both give the same distances for the neighbours they agree on; a row the index found fewer
    than ``k`` neighbours for has ``-1`` (distance ``inf``) in the rest.
    """
    X = _as_features(X, "features")
    n = X.shape[0]
    if method not in KNN_METHODS:
        raise ValueError(f"knn method must be one of {', '.join(KNN_METHODS)}, got {method!r}")
    if not 1 <= int(k) < n:
        raise ValueError(f"k must be between 1 and {n - 1} for {n} rows, got {k}")
    if method == "auto":
        method = "faiss" if n > EXACT_MAX_N and ann_available() else "exact"
    if method == "exact":
        idx, dist = exact_knn(X, k, progress=progress)
        return idx, dist, "exact"
    if not ann_available():
        raise ImportError(ANN_MISSING)
    index = faiss_index(X, threads)
    cand = faiss_candidates(index, X, min(int(k), n - 1), threads)
    del index
    idx, dist = refine_candidates(X, cand, int(k))
    if progress is not None:
        progress(n, n)
    return idx, dist, "faiss"


def candidate_edges(indices: np.ndarray, distances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of a kNN graph, each once: ``(uv, d)`` with ``uv`` (m, 2) int64, ``u < v``, sorted.

    Row ``i`` of ``indices`` lists the neighbours of node ``i``; negative entries (a library's
    "no neighbour found") and ``i`` itself are skipped. A pair found from both ends keeps the
    smaller of its two distances (they differ only where an approximate search rounded differently).
    """
    nbr = np.asarray(indices)
    D = np.asarray(distances, dtype=np.float64)
    if nbr.ndim != 2 or nbr.shape != D.shape:
        raise ValueError(f"indices and distances must be (n, k) of one shape, got {nbr.shape} and {D.shape}")
    n, k = nbr.shape
    u = np.repeat(np.arange(n, dtype=np.int64), k)
    v = nbr.astype(np.int64, copy=False).ravel()
    d = D.ravel()
    keep = (v >= 0) & (v != u)
    u, v, d = u[keep], v[keep], d[keep]
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    width = int(max(n, int(hi.max()) + 1 if hi.size else 0))
    key = lo * width + hi
    order = np.lexsort((d, key))
    key, d = key[order], d[order]
    first = np.ones(key.size, bool)
    first[1:] = key[1:] != key[:-1]
    key, d = key[first], d[first]
    uv = np.stack([key // width, key % width], axis=1)
    return uv, d
