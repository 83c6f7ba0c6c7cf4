"""``corrclust.solve``: one entry point to every correlation-clustering solver.

Methods:

* ``"gaec"``: greedy additive edge contraction;
* ``"kl"``: Kernighan-Lin with joins, started from GAEC (or from ``warm_start``);
* ``"anytime"``: multi-start KL with fusion, improving until ``time_limit`` or convergence;
* ``"exact"``: branch-and-cut with a lower bound and a proof of optimality.

Heuristics report ``status="heuristic"`` (no proof), the exact solver ``"optimal"``; a time limit
gives ``"time_limit"`` with the best labelling found so far (``"node_limit"`` for the exact solver's
``max_nodes``). Ctrl-C raises KeyboardInterrupt from every method, promptly, also inside a long solve.

Every setting of a method is reached through ``options``: :class:`corrclust.KLOptions` (``"kl"``),
:class:`corrclust.AnytimeOptions` (``"anytime"``), :class:`corrclust.ExactOptions` (``"exact"``);
GAEC has none. They are the C++ settings structs, bound once (see :mod:`corrclust.solver_options`).

``bound=True`` adds a proven lower bound to every method (:func:`dual_bound`: cycle packing and
message passing on the cycle relaxation, fast on sparse graphs of millions of nodes; docs/bound.md),
reported as ``lower_bound`` and ``gap``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from corrclust.memory import dense_problem_bytes, exact_dense_bytes, require
from corrclust.problem import Problem, as_problem

__all__ = ["solve", "dual_bound", "SolveResult", "METHODS", "check_time_limit"]

METHODS = ("gaec", "kl", "anytime", "exact")

ProgressArg = None | bool | Callable[[dict], Any]


@dataclass
class SolveResult:
    """The outcome of :func:`solve`.

    Attributes
    ----------
    labels : numpy.ndarray
        int64 cluster label of every node, numbered 0..k-1 in order of first appearance.
    objective : float
        Sum of the costs of the cut edges (lower is better).
    lower_bound : float or None
        A proven lower bound on the optimum (exact solver, or any method with ``bound=True``), else None.
    status : str
        ``"optimal"``, ``"heuristic"`` (no proof), ``"time_limit"`` or ``"node_limit"`` (exact solver).
    runtime : float
        Wall-clock seconds spent in the solver.
    gap : float or None
        ``(objective - lower_bound) / max(|objective|, eps)`` (exact solver, or ``bound=True``), else None.
    nodes, cuts : int or None
        Branch-and-bound nodes explored and cuts added (exact solver), else None.
    iterations : int or None
        Iterations of a heuristic, as reported by it.
    method : str
        The method that produced the result.
    extra : dict
        Further solver statistics (e.g. LP time and root bound of the exact solver; with ``bound=True``
        the dual bound's ``dual_bound``, ``trivial_bound``, ``bound_runtime``, ``bound_status``,
        ``bound_rounds``, ``bound_cycles`` and ``bound_triangles``).
    """

    labels: np.ndarray
    objective: float
    lower_bound: float | None
    status: str
    runtime: float
    gap: float | None = None
    nodes: int | None = None
    cuts: int | None = None
    iterations: int | None = None
    method: str = ""
    extra: dict = field(default_factory=dict, repr=False)

    @property
    def n_clusters(self) -> int:
        return int(self.labels.max()) + 1 if self.labels.size else 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (labels as a list of ints)."""
        return {
            "labels": self.labels.tolist(),
            "objective": self.objective,
            "lower_bound": self.lower_bound,
            "status": self.status,
            "runtime": self.runtime,
            "n_clusters": self.n_clusters,
            "gap": self.gap,
            "nodes": self.nodes,
            "cuts": self.cuts,
            "iterations": self.iterations,
            "method": self.method,
            "stats": {k: (v.item() if isinstance(v, np.generic) else v) for k, v in self.extra.items()},
        }


