"""Augmentations for self-supervised training on microscopy crops (batched, seeded).

Two views of each crop are drawn with ``augment``; the network learns to give them the same
embedding, so an augmentation says which differences must NOT matter. For single objects under a
microscope those are:

* orientation: exact 90-degree rotations and flips (the dihedral group, no interpolation), then an
  arbitrary rotation (bilinear, reflected border so no black corners appear on brightfield);
* position and framing: a small shift and a small scale change (default at most 10 %: size is a
  class feature for e.g. macrocytes against microcytes, so no large zoom);
* illumination and staining strength: a gamma, contrast and brightness change shared by all
  channels, and a small per-channel gain (default at most 5 %);
* focus and sensor: a Gaussian blur of random width, Gaussian noise.

What is left out on purpose: colour jitter of hue or saturation, grey-scale conversion and channel
shuffles. They mix channels, and in a stain or a fluorescence channel the colour IS the meaning.
Every operation here acts on each channel on its own (output channel k depends only on input
channel k), which ``tests/test_ssl.py`` checks.

All randomness comes from one ``torch.Generator`` (kept in checkpoints); the images are
(N, C, S, S) float32 in [0, 1] and come back with the same shape and dtype, clipped to [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["Augmentation", "augment"]


@dataclass(frozen=True)
class Augmentation:
    """Strengths of the augmentations (the defaults are the ones measured in benchmarks/bench_ssl.py)."""

    rotate: bool = True  # arbitrary rotation after the exact dihedral one
    scale: float = 1.1  # scale drawn log-uniformly in [1/scale, scale]
    shift: float = 0.08  # shift up to this fraction of the side, per axis
    gamma: float = 1.3  # gamma drawn log-uniformly in [1/gamma, gamma], same for all channels
    contrast: float = 1.25  # contrast factor in [1/contrast, contrast] about the image mean
    brightness: float = 0.05  # offset in [-brightness, brightness]
    channel_gain: float = 1.05  # per-channel gain in [1/g, g]; 1 = off
    blur_p: float = 0.3  # probability of a Gaussian blur
    blur_sigma: float = 1.0  # its sigma in pixels, uniform in [0.1, blur_sigma]
    noise: float = 0.03  # noise standard deviation, uniform in [0, noise] per image

    def validate(self) -> None:
        for name in ("scale", "gamma", "contrast", "channel_gain"):
            if not getattr(self, name) >= 1.0:
                raise ValueError(f"augmentation {name} must be at least 1, got {getattr(self, name)}")
        for name in ("shift", "brightness", "blur_sigma", "noise"):
            if not getattr(self, name) >= 0.0:
                raise ValueError(f"augmentation {name} must not be negative, got {getattr(self, name)}")
        if not 0.0 <= self.blur_p <= 1.0:
            raise ValueError(f"augmentation blur_p must lie in [0, 1], got {self.blur_p}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Augmentation:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def _log_uniform(n: int, top: float, gen: torch.Generator) -> torch.Tensor:
    return torch.exp((torch.rand(n, generator=gen) * 2.0 - 1.0) * math.log(top))


def _dihedral(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Each image rotated by a uniform multiple of 90 degrees and flipped with probability 1/2."""
    n = x.shape[0]
    k90 = torch.randint(0, 4, (n,), generator=gen)
    flip = torch.rand(n, generator=gen) < 0.5
    out = x.clone()
    for k in range(4):
        for f in (False, True):
            m = (k90 == k) & (flip == f)
            if bool(m.any()):
                y = x[m]
                if f:
                    y = y.flip(-1)
                out[m] = torch.rot90(y, k, dims=(-2, -1)) if k else y
    return out


def _affine(x: torch.Tensor, cfg: Augmentation, gen: torch.Generator) -> torch.Tensor:
    """Rotation (uniform angle), scale and shift in one resampling, reflected at the border."""
    n = x.shape[0]
    angle = torch.rand(n, generator=gen) * (2.0 * math.pi) if cfg.rotate else torch.zeros(n)
    scale = _log_uniform(n, cfg.scale, gen)
    shift = (torch.rand(n, 2, generator=gen) * 2.0 - 1.0) * (2.0 * cfg.shift)  # grid units: side = 2
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    ).to(x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def _blur(x: torch.Tensor, cfg: Augmentation, gen: torch.Generator) -> torch.Tensor:
    """Separable Gaussian blur with a per-image sigma, each channel on its own (grouped convolution)."""
    n, c, h, w = x.shape
    apply = torch.rand(n, generator=gen) < cfg.blur_p
    sigma = 0.1 + torch.rand(n, generator=gen) * max(0.0, cfg.blur_sigma - 0.1)
    if not bool(apply.any()) or cfg.blur_sigma <= 0:
        return x
    radius = max(1, int(math.ceil(3.0 * cfg.blur_sigma)))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype)
    k = torch.exp(-0.5 * (t[None, :] / sigma[:, None].to(x.dtype)) ** 2)
    k = k / k.sum(1, keepdim=True)  # (n, 2r+1)
    k = k.repeat_interleave(c, 0)  # one kernel per (image, channel)
    y = x.reshape(1, n * c, h, w)
    y = F.conv2d(F.pad(y, (radius, radius, 0, 0), mode="reflect"), k[:, None, None, :], groups=n * c)
    y = F.conv2d(F.pad(y, (0, 0, radius, radius), mode="reflect"), k[:, None, :, None], groups=n * c)
    y = y.reshape(n, c, h, w)
    return torch.where(apply[:, None, None, None], y, x)


def augment(x: torch.Tensor, gen: torch.Generator, cfg: Augmentation | None = None) -> torch.Tensor:
    """One random view of every image of ``x`` (N, C, S, S) in [0, 1]; same shape and dtype."""
    cfg = cfg or Augmentation()
    if x.dim() != 4:
        raise ValueError(f"expected images (N, C, H, W), got shape {tuple(x.shape)}")
    n, c = x.shape[:2]
    if n == 0:
        return x
    x = _dihedral(x, gen)
    x = _affine(x, cfg, gen)
    # intensity: gamma, contrast about the per-channel mean, brightness (shared), small channel gain
    gamma = _log_uniform(n, cfg.gamma, gen).to(x.dtype)[:, None, None, None]
    contrast = _log_uniform(n, cfg.contrast, gen).to(x.dtype)[:, None, None, None]
    bright = ((torch.rand(n, generator=gen) * 2.0 - 1.0) * cfg.brightness).to(x.dtype)[:, None, None, None]
    gain = torch.exp((torch.rand(n, c, generator=gen) * 2.0 - 1.0) * math.log(cfg.channel_gain)).to(x.dtype)
    x = x.clamp(0.0, 1.0) ** gamma
    mean = x.mean(dim=(-2, -1), keepdim=True)
    x = (x - mean) * contrast + mean + bright
    x = x * gain[:, :, None, None]
    x = _blur(x, cfg, gen)
    sd = (torch.rand(n, generator=gen) * cfg.noise).to(x.dtype)[:, None, None, None]
    x = x + sd * torch.randn(x.shape, generator=gen, dtype=x.dtype)
    return x.clamp_(0.0, 1.0)
