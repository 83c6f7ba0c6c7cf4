"""Per-channel cumulative intensity histograms: the input of the TNH twin network (paper-model §8).

For the first three channels of the image, in **reversed order** (the authors convert RGB to BGR
before histogramming, so row 0 is file channel 2, row 1 channel 1, row 2 channel 0), a 65536-bin
histogram over [0, 65536), L1-normalised and accumulated: the empirical CDF of each plane.
8-bit images are scaled x256 first (value v counts in bin 256 v), as the paper's key-point code
does for 8-bit input, so 8- and 16-bit versions of one image give comparable curves.
"""

from __future__ import annotations

import numpy as np

__all__ = ["N_BINS", "channel_histograms"]

N_BINS = 65536


def channel_histograms(image: np.ndarray) -> np.ndarray:
    """float32 array (3, 65536): the CDFs of channels 2, 1, 0 of an (H, W, C>=3) uint8/uint16 image."""
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] < 3:
        raise ValueError(f"expected an (H, W, C) image with at least 3 channels, got shape {img.shape}")
    if img.dtype == np.uint8:
        img = img.astype(np.uint16) << 8
    elif img.dtype != np.uint16:
        raise ValueError(f"expected a uint8 or uint16 image, got {img.dtype}")
    n = img.shape[0] * img.shape[1]
    if n == 0:
        raise ValueError("empty image")
    out = np.empty((3, N_BINS), np.float32)
    for row, ch in enumerate((2, 1, 0)):
        counts = np.bincount(img[:, :, ch].ravel(), minlength=N_BINS)
        out[row] = np.cumsum(counts / n)
    return out
