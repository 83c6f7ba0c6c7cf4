"""What every ``corrclust`` command shares: the user-error type, the group help, argument types and
the progress flag.

The commands (``corrclust.commands.*``) import this module, and :mod:`corrclust.cli` imports the
commands, so neither imports the other both ways.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable

__all__ = ["CliError", "help_of", "add_progress_flag", "positive_int", "positive_float", "existing_file"]


class CliError(Exception):
    """An error caused by the user's input; printed without a traceback."""


def help_of(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """The ``func`` of a command group called without an action: its help on stderr, exit code 2."""

    def show(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    return show


def add_progress_flag(parser: argparse.ArgumentParser, *, default: bool = True) -> None:
    """``--progress`` / ``--no-progress`` (dest ``progress``): progress bars on stderr.

    The one spelling of every command; the default is per command (on for the long-running ones,
    off for ``solve``, whose output is often piped). ``--quiet`` is kept as a hidden alias of
    ``--no-progress`` for scripts written before the spellings were unified.
    """
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=default,
                        help=f"progress bars on stderr (default: {'on' if default else 'off'})")
    parser.add_argument("--quiet", dest="progress", action="store_false", help=argparse.SUPPRESS)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def existing_file(path: str, what: str) -> str:
    """``path`` if it exists, else FileNotFoundError naming ``what`` (e.g. "key-point file")."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what} not found: {path}")
    return path
