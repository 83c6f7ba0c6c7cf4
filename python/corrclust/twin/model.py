"""Twin networks: a shared embedding network and a head that scores a pair of embeddings.

* ``Embedding``: a ResNet-18 (2-D for images, 1-D for histograms), Flatten, Linear(512, 128).
* ``PaperHead``: the paper's head, concat(e1, e2) -> Linear(256, 128) -> ReLU -> Linear(128, 1)
  -> Sigmoid. It is not symmetric in the order of the pair.
* ``SymmetricHead``: the head of the ``fast`` recipe. It sees only ``|e1 - e2|`` and ``e1 * e2``, both
  symmetric element by element, so head(e1, e2) == head(e2, e1) exactly (bit for bit).

Both heads return **logits** (the Sigmoid is applied by ``TwinNetwork.probability`` and at
inference); training uses ``binary_cross_entropy_with_logits``, which is the paper's BCELoss on the
sigmoid output computed in a numerically stable way.

Every ``nn.Linear`` gets ``xavier_uniform_`` weights and bias 0.01, as in the paper.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from corrclust.twin.resnet import ResNet18

__all__ = [
    "ModelConfig",
    "Embedding",
    "PaperHead",
    "SymmetricHead",
    "TwinNetwork",
    "build_model",
    "EMBEDDING_DIM",
    "MODEL_FORMAT",
    "resolve_device",
]

EMBEDDING_DIM = 128
MODEL_FORMAT = "corrclust-twin-model"  # the ``format`` tag of model files (``train.save_model``)
INPUT_KINDS = ("image", "histogram")
HEAD_KINDS = ("paper", "symmetric")


def _init_linear(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.constant_(m.bias, 0.01)


@dataclass(frozen=True)
class ModelConfig:
    """What a model needs to be rebuilt and fed: stored in every model file.

    input: ``"image"`` (2-D ResNet on C x S x S) or ``"histogram"`` (1-D ResNet on C x 65536).
    in_channels: 1 to 3. input_size: the side S of the square image input, or the histogram length.
    head: ``"paper"`` or ``"symmetric"``.
    """

    input: str = "image"
    in_channels: int = 3
    input_size: int = 256
    head: str = "paper"
    embedding_dim: int = EMBEDDING_DIM
    width: int = 64  # ResNet-18 base width; 64 is the standard network (the paper's)

    def __post_init__(self) -> None:
        if self.input not in INPUT_KINDS:
            raise ValueError(f"input must be one of {INPUT_KINDS}, got {self.input!r}")
        if self.head not in HEAD_KINDS:
            raise ValueError(f"head must be one of {HEAD_KINDS}, got {self.head!r}")
        if not 1 <= int(self.in_channels) <= 3:
            raise ValueError(f"in_channels must be 1, 2 or 3, got {self.in_channels}")
        if int(self.input_size) < 8:
            raise ValueError(f"input_size must be at least 8, got {self.input_size}")
        if int(self.width) < 1:
            raise ValueError(f"width must be positive, got {self.width}")
        if int(self.embedding_dim) < 1:
            raise ValueError(f"embedding_dim must be positive, got {self.embedding_dim}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelConfig:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


class Embedding(nn.Module):
    """ResNet-18 features (N, 512) followed by Linear(512, embedding_dim)."""

    def __init__(
        self, in_channels: int, dims: int, embedding_dim: int = EMBEDDING_DIM, width: int = 64
    ) -> None:
        super().__init__()
        self.backbone = ResNet18(in_channels, dims=dims, width=width)
        self.fc = nn.Linear(self.backbone.out_features, embedding_dim)
        _init_linear(self.fc)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.backbone(x))


class PaperHead(nn.Module):
    """concat(e1, e2) -> Linear(2d, 128) -> ReLU -> Linear(128, 1); logits of p(same class)."""

    symmetric = False

    def __init__(self, embedding_dim: int = EMBEDDING_DIM, hidden: int = 128) -> None:
        super().__init__()
        self.fc1 = nn.Linear(2 * embedding_dim, hidden)
        self.fc2 = nn.Linear(hidden, 1)
        _init_linear(self)

    def forward(self, e1: torch.Tensor, e2: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.fc1(torch.cat([e1, e2], dim=1)))
        return self.fc2(h).squeeze(1)

    def pairwise(self, ea: torch.Tensor, eb: torch.Tensor) -> torch.Tensor:
        """Logits for every ordered pair (ea[i], eb[j]): (na, nb).

        fc1 on a concatenation is the sum of two half-products, so each embedding goes through
        fc1 once and the pairs cost only an addition, a ReLU and the last dot product.
        """
        d = ea.shape[1]
        w = self.fc1.weight
        u = ea @ w[:, :d].T + self.fc1.bias
        v = eb @ w[:, d:].T
        h = torch.relu(u[:, None, :] + v[None, :, :])
        return (h @ self.fc2.weight[0]) + self.fc2.bias[0]


class SymmetricHead(nn.Module):
    """``[|e1 - e2|, e1 * e2]`` -> Linear(2d, 128) -> ReLU -> Linear(128, 1); exactly order-invariant."""

    symmetric = True

    def __init__(self, embedding_dim: int = EMBEDDING_DIM, hidden: int = 128) -> None:
        super().__init__()
        self.fc1 = nn.Linear(2 * embedding_dim, hidden)
        self.fc2 = nn.Linear(hidden, 1)
        _init_linear(self)

    @staticmethod
    def _features(e1: torch.Tensor, e2: torch.Tensor) -> torch.Tensor:
        return torch.cat([(e1 - e2).abs(), e1 * e2], dim=-1)

    def forward(self, e1: torch.Tensor, e2: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.fc1(self._features(e1, e2)))
        return self.fc2(h).squeeze(-1)

    def pairwise(self, ea: torch.Tensor, eb: torch.Tensor) -> torch.Tensor:
        """Logits for every pair (ea[i], eb[j]): (na, nb)."""
        f = self._features(ea[:, None, :], eb[None, :, :])
        h = torch.relu(self.fc1(f))
        return (h @ self.fc2.weight[0]) + self.fc2.bias[0]


class TwinNetwork(nn.Module):
    """A shared embedding network and a pair head; ``forward(x1, x2)`` returns logits (N,)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        dims = 2 if config.input == "image" else 1
        self.embedding = Embedding(config.in_channels, dims, config.embedding_dim, config.width)
        head_cls = PaperHead if config.head == "paper" else SymmetricHead
        self.head = head_cls(config.embedding_dim)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Embeddings (N, embedding_dim) of a batch of inputs."""
        return self.embedding(x)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x1), self.embed(x2))

    def probability(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        """p(same class) for each pair (x1[k], x2[k])."""
        return torch.sigmoid(self.forward(x1, x2))


def build_model(config: ModelConfig | Mapping[str, Any]) -> TwinNetwork:
    """A freshly initialised twin network for ``config``."""
    if not isinstance(config, ModelConfig):
        config = ModelConfig.from_dict(config)
    return TwinNetwork(config)


def resolve_device(device: str | None) -> torch.device:
    """``None``/"auto": CUDA when available, else CPU. A clear error when CUDA is asked but absent."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {device!r}; use cpu, cuda (or cuda:N) or auto") from None
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"unsupported device {device!r}; use cpu, cuda (or cuda:N) or auto")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but no CUDA GPU is available to torch")
    return dev
