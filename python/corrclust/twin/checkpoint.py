"""Checkpoint plumbing shared by the torch trainers (twin networks and self-supervised embeddings).

* ``atomic_save``: ``torch.save`` to a temporary file, then rename, so a checkpoint or model file
  is never half written (a crash leaves the previous one).
* ``rng_state_to_plain`` / ``rng_state_from_plain``: a numpy bit-generator state with its 128-bit
  integers as strings, so ``torch.load(..., weights_only=True)`` can read it back.
* ``SigintFlag``: the first Ctrl-C only sets a flag (the step finishes and a checkpoint is written),
  a second one aborts at once.
* ``CheckpointClock``: decides when a time-based checkpoint is due. Per-epoch checkpoints alone
  were useless on a CPU: an epoch of the ``fast`` recipe took longer than most time budgets, so
  an interrupted run restarted from zero. The clock counts training seconds, not wall time since
  the process started, so the reading of the images never triggers a save.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from corrclust.atomic import atomic_path

__all__ = [
    "atomic_save",
    "rng_state_to_plain",
    "rng_state_from_plain",
    "SigintFlag",
    "CheckpointClock",
    "DEFAULT_CHECKPOINT_EVERY",
]

DEFAULT_CHECKPOINT_EVERY = 120.0  # seconds of training between time-based checkpoints


def atomic_save(obj: Any, path: str | Path) -> None:
    """``torch.save(obj)`` to ``path`` through ``corrclust.atomic`` (a temporary file, then a rename)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        torch.save(obj, fh)


def rng_state_to_plain(state: Mapping[str, Any]) -> dict[str, Any]:
    """numpy bit-generator state with its (128-bit) integers as strings (safe for weights_only)."""

    def conv(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, int) and not isinstance(v, bool):
            return str(v)
        return v

    return conv(dict(state))


def rng_state_from_plain(state: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of ``rng_state_to_plain``."""

    def conv(k: str, v: Any) -> Any:
        if isinstance(v, dict):
            return {kk: conv(kk, x) for kk, x in v.items()}
        if isinstance(v, str) and k != "bit_generator":
            return int(v)
        return v

    return {k: conv(k, v) for k, v in state.items()}


class SigintFlag:
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

    def __enter__(self) -> SigintFlag:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
            self._installed = True
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)


class CheckpointClock:
    """Says when ``every`` seconds of training have passed since the last checkpoint.

    ``every`` <= 0 turns time-based checkpoints off; ``None`` means the default (120 s).
    """

    def __init__(self, every: float | None, elapsed: float = 0.0) -> None:
        self.every = DEFAULT_CHECKPOINT_EVERY if every is None else float(every)
        self.last = float(elapsed)

    def due(self, elapsed: float) -> bool:
        return self.every > 0 and elapsed - self.last >= self.every

    def saved(self, elapsed: float) -> None:
        self.last = float(elapsed)
