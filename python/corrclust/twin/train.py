"""Training of twin networks, with checkpoints, resume, a time budget and seeded determinism.

``train(data, recipe, ...)`` runs the recipe's steps on in-memory ``TwinData``:

* **Determinism.** ``torch.manual_seed(seed)`` initialises the weights, a ``numpy`` Generator seeded
  with ``seed`` draws the pairs/batches and a ``torch.Generator`` seeded with ``seed + 1`` draws the
  augmentation; deterministic algorithms are switched on for the run (``warn_only``). On the CPU the
  same seed gives bit-identical weights.
* **Checkpoints.** After every epoch, every ``checkpoint_every`` seconds of training (default 120)
  and when stopped, the complete state goes to ``checkpoint`` atomically (temporary file, then
  rename): weights, optimiser, scheduler, both random states, the step counter and the running
  epoch loss. A run started again with the same checkpoint continues exactly where the saved one
  stopped: the resumed weights equal the uninterrupted ones. The checkpoint is removed when the
  recipe's steps are all done, and kept after a time-budget stop (a larger budget continues).
* **Interruption.** Ctrl-C (SIGINT) during training finishes the current step, saves the checkpoint
  and returns with ``stopped == "interrupted"``; a second Ctrl-C aborts at once.
* **Time budget.** ``time_budget`` seconds of training, checkpoint writes included (summed over
  resumed runs; reading the data is not counted): the run stops before a step that would overrun
  the budget and returns a usable model with ``stopped == "time-budget"``. Time for the closing
  check (``training_check``) is kept inside the budget.
* **Barely trained.** ``training_check`` scores the training pairs with the final model; its
  warnings (few of the planned steps, pair AUC near chance, nearly every pair called "same")
  are returned, stored in the model file and printed by ``corrclust twin``.

Model files are plain dicts of strings, numbers, lists and tensors, readable with
``torch.load(..., weights_only=True)``. The loop itself (budget, checkpoints, resume, Ctrl-C) is
``corrclust.twin.training_loop``, shared with the self-supervised trainer (``corrclust.ssl.train``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from corrclust.twin.checkpoint import (
    atomic_save,
    check_resumable,
    cpu_state,
)
from corrclust.twin.data import (
    PairSampler,
    PKSampler,
    TwinData,
    all_pair_targets,
    paper_augment,
    strong_augment,
)
from corrclust.twin.model import MODEL_FORMAT, ModelConfig, TwinNetwork, build_model, resolve_device
from corrclust.twin.recipes import Recipe, budget_hint, default_recipe, get_recipe
from corrclust.twin.training_loop import LoopSettings, TrainingRun, run_training

__all__ = [
    "train",
    "TrainResult",
    "training_check",
    "save_model",
    "resolve_device",
    "MODEL_FORMAT",
    "CHECKPOINT_FORMAT",
]

CHECKPOINT_FORMAT = "corrclust-twin-checkpoint"
FORMAT_VERSION = 1


@dataclass
class TrainResult:
    """What ``train`` returns. ``stopped`` is "completed", "time-budget" or "interrupted"."""

    model: TwinNetwork
    recipe: Recipe
    steps: int
    epochs_completed: int
    stopped: str
    history: list[float] = field(default_factory=list)  # mean training loss per completed epoch
    elapsed_s: float = 0.0
    model_path: Path | None = None
    checkpoint_path: Path | None = None
    warnings: list[str] = field(default_factory=list)  # "barely trained" messages (``training_check``)
    check: dict[str, Any] = field(default_factory=dict)  # the figures behind them


def save_model(
    path: str | Path,
    model: TwinNetwork,
    recipe: Recipe,
    classes: list[str] | None = None,
    training: Mapping[str, Any] | None = None,
) -> Path:
    """Write a model file (atomically): format tag, recipe, model config, state dict, training log."""
    path = Path(path)
    atomic_save(
        {
            "format": MODEL_FORMAT,
            "version": FORMAT_VERSION,
            "recipe": recipe.to_dict(),
            "model_config": model.config.to_dict(),
            "classes": list(classes or []),
            "training": dict(training or {}),
            "state_dict": cpu_state(model.state_dict()),
        },
        path,
    )
    return path


class _Run(TrainingRun):
    """The mutable state of one training run."""

    model: TwinNetwork

    def __init__(self, data: TwinData, recipe: Recipe, seed: int, device: torch.device) -> None:
        super().__init__(seed)
        self.data = data
        self.recipe = recipe
        self.device = device
        size = recipe.image_size if recipe.input == "image" else int(data.inputs.shape[-1])
        if recipe.input == "image" and tuple(data.inputs.shape[-2:]) != (size, size):
            raise ValueError(
                f"the data were prepared at {tuple(data.inputs.shape[-2:])}, the recipe wants {size} x {size}"
            )
        self.config = ModelConfig(
            input=recipe.input,
            in_channels=data.in_channels,
            input_size=size,
            head=recipe.head,
            width=recipe.width,
        )
        torch.manual_seed(self.seed)
        self.model = build_model(self.config).to(device)
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay
        )
        self.scheduler = None
        if recipe.schedule == "plateau":
            self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.optimizer, mode="min", factor=recipe.plateau_factor, patience=recipe.plateau_patience
            )
        self.epoch_loss_sum = 0.0
        self.epoch_loss_count = 0
        self.history: list[float] = []
        self.inputs = data.inputs.to(device)
        self.labels = torch.from_numpy(data.labels).to(device)
        if recipe.sampler == "pairs":
            self.sampler: PairSampler | PKSampler = PairSampler(data.labels, recipe.batch_size)
        else:
            self.sampler = PKSampler(data.labels, recipe.classes_per_batch, recipe.images_per_class)

    # -- checkpoint ------------------------------------------------------------------------
    def fingerprint(self) -> dict[str, Any]:
        return {
            "ids": list(self.data.ids),
            "labels": self.data.labels.tolist(),
            "classes": list(self.data.classes),
        }

    def state(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "version": FORMAT_VERSION,
            "recipe": self.recipe.to_dict(),
            "model_config": self.config.to_dict(),
            "seed": self.seed,
            "data": self.fingerprint(),
            **self.training_state(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "epoch_loss_sum": self.epoch_loss_sum,
            "epoch_loss_count": self.epoch_loss_count,
            "history": list(self.history),
        }

    def load(self, ckpt: Mapping[str, Any], path: Path) -> None:
        check_resumable(
            ckpt,
            path,
            kind=CHECKPOINT_FORMAT,
            description="corrclust twin checkpoint",
            settings_key="recipe",
            settings=self.recipe.to_dict(),
            length_key="epochs",
            seed=self.seed,
            fingerprint=self.fingerprint(),
        )
        self.load_training_state(ckpt)
        if self.scheduler is not None and ckpt["scheduler"] is not None:
            self.scheduler.load_state_dict(ckpt["scheduler"])
        self.epoch_loss_sum = float(ckpt["epoch_loss_sum"])
        self.epoch_loss_count = int(ckpt["epoch_loss_count"])
        self.history = [float(x) for x in ckpt["history"]]

    # -- one step --------------------------------------------------------------------------
    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        r = self.recipe
        if r.input != "image" or r.augmentation == "none":
            return x
        if r.augmentation == "paper":
            return paper_augment(x, r.aug_p, self.aug_gen)
        return strong_augment(x, self.aug_gen, small_rotation=r.small_rotation, gain=r.jitter_gain)

    def train_step(self, time_budget: float | None) -> float:
        r = self.recipe
        self.model.train()
        if r.schedule == "cosine":
            self.set_warmup_cosine_lr(r.lr, r.total_steps, r.warmup_fraction, time_budget)
        if isinstance(self.sampler, PairSampler):
            i, j, t = self.sampler.sample(self.np_rng)
            x1 = self._augment(self.inputs[torch.from_numpy(i).to(self.device)])
            x2 = self._augment(self.inputs[torch.from_numpy(j).to(self.device)])
            logits = self.model(x1, x2)
            loss = F.binary_cross_entropy_with_logits(logits, torch.from_numpy(t).to(self.device))
        else:
            idx = torch.from_numpy(self.sampler.sample(self.np_rng)).to(self.device)
            e = self.model.embed(self._augment(self.inputs[idx]))
            rows, cols, target, w = all_pair_targets(self.labels[idx])
            logits = self.model.head(e[rows], e[cols])
            loss = (w * F.binary_cross_entropy_with_logits(logits, target, reduction="none")).sum()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        value = float(loss.detach())
        if not math.isfinite(value):
            raise FloatingPointError(f"the training loss became {value} at step {self.step + 1}")
        self.step += 1
        self.epoch_loss_sum += value
        self.epoch_loss_count += 1
        return value

    def end_epoch(self) -> float:
        mean = self.epoch_loss_sum / max(1, self.epoch_loss_count)
        self.history.append(mean)
        if self.scheduler is not None:
            self.scheduler.step(mean)
        self.epoch_loss_sum = 0.0
        self.epoch_loss_count = 0
        return mean

    def after_step(self, bar: Any) -> bool:
        """At the end of an epoch: its mean loss, the scheduler's step, and a checkpoint."""
        if self.step % self.recipe.steps_per_epoch != 0:
            return False
        mean = self.end_epoch()
        bar.set_postfix(
            epoch=len(self.history),
            loss=f"{mean:.4f}",
            lr=f"{self.optimizer.param_groups[0]['lr']:.2g}",
        )
        return True


