"""Reading correlation-clustering instances into a :class:`corrclust.Problem`, and writing them.

Text formats are recognised by their content, binary ones by their extension:

* **PACE 2021 cluster editing** (``.gr``): ``c`` comment lines, one line ``p cep <n> <m>``, then
  m lines ``u v`` (1-based), the edges of a simple graph G. Read as the complete graph K_n with
  cost +1 on the edges of G and -1 on its non-edges (dense). The minimum number of edits is
  ``objective + C(n, 2) - m``; the offset ``C(n, 2) - m`` is stored as
  ``problem.metadata["edit_offset"]`` (see :func:`pace_edits`).
* **MULTICUT** text (OpenGM benchmark conversions): the line ``MULTICUT``, then lines
  ``i j cost`` (0-based). Parallel edges are summed. The file does not state n; it is the largest
  index + 1.
* ``.npy``: a dense (n, n) cost matrix or a condensed vector. ``.npz``: arrays ``edges`` and
  ``costs`` (and optionally ``n``) for a sparse problem, an array ``costs`` (or the only array)
  for a dense one, or a file written by ``scipy.sparse.save_npz``.

:func:`write_multicut` writes any problem as MULTICUT text (a dense one as all its pairs), with
costs in shortest round-trip notation, so reading the file back gives the same costs bit for bit.

Text files are read strictly: UTF-8 (a leading byte-order mark is ignored), integers and numbers
in plain ASCII notation only (no ``1_0``, no non-ASCII digits), and the last line must end with a
line break, since a file cut off in the middle of a number would otherwise be read as a different,
valid instance. A file whose node count would not fit in memory is refused before anything is
allocated (:mod:`corrclust.memory`). Errors name the file and, for text, the line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from corrclust.formats.numbers import INTEGER, NUMBER
from corrclust.memory import InsufficientMemoryError, dense_problem_bytes, require, sparse_problem_bytes
from corrclust.problem import Problem

__all__ = ["read_instance", "read_pace", "read_multicut", "pace_edits", "write_multicut"]


def read_instance(path: str | os.PathLike[str]) -> Problem:
    """The problem stored in ``path`` (format detected as described in the module docstring)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"instance file not found: {path}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"instance path is a directory: {path}")
    lower = path.lower()
    if lower.endswith(".npy"):
        return _read_npy(path)
    if lower.endswith(".npz"):
        return _read_npz(path)
    with open(path, "rb") as fh:
        if b"\0" in fh.read(4096):
            raise ValueError(
                f"{path}: binary file of unknown format (expected PACE .gr, MULTICUT, .npy or .npz)"
            )
        fh.seek(0)
        # The first line that is not a comment decides, however long the comments before it (a
        # fixed window refused a PACE file whose comments filled it). Lines end at LF only, as the
        # readers split them (str.splitlines() would also split at \v, \f, ...).
        for k, raw in enumerate(fh):
            line = (raw.removeprefix(_BOM) if k == 0 else raw).decode("utf-8", errors="replace").strip()
            if not line or line.startswith("c"):  # PACE: a line starting with 'c' is a comment
                continue
            if line.split()[0] == "p":
                return read_pace(path)
            if line.upper() == "MULTICUT":
                return read_multicut(path)
            break
    raise ValueError(
        f"{path}: unknown instance format (expected a PACE 'p cep n m' header, a MULTICUT header, .npy or .npz)"
    )


