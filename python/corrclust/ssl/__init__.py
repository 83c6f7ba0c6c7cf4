"""Self-supervised embeddings of unlabelled crops (PyTorch; ``pip install 'corrclust[torch]'``).

Together with ``corrclust.twin`` the only part of corrclust that imports torch.

* ``corrclust.ssl.augment``: microscopy-safe augmentations (no channel mixing).
* ``corrclust.ssl.model``: the embedding network, NT-Xent (SimCLR) and BYOL objectives.
* ``corrclust.ssl.train``: training with a time budget, time-based checkpoints and resume, seeded.
* ``corrclust.ssl.embed``: embeddings of a folder, and their costs by the label-free rule.
"""

from __future__ import annotations

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "corrclust.ssl needs PyTorch: install corrclust[torch] (pip install 'corrclust[torch]')"
    ) from exc

from corrclust.ssl.augment import Augmentation, augment
from corrclust.ssl.embed import (
    FolderEmbedding,
    embed,
    embed_arrays,
    embed_folder,
    embed_records,
    embedding_costs,
)
from corrclust.ssl.model import SSLConfig, SSLNet
from corrclust.ssl.train import SSLResult, load_model, save_model, train

__all__ = [
    "Augmentation",
    "augment",
    "FolderEmbedding",
    "embed",
    "embed_arrays",
    "embed_folder",
    "embed_records",
    "embedding_costs",
    "SSLConfig",
    "SSLNet",
    "SSLResult",
    "load_model",
    "save_model",
    "train",
]