def solve(
    problem_or_cost_matrix: Any,
    method: str = "kl",
    time_limit: float | None = None,
    seed: int = 0,
    warm_start: Any = None,
    progress: ProgressArg = None,
    options: Any = None,
    *,
    must_link: Any = None,
    cannot_link: Any = None,
    bound: bool | float = False,
) -> SolveResult:
    """Partition the nodes so that the total cost of the cut edges is as small as possible.

    Parameters
    ----------
    problem_or_cost_matrix
        A :class:`corrclust.Problem`, or anything :func:`corrclust.problem.as_problem` accepts: a
        symmetric (n, n) cost matrix, a condensed vector, a ``scipy.sparse`` matrix, an
        ``(edges, costs)`` or ``(n, edges, costs)`` tuple, or a networkx graph. Positive costs
        attract, negative costs repel.
    method
        ``"gaec"``, ``"kl"`` (default), ``"anytime"`` or ``"exact"``.
    time_limit
        Wall-clock limit in seconds (None: no limit), checked by :func:`check_time_limit`: a number
        >= 0, where 0 returns the first labelling a method has (the warm start, or its cheapest
        result) at once. The best labelling found is returned with ``status="time_limit"`` when it
        is reached.
    seed
        Seed of the randomised parts (``"anytime"``, tie-breaking); the same seed gives the same result.
    warm_start
        Initial labels (one integer per node; any ids, they are renumbered) to start from.
    progress
        None (silent), True (a tqdm progress display on stderr) or a callable receiving progress
        dicts (``phase``, ``elapsed``, ``objective``, ``lower_bound``, ``done``, ``total``).
        An exception raised by the callable stops the solve and is raised from ``solve``.
    options
        None (the defaults) or the settings of ``method``: :class:`corrclust.KLOptions` for
        ``"kl"``, :class:`corrclust.AnytimeOptions` for ``"anytime"``, :class:`corrclust.ExactOptions`
        for ``"exact"`` (``"gaec"`` takes none). Build them with keywords, e.g.
        ``ExactOptions(heuristic="kl", max_nodes=1000)``; an unknown name raises TypeError and a
        value out of range ValueError.
    must_link, cannot_link
        Pairs of node indices that must share a cluster / must be apart (:mod:`corrclust.constraints`):
        every method honours them, the exact solver proves optimality under them, and
        contradictory pairs raise a ValueError naming them.
    bound
        False (default), True or a number of seconds: after the method, compute a proven lower bound
        on the optimum by :func:`dual_bound` and report it as ``lower_bound`` and ``gap`` (for
        ``"exact"`` the larger of its own bound and this one). True gives the bound the same
        ``time_limit`` as the method (None: until it converges); a number is the bound's own limit.
        A dense problem is bounded on the graph of its nonzero costs.

    Raises
    ------
    KeyboardInterrupt
        On Ctrl-C, from every method (the partial result is discarded).
    """
    problem = as_problem(problem_or_cost_matrix)
    bound_limit = _check_bound(bound, time_limit)
    if must_link is not None or cannot_link is not None:  # contract, repel, solve, expand back
        from corrclust.constraints import constrain

        con = constrain(problem, must_link, cannot_link)
        start = _check_warm_start(warm_start, problem.n)
        res = solve(
            con.problem,
            method,
            time_limit,
            seed,
            None if start is None else con.contract_labels(start),
            progress,
            options,
            bound=bound,
        )
        return con.finish(problem, res, _renumber)
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}, got {method!r}")
    limit = check_time_limit(time_limit)
    seed = _check_seed(seed)
    _check_options(method, options)
    start = _check_warm_start(warm_start, problem.n)

    if problem.n == 1:  # one node: one cluster, trivially optimal; no solver needed (nor a bound)
        return SolveResult(
            labels=np.zeros(1, dtype=np.int64),
            objective=0.0,
            lower_bound=0.0,
            status="optimal",
            runtime=0.0,
            gap=0.0,
            nodes=0 if method == "exact" else None,
            cuts=0 if method == "exact" else None,
            method=method,
        )

    from corrclust._native import _core

    # Costs beyond 2^40 are solved scaled down by a power of two (exact in floating point), so that
    # the solvers' absolute tolerances and the LP solver's "infinite" cost (1e20) never meet them.
    problem, scale = _in_solver_range(problem)
    callback, close = _progress_callback(progress)
    if scale and callback is not None:
        callback = _rescaled_progress(callback, scale)
    try:
        kw: dict[str, Any] = {
            "time_limit": limit,
            "seed": seed,
            "warm_start": start,
            "progress": callback,
            "options": options,
        }
        if method == "exact":
            exact = getattr(_core, "exact", None)
            if exact is None:
                raise NotImplementedError(
                    "the exact solver is not available in this build of corrclust "
                    "(corrclust._core has no exact module); use method='kl' or 'anytime'"
                )
            if problem.is_dense:
                require(
                    exact_dense_bytes(problem.n),
                    f"the exact solver on a dense problem of {problem.n} nodes "
                    f"({problem.n * (problem.n - 1) // 2} pairs, before any cut)",
                )
                raw = exact.solve_dense(problem.costs, **kw)
            else:
                raw = exact.solve_sparse(problem.n, problem.edges, problem.costs, **kw)
        elif problem.is_dense:
            # The heuristics work on one more n x n float64 matrix (peak RSS growth measured at
            # n = 4000: 8.2 bytes per n^2 for gaec, kl and anytime); refuse before allocating it.
            require(
                dense_problem_bytes(problem.n), f"solving a dense problem of {problem.n} nodes ({method})"
            )
            raw = _core.heuristics.solve_dense(problem.costs, method, **kw)
        else:
            assert problem.edges is not None  # a sparse Problem always has its edge array
            raw = _core.heuristics.solve_sparse(problem.n, problem.edges, problem.costs, method, **kw)
        result = _result_from_raw(raw, method)
        if bound is not False:
            _add_bound(result, dual_bound(problem, time_limit=bound_limit, progress=callback))
    finally:
        close()
    if scale:
        result.objective = math.ldexp(result.objective, scale)
        if result.lower_bound is not None:
            result.lower_bound = math.ldexp(result.lower_bound, scale)
        for key in ("dual_bound", "trivial_bound"):
            if key in result.extra:
                result.extra[key] = math.ldexp(result.extra[key], scale)
        result.extra["cost_scale"] = math.ldexp(1.0, scale)
    return result


