"""Self-supervised training on a user's own unlabelled crops: time budget, checkpoints, resume, seeds.

``train(inputs, ids, config, ...)``:

* **Determinism.** ``torch.manual_seed(seed)`` initialises the weights, a numpy Generator (seed)
  draws the batches, a ``torch.Generator`` (seed + 1) the augmentations. Without a time budget,
  the same seed, data and thread count give bit-identical weights on the CPU. With a time budget
  the learning-rate schedule follows the elapsed time (so that a budget-limited run still
  anneals), and the number of steps depends on the machine's speed.
* **Checkpoints.** Every ``checkpoint_every`` seconds of training (default 120), on Ctrl-C and at
  a time-budget stop, the whole state (weights, optimiser, both random states, step, elapsed time,
  losses) goes atomically to the checkpoint file. Started again with the same settings, training
  continues from it: a run interrupted at step k and resumed gives the same weights as one run.
  After a time-budget stop the checkpoint is kept, so the same command with a larger budget trains
  on; it is removed when the planned steps are all done.
* **Time budget.** Seconds of training in total over resumed runs, checkpoint writes included; the
  run stops before a step that would overrun it.
* **Barely trained.** When the loss has hardly moved (the mean of the last tenth of the steps above
  90 % of the first steps' mean) or fewer than 50 steps were made, a warning is returned and
  stored with the model.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from corrclust.ssl.augment import augment
from corrclust.ssl.model import SSLConfig, SSLNet
from corrclust.twin.checkpoint import (
    CheckpointClock,
    SigintFlag,
    atomic_save,
    check_resumable,
    rng_state_from_plain,
    rng_state_to_plain,
)
from corrclust.twin.lr_schedule import warmup_cosine_lr

__all__ = ["train", "SSLResult", "save_model", "load_model", "MODEL_FORMAT", "CHECKPOINT_FORMAT"]

MODEL_FORMAT = "corrclust-ssl-model"
CHECKPOINT_FORMAT = "corrclust-ssl-checkpoint"
FORMAT_VERSION = 1
MIN_STEPS = 50
MAX_LOSS_RATIO = 0.9


@dataclass
class SSLResult:
    """What ``train`` returns. ``stopped`` is "completed", "time-budget" or "interrupted"."""

    model: SSLNet
    config: SSLConfig
    steps: int
    stopped: str
    losses: list[float] = field(default_factory=list)  # one per step
    elapsed_s: float = 0.0
    warnings: list[str] = field(default_factory=list)
    model_path: Path | None = None
    checkpoint_path: Path | None = None


def _state_cpu(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu").clone() for k, v in model.state_dict().items()}


class _Run:
    def __init__(self, inputs: torch.Tensor, ids: Sequence[str], config: SSLConfig, seed: int) -> None:
        self.inputs = inputs
        self.ids = [str(i) for i in ids]
        self.config = config
        self.seed = int(seed)
        torch.manual_seed(self.seed)
        self.model = SSLNet(inputs.shape[1], config)
        self.model.set_normalisation(inputs)
        trainable = [p for n, p in self.model.named_parameters() if not n.startswith("target.")]
        self.optimizer = torch.optim.AdamW(trainable, lr=config.lr, weight_decay=config.weight_decay)
        self.np_rng = np.random.default_rng(self.seed)
        self.aug_gen = torch.Generator().manual_seed(self.seed + 1)
        self.step = 0
        self.elapsed = 0.0
        self.losses: list[float] = []

    def fingerprint(self) -> dict[str, Any]:
        return {"ids": list(self.ids), "shape": list(self.inputs.shape)}

    def state(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "version": FORMAT_VERSION,
            "config": self.config.to_dict(),
            "seed": self.seed,
            "data": self.fingerprint(),
            "model": _state_cpu(self.model),
            "optimizer": self.optimizer.state_dict(),
            "numpy_rng": rng_state_to_plain(self.np_rng.bit_generator.state),
            "torch_rng": self.aug_gen.get_state(),
            "step": self.step,
            "elapsed": self.elapsed,
            "losses": list(self.losses),
        }

    def load(self, ckpt: dict[str, Any], path: Path) -> None:
        check_resumable(
            ckpt,
            path,
            kind=CHECKPOINT_FORMAT,
            description="corrclust self-supervised checkpoint",
            settings_key="config",
            settings=self.config.to_dict(),
            length_key="steps",
            seed=self.seed,
            fingerprint=self.fingerprint(),
        )
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.np_rng.bit_generator.state = rng_state_from_plain(ckpt["numpy_rng"])
        self.aug_gen.set_state(ckpt["torch_rng"])
        self.step = int(ckpt["step"])
        self.elapsed = float(ckpt["elapsed"])
        self.losses = [float(x) for x in ckpt["losses"]]

    def _set_lr(self, time_budget: float | None) -> None:
        c = self.config
        lr = warmup_cosine_lr(c.lr, self.step, c.steps, c.warmup_fraction, self.elapsed, time_budget)
        for g in self.optimizer.param_groups:
            g["lr"] = lr

    def train_step(self, time_budget: float | None) -> float:
        c = self.config
        self.model.train()
        self._set_lr(time_budget)
        n = self.inputs.shape[0]
        idx = self.np_rng.choice(n, size=min(c.batch_size, n), replace=False)
        x = self.inputs[torch.from_numpy(idx)]
        v1 = augment(x, self.aug_gen, c.augmentation)
        v2 = augment(x, self.aug_gen, c.augmentation)
        loss = self.model.loss(v1, v2)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.model.update_target()
        value = float(loss.detach())
        if not math.isfinite(value):
            raise FloatingPointError(f"the self-supervised loss became {value} at step {self.step + 1}")
        self.step += 1
        self.losses.append(value)
        return value


def training_warnings(losses: Sequence[float]) -> list[str]:
    """Warnings when the run is too short or its loss has hardly moved (see the module docstring)."""
    out = []
    n = len(losses)
    if n < MIN_STEPS:
        out.append(
            f"barely trained: {n} steps (fewer than {MIN_STEPS}); give a larger --time-budget (the run resumes)"
        )
    if n >= 20:
        head = float(np.mean(losses[:10]))
        tail = float(np.mean(losses[-max(10, n // 10) :]))
        if tail > MAX_LOSS_RATIO * head:
            out.append(
                f"barely trained: the loss went only from {head:.3f} to {tail:.3f}; the embedding may carry "
                "little more than an untrained network's"
            )
    return out


def save_model(path: str | Path, model: SSLNet, training: dict[str, Any]) -> Path:
    """Write a model file atomically (a plain dict; ``torch.load(..., weights_only=True)`` reads it)."""
    path = Path(path)
    state = {k: v for k, v in _state_cpu(model).items() if not k.startswith(("target.", "predictor."))}
    atomic_save(
        {
            "format": MODEL_FORMAT,
            "version": FORMAT_VERSION,
            "config": model.config.to_dict(),
            "in_channels": model.in_channels,
            "training": dict(training),
            "state_dict": state,
        },
        path,
    )
    return path


def load_model(path: str | Path) -> tuple[SSLNet, dict[str, Any]]:
    """Read a model file written by ``save_model``: the network (eval mode) and its training record."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such model file: {path}")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for foreign or damaged files
        raise ValueError(
            f"{path} is not a readable corrclust self-supervised model ({type(exc).__name__})"
        ) from None
    if not isinstance(blob, dict) or blob.get("format") != MODEL_FORMAT:
        raise ValueError(f"{path} is not a corrclust self-supervised model file")
    config = SSLConfig.from_dict(blob["config"])
    # the projector is kept (small); the predictor and EMA target exist only during training
    model = SSLNet(int(blob["in_channels"]), SSLConfig.from_dict({**config.to_dict(), "method": "simclr"}))
    model.config = config
    model.load_state_dict(blob["state_dict"])
    model.eval()
    return model, dict(blob.get("training", {}))


def train(
    inputs: torch.Tensor,
    ids: Sequence[str],
    config: SSLConfig | None = None,
    *,
    seed: int = 0,
    output: str | Path | None = None,
    checkpoint: str | Path | None = None,
    resume: bool = True,
    time_budget: float | None = None,
    checkpoint_every: float | None = None,
    progress: bool = True,
    on_step: Callable[[int, float], None] | None = None,
) -> SSLResult:
    """Train an embedding network on ``inputs`` (N, C, S, S) in [0, 1], one id per crop.

    output: the model file (written unless interrupted); checkpoint: default ``<output>.ckpt``.
    """
    config = config or SSLConfig()
    config.validate()
    if inputs.dim() != 4 or inputs.shape[0] < 2:
        raise ValueError(
            f"self-supervised training needs at least 2 crops as (N, C, S, S), got {tuple(inputs.shape)}"
        )
    if tuple(inputs.shape[-2:]) != (config.image_size, config.image_size):
        raise ValueError(
            f"the crops were prepared at {tuple(inputs.shape[-2:])}, the settings want {config.image_size}"
        )
    if len(ids) != inputs.shape[0]:
        raise ValueError(f"{len(ids)} ids for {inputs.shape[0]} crops")
    if time_budget is not None and not (time_budget > 0):
        raise ValueError(f"time budget must be positive, got {time_budget}")
    ckpt_path = (
        Path(checkpoint)
        if checkpoint is not None
        else (Path(str(output) + ".ckpt") if output is not None else None)
    )
    previous_det = torch.are_deterministic_algorithms_enabled()
    previous_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        run = _Run(inputs.float(), ids, config, seed)
        if resume and ckpt_path is not None and ckpt_path.exists():
            try:
                ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
            except Exception as exc:
                raise ValueError(
                    f"checkpoint {ckpt_path} is unreadable ({type(exc).__name__}); delete it or use --restart"
                ) from None
            run.load(ckpt, ckpt_path)
        stopped = _loop(run, time_budget, ckpt_path, checkpoint_every, progress, on_step)
    finally:
        torch.use_deterministic_algorithms(previous_det, warn_only=previous_warn)
    run.model.eval()
    result = SSLResult(
        model=run.model,
        config=config,
        steps=run.step,
        stopped=stopped,
        losses=list(run.losses),
        elapsed_s=run.elapsed,
        checkpoint_path=ckpt_path,
        warnings=training_warnings(run.losses),
    )
    if stopped != "interrupted" and output is not None:
        result.model_path = save_model(
            output,
            run.model,
            {
                "seed": run.seed,
                "steps": run.step,
                "planned_steps": config.steps,
                "stopped": stopped,
                "elapsed_s": run.elapsed,
                "n_images": int(inputs.shape[0]),
                "ids": list(run.ids),
                "loss_first": float(np.mean(run.losses[:10])) if run.losses else float("nan"),
                "loss_last": float(np.mean(run.losses[-max(10, len(run.losses) // 10) :]))
                if run.losses
                else float("nan"),
                "warnings": list(result.warnings),
            },
        )
        if stopped == "completed" and ckpt_path is not None and ckpt_path.exists():
            ckpt_path.unlink()
            result.checkpoint_path = None
    return result


def _loop(
    run: _Run,
    time_budget: float | None,
    ckpt_path: Path | None,
    checkpoint_every: float | None,
    progress: bool,
    on_step: Callable[[int, float], None] | None,
) -> str:
    from tqdm import tqdm

    total = run.config.steps
    bar = tqdm(
        total=total,
        initial=min(run.step, total),
        desc=f"ssl ({run.config.method})",
        unit="step",
        disable=not progress,
        dynamic_ncols=True,
        leave=False,
    )
    clock = CheckpointClock(checkpoint_every, run.elapsed)
    step_times: list[float] = []
    stopped = "completed"

    def save() -> None:
        if ckpt_path is not None:
            t1 = time.perf_counter()
            atomic_save(run.state(), ckpt_path)
            run.elapsed += time.perf_counter() - t1
            clock.saved(run.elapsed)

    with SigintFlag() as sigint:
        while run.step < total:
            if time_budget is not None:
                # a resumed run has no step times yet: use the earlier runs' mean, so the same
                # budget again makes no further step
                typical = float(np.median(step_times[-20:])) if step_times else run.elapsed / max(1, run.step)
                if run.elapsed >= time_budget or run.elapsed + typical > time_budget:
                    stopped = "time-budget"
                    break
            t0 = time.perf_counter()
            loss = run.train_step(time_budget)
            dt = time.perf_counter() - t0
            run.elapsed += dt
            step_times.append(dt)
            if clock.due(run.elapsed):
                save()
            if time_budget is not None and len(step_times) % 50 == 5:
                per_step = float(np.median(step_times[-50:]))
                reachable = run.step + int(max(0.0, time_budget - run.elapsed) / max(per_step, 1e-9))
                bar.total = min(total, max(reachable, run.step + 1))  # re-estimated every 50 steps
                bar.refresh()
            bar.update(1)
            if run.step % 10 == 0:
                bar.set_postfix(loss=f"{np.mean(run.losses[-10:]):.3f}")
            if on_step is not None:
                on_step(run.step, loss)
            if sigint.requested:
                stopped = "interrupted"
                break
    bar.close()
    if stopped in ("interrupted", "time-budget") and ckpt_path is not None:
        save()
    return stopped
