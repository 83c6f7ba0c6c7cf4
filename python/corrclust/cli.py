"""The ``corrclust`` command line.

Each sub-command lives in its own module under ``corrclust.commands`` and exposes
``register(subparsers)``; that function adds its parser and sets ``func`` to a callable taking
the parsed arguments and returning an exit code. Errors meant for the user are raised as
``corrclust.cli_support.CliError`` (or ValueError/FileNotFoundError) and printed as one line on stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Sequence

from corrclust.cli_support import CliError, help_of, join_dash_values

__all__ = ["CliError", "help_of", "build_parser", "main"]  # CliError and help_of: see corrclust.cli_support

# Order here is the order in ``corrclust --help``.
COMMAND_MODULES = ("demo", "cluster", "review", "questions", "solve", "evaluate", "pqap", "images", "twin", "ssl")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="corrclust",
        description="Correlation clustering of organoid images.",
    )
    from corrclust import __version__

    parser.add_argument("--version", action="version", version=f"corrclust {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"corrclust.commands.{name}")
        module.register(sub)
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings meant for the user (e.g. a saturating Z sum) as one line on stderr, without the source line."""
    print(f"corrclust: warning: {message}", file=sys.stderr if file is None else file)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(join_dash_values(sys.argv[1:] if argv is None else argv))
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("corrclust: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (e.g. `corrclust ... | head`): stop quietly, and
        # point stdout at devnull so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (CliError, ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
        print(f"corrclust {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except MemoryError as exc:
        # Not the user's input but the machine: exit code 1, one line with what was needed.
        print(f"corrclust {args.command}: error: out of memory: {exc or 'an allocation failed'}", file=sys.stderr)
        return 1