def dual_bound(
    problem_or_cost_matrix: Any,
    time_limit: float | None = None,
    progress: ProgressArg = None,
    options: Any = None,
) -> dict[str, Any]:
    """A proven lower bound on the optimum of a correlation-clustering problem, without solving it.

    Cycle packing and message passing on the cycle relaxation (``corrclust._core.bound``,
    docs/bound.md): fast on sparse graphs (a 10^6-node grid in seconds); a dense problem is bounded
    on the graph of its nonzero costs. ``time_limit`` (seconds, None: until it converges) and
    Ctrl-C stop it early with a bound that is still valid. ``options``: None or
    :class:`corrclust.BoundOptions`.

    Returns a dict with ``lower_bound``, ``trivial_bound`` (the sum of the negative costs, the
    bound before any work), ``status`` (``"converged"`` or ``"time_limit"``), ``runtime``,
    ``rounds``, ``cycles``, ``triangles`` and ``chords``.
    """
    problem = as_problem(problem_or_cost_matrix)
    limit = check_time_limit(time_limit)
    from corrclust._native import _core

    if options is not None and not isinstance(options, _core.bound.BoundOptions):
        raise TypeError(f"options must be BoundOptions or None, got {type(options).__name__}")
    callback, close = _progress_callback(progress)
    try:
        if problem.is_dense:
            raw = _core.bound.lower_bound_dense(problem.costs, limit, callback, options)
        else:
            assert problem.edges is not None  # a sparse Problem always has its edge array
            raw = _core.bound.lower_bound_sparse(
                problem.n, problem.edges, problem.costs, limit, callback, options
            )
    finally:
        close()
    return dict(raw)


