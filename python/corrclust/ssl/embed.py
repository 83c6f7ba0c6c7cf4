"""Embeddings of crops with a trained self-supervised network, and the folder-level entry point.

``embed(model, inputs)`` runs each crop through the backbone once per element of the dihedral group
(4 rotations x 2 flips, exact, no interpolation), averages the 8 feature vectors and scales the
mean to unit length. The average makes the embedding invariant to the orientation of the object
by construction, whatever the network learnt.

``embed_folder(folder, ...)`` reads a folder (``corrclust.twin.load_folder``: 8/16-bit TIFF, PNG,
JPEG, 1 to 3 channels, square-padded and resized to the network's input), trains a network on
those very crops (or loads ``model``), and returns ids, the n x d embedding and the training result.

``embedding_costs`` turns embeddings into correlation-clustering costs by the package's one
label-free rule, ``corrclust.feature_costs.costs_from_features`` (the morphology profiles' rule):
local scaling (Zelnik-Manor & Perona 2004) on Euclidean distances of the unit-length embeddings,
s_ij = d_ij^2 / (sigma_i sigma_j) with sigma_i the distance to the 7th nearest neighbour, cost
log-odds of exp(-s_ij) plus the rule's offset 1, clipped to +-20 (positive = join).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from corrclust.feature_costs import K_NEIGHBOURS, costs_from_features
from corrclust.ssl.model import SSLConfig, SSLNet
from corrclust.ssl.train import SSLResult, load_model, train

if TYPE_CHECKING:
    from corrclust.images.io import ImageRecord, ReadOptions

__all__ = ["embed", "embed_arrays", "embed_folder", "embed_records", "FolderEmbedding", "embedding_costs"]


@torch.no_grad()
def embed(model: SSLNet, inputs: torch.Tensor, *, batch_size: int = 256, dihedral: bool = True) -> np.ndarray:
    """Unit-length embeddings (n, d) of crops (n, C, S, S) in [0, 1]; float32."""
    was_training = model.training
    model.eval()
    out = []
    for s in range(0, inputs.shape[0], batch_size):
        x = inputs[s : s + batch_size].float()
        views = [x]
        if dihedral:
            views = [torch.rot90(v, k, dims=(-2, -1)) for v in (x, x.flip(-1)) for k in range(4)]
        f = torch.stack([model.features(v) for v in views]).mean(0)
        out.append(torch.nn.functional.normalize(f, dim=1))
    model.train(was_training)
    if not out:
        return np.zeros((0, model.embedding_dim), dtype=np.float32)
    return torch.cat(out).numpy().astype(np.float32)


@dataclass
class FolderEmbedding:
    ids: list[str]
    features: np.ndarray  # (n, d), unit rows
    paths: list[str]
    training: dict[str, Any]  # steps, elapsed, stopped, warnings (empty dict for a loaded model)
    warnings: list[str]


def embed_folder(
    folder: str | Path,
    *,
    model: str | Path | None = None,
    output: str | Path | None = None,
    config: SSLConfig | None = None,
    time_budget: float | None = 300.0,
    seed: int = 0,
    checkpoint_every: float | None = None,
    resume: bool = True,
    progress: bool = False,
) -> FolderEmbedding:
    """Embeddings of every crop in ``folder``: with ``model`` (a file from a previous run) as it is,
    otherwise after training a network on these crops (saved to ``output`` when given; a checkpoint
    ``output.ckpt`` lets a rerun continue)."""
    from corrclust.twin.data import load_folder

    if model is not None:
        net, training = load_model(model)
        size = net.config.image_size
        data = load_folder(folder, image_size=size, require_labels=False, progress=progress)
        _check_channels(model, net, data.in_channels)
        warnings = [str(w) for w in training.get("warnings", [])]
    else:
        config = config or SSLConfig()
        data = load_folder(folder, image_size=config.image_size, require_labels=False, progress=progress)
        res: SSLResult = train(
            data.inputs,
            data.ids,
            config,
            seed=seed,
            output=output,
            resume=resume,
            time_budget=time_budget,
            checkpoint_every=checkpoint_every,
            progress=progress,
        )
        net = res.model
        warnings = list(res.warnings)
        training = {
            "steps": res.steps,
            "stopped": res.stopped,
            "elapsed_s": res.elapsed_s,
            "loss_first": float(np.mean(res.losses[:10])) if res.losses else float("nan"),
            "loss_last": float(np.mean(res.losses[-10:])) if res.losses else float("nan"),
        }
    return FolderEmbedding(
        ids=list(data.ids),
        features=embed(net, data.inputs),
        paths=list(data.paths),
        training=training,
        warnings=warnings,
    )


def embed_arrays(
    net: SSLNet,
    arrays: Sequence[np.ndarray],
    *,
    ids: Sequence[str] | None = None,
    paths: Sequence[str] | None = None,
    model: str | Path = "the network",
) -> np.ndarray:
    """Embeddings (n, d), unit rows, of images already in memory (as ``read_record(...).pixels``
    gives them) by ``net``, prepared as for training (square padding, resize to the network's input
    side). ``model`` names the network in the one-line error for a channel count it was not trained on."""
    from corrclust.twin.data import from_arrays

    data = from_arrays(arrays, None, ids, "image", net.config.image_size, paths)
    _check_channels(model, net, data.in_channels)
    return embed(net, data.inputs)


def embed_records(
    model: str | Path,
    records: Sequence[ImageRecord],
    read: ReadOptions | None = None,
    *,
    pixels: Sequence[np.ndarray] | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Embeddings (n, d), unit rows, of image records (``corrclust.images.io``) by a model file of
    ``corrclust ssl train``, and the model's training record (steps, warnings, ...). ``pixels``: the
    records' images when the caller has read them already (with the same ``read``), so no file is
    read twice; otherwise they are read here."""
    from corrclust.images.io import read_record

    net, training = load_model(model)
    if pixels is None:
        pixels = [read_record(r, read).pixels for r in records]
    ids = [str(r.id) for r in records]
    E = embed_arrays(net, pixels, ids=ids, paths=[str(r.path) for r in records], model=model)
    return E, training


def _check_channels(model: str | Path, net: SSLNet, channels: int) -> None:
    """One line when the crops have another number of channels than the model was trained on."""
    if channels != net.in_channels:
        raise ValueError(
            f"the model {model} was trained on {net.in_channels}-channel crops, these have {channels}"
        )


def embedding_costs(
    features: np.ndarray, *, k: int = K_NEIGHBOURS, granularity: float = 0.0
) -> tuple[np.ndarray, dict[str, Any]]:
    """Correlation-clustering costs of embeddings (n x n, float64, diagonal 0, positive = join) and the
    rule's diagnostics: :func:`corrclust.feature_costs.costs_from_features` on the rows scaled to unit
    length (``embed`` already returns them so; other embeddings are scaled here)."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"embeddings must be an (n, d) matrix, got shape {x.shape}")
    if x.shape[0] < 2:
        return np.zeros((x.shape[0], x.shape[0])), {"rule": "local-scaling", "k": 0}
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return costs_from_features(x, k=k, granularity=granularity)
