"""Readers and writers for the paper's PQAP files (paper-model.md §3).

* Feature-vector CSV: a selection-parameter header, then per organoid a ``features_begin,<id>`` ...
  ``features_end,<id>`` block and a ``candidates_begin,<id>`` ... ``candidates_end,<id>`` block of
  13-column rows. The organoid order of the file (directory order, not sorted) and the row order
  inside every block are kept exactly: assignments are indices into these rows.
* Parameter files: ``key=value`` lines with the five PQAP cost parameters.
* Matching-results CSV: four n x n blocks (``S`` diagonal), one ``assignment`` line per ordered
  pair, the cost parameters and the selection block, every line padded with trailing commas.

All numbers are written like C++'s default stream formatting (``%g``, 6 significant digits), so
reading a file written by the paper's code and writing it back reproduces it byte for byte.
Malformed input raises ``ValueError`` naming the file and the 1-based line number.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from corrclust.atomic import write_text
from corrclust.formats.numbers import parse_float, parse_int
from corrclust.formats.spreadsheet import neutralise_unquoted, restore_unquoted

__all__ = [
    "FIELDS",
    "KeypointSet",
    "PqapParameters",
    "MatchingResults",
    "read_keypoints",
    "write_keypoints",
    "read_parameters",
    "write_parameters",
    "read_matching_results",
    "write_matching_results",
]

FIELDS = (
    "angle",
    "channel",
    "col",
    "row",
    "local_mean",
    "local_mean_forground_only",
    "local_search_dim",
    "local_std_dev",
    "local_std_dev_forground_only",
    "normalize_peak_value",
    "peak_value",
    "relative_distance_center_boundary",
    "relative_distance_center_max_distance",
)
N_FIELDS = len(FIELDS)

BLOCK_NAMES = ("quadratic_matching", "linear_by_feature", "linear_by_candidate", "optimal_quadratic_matching")


def format_number(value: float) -> str:
    """A number as C++'s default ``operator<<`` prints it (``%g``, 6 significant digits)."""
    v = float(value)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:g}"


@dataclass
class KeypointSet:
    """The key points of many organoids (one feature-vector file).

    ``features[id]`` are used when the organoid is the first argument A of a matching,
    ``candidates[id]`` when it is the second argument B; both are (k, 13) float64 arrays whose
    columns are :data:`FIELDS` and whose rows keep the file order.
    """

    ids: list[int]
    features: dict[int, np.ndarray]
    candidates: dict[int, np.ndarray]
    selection: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, ids: Iterable[int]) -> KeypointSet:
        """The key points of the given organoids, in the given order."""
        ids = [int(i) for i in ids]
        missing = [i for i in ids if i not in self.features]
        if missing:
            raise ValueError(f"organoid ids not in the key-point set: {missing[:10]}")
        return KeypointSet(
            ids=ids,
            features={i: self.features[i] for i in ids},
            candidates={i: self.candidates[i] for i in ids},
            selection=dict(self.selection),
        )

    def validate(self) -> None:
        """Raise ValueError unless every organoid has finite (k, 13) feature and candidate arrays."""
        if len(set(self.ids)) != len(self.ids):
            raise ValueError("duplicate organoid ids in the key-point set")
        for name, table in (("features", self.features), ("candidates", self.candidates)):
            for i in self.ids:
                if i not in table:
                    raise ValueError(f"organoid {i} has no {name}")
                a = np.asarray(table[i])
                if a.ndim != 2 or a.shape[1] != N_FIELDS:
                    raise ValueError(f"{name} of organoid {i} must have shape (k, {N_FIELDS}), got {a.shape}")
                if not np.all(np.isfinite(a)):
                    raise ValueError(f"{name} of organoid {i} contain NaN or infinite values")


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """The lines of a UTF-8 text file (a BOM ignored); a line that is not UTF-8 raises ValueError
    naming the file, line and column instead of a bare UnicodeDecodeError."""
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ValueError(
                    f"{path}: line {lineno}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
                ) from None
            yield lineno, line.rstrip("\r\n")


