"""The number syntax of corrclust's text formats: plain ASCII decimal notation, nothing else.

Python's ``int()`` and ``float()`` also take ``1_0``, surrounding white space, non-ASCII digits
(``"١٢"``), ``nan`` and ``infinity``. A file holding any of these was not written by the tools
these formats come from, so a reader refuses it instead of guessing: :func:`parse_int` and
:func:`parse_float` return None for such text and the reader raises its one-line error naming the
file and line.
"""

from __future__ import annotations

import math
import re

__all__ = ["INTEGER", "NUMBER", "parse_int", "parse_float"]

#: An integer: optional sign, ASCII digits.
INTEGER = re.compile(r"[+-]?[0-9]+")
#: A number: optional sign, digits with an optional decimal point (or a point and digits), an
#: optional exponent. ``1``, ``-0.5``, ``.5``, ``5.``, ``1e-05`` and ``2.5E+3`` are numbers.
NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def parse_int(text: str) -> int | None:
    """The integer ``text`` spells in :data:`INTEGER` syntax, else None."""
    return int(text) if INTEGER.fullmatch(text) else None


def parse_float(text: str) -> float | None:
    """The finite number ``text`` spells in :data:`NUMBER` syntax, else None (also for ``1e999``)."""
    if not NUMBER.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None