def train(
    data: TwinData,
    recipe: Recipe | str | None = None,
    *,
    seed: int = 0,
    output: str | Path | None = None,
    checkpoint: str | Path | None = None,
    resume: bool = True,
    time_budget: float | None = None,
    device: str | None = None,
    progress: bool = True,
    on_step: Callable[[int, float], None] | None = None,
    checkpoint_every: float | None = None,
    longer_hint: str | None = None,
) -> TrainResult:
    """Train a twin network on ``data`` with ``recipe`` (a ``Recipe`` or a recipe name).

    Parameters
    ----------
    data
        Labelled training images (``load_folder(..., require_labels=True)``): at least two classes.
    recipe
        A ``Recipe`` or one of ``RECIPES``' names. Default: what ``corrclust twin train`` picks,
        ``default_recipe`` of the device: ``fast`` on a GPU, ``cpu`` on a CPU (``fast`` on a CPU
        ran 12 of its 2000 steps in a minute; the default was ``fast`` everywhere before).
    seed
        Seeds the weights, the batches and the augmentations: the same seed gives the same model.
    device
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``None``/``"auto"`` (CUDA when available).
    progress
        Show a progress bar on stderr.
    resume
        Continue an existing checkpoint (see ``checkpoint``); ``False`` starts over.
    output
        The model file, written at the end (not when interrupted).
    checkpoint
        The checkpoint file (default ``<output>.ckpt`` when ``output`` is given); with ``resume``
        an existing checkpoint is continued, otherwise it is overwritten. It is removed once the
        recipe's steps are all done; after a time-budget stop it is kept, so the same command
        with a larger budget continues the run.
    time_budget
        Seconds of training, in total over resumed runs.
    checkpoint_every
        Seconds of training between checkpoints (besides the one after every epoch); default
        120, 0 turns them off.
    on_step
        Called as ``on_step(step, loss)`` after every step (used by tests and tools).
    longer_hint
        What the "barely trained" warning tells the user to do; default :func:`budget_hint` of the
        recipe (a caller with other options than ``twin train``'s, such as ``corrclust demo``, names
        its own).
    """
    dev = resolve_device(device)
    if recipe is None:
        recipe = default_recipe(dev.type)
    if isinstance(recipe, str):
        recipe = get_recipe(recipe)
    recipe.validate()
    data.check_trainable()
    if longer_hint is None:
        longer_hint = budget_hint(recipe.name)
    # the closing check embeds up to CHECK_IMAGES training images; an image's forward pass is taken
    # to cost what its share of a training step does (measured: 0.021 s against 0.027 s, cpu recipe)
    per_step = (
        min(recipe.classes_per_batch, max(1, len(set(np.asarray(data.labels).tolist()))))
        * recipe.images_per_class
        if recipe.sampler == "pk"
        else 2 * recipe.batch_size
    )
    closing = min(len(data), CHECK_IMAGES) / max(1, per_step)
    loop = LoopSettings(output, checkpoint, resume, time_budget, checkpoint_every, progress, on_step, closing)
    run, stopped = run_training(lambda: _Run(data, recipe, seed, dev), recipe.total_steps, recipe.name, loop)

    result = TrainResult(
        model=run.model,
        recipe=recipe,
        steps=run.step,
        epochs_completed=len(run.history),
        stopped=stopped,
        history=list(run.history),
        elapsed_s=run.elapsed,
        checkpoint_path=loop.checkpoint_file,
    )
    if stopped != "interrupted":
        check = training_check(
            run.model, data, run.step, recipe.total_steps, seed=run.seed, longer_hint=longer_hint
        )
        result.warnings = check.pop("warnings")
        result.check = check
        if output is not None:
            result.model_path = save_model(
                output,
                run.model,
                recipe,
                classes=data.classes,
                training={
                    "seed": run.seed,
                    "steps": run.step,
                    "planned_steps": recipe.total_steps,
                    "epochs_completed": len(run.history),
                    "stopped": stopped,
                    "history": list(run.history),
                    "elapsed_s": run.elapsed,
                    "device": str(dev),
                    "n_images": len(data),
                    "check": dict(check),
                    "warnings": list(result.warnings),
                },
            )
            result.checkpoint_path = loop.drop_finished_checkpoint(stopped)
    return result