def read_keypoints(path: str | os.PathLike) -> KeypointSet:
    """Read a feature-vector CSV (paper-model.md §3.1) into a :class:`KeypointSet`."""
    path = Path(path)
    ids: list[int] = []
    features: dict[int, np.ndarray] = {}
    candidates: dict[int, np.ndarray] = {}
    selection: dict[str, str] = {}

    def err(lineno: int, msg: str) -> ValueError:
        return ValueError(f"{path}: line {lineno}: {msg}")

    state = "start"  # start -> selection -> body; inside body: block (kind, id, rows)
    block_kind = ""
    block_id = 0
    block_rows: list[list[float]] = []
    lineno = 0
    for lineno, line in _lines(path):
        if state == "start":
            if not line.strip():
                continue
            if line.rstrip(",") != "begin_selection_parameters":
                raise err(lineno, f"expected 'begin_selection_parameters', got {line[:60]!r}")
            state = "selection"
            continue
        if state == "selection":
            head = line.rstrip(",")
            if head == "end_selection_parameters":
                state = "body"
                continue
            key, sep, value = head.partition(",")
            if not sep or not key:
                raise err(lineno, f"expected 'name,value' in the selection block, got {line[:60]!r}")
            key = restore_unquoted(key)
            if key in selection:
                raise err(lineno, f"selection parameter {key[:40]!r} given twice")
            selection[key] = restore_unquoted(value)
            continue
        if state == "body":
            if not line.strip():
                continue
            key, sep, value = line.partition(",")
            if key not in ("features_begin", "candidates_begin"):
                raise err(
                    lineno, f"expected 'features_begin,<id>' or 'candidates_begin,<id>', got {line[:60]!r}"
                )
            block_kind = key[: -len("_begin")]
            block_id = _organoid_id(value, err, lineno)
            table = features if block_kind == "features" else candidates
            if block_id in table:
                raise err(lineno, f"second {block_kind} block for organoid {block_id}")
            block_rows = []
            state = "block"
            continue
        # state == "block"
        if (
            line.startswith(block_kind + "_end")
            or line.startswith("features_")
            or line.startswith("candidates_")
        ):
            key, sep, value = line.partition(",")
            if key != block_kind + "_end":
                raise err(lineno, f"expected '{block_kind}_end,{block_id}', got {line[:60]!r}")
            end_id = _organoid_id(value, err, lineno)
            if end_id != block_id:
                raise err(
                    lineno, f"'{block_kind}_end,{end_id}' does not match '{block_kind}_begin,{block_id}'"
                )
            arr = np.array(block_rows, dtype=np.float64).reshape(len(block_rows), N_FIELDS)
            if block_kind == "features":
                features[block_id] = arr
            else:
                candidates[block_id] = arr
            if block_id not in ids:
                ids.append(block_id)
            state = "body"
            continue
        cells = line.split(",")
        if len(cells) != N_FIELDS:
            raise err(lineno, f"expected {N_FIELDS} comma-separated numbers, got {len(cells)}")
        row: list[float] = []
        for column, cell in enumerate(cells, 1):
            number = parse_float(cell)
            if number is None:
                raise err(lineno, f"not a number in column {column}: {cell[:40]!r} (plain finite notation)")
            row.append(number)
        block_rows.append(row)

    if state in ("start", "selection"):
        raise ValueError(f"{path}: no complete selection-parameter block (begin/end_selection_parameters)")
    if state == "block":
        raise ValueError(
            f"{path}: line {lineno}: file ends inside the {block_kind} block of organoid {block_id}"
        )
    for i in ids:
        if i not in features:
            raise ValueError(f"{path}: organoid {i} has candidates but no features block")
        if i not in candidates:
            raise ValueError(f"{path}: organoid {i} has features but no candidates block")
    return KeypointSet(ids=ids, features=features, candidates=candidates, selection=selection)


def _organoid_id(text: str, err: Callable[[int, str], ValueError], lineno: int) -> int:
    """An organoid id: ASCII digits only (Python's int() would also take ' 1', '1_0' or '١')."""
    if not text.isascii() or not text.isdigit():
        raise err(lineno, f"organoid id must be an integer (ASCII digits), got {text[:40]!r}")
    return int(text)


