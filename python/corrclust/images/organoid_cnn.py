"""The CNN half of the organoid candidate score: a small convolutional network on crops (torch extra).

Every brightfield candidate of :func:`corrclust.images.detection.brightfield_candidates` gets a
crop (:func:`candidate_crops`): its box with a quarter of its size as margin on each side,
resampled to ``CROP_SIZE`` x ``CROP_SIZE`` pixels, in three channels: the flat-field image minus 1,
the fine contrast map over the field's Otsu threshold, and the candidate's own mask. The network
(three 3 x 3 convolutions of 8, 16 and 32 channels with batch norm, max pooling between them and
a global average at the end; 8,809 weights) turns the crop into 32 numbers; its head reads those
together with the candidate's standardised :data:`~corrclust.images.detection.FEATURES` (size,
rim contrast, radial profile, ...: what the crop, resampled to one size, no longer shows) and
gives the log-odds that the candidate matches a manually boxed organoid.

Detection averages these log-odds with those of the boosted trees
(:mod:`corrclust.images.organoid_score`) and keeps the candidates whose combined probability
reaches the ``min_score`` stored in the CNN's file (chosen by cross-validation of the combined
score when it was fitted, :func:`corrclust.images.detection_model.fit_detector`). Measured on
the OrgaQuant fields (``benchmarks/bench_detection_cnn.py``, ``docs/images.md``).

A model with ``views = 8`` averages the network's log-odds over the 8 symmetries of the square
(flips and transposes; the network is trained under all 8), so its score does not depend on the
crop's orientation; measured on the OrgaQuant fields it changes nothing beyond the spread
between training seeds, so fitted models use one view unless ``fit_crop_score(views=8)``.

Crops need only NumPy and SciPy; fitting and evaluating the network need PyTorch (``pip install
'corrclust[torch]'``). Without it detection uses the trees alone. Weights are stored as plain
arrays in an ``.npz`` file (read with ``allow_pickle=False``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage as ndi

__all__ = [
    "CROP_SIZE",
    "CROP_MARGIN",
    "PACKAGED",
    "CropScoreModel",
    "candidate_crops",
    "combined_scores",
    "fit_crop_score",
    "load_crop_score",
    "save_crop_score",
    "torch_available",
    "with_min_score",
]

CROP_SIZE = 32  # pixels per side of a crop (every candidate is resampled to it)
CROP_MARGIN = 0.25  # of the box size, on each side
WIDTH = (8, 16, 32)  # channels of the three convolutions
PACKAGED = Path(__file__).with_name("organoid_cnn.npz")


def torch_available() -> bool:
    """Whether PyTorch can be imported (the CNN score needs it; the trees do not)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def candidate_crops(
    flat: np.ndarray, cmap: np.ndarray, otsu: float, boxes: np.ndarray, masks: Sequence[np.ndarray]
) -> np.ndarray:
    """``(N, 3, CROP_SIZE, CROP_SIZE)`` float32 crops of the candidates (module docstring).

    ``flat`` is the flat-field image (1 = background), ``cmap`` the fine contrast map and ``otsu``
    its Otsu threshold, ``boxes`` ``(N, 4)`` ``(x1, y1, x2, y2)`` and ``masks`` each candidate's mask
    inside its box. Bilinear resampling (nearest for the mask); outside the image the maps are
    mirrored and the mask is 0.
    """
    S = CROP_SIZE
    out = np.zeros((len(boxes), 3, S, S), np.float32)
    u = (np.arange(S) + 0.5) / S * (1 + 2 * CROP_MARGIN) - CROP_MARGIN  # crop pixel centres, box = [0, 1]
    maps = (flat - 1.0, cmap / max(float(otsu), 1e-9))
    for i, (x1, y1, x2, y2) in enumerate(np.asarray(boxes, float).reshape(-1, 4)):
        yy, xx = np.meshgrid(y1 + u * (y2 - y1) - 0.5, x1 + u * (x2 - x1) - 0.5, indexing="ij")
        for c, m in enumerate(maps):
            out[i, c] = ndi.map_coordinates(m, [yy, xx], order=1, mode="reflect")
        out[i, 2] = ndi.map_coordinates(
            np.asarray(masks[i], np.float32), [yy - y1, xx - x1], order=0, mode="constant", cval=0.0
        )
    return out


