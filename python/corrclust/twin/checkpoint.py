"""Checkpoint plumbing shared by the torch trainers (twin networks and self-supervised embeddings).

* ``atomic_save``: ``torch.save`` to a temporary file, then rename, so a checkpoint or model file
  is never half written (a crash leaves the previous one).
* ``cpu_state``: a detached CPU copy of a state dict, what both files store.
* ``read_checkpoint`` / ``read_model_file``: ``torch.load(..., weights_only=True)`` of a checkpoint or
  a model file, with the one-line error a user sees for a damaged or foreign file.
* ``rng_state_to_plain`` / ``rng_state_from_plain``: a numpy bit-generator state with its 128-bit
  integers as strings, so ``torch.load(..., weights_only=True)`` can read it back.
* ``check_resumable``: one rule for both trainers on whether a checkpoint may be resumed (same
  settings but the length of training, same seed, same images), with the error a user sees.
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
    "cpu_state",
    "read_checkpoint",
    "read_model_file",
    "rng_state_to_plain",
    "rng_state_from_plain",
    "check_resumable",
    "SigintFlag",
    "CheckpointClock",
    "DEFAULT_CHECKPOINT_EVERY",
]

DEFAULT_CHECKPOINT_EVERY = 120.0  # seconds of training between time-based checkpoints


def atomic_save(obj: Any, path: str | Path) -> None:
    """``torch.save(obj)`` to ``path`` through ``corrclust.atomic`` (a temporary file, then a rename)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        torch.save(obj, fh)


def cpu_state(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A copy of the state dict ``state`` on the CPU, detached from autograd."""
    return {k: v.detach().to("cpu").clone() for k, v in state.items()}


def read_checkpoint(path: Path) -> Any:
    """What ``torch.load`` (weights only, onto the CPU) reads from the checkpoint ``path``.

    A file torch cannot read raises a ValueError naming it; whether it is a checkpoint of this
    run is ``check_resumable``'s question.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # damaged or foreign file: torch raises several types
        raise ValueError(
            f"checkpoint {path} is unreadable ({type(exc).__name__}); delete it or use --restart"
        ) from None


def read_model_file(
    path: Path, *, kind: str, description: str, show_reason: bool = False
) -> Mapping[str, Any]:
    """The contents of the model file ``path`` of format ``kind`` (a plain dict, read weights only).

    A missing file raises FileNotFoundError; one that torch cannot read, or of another format, a
    ValueError calling it not a readable ``description`` (with torch's message when
    ``show_reason``) or not a ``description`` file.
    """
    if not path.is_file():
        raise FileNotFoundError(f"no such model file: {path}")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for foreign or damaged files
        reason = type(exc).__name__
        if show_reason:
            # torch's messages run to several lines of advice about weights_only; the first
            # sentence says what is wrong, and an error must stay on one line.
            first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
            first = first.split(". ")[0].rstrip(".")[:160]
            reason = f"{reason}: {first}" if first else reason
        raise ValueError(f"{path} is not a readable {description} ({reason})") from None
    if not isinstance(blob, Mapping) or blob.get("format") != kind:
        raise ValueError(f"{path} is not a {description} file")
    return blob


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


def check_resumable(
    ckpt: Mapping[str, Any],
    path: Path,
    *,
    kind: str,
    description: str,
    settings_key: str,
    settings: Mapping[str, Any],
    length_key: str,
    seed: int,
    fingerprint: Mapping[str, Any],
) -> None:
    """Raise ValueError unless ``ckpt`` (read from ``path``) continues this run.

    It must be a checkpoint of format ``kind`` (named ``description`` in the error) whose
    ``settings_key`` settings equal ``settings`` except the training length ``length_key`` (a
    longer budget trains on), made with the same seed on the same images.
    """
    if not isinstance(ckpt, Mapping) or ckpt.get("format") != kind:
        raise ValueError(f"{path} is not a {description}")
    mine = {k: v for k, v in settings.items() if k != length_key}
    theirs = {k: v for k, v in dict(ckpt[settings_key]).items() if k != length_key}
    if mine != theirs:
        diff = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
        raise ValueError(
            f"checkpoint {path} was made with other training settings ({', '.join(diff)}); "
            "delete it or start again with --restart"
        )
    if int(ckpt["seed"]) != seed:
        raise ValueError(f"checkpoint {path} was made with seed {ckpt['seed']}, not {seed}")
    if dict(ckpt["data"]) != dict(fingerprint):
        raise ValueError(f"checkpoint {path} was made on other images; delete it or use --restart")


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
