"""What every ``corrclust`` command shares: the user-error type, the group help, argument types and
the progress flag.

The commands (``corrclust.commands.*``) import this module, and :mod:`corrclust.cli` imports the
commands, so neither imports the other both ways.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from corrclust.images.io import ReadOptions

__all__ = [
    "CliError",
    "help_of",
    "add_progress_flag",
    "positive_int",
    "positive_float",
    "existing_file",
    "add_read_arguments",
    "read_options",
    "join_dash_values",
]


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
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=default,
        help=f"progress bars on stderr (default: {'on' if default else 'off'})",
    )
    parser.add_argument("--quiet", dest="progress", action="store_false", help=argparse.SUPPRESS)


def add_feedback_propagate_flag(parser: argparse.ArgumentParser) -> None:
    """``--feedback-propagate`` / ``--no-feedback-propagate`` (dest ``propagate``, default on), the
    one spelling of ``cluster``, ``questions`` and ``review``: spread each answer to the pairs it
    implies (:mod:`corrclust.propagation`)."""
    parser.add_argument(
        "--feedback-propagate",
        dest="propagate",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="with answers: spread each answer to the pairs it implies (the images like one end "
        "against those like the other; corrclust.propagation), so that one answer moves whole groups; "
        "--no-feedback-propagate: each answer constrains its own pair only (default: on)",
    )


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


# ------------------------------------------------------------------------------ reading images
#: Options whose value may start with '-' ("-,-,0": no blue, no green, plane 0 as red).
DASH_VALUE_OPTIONS = ("--channels",)


def join_dash_values(argv: Sequence[str]) -> list[str]:
    """``--channels -,-,0`` -> ``--channels=-,-,0``.

    argparse takes any word starting with '-' (other than '-' alone and negative numbers) for an
    option, so the spaced spelling of a value such as ``-,-,0`` fails with "expected one argument".
    Joining the value to its option is the documented way around that, done here for the user.
    """
    out = list(argv)
    k = 0
    while k < len(out) - 1:
        if out[k] in DASH_VALUE_OPTIONS and out[k + 1].startswith("-") and "," in out[k + 1]:
            out[k : k + 2] = [f"{out[k]}={out[k + 1]}"]
        k += 1
    return out


def _channel_list(text: str) -> tuple:
    from corrclust.images.io import parse_channels

    try:
        return parse_channels(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _time_point(text: str) -> int | str:
    """A ``--t`` value: ``refuse``, ``split`` or a time-point index >= 0."""
    word = text.strip().lower()
    if word in ("refuse", "split"):
        return word
    try:
        value = int(word)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected refuse, split or a time-point index >= 0, got {text!r}"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected refuse, split or a time-point index >= 0, got {text!r}")
    return value


def add_read_arguments(
    parser: argparse.ArgumentParser,
    *,
    channels_help: str | None = None,
    channels_default: str | None = None,
    pixel_size: bool = True,
    name_pattern: bool = True,
) -> None:
    """The flags of every command that reads images (see docs/images.md, "Reading images").

    ``--channels`` (planes by index or channel name, '-' for none), ``--z-project``, ``--t``, and
    where they apply ``--pixel-size`` and ``--name-pattern``. :func:`read_options` turns them into
    a :class:`corrclust.images.io.ReadOptions`.
    """
    from corrclust.images.io import Z_PROJECTIONS

    g = parser.add_argument_group(
        "reading images", "Z-stacks, time series, channels and pixel size (docs/images.md, 'Reading images')"
    )
    g.add_argument(
        "--channels",
        type=_channel_list,
        metavar="LIST",
        default=None if channels_default is None else _channel_list(channels_default),
        help=channels_help
        or "planes to use, by index or channel name, '-' for a blank plane "
        "(e.g. 0,2 or DAPI,GFP or --channels=-,1); default: all planes",
    )
    g.add_argument(
        "--z-project",
        choices=Z_PROJECTIONS,
        default="max",
        help="how a Z-stack becomes one plane: max (default), mean, sum or middle",
    )
    g.add_argument(
        "--t",
        type=_time_point,
        default="refuse",
        metavar="refuse|split|INDEX",
        help="time series: refuse them (default), split them (each time point its own image, "
        "named <file>__t<k>), or read only time point INDEX (0 = first)",
    )
    if pixel_size:
        g.add_argument(
            "--pixel-size",
            type=positive_float,
            default=None,
            metavar="UM",
            help="resample every image to UM µm per pixel (needs the pixel size in the files); "
            "without it, images of different pixel sizes are refused",
        )
    if name_pattern:
        g.add_argument(
            "--name-pattern",
            default=None,
            metavar="REGEX",
            help="regex with named groups well (or row and column), plate, site, searched in the "
            "file names (default: Operetta r02c03f01... and ImageXpress _B03_s1_w1 names)",
        )


def read_options(args: argparse.Namespace, *, channels: bool = True) -> ReadOptions:
    """The :class:`~corrclust.images.io.ReadOptions` of :func:`add_read_arguments`' flags.

    ``channels=False`` leaves the plane selection out (a command that gives ``--channels`` another
    meaning, e.g. the parts of the key points, uses ``args.channels`` itself).
    """
    from corrclust.images.io import ReadOptions

    if getattr(args, "name_pattern", None):
        from corrclust.images.io import compile_name_pattern

        compile_name_pattern(args.name_pattern)  # a bad pattern fails before any file is read
    try:
        return ReadOptions(
            channels=args.channels if channels else None,
            z_project=args.z_project,
            t=args.t,
            pixel_size=getattr(args, "pixel_size", None),
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
