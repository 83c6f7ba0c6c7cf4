"""The paper's clustering CSV: one cluster per line, then optional metadata lines.

Example (``clustering_only_unseen_classes_optimal.csv``)::

    1100,1101,...,1109
    1200,1201,...,1209
    1300,1301,...,1309
    matching_results_file:
    clustering_threshold:0.5

A data line holds comma-separated integer ids (empty cells, e.g. trailing commas, are ignored).
A line of the form ``key:value`` is metadata; it is ignored on read and written from ``metadata``
on write. Blank lines are skipped. Every id appears at most once.

:func:`read_clustering` also reads the table ``clusters.csv`` that ``corrclust cluster`` writes
(header ``id,cluster[,file]``, one row per id): the clusters are the groups of rows with the same
``cluster`` value, in order of first appearance. So ``corrclust evaluate`` and ``--truth`` take
either file.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from corrclust.atomic import write_text
from corrclust.formats.numbers import parse_int
from corrclust.formats.spreadsheet import neutralise

__all__ = [
    "PAPER_METADATA",
    "read_clustering",
    "read_cluster_table",
    "write_clustering",
    "labels_from_clusters",
    "clusters_from_labels",
]

#: The metadata lines of the paper's partition files (paper-model §3.3); the threshold there is a
#: field of the format, not the PQAP clustering threshold.
PAPER_METADATA = {"matching_results_file": "", "clustering_threshold": 0.5}

_METADATA = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_ ]*:")


def _text(path: str) -> str:
    """The file as text (UTF-8, a BOM ignored); other bytes raise ValueError naming file and line."""
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = data[exc.start]
        raise ValueError(f"{path}, line {line}: not UTF-8 text (byte 0x{byte:02x} at column {col})") from None


def read_clustering(path: str | os.PathLike[str]) -> list[list[int]]:
    """Clusters of a clustering CSV, in file order, each a list of int ids in line order.

    A ``clusters.csv`` table (header ``id,cluster,...``) is read by :func:`read_cluster_table`.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"clustering file not found: {path}")
    with io.StringIO(_text(path)) as fh:
        first = next((line for line in fh if line.strip()), "")
    if [c.strip().lower() for c in first.split(",")][:2] == ["id", "cluster"]:
        return read_cluster_table(path)
    clusters: list[list[int]] = []
    seen: dict[int, int] = {}
    with io.StringIO(_text(path)) as fh:
        for lineno, line in enumerate(fh, start=1):
            text = line.strip()
            if not text or _METADATA.match(text):
                continue
            cluster: list[int] = []
            for cell in text.split(","):
                cell = cell.strip()
                if not cell:
                    continue
                ident = parse_int(cell)
                if ident is None:  # int() would also take '1_0' or non-ASCII digits
                    raise ValueError(f"{path}, line {lineno}: {cell[:40]!r} is not an integer id")
                if ident in seen:
                    raise ValueError(
                        f"{path}, line {lineno}: id {ident} appears again (first on line {seen[ident]})"
                    )
                seen[ident] = lineno
                cluster.append(ident)
            if cluster:
                clusters.append(cluster)
    if not clusters:
        raise ValueError(f"{path}: no clusters found")
    return clusters


def read_cluster_table(path: str | os.PathLike[str]) -> list[list[int]]:
    """Clusters of a ``clusters.csv`` table (header ``id,cluster``, more columns ignored), grouped by
    the ``cluster`` value in order of first appearance; ids keep their row order."""
    path = os.fspath(path)
    groups: dict[str, list[int]] = {}
    seen: dict[int, int] = {}
    header = False
    with io.StringIO(_text(path), newline="") as fh:
        rows = csv.reader(fh)
        for row in rows:
            lineno = rows.line_num  # the line a row ends on (a quoted cell may span lines)
            if not any(c.strip() for c in row):
                continue
            if not header:  # the header is the first non-blank line
                header = True
                continue
            if len(row) < 2:
                raise ValueError(f"{path}, line {lineno}: expected 'id,cluster', got {','.join(row)[:60]!r}")
            ident = parse_int(row[0].strip())
            if ident is None:
                raise ValueError(f"{path}, line {lineno}: {row[0][:40]!r} is not an integer id")
            if ident in seen:
                raise ValueError(
                    f"{path}, line {lineno}: id {ident} appears again (first on line {seen[ident]})"
                )
            seen[ident] = lineno
            groups.setdefault(row[1].strip(), []).append(ident)
    if not groups:
        raise ValueError(f"{path}: no clusters found")
    return list(groups.values())


