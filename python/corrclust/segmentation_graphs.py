"""Segmentation multicut instances from real images: superpixels, their adjacency, boundary costs.

The instances are of the kind the OpenGM ``image-seg`` set holds (a superpixel region adjacency
graph whose edge costs say how likely the shared boundary is a true object boundary), but built
from any 2-D image, at any size from a few hundred to tens of thousands of nodes, so that the
solvers can be measured on more than a handful of files.

Construction, for an image and a requested node count ``n_nodes``:

1. The image is converted to grey values (``skimage.color.rgb2gray`` for colour) stretched to [0, 1].
2. **Superpixels**: ``skimage.segmentation.slic`` on the grey image (connected segments). SLIC
   seeds a grid with an integer step, so its count jumps between steps; when the count at the
   native size is not within ``tolerance * n_nodes`` of ``n_nodes``, the image is enlarged
   (bilinear, ``skimage.transform.rescale``) so that the next larger step gives the number asked,
   which is corrected by the ratio wanted / obtained, at most :data:`SLIC_TRIES` runs in all; a
   ValueError says so when none lands (or when the image has fewer than 4 pixels per node).
   Steps 3 and 4 then work on the enlarged image.
3. **Region adjacency graph**: two superpixels are adjacent when they touch along a pixel edge
   (4-neighbourhood), so the graph is planar and, the image being connected, connected.
4. **Boundary strength**: the edge map is the Sobel gradient magnitude of the grey image after a
   Gaussian blur of ``smoothing`` pixels. For every pair of 4-neighbouring pixels on a boundary the
   strength is the mean of the edge map at the two pixels; ``s_e`` is the mean over all such pixel
   pairs between the two superpixels of edge ``e``.
5. **Cost rule** (log-odds, positive = the two superpixels should join): with ``s_ref`` the
   ``boundary_share`` quantile from the top of the ``s_e`` (so that the share ``boundary_share``
   of the edges is stronger than ``s_ref``), the boundary probability is
   ``p_e = sigmoid(sharpness * log(s_e / s_ref))`` (a logistic curve in log strength, 1/2 at
   ``s_ref``), clamped to [1e-6, 1 - 1e-6] as :data:`corrclust.problem.PROBABILITY_CLAMP`, and
   the cost is ``logit(1 - p_e) = sharpness * log(s_ref / s_e)`` within the clamp. A zero strength
   (a flat region) takes the clamp, so every cost is finite. ``sharpness`` only scales the costs
   (the optimal segmentation is the same) until the clamp or ``noise`` comes in.
6. Optionally, ``noise`` adds ``noise * N(0, 1)`` per edge (``numpy.random.default_rng(seed)``)
   before the clamp: a boundary detector that errs independently per edge.

Everything is deterministic for an image, ``seed`` and the parameters (SLIC has no randomness).
From a folder, :func:`folder_multicut` picks the image with ``seed`` too.

How hard they are for the exact solver is measured in ``docs/exact.md`` ("Segmentation
(superpixel) graphs"): at 4,000 nodes most are proven in seconds (the costs vary smoothly along the
image, and the cycle relaxation of the planar graph is nearly tight), a few need a few hundred
branch-and-bound nodes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from corrclust.problem import PROBABILITY_CLAMP, Problem

__all__ = ["superpixels", "superpixel_multicut", "folder_multicut", "SLIC_TRIES"]

#: SLIC runs at most this many times to reach the requested node count.
SLIC_TRIES = 8


def _grey(image: Any) -> np.ndarray:
    from skimage.color import rgb2gray
    from skimage.util import img_as_float

    arr = np.asarray(image)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"image must be numeric, got dtype {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[..., :3]
    if arr.ndim == 3 and arr.shape[2] == 3:
        grey = rgb2gray(img_as_float(arr))
    elif arr.ndim == 2:
        grey = img_as_float(arr).astype(np.float64)
    else:
        raise ValueError(f"image must be 2-D grey or (H, W, 1|3|4), got shape {arr.shape}")
    if not np.isfinite(grey).all():
        raise ValueError("image has non-finite values")
    lo, hi = float(grey.min()), float(grey.max())
    return (grey - lo) / (hi - lo) if hi > lo else np.zeros_like(grey)


def superpixels(
    image: Any, n_nodes: int = 4000, *, compactness: float = 0.1, tolerance: float = 0.1
) -> np.ndarray:
    """The SLIC superpixel label image (int64, labels 0..k-1) with k within ``tolerance`` of ``n_nodes``.

    ``compactness`` is SLIC's, for grey values in [0, 1] (larger: squarer superpixels). The label
    image has the image's shape, or a larger one when the image had to be enlarged (see the module
    docstring, step 2).
    """
    return _segment(_grey(image), n_nodes, compactness, tolerance)[1]


def _segment(
    grey: np.ndarray, n_nodes: int, compactness: float, tolerance: float
) -> tuple[np.ndarray, np.ndarray]:
    """(the grey image SLIC ran on, its labels): see the module docstring, step 2."""
    from skimage.segmentation import relabel_sequential, slic
    from skimage.transform import rescale

    if n_nodes < 2:
        raise ValueError(f"n_nodes must be at least 2, got {n_nodes}")
    if not (0 < tolerance < 1):
        raise ValueError(f"tolerance must be in (0, 1), got {tolerance}")
    if not (np.isfinite(compactness) and compactness > 0):
        raise ValueError(f"compactness must be a positive number, got {compactness}")
    if grey.size < 4 * n_nodes:
        raise ValueError(
            f"an image of {grey.shape[0]} x {grey.shape[1]} pixels is too small for {n_nodes} nodes"
        )
    # SLIC seeds a square grid whose step is int(sqrt(pixels / n_segments)), so the count it reaches
    # jumps (450 x 450 pixels: about 12,700 superpixels at step 4, 22,500 at step 3), and merging
    # small pieces for connectivity leaves fewer than seeded. When the native size misses, the
    # number asked is corrected by the ratio wanted / obtained, and the image enlarged so that the
    # next larger integer step gives that number.
    asked, work, got = float(n_nodes), grey, 0
    for _ in range(SLIC_TRIES):
        labels = slic(
            work, n_segments=int(round(asked)), compactness=compactness, channel_axis=None, start_label=0
        )
        labels = relabel_sequential(labels)[0].astype(np.int64)
        got = int(labels.max()) + 1
        if abs(got - n_nodes) <= tolerance * n_nodes:
            return work, labels
        asked *= n_nodes / max(got, 1)
        step = np.ceil(np.sqrt(grey.size / asked) + 1e-9)
        scale = float(step * np.sqrt(asked / grey.size) * 1.01)
        work = np.clip(rescale(grey, scale, order=1, anti_aliasing=False), 0.0, 1.0)
    raise ValueError(
        f"SLIC gave {got} superpixels, not {n_nodes} +- {tolerance:.0%}, after {SLIC_TRIES} tries "
        f"(image {grey.shape[0]} x {grey.shape[1]})"
    )


def superpixel_multicut(
    image: Any,
    n_nodes: int = 4000,
    *,
    compactness: float = 0.1,
    smoothing: float = 1.0,
    boundary_share: float = 0.3,
    sharpness: float = 2.0,
    noise: float = 0.0,
    seed: int = 0,
    tolerance: float = 0.1,
) -> Problem:
    """The segmentation multicut instance of ``image`` as described in the module docstring.

    Returns a sparse :class:`corrclust.Problem` whose nodes are the superpixels of
    :func:`superpixels` (same ``image``, ``n_nodes``, ``compactness``, ``tolerance``); its
    ``metadata`` records the parameters and the boundary-length of every edge
    (``metadata["boundary_length"]``, pixel edges, int64 per edge).
    """
    from skimage.filters import gaussian, sobel

    if not (0 < boundary_share < 1):
        raise ValueError(f"boundary_share must be in (0, 1), got {boundary_share}")
    for name, value in (("smoothing", smoothing), ("sharpness", sharpness), ("noise", noise)):
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite non-negative number, got {value}")
    grey, labels = _segment(_grey(image), n_nodes, compactness, tolerance)
    edge_map = sobel(gaussian(grey, sigma=smoothing) if smoothing > 0 else grey)
    n = int(labels.max()) + 1

    # Pixel pairs across a superpixel boundary, horizontally and vertically.
    keys, strength = [], []
    for a, b, ea, eb in (
        (labels[:, :-1], labels[:, 1:], edge_map[:, :-1], edge_map[:, 1:]),
        (labels[:-1, :], labels[1:, :], edge_map[:-1, :], edge_map[1:, :]),
    ):
        cross = a != b
        u, v = a[cross], b[cross]
        keys.append(np.minimum(u, v) * n + np.maximum(u, v))
        strength.append(0.5 * (ea[cross] + eb[cross]))
    key = np.concatenate(keys)
    uniq, inverse = np.unique(key, return_inverse=True)
    length = np.bincount(inverse, minlength=len(uniq))
    mean_strength = np.bincount(inverse, weights=np.concatenate(strength), minlength=len(uniq)) / length

    s_ref = float(np.quantile(mean_strength, 1.0 - boundary_share))
    clamp = float(np.log((1.0 - PROBABILITY_CLAMP) / PROBABILITY_CLAMP))
    with np.errstate(divide="ignore"):
        raw = (
            sharpness * (np.log(s_ref) - np.log(mean_strength)) if s_ref > 0 else np.zeros_like(mean_strength)
        )
    raw = np.nan_to_num(raw, nan=0.0, posinf=clamp, neginf=-clamp)
    if noise > 0:
        raw = raw + noise * np.random.default_rng(seed).normal(size=raw.shape)
    costs = np.clip(raw, -clamp, clamp)

    edges = np.stack([uniq // n, uniq % n], axis=1).astype(np.int64)
    problem = Problem(n, np.ascontiguousarray(costs, dtype=np.float64), np.ascontiguousarray(edges))
    problem.metadata.update(
        {
            "generator": "superpixel_multicut",
            "n_nodes_requested": int(n_nodes),
            "compactness": compactness,
            "smoothing": smoothing,
            "boundary_share": boundary_share,
            "sharpness": sharpness,
            "noise": noise,
            "seed": int(seed),
            "reference_strength": s_ref,
            "boundary_length": length.astype(np.int64),
        }
    )
    return problem


def folder_multicut(
    folder: str | os.PathLike[str], n_nodes: int = 4000, seed: int = 0, **options: Any
) -> Problem:
    """:func:`superpixel_multicut` of one image of ``folder``, chosen by ``seed``.

    The images are the files :mod:`corrclust.images.io` reads (directly in ``folder`` or in
    its ``images/`` subfolder, as in ``shared/data/organoid-fields``), sorted by name; ``seed``
    picks one with ``numpy.random.default_rng(seed)`` and is passed on (for ``noise``).
    ``metadata["image"]`` names the image.
    """
    from corrclust.images.io import IMAGE_SUFFIXES, read_image

    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"{root}: not a folder of images")
    where = root / "images" if (root / "images").is_dir() else root
    files = sorted(p for p in where.iterdir() if p.is_file() and p.name.lower().endswith(IMAGE_SUFFIXES))
    if not files:
        raise ValueError(f"{where}: no image files")
    path = files[int(np.random.default_rng(seed).integers(len(files)))]
    image = read_image(path)  # ImageReadError (a ValueError) names the file
    try:
        problem = superpixel_multicut(image, n_nodes, seed=seed, **options)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    problem.metadata.update({"image": str(path), "seed": int(seed)})
    return problem
