"""``metrics.json`` at any n: the metrics of :func:`corrclust.metrics.compare` and the contingency
table as its non-zero cells, streamed into a file that appears only when complete.

The dense contingency table has (true classes) x (clusters) cells: 10^3 classes and 10^5 clusters
make 10^8. Its non-zero cells are at most n (one per image) and usually far fewer; they are written
as ``[class, cluster, count]`` triples, ``block`` at a time, so memory is the sparse table (O(n)),
never a dense one. Everything else is one small JSON object.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from corrclust.atomic import atomic_path
from corrclust.jsonable import jsonable

__all__ = ["write_metrics", "read_contingency"]


def write_metrics(
    path: str | os.PathLike[str],
    truth: Any,
    labels: Any,
    extra: Mapping[str, Any] | None = None,
    *,
    block: int = 65536,
) -> dict[str, float | int]:
    """Compare ``labels`` with ``truth`` (one entry per item each) and write ``path``; returns the metrics.

    The file holds the metrics, ``extra`` (e.g. the truth's source), ``classes`` and ``clusters``
    (the distinct true and predicted labels, in the order of the table's rows and columns) and
    ``contingency_cells``: ``[row, column, count]`` for every non-zero cell, by row then column.
    """
    from corrclust.metrics import compare, contingency_table

    metrics = compare(truth, labels)
    table = contingency_table(truth, labels, sparse=True).tocoo()
    order = np.lexsort((table.col, table.row))
    rows, cols, counts = table.row[order], table.col[order], table.data[order]
    head = dict(jsonable(dict(metrics)))
    head.update(jsonable(dict(extra or {})))
    head["classes"] = jsonable(np.unique(np.asarray(truth)).tolist())
    head["clusters"] = jsonable(np.unique(np.asarray(labels)).tolist())
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            text = json.dumps(head, indent=1)
            fh.write(text[:-2] + ',\n "contingency_cells": [')  # the object stays open for the cells
            for start in range(0, rows.size, block):
                part = zip(
                    rows[start : start + block].tolist(),
                    cols[start : start + block].tolist(),
                    counts[start : start + block].tolist(),
                    strict=True,
                )
                fh.write(("," if start else "") + ",".join(f"\n  [{r},{c},{n}]" for r, c, n in part))
            fh.write("\n ]\n}\n")
    return metrics


def read_contingency(metrics: Mapping[str, Any]) -> Any:
    """The contingency table of a loaded ``metrics.json`` as a ``scipy.sparse.csr_matrix``."""
    import scipy.sparse

    cells = np.asarray(metrics["contingency_cells"], dtype=np.int64).reshape(-1, 3)
    shape = (len(metrics["classes"]), len(metrics["clusters"]))
    return scipy.sparse.csr_matrix((cells[:, 2], (cells[:, 0], cells[:, 1])), shape=shape)