def _format_rows(arr: np.ndarray) -> list[str]:
    return [",".join(format_number(v) for v in row) for row in np.asarray(arr, dtype=np.float64)]


def write_keypoints(path: str | os.PathLike, keypoints: KeypointSet) -> None:
    """Write a :class:`KeypointSet` as a feature-vector CSV in the paper's format (``%g`` numbers)."""
    keypoints.validate()
    out = ["begin_selection_parameters"]
    # Selection names and values are text a user chose (the image-set name): spreadsheet-safe.
    out += [f"{neutralise_unquoted(k)},{neutralise_unquoted(v)}" for k, v in keypoints.selection.items()]
    out.append("end_selection_parameters")
    for i in keypoints.ids:
        out.append(f"features_begin,{i}")
        out += _format_rows(keypoints.features[i])
        out.append(f"features_end,{i}")
        out.append(f"candidates_begin,{i}")
        out += _format_rows(keypoints.candidates[i])
        out.append(f"candidates_end,{i}")
    write_text(path, "\n".join(out) + "\n")


# --------------------------------------------------------------------------------------------
# Parameters


@dataclass(frozen=True)
class PqapParameters:
    """The five PQAP cost parameters (paper-model.md §4)."""

    color_cost_offset: float  # gamma_c
    dist_cost_offset: float  # gamma_d
    angle_cost_offset: float  # gamma_a
    color_to_dist_weight: float  # theta
    unary_to_quadr_weight: float  # lambda

    @classmethod
    def paper(cls) -> PqapParameters:
        """The parameters the paper learned (``learned_parameters.txt``)."""
        return cls(0.229732, 0.325607, 0.041533, 0.106945, 0.1)

    @classmethod
    def initial(cls) -> PqapParameters:
        """The paper's starting point for learning (``model_parameters.txt``)."""
        return cls(0.3, 0.3, 0.3, 0.5, 0.5)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def as_tuple(self) -> tuple[float, ...]:
        return tuple(float(getattr(self, n)) for n in self.names())

    def as_dict(self) -> dict[str, float]:
        return {n: float(getattr(self, n)) for n in self.names()}

    def validate(self) -> None:
        for n, v in self.as_dict().items():
            if not math.isfinite(v):
                raise ValueError(f"PQAP parameter {n} must be finite, got {v}")
        lam = self.unary_to_quadr_weight
        if not 0.0 <= lam <= 1.0:
            raise ValueError(f"unary_to_quadr_weight must lie in [0, 1], got {lam}")
        theta = self.color_to_dist_weight
        if not 0.0 <= theta <= 1.0:
            raise ValueError(f"color_to_dist_weight must lie in [0, 1], got {theta}")


def read_parameters(path: str | os.PathLike) -> PqapParameters:
    """Read a ``key=value`` parameter file with exactly the five PQAP cost parameters.

    Blank lines and lines starting with ``#`` are ignored; an unknown key, a repeated key, a
    missing key or a value that is not a finite number raises ValueError.
    """
    path = Path(path)
    names = PqapParameters.names()
    values: dict[str, float] = {}
    for lineno, line in _lines(path):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        key, sep, value = s.partition("=")
        key = key.strip()
        if not sep:
            raise ValueError(f"{path}: line {lineno}: expected 'name=value', got {line[:60]!r}")
        if key not in names:
            raise ValueError(
                f"{path}: line {lineno}: unknown PQAP parameter {key!r} (expected one of {', '.join(names)})"
            )
        if key in values:
            raise ValueError(f"{path}: line {lineno}: parameter {key!r} given twice")
        v = parse_float(value.strip())
        if v is None:
            raise ValueError(
                f"{path}: line {lineno}: {key} is not a number (plain finite notation): {value.strip()[:40]!r}"
            )
        values[key] = v
    missing = [n for n in names if n not in values]
    if missing:
        raise ValueError(f"{path}: missing PQAP parameter(s): {', '.join(missing)}")
    return PqapParameters(**values)


def write_parameters(path: str | os.PathLike, params: PqapParameters) -> None:
    """Write the five parameters as ``key=value`` lines (``%g``), the paper's layout."""
    text = "".join(f"{k}={format_number(v)}\n" for k, v in params.as_dict().items())
    write_text(path, text)


