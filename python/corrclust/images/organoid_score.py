"""The organoid candidate score at inference time: a boosted-tree ensemble read from a file.

:func:`corrclust.images.detection.detect_organoids` scores every brightfield candidate with a
:class:`ScoreModel`: the probability that the candidate's box matches a manually boxed organoid.
The ensemble is stored as plain arrays in an ``.npz`` file (read with ``allow_pickle=False``) and
evaluated with NumPy, together with its operating point ``min_score``. This module only reads,
writes and evaluates such files; fitting one (scikit-learn) and choosing its operating point is
:mod:`corrclust.images.detection_model`, which inference never imports.

The packaged file ``organoid_score.npz`` next to this module is written by
``python -m corrclust.images.detection_model FIELDS_DIR BOXES_CSV -o organoid_score.npz``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = ["ScoreModel", "load_score_model", "save_score_model", "PACKAGED"]

PACKAGED = Path(__file__).with_name("organoid_score.npz")


@dataclass(frozen=True)
class ScoreModel:
    """A sum of regression trees on a logit scale.

    Node arrays are ``(n_trees, n_nodes)``; a sample at an inner node goes to ``left`` when its
    ``feature`` value is ``<= threshold``, else to ``right``; leaves hold ``value``
    (``left == -1``). The probability is ``sigmoid(bias + sum of the leaf values)``.
    """

    features: tuple[str, ...]
    bias: float
    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    link: str = "logit"  # "logit": a classifier's log-odds; "identity": a regression of the IoU
    min_score: float = 0.5  # the operating point: detection keeps candidates scoring at least this

    def __post_init__(self) -> None:
        shape = self.feature.shape
        for name in ("threshold", "left", "right", "value"):
            if getattr(self, name).shape != shape:
                raise ValueError(
                    f"score model: {name} has shape {getattr(self, name).shape}, expected {shape}"
                )
        inner = self.left >= 0
        if inner.any() and (self.feature[inner].min() < 0 or self.feature[inner].max() >= len(self.features)):
            raise ValueError("score model: a node tests a feature that does not exist")
        if self.link not in ("logit", "identity"):
            raise ValueError(f"score model: unknown link {self.link!r}")
        if not np.isfinite(self.min_score):
            raise ValueError(f"score model: min_score must be finite, got {self.min_score}")
        n = shape[1]
        for child in (self.left, self.right):
            if (child[inner] <= 0).any() or (child[inner] >= n).any():
                raise ValueError("score model: a child index is out of range")

    def decision(self, X: np.ndarray) -> np.ndarray:
        """The logit of every row of ``X`` (``(N, len(features))``)."""
        X = np.asarray(X, float)
        if X.ndim != 2 or X.shape[1] != len(self.features):
            raise ValueError(f"score model expects (N, {len(self.features)}) features, got {X.shape}")
        n_trees = self.feature.shape[0]
        rows = np.arange(X.shape[0])[:, None]
        trees = np.arange(n_trees)[None, :]
        node = np.zeros((X.shape[0], n_trees), np.int64)
        while True:
            inner = self.left[trees, node] >= 0
            if not inner.any():
                break
            f = self.feature[trees, node]
            go_left = X[rows, np.where(inner, f, 0)] <= self.threshold[trees, node]
            node = np.where(inner, np.where(go_left, self.left[trees, node], self.right[trees, node]), node)
        return self.bias + self.value[trees, node].sum(axis=1)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Score of every row of ``X``: the probability of a match (``logit``), or the
        predicted IoU with the best-matching true box (``identity``)."""
        d = self.decision(X)
        return 1.0 / (1.0 + np.exp(-d)) if self.link == "logit" else d


def save_score_model(model: ScoreModel, path: str | Path) -> None:
    from corrclust.atomic import atomic_path

    with atomic_path(path) as tmp, open(tmp, "wb") as fh:  # no half-written model on a full disk
        np.savez_compressed(
            fh,
            features=np.array(model.features, dtype=str),
            bias=np.array(model.bias),
            feature=model.feature.astype(np.int16),
            threshold=model.threshold.astype(np.float64),
            left=model.left.astype(np.int16),
            right=model.right.astype(np.int16),
            value=model.value.astype(np.float64),
            link=np.array(model.link),
            min_score=np.array(model.min_score),
        )


@lru_cache(maxsize=8)
def load_score_model(path: str | None = None) -> ScoreModel:
    """Read a model file (``None``: the packaged model); errors name the file."""
    p = PACKAGED if path is None else Path(path)
    try:
        with np.load(p, allow_pickle=False) as z:
            return ScoreModel(
                tuple(str(s) for s in z["features"]),
                float(z["bias"]),
                z["feature"].astype(np.int64),
                z["threshold"].astype(float),
                z["left"].astype(np.int64),
                z["right"].astype(np.int64),
                z["value"].astype(float),
                str(z["link"]) if "link" in z.files else "logit",
                float(z["min_score"]) if "min_score" in z.files else 0.5,
            )
    except (OSError, KeyError, ValueError) as exc:
        raise ValueError(f"cannot read the detection score model {p}: {exc}") from exc
