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
  the budget and returns a usable model with ``stopped == "time-budget"``.
* **Barely trained.** ``training_check`` scores the training pairs with the final model; its
  warnings (few of the planned steps, pair AUC near chance, nearly every pair called "same")
  are returned, stored in the model file and printed by ``corrclust twin``.

Model files are plain dicts of strings, numbers, lists and tensors, readable with
``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from corrclust.twin.checkpoint import (
    CheckpointClock,
    SigintFlag,
    atomic_save,
    check_resumable,
    rng_state_from_plain,
    rng_state_to_plain,
)
from corrclust.twin.data import (
    PairSampler,
    PKSampler,
    TwinData,
    all_pair_targets,
    paper_augment,
    strong_augment,
)
from corrclust.twin.lr_schedule import warmup_cosine_lr
from corrclust.twin.model import MODEL_FORMAT, ModelConfig, TwinNetwork, build_model, resolve_device
from corrclust.twin.recipes import Recipe, get_recipe

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


def _cpu_state(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu").clone() for k, v in state.items()}


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
            "state_dict": _cpu_state(model.state_dict()),
        },
        path,
    )
    return path


class _Run:
    """The mutable state of one training run."""

    def __init__(self, data: TwinData, recipe: Recipe, seed: int, device: torch.device) -> None:
        self.data = data
        self.recipe = recipe
        self.seed = int(seed)
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
        self.np_rng = np.random.default_rng(self.seed)
        self.aug_gen = torch.Generator().manual_seed(self.seed + 1)
        self.step = 0
        self.epoch_loss_sum = 0.0
        self.epoch_loss_count = 0
        self.history: list[float] = []
        self.elapsed = 0.0
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
            "model": _cpu_state(self.model.state_dict()),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "numpy_rng": rng_state_to_plain(self.np_rng.bit_generator.state),
            "torch_rng": self.aug_gen.get_state(),
            "step": self.step,
            "epoch_loss_sum": self.epoch_loss_sum,
            "epoch_loss_count": self.epoch_loss_count,
            "history": list(self.history),
            "elapsed": self.elapsed,
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
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        if self.scheduler is not None and ckpt["scheduler"] is not None:
            self.scheduler.load_state_dict(ckpt["scheduler"])
        self.np_rng.bit_generator.state = rng_state_from_plain(ckpt["numpy_rng"])
        self.aug_gen.set_state(ckpt["torch_rng"])
        self.step = int(ckpt["step"])
        self.epoch_loss_sum = float(ckpt["epoch_loss_sum"])
        self.epoch_loss_count = int(ckpt["epoch_loss_count"])
        self.history = [float(x) for x in ckpt["history"]]
        self.elapsed = float(ckpt["elapsed"])

    # -- one step --------------------------------------------------------------------------
    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        r = self.recipe
        if r.input != "image" or r.augmentation == "none":
            return x
        if r.augmentation == "paper":
            return paper_augment(x, r.aug_p, self.aug_gen)
        return strong_augment(x, self.aug_gen, small_rotation=r.small_rotation, gain=r.jitter_gain)

    def _set_cosine_lr(self, time_budget: float | None) -> None:
        r = self.recipe
        lr = warmup_cosine_lr(r.lr, self.step, r.total_steps, r.warmup_fraction, self.elapsed, time_budget)
        for g in self.optimizer.param_groups:
            g["lr"] = lr

    def train_step(self, time_budget: float | None) -> float:
        r = self.recipe
        self.model.train()
        if r.schedule == "cosine":
            self._set_cosine_lr(time_budget)
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


def train(
    data: TwinData,
    recipe: Recipe | str = "fast",
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
) -> TrainResult:
    """Train a twin network on ``data`` with ``recipe`` (a ``Recipe`` or a recipe name).

    Parameters
    ----------
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
    """
    if isinstance(recipe, str):
        recipe = get_recipe(recipe)
    recipe.validate()
    data.check_trainable()
    if time_budget is not None and not (time_budget > 0):
        raise ValueError(f"time budget must be positive, got {time_budget}")
    dev = resolve_device(device)
    ckpt_path = (
        Path(checkpoint)
        if checkpoint is not None
        else (Path(str(output) + ".ckpt") if output is not None else None)
    )
    previous_det = torch.are_deterministic_algorithms_enabled()
    previous_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        run = _Run(data, recipe, seed, dev)
        if resume and ckpt_path is not None and ckpt_path.exists():
            try:
                ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
            except Exception as exc:  # damaged or foreign file: torch raises several types
                raise ValueError(
                    f"checkpoint {ckpt_path} is unreadable ({type(exc).__name__}); delete it or use --restart"
                ) from None
            if not isinstance(ckpt, dict):
                raise ValueError(f"{ckpt_path} is not a corrclust twin checkpoint")
            run.load(ckpt, ckpt_path)
        stopped = _loop(run, time_budget, ckpt_path, progress, on_step, checkpoint_every)
    finally:
        torch.use_deterministic_algorithms(previous_det, warn_only=previous_warn)

    result = TrainResult(
        model=run.model,
        recipe=recipe,
        steps=run.step,
        epochs_completed=len(run.history),
        stopped=stopped,
        history=list(run.history),
        elapsed_s=run.elapsed,
        checkpoint_path=ckpt_path,
    )
    if stopped != "interrupted":
        check = training_check(run.model, data, run.step, recipe.total_steps, seed=run.seed)
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
        if stopped == "completed" and ckpt_path is not None and ckpt_path.exists() and output is not None:
            ckpt_path.unlink()
            result.checkpoint_path = None
    return result


