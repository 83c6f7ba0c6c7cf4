"""Text cells of the CSV tables corrclust writes for people, made safe to open in a spreadsheet.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (tab and
carriage return can start one too), so a file named ``=HYPERLINK(...).tif`` listed in
``clusters.csv`` could run when the table is opened. The rule, for every *text* cell we write
(file names, class names; numbers we write as numbers are left alone):

* a cell starting with one of ``= + - @ \\t \\r`` or with a single quote ``'`` is written with one
  more single quote in front (spreadsheets show a leading ``'`` as "this is text");
* :func:`restore` removes that one leading quote again, so our own readers get the original text
  back exactly (a name that itself starts with ``'`` survives because it got a second one).

The paper's PQAP files are comma-separated without CSV quoting, so a text with commas there spans
several cells: :func:`neutralise_unquoted` and :func:`restore_unquoted` apply the rule to each piece.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["TRIGGERS", "neutralise", "neutralise_row", "restore", "neutralise_unquoted", "restore_unquoted"]

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")


def neutralise(cell: Any) -> Any:
    """``cell`` as written to a CSV: text starting with a trigger gets a leading ``'``; numbers as is."""
    if isinstance(cell, str) and cell.startswith(TRIGGERS):
        return "'" + cell
    return cell


def neutralise_row(row: Iterable[Any]) -> list[Any]:
    """:func:`neutralise` applied to every cell of a row."""
    return [neutralise(c) for c in row]


def restore(cell: str) -> str:
    """The original text of a cell written by :func:`neutralise`."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(TRIGGERS) else cell


def neutralise_unquoted(text: str) -> str:
    """``text`` for a comma-separated file without quoting: every comma-separated piece neutralised."""
    return ",".join(neutralise(piece) for piece in text.split(","))


def restore_unquoted(text: str) -> str:
    """The original of a text written by :func:`neutralise_unquoted`."""
    return ",".join(restore(piece) for piece in text.split(","))
