"""``clusters.csv`` written as a stream: one row per id (``id,cluster[,more columns]``), a block of rows
at a time, into a temporary file that replaces the final one only when complete.

Memory is the columns passed in plus one block of text (``block`` rows), whatever n is: at n = 10^6
the table is about 15 MB on disk and never held as one string. Text cells are made safe for
spreadsheets (:mod:`corrclust.formats.spreadsheet`); numbers are written as numbers. An error or
Ctrl-C while writing leaves the previous file (or none), never half a table (:mod:`corrclust.atomic`).
The table is read back by :func:`corrclust.formats.clusterings.read_cluster_table`.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from corrclust.atomic import atomic_path
from corrclust.formats.spreadsheet import neutralise_row

__all__ = ["write_cluster_table", "BLOCK_ROWS"]

#: Rows formatted and written at a time.
BLOCK_ROWS = 8192


def write_cluster_table(
    path: str | os.PathLike[str],
    ids: Any,
    labels: Any,
    columns: Mapping[str, Sequence[Any]] | None = None,
    *,
    block: int = BLOCK_ROWS,
) -> None:
    """Write ``id,cluster`` (then ``columns`` in order) with one row per id, ``block`` rows at a time.

    ``ids`` (integers or text) and ``labels`` (integers, as the clusters should be numbered in the
    file) are 1-D arrays of one length; each of ``columns`` has one value per id (numbers, text or None for an
    empty cell).
    """
    id_arr = np.asarray(ids)
    lab = np.asarray(labels)
    if id_arr.ndim != 1 or lab.shape != id_arr.shape:
        raise ValueError(
            f"ids and labels must be 1-D of one length, got shapes {id_arr.shape} and {lab.shape}"
        )
    if lab.size and lab.dtype.kind not in "iu":
        raise ValueError(f"labels must be integers, got dtype {lab.dtype}")
    if id_arr.size and id_arr.dtype.kind not in "iuUO":
        raise ValueError(f"ids must be integers or text, got dtype {id_arr.dtype}")
    extra = dict(columns or {})
    for name, col in extra.items():
        if len(col) != id_arr.size:
            raise ValueError(f"column {name!r} has {len(col)} values for {id_arr.size} ids")
    if isinstance(block, bool) or not isinstance(block, int) or block < 1:
        raise ValueError(f"block must be a positive integer, got {block!r}")
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(neutralise_row(["id", "cluster", *extra]))
            for start in range(0, id_arr.size, block):
                stop = min(id_arr.size, start + block)
                cells = [id_arr[start:stop].tolist(), lab[start:stop].tolist()]
                cells += [["" if v is None else v for v in col[start:stop]] for col in extra.values()]
                w.writerows(neutralise_row(row) for row in zip(*cells, strict=True))