def _network(n_features: int, width: Sequence[int]) -> Any:
    import torch
    from torch import nn

    layers: list[nn.Module] = []
    cin = 3
    for k, w in enumerate(width):
        layers += [nn.Conv2d(cin, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU()]
        layers += [nn.MaxPool2d(2)] if k < len(width) - 1 else [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        cin = w

    class CropNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Sequential(*layers)
            self.head = nn.Sequential(nn.Linear(cin + n_features, 32), nn.ReLU(), nn.Linear(32, 1))

        def forward(self, x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
            return self.head(torch.cat([self.conv(x), f], 1))[:, 0]

    return CropNet()


@dataclass(frozen=True)
class CropScoreModel:
    """A fitted crop network: its weights (``state_dict`` arrays), the feature standardisation and
    the operating point ``min_score`` of the combined (trees + CNN) score."""

    features: tuple[str, ...]
    feature_mean: np.ndarray
    feature_std: np.ndarray
    weights: dict[str, np.ndarray]
    width: tuple[int, ...] = WIDTH
    crop_size: int = CROP_SIZE
    min_score: float = 0.5
    # 1: the crop as it is; 8: the log-odds averaged over the 8 symmetries of the square
    # (test-time augmentation; the network is trained on all 8, so either is a valid score)
    views: int = 1

    def _standardised(self, features: np.ndarray) -> np.ndarray:
        F = np.asarray(features, float)
        if F.ndim != 2 or F.shape[1] != len(self.features):
            raise ValueError(f"CNN score expects (N, {len(self.features)}) features, got {F.shape}")
        return np.clip((F - self.feature_mean) / self.feature_std, -5, 5).astype(np.float32)

    def network(self) -> Any:
        """The torch module with these weights, in evaluation mode."""
        import torch

        net = _network(len(self.features), self.width)
        net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in self.weights.items()})
        return net.eval()

    def decision(self, crops: np.ndarray, features: np.ndarray) -> np.ndarray:
        """Log-odds of every candidate (``crops`` from :func:`candidate_crops`)."""
        import torch

        crops = np.asarray(crops, np.float32)
        if crops.ndim != 4 or crops.shape[1:] != (3, self.crop_size, self.crop_size):
            raise ValueError(
                f"CNN score expects (N, 3, {self.crop_size}, {self.crop_size}) crops, got {crops.shape}"
            )
        if len(crops) == 0:
            return np.zeros(0)
        F = torch.from_numpy(self._standardised(features))
        net = _net_cached(self)
        with torch.no_grad():
            return np.mean(
                [
                    net.forward(v, F).numpy().astype(float)
                    for v in _views(torch.from_numpy(crops), self.views)
                ],
                axis=0,
            )


def _views(x: Any, n: int) -> list[Any]:
    """``x`` (N, C, S, S) under the first ``n`` (1 or 8) symmetries of the square: identity,
    flips and transposes, in a fixed order."""
    if n not in (1, 8):
        raise ValueError(f"CNN score views must be 1 or 8, got {n}")
    if n == 1:
        return [x]
    return [v for t in (x, x.transpose(2, 3)) for v in (t, t.flip(2), t.flip(3), t.flip(2).flip(3))]


_NETS: dict[int, tuple[CropScoreModel, Any]] = {}


def _net_cached(model: CropScoreModel) -> Any:
    hit = _NETS.get(id(model))
    if hit is None or hit[0] is not model:
        if len(_NETS) > 8:
            _NETS.clear()
        hit = _NETS[id(model)] = (model, model.network())
    return hit[1]


def fit_crop_score(
    crops: np.ndarray,
    features: np.ndarray,
    labels: np.ndarray,
    feature_names: Sequence[str],
    *,
    seed: int = 0,
    epochs: int = 8,
    batch: int = 128,
    learning_rate: float = 3e-3,
    width: Sequence[int] = WIDTH,
    min_score: float = 0.5,
    views: int = 1,
) -> CropScoreModel:
    """Fit the crop network to candidates labelled 1 (matches a manual box) or 0.

    AdamW (weight decay 1e-3) with a one-cycle learning rate over ``epochs`` passes of shuffled
    mini-batches, each batch flipped / transposed by one of the 8 symmetries of the square;
    binary cross-entropy. Seeded: the same inputs, seed and torch thread count give the same
    weights. ``views`` (1 or 8) is stored in the model: how many symmetries its score averages.
    Takes about 40 CPU seconds for 18,000 candidates on one thread.
    """
    import torch
    from torch import nn

    X = np.asarray(crops, np.float32)
    F = np.asarray(features, float)
    y = np.asarray(labels).astype(np.float32)
    if not (len(X) == len(F) == len(y)) or len(y) == 0:
        raise ValueError(f"need as many crops, feature rows and labels (got {len(X)}, {len(F)}, {len(y)})")
    if y.min() == y.max():
        raise ValueError("the CNN score needs candidates of both labels")
    if views not in (1, 8):
        raise ValueError(f"CNN score views must be 1 or 8, got {views}")
    mean, std = F.mean(axis=0), F.std(axis=0) + 1e-9
    model = CropScoreModel(tuple(feature_names), mean, std, {}, tuple(width), X.shape[-1], float(min_score))
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = _network(F.shape[1], width)
    opt = torch.optim.AdamW(net.parameters(), learning_rate, weight_decay=1e-3)
    n_batches = max(1, len(X) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, learning_rate, total_steps=epochs * n_batches)
    Xt, Ft, yt = torch.from_numpy(X), torch.from_numpy(model._standardised(F)), torch.from_numpy(y)
    net.train()
    for _ in range(epochs):
        for idx in np.array_split(rng.permutation(len(X)), n_batches):
            ti = torch.from_numpy(idx)
            xb = Xt[ti]
            k = int(rng.integers(8))
            if k & 1:
                xb = xb.flip(3)
            if k & 2:
                xb = xb.flip(2)
            if k & 4:
                xb = xb.transpose(2, 3)
            opt.zero_grad()
            nn.functional.binary_cross_entropy_with_logits(net(xb, Ft[ti]), yt[ti]).backward()
            opt.step()
            sched.step()
    weights = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
    return CropScoreModel(
        model.features, mean, std, weights, tuple(width), X.shape[-1], float(min_score), int(views)
    )


def with_min_score(model: CropScoreModel, min_score: float) -> CropScoreModel:
    """The same network with another operating point."""
    return replace(model, min_score=float(min_score))


def save_crop_score(model: CropScoreModel, path: str | Path) -> None:
    from corrclust.atomic import atomic_path

    arrays: dict[str, Any] = {f"w:{k}": np.asarray(v) for k, v in model.weights.items()}
    arrays.update(
        features=np.array(model.features, dtype=str),
        feature_mean=model.feature_mean,
        feature_std=model.feature_std,
        width=np.array(model.width, np.int64),
        crop_size=np.array(model.crop_size),
        min_score=np.array(model.min_score),
        views=np.array(model.views),
    )
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:  # no half-written model on a full disk
        np.savez_compressed(fh, **arrays)


@lru_cache(maxsize=8)
def load_crop_score(path: str | None = None) -> CropScoreModel:
    """Read a CNN score file (``None``: the packaged one); errors name the file."""
    p = PACKAGED if path is None else Path(path)
    try:
        with np.load(p, allow_pickle=False) as z:
            return CropScoreModel(
                tuple(str(s) for s in z["features"]),
                z["feature_mean"].astype(float),
                z["feature_std"].astype(float),
                {k[2:]: z[k] for k in z.files if k.startswith("w:")},
                tuple(int(v) for v in z["width"]),
                int(z["crop_size"]),
                float(z["min_score"]),
                int(z["views"]) if "views" in z.files else 1,  # files of version 0.x before views: 1
            )
    except (OSError, KeyError, ValueError) as exc:
        raise ValueError(f"cannot read the detection CNN score {p}: {exc}") from exc


def combined_scores(tree_logit: np.ndarray, cnn_logit: np.ndarray) -> np.ndarray:
    """The detection score of trees and CNN together: the probability of the mean of their log-odds."""
    return 1.0 / (1.0 + np.exp(-(np.asarray(tree_logit, float) + np.asarray(cnn_logit, float)) / 2))