def write_clustering(
    path: str | os.PathLike[str],
    clusters: Iterable[Sequence[Any]],
    metadata: Mapping[str, Any] | None = None,
) -> None:
    """Writes one comma-separated line of ids per cluster, then ``key:value`` metadata lines.

    Pass ``metadata=PAPER_METADATA`` to reproduce the paper's files exactly.
    """
    lines = []
    seen: set[int] = set()
    for k, cluster in enumerate(clusters):
        ids = [_as_int_id(x, f"cluster {k}") for x in cluster]
        if not ids:
            raise ValueError(f"cluster {k} is empty")
        for ident in ids:
            if ident in seen:
                raise ValueError(f"id {ident} is in more than one cluster")
            seen.add(ident)
        lines.append(",".join(str(i) for i in ids))
    for key, value in (metadata or {}).items():
        if ":" in str(key) or "\n" in f"{key}{value}" or not _METADATA.match(f"{key}:"):
            raise ValueError(f"invalid metadata entry {key!r}: {value!r}")
        # Metadata lines are ignored on read, but a value with commas spans several cells: those
        # after the first (which starts with the key) are made spreadsheet-safe.
        first, *rest = ("" if value is None else str(value)).split(",")
        lines.append(",".join([f"{key}:{first}", *(neutralise(cell) for cell in rest)]))
    write_text(path, "\n".join(lines) + "\n")


def _as_int_id(x: Any, where: str) -> int:
    if isinstance(x, (bool, np.bool_)):
        raise ValueError(f"{where}: id {x!r} is not an integer")
    if isinstance(x, (int, np.integer)):
        return int(x)
    raise ValueError(f"{where}: id {x!r} is not an integer")


def labels_from_clusters(clusters: Sequence[Sequence[int]], ids: Sequence[int]) -> np.ndarray:
    """Labels (int64) of ``ids``: the index of the cluster that holds each id.

    Every id must be in exactly one cluster and every clustered id must be in ``ids``.
    """
    where: dict[int, int] = {}
    for k, cluster in enumerate(clusters):
        for x in cluster:
            ident = _as_int_id(x, f"cluster {k}")
            if ident in where:
                raise ValueError(f"id {ident} is in clusters {where[ident]} and {k}")
            where[ident] = k
    id_list = [_as_int_id(x, "ids") for x in ids]
    if len(set(id_list)) != len(id_list):
        raise ValueError("ids contain duplicates")
    missing = [i for i in id_list if i not in where]
    if missing:
        raise ValueError(f"{len(missing)} id(s) are in no cluster, e.g. {missing[:5]}")
    extra = set(where) - set(id_list)
    if extra:
        raise ValueError(f"{len(extra)} clustered id(s) are not in ids, e.g. {sorted(extra)[:5]}")
    return np.fromiter((where[i] for i in id_list), dtype=np.int64, count=len(id_list))


def clusters_from_labels(ids: Sequence[int], labels: ArrayLike) -> list[list[int]]:
    """Clusters (lists of ids) of a labelling, in order of first appearance; ids keep their order."""
    id_list = [_as_int_id(x, "ids") for x in ids]
    lab = np.asarray(labels)
    if lab.ndim != 1 or lab.shape[0] != len(id_list):
        raise ValueError(f"labels must be 1-D with one entry per id ({len(id_list)}), got shape {lab.shape}")
    groups: dict[Any, list[int]] = {}
    for ident, label in zip(id_list, lab.tolist(), strict=False):
        groups.setdefault(label, []).append(ident)
    return list(groups.values())
