"""What ``corrclust twin train`` and ``corrclust ssl train`` share on the command line: the import of
their torch sub-package, the training options, the line said at the start and the report of how
the run ended (an interrupted run exits with 130 and says how to resume).

Each command keeps its own wording where the two differ (help texts, the summary line); the
training itself is ``corrclust.twin.training_loop``. This module imports no torch.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any, Protocol

from corrclust.cli_support import CliError, positive_float

__all__ = [
    "import_torch_package",
    "add_training_arguments",
    "check_output_file",
    "say_start",
    "report_training",
]


def import_torch_package(module: str, what: str) -> Any:
    """The torch sub-package ``module`` (e.g. ``corrclust.twin``), imported; without PyTorch, a
    CliError saying that ``what`` needs it and how to install it."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise CliError(
            f"{what} need PyTorch: install corrclust[torch] (pip install 'corrclust[torch]')"
        ) from None
    return importlib.import_module(module)


def add_training_arguments(
    parser: argparse.ArgumentParser,
    *,
    output_help: str | None,
    time_budget_default: float | None,
    time_budget_help: str,
    checkpoint_every_help: str,
    seed_help: str | None,
) -> None:
    """``-o/--output MODEL.pt``, ``--time-budget``, ``--checkpoint-every`` and ``--seed``: the same
    options, types and checkpoint default (120 s) in both commands; the help texts are theirs."""
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="MODEL.pt", help=output_help)
    parser.add_argument(
        "--time-budget",
        type=positive_float,
        default=time_budget_default,
        metavar="SECONDS",
        help=time_budget_help,
    )
    parser.add_argument(
        "--checkpoint-every",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help=checkpoint_every_help,
    )
    parser.add_argument("--seed", type=int, default=0, help=seed_help)


def check_output_file(output: Path) -> None:
    """A CliError when the model file ``output`` names a folder."""
    if output.is_dir():
        raise CliError(f"output {output} is a folder; give a file name such as model.pt")


def say_start(command: str, what: str, checkpoint: Path, restart: bool) -> None:
    """``<command>: <what>; resuming from <checkpoint>`` (or ``starting``) on stderr."""
    how = f"resuming from {checkpoint}" if checkpoint.is_file() and not restart else "starting"
    print(f"{command}: {what}; {how}", file=sys.stderr)


class _Finished(Protocol):
    stopped: str  # "completed", "time-budget" or "interrupted"
    steps: int
    warnings: list[str]


def report_training(
    command: str, result: _Finished, checkpoint: Path, *, summary: str, kept: str | None
) -> int:
    """Say on stderr how the run ended; the exit code (130 when interrupted).

    An interrupted run names its checkpoint and how to resume. Otherwise ``summary``, then ``kept``
    after a time-budget stop (None: nothing), then the run's warnings.
    """
    if result.stopped == "interrupted":
        print(
            f"{command}: interrupted after step {result.steps}; checkpoint saved to {checkpoint}; "
            "run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    print(f"{command}: {summary}", file=sys.stderr)
    if result.stopped == "time-budget" and kept is not None:
        print(f"{command}: {kept}", file=sys.stderr)
    for w in result.warnings:
        print(f"{command}: warning: {w}", file=sys.stderr)
    return 0