# --------------------------------------------------------------------------------------------
# Matching results


@dataclass
class MatchingResults:
    """The content of a matching-results CSV (paper-model.md §3.2).

    ``blocks[name]`` is an (n, n) float64 array indexed like ``ids`` (ascending), with NaN on the
    diagonal; cell [a, b] is the value of features(ids[a]) -> candidates(ids[b]).
    ``assignments[(id_a, id_b)]`` is the int64 vector of candidate indices (-1 = unassigned).
    """

    ids: list[int]
    blocks: dict[str, np.ndarray]
    assignments: dict[tuple[int, int], np.ndarray]
    parameters: PqapParameters
    constants: dict[str, float] = field(default_factory=dict)  # cost_double_assignment, ...
    selection: dict[str, str] = field(default_factory=dict)

    @property
    def quadratic_matching(self) -> np.ndarray:
        return self.blocks["quadratic_matching"]

    @property
    def linear_by_feature(self) -> np.ndarray:
        return self.blocks["linear_by_feature"]

    @property
    def linear_by_candidate(self) -> np.ndarray:
        return self.blocks["linear_by_candidate"]

    @property
    def optimal_quadratic_matching(self) -> np.ndarray:
        return self.blocks["optimal_quadratic_matching"]


_CONSTANT_KEYS = ("cost_double_assignment", "cost_mismatching_channels")
# How format_number writes values that are not finite (a matrix cell may be one); nothing else
# that Python's float() would take ('NaN', 'Infinity', ' 1', '1_0') is read.
_WRITTEN_NOT_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def read_matching_results(path: str | os.PathLike) -> MatchingResults:
    """Read a matching-results CSV; trailing-comma padding and empty lines are ignored."""
    path = Path(path)

    def err(lineno: int, msg: str) -> ValueError:
        return ValueError(f"{path}: line {lineno}: {msg}")

    rows: list[tuple[int, list[str]]] = []
    for lineno, line in _lines(path):
        cells = line.split(",")
        while cells and cells[-1] == "":  # the padding
            cells.pop()
        if "" in cells:  # dropping it would shift every later value into the wrong column
            raise err(lineno, f"empty cell in column {cells.index('') + 1}")
        if cells:
            rows.append((lineno, cells))

    def ints(texts: list[str], lineno: int, what: str) -> list[int]:
        values = [parse_int(t) for t in texts]
        if any(v is None for v in values):
            raise err(lineno, f"{what} must be integers, got {texts[values.index(None)][:20]!r}")
        return [v for v in values if v is not None]

    pos = 0
    ids: list[int] | None = None
    blocks: dict[str, np.ndarray] = {}
    for name in BLOCK_NAMES:
        if pos >= len(rows):
            raise ValueError(f"{path}: file ends before the '{name}' block")
        lineno, cells = rows[pos]
        if cells[0] != name:
            raise err(lineno, f"expected the '{name}' block header, got {cells[0][:40]!r}")
        header_ids = ints(cells[1:], lineno, "block header ids")
        if ids is None:
            ids = header_ids
            if len(set(ids)) != len(ids) or not ids:
                raise err(lineno, "block header must list distinct organoid ids")
        elif header_ids != ids:
            raise err(lineno, f"the '{name}' block lists different ids than the first block")
        n = len(ids)
        mat = np.full((n, n), np.nan)
        for a in range(n):
            pos += 1
            if pos >= len(rows):
                raise ValueError(f"{path}: file ends inside the '{name}' block")
            lineno, cells = rows[pos]
            if len(cells) != n + 1:
                raise err(
                    lineno, f"expected an id and {n} values in the '{name}' block, got {len(cells)} cells"
                )
            row_id = ints(cells[:1], lineno, "row ids")[0]
            if row_id != ids[a]:
                raise err(lineno, f"expected row {ids[a]} of the '{name}' block, got {row_id}")
            for b, c in enumerate(cells[1:]):
                if c == "S":
                    if a != b:
                        raise err(lineno, f"'S' off the diagonal in column {ids[b]}")
                    continue
                if a == b:
                    raise err(lineno, f"diagonal cell must be 'S', got {c!r}")
                value = _WRITTEN_NOT_FINITE.get(c, parse_float(c))
                if value is None:
                    raise err(lineno, f"not a number in column {ids[b]}: {c[:40]!r}")
                mat[a, b] = value
        blocks[name] = mat
        pos += 1
    assert ids is not None

    id_set = set(ids)
    assignments: dict[tuple[int, int], np.ndarray] = {}
    values: dict[str, float] = {}
    constants: dict[str, float] = {}
    selection: dict[str, str] = {}
    param_names = PqapParameters.names()
    in_selection = False
    while pos < len(rows):
        lineno, cells = rows[pos]
        pos += 1
        key = cells[0]
        if in_selection:
            if key == "end_selection_parameters":
                in_selection = False
                continue
            selection[restore_unquoted(key)] = restore_unquoted(cells[1]) if len(cells) > 1 else ""
            continue
        if key == "assignment":
            if len(cells) < 3:
                raise err(lineno, "assignment line needs id_a, id_b and the assignment vector")
            a, b, *entries = ints(cells[1:], lineno, "assignment ids and entries")
            vec = np.array(entries, dtype=np.int64)
            if a not in id_set or b not in id_set or a == b:
                raise err(
                    lineno, f"assignment {a} -> {b} does not name two different organoids of the blocks"
                )
            if (a, b) in assignments:
                raise err(lineno, f"second assignment line for {a} -> {b}")
            if np.any(vec < -1):
                raise err(lineno, "assignment entries must be >= -1")
            assignments[(a, b)] = vec
        elif key in param_names or key in _CONSTANT_KEYS:
            if len(cells) != 2:
                raise err(lineno, f"expected '{key},<value>'")
            v = parse_float(cells[1])
            if v is None:
                raise err(lineno, f"{key} is not a number (plain finite notation): {cells[1][:40]!r}")
            (values if key in param_names else constants)[key] = v
        elif key == "begin_selection_parameters":
            in_selection = True
        else:
            raise err(lineno, f"unexpected line starting with {key[:40]!r}")
    if in_selection:
        raise ValueError(f"{path}: selection block not closed by 'end_selection_parameters'")
    missing = [n for n in param_names if n not in values]
    if missing:
        raise ValueError(f"{path}: missing cost parameter line(s): {', '.join(missing)}")
    return MatchingResults(
        ids=list(ids),
        blocks=blocks,
        assignments=assignments,
        parameters=PqapParameters(**values),
        constants=constants,
        selection=selection,
    )


