"""The training loop of the torch trainers (twin networks and self-supervised embeddings).

Each trainer (``corrclust.twin.train``, ``corrclust.ssl.train``) defines its run, a ``TrainingRun``:
the model and optimiser, one training step and the checkpoint's own entries. The base class holds
what every run has (seed, the numpy random stream of the batches and the torch one of the
augmentations, steps and seconds) and its checkpoint entries. ``run_training`` does the rest,
the same for both:

* **Resume.** An existing checkpoint (default ``<output>.ckpt``) is read and handed to the run,
  which checks that it continues this run (``check_resumable``) and takes over its state.
* **Time budget.** Seconds of training in total over resumed runs, checkpoint writes included; the
  loop stops before a step that would overrun it. A resumed run has no step times yet and takes the
  earlier runs' mean, so the same budget again makes no further step. The progress bar's end is
  re-estimated every 50 steps to where the budget will stop the run.
* **Checkpoints.** Every ``checkpoint_every`` seconds of training (``CheckpointClock``), after a
  step at which the run asks for one (the twin trainer: the end of an epoch), and at a Ctrl-C or
  time-budget stop; always before ``on_step`` sees the step.
* **Interruption.** The first Ctrl-C finishes the step, writes the checkpoint and returns
  "interrupted"; a second one aborts at once (``SigintFlag``).
* **Determinism.** torch's deterministic algorithms are on (``warn_only``) while the run is made
  and trained, and set back as they were afterwards.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from corrclust.twin.checkpoint import (
    CheckpointClock,
    SigintFlag,
    atomic_save,
    cpu_state,
    read_checkpoint,
    rng_state_from_plain,
    rng_state_to_plain,
)
from corrclust.twin.lr_schedule import warmup_cosine_lr

__all__ = [
    "TrainingRun",
    "LoopSettings",
    "run_training",
]


class TrainingRun(ABC):
    """One trainer's run, as ``run_training`` trains it.

    ``__init__(seed)`` seeds the numpy Generator that draws the batches with ``seed`` and the
    ``torch.Generator`` of the augmentations with ``seed + 1``; a subclass then makes ``model``
    and ``optimizer`` (after ``torch.manual_seed(seed)``, which initialises the weights).
    """

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self.np_rng = np.random.default_rng(self.seed)
        self.aug_gen = torch.Generator().manual_seed(self.seed + 1)
        self.step = 0  # steps done, over resumed runs
        self.elapsed = 0.0  # seconds of training, over resumed runs

    def training_state(self) -> dict[str, Any]:
        """The checkpoint entries every run has: weights, optimiser, both random states, the step
        and the seconds of training."""
        return {
            "model": cpu_state(self.model.state_dict()),
            "optimizer": self.optimizer.state_dict(),
            "numpy_rng": rng_state_to_plain(self.np_rng.bit_generator.state),
            "torch_rng": self.aug_gen.get_state(),
            "step": self.step,
            "elapsed": self.elapsed,
        }

    def load_training_state(self, ckpt: Mapping[str, Any]) -> None:
        """Take over the entries of ``training_state`` from a checkpoint."""
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.np_rng.bit_generator.state = rng_state_from_plain(ckpt["numpy_rng"])
        self.aug_gen.set_state(ckpt["torch_rng"])
        self.step = int(ckpt["step"])
        self.elapsed = float(ckpt["elapsed"])

    def set_warmup_cosine_lr(
        self, base_lr: float, total_steps: int, warmup_fraction: float, time_budget: float | None
    ) -> None:
        """The learning rate of the next step (``warmup_cosine_lr``) into every parameter group."""
        lr = warmup_cosine_lr(base_lr, self.step, total_steps, warmup_fraction, self.elapsed, time_budget)
        for g in self.optimizer.param_groups:
            g["lr"] = lr

    @abstractmethod
    def train_step(self, time_budget: float | None) -> float:
        """One step; returns its loss and counts it in ``step``."""

    @abstractmethod
    def after_step(self, bar: Any) -> bool:
        """The run's own bookkeeping after a step (the progress bar's postfix); True asks for a
        checkpoint now."""

    @abstractmethod
    def state(self) -> dict[str, Any]:
        """The checkpoint's contents."""

    @abstractmethod
    def load(self, ckpt: Mapping[str, Any], path: Path) -> None:
        """Continue from the checkpoint ``ckpt`` read from ``path`` (ValueError when it may not)."""