def _check_bound(bound: Any, time_limit: Any) -> float | None:
    """The bound's time limit: ``time_limit`` for True, the number for a number (ValueError else)."""
    if isinstance(bound, (bool, np.bool_)):
        return check_time_limit(time_limit) if bound else None
    if not isinstance(bound, (int, float, np.integer, np.floating)):
        raise ValueError(f"bound must be True, False or a number of seconds, got {bound!r}")
    return check_time_limit(bound, "bound")


def _add_bound(result: SolveResult, raw: dict[str, Any]) -> None:
    """Reports the dual bound on ``result``: lower_bound is the best proven bound, gap relative to it."""
    lb = float(raw["lower_bound"])
    result.extra.update(
        dual_bound=lb,
        trivial_bound=float(raw["trivial_bound"]),
        bound_runtime=float(raw["runtime"]),
        bound_status=str(raw["status"]),
        bound_rounds=int(raw["rounds"]),
        bound_cycles=int(raw["cycles"]),
        bound_triangles=int(raw["triangles"]),
    )
    if result.lower_bound is not None and math.isfinite(result.lower_bound):
        lb = max(lb, result.lower_bound)
    # a bound equal to the optimum can come out above it by rounding of the sums
    if lb > result.objective and lb - result.objective <= 1e-9 * max(1.0, abs(result.objective)):
        lb = result.objective
    result.lower_bound = lb
    result.gap = (result.objective - lb) / max(abs(result.objective), 1e-9)


#: Largest absolute cost the solvers are given as is. Measured on a random n = 7 problem scaled by
#: 1e9 to 1e100: every method returned the brute-force optimum up to 1e12; from 1e15 on
#: Kernighan-Lin and anytime cycled until the time limit (their then absolute 1e-9 improvement test
#: met rounding noise; it is relative to the largest cost now, and tests/test_cost_range.py checks
#: the raw solvers at 1e15 and 1e30), and beyond 1e20 the LPs of the exact solver and of anytime's
#: exact fusion fail (HiGHS reads such costs as infinite): for those the scaling stays.
SOLVER_COST_RANGE = 2.0**40


def _in_solver_range(problem: Problem) -> tuple[Problem, int]:
    """``problem`` as is, or scaled by ``2**-k`` to at most ``2**20`` when a cost exceeds
    :data:`SOLVER_COST_RANGE`, and ``k`` (0: not scaled). Scaling by a power of two is exact, so
    labels and (scaled back) objectives are those of the original costs."""
    c = problem.costs
    if c.size == 0:
        return problem, 0
    largest = max(abs(float(c.max())), abs(float(c.min())))
    if largest <= SOLVER_COST_RANGE:
        return problem, 0
    k = math.frexp(largest)[1] - 20
    scaled = Problem(
        problem.n, np.ldexp(c, -k), problem.edges, nodes=problem.nodes, metadata=problem.metadata
    )
    return scaled, k


def _result_from_raw(raw: dict, method: str) -> SolveResult:
    labels = _renumber(np.asarray(raw["labels"], dtype=np.int64))
    known = {"labels", "objective", "lower_bound", "status", "runtime", "gap", "nodes", "cuts", "iterations"}

    def opt_float(key: str) -> float | None:
        v = raw.get(key)
        return None if v is None else float(v)

    def opt_int(key: str) -> int | None:
        v = raw.get(key)
        return None if v is None else int(v)

    return SolveResult(
        labels=labels,
        objective=float(raw["objective"]),
        lower_bound=opt_float("lower_bound"),
        status=str(raw["status"]),
        runtime=float(raw.get("runtime", math.nan)),
        gap=opt_float("gap"),
        nodes=opt_int("nodes"),
        cuts=opt_int("cuts"),
        iterations=opt_int("iterations"),
        method=method,
        extra={k: v for k, v in raw.items() if k not in known},
    )


def _renumber(labels: np.ndarray) -> np.ndarray:
    """Labels 0..k-1 in order of first appearance (the solvers already do this; cheap to ensure)."""
    if labels.size == 0:
        return labels
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size, dtype=np.int64)
    return rank[inverse.reshape(-1)]


