"""Correlation-clustering problems: construction from every supported input, and validation.

Convention (everywhere in corrclust): minimise the sum of the costs of the **cut** edges; a positive
cost is attractive (the pair prefers to be in one cluster), a negative cost repulsive. The
all-in-one partition scores 0, all singletons score the sum of all costs.

A :class:`Problem` has one of two shapes:

* **dense**: a complete graph given by a symmetric (n, n) float64 C-contiguous matrix whose
  diagonal is ignored (stored as 0);
* **sparse**: ``n`` nodes and ``m`` distinct undirected edges ``edges`` (int64, shape (m, 2), each
  row ``u < v``, sorted) with costs ``costs`` (float64, shape (m,)); parallel input edges are
  summed. A pair without an edge has cost 0 (it neither attracts nor repels).

This module is the one place where probabilities and similarities become costs
(:meth:`Problem.from_probabilities`, :meth:`Problem.from_similarities`), and where inputs are
validated: the C++ core trusts what it receives.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any

import numpy as np

from corrclust.memory import dense_problem_bytes, require

__all__ = ["Problem", "as_problem", "PROBABILITY_CLAMP"]

#: Probabilities are clamped to [PROBABILITY_CLAMP, 1 - PROBABILITY_CLAMP] before the logit.
PROBABILITY_CLAMP = 1e-6

_SYMMETRIZE = ("mean", "min", "max")


class Problem:
    """A correlation-clustering (minimum-cost multicut) problem, dense or sparse.

    Build it with one of the ``from_*`` constructors; the constructor itself is internal.

    Attributes
    ----------
    n : int
        Number of nodes (>= 1).
    is_dense : bool
        True for a complete graph given as an (n, n) matrix.
    costs : numpy.ndarray
        Dense: the (n, n) symmetric float64 matrix (diagonal 0). Sparse: the (m,) edge costs.
    edges : numpy.ndarray or None
        Sparse: (m, 2) int64 with ``u < v``, sorted, distinct. Dense: None.
    nodes : list or None
        The original node ids when the problem came from a graph (e.g. networkx), else None.
    metadata : dict
        Free-form facts about where the problem came from (e.g. the PACE edit offset).
    """

    __slots__ = ("n", "costs", "edges", "nodes", "metadata")

    def __init__(
        self,
        n: int,
        costs: np.ndarray,
        edges: np.ndarray | None = None,
        *,
        nodes: list[Hashable] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        # Internal: arguments are assumed validated by the from_* constructors, but for the one
        # check every constructor needs at its end: that no objective can overflow.
        _check_cost_total(costs, n if edges is None else None)
        self.n = int(n)
        self.costs = costs
        self.edges = edges
        self.nodes = nodes
        self.metadata = dict(metadata or {})

    # ------------------------------------------------------------------ properties
    @property
    def is_dense(self) -> bool:
        return self.edges is None

    @property
    def num_edges(self) -> int:
        """Number of (distinct, undirected) edges: n(n-1)/2 when dense."""
        return self.n * (self.n - 1) // 2 if self.edges is None else int(self.edges.shape[0])

    def __repr__(self) -> str:
        shape = "dense" if self.is_dense else "sparse"
        return f"Problem({shape}, n={self.n}, edges={self.num_edges})"

    # ------------------------------------------------------------------ evaluation
    def objective(self, labels: Any) -> float:
        """Sum of the costs of the edges cut by ``labels`` (one integer label per node)."""
        lab = _labels_array(labels, self.n, "labels")
        from corrclust._native import _core

        if self.edges is None:
            return float(_core.problem.objective_dense(self.costs, lab))
        return float(_core.problem.objective_sparse(self.n, self.edges, self.costs, lab))

    def to_edges(self) -> tuple[np.ndarray, np.ndarray]:
        """``(edges, costs)`` of the problem as an edge list (for a dense problem: all i < j pairs)."""
        if self.edges is not None:
            return self.edges, self.costs
        iu, ju = np.triu_indices(self.n, k=1)
        return np.stack([iu, ju], axis=1).astype(np.int64), self.costs[iu, ju].copy()

    def to_dense(self) -> np.ndarray:
        """The (n, n) cost matrix (absent edges are 0). Memory is n^2 float64."""
        if self.edges is None:
            return self.costs
        out = np.zeros((self.n, self.n))
        u, v = self.edges[:, 0], self.edges[:, 1]
        out[u, v] = self.costs
        out[v, u] = self.costs
        return out

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_dense(cls, costs: Any, *, rtol: float = 1e-7, atol: float = 1e-9) -> Problem:
        """A complete graph from a symmetric (n, n) cost matrix.

        The diagonal is ignored (it may hold anything, NaN included). Off-diagonal entries must be
        finite and symmetric within ``|c_ij - c_ji| <= atol + rtol * max(|c_ij|, |c_ji|)``; a
        matrix symmetric within tolerance but not exactly is replaced by ``(C + C.T) / 2``. A
        C-contiguous float64 matrix with a zero diagonal that is exactly symmetric is used without
        a copy.
        """
        shape = np.shape(costs)
        if len(shape) == 2 and shape[0] == shape[1]:
            # The checks below (and a conversion or symmetrisation) allocate up to one more n x n
            # float64 matrix: refuse at once, saying how much, rather than fail half-way.
            n_req = int(shape[0])
            require(
                dense_problem_bytes(n_req),
                f"a dense problem of {n_req} nodes ({n_req} x {n_req} float64 costs)",
            )
        c = _float_matrix(costs, "costs")
        n = c.shape[0]
        diag = np.diagonal(c)
        if np.any(diag != 0):  # NaN != 0 is True as well
            c = c.copy()
            np.fill_diagonal(c, 0.0)
        _check_finite_matrix(c, "costs")
        if not np.array_equal(c, c.T):
            diff = np.abs(c - c.T)
            tol = atol + rtol * np.maximum(np.abs(c), np.abs(c.T))
            bad = diff > tol
            if bad.any():
                i, j = (int(x) for x in np.argwhere(bad)[0])
                raise ValueError(
                    f"costs is not symmetric: costs[{i}, {j}] = {float(c[i, j])!r} "
                    f"but costs[{j}, {i}] = {float(c[j, i])!r}"
                )
            # Halve before adding: (a + b) / 2 overflows to inf for costs near the float limit.
            c = c / 2.0 + c.T / 2.0
        return cls(n, c)

    @classmethod
    def from_condensed(cls, costs: Any) -> Problem:
        """A complete graph from a condensed cost vector of length n(n-1)/2.

        The order is that of ``scipy.spatial.distance.squareform``: (0,1), (0,2), ..., (0,n-1),
        (1,2), ... The problem is stored dense (n^2 float64).
        """
        v = np.asarray(costs)
        if v.ndim != 1:
            raise ValueError(f"a condensed cost vector must be 1-D, got shape {v.shape}")
        if v.dtype.kind not in "biuf":
            raise ValueError(f"costs must be numeric, got dtype {v.dtype}")
        v = v.astype(np.float64, copy=False)
        m = v.shape[0]
        n = int(round((1 + math.sqrt(1 + 8 * m)) / 2))
        if n * (n - 1) // 2 != m or m == 0:
            raise ValueError(f"a condensed cost vector has length n(n-1)/2 for some n >= 2; got length {m}")
        bad = ~np.isfinite(v)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise ValueError(f"costs[{k}] is not finite ({v[k]})")
        from scipy.spatial.distance import squareform

        return cls(n, np.ascontiguousarray(squareform(v, checks=False), dtype=np.float64))

    @classmethod
    def from_edges(cls, n: int, edges: Any, costs: Any) -> Problem:
        """A sparse graph on nodes 0..n-1 from an edge list and edge costs.

        ``edges`` is (m, 2) integer, in either orientation; parallel edges (the same pair, in
        either orientation) are summed. Self-loops, indices outside [0, n), and non-finite costs
        are errors.
        """
        n = _node_count(n)
        e = np.asarray(edges)
        if e.size == 0:
            e = e.reshape(0, 2)
        if e.ndim != 2 or e.shape[1] != 2:
            raise ValueError(f"edges must have shape (m, 2), got {e.shape}")
        e = _integer_array(e, "edges")
        c = np.asarray(costs)
        if c.ndim != 1:
            raise ValueError(f"costs must be 1-D with one cost per edge, got shape {c.shape}")
        if c.dtype.kind not in "biuf":
            raise ValueError(f"costs must be numeric, got dtype {c.dtype}")
        c = c.astype(np.float64, copy=False)
        if c.shape[0] != e.shape[0]:
            raise ValueError(f"edges and costs differ in length ({e.shape[0]} edges, {c.shape[0]} costs)")
        bad = ~np.isfinite(c)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise ValueError(f"costs[{k}] (edge {e[k, 0]}-{e[k, 1]}) is not finite ({c[k]})")
        out = (e < 0) | (e >= n)
        if out.any():
            k = int(np.flatnonzero(out.any(axis=1))[0])
            raise ValueError(f"edge {k} = ({e[k, 0]}, {e[k, 1]}) has a node index outside [0, {n})")
        loops = e[:, 0] == e[:, 1]
        if loops.any():
            k = int(np.flatnonzero(loops)[0])
            raise ValueError(f"edge {k} is a self-loop on node {e[k, 0]}")
        from corrclust._native import _core

        # Sorting and summing the parallel edges in C++ (two counting sorts, O(n + m)): numpy's
        # unique took 1.2 s of a 2 M-edge grid; input already sorted with u < v is only copied.
        new_edges, summed = _core.problem.canonical_edges(n, np.ascontiguousarray(e), np.ascontiguousarray(c))
        return cls(n, summed, new_edges)

    @classmethod
    def from_sparse(cls, matrix: Any, *, triangles: str = "symmetric") -> Problem:
        """A sparse graph from a square ``scipy.sparse`` cost matrix.

        Stored entries are edges, absent entries mean "no edge" (cost 0), and duplicate COO
        entries of one cell are summed (scipy's rule). The diagonal is ignored, as for dense input.

        ``triangles`` says how the two triangles are read:

        * ``"symmetric"`` (default): the matrix must be symmetric, like a dense cost matrix;
          entry (i, j) = (j, i) = c gives one edge of cost c (the upper triangle is used).
        * ``"sum"``: every stored off-diagonal entry is an edge; (i, j) and (j, i) are summed as
          parallel edges. Use it for a matrix holding only one triangle, or for an edge list stored
          as a COO matrix.
        """
        import scipy.sparse

        if not scipy.sparse.issparse(matrix):
            raise ValueError(f"expected a scipy.sparse matrix, got {type(matrix).__name__}")
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise ValueError(f"the cost matrix must be square, got shape {matrix.shape}")
        if matrix.dtype.kind not in "biuf":
            raise ValueError(f"costs must be numeric, got dtype {matrix.dtype}")
        n = _node_count(matrix.shape[0])
        csr = scipy.sparse.csr_matrix(matrix, dtype=np.float64, copy=True)  # never touch the caller's
        csr.sum_duplicates()
        row = np.repeat(np.arange(n, dtype=np.int64), np.diff(csr.indptr))
        col = csr.indices.astype(np.int64)
        off = row != col
        row, col, data = row[off], col[off], csr.data[off]
        bad = ~np.isfinite(data)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise ValueError(f"costs[{row[k]}, {col[k]}] is not finite ({data[k]})")
        if triangles == "symmetric":
            # Pair every cell (i, j), i < j, with its mirror (j, i); an absent cell counts as 0.
            # Cells are unique after sum_duplicates, so each key occurs once per triangle.
            if row.size == 0:
                return cls(n, np.zeros(0), np.zeros((0, 2), dtype=np.int64))
            up = row < col
            n_up = int(np.count_nonzero(up))
            keys = np.concatenate([row[up] * n + col[up], col[~up] * n + row[~up]])
            vals = np.concatenate([data[up], data[~up]])
            order = np.argsort(keys, kind="stable")
            keys, vals, from_upper = keys[order], vals[order], order < n_up
            starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
            val_u = np.add.reduceat(np.where(from_upper, vals, 0.0), starts)
            val_l = np.add.reduceat(np.where(from_upper, 0.0, vals), starts)
            keys = keys[starts]
            bad = np.abs(val_u - val_l) > 1e-9 + 1e-7 * np.maximum(np.abs(val_u), np.abs(val_l))
            if bad.any():
                k = int(np.flatnonzero(bad)[0])
                i, j = int(keys[k] // n), int(keys[k] % n)
                raise ValueError(
                    f"the sparse cost matrix is not symmetric: [{i}, {j}] = {val_u[k]} but "
                    f"[{j}, {i}] = {val_l[k]}; pass triangles='sum' to add (i, j) and (j, i) as "
                    "parallel edges"
                )
            edges = np.stack([keys // n, keys % n], axis=1).astype(np.int64)
            return cls(n, np.ascontiguousarray((val_u + val_l) / 2.0), np.ascontiguousarray(edges))
        if triangles == "sum":
            return cls.from_edges(n, np.stack([row, col], axis=1), data)
        raise ValueError(f"triangles must be 'symmetric' or 'sum', got {triangles!r}")

    @classmethod
    def from_networkx(cls, graph: Any, weight: str = "weight") -> Problem:
        """A sparse graph from a networkx graph whose edges carry their cost in ``weight``.

        Nodes are numbered in the order of ``list(graph.nodes)`` (kept in ``problem.nodes``).
        Every edge must have the ``weight`` attribute. The parallel edges of a MultiGraph, and the
        two directions of a DiGraph, are summed.
        """
        try:
            nodes = list(graph.nodes)
            edge_iter = graph.edges(data=weight, default=None)
        except AttributeError:
            raise ValueError(f"expected a networkx graph, got {type(graph).__name__}") from None
        index = {node: k for k, node in enumerate(nodes)}
        us, vs, cs = [], [], []
        for u, v, w in edge_iter:
            if w is None:
                raise ValueError(f"edge ({u!r}, {v!r}) has no {weight!r} attribute")
            if isinstance(w, (bool, np.bool_)) or not isinstance(w, (int, float, np.integer, np.floating)):
                raise ValueError(f"edge ({u!r}, {v!r}) has a non-numeric {weight!r}: {w!r}")
            if u == v:
                raise ValueError(f"edge ({u!r}, {v!r}) is a self-loop")
            us.append(index[u])
            vs.append(index[v])
            cs.append(float(w))
        edges = np.array([us, vs], dtype=np.int64).T.reshape(-1, 2)
        problem = cls.from_edges(len(nodes), edges, np.array(cs, dtype=np.float64))
        problem.nodes = nodes
        return problem

    @classmethod
    def from_probabilities(cls, probabilities: Any, bias: float = 0.0, symmetrize: str = "mean") -> Problem:
        """Costs from pair probabilities of "same class" (twin networks, ``paper-model.md`` §7.2).

        ``c_ij = logit(clamp(p_ij, 1e-6, 1 - 1e-6)) + bias``, where ``p_ij`` is the symmetrised
        probability: ``"mean"`` (the paper's twin networks), ``"min"`` or ``"max"`` of P[i, j]
        and P[j, i]. ``probabilities`` is an (n, n) matrix (diagonal ignored, may be NaN) or a
        condensed vector of already symmetric probabilities. A positive ``bias`` favours joins.
        """
        bias = _finite_float(bias, "bias")
        p = _symmetric_values(probabilities, "probabilities", symmetrize)
        raw = np.asarray(probabilities, dtype=np.float64)
        if raw.ndim == 2:  # check the input itself: a mean could hide a value outside [0, 1]
            bad = ~((raw >= 0) & (raw <= 1))  # NaN fails both comparisons
            np.fill_diagonal(bad, False)
            if bad.any():
                i, j = (int(x) for x in np.argwhere(bad)[0])
                raise ValueError(
                    f"probabilities[{i}, {j}] = {float(raw[i, j])!r} is not a probability in [0, 1]"
                )
        else:
            bad = ~((raw >= 0) & (raw <= 1))
            if bad.any():
                k = int(np.flatnonzero(bad)[0])
                raise ValueError(f"probabilities[{k}] = {float(raw[k])!r} is not a probability in [0, 1]")
        q = np.clip(p, PROBABILITY_CLAMP, 1.0 - PROBABILITY_CLAMP)
        c = np.log(q) - np.log1p(-q) + bias
        np.fill_diagonal(c, 0.0)
        return cls(p.shape[0], np.ascontiguousarray(c))

    @classmethod
    def from_similarities(
        cls, similarities: Any, threshold: float = 0.64, symmetrize: str = "min"
    ) -> Problem:
        """Costs from pair similarities (PQAP, ``paper-model.md`` §7.1): ``c_ij = s_ij - threshold``.

        ``s_ij`` is the symmetrised similarity, ``"min"`` of S[i, j] and S[j, i] by default (the
        paper), or ``"mean"``/``"max"``. Linear, no logit. The diagonal is ignored and may be NaN
        (the stored PQAP matrix has 'S' there). Accepts an (n, n) matrix or a condensed vector.
        """
        t = _finite_float(threshold, "threshold")
        s = _symmetric_values(similarities, "similarities", symmetrize)
        np.fill_diagonal(s, t)
        _check_finite_matrix(s, "similarities")
        with np.errstate(over="ignore"):  # an overflow is refused, with its reason, by the constructor
            c = s - t
        np.fill_diagonal(c, 0.0)
        return cls(s.shape[0], np.ascontiguousarray(c))


# ---------------------------------------------------------------------- conversion of any input
def as_problem(x: Any) -> Problem:
    """A :class:`Problem` from anything it can be built from.

    * a ``Problem`` (returned as is);
    * a 2-D array: a dense symmetric cost matrix; a 1-D array: a condensed cost vector;
    * a ``scipy.sparse`` matrix (see :meth:`Problem.from_sparse`, ``triangles="symmetric"``);
    * a tuple ``(edges, costs)`` (n = largest index + 1) or ``(n, edges, costs)``;
    * a networkx graph with costs in the ``weight`` attribute.
    """
    if isinstance(x, Problem):
        return x
    mod = type(x).__module__ or ""
    if mod.startswith("networkx"):
        return Problem.from_networkx(x)
    try:
        import scipy.sparse

        if scipy.sparse.issparse(x):
            return Problem.from_sparse(x)
    except ImportError:  # pragma: no cover - scipy is a dependency
        pass
    if isinstance(x, tuple):
        if len(x) == 3:
            return Problem.from_edges(*x)
        if len(x) == 2:
            edges = np.asarray(x[0])
            if edges.size == 0:
                raise ValueError(
                    "an (edges, costs) tuple with no edges does not say n: pass (n, edges, costs)"
                )
            edges = _integer_array(edges.reshape(-1, 2) if edges.ndim == 2 else edges, "edges")
            return Problem.from_edges(int(edges.max()) + 1, edges, x[1])
        raise ValueError(f"a tuple input must be (edges, costs) or (n, edges, costs), got {len(x)} items")
    arr = np.asarray(x)
    if arr.ndim == 2:
        return Problem.from_dense(arr)
    if arr.ndim == 1:
        return Problem.from_condensed(arr)
    raise ValueError(
        f"cannot build a problem from {type(x).__name__} with shape {arr.shape}: expected an (n, n) "
        "cost matrix, a condensed vector, scipy.sparse, (edges, costs) or a networkx graph"
    )


# ---------------------------------------------------------------------- validation helpers
#: The largest sum of absolute edge costs (each pair once) a problem may have. Every objective is a
#: sum of some of the costs, so it stays finite: the margin 2^-16 covers the rounding of a running
#: sum (at most (m - 1) * 2^-53 relative, under 2^-16 for m < 2^37 edges). The solvers never see
#: such costs: corrclust.solve scales them down first.
MAX_TOTAL_COST = float(np.finfo(np.float64).max) * (1 - 2.0**-16)


def _check_cost_total(costs: np.ndarray, dense_n: int | None) -> None:
    """Refuse costs whose absolute sum (each pair once) could make an objective overflow to +-inf."""
    if costs.size == 0:
        return
    largest = max(abs(float(costs.max())), abs(float(costs.min())))
    pairs = dense_n * (dense_n - 1) // 2 if dense_n is not None else costs.size
    if math.isfinite(largest) and largest * pairs <= MAX_TOTAL_COST:
        return  # the usual case, decided without a pass that allocates
    # Summed in blocks (no second n x n array) and scaled by 1/8, exactly, so that the sum of a
    # dense matrix's two triangles cannot itself overflow before the comparison.
    eighth = 0.0
    flat = costs.reshape(-1)
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, flat.size, 1 << 20):
            eighth += float(np.ldexp(np.abs(flat[start : start + (1 << 20)]), -3).sum())
    if dense_n is not None:
        eighth /= 2.0  # both triangles were summed
    if not eighth <= MAX_TOTAL_COST / 8:
        total = f"{eighth * 8:.3g}" if eighth * 8 < math.inf else "more than 1.8e308"
        raise ValueError(
            f"the absolute costs sum to {total}, beyond {MAX_TOTAL_COST:.3g}, so an objective "
            "could overflow to infinity: divide the costs by a common factor"
        )


def _node_count(n: Any) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise ValueError(f"n must be an integer, got {n!r}")
    n = int(n)
    if n <= 0:
        raise ValueError(f"the problem is empty (n = {n}); it needs at least one node")
    if n >= 2**31:
        raise ValueError(f"n = {n} is too large (at most 2^31 - 1 nodes)")
    return n


def _integer_array(a: np.ndarray, name: str) -> np.ndarray:
    if a.dtype.kind in "iu":
        return a.astype(np.int64, copy=False)
    if a.dtype.kind == "f":
        if not np.isfinite(a).all() or np.any(a != np.round(a)):
            raise ValueError(f"{name} must hold integers, got non-integral values")
        return a.astype(np.int64)
    raise ValueError(f"{name} must hold integers, got dtype {a.dtype}")


def _finite_float(x: Any, name: str) -> float:
    # "1" is a mistake, not one (as check_time_limit says of time limits): float() would take it
    if isinstance(x, (bool, np.bool_, str, bytes)):
        raise ValueError(f"{name} must be a number, got {x!r}")
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {x!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    return v


def _float_matrix(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (n, n) matrix, got {a.ndim}-D with shape {a.shape}")
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"{name} must be square, got shape {a.shape}")
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got dtype {a.dtype}")
    _node_count(a.shape[0])
    return np.ascontiguousarray(a, dtype=np.float64)


def _check_finite_matrix(c: np.ndarray, name: str) -> None:
    """Off-diagonal entries must be finite (the caller has dealt with the diagonal)."""
    finite = np.isfinite(c)
    np.fill_diagonal(finite, True)
    if not finite.all():
        i, j = (int(x) for x in np.argwhere(~finite)[0])
        raise ValueError(f"{name}[{i}, {j}] is not finite ({c[i, j]})")


def _symmetric_values(x: Any, name: str, symmetrize: str) -> np.ndarray:
    """A fresh symmetric float64 (n, n) copy of a matrix or condensed vector (diagonal untouched)."""
    if symmetrize not in _SYMMETRIZE:
        raise ValueError(f"symmetrize must be one of {', '.join(map(repr, _SYMMETRIZE))}, got {symmetrize!r}")
    a = np.asarray(x)
    if a.ndim == 1:
        if a.dtype.kind not in "biuf":
            raise ValueError(f"{name} must be numeric, got dtype {a.dtype}")
        m = a.shape[0]
        n = int(round((1 + math.sqrt(1 + 8 * m)) / 2))
        if m == 0 or n * (n - 1) // 2 != m:
            raise ValueError(f"a condensed {name} vector has length n(n-1)/2 for some n >= 2; got {m}")
        from scipy.spatial.distance import squareform

        out = squareform(a.astype(np.float64), checks=False)
        np.fill_diagonal(out, np.nan)
        return out
    a = _float_matrix(a, name)
    if symmetrize == "mean":
        return a / 2.0 + a.T / 2.0  # halved first: no overflow near the float limit
    if symmetrize == "min":
        return np.minimum(a, a.T)  # NaN propagates: NaN entries stay visible to the checks
    return np.maximum(a, a.T)


def _labels_array(labels: Any, n: int, name: str) -> np.ndarray:
    """Integer labels as a C-contiguous int64 array of length n."""
    lab = np.asarray(labels)
    if lab.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {lab.shape}")
    if lab.shape[0] != n:
        raise ValueError(f"{name} has length {lab.shape[0]}, but the problem has {n} nodes")
    if lab.dtype.kind == "b":
        raise ValueError(f"{name} must hold integers, got booleans")
    lab = _integer_array(lab, name)
    return np.ascontiguousarray(lab, dtype=np.int64)
