"""From feature vectors (profiles or network embeddings) to correlation-clustering costs, without labels.

The label-free rule (:func:`costs_from_features`), fixed on the development data only (RBC crops of
even-numbered source images, synthetic organoids of seeds 0-4; see ``docs/profiles.md``):

1. ``d_ij``: Euclidean distance between the rows of ``X`` (standardised profiles or embeddings).
2. Local scaling (Zelnik-Manor and Perona, 2004): ``sigma_i`` is the distance from ``i`` to its
   ``k``-th nearest neighbour (default ``k = K_NEIGHBOURS``), and ``s_ij = d_ij^2 / (sigma_i sigma_j)``.
   Dense regions and sparse regions of feature space get the same scale, so one rule fits data
   sets whose spread differs.
3. ``p_ij = exp(-s_ij)`` is read as the probability that ``i`` and ``j`` belong together, and the
   cost is its log-odds, ``c_ij = log(p_ij / (1 - p_ij)) + granularity``: pairs closer than about
   their neighbourhood scale attract, farther pairs repel, with no threshold to choose. The
   ``granularity`` knob shifts every cost (negative: more, smaller clusters; positive: fewer, larger).

The number of clusters is never an input: it is what the solver returns for these costs.

**Calibrated** (``calibration``, :func:`fit_calibration`): from a few labelled images (or marked
pairs), a logistic regression of "same class" on ``log s_ij`` replaces step 3, with its intercept
moved from the labelled pairs' share of same-class pairs to the share expected in the whole set
(one over the number of labelled classes), so that few labelled images per class do not bias the cut.

The rule works on any matrix: :func:`costs_from_features` takes network embeddings as well.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from scipy.spatial.distance import pdist, squareform

__all__ = [
    "K_NEIGHBOURS",
    "Calibration",
    "scaled_distances",
    "costs_from_features",
    "fit_calibration",
    "read_calibration",
]

#: Neighbour rank of the local scale (Zelnik-Manor and Perona's 7; chosen on the development sets).
K_NEIGHBOURS = 7
#: Costs are clipped to +-COST_CLIP (a pair at distance 0 would otherwise have infinite attraction).
COST_CLIP = 20.0


def scaled_distances(X: np.ndarray, k: int = K_NEIGHBOURS) -> tuple[np.ndarray, np.ndarray]:
    """``(s, sigma)``: the locally scaled squared distances (n x n, zero diagonal) and the scales."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"features must be an (n, d) matrix with n >= 2, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("features hold NaN or infinite values")
    n = X.shape[0]
    D = squareform(pdist(X))
    kk = max(1, min(int(k), n - 1))
    sigma = np.sort(D, axis=1)[:, kk]  # column 0 is the point itself
    positive = sigma[sigma > 0]
    floor = positive.min() if positive.size else 1.0
    sigma = np.maximum(sigma, floor)
    s = D**2 / np.outer(sigma, sigma)
    np.fill_diagonal(s, 0.0)
    return s, sigma


@dataclass
class Calibration:
    """Costs ``intercept + slope * log(s_ij)`` fitted from labelled pairs (see the module doc)."""

    intercept: float
    slope: float
    n_pairs: int
    n_same: int
    n_classes: int
    source: str = ""

    def costs(self, s: np.ndarray) -> np.ndarray:
        return self.intercept + self.slope * np.log(np.maximum(s, 1e-12))


def fit_calibration(s: np.ndarray, pairs: Sequence[tuple[int, int, bool]], n_classes: int, source: str = "") -> Calibration:
    """Fit :class:`Calibration` on ``(i, j, same)`` pairs of the scaled distances ``s``."""
    from sklearn.linear_model import LogisticRegression

    pairs = [(int(i), int(j), bool(t)) for i, j, t in pairs if i != j]
    y = np.array([t for _, _, t in pairs])
    if y.size == 0 or y.all() or not y.any():
        raise ValueError(f"{source or 'calibration'}: needs pairs of the same class and of different classes "
                         f"(got {int(y.sum())} same and {int((~y).sum())} different)")
    t = np.log(np.maximum(np.array([s[i, j] for i, j, _ in pairs]), 1e-12))[:, None]
    lr = LogisticRegression(C=1.0, class_weight="balanced").fit(t, y)
    slope = float(lr.coef_[0, 0])
    if slope >= 0:
        raise ValueError(f"{source or 'calibration'}: labelled pairs of one class are not closer than others in "
                         "these features; the labels cannot calibrate the costs")
    # balanced weights fit the log-likelihood ratio; add the prior log-odds of a pair being together
    prior = 1.0 / max(n_classes, 2)
    intercept = float(lr.intercept_[0]) + math.log(prior / (1 - prior))
    return Calibration(intercept, slope, len(pairs), int(y.sum()), int(n_classes), source)


