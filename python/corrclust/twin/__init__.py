"""Twin networks (PyTorch): the paper's TNI, TNIa and TNH, and the faster ``fast`` recipe.

This sub-package is the only part of corrclust that imports torch (``pip install corrclust[torch]``).

* ``corrclust.twin.resnet``: ResNet-18, 2-D (images) and 1-D (histograms).
* ``corrclust.twin.model``: embedding network and pair heads (the paper's and a symmetric one).
* ``corrclust.twin.data``: preprocessing, datasets, pair sampling, augmentation.
* ``corrclust.twin.recipes``: named training configurations (paper-tni, paper-tnia, paper-tnh, fast, cpu).
* ``corrclust.twin.train``: training with checkpoints, resume, time budget, seeded determinism.
* ``corrclust.twin.training_loop``, ``corrclust.twin.checkpoint``, ``corrclust.twin.lr_schedule``: the
  training loop, checkpoint files and learning-rate schedule that ``corrclust.ssl`` shares.
* ``corrclust.twin.predict``: embeddings once per image, then all pairs; probabilities and costs.
"""

from __future__ import annotations

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "corrclust.twin needs PyTorch: install corrclust[torch] (pip install 'corrclust[torch]')"
    ) from exc

from corrclust.twin.data import TwinData, from_arrays, load_folder
from corrclust.twin.model import ModelConfig, TwinNetwork, build_model
from corrclust.twin.predict import (
    LoadedModel,
    Prediction,
    cost_matrix,
    load_model,
    pair_probabilities,
    predict,
    to_problem,
)
from corrclust.twin.recipes import RECIPES, Recipe, default_recipe, get_recipe
from corrclust.twin.train import TrainResult, save_model, train

__all__ = [
    "TwinData",
    "from_arrays",
    "load_folder",
    "ModelConfig",
    "TwinNetwork",
    "build_model",
    "LoadedModel",
    "Prediction",
    "load_model",
    "pair_probabilities",
    "predict",
    "to_problem",
    "cost_matrix",
    "RECIPES",
    "Recipe",
    "get_recipe",
    "default_recipe",
    "TrainResult",
    "save_model",
    "train",
]
