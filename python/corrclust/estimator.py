"""A scikit-learn style estimator around :func:`corrclust.solve`.

``CorrelationClustering`` takes a **precomputed** pairwise matrix, like
``SpectralClustering(affinity="precomputed")``: pair probabilities of "same class" (the default,
e.g. twin-network outputs) or signed costs (``input="costs"``, dense or ``scipy.sparse``). It works
with scikit-learn's ``clone``/``get_params``/pipelines when scikit-learn is installed and without
scikit-learn otherwise.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from corrclust.problem import Problem, as_problem
from corrclust.solve import SolveResult, _check_warm_start, solve

__all__ = ["CorrelationClustering"]

_INPUTS = ("probabilities", "costs")

try:  # scikit-learn is optional
    from sklearn.base import BaseEstimator as _Base
    from sklearn.base import ClusterMixin as _Mixin
except ImportError:  # pragma: no cover - exercised only without scikit-learn

    class _Base:  # type: ignore[no-redef]
        """The parts of scikit-learn's BaseEstimator this estimator needs."""

        @classmethod
        def _get_param_names(cls) -> list[str]:
            sig = inspect.signature(cls.__init__)
            return sorted(p.name for p in sig.parameters.values() if p.name != "self")

        def get_params(self, deep: bool = True) -> dict[str, Any]:
            return {name: getattr(self, name) for name in self._get_param_names()}

        def set_params(self, **params: Any) -> _Base:
            valid = self._get_param_names()
            for key, value in params.items():
                if key not in valid:
                    raise ValueError(f"invalid parameter {key!r} for {type(self).__name__}")
                setattr(self, key, value)
            return self

        def __repr__(self) -> str:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
            return f"{type(self).__name__}({args})"

    class _Mixin:  # type: ignore[no-redef]
        _estimator_type = "clusterer"
        fit: Any  # provided by the estimator class
        labels_: np.ndarray

        def fit_predict(self, X: Any, y: Any = None, **kwargs: Any) -> np.ndarray:
            self.fit(X, **kwargs)
            return self.labels_


class CorrelationClustering(_Mixin, _Base):
    """Correlation clustering of a precomputed pairwise matrix.

    Parameters
    ----------
    method : {"gaec", "kl", "anytime", "exact"}
        The solver (see :func:`corrclust.solve`).
    bias : float
        Added to every cost ``logit(p)`` when ``input="probabilities"``; > 0 favours joins
        (fewer clusters), < 0 favours cuts. Ignored for ``input="costs"``.
    symmetrize : {"mean", "min", "max"}
        How P[i, j] and P[j, i] combine when ``input="probabilities"`` ("mean", as the paper's
        twin networks).
    input : {"probabilities", "costs"}
        What ``X`` in :meth:`fit` holds: an (n, n) matrix (or condensed vector) of pair
        probabilities, or signed costs (dense, condensed or ``scipy.sparse``; positive attracts).
    time_limit : float or None
        Wall-clock limit in seconds for the solver.
    random_state : None, int, numpy.random.Generator or RandomState
        Seed of the solver. None means seed 0, so results are reproducible by default.
    init : array-like or None
        Initial labels for the solver (one integer per item), like the ``init`` array of
        ``KMeans``. (Not scikit-learn's ``warm_start`` flag, which reuses a previous fit.)
    progress : bool
        Show a progress display while solving.
    options : KLOptions, AnytimeOptions, ExactOptions or None
        Settings of ``method`` (see :func:`corrclust.solve`); None for the defaults.

    Attributes
    ----------
    labels_ : ndarray of shape (n,), int64
    objective_ : float
    n_clusters_ : int
    lower_bound_ : float or None
    gap_ : float or None
    status_ : str
    n_iter_ : int or None
    runtime_ : float
    result_ : SolveResult
    """

    def __init__(
        self,
        method: str = "kl",
        bias: float = 0.0,
        symmetrize: str = "mean",
        input: str = "probabilities",
        time_limit: float | None = None,
        random_state: Any = None,
        init: Any = None,
        progress: bool = False,
        options: Any = None,
    ) -> None:
        self.method = method
        self.bias = bias
        self.symmetrize = symmetrize
        self.input = input
        self.time_limit = time_limit
        self.random_state = random_state
        self.init = init
        self.progress = progress
        self.options = options

    def _problem(self, X: Any) -> Problem:
        if self.input == "probabilities":
            import scipy.sparse

            if scipy.sparse.issparse(X):
                raise ValueError(
                    "input='probabilities' needs a dense matrix (an absent sparse entry would mean p = 0); "
                    "pass input='costs' for a sparse cost matrix"
                )
            return Problem.from_probabilities(X, bias=self.bias, symmetrize=self.symmetrize)
        if self.input == "costs":
            return as_problem(X)
        raise ValueError(f"input must be one of {', '.join(map(repr, _INPUTS))}, got {self.input!r}")

    def fit(
        self, X: Any, y: Any = None, must_link: Any = None, cannot_link: Any = None
    ) -> CorrelationClustering:
        """Cluster the n items of the (n, n) matrix X; ``y`` is ignored.

        ``must_link`` / ``cannot_link``: pairs of item indices that must share a cluster / be apart
        (see :mod:`corrclust.constraints`).
        """
        problem = self._problem(X)
        # checked here so that a wrong init is named as the user wrote it, not as solve's warm_start
        _check_warm_start(self.init, problem.n, name="init")
        result: SolveResult = solve(
            problem,
            method=self.method,
            time_limit=self.time_limit,
            seed=_seed_from(self.random_state),
            warm_start=self.init,
            progress=bool(self.progress),
            options=self.options,
            must_link=must_link,
            cannot_link=cannot_link,
        )
        self.result_ = result
        self.labels_ = result.labels
        self.objective_ = result.objective
        self.n_clusters_ = result.n_clusters
        self.lower_bound_ = result.lower_bound
        self.gap_ = result.gap
        self.status_ = result.status
        self.n_iter_ = result.iterations
        self.runtime_ = result.runtime
        return self

    def fit_predict(self, X: Any, y: Any = None, **kwargs: Any) -> np.ndarray:
        """Fit and return ``labels_`` (``must_link`` / ``cannot_link`` are passed to :meth:`fit`)."""
        return self.fit(X, y, **kwargs).labels_

    # scikit-learn reads these to know that X is a precomputed square matrix.
    def _more_tags(self) -> dict[str, Any]:
        return {"pairwise": True}

    def __sklearn_tags__(self):  # scikit-learn >= 1.6
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = True
        return tags


def _seed_from(random_state: Any) -> int:
    """A solver seed (non-negative int) from None, an int, a Generator or a RandomState."""
    if random_state is None:
        return 0
    if isinstance(random_state, (bool, np.bool_)):
        raise ValueError(
            f"random_state must be None, an int or a numpy random generator, got {random_state!r}"
        )
    if isinstance(random_state, (int, np.integer)):
        if random_state < 0:
            raise ValueError(f"random_state must be non-negative, got {random_state}")
        return int(random_state)
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63 - 1))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    raise ValueError(
        f"random_state must be None, an int or a numpy random generator, got {type(random_state).__name__}"
    )
