"""The ``corrclust`` command line.

Each sub-command lives in its own module under ``corrclust.commands`` and exposes
``register(subparsers)``; that function adds its parser and sets ``func`` to a callable taking
the parsed arguments and returning an exit code. Errors meant for the user are raised as
``corrclust.cli_support.CliError`` (or ValueError/FileNotFoundError) and printed as one line on stderr with exit code 2;
an OSError (read-only or full folder, permissions) or MemoryError is one line with exit code 1, and
Ctrl-C always ends with exit code 130.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import warnings
from collections.abc import Sequence
from typing import NoReturn

from corrclust.cli_support import CliError, help_of, join_dash_values

__all__ = ["CliError", "help_of", "build_parser", "main"]  # CliError and help_of: see corrclust.cli_support

# Order here is the order in ``corrclust --help``.
COMMAND_MODULES = (
    "demo",
    "cluster",
    "review",
    "questions",
    "solve",
    "evaluate",
    "pqap",
    "images",
    "twin",
    "ssl",
)


class _Parser(argparse.ArgumentParser):
    """argparse with the package's one-line errors: a usage mistake prints one line (exit code 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="corrclust",
        description="Correlation clustering of organoid images.",
    )
    from corrclust import __version__

    parser.add_argument("--version", action="version", version=f"corrclust {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"corrclust.commands.{name}")
        module.register(sub)
    return parser


# Bad input (exit code 2) versus a failure of the machine or its file system (exit code 1).
_INPUT_ERRORS = (CliError, ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError)


def describe_os_error(exc: OSError) -> str:
    """One line for an OSError: the file(s) it names and the system's reason, no errno number."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is not None and exc.filename2 is not None:
        return f"{exc.filename} -> {exc.filename2}: {reason}"
    if exc.filename is not None:
        return f"{exc.filename}: {reason}"
    return reason


class _Interrupts:
    """SIGINT recorder: Ctrl-C raises KeyboardInterrupt as usual and is also remembered, so that
    an interrupt swallowed on the way (Python ignores exceptions raised in weakref callbacks and
    ``__del__``, printing "Exception ignored in ...") still ends the command with exit code 130."""

    def __init__(self) -> None:
        self.count = 0
        self.previous: object = None

    def handler(self, signum: int, frame: object) -> None:
        self.count += 1
        raise KeyboardInterrupt

    def install(self) -> bool:
        try:
            self.previous = signal.signal(signal.SIGINT, self.handler)
        except ValueError:  # not the main thread (e.g. main() called from a worker thread)
            return False
        return True

    def restore(self) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)  # type: ignore[arg-type]


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings meant for the user (e.g. a saturating Z sum) as one line on stderr, without the source line."""
    print(f"corrclust: warning: {message}", file=sys.stderr if file is None else file)


def main(argv: Sequence[str] | None = None) -> int:
    interrupts = _Interrupts()
    command = "corrclust"
    installed = False
    try:
        # Inside the try: a Ctrl-C that lands just after the handler is set is already ours (130).
        installed = interrupts.install()  # before the commands are imported: Ctrl-C there is 130 too
        parser = build_parser()
        args = parser.parse_args(join_dash_values(sys.argv[1:] if argv is None else argv))
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        action = getattr(args, f"{args.command}_command", None)  # e.g. "similarities" of "pqap"
        command = f"corrclust {args.command}" + (f" {action}" if action else "")
        code = _run(args, command)
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        code = 130
    finally:
        if installed:
            interrupts.restore()
    if code != 130 and interrupts.count:
        print(f"{command}: interrupted", file=sys.stderr)
        code = 130
    return code


def _resumable(args: argparse.Namespace) -> str:
    """What a rerun of an interrupted ``cluster`` on images takes from this one: the line said only
    "interrupted", and whether the same command would resume or start again was a guess (qa19)."""
    if getattr(args, "command", None) != "cluster" or not getattr(args, "images", None):
        return ""
    if not getattr(args, "out", None):
        return ""
    from pathlib import Path

    from corrclust.pipeline.routes.profile import PROFILE_CHECKPOINT
    from corrclust.pipeline.runner import PQAP_CHECKPOINT

    for name, what in ((PROFILE_CHECKPOINT, "profiles"), (PQAP_CHECKPOINT, "matched pairs")):
        kept = Path(args.out) / name
        if kept.is_file():
            return f"; the {what} done are kept in {kept}: the same command resumes from there"
    return "; nothing is kept for a rerun: the same command starts again"


def _run(args: argparse.Namespace, command: str) -> int:
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"{command}: interrupted{_resumable(args)}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (e.g. `corrclust ... | head`): stop quietly, and
        # point stdout at devnull so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except _INPUT_ERRORS as exc:
        text = describe_os_error(exc) if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"{command}: error: {text}", file=sys.stderr)
        return 2
    except MemoryError as exc:
        # Not the user's input but the machine: exit code 1, one line with what was needed.
        print(f"{command}: error: out of memory: {exc or 'an allocation failed'}", file=sys.stderr)
        return 1
    except OSError as exc:
        # Read-only or full folder, permissions, I/O errors: the environment, exit code 1.
        print(f"{command}: error: {describe_os_error(exc)}", file=sys.stderr)
        return 1
