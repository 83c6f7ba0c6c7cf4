"""Must-link and cannot-link constraints for every solver of :func:`corrclust.solve`.

A must-link ``(a, b)`` says that nodes ``a`` and ``b`` share a cluster, a cannot-link that they do
not. Both are handled in front of the solvers, so every solver (GAEC, KL, anytime, exact) honours
them without a change to the C++ core:

1. **Must-links contract.** The must-link pairs are united (union-find); each connected component
   becomes one node of a smaller problem whose cost between two components is the sum of the costs
   between their members (dense and sparse alike). The costs inside a component never count,
   because its members are never cut apart, so the objective of a labelling of the small problem is
   exactly the objective of its expansion in the original one.
2. **Contradictions are errors.** A cannot-link whose two nodes fall into one must-link component
   is a :class:`ConstraintError` (a ``ValueError``) naming the cannot-link pair and the chain of
   must-link pairs that joins them.
3. **Cannot-links repel by ``-M``.** Between the components of a cannot-link pair the cost
   ``-M`` is added, with ``M = 2 * S + 1`` and ``S`` the sum of the absolute costs of the
   contracted problem. Why that is enough: without the ``-M`` terms every labelling scores within
   ``[sum of negative costs, sum of positive costs]``, an interval of width ``S``. A labelling that
   cuts all ``L`` cannot-link pairs gains ``-M L``; one that joins at least one pair gains at most
   ``-M (L - 1)``. So every labelling that violates a cannot-link scores worse, by more than
   ``M - S > 0``, than every labelling that satisfies all of them. Hence

   * the exact solver's optimum (and its lower bound, plus ``M L``) is the optimum (bound) of the
     original problem **under the constraints**;
   * GAEC never joins two clusters across a cannot-link (their joint cost is below ``-M + S < 0``),
     and Kernighan-Lin and anytime, which only accept improvements of a labelling that satisfies
     the constraints (GAEC's), never end in one that violates them.

   The result is still checked: a labelling that breaks a constraint is a RuntimeError, never a
   silent answer. Caveat: the exact solver's relative optimality tolerance (1e-9) applies to the
   objective including ``-M L``; with very many cannot-links on a large problem the proof is
   therefore looser in absolute terms (``1e-9 * M * L``) than without constraints.
4. (:func:`corrclust.solve` with ``must_link``/``cannot_link``.) The labels are expanded back to
   the original nodes, and the objective, lower bound and gap are reported for the **original**
   problem (the ``-M`` terms removed).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from corrclust.problem import Problem, as_problem

__all__ = ["ConstraintError", "Constrained", "constrain", "check_pairs", "violations"]


class ConstraintError(ValueError):
    """Contradictory or malformed constraints."""


@dataclass
class Constrained:
    """The problem with must-links contracted and cannot-links made repulsive.

    ``component[i]`` is the node of ``problem`` that original node ``i`` became; ``penalty`` is
    ``M`` and ``n_repulsive`` the number ``L`` of component pairs that received ``-M``.
    """

    problem: Problem
    component: np.ndarray
    penalty: float
    n_repulsive: int
    must_link: np.ndarray
    cannot_link: np.ndarray

    def expand(self, labels: np.ndarray) -> np.ndarray:
        """Labels of the original nodes from labels of the contracted ones."""
        return np.asarray(labels, dtype=np.int64)[self.component]

    def contract_labels(self, labels: np.ndarray) -> np.ndarray:
        """Labels of the contracted nodes from labels of the original ones (a component takes the
        label of its first member), e.g. for a warm start."""
        _, first = np.unique(self.component, return_index=True)  # components are numbered 0..k-1
        return np.asarray(labels, dtype=np.int64)[first]

    def finish(self, original: Problem, result: Any, renumber: Any) -> Any:
        """Turn the solver's result on the contracted problem into one on ``original`` (in place):
        expanded labels (renumbered by ``renumber``), the original objective, the bound plus
        ``M L``, the gap. A labelling that breaks a constraint is a RuntimeError."""
        labels = renumber(self.expand(result.labels))
        broken = violations(labels, self.must_link, self.cannot_link)
        if broken:
            raise RuntimeError(
                f"solver {result.method!r} returned a labelling that breaks constraints: {broken[:3]}"
            )
        objective = float(original.objective(labels))
        lb = (
            None
            if result.lower_bound is None
            else float(result.lower_bound) + self.penalty * self.n_repulsive
        )
        if lb is not None and lb > objective:  # rounding of the shifted bound
            lb = objective
        result.labels = labels
        result.objective = objective
        result.lower_bound = lb
        result.gap = (
            None if (result.gap is None or lb is None) else (objective - lb) / max(abs(objective), 1e-9)
        )
        result.extra = dict(result.extra, n_components=self.problem.n, penalty=self.penalty)
        return result


def check_pairs(pairs: Any, n: int, name: str) -> np.ndarray:
    """``pairs`` as an int64 array of shape (k, 2) with indices in [0, n); ValueError otherwise."""
    if pairs is None:
        return np.zeros((0, 2), dtype=np.int64)
    arr = np.asarray(list(pairs) if not isinstance(pairs, np.ndarray) else pairs)
    if arr.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ConstraintError(f"{name} must be pairs of node indices (shape (k, 2)), got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or np.any(arr != np.round(arr)):
            raise ConstraintError(f"{name} must hold integer node indices, got non-integral values")
    elif arr.dtype.kind not in "iu":
        raise ConstraintError(f"{name} must hold integer node indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    bad = np.flatnonzero((arr < 0).any(axis=1) | (arr >= n).any(axis=1))
    if bad.size:
        a, b = arr[bad[0]]
        raise ConstraintError(f"{name} pair {bad[0]} = ({a}, {b}) names a node outside [0, {n})")
    return arr


def _components(n: int, must: np.ndarray) -> np.ndarray:
    """Component index 0..k-1 of every node (numbered by first member) under the must-links."""
    import scipy.sparse
    from scipy.sparse.csgraph import connected_components

    if must.shape[0] == 0:
        return np.arange(n, dtype=np.int64)
    g = scipy.sparse.coo_matrix((np.ones(must.shape[0]), (must[:, 0], must[:, 1])), shape=(n, n))
    _, comp = connected_components(g, directed=False)
    # renumber by first appearance so that the order of the nodes is kept
    _, first, inverse = np.unique(comp, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    return rank[inverse]


def _chain(must: np.ndarray, a: int, b: int) -> list[tuple[int, int]]:
    """The must-link pairs of a shortest path from a to b (breadth-first search)."""
    adj: dict[int, list[tuple[int, int]]] = {}
    for u, v in must.tolist():
        adj.setdefault(u, []).append((v, u))
        adj.setdefault(v, []).append((u, v))
    prev: dict[int, tuple[int, int]] = {a: (a, a)}
    queue = deque([a])
    while queue:
        u = queue.popleft()
        if u == b:
            break
        for v, _ in adj.get(u, []):
            if v not in prev:
                prev[v] = (u, v)
                queue.append(v)
    path, node = [], b
    while node != a:
        u, v = prev[node]
        path.append((u, v))
        node = u
    return path[::-1]


def constrain(
    problem_or_costs: Any, must_link: Any = None, cannot_link: Any = None, names: list[Any] | None = None
) -> Constrained:
    """Contract the must-links and add the repulsive cannot-link costs (module docstring).

    ``names`` (optional, one per node) are used instead of indices in error messages.
    """
    problem = as_problem(problem_or_costs)
    n = problem.n
    must = check_pairs(must_link, n, "must_link")
    cannot = check_pairs(cannot_link, n, "cannot_link")
    label = (lambda i: str(names[i])) if names is not None else str
    comp = _components(n, must)
    k = int(comp.max()) + 1
    for a, b in cannot.tolist():
        if a == b:
            raise ConstraintError(f"cannot-link ({label(a)}, {label(b)}) asks a node to be apart from itself")
        if comp[a] == comp[b]:
            chain = " + ".join(f"({label(u)}, {label(v)})" for u, v in _chain(must, a, b))
            raise ConstraintError(
                f"contradictory constraints: cannot-link ({label(a)}, {label(b)}) but the must-links "
                f"{chain} put them in one cluster"
            )
    if problem.is_dense:
        c = problem.costs
        if k < n:
            import scipy.sparse

            # sums of the costs between components: R C R^T with the sparse k x n indicator R,
            # O(n^2) (a dense indicator would cost O(k n^2))
            ind = scipy.sparse.csr_matrix((np.ones(n), (comp, np.arange(n))), shape=(k, n))
            c = np.asarray((ind @ (ind @ c).T).T)
            c = np.ascontiguousarray(c / 2.0 + c.T / 2.0)  # exact symmetry; halved first: no overflow
            np.fill_diagonal(c, 0.0)
        else:
            c = c.copy()
        total = float(np.abs(c).sum()) / 2.0
    else:
        edges, costs = problem.to_edges()
        u, v = comp[edges[:, 0]], comp[edges[:, 1]]
        keep = u != v
        e = np.stack([u[keep], v[keep]], axis=1)
        w = costs[keep]
        if e.shape[0]:
            summed = Problem.from_edges(k, e, w)
            e, w = summed.to_edges()
        total = float(np.abs(w).sum())
    penalty = 2.0 * total + 1.0
    if cannot.shape[0]:
        cu, cv = comp[cannot[:, 0]], comp[cannot[:, 1]]
        pairs = np.unique(np.stack([np.minimum(cu, cv), np.maximum(cu, cv)], axis=1), axis=0)
    else:
        pairs = np.zeros((0, 2), dtype=np.int64)
    if problem.is_dense:
        c[pairs[:, 0], pairs[:, 1]] -= penalty
        c[pairs[:, 1], pairs[:, 0]] -= penalty
        small = Problem.from_dense(c) if k > 1 else Problem(1, np.zeros((1, 1)))
    else:
        e = np.concatenate([e.reshape(-1, 2), pairs]).astype(np.int64)
        w = np.concatenate([np.asarray(w, dtype=np.float64), np.full(pairs.shape[0], -penalty)])
        small = (
            Problem.from_edges(k, e, w) if e.shape[0] else Problem(k, np.zeros(0), np.zeros((0, 2), np.int64))
        )
    return Constrained(small, comp, penalty, int(pairs.shape[0]), must, cannot)


def violations(labels: np.ndarray, must_link: np.ndarray, cannot_link: np.ndarray) -> list[str]:
    """The constraints ``labels`` breaks, as text (empty when it honours all of them)."""
    out = []
    for a, b in must_link.tolist():
        if labels[a] != labels[b]:
            out.append(f"must-link ({a}, {b}) cut")
    for a, b in cannot_link.tolist():
        if labels[a] == labels[b]:
            out.append(f"cannot-link ({a}, {b}) joined")
    return out
