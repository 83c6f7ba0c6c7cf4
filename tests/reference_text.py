"""How the reference parsers of the property tests read a text file, written independently of the
package: UTF-8 (a byte-order mark dropped), lines split at LF only; with ``need_final_newline``, a
last line without a line break must be blank (ASCII white space), else the file looks cut off.
Integers are plain ASCII decimal (``INTEGER``); a cell the writers protected from spreadsheets
starts with one quote before a trigger character, which is not part of the text (``unquote``)."""

from __future__ import annotations

import re

INTEGER = re.compile(r"[+-]?[0-9]+")
_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")


def decoded(data: bytes) -> str | None:
    """``data`` as UTF-8 text without a leading byte-order mark; None where it is not UTF-8."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def unquote(piece: str) -> str:
    """The spreadsheet rule of the writers: one leading quote before a trigger is not part of the text."""
    return piece[1:] if piece.startswith("'") and piece[1:].startswith(_TRIGGERS) else piece


def text_lines(data: bytes, need_final_newline: bool) -> list[str] | None:
    """The lines of ``data`` (without their LF), or None where it is not such a text file."""
    if need_final_newline and data.removeprefix(b"\xef\xbb\xbf").rpartition(b"\n")[2].strip():
        return None
    text = decoded(data)
    if text is None:
        return None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines
