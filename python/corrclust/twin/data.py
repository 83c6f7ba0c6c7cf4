"""Data for the twin networks: preprocessing, in-memory datasets, pair sampling and augmentation.

Preprocessing (the paper's, §8):

* intensities to [0, 1]: 16-bit images are divided by 65535 and 8-bit images by 255 (the paper
  only has 16-bit TIFFs; dividing 8-bit images by 65535 would leave them almost black). Float
  images are used as they are. Only the first 3 channels are kept.
* ``square_pad``: zero padding to a square with floored halves, so an odd difference leaves the
  image one pixel short of square (as in the paper).
* ``resize``: bilinear with antialiasing to S x S.
* histograms (TNH): per-channel cumulative histograms over 65536 bins, from
  ``corrclust.images.histograms.channel_histograms``.

Randomness: pair and batch sampling draw from a ``numpy.random.Generator``, augmentation from a
``torch.Generator``; both are seeded by the trainer and saved in its checkpoints, so a seeded run
is reproducible and a resumed run continues the same random stream.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

if TYPE_CHECKING:
    from corrclust.images.io import ReadOptions

__all__ = [
    "to_unit_chw",
    "square_pad",
    "resize",
    "preprocess_image",
    "histogram_input",
    "TwinData",
    "load_folder",
    "from_arrays",
    "PairSampler",
    "PKSampler",
    "paper_augment",
    "strong_augment",
    "all_pair_targets",
]

HISTOGRAM_BINS = 65536


# --------------------------------------------------------------------------------------------
# Preprocessing
# --------------------------------------------------------------------------------------------


def to_unit_chw(image: np.ndarray, max_channels: int = 3) -> torch.Tensor:
    """(H, W) or (H, W, C) array -> float32 tensor (C, H, W) with intensities in [0, 1].

    uint16 (and other 16-bit integers) are divided by 65535, uint8 by 255, bool maps to {0, 1},
    floats are kept. Only the first ``max_channels`` channels are used.
    """
    a = np.asarray(image)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3:
        raise ValueError(f"expected an (H, W) or (H, W, C) image, got shape {a.shape}")
    if a.shape[0] < 1 or a.shape[1] < 1 or a.shape[2] < 1:
        raise ValueError(f"empty image of shape {a.shape}")
    a = a[:, :, :max_channels]
    if a.dtype == np.bool_:
        scale = 1.0
    elif a.dtype.kind in "ui":
        scale = 255.0 if a.dtype.itemsize == 1 else 65535.0
        if a.dtype.itemsize > 2:
            raise ValueError(f"integer images must be 8- or 16-bit, got {a.dtype}")
    elif a.dtype.kind == "f":
        scale = 1.0
    else:
        raise ValueError(f"unsupported image dtype {a.dtype}")
    out = torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1), dtype=np.float32))
    if scale != 1.0:
        out = out / scale
    if not torch.isfinite(out).all():
        raise ValueError("image contains NaN or infinite values")
    return out


def square_pad(x: torch.Tensor) -> torch.Tensor:
    """Zero-pad a (C, H, W) tensor towards a square with floored halves on each side."""
    h, w = x.shape[-2:]
    s = max(h, w)
    pw = (s - w) // 2
    ph = (s - h) // 2
    if pw == 0 and ph == 0:
        return x
    return F.pad(x, (pw, pw, ph, ph))


def resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear resize with antialiasing of a (C, H, W) or (N, C, H, W) tensor to size x size."""
    squeeze = x.dim() == 3
    xb = x[None] if squeeze else x
    if tuple(xb.shape[-2:]) != (size, size):
        xb = F.interpolate(xb, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return xb[0] if squeeze else xb


def preprocess_image(image: np.ndarray, size: int) -> torch.Tensor:
    """The paper's image input: scale to [0, 1], square pad, resize to (C, size, size)."""
    return resize(square_pad(to_unit_chw(image)), size)


def histogram_input(image: np.ndarray) -> torch.Tensor:
    """The paper's histogram input (C, 65536): per-channel cumulative histograms."""
    try:
        from corrclust.images.histograms import channel_histograms
    except ImportError:
        raise ValueError(
            "histogram input (paper-tnh) needs corrclust.images.histograms, which this build lacks"
        ) from None

    h = np.asarray(channel_histograms(image), dtype=np.float32)
    return torch.from_numpy(np.ascontiguousarray(h))


# --------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------


@dataclass
class TwinData:
    """Preprocessed network inputs of a collection of images, held in memory.

    inputs: (N, C, S, S) for images or (N, C, L) for histograms, float32.
    labels: (N,) int64 class indices into ``classes``, or -1 where unknown.
    ids: one identifier per image (the paper's id, or the file stem).
    """

    inputs: torch.Tensor
    labels: np.ndarray
    ids: list[str]
    classes: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def in_channels(self) -> int:
        return int(self.inputs.shape[1])

    def check_trainable(self) -> None:
        """Raise a clear ValueError if the data cannot train a twin network."""
        if len(self) == 0:
            raise ValueError("no images to train on")
        if (self.labels < 0).any():
            raise ValueError("training needs a class for every image (paper ids or class folders)")
        counts = np.bincount(self.labels)
        present = np.flatnonzero(counts)
        if present.size < 2:
            name = self.classes[present[0]] if present.size and self.classes else "?"
            raise ValueError(f"training needs at least 2 classes, found only one ({name})")
        if counts.max() < 2:
            raise ValueError("training needs a class with at least 2 images (for positive pairs)")


def from_arrays(
    images: Sequence[np.ndarray],
    labels: Sequence[object] | None,
    ids: Sequence[str] | None = None,
    input_kind: str = "image",
    image_size: int = 256,
    paths: Sequence[str] | None = None,
) -> TwinData:
    """Preprocess in-memory images (each (H, W) or (H, W, C)) into ``TwinData``.

    All images must have the same number of channels (after keeping the first 3).
    """
    n = len(images)
    if n == 0:
        raise ValueError("no images given")
    if labels is not None and len(labels) != n:
        raise ValueError(f"{len(labels)} labels for {n} images")
    ids = [str(i) for i in (ids if ids is not None else range(n))]
    paths = [str(p) for p in paths] if paths is not None else [""] * n
    channels = []
    for img, name in zip(images, paths, strict=False):
        a = np.asarray(img)
        c = 1 if a.ndim == 2 else (min(a.shape[2], 3) if a.ndim == 3 else -1)
        if c < 1:
            raise ValueError(f"{name or 'image'}: expected an (H, W) or (H, W, C) image, got shape {a.shape}")
        channels.append(c)
    if len(set(channels)) > 1:
        by_count: dict[int, list[str]] = {}
        for c, i, p in zip(channels, ids, paths, strict=False):
            by_count.setdefault(c, []).append(Path(p).name if p else i)
        detail = "; ".join(
            f"{c} channel(s): {', '.join(v[:3])}{' ...' if len(v) > 3 else ''}"
            for c, v in sorted(by_count.items())
        )
        raise ValueError(f"the images mix channel counts ({detail}); use images with the same channels")
    if input_kind == "image":
        inputs = torch.stack([preprocess_image(img, image_size) for img in images])
    elif input_kind == "histogram":
        inputs = torch.stack([histogram_input(img) for img in images])
    else:
        raise ValueError(f"input_kind must be 'image' or 'histogram', got {input_kind!r}")
    if labels is None:
        lab = np.full(n, -1, dtype=np.int64)
        classes: list[str] = []
    else:
        names = [str(x) for x in labels]
        classes = sorted(set(names), key=_natural_key)
        index = {c: k for k, c in enumerate(classes)}
        lab = np.array([index[x] for x in names], dtype=np.int64)
    return TwinData(inputs=inputs, labels=lab, ids=ids, classes=classes, paths=paths)


def _natural_key(s: str) -> tuple:
    try:
        return (0, float(s), s)
    except ValueError:
        return (1, 0.0, s)


def load_folder(
    folder: str | Path,
    input_kind: str = "image",
    image_size: int = 256,
    require_labels: bool = True,
    progress: bool = False,
    read: ReadOptions | None = None,
    failures: list[tuple[Path, str]] | None = None,
) -> TwinData:
    """Read every image of ``folder`` (the paper's id layout or one sub-folder per class).

    Files and classes come from ``corrclust.images.io.list_images``; images are read with
    ``corrclust.images.io.iter_images`` and ``read`` (channels, Z projection, time point, pixel size).
    An unreadable file is skipped: appended to ``failures`` when given, otherwise announced on stderr.
    """
    import sys

    from corrclust.images.io import iter_images, list_images

    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"no such folder: {folder}")
    if not folder.is_dir():
        raise NotADirectoryError(f"not a folder: {folder}")
    records = list(list_images(folder, read=read))
    if not records:
        raise ValueError(f"no images found in {folder}")
    images, labels, ids, paths = [], [], [], []
    skipped = 0
    for rec, data, err in iter_images(records, read, progress=progress):
        if data is None:
            skipped += 1
            if failures is not None:
                failures.append((rec.path, err or "unreadable"))
            else:
                print(f"skipping {rec.path}: {err}", file=sys.stderr)
            continue
        images.append(data.pixels)
        labels.append(rec.label)
        ids.append(str(rec.id))
        paths.append(str(rec.path))
    if not images:
        raise ValueError(f"none of the {len(records)} images in {folder} could be read")
    have = [lab is not None for lab in labels]
    if require_labels and not all(have):
        missing = [Path(p).name for p, h in zip(paths, have, strict=False) if not h][:3]
        raise ValueError(
            f"{folder}: no class for {', '.join(missing)}; use the paper's ids (class = id // 100) "
            "or one sub-folder per class"
        )
    return from_arrays(images, labels if all(have) else None, ids, input_kind, image_size, paths)


# --------------------------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------------------------


class PairSampler:
    """The paper's balanced random pairs.

    For each item, draw a class uniformly and an image of it uniformly. Even items pair it with
    another image of the same class (target 1), odd items with a uniform image of a uniform other
    class (target 0). Classes with a single image are not drawn for positive pairs.
    """

    def __init__(self, labels: np.ndarray, batch_size: int) -> None:
        self.labels = np.asarray(labels)
        self.batch_size = int(batch_size)
        self.members = [np.flatnonzero(self.labels == c) for c in range(int(self.labels.max()) + 1)]
        self.classes = np.array([c for c, m in enumerate(self.members) if m.size > 0])
        self.pos_classes = np.array([c for c, m in enumerate(self.members) if m.size > 1])
        if self.classes.size < 2 or self.pos_classes.size < 1:
            raise ValueError("pair sampling needs 2 classes and a class with 2 images")

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Index arrays (i, j) and float targets (1 = same class) of one batch."""
        b = self.batch_size
        i = np.empty(b, dtype=np.int64)
        j = np.empty(b, dtype=np.int64)
        t = np.empty(b, dtype=np.float32)
        for k in range(b):
            if k % 2 == 0:
                c = self.pos_classes[rng.integers(self.pos_classes.size)]
                m = self.members[c]
                a, other = rng.choice(m.size, size=2, replace=False)
                i[k], j[k], t[k] = m[a], m[other], 1.0
            else:
                c = self.classes[rng.integers(self.classes.size)]
                m = self.members[c]
                i[k] = m[rng.integers(m.size)]
                others = self.classes[self.classes != c]
                d = others[rng.integers(others.size)]
                md = self.members[d]
                j[k], t[k] = md[rng.integers(md.size)], 0.0
        return i, j, t


class PKSampler:
    """Class-balanced batches: P distinct classes, K images of each (without replacement when the
    class has at least K images). Every pair inside the batch is a labelled training pair."""

    def __init__(self, labels: np.ndarray, classes_per_batch: int, images_per_class: int) -> None:
        self.labels = np.asarray(labels)
        self.members = [np.flatnonzero(self.labels == c) for c in range(int(self.labels.max()) + 1)]
        self.classes = np.array([c for c, m in enumerate(self.members) if m.size > 0])
        if self.classes.size < 2:
            raise ValueError("batch sampling needs at least 2 classes")
        self.p = min(int(classes_per_batch), self.classes.size)
        self.k = int(images_per_class)

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """Image indices of one batch (P * K of them, grouped by class)."""
        chosen = rng.choice(self.classes, size=self.p, replace=False)
        out = []
        for c in chosen:
            m = self.members[c]
            out.append(m[rng.choice(m.size, size=self.k, replace=m.size < self.k)])
        return np.concatenate(out)


def all_pair_targets(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """For a batch with class ``labels`` (B,): rows and columns of the pairs i < j, their targets
    (1 = same class) and weights that give positives and negatives equal total weight."""
    b = labels.shape[0]
    r, c = torch.triu_indices(b, b, offset=1, device=labels.device)
    t = (labels[r] == labels[c]).to(torch.float32)
    n_pos = t.sum()
    n_neg = t.numel() - n_pos
    w = torch.where(t > 0, 0.5 / n_pos.clamp(min=1), 0.5 / n_neg.clamp(min=1))
    if n_pos == 0 or n_neg == 0:
        w = torch.full_like(t, 1.0 / t.numel())
    return r, c, t, w


# --------------------------------------------------------------------------------------------
# Augmentation (batched; all randomness from a torch.Generator)
# --------------------------------------------------------------------------------------------


def _rotate(x: torch.Tensor, angles_deg: torch.Tensor, mode: str) -> torch.Tensor:
    """Rotate each image of (N, C, S, S) about its centre by its angle, zero fill, same size."""
    a = angles_deg * (math.pi / 180.0)
    cos, sin = torch.cos(a), torch.sin(a)
    zero = torch.zeros_like(a)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(theta.to(device=x.device, dtype=x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode=mode, padding_mode="zeros", align_corners=False)


def _flip_where(x: torch.Tensor, mask: torch.Tensor, dim: int) -> torch.Tensor:
    if not bool(mask.any()):
        return x
    x = x.clone()
    x[mask] = x[mask].flip(dim)
    return x


def paper_augment(x: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    """The paper's TNIa augmentation, per image: horizontal flip (p), vertical flip (p), and with
    probability p a rotation by a uniform angle in [-180, 180] (nearest, zero fill)."""
    n = x.shape[0]
    if p <= 0 or n == 0:
        return x
    # random numbers come from the (CPU) generator for reproducibility, then move to x's device
    u = torch.rand(n, 3, generator=gen).to(x.device)
    angles = (torch.rand(n, generator=gen) * 360.0 - 180.0).to(x.device)
    x = _flip_where(x, u[:, 0] < p, -1)
    x = _flip_where(x, u[:, 1] < p, -2)
    rot = u[:, 2] <= p
    if bool(rot.any()):
        x = x.clone()
        x[rot] = _rotate(x[rot], angles[rot], "nearest")
    return x


def strong_augment(
    x: torch.Tensor,
    gen: torch.Generator,
    small_rotation: float = 15.0,
    gain: float = 1.25,
) -> torch.Tensor:
    """The ``fast`` recipe's augmentation, per image: flips (1/2 each), a rotation by a multiple of
    90 degrees (uniform), with probability 1/2 a small rotation in [-small_rotation, small_rotation]
    (bilinear, zero fill), and a per-channel gain drawn log-uniformly in [1/gain, gain] (clipped
    to [0, 1]). No rescaling: size can be a class feature (macrocytes vs microcytes)."""
    n, c = x.shape[:2]
    if n == 0:
        return x
    u = torch.rand(n, 3, generator=gen).to(x.device)
    k90 = torch.randint(0, 4, (n,), generator=gen).to(x.device)
    angles = ((torch.rand(n, generator=gen) * 2.0 - 1.0) * small_rotation).to(x.device)
    gains = torch.exp((torch.rand(n, c, generator=gen) * 2.0 - 1.0) * math.log(gain)).to(x.device, x.dtype)
    x = _flip_where(x, u[:, 0] < 0.5, -1)
    x = _flip_where(x, u[:, 1] < 0.5, -2)
    x = x.clone()
    for k in range(1, 4):
        m = k90 == k
        if bool(m.any()):
            x[m] = torch.rot90(x[m], k, dims=(-2, -1))
    rot = u[:, 2] < 0.5
    if bool(rot.any()) and small_rotation > 0:
        x[rot] = _rotate(x[rot], angles[rot], "bilinear")
    x = x * gains[:, :, None, None]
    return x.clamp_(0.0, 1.0)


AugmentFn = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