def read_pace(path: str | os.PathLike[str]) -> Problem:
    """A PACE 2021 cluster-editing ``.gr`` file as a dense +1/-1 problem."""
    path = os.fspath(path)
    n = m = -1
    us: list[int] = []
    vs: list[int] = []
    seen: dict[tuple[int, int], int] = {}
    for lineno, line in _text_lines(path):
        if not line or line[0] == "c":
            continue
        parts = line.split()
        if parts[0] == "p":
            if n >= 0:
                raise ValueError(f"{path}, line {lineno}: a second 'p' line")
            if len(parts) != 4 or parts[1] != "cep":
                raise ValueError(f"{path}, line {lineno}: expected 'p cep <n> <m>', got {line!r}")
            n, m = _ints(parts[2:], path, lineno)
            if n <= 0 or m < 0:
                raise ValueError(
                    f"{path}, line {lineno}: n must be positive and m non-negative, got {n}, {m}"
                )
            _require(
                dense_problem_bytes(n), f"the dense {n} x {n} cost matrix of this instance", path, lineno
            )
            continue
        if n < 0:
            raise ValueError(f"{path}, line {lineno}: an edge before the 'p cep <n> <m>' line")
        if len(parts) != 2:
            raise ValueError(f"{path}, line {lineno}: expected an edge 'u v', got {line!r}")
        u, v = _ints(parts, path, lineno)
        if not (1 <= u <= n and 1 <= v <= n):
            raise ValueError(f"{path}, line {lineno}: node out of range 1..{n} in edge {u} {v}")
        if u == v:
            raise ValueError(f"{path}, line {lineno}: self-loop on node {u}")
        key = (min(u, v), max(u, v))
        if key in seen:
            raise ValueError(f"{path}, line {lineno}: edge {u} {v} repeats line {seen[key]}")
        seen[key] = lineno
        us.append(u - 1)
        vs.append(v - 1)
    if n < 0:
        raise ValueError(f"{path}: no 'p cep <n> <m>' line")
    if len(us) != m:
        raise ValueError(f"{path}: the header announces {m} edges but the file has {len(us)}")
    costs = np.full((n, n), -1.0)
    costs[us, vs] = 1.0
    costs[vs, us] = 1.0
    np.fill_diagonal(costs, 0.0)
    return Problem(
        n,
        costs,
        metadata={"format": "pace", "path": path, "graph_edges": m, "edit_offset": n * (n - 1) // 2 - m},
    )


def pace_edits(problem: Problem, objective: float) -> int | None:
    """Number of edge edits of a PACE instance for a labelling of the given objective, else None."""
    offset = problem.metadata.get("edit_offset")
    if offset is None:
        return None
    return int(round(objective)) + int(offset)


def read_multicut(path: str | os.PathLike[str]) -> Problem:
    """A MULTICUT text file (``MULTICUT`` then ``i j cost`` lines) as a sparse problem."""
    path = os.fspath(path)
    us: list[int] = []
    vs: list[int] = []
    cs: list[float] = []
    header = False
    top, top_line = -1, 0
    for lineno, line in _text_lines(path):
        if not line:
            continue
        if not header:
            if line.upper() != "MULTICUT":
                raise ValueError(f"{path}, line {lineno}: expected the header 'MULTICUT', got {line!r}")
            header = True
            continue
        parts = line.split()
        if len(parts) != 3:
            raise ValueError(f"{path}, line {lineno}: expected 'i j cost', got {line!r}")
        u, v = _ints(parts[:2], path, lineno)
        c = _float(parts[2], path, lineno)
        if u < 0 or v < 0:
            raise ValueError(f"{path}, line {lineno}: negative node index in {line!r}")
        if u == v:
            raise ValueError(f"{path}, line {lineno}: self-loop on node {u}")
        if max(u, v) > top:
            top, top_line = max(u, v), lineno
        us.append(u)
        vs.append(v)
        cs.append(c)
    if not header:
        raise ValueError(f"{path}: empty file (expected the header 'MULTICUT')")
    if not us:
        raise ValueError(f"{path}: no edges after the MULTICUT header")
    n = top + 1
    _require(
        sparse_problem_bytes(n, len(us)),
        f"node index {top} makes {n} nodes, and a sparse problem of that size",
        path,
        top_line,
    )
    problem = Problem.from_edges(n, np.array([us, vs], dtype=np.int64).T, np.array(cs))
    problem.metadata.update({"format": "multicut", "path": path, "edge_lines": len(us)})
    return problem


def write_multicut(path: str | os.PathLike[str], problem: Problem) -> None:
    """Write ``problem`` as a MULTICUT text file (atomically: complete or not at all).

    A node without any edge after the largest index cannot be expressed in the format (it does not
    state n), so such a problem is refused rather than read back smaller.
    """
    from corrclust.atomic import write_text

    edges, costs = problem.to_edges()
    if edges.shape[0] == 0:
        raise ValueError(f"{os.fspath(path)}: a problem without edges cannot be written as MULTICUT")
    if int(edges.max()) + 1 != problem.n:
        raise ValueError(
            f"{os.fspath(path)}: node {problem.n - 1} has no edge, and MULTICUT files do not state n "
            f"(write .npz with edges, costs and n instead)"
        )
    body = "".join(
        f"{u} {v} {c!r}\n"
        for u, v, c in zip(edges[:, 0].tolist(), edges[:, 1].tolist(), costs.tolist(), strict=True)
    )
    write_text(path, "MULTICUT\n" + body)


_BOM = b"\xef\xbb\xbf"
# Numbers in plain ASCII notation only (corrclust.formats.numbers): Python's int() and float()
# also take "1_0", surrounding spaces and non-ASCII digits ("١٢").
_NOT_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)\Z", re.IGNORECASE)


