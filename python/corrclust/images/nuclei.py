"""Nucleus detectors: a plane in, a label image out (0 = background, 1..n = nuclei).

The paper segments nuclei with StarDist's ``2D_versatile_fluo`` model (paper-model §2.1). Its
weights cannot be downloaded here, so the default is :class:`SkimageNuclei`, a classical
detector (smoothing, threshold on the organoid's foreground, seeded watershed). Anything with
the :class:`NucleiDetector` call signature can be passed instead; :class:`StarDistNuclei` wraps
StarDist when it is installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from scipy import ndimage as ndi

__all__ = ["NucleiDetector", "SkimageNuclei", "StarDistNuclei", "default_detector"]


@runtime_checkable
class NucleiDetector(Protocol):
    def __call__(self, plane: np.ndarray) -> np.ndarray:
        """Label image (int, same shape as ``plane``) of the nuclei in a 2-D plane."""
        ...


def _normalize(plane: np.ndarray, lo: float = 3.0, hi: float = 99.8) -> np.ndarray:
    """Percentile normalisation as csbdeep's ``normalize`` (3 / 99.8 by default), not clipped."""
    x = plane.astype(np.float64)
    a, b = np.percentile(x, [lo, hi])
    return (x - a) / max(b - a, 1e-12)


@dataclass(frozen=True)
class SkimageNuclei:
    """Classical nucleus segmentation for fluorescence planes of masked organoid crops.

    Smooth (Gaussian, ``sigma``), threshold at Otsu's level of the non-zero (organoid) pixels
    times ``threshold_scale``, split touching nuclei by a watershed seeded at the local maxima of
    the smoothed plane at least ``min_distance`` apart, drop objects smaller than ``min_area``.
    """

    sigma: float = 1.0
    min_distance: int = 3
    threshold_scale: float = 1.0
    min_area: int = 6

    def __call__(self, plane: np.ndarray) -> np.ndarray:
        from skimage.feature import peak_local_max
        from skimage.filters import threshold_otsu
        from skimage.segmentation import watershed

        plane = np.asarray(plane)
        if plane.ndim != 2:
            raise ValueError(f"nucleus detector expects a 2-D plane, got shape {plane.shape}")
        fg_pixels = plane[plane > 0]
        if fg_pixels.size < 2 or np.ptp(fg_pixels) == 0:
            return np.zeros(plane.shape, np.int32)
        x = ndi.gaussian_filter(plane.astype(np.float64), self.sigma)
        t = threshold_otsu(x[plane > 0]) * self.threshold_scale
        fg = x > t
        if not fg.any():
            return np.zeros(plane.shape, np.int32)
        peaks = peak_local_max(x, min_distance=self.min_distance, exclude_border=False)
        peaks = peaks[fg[peaks[:, 0], peaks[:, 1]]]
        markers = np.zeros(plane.shape, np.int32)
        markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
        lab = watershed(-x, markers, mask=fg)
        if self.min_area > 1 and lab.max() > 0:
            sizes = np.bincount(lab.ravel())
            small = sizes < self.min_area
            small[0] = False
            lab[small[lab]] = 0
        return _relabel(lab)


def _relabel(lab: np.ndarray) -> np.ndarray:
    from skimage.segmentation import relabel_sequential

    return relabel_sequential(lab.astype(np.int32))[0]


class StarDistNuclei:
    """StarDist ``2D_versatile_fluo`` as in the paper: ``predict_instances(normalize(plane), nms_thresh=0.5)``.

    Needs the ``stardist`` package and its pretrained weights; imported only when constructed.
    """

    def __init__(self, model_name: str = "2D_versatile_fluo", nms_thresh: float = 0.5) -> None:
        try:
            from stardist.models import StarDist2D  # type: ignore[import-not-found]
        except ImportError as exc:
            raise ImportError(
                "StarDistNuclei needs the 'stardist' package (pip install stardist); "
                "use SkimageNuclei otherwise"
            ) from exc
        self.model = StarDist2D.from_pretrained(model_name)
        if self.model is None:
            raise ValueError(f"StarDist has no pretrained model named {model_name!r}")
        self.nms_thresh = nms_thresh

    def __call__(self, plane: np.ndarray) -> np.ndarray:
        labels, _ = self.model.predict_instances(_normalize(plane), nms_thresh=self.nms_thresh)
        return np.asarray(labels, np.int32)


def default_detector() -> NucleiDetector:
    return SkimageNuclei()
