"""Step 4: a clustering against a truth: metrics, contingency table, per-subset metrics and the sweep."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from corrclust.pipeline.clustering import Clustering, cluster
from corrclust.pipeline.correlations import Correlations
from corrclust.pipeline.images import ImageSet
from corrclust.pipeline.truth import Truth

__all__ = ["Evaluation", "sweep", "evaluate"]


@dataclass
class Evaluation:
    """Metrics of a clustering against a truth (over the images whose class is known)."""

    truth: Truth
    metrics: dict[str, Any]
    contingency: np.ndarray  # rows: classes; columns: contingency_clusters
    classes: list[str]
    subsets: list[dict[str, Any]] | None = None
    sweep: dict[str, np.ndarray] | None = None
    contingency_clusters: list[int] = field(default_factory=list)


def _class_codes(classes: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Integer codes for class names, ordered numerically when all names are integers."""
    names = sorted(set(classes), key=lambda c: (0, int(c), "") if c.lstrip("-").isdigit() else (1, 0, c))
    index = {c: k for k, c in enumerate(names)}
    return np.array([index[c] for c in classes], dtype=np.int64), names


def sweep(
    corr: Correlations,
    truth_codes: np.ndarray,
    known: np.ndarray,
    solver: str,
    *,
    seed: int = 0,
    time_limit: float | None = None,
    progress: bool = True,
    values: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Solve at each threshold (PQAP) or bias (twin) and compare with the truth.

    Returns columns: the parameter, ``vi``, ``false_cuts``, ``false_joins``, ``rand_index``,
    ``f1_cuts``, ``f1_joins``, ``n_clusters`` and ``objective``.
    """
    from corrclust import metrics

    grid = corr.sweep_values() if values is None else np.asarray(values, dtype=float)
    cols: dict[str, list[float]] = {
        k: []
        for k in (
            "vi",
            "false_cuts",
            "false_joins",
            "rand_index",
            "f1_cuts",
            "f1_joins",
            "n_clusters",
            "objective",
        )
    }
    it: Any = grid
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(grid, desc=f"{corr.parameter_name} sweep", unit="solve", file=sys.stderr)
    for value in it:
        c = cluster(corr, solver, time_limit=time_limit, seed=seed, parameter=float(value))
        m = metrics.compare(truth_codes, c.labels[known])
        for k in ("vi", "false_cuts", "false_joins", "rand_index", "f1_cuts", "f1_joins"):
            cols[k].append(float(m[k]))
        cols["n_clusters"].append(c.n_clusters)
        cols["objective"].append(c.objective)
    out = {corr.parameter_name: grid}
    out.update({k: np.asarray(v, dtype=float) for k, v in cols.items()})
    return out


def evaluate(
    images: ImageSet,
    corr: Correlations,
    clustering: Clustering,
    truth: Truth,
    *,
    do_sweep: bool,
    solver: str,
    seed: int = 0,
    time_limit: float | None = None,
    progress: bool = True,
) -> Evaluation:
    """Metrics, contingency table, per-subset metrics and (optionally) the parameter sweep."""
    from corrclust import metrics

    known = truth.known
    classes = [c for c in truth.classes if c is not None]
    codes, names = _class_codes(classes)
    pred = clustering.labels[known]
    result = metrics.compare(codes, pred)
    table = metrics.contingency_table(codes, pred)
    tags = [r.subset for r, k in zip(images.records, known, strict=False) if k]
    subsets = None
    if any(t is not None for t in tags) and len(set(tags)) > 1:
        tags = [t if t is not None else "(none)" for t in tags]
        subsets = metrics.subset_metrics(codes, pred, tags)
    sweep_cols = None
    if do_sweep:
        sweep_cols = sweep(corr, codes, known, solver, seed=seed, time_limit=time_limit, progress=progress)
    return Evaluation(
        truth,
        result,
        table,
        names,
        subsets,
        sweep_cols,
        contingency_clusters=[int(k) for k in np.unique(pred)],
    )