# A model is "barely trained" below these marks (see ``training_check``).
MIN_STEP_FRACTION = 0.25  # steps done / steps the recipe plans
MIN_TRAIN_PAIR_AUC = 0.6  # 0.5 is chance
MAX_SAME_FRACTION = 0.9  # share of training pairs the model calls "same class" (p > 0.5)
CHECK_IMAGES = 400  # training images the check scores, a seeded subsample above this


@torch.no_grad()
def training_check(
    model: TwinNetwork,
    data: TwinData,
    steps: int,
    planned_steps: int,
    *,
    seed: int = 0,
    max_images: int = CHECK_IMAGES,
    longer_hint: str | None = None,
) -> dict[str, Any]:
    """How far training got, measured without any held-out data; and warnings when barely trained.

    The model scores all pairs of (up to ``max_images``, a seeded subsample of) its own training
    images, without augmentation. Returned: ``step_fraction``, ``train_pair_auc`` (same-class pairs
    against different-class pairs; 0.5 is chance), ``same_fraction`` (share of pairs with
    p > 0.5, which correlation clustering joins: near 1 gives one cluster) and ``warnings``, a list
    of one-line messages. The AUC is on training pairs, so a high value proves little; a value near
    0.5 proves the model has not learnt even those. Seen on a CPU: 12 of 2000 steps, every pair
    at p > 0.5, one cluster. ``longer_hint``: the warning's advice (default: :func:`budget_hint` of a
    recipe other than cpu, which the caller did not name).
    """
    from corrclust.metrics import pairwise_auc

    if longer_hint is None:
        longer_hint = budget_hint("")

    from corrclust.twin.predict import embed, pair_probabilities

    n = len(data)
    idx = np.arange(n)
    if n > max_images:
        idx = np.sort(np.random.default_rng(seed).choice(n, size=max_images, replace=False))
    was_training = model.training
    e = embed(model, data.inputs[torch.from_numpy(idx)])
    P = pair_probabilities(model, e)
    model.train(was_training)
    lab = np.asarray(data.labels)[idx]
    iu = np.triu_indices(idx.size, 1)
    p = ((P.astype(np.float64) + P.T) / 2)[iu]
    auc = pairwise_auc(P, lab, symmetrize="mean")  # NaN when one kind of pair is missing
    same_fraction = float((p > 0.5).mean()) if p.size else float("nan")
    fraction = steps / max(1, planned_steps)
    warnings = []
    if fraction < MIN_STEP_FRACTION:
        warnings.append(
            f"barely trained: {steps} of {planned_steps} planned steps ({100 * fraction:.0f}%); {longer_hint}"
        )
    if auc == auc and auc < MIN_TRAIN_PAIR_AUC:
        warnings.append(
            f"barely trained: it tells same-class from different-class pairs of its own training images "
            f"only near chance (pair AUC {auc:.2f}; 0.5 is chance)"
        )
    if same_fraction == same_fraction and same_fraction > MAX_SAME_FRACTION:
        warnings.append(
            f"it calls {100 * same_fraction:.0f}% of its training pairs 'same class' (p > 0.5); "
            "clustering with it will likely put nearly everything in one cluster"
        )
    return {
        "step_fraction": float(fraction),
        "train_pair_auc": auc,
        "same_fraction": same_fraction,
        "check_images": int(idx.size),
        "warnings": warnings,
    }