def check_time_limit(time_limit: Any, name: str = "time_limit") -> float | None:
    """The one time-limit rule of corrclust, for every caller (solve and the estimator use it; a
    command passes its option name, e.g. ``check_time_limit(args.time_limit, "--time-limit")``).

    None and +inf mean no limit (returns None); otherwise a number of seconds >= 0 (0 is allowed:
    the solver returns the first labelling it has). NaN, negative numbers, bools, strings and non-numbers
    raise ValueError naming ``name`` (e.g. ``"--time-limit"``). The C++ bindings apply the same rule.
    """
    if time_limit is None:
        return None
    if isinstance(time_limit, (bool, np.bool_, str, bytes)):  # "10" is a mistake, not ten seconds
        raise ValueError(f"{name} must be a number of seconds or None, got {time_limit!r}")
    try:
        t = float(time_limit)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number of seconds or None, got {time_limit!r}") from None
    if math.isnan(t) or t < 0:
        raise ValueError(f"{name} must be >= 0 seconds, got {time_limit!r}")
    return None if math.isinf(t) else t


def _check_options(method: str, options: Any) -> None:
    if options is None:
        return
    from corrclust import solver_options

    expected = solver_options.OPTIONS_OF_METHOD[method]
    if expected is None:
        raise TypeError(f"method {method!r} takes no options, got {type(options).__name__}")
    if not isinstance(options, expected):
        raise TypeError(
            f"options of method {method!r} must be {expected.__name__} or None, got {type(options).__name__}"
        )


def _check_seed(seed: Any) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not 0 <= int(seed) < 2**64:
        raise ValueError(f"seed must be in [0, 2^64), got {seed}")
    return int(seed)


def _check_warm_start(warm_start: Any, n: int, name: str = "warm_start") -> np.ndarray | None:
    """``name``: the argument the caller knows (the estimator's is ``init``)."""
    if warm_start is None:
        return None
    ws = np.asarray(warm_start)
    if ws.ndim != 1 or ws.shape[0] != n:
        raise ValueError(f"{name} must hold one label per node ({n}), got shape {ws.shape}")
    if ws.dtype.kind == "f":
        if not np.isfinite(ws).all() or np.any(ws != np.round(ws)):
            raise ValueError(f"{name} must hold integer labels, got non-integral values")
    elif ws.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer labels, got dtype {ws.dtype}")
    return np.ascontiguousarray(_renumber(ws.astype(np.int64)))


def _rescaled_progress(callback: Callable[[dict], Any], scale: int) -> Callable[[dict], Any]:
    """``callback`` fed with the objective and bound of the original costs (see _in_solver_range)."""

    def report(d: dict) -> Any:
        d = dict(d)
        for key in ("objective", "lower_bound"):
            if d.get(key) is not None:
                d[key] = math.ldexp(d[key], scale)
        return callback(d)

    return report


def _progress_callback(progress: ProgressArg) -> tuple[Callable[[dict], Any] | None, Callable[[], None]]:
    """The callable handed to the solver and a function that tidies up afterwards."""
    if progress is None or progress is False:
        return None, lambda: None
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(desc="corrclust", unit="step", leave=False, dynamic_ncols=True)

        def show(d: dict) -> None:
            total = d.get("total", -1)
            if total is not None and total >= 0 and bar.total != total:
                bar.total = total
            done = d.get("done")
            if done is not None and done >= bar.n:
                bar.update(done - bar.n)
            post = {"phase": d.get("phase", "")}
            obj, lb = d.get("objective"), d.get("lower_bound")
            if obj is not None and math.isfinite(obj):
                post["objective"] = f"{obj:.6g}"
            if lb is not None and math.isfinite(lb):
                post["bound"] = f"{lb:.6g}"
            bar.set_postfix(post, refresh=True)

        return show, bar.close
    if callable(progress):
        return progress, lambda: None
    raise ValueError(f"progress must be None, a bool or a callable, got {type(progress).__name__}")
