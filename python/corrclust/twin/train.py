"""Training of twin networks, with checkpoints, resume, a time budget and seeded determinism.

``train(data, recipe, ...)`` runs the recipe's steps on in-memory ``TwinData``:

* **Determinism.** ``torch.manual_seed(seed)`` initialises the weights, a ``numpy`` Generator seeded
  with ``seed`` draws the pairs/batches and a ``torch.Generator`` seeded with ``seed + 1`` draws the
  augmentation; deterministic algorithms are switched on for the run (``warn_only``). On the CPU the
  same seed gives bit-identical weights.
* **Checkpoints.** After every epoch (and when stopped) the complete state goes to
  ``checkpoint`` atomically (temporary file, then rename): weights, optimiser, scheduler, both random
  states, the step counter and the running epoch loss. A run started again with the same checkpoint
  continues exactly where the saved one stopped: the resumed weights equal the uninterrupted ones.
* **Interruption.** Ctrl-C (SIGINT) during training finishes the current step, saves the checkpoint
  and returns with ``stopped == "interrupted"``; a second Ctrl-C aborts at once.
* **Time budget.** ``time_budget`` seconds of training, checkpoint writes included (summed over
  resumed runs; reading the data is not counted): the run stops before a step that would overrun
  the budget and returns a usable model with ``stopped == "time-budget"``.

Model files are plain dicts of strings, numbers, lists and tensors, readable with
``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from corrclust.atomic import atomic_path
from corrclust.twin.data import (
    PairSampler,
    PKSampler,
    TwinData,
    all_pair_targets,
    paper_augment,
    strong_augment,
)
from corrclust.twin.model import ModelConfig, TwinNetwork, build_model
from corrclust.twin.recipes import Recipe, get_recipe

__all__ = ["train", "TrainResult", "save_model", "resolve_device", "MODEL_FORMAT", "CHECKPOINT_FORMAT"]

MODEL_FORMAT = "corrclust-twin-model"
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


def _atomic_save(obj: Any, path: Path) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        torch.save(obj, fh)


def _cpu_state(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu").clone() for k, v in state.items()}


def _rng_state_to_plain(state: Mapping[str, Any]) -> dict[str, Any]:
    """numpy bit-generator state with its 128-bit integers as strings (safe for weights_only)."""

    def conv(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, int) and not isinstance(v, bool):
            return str(v)
        return v

    return conv(dict(state))


def _rng_state_from_plain(state: Mapping[str, Any]) -> dict[str, Any]:
    def conv(k: str, v: Any) -> Any:
        if isinstance(v, dict):
            return {kk: conv(kk, x) for kk, x in v.items()}
        if isinstance(v, str) and k != "bit_generator":
            return int(v)
        return v

    return {k: conv(k, v) for k, v in state.items()}


def save_model(
    path: str | Path,
    model: TwinNetwork,
    recipe: Recipe,
    classes: list[str] | None = None,
    training: Mapping[str, Any] | None = None,
) -> Path:
    """Write a model file (atomically): format tag, recipe, model config, state dict, training log."""
    path = Path(path)
    _atomic_save(
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


class _SigintFlag:
    """Within the block, the first SIGINT sets ``requested`` (the step finishes and a checkpoint is
    written); a second one raises KeyboardInterrupt as usual. No-op outside the main thread."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def _handler(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> _SigintFlag:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
            self._installed = True
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)


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
        return {"ids": list(self.data.ids), "labels": self.data.labels.tolist(), "classes": list(self.data.classes)}

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
            "numpy_rng": _rng_state_to_plain(self.np_rng.bit_generator.state),
            "torch_rng": self.aug_gen.get_state(),
            "step": self.step,
            "epoch_loss_sum": self.epoch_loss_sum,
            "epoch_loss_count": self.epoch_loss_count,
            "history": list(self.history),
            "elapsed": self.elapsed,
        }

    def load(self, ckpt: Mapping[str, Any], path: Path) -> None:
        if ckpt.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{path} is not a corrclust twin checkpoint")
        mine = {k: v for k, v in self.recipe.to_dict().items() if k != "epochs"}
        theirs = {k: v for k, v in dict(ckpt["recipe"]).items() if k != "epochs"}
        if mine != theirs:
            diff = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
            raise ValueError(
                f"checkpoint {path} was made with other training settings ({', '.join(diff)}); "
                "delete it or start again with --restart"
            )
        if int(ckpt["seed"]) != self.seed:
            raise ValueError(f"checkpoint {path} was made with seed {ckpt['seed']}, not {self.seed}")
        if dict(ckpt["data"]) != self.fingerprint():
            raise ValueError(f"checkpoint {path} was made on other images; delete it or use --restart")
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        if self.scheduler is not None and ckpt["scheduler"] is not None:
            self.scheduler.load_state_dict(ckpt["scheduler"])
        self.np_rng.bit_generator.state = _rng_state_from_plain(ckpt["numpy_rng"])
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
        progress = self.step / max(1, r.total_steps)
        if time_budget:
            progress = max(progress, self.elapsed / time_budget)
        progress = min(progress, 1.0)
        if progress < r.warmup_fraction:
            factor = (progress + 1.0 / max(1, r.total_steps)) / r.warmup_fraction
        else:
            rest = (progress - r.warmup_fraction) / max(1e-12, 1.0 - r.warmup_fraction)
            factor = 0.5 * (1.0 + math.cos(math.pi * rest))
        lr = r.lr * min(1.0, max(factor, 0.01))
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
) -> TrainResult:
    """Train a twin network on ``data`` with ``recipe`` (a ``Recipe`` or a recipe name).

    Parameters
    ----------
    output
        The model file, written at the end (not when interrupted).
    checkpoint
        The checkpoint file (default ``<output>.ckpt`` when ``output`` is given); with ``resume``
        an existing checkpoint is continued, otherwise it is overwritten.
    time_budget
        Seconds of training, in total over resumed runs.
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
    ckpt_path = Path(checkpoint) if checkpoint is not None else (
        Path(str(output) + ".ckpt") if output is not None else None
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
        stopped = _loop(run, time_budget, ckpt_path, progress, on_step)
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
        if output is not None:
            result.model_path = save_model(
                output,
                run.model,
                recipe,
                classes=data.classes,
                training={
                    "seed": run.seed,
                    "steps": run.step,
                    "epochs_completed": len(run.history),
                    "stopped": stopped,
                    "history": list(run.history),
                    "elapsed_s": run.elapsed,
                    "device": str(dev),
                    "n_images": len(data),
                },
            )
        if ckpt_path is not None and ckpt_path.exists() and output is not None:
            ckpt_path.unlink()
            result.checkpoint_path = None
    return result


def _loop(
    run: _Run,
    time_budget: float | None,
    ckpt_path: Path | None,
    progress: bool,
    on_step: Callable[[int, float], None] | None,
) -> str:
    from tqdm import tqdm

    r = run.recipe
    total = r.total_steps
    bar = tqdm(total=total, initial=min(run.step, total), desc=r.name, unit="step",
               disable=not progress, dynamic_ncols=True, leave=False)
    stopped = "completed"
    step_times: list[float] = []
    with _SigintFlag() as sigint:
        while run.step < total:
            if time_budget is not None:
                typical = float(np.median(step_times[-20:])) if step_times else 0.0
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
                if ckpt_path is not None:
                    t1 = time.perf_counter()
                    _atomic_save(run.state(), ckpt_path)
                    run.elapsed += time.perf_counter() - t1  # the budget is wall time, saves included
                bar.set_postfix(epoch=len(run.history), loss=f"{mean:.4f}",
                                lr=f"{run.optimizer.param_groups[0]['lr']:.2g}")
            bar.update(1)
            if on_step is not None:
                on_step(run.step, loss)
            if sigint.requested:
                stopped = "interrupted"
                break
    bar.close()
    if stopped == "interrupted" and ckpt_path is not None:
        _atomic_save(run.state(), ckpt_path)
    return stopped