def write_matching_results(path: str | os.PathLike, results: MatchingResults) -> None:
    """Write matching results in the paper's layout, padded with trailing commas.

    Every line gets 3 + (largest assignment length) fields, as in the paper's files.
    """
    ids = list(results.ids)
    n = len(ids)
    lines: list[list[str]] = [[]]
    for name in BLOCK_NAMES:
        mat = np.asarray(results.blocks[name], dtype=np.float64)
        if mat.shape != (n, n):
            raise ValueError(f"block {name} must have shape ({n}, {n}), got {mat.shape}")
        lines.append([name] + [str(i) for i in ids])
        for a in range(n):
            lines.append([str(ids[a])] + ["S" if a == b else format_number(mat[a, b]) for b in range(n)])
    for (a, b), vec in results.assignments.items():
        lines.append(["assignment", str(a), str(b)] + [str(int(x)) for x in vec])
    constants = {"cost_double_assignment": 10000.0, "cost_mismatching_channels": 10000.0, **results.constants}
    for k in _CONSTANT_KEYS:
        lines.append([k, format_number(constants[k])])
    for k, v in results.parameters.as_dict().items():
        lines.append([k, format_number(v)])
    lines.append(["begin_selection_parameters"])
    lines += [[neutralise_unquoted(k), neutralise_unquoted(v)] for k, v in results.selection.items()]
    lines.append(["end_selection_parameters"])
    longest = max((len(v) for v in results.assignments.values()), default=0)
    width = max(3 + longest, max(len(cells) for cells in lines))
    text = "".join(",".join(cells + [""] * (width - len(cells))) + "\n" for cells in lines)
    write_text(path, text)
