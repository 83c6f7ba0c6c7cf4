"""Inference: one embedding per image, then the head on all pairs.

``pair_probabilities`` never runs the backbone on a pair: each image goes through the embedding
network once (batched, eval mode, no augmentation) and the head then scores all n^2 ordered pairs in
blocks of rows. The result ``P`` is the n x n matrix of p(same class) with P[i, j] = head(e_i, e_j)
(the paper's head is not symmetric, so P may differ from P.T; for the symmetric head of the
``fast`` recipe P is exactly symmetric) and **diagonal 1** (an
image is in its own class; the paper's files store 0 there; the diagonal never enters the costs).

Correlation-clustering costs come from ``corrclust.problem.Problem.from_probabilities`` with the
paper's convention: mean of the two directions, clamp to [1e-6, 1 - 1e-6], logit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from corrclust.twin.checkpoint import read_model_file
from corrclust.twin.data import TwinData, load_folder
from corrclust.twin.model import MODEL_FORMAT, ModelConfig, TwinNetwork, build_model, resolve_device
from corrclust.twin.recipes import Recipe

if TYPE_CHECKING:
    from corrclust.images.io import ReadOptions

__all__ = [
    "LoadedModel",
    "load_model",
    "embed",
    "pair_probabilities",
    "pair_list_probabilities",
    "predict",
    "Prediction",
    "to_problem",
    "cost_matrix",
]


@dataclass
class LoadedModel:
    """A trained twin network with what was stored beside it."""

    model: TwinNetwork
    recipe: Recipe
    classes: list[str]
    training: dict[str, Any]

    @property
    def config(self) -> ModelConfig:
        return self.model.config

    @property
    def warnings(self) -> list[str]:
        """The "barely trained" warnings stored with the model at training time (may be empty)."""
        return [str(w) for w in self.training.get("warnings", [])]


def load_model(path: str | Path, device: str | None = None) -> LoadedModel:
    """Read a model file written by ``corrclust twin train`` (``weights_only`` safe loading)."""
    blob = read_model_file(
        Path(path), kind=MODEL_FORMAT, description="corrclust twin model", show_reason=True
    )
    config = ModelConfig.from_dict(blob["model_config"])
    model = build_model(config)
    model.load_state_dict(blob["state_dict"])
    model.to(resolve_device(device)).eval()
    return LoadedModel(
        model=model,
        recipe=Recipe.from_dict(blob["recipe"]),
        classes=list(blob.get("classes", [])),
        training=dict(blob.get("training", {})),
    )


def _device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def embed(model: TwinNetwork, inputs: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """Embeddings (n, d) of ``inputs``, one backbone pass per image, in eval mode."""
    if batch_size < 1:
        raise ValueError(f"batch size must be positive, got {batch_size}")
    cfg = model.config
    if inputs.shape[1] != cfg.in_channels:
        raise ValueError(
            f"the model expects {cfg.in_channels}-channel inputs, the images have {inputs.shape[1]}"
        )
    if inputs.shape[-1] != cfg.input_size:
        raise ValueError(f"the model expects inputs of size {cfg.input_size}, got {tuple(inputs.shape[2:])}")
    was_training = model.training
    model.eval()
    dev = _device_of(model)
    out = [model.embed(inputs[s : s + batch_size].to(dev)) for s in range(0, inputs.shape[0], batch_size)]
    model.train(was_training)
    if not out:
        return torch.zeros((0, cfg.embedding_dim))
    return torch.cat(out)


@torch.no_grad()
def pair_probabilities(
    model: TwinNetwork, embeddings: torch.Tensor, rows_per_block: int | None = None
) -> np.ndarray:
    """The n x n matrix of p(same class) from precomputed embeddings; float32, diagonal 1."""
    n = embeddings.shape[0]
    P = np.empty((n, n), dtype=np.float32)
    if n == 0:
        return P
    dev = _device_of(model)
    e = embeddings.to(dev)
    if rows_per_block is None:
        # keep each block's hidden layer (rows x n x 128 floats) around 64 MB
        rows_per_block = max(1, int(2**24 // max(1, n * 128)))
    head = model.head
    for s in range(0, n, rows_per_block):
        logits = head.pairwise(e[s : s + rows_per_block], e)
        P[s : s + rows_per_block] = torch.sigmoid(logits).float().cpu().numpy()
    if getattr(head, "symmetric", False):
        # the head is order-invariant; a batched matmul may still round (i, j) and (j, i) apart
        iu = np.triu_indices(n, k=1)
        P.T[iu] = P[iu]
    np.fill_diagonal(P, 1.0)
    return P


@torch.no_grad()
def pair_list_probabilities(
    model: TwinNetwork, embeddings: torch.Tensor, uv: np.ndarray, batch_size: int = 65536
) -> np.ndarray:
    """p(same class) of the pairs ``uv`` (m, 2) only (the sparse path), float32 ``(m,)``.

    The head runs on both orders and the probabilities are averaged (the mean symmetrisation of
    :func:`to_problem`); a symmetric head gives both orders alike. Memory is one batch of pairs.
    """
    uv = np.asarray(uv, dtype=np.int64).reshape(-1, 2)
    out = np.empty(uv.shape[0], dtype=np.float32)
    dev = _device_of(model)
    e = embeddings.to(dev)
    for s in range(0, uv.shape[0], batch_size):
        a = torch.as_tensor(uv[s : s + batch_size, 0], device=dev)
        b = torch.as_tensor(uv[s : s + batch_size, 1], device=dev)
        p = torch.sigmoid(model.head(e[a], e[b]))
        if not getattr(model.head, "symmetric", False):
            p = 0.5 * (p + torch.sigmoid(model.head(e[b], e[a])))
        out[s : s + batch_size] = p.float().cpu().numpy()
    return out


@dataclass
class Prediction:
    """Output of ``predict``: ids, the probability matrix, labels where known, embeddings."""

    ids: list[str]
    P: np.ndarray
    embeddings: np.ndarray
    labels: list[str] | None = None

    def problem(self) -> Any:
        """The correlation-clustering problem (mean symmetrisation, logit costs)."""
        return to_problem(self.P)


def to_problem(P: np.ndarray) -> Any:
    """``Problem.from_probabilities(P, bias=0, symmetrize="mean")``: the one place for this mapping."""
    from corrclust.problem import Problem

    return Problem.from_probabilities(P, bias=0.0, symmetrize="mean")


def cost_matrix(P: np.ndarray) -> np.ndarray:
    """The dense (n, n) float64 cost matrix of ``to_problem(P)`` (positive = attractive)."""
    return np.array(to_problem(P).to_dense(), dtype=np.float64, copy=True)


def predict(
    model: LoadedModel | TwinNetwork | str | Path,
    images: TwinData | str | Path,
    *,
    batch_size: int = 64,
    device: str | None = None,
    progress: bool = False,
    read: ReadOptions | None = None,
) -> Prediction:
    """Probabilities for all pairs of ``images`` (a folder, read with ``read``, or ``TwinData``) under ``model``."""
    if isinstance(model, (str, Path)):
        model = load_model(model, device=device)
    net = model.model if isinstance(model, LoadedModel) else model
    if device is not None:
        net.to(resolve_device(device))
    cfg = net.config
    if not isinstance(images, TwinData):
        images = load_folder(
            images,
            input_kind=cfg.input,
            image_size=cfg.input_size,
            require_labels=False,
            progress=progress,
            read=read,
        )
    if images.in_channels != cfg.in_channels:
        raise ValueError(
            f"the model was trained on {cfg.in_channels}-channel images, these have {images.in_channels}"
        )
    e = embed(net, images.inputs, batch_size=batch_size)
    P = pair_probabilities(net, e)
    labels = None
    if len(images) and (images.labels >= 0).all() and images.classes:
        labels = [images.classes[k] for k in images.labels]
    return Prediction(ids=list(images.ids), P=P, embeddings=e.cpu().numpy(), labels=labels)