def _text_lines(path: str) -> Iterator[tuple[int, str]]:
    """(line number, stripped text) of every line of a UTF-8 text file, checked as described above."""
    with open(path, "rb") as fh:
        data = fh.read().removeprefix(_BOM)
    lines = data.split(b"\n")
    if lines[-1].strip():
        raise ValueError(
            f"{path}, line {len(lines)}: the last line has no line break, so the file looks cut off "
            f"(add a newline at its end if it is complete)"
        )
    for lineno, raw in enumerate(lines[:-1], start=1):
        if b"\0" in raw:
            raise ValueError(
                f"{path}, line {lineno}: a NUL byte (column {raw.index(0) + 1}): not a text file"
            )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{path}, line {lineno}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
            ) from None
        yield lineno, text.strip()


def _ints(parts: list[str], path: str, lineno: int) -> list[int]:
    if not all(INTEGER.fullmatch(p) for p in parts):
        raise ValueError(f"{path}, line {lineno}: expected integers, got {' '.join(parts)!r}")
    return [int(p) for p in parts]


def _float(text: str, path: str, lineno: int) -> float:
    if _NOT_FINITE.match(text):
        raise ValueError(f"{path}, line {lineno}: cost {text!r} is not finite")
    if not NUMBER.fullmatch(text):
        raise ValueError(f"{path}, line {lineno}: cost {text!r} is not a number")
    value = float(text)
    if not np.isfinite(value):  # e.g. 1e999
        raise ValueError(f"{path}, line {lineno}: cost {text!r} is not finite")
    return value


def _require(nbytes: int, what: str, path: str, lineno: int) -> None:
    try:
        require(nbytes, what)
    except InsufficientMemoryError as exc:
        raise InsufficientMemoryError(f"{path}, line {lineno}: {exc}") from None


def _read_npy(path: str) -> Problem:
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise ValueError(f"{path}: not a readable .npy file ({exc})") from None
    return _problem_from_array(arr, path)


def _problem_from_array(arr: Any, path: str) -> Problem:
    try:
        if arr.ndim == 1:
            problem = Problem.from_condensed(arr)
        else:
            problem = Problem.from_dense(arr)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    problem.metadata.update({"format": "npy", "path": path})
    return problem


def _read_npz(path: str) -> Problem:
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise ValueError(f"{path}: not a readable .npz file ({exc})") from None
    with data:
        keys = set(data.files)
        try:
            if {"format", "shape", "data"} <= keys:  # scipy.sparse.save_npz
                import scipy.sparse

                problem = Problem.from_sparse(scipy.sparse.load_npz(path))
            elif "edges" in keys:
                if "costs" not in keys:
                    raise ValueError("an 'edges' array needs a 'costs' array beside it")
                edges, costs = data["edges"], data["costs"]
                if edges.dtype.kind not in "iu":
                    raise ValueError(f"'edges' must hold integers, got dtype {edges.dtype}")
                if edges.ndim != 2 or edges.shape[1:] != (2,):
                    raise ValueError(f"'edges' must have shape (m, 2), got {edges.shape}")
                if "n" in keys:
                    n_arr = data["n"]
                    if n_arr.shape != () or n_arr.dtype.kind not in "iu":
                        raise ValueError(f"'n' must be one integer, got {n_arr.dtype} of shape {n_arr.shape}")
                    n = int(n_arr)
                elif edges.size:
                    n = int(edges.max()) + 1
                else:
                    raise ValueError("no edges and no 'n': the number of nodes is unknown")
                problem = Problem.from_edges(n, edges, costs)
            elif "costs" in keys or len(keys) == 1:
                arr = data["costs" if "costs" in keys else next(iter(keys))]
                problem = Problem.from_condensed(arr) if arr.ndim == 1 else Problem.from_dense(arr)
            else:
                raise ValueError(f"cannot tell which arrays hold the problem: {sorted(keys)}")
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
    problem.metadata.update({"format": "npz", "path": path})
    return problem