# A model is "barely trained" below these marks (see ``training_check``).
MIN_STEP_FRACTION = 0.25  # steps done / steps the recipe plans
MIN_TRAIN_PAIR_AUC = 0.6  # 0.5 is chance
MAX_SAME_FRACTION = 0.9  # share of training pairs the model calls "same class" (p > 0.5)


@torch.no_grad()
def training_check(
    model: TwinNetwork,
    data: TwinData,
    steps: int,
    planned_steps: int,
    *,
    seed: int = 0,
    max_images: int = 400,
) -> dict[str, Any]:
    """How far training got, measured without any held-out data; and warnings when barely trained.

    The model scores all pairs of (up to ``max_images``, a seeded subsample of) its own training
    images, without augmentation. Returned: ``step_fraction``, ``train_pair_auc`` (same-class pairs
    against different-class pairs; 0.5 is chance), ``same_fraction`` (share of pairs with
    p > 0.5, which correlation clustering joins: near 1 gives one cluster) and ``warnings``, a list
    of one-line messages. The AUC is on training pairs, so a high value proves little; a value near
    0.5 proves the model has not learnt even those. Seen on a CPU: 12 of 2000 steps, every pair
    at p > 0.5, one cluster.
    """
    from scipy.stats import rankdata

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
    same = (lab[:, None] == lab[None, :])[iu]
    n_pos, n_neg = int(same.sum()), int((~same).sum())
    auc = float("nan")
    if n_pos and n_neg:
        ranks = rankdata(p)
        auc = float((ranks[same].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
    same_fraction = float((p > 0.5).mean()) if p.size else float("nan")
    fraction = steps / max(1, planned_steps)
    warnings = []
    if fraction < MIN_STEP_FRACTION:
        warnings.append(
            f"barely trained: {steps} of {planned_steps} planned steps ({100 * fraction:.0f}%); "
            "give a larger --time-budget (the run resumes) or use the cpu recipe"
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


def _loop(
    run: _Run,
    time_budget: float | None,
    ckpt_path: Path | None,
    progress: bool,
    on_step: Callable[[int, float], None] | None,
    checkpoint_every: float | None = None,
) -> str:
    from tqdm import tqdm

    r = run.recipe
    total = r.total_steps
    bar = tqdm(
        total=total,
        initial=min(run.step, total),
        desc=r.name,
        unit="step",
        disable=not progress,
        dynamic_ncols=True,
        leave=False,
    )
    stopped = "completed"
    step_times: list[float] = []
    clock = CheckpointClock(checkpoint_every, run.elapsed)

    def save() -> None:
        if ckpt_path is not None:
            t1 = time.perf_counter()
            atomic_save(run.state(), ckpt_path)
            run.elapsed += time.perf_counter() - t1  # the budget is wall time, saves included
            clock.saved(run.elapsed)

    with SigintFlag() as sigint:
        while run.step < total:
            if time_budget is not None:
                # a resumed run has no step times yet: use the earlier runs' mean, so the same
                # budget again makes no further step
                typical = float(np.median(step_times[-20:])) if step_times else run.elapsed / max(1, run.step)
                if run.elapsed + typical > time_budget or run.elapsed >= time_budget:
                    stopped = "time-budget"
                    break
            t0 = time.perf_counter()
            loss = run.train_step(time_budget)
            dt = time.perf_counter() - t0
            run.elapsed += dt
            step_times.append(dt)
            if run.step % r.steps_per_epoch == 0:
                mean = run.end_epoch()
                save()
                bar.set_postfix(
                    epoch=len(run.history),
                    loss=f"{mean:.4f}",
                    lr=f"{run.optimizer.param_groups[0]['lr']:.2g}",
                )
            elif clock.due(run.elapsed):
                save()
            if time_budget is not None and len(step_times) % 50 == 5:
                # the bar's end is where the budget stops the run, not the recipe's last step
                per_step = float(np.median(step_times[-50:]))
                reachable = run.step + int(max(0.0, time_budget - run.elapsed) / max(per_step, 1e-9))
                bar.total = min(total, max(reachable, run.step + 1))  # re-estimated every 50 steps
                bar.refresh()
            bar.update(1)
            if on_step is not None:
                on_step(run.step, loss)
            if sigint.requested:
                stopped = "interrupted"
                break
    bar.close()
    if stopped in ("interrupted", "time-budget") and ckpt_path is not None:
        save()
    return stopped
