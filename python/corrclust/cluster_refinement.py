"""Refining a sparse solve on the exact pairs around its clusters (issue 18's real-profile gap).

The sparse path of :func:`corrclust.cluster_embeddings` charges every pair outside the kNN graph one
uniform background cost ``b`` (:mod:`corrclust.background`). Inside a cluster and between two
neighbouring clusters the unseen pairs are near ones, which the dense rule charges less than ``b``
(or lets attract), so on weakly separated data (the RBC profiles) the sparse solve splits what the
dense path keeps together: 1,008 clusters for the dense path's 762 on 5,000 cells (docs/sparse.md).

:func:`refine` takes those pairs into account exactly. From the labels of the first solve it lists

* every pair of rows inside one cluster, and
* every pair of rows between two clusters that share an attractive graph edge (a cost > 0),

scores them with the rule (``score``), adds the graph edges not among them, and solves again on
that graph, the other pairs still at ``b``: with ``restart`` (what both sparse paths use) GAEC from
single rows and then node moves and joins (``solve_background(method="moves")``), as the dense path
solves all pairs; without it the moves and joins start from the labels. Clusters that change make
new pairs: this repeats until the labels stay the same or ``rounds`` are done. Nothing of size n^2
is built: the pairs are those of the clusters and their attractive neighbours, counted in closed
form before they are listed (:func:`count_block_pairs`) and refused above ``max_pairs`` (a note
says so and the labels stay).

Why only attractive neighbours: on the development draw of RBC cells (docs/sparse.md) the gap to the
dense path was the same with every neighbouring cluster (+0.028) as with the attractive ones
(+0.032), with 1.5 times the pairs; on a 10,000-cell development draw (session 9, moves from the
labels) every neighbouring cluster gave +0.080 and the clusters up to two attractive hops apart
+0.082 (38-50 times the graph's pairs) against +0.079.

Why ``restart``: at 10,000 RBC cells the moves from the first solve's labels converge to another
local optimum than the dense path's (+0.079 and +0.067 in VI to the cell types on two development
draws, docs/sparse.md), while GAEC from single rows on the same exact pairs follows the dense
path's own route (+0.003 and +0.014), at about the same cost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "REFINE_ROUNDS",
    "REFINE_PAIRS_FACTOR",
    "Refinement",
    "attractive_neighbours",
    "count_block_pairs",
    "block_pairs",
    "refine",
    "score_chunk",
]

#: Rounds of listing pairs and moving nodes at most (on the development draw the second round
#: still lowered the gap, +0.047 -> +0.032, the third changed nothing).
REFINE_ROUNDS = 3
#: The refinement is skipped when it would list more than this many times the graph's pairs (the
#: development draw needed 5.5 at k = 30; planted classes of 10, about 1.2).
REFINE_PAIRS_FACTOR = 8.0
#: Pairs listed and scored at once, at most (:func:`score_chunk` bounds their differences).
SCORE_CHUNK = 1 << 20


def score_chunk(d: int, budget: int = 32 << 20) -> int:
    """Pairs per ``score`` call for rows of ``d`` features: their differences within ``budget`` bytes."""
    return int(max(1, min(SCORE_CHUNK, budget // (8 * max(1, int(d))))))


@dataclass
class Refinement:
    """``labels`` (0..K-1, first appearance order) after :func:`refine`; ``edges``/``costs`` the
    last round's graph (u < v, each pair once, sorted); ``objective`` the background model's on that graph;
    ``pairs`` the pairs listed in each round; ``skipped`` why nothing was done, else None."""

    labels: np.ndarray
    edges: np.ndarray
    costs: np.ndarray
    objective: float
    pairs: list[int] = field(default_factory=list)
    skipped: str | None = None


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Labels 0..K-1 in order of first appearance."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(first.size, np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    return rank[inverse.ravel()]


def attractive_neighbours(labels: np.ndarray, uv: np.ndarray, costs: np.ndarray) -> np.ndarray:
    """``(p, 2)`` cluster pairs (a < b, sorted) joined by at least one graph edge of cost > 0."""
    a, b = labels[uv[:, 0]], labels[uv[:, 1]]
    keep = (a != b) & (costs > 0)
    k = int(labels.max()) + 1 if labels.size else 0
    keys = np.unique(np.minimum(a[keep], b[keep]) * k + np.maximum(a[keep], b[keep]))
    return np.stack([keys // k, keys % k], axis=1)


def count_block_pairs(labels: np.ndarray, neighbours: np.ndarray) -> int:
    """Pairs :func:`block_pairs` lists: inside every cluster, and across each of ``neighbours``."""
    sizes = np.bincount(labels).astype(np.int64)
    within = int((sizes * (sizes - 1) // 2).sum())
    return within + int((sizes[neighbours[:, 0]] * sizes[neighbours[:, 1]]).sum())


def block_pairs(labels: np.ndarray, neighbours: np.ndarray, chunk: int = SCORE_CHUNK):
    """Yield ``(m, 2)`` arrays (u < v) of the pairs inside every cluster of ``labels`` and between
    the two clusters of each row of ``neighbours``, each pair once, at most about ``chunk`` a time."""
    order = np.argsort(labels, kind="stable")
    sizes = np.bincount(labels).astype(np.int64)
    start = np.concatenate([[0], np.cumsum(sizes)])
    k = sizes.size
    # blocks: (cluster a, cluster b) with a == b for a cluster's own pairs
    blocks = np.concatenate([np.stack([np.arange(k), np.arange(k)], axis=1), neighbours]).astype(np.int64)
    na, nb = sizes[blocks[:, 0]], sizes[blocks[:, 1]]
    count = na * nb  # a cluster's own block is listed in full and halved below
    ends = np.cumsum(count)
    lo = 0
    while lo < blocks.shape[0]:
        base = int(ends[lo - 1]) if lo else 0
        hi = max(lo + 1, int(np.searchsorted(ends, base + chunk, side="right")))
        c = count[lo:hi]
        block = np.repeat(np.arange(lo, hi), c)
        offset = np.arange(int(c.sum())) - np.repeat(np.cumsum(c) - c, c)
        i = order[start[blocks[block, 0]] + offset // nb[block]]
        j = order[start[blocks[block, 1]] + offset % nb[block]]
        own = blocks[block, 0] == blocks[block, 1]
        keep = ~own | (i < j)
        i, j = i[keep], j[keep]
        yield np.stack([np.minimum(i, j), np.maximum(i, j)], axis=1)
        lo = hi


def _graph(
    labels: np.ndarray,
    uv: np.ndarray,
    costs: np.ndarray,
    neighbours: np.ndarray,
    score: Callable[[np.ndarray], np.ndarray],
    chunk: int,
    listed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``listed`` pairs with their scores, then the graph edges outside them with their costs,
    written into arrays of the final size (no second copy while they are gathered)."""
    a, b = labels[uv[:, 0]], labels[uv[:, 1]]
    k = int(labels.max()) + 1
    inside = a == b
    if neighbours.size:
        keys = neighbours[:, 0] * k + neighbours[:, 1]
        edge_keys = np.minimum(a, b) * k + np.maximum(a, b)
        pos = np.minimum(np.searchsorted(keys, edge_keys), keys.size - 1)
        inside |= keys[pos] == edge_keys
    rest = np.flatnonzero(~inside)
    del a, b, inside
    edges = np.empty((listed + rest.size, 2), np.int64)
    scored = np.empty(listed + rest.size)
    at = 0
    for pairs in block_pairs(labels, neighbours, chunk):
        edges[at : at + len(pairs)] = pairs
        scored[at : at + len(pairs)] = score(pairs)
        at += len(pairs)
    assert at == listed, "the pairs listed must be those counted"
    edges[at:], scored[at:] = uv[rest], costs[rest]
    return edges, scored