RunT = TypeVar("RunT", bound=TrainingRun)


@dataclass(frozen=True)
class LoopSettings:
    """How ``run_training`` runs: the trainers' ``train`` parameters of the same names, in the
    order of their signatures. A time budget that is not positive raises ValueError."""

    output: str | Path | None
    checkpoint: str | Path | None
    resume: bool
    time_budget: float | None
    checkpoint_every: float | None
    progress: bool
    on_step: Callable[[int, float], None] | None
    # Work the caller does after the loop, in typical step times, kept inside the time budget: twin
    # training's closing check embeds up to 400 training images (200 RBC crops took 4.1 s at load 6,
    # about 4 steps of 40 images; the command had run 14 s past a 30 s budget).
    closing_steps: float = 0.0

    def __post_init__(self) -> None:
        if self.time_budget is not None and not (self.time_budget > 0):
            raise ValueError(f"time budget must be positive, got {self.time_budget}")

    @property
    def checkpoint_file(self) -> Path | None:
        """The checkpoint file: ``checkpoint`` when given, else ``<output>.ckpt``, else none."""
        if self.checkpoint is not None:
            return Path(self.checkpoint)
        return Path(str(self.output) + ".ckpt") if self.output is not None else None

    def drop_finished_checkpoint(self, stopped: str) -> Path | None:
        """Remove the checkpoint of a run whose planned steps are all done; the checkpoint file
        that remains (None once removed). One kept after a time-budget stop lets a larger budget
        train on."""
        checkpoint = self.checkpoint_file
        if stopped == "completed" and checkpoint is not None and checkpoint.exists():
            checkpoint.unlink()
            return None
        return checkpoint


def run_training(
    make_run: Callable[[], RunT], total_steps: int, description: str, settings: LoopSettings
) -> tuple[RunT, str]:
    """Make the run, resume it from the settings' checkpoint (when ``resume`` and the file exists)
    and train it up to ``total_steps``; the run and how it stopped: "completed", "time-budget" or
    "interrupted".

    ``description`` labels the progress bar; ``on_step(step, loss)`` is called after every step.
    """
    checkpoint = settings.checkpoint_file
    previous_det = torch.are_deterministic_algorithms_enabled()
    previous_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        run = make_run()
        if settings.resume and checkpoint is not None and checkpoint.exists():
            run.load(read_checkpoint(checkpoint), checkpoint)
        stopped = _loop(run, total_steps, description, settings)
    finally:
        torch.use_deterministic_algorithms(previous_det, warn_only=previous_warn)
    return run, stopped


def _loop(run: TrainingRun, total: int, description: str, settings: LoopSettings) -> str:
    from tqdm import tqdm

    ckpt_path, time_budget, on_step = settings.checkpoint_file, settings.time_budget, settings.on_step

    bar = tqdm(
        total=total,
        initial=min(run.step, total),
        desc=description,
        unit="step",
        disable=not settings.progress,
        dynamic_ncols=True,
        leave=False,
    )
    clock = CheckpointClock(settings.checkpoint_every, run.elapsed)
    step_times: list[float] = []
    stopped = "completed"

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
                # the reserve waits for three step times after the first, which is slow (7.4 s against
                # 1.1 s, cpu recipe at load 6: read alone it stopped a 30 s budget after one step)
                # (a resumed run starts from the earlier runs' mean, like ``typical``)
                later = step_times[1:][-20:]
                if len(later) >= 3:
                    reserve = float(np.median(later)) * settings.closing_steps
                else:
                    reserve = typical * settings.closing_steps if not step_times and run.step > 0 else 0.0
                if run.elapsed >= time_budget or run.elapsed + typical + reserve > time_budget:
                    stopped = "time-budget"
                    break
            t0 = time.perf_counter()
            loss = run.train_step(time_budget)
            dt = time.perf_counter() - t0
            run.elapsed += dt
            step_times.append(dt)
            if run.after_step(bar) or clock.due(run.elapsed):
                save()
            if time_budget is not None and len(step_times) % 50 == 5:
                # the bar's end is where the budget stops the run, not the planned last step
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