def costs_from_features(
    X: np.ndarray,
    *,
    k: int = K_NEIGHBOURS,
    granularity: float = 0.0,
    calibration: Calibration | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """The n x n cost matrix of the rows of ``X`` (positive = attract) and diagnostics.

    Diagnostics: the rule, ``k``, the granularity, the share of attractive pairs, the median
    neighbourhood scale and, when calibrated, the fitted line.
    """
    if not math.isfinite(granularity):
        raise ValueError(f"granularity must be finite, got {granularity}")
    s, sigma = scaled_distances(X, k)
    if calibration is not None:
        C = calibration.costs(s)
        rule = "calibrated"
    else:
        # log-odds of p = exp(-s): -s - log(1 - exp(-s)), written stably
        with np.errstate(divide="ignore"):
            C = -s - np.log(-np.expm1(-np.maximum(s, 1e-12)))
        rule = "local-scaling"
    C = np.clip(C + granularity, -COST_CLIP, COST_CLIP)
    np.fill_diagonal(C, 0.0)
    iu = np.triu_indices(C.shape[0], 1)
    info: dict[str, Any] = {
        "rule": rule,
        "k": int(min(k, C.shape[0] - 1)),
        "granularity": float(granularity),
        "attractive_share": float(np.mean(C[iu] > 0)),
        "median_scale": float(np.median(sigma)),
    }
    if calibration is not None:
        info["calibration"] = {"intercept": calibration.intercept, "slope": calibration.slope,
                               "pairs": calibration.n_pairs, "same_pairs": calibration.n_same,
                               "classes": calibration.n_classes, "source": calibration.source}
    return C, info


def read_calibration(path: str | Path, keys: Sequence[str]) -> tuple[list[tuple[int, int, bool]], int]:
    """Labelled pairs from a calibration CSV, as indices into ``keys``, and the number of classes.

    Two layouts (header first):

    * ``file,class`` (or ``id,class``): a few labelled images; every pair among them is a pair of the
      same or of different classes;
    * ``a,b,same`` (file names or ids, ``same`` = 1/0, yes/no, true/false): marked pairs.

    ``keys`` are the images' names (file name) and ids as strings; entries that name no image of
    the collection are an error (named), so a typo never calibrates silently on fewer pairs.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"calibration file not found: {path}")
    where: dict[str, int] = {}
    for idx, key in enumerate(keys):
        for alias in str(key).split("|"):
            where[alias] = idx
    with open(path, newline="") as fh:
        rows = [r for r in csv.reader(fh) if r and any(x.strip() for x in r)]
    if not rows:
        raise ValueError(f"{path}: empty calibration file")
    header = [h.strip().lower() for h in rows[0]]

    def find(name: str, lineno: int) -> int:
        name = name.strip()
        if name in where:
            return where[name]
        if Path(name).name in where:
            return where[Path(name).name]
        raise ValueError(f"{path}:{lineno}: {name!r} is not an image of the clustered collection")

    if header in (["file", "class"], ["id", "class"]):
        labelled: dict[int, str] = {}
        for lineno, r in enumerate(rows[1:], start=2):
            if len(r) != 2:
                raise ValueError(f"{path}:{lineno}: expected 2 fields (file,class), got {len(r)}")
            labelled[find(r[0], lineno)] = r[1].strip()
        idx = sorted(labelled)
        pairs = [(a, b, labelled[a] == labelled[b]) for n, a in enumerate(idx) for b in idx[n + 1 :]]
        return pairs, len(set(labelled.values()))
    if header == ["a", "b", "same"]:
        pairs = []
        truthy = {"1": True, "yes": True, "true": True, "0": False, "no": False, "false": False}
        for lineno, r in enumerate(rows[1:], start=2):
            if len(r) != 3 or r[2].strip().lower() not in truthy:
                raise ValueError(f"{path}:{lineno}: expected a,b,same with same = 1/0, yes/no or true/false")
            pairs.append((find(r[0], lineno), find(r[1], lineno), truthy[r[2].strip().lower()]))
        # the prior: marked pairs say nothing about the number of classes; use their share of same pairs
        same = sum(t for _, _, t in pairs)
        share = same / max(len(pairs), 1)
        return pairs, max(2, int(round(1.0 / share))) if share > 0 else 2
    raise ValueError(f"{path}:1: expected the header file,class (or id,class) or a,b,same, got {','.join(rows[0])}")
