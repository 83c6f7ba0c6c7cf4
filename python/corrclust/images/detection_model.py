"""The candidate score of brightfield organoid detection: a small boosted-tree ensemble.

:func:`corrclust.images.detection.brightfield_candidates` proposes many overlapping candidates
per field; this model gives each the probability that its box matches a manually boxed organoid
(IoU >= 0.5). The ensemble is stored as plain arrays in an ``.npz`` file (read with
``allow_pickle=False``), evaluated with NumPy; scikit-learn is needed only to fit a new one.

The shipped model (``organoid_score.npz`` next to this module) was fitted by
``python -m corrclust.images.detection_model FIELDS_DIR BOXES_CSV -o organoid_score.npz`` on the
even-numbered OrgaQuant fields (sorted names, 0-based index) only; see ``docs/images.md``.
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["ScoreModel", "load_score_model", "save_score_model", "fit_score_model", "candidate_labels"]

PACKAGED = Path(__file__).with_name("organoid_score.npz")
# a candidate is a positive training example when its box has at least this IoU with a true
# box: stricter than the evaluation's 0.5, so tight boxes outrank loose ones of the same organoid
TRAIN_IOU = 0.6


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

    def __post_init__(self) -> None:
        shape = self.feature.shape
        for name in ("threshold", "left", "right", "value"):
            if getattr(self, name).shape != shape:
                raise ValueError(f"score model: {name} has shape {getattr(self, name).shape}, expected {shape}")
        inner = self.left >= 0
        if inner.any() and (self.feature[inner].min() < 0 or self.feature[inner].max() >= len(self.features)):
            raise ValueError("score model: a node tests a feature that does not exist")
        if self.link not in ("logit", "identity"):
            raise ValueError(f"score model: unknown link {self.link!r}")
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
    np.savez_compressed(
        path, features=np.array(model.features, dtype=str), bias=np.array(model.bias),
        feature=model.feature.astype(np.int16), threshold=model.threshold.astype(np.float64),
        left=model.left.astype(np.int16), right=model.right.astype(np.int16),
        value=model.value.astype(np.float64), link=np.array(model.link),
    )


@lru_cache(maxsize=8)
def load_score_model(path: str | None = None) -> ScoreModel:
    """Read a model file (``None``: the packaged model); errors name the file."""
    p = PACKAGED if path is None else Path(path)
    try:
        with np.load(p, allow_pickle=False) as z:
            return ScoreModel(
                tuple(str(s) for s in z["features"]), float(z["bias"]), z["feature"].astype(np.int64),
                z["threshold"].astype(float), z["left"].astype(np.int64), z["right"].astype(np.int64),
                z["value"].astype(float), str(z["link"]) if "link" in z.files else "logit",
            )
    except (OSError, KeyError, ValueError) as exc:
        raise ValueError(f"cannot read the detection score model {p}: {exc}") from exc


def fit_score_model(
    X: np.ndarray, y: np.ndarray, features: Sequence[str], *, n_trees: int = 300, depth: int = 4,
    learning_rate: float = 0.05, min_leaf: int = 40, seed: int = 0,
) -> ScoreModel:
    """Fit boosted trees (scikit-learn) to candidates ``X`` and convert them to a
    :class:`ScoreModel`: a classifier when ``y`` is boolean, else a least-squares regression
    of ``y`` (e.g. the IoU with the best-matching true box)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    y = np.asarray(y)
    classify = y.dtype == bool
    kind = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
    clf = kind(
        max_iter=n_trees, max_depth=depth, learning_rate=learning_rate, min_samples_leaf=min_leaf,
        l2_regularization=1.0, early_stopping=False, random_state=seed,
    ).fit(np.asarray(X, float), y if classify else y.astype(float))
    trees = [pred[0].nodes for pred in clf._predictors]
    n = max(len(t) for t in trees)
    feature = np.zeros((len(trees), n), np.int64)
    threshold = np.zeros((len(trees), n))
    left = np.full((len(trees), n), -1, np.int64)
    right = np.full((len(trees), n), -1, np.int64)
    value = np.zeros((len(trees), n))
    for k, t in enumerate(trees):
        leaf = t["is_leaf"].astype(bool)
        m = len(t)
        feature[k, :m] = np.where(leaf, 0, t["feature_idx"])
        threshold[k, :m] = t["num_threshold"]
        left[k, :m] = np.where(leaf, -1, t["left"].astype(np.int64))
        right[k, :m] = np.where(leaf, -1, t["right"].astype(np.int64))
        value[k, :m] = np.where(leaf, t["value"], 0.0)
    model = ScoreModel(tuple(features), float(np.ravel(clf._baseline_prediction)[0]), feature, threshold,
                       left, right, value, "logit" if classify else "identity")
    check = np.asarray(X, float)[:2000]
    reference = clf.predict_proba(check)[:, 1] if classify else clf.predict(check)
    if not np.allclose(model.predict(check), reference, atol=1e-6):
        raise RuntimeError("the converted score model disagrees with scikit-learn")
    return model


def candidate_labels(boxes: np.ndarray, truth: np.ndarray, iou_threshold: float = TRAIN_IOU) -> np.ndarray:
    """1 where a candidate box has IoU >= ``iou_threshold`` with some true box."""
    from corrclust.images.detection import box_iou

    if len(boxes) == 0 or len(truth) == 0:
        return np.zeros(len(boxes), bool)
    return box_iou(boxes, truth).max(axis=1) >= iou_threshold


def read_boxes(path: str | Path) -> dict[str, np.ndarray]:
    """``filename,x1,y1,x2,y2[,...]`` table → boxes per file name."""
    out: dict[str, list] = {}
    with open(path, newline="") as fh:
        for line, r in enumerate(csv.DictReader(fh), start=2):
            try:
                out.setdefault(r["filename"], []).append([int(r[k]) for k in ("x1", "y1", "x2", "y2")])
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path}, line {line}: expected filename,x1,y1,x2,y2 ({exc})") from exc
    return {k: np.array(v) for k, v in out.items()}


def main(argv: Sequence[str] | None = None) -> int:
    from corrclust.images.detection import FEATURES, DetectionParams, brightfield_candidates
    from corrclust.images.io import read_image

    ap = argparse.ArgumentParser(description="fit the organoid candidate score on the even-numbered fields")
    ap.add_argument("fields", type=Path, help="folder of the field images")
    ap.add_argument("boxes", type=Path, help="CSV with filename,x1,y1,x2,y2")
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--all", action="store_true", help="fit on every field (default: even-numbered only)")
    ap.add_argument("--label-iou", type=float, default=TRAIN_IOU,
                    help=f"IoU with a true box that makes a candidate positive (default {TRAIN_IOU})")
    args = ap.parse_args(argv)
    truth = read_boxes(args.boxes)
    names = sorted(truth) if args.all else sorted(truth)[0::2]
    p = DetectionParams()
    Xs, ys = [], []
    for n in names:
        c = brightfield_candidates(read_image(args.fields / n), p)
        Xs.append(c.features)
        ys.append(candidate_labels(c.boxes, truth[n], args.label_iou))
    model = fit_score_model(np.concatenate(Xs), np.concatenate(ys), FEATURES)
    save_score_model(model, args.output)
    print(f"fitted on {len(names)} fields, {sum(len(y) for y in ys)} candidates -> {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
