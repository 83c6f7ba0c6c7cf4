"""The rows of a small CSV table (ids table, calibration labels, feature ids), with the line each
starts on, so that a reader's errors name the line an editor shows.

The file is UTF-8 (a spreadsheet's byte-order mark dropped); undecodable bytes and NUL bytes are
one-line ``ValueError`` s naming the file, never a ``UnicodeDecodeError`` or an "embedded null
byte" error from a later path lookup. Rows are split by the csv module (a quoted cell may span
lines); blank rows are kept, so the reader decides whether they matter.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

__all__ = ["read_rows"]


def read_rows(path: Path) -> list[tuple[int, list[str]]]:
    """``(line number where the row starts, cells)`` for every row of the CSV file ``path``."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a UTF-8 text file (byte {exc.start})") from None
    if "\0" in text:
        raise ValueError(f"{path}: holds a NUL byte, not a CSV text file")
    reader = csv.reader(io.StringIO(text, newline=""))
    out = []
    start = 1
    for row in reader:
        out.append((start, row))
        start = reader.line_num + 1
    return out
