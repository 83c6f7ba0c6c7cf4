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

The loop (budget, checkpoints, resume, Ctrl-C) is ``corrclust.twin.training_loop``, shared with the
twin-network trainer; this module defines the run, its checkpoint entries and the model file.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from corrclust.ssl.augment import augment
from corrclust.ssl.model import SSLConfig, SSLNet
from corrclust.twin.checkpoint import (
    atomic_save,
    check_resumable,
    cpu_state,
    read_model_file,
)
from corrclust.twin.training_loop import LoopSettings, TrainingRun, run_training

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


class _Run(TrainingRun):
    model: SSLNet

    def __init__(self, inputs: torch.Tensor, ids: Sequence[str], config: SSLConfig, seed: int) -> None:
        super().__init__(seed)
        self.inputs = inputs
        self.ids = [str(i) for i in ids]
        self.config = config
        torch.manual_seed(self.seed)
        self.model = SSLNet(inputs.shape[1], config)
        self.model.set_normalisation(inputs)
        trainable = [p for n, p in self.model.named_parameters() if not n.startswith("target.")]
        self.optimizer = torch.optim.AdamW(trainable, lr=config.lr, weight_decay=config.weight_decay)
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
            **self.training_state(),
            "losses": list(self.losses),
        }

    def load(self, ckpt: Mapping[str, Any], path: Path) -> None:
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
        self.load_training_state(ckpt)
        self.losses = [float(x) for x in ckpt["losses"]]

    def train_step(self, time_budget: float | None) -> float:
        c = self.config
        self.model.train()
        self.set_warmup_cosine_lr(c.lr, c.steps, c.warmup_fraction, time_budget)
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

    def after_step(self, bar: Any) -> bool:
        if self.step % 10 == 0:
            bar.set_postfix(loss=f"{np.mean(self.losses[-10:]):.3f}")
        return False  # checkpoints only by the clock


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
    state = {
        k: v for k, v in cpu_state(model.state_dict()).items() if not k.startswith(("target.", "predictor."))
    }
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
    blob = read_model_file(Path(path), kind=MODEL_FORMAT, description="corrclust self-supervised model")
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
    loop = LoopSettings(output, checkpoint, resume, time_budget, checkpoint_every, progress, on_step)
    run, stopped = run_training(
        lambda: _Run(inputs.float(), ids, config, seed), config.steps, f"ssl ({config.method})", loop
    )
    run.model.eval()
    result = SSLResult(
        model=run.model,
        config=config,
        steps=run.step,
        stopped=stopped,
        losses=list(run.losses),
        elapsed_s=run.elapsed,
        checkpoint_path=loop.checkpoint_file,
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
        result.checkpoint_path = loop.drop_finished_checkpoint(stopped)
    return result
