"""Step 3: the correlation-clustering problem of the correlations, solved (:func:`cluster`).

Clusters are numbered 1..K by decreasing size (:func:`number_clusters`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from corrclust.pipeline.correlations import Correlations

__all__ = ["Clustering", "number_clusters", "cluster"]


@dataclass
class Clustering:
    """Cluster labels 1..K (1 = largest) of the images, and how the solver got them."""

    labels: np.ndarray
    objective: float
    status: str
    runtime: float
    solver: str
    lower_bound: float | None = None

    @property
    def n_clusters(self) -> int:
        return int(self.labels.max()) if self.labels.size else 0


def number_clusters(labels: ArrayLike) -> np.ndarray:
    """Relabel clusters 1..K by decreasing size; ties go to the cluster whose first member comes first."""
    lab = np.asarray(labels)
    if lab.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {lab.shape}")
    if lab.size == 0:
        return lab.astype(np.int64)
    uniq, first, inverse, counts = np.unique(lab, return_index=True, return_inverse=True, return_counts=True)
    order = np.lexsort((first, -counts))  # by size desc, then first appearance
    new = np.empty(uniq.size, dtype=np.int64)
    new[order] = np.arange(1, uniq.size + 1)
    return new[inverse.reshape(-1)]


def _solve(
    problem,
    solver: str,
    time_limit: float | None,
    seed: int,
    progress: bool,
    must_link=None,
    cannot_link=None,
):
    from corrclust.solve import solve

    return solve(
        problem,
        method=solver,
        time_limit=time_limit,
        seed=seed,
        progress=True if progress else None,
        must_link=must_link,
        cannot_link=cannot_link,
    )


def cluster(
    corr: Correlations,
    solver: str = "kl",
    *,
    time_limit: float | None = None,
    seed: int = 0,
    parameter: float | None = None,
    progress: bool = False,
    must_link: Any = None,
    cannot_link: Any = None,
) -> Clustering:
    """Solve the correlation-clustering problem of ``corr`` (at ``parameter``, default the chosen one),
    under the expert's answers as index pairs (``must_link``/``cannot_link``, :mod:`corrclust.constraints`)."""
    problem = corr.problem(parameter)
    if must_link is not None and len(must_link) == 0:
        must_link = None
    if cannot_link is not None and len(cannot_link) == 0:
        cannot_link = None
    result = _solve(problem, solver, time_limit, seed, progress, must_link, cannot_link)
    lb = getattr(result, "lower_bound", None)
    return Clustering(
        labels=number_clusters(np.asarray(result.labels)),
        objective=float(result.objective),
        status=str(getattr(result, "status", "")),
        runtime=float(getattr(result, "runtime", float("nan"))),
        solver=solver,
        lower_bound=None if lb is None or not np.isfinite(lb) else float(lb),
    )
