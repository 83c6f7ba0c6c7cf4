"""The self-supervised embedding network and its two training objectives.

``SSLNet`` = per-channel standardisation (mean and standard deviation of the training crops, stored
in the model) -> ResNet-18 at a reduced width (``corrclust.twin.resnet``; 16 by default, so
8 * 16 = 128 features) -> projector MLP. The features before the projector are the embedding used
for clustering (the usual choice: the projector specialises on the augmentation task).

Objectives (the loss is written here: the maintained SSL libraries, lightly and solo-learn, import
torchvision, and the PyPI torchvision wheels do not load against this CPU torch 2.13.0 build):

* ``simclr`` (NT-Xent, Chen et al. 2020): the two views of one crop are positives, the other
  2B - 2 views of the batch negatives; cross-entropy over cosine similarities / temperature.
* ``byol`` (Grill et al. 2020): an online network with a predictor regresses the projection of
  the other view made by a slowly moving average (EMA) of itself; no negatives.

``simclr`` is the default; the choice was measured in benchmarks/bench_ssl.py (docs/ssl.md).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from corrclust.ssl.augment import Augmentation
from corrclust.twin.resnet import ResNet18

__all__ = ["SSLConfig", "SSLNet", "nt_xent", "byol_loss", "METHODS"]

METHODS = ("simclr", "byol")


@dataclass(frozen=True)
class SSLConfig:
    """Everything that defines a self-supervised training run, apart from the data and the seed."""

    method: str = "simclr"
    image_size: int = 64  # side of the square network input
    width: int = 32  # ResNet-18 base width; embedding dimension = 8 * width (32 beat 16 on validation crops)
    proj_hidden: int = 256
    proj_dim: int = 64
    batch_size: int = (
        64  # crops per step (two views each); 64 and 128 tied at equal time, 64 makes 2.6x the steps
    )
    steps: int = 2000  # planned steps; a time budget usually ends the run earlier on a CPU
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_fraction: float = 0.05
    temperature: float = 0.2  # simclr
    ema: float = 0.99  # byol: target = ema * target + (1 - ema) * online
    augmentation: Augmentation = field(default_factory=Augmentation)

    def validate(self) -> None:
        if self.method not in METHODS:
            raise ValueError(
                f"unknown self-supervised method {self.method!r}; choose one of {', '.join(METHODS)}"
            )
        for name in ("image_size", "width", "proj_hidden", "proj_dim", "batch_size", "steps"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        if self.image_size < 16:
            raise ValueError(f"image-size must be at least 16, got {self.image_size}")
        if self.batch_size < 2:
            raise ValueError("batch-size must be at least 2 (the views of other crops are the negatives)")
        if not (self.lr > 0 and self.temperature > 0 and 0.0 <= self.ema < 1.0):
            raise ValueError("lr and temperature must be positive and ema in [0, 1)")
        self.augmentation.validate()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SSLConfig:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        if isinstance(known.get("augmentation"), Mapping):
            known["augmentation"] = Augmentation.from_dict(known["augmentation"])
        out = cls(**known)
        out.validate()
        return out


def _mlp(d_in: int, hidden: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(d_in, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True), nn.Linear(hidden, d_out)
    )


class SSLNet(nn.Module):
    """Standardisation, backbone and projector (plus predictor and EMA target for ``byol``)."""

    mean: torch.Tensor  # buffers (register_buffer), typed for mypy
    std: torch.Tensor

    def __init__(self, in_channels: int, config: SSLConfig) -> None:
        super().__init__()
        self.config = config
        self.in_channels = int(in_channels)
        self.register_buffer("mean", torch.zeros(self.in_channels))
        self.register_buffer("std", torch.ones(self.in_channels))
        self.backbone = ResNet18(self.in_channels, dims=2, width=config.width)
        self.projector = _mlp(self.backbone.out_features, config.proj_hidden, config.proj_dim)
        self.predictor: nn.Module | None = None
        self.target: nn.Module | None = None
        if config.method == "byol":
            self.predictor = _mlp(config.proj_dim, config.proj_hidden, config.proj_dim)
            self.target = nn.Sequential(copy.deepcopy(self.backbone), copy.deepcopy(self.projector))
            for p in self.target.parameters():
                p.requires_grad_(False)

    @property
    def embedding_dim(self) -> int:
        return int(self.backbone.out_features)

    def set_normalisation(self, inputs: torch.Tensor) -> None:
        """Per-channel mean and standard deviation of the training crops (N, C, S, S)."""
        self.mean.copy_(inputs.mean(dim=(0, 2, 3)))
        self.std.copy_(inputs.std(dim=(0, 2, 3)).clamp(min=1e-3))

    def standardise(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean[None, :, None, None]) / self.std[None, :, None, None]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The embedding (N, 8 * width) of crops in [0, 1]."""
        return self.backbone(self.standardise(x))

    def loss(self, v1: torch.Tensor, v2: torch.Tensor) -> torch.Tensor:
        """The training loss of two views (N, C, S, S) of the same N crops."""
        cfg = self.config
        if cfg.method == "simclr":
            z = self.projector(self.features(torch.cat([v1, v2])))
            z1, z2 = z.chunk(2)
            return nt_xent(z1, z2, cfg.temperature)
        assert self.predictor is not None and self.target is not None
        online = self.predictor(self.projector(self.features(torch.cat([v1, v2]))))
        with torch.no_grad():
            target = self.target(self.standardise(torch.cat([v1, v2])))
        p1, p2 = online.chunk(2)
        t1, t2 = target.chunk(2)
        return 0.5 * (byol_loss(p1, t2) + byol_loss(p2, t1))

    @torch.no_grad()
    def update_target(self) -> None:
        if self.target is None:
            return
        m = self.config.ema
        online = list(self.backbone.parameters()) + list(self.projector.parameters())
        for t, o in zip(self.target.parameters(), online, strict=False):
            t.mul_(m).add_(o.detach(), alpha=1.0 - m)
        online_buffers = list(self.backbone.buffers()) + list(self.projector.buffers())
        for tb, ob in zip(self.target.buffers(), online_buffers, strict=False):
            tb.copy_(ob)


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent: for each of the 2N views, cross-entropy of finding its partner among the other 2N - 1
    by cosine similarity / temperature. log(2N - 1) when the embeddings carry no information."""
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = (z @ z.T) / temperature
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(sim, partner)


def byol_loss(p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """2 - 2 cos(p, t), averaged over the batch (the target ``t`` carries no gradient)."""
    return (2.0 - 2.0 * F.cosine_similarity(p, t.detach(), dim=1)).mean()