def refine(
    n: int,
    uv: np.ndarray,
    costs: np.ndarray,
    labels: np.ndarray,
    background: float,
    score: Callable[[np.ndarray], np.ndarray],
    *,
    rounds: int = REFINE_ROUNDS,
    max_pairs: int | None = None,
    chunk: int = SCORE_CHUNK,
    restart: bool = False,
) -> Refinement:
    """Solve again on the exact pairs around the clusters of ``labels``.

    ``uv`` (m, 2), ``costs``: the graph (each pair once) the labels were solved on, with every other
    pair at ``background`` (<= 0); ``score(pairs)`` gives the costs of ``(p, 2)`` row pairs (the
    rule), called on at most about ``chunk`` pairs at a time. ``max_pairs`` (default
    :data:`REFINE_PAIRS_FACTOR` x m): a round that would list more pairs, or whose graph would not
    fit in the memory available, stops the refinement, with the reason in ``skipped`` when it is
    the first. ``restart``: each round runs GAEC from single rows, then node moves and joins, on its
    graph; else the moves start from the labels before it, so that on the round's graph its
    objective is never above theirs.
    """
    from corrclust import memory
    from corrclust.background import background_objective, solve_background

    uv = np.asarray(uv, dtype=np.int64).reshape(-1, 2)
    costs = np.asarray(costs, dtype=np.float64)
    lab = _relabel(np.asarray(labels))
    if lab.shape != (n,):
        raise ValueError(f"labels must hold one label per node ({n}), got shape {lab.shape}")
    budget = int(REFINE_PAIRS_FACTOR * uv.shape[0]) if max_pairs is None else int(max_pairs)
    out = Refinement(lab, uv, costs, background_objective(n, uv, costs, background, lab))
    for _ in range(max(0, int(rounds))):
        neighbours = attractive_neighbours(lab, uv, costs)
        listed = count_block_pairs(lab, neighbours)
        need = memory.sparse_problem_bytes(n, listed + uv.shape[0]) + 24 * (listed + uv.shape[0])
        available = memory.available_bytes()
        if listed > budget or (available is not None and need > available):
            if not out.pairs:
                out.skipped = (
                    f"the pairs around the clusters ({listed}) are more than {budget} "
                    f"({REFINE_PAIRS_FACTOR:g} x the graph's or max_pairs): not refined"
                    if listed > budget
                    else f"the pairs around the clusters ({listed}) need {memory.format_bytes(need)}, "
                    f"{memory.format_bytes(available or 0)} is available: not refined"
                )
            break
        out.edges = out.costs = np.empty(0)  # the previous round's graph is not needed any more
        edges, scored = _graph(lab, uv, costs, neighbours, score, chunk, listed)
        out.pairs.append(int(edges.shape[0]))
        res = solve_background(
            n, edges, scored, background, method="moves", warm_start=None if restart else lab
        )
        new = _relabel(res.labels)
        out.labels, out.edges, out.costs, out.objective = new, edges, scored, float(res.objective)
        if np.array_equal(new, lab):
            break
        lab = new
    if out.pairs:  # sorted once at the end (the solver takes the edges in any order)
        order = np.argsort(out.edges[:, 0] * n + out.edges[:, 1], kind="stable")
        out.edges, out.costs = out.edges[order], out.costs[order]
    return out
