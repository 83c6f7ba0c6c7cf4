"""Property tests (hypothesis) for every file reader but MULTICUT (in test_properties.py).

Each reader gets files written by a generator and then mutated byte by byte (replaced, inserted,
deleted), or for ``.npz`` inputs, generated arrays of every kind of wrong dtype and shape. Every
input is either read exactly as a strict reference parser of this file reads it, or refused with
a one-line ``ValueError`` naming the file (and, for text, the line). The reference parsers are
written from the format descriptions, independently of the package; they share one rule for
numbers: plain ASCII decimal notation (no ``1_0``, no non-ASCII digits, no ``nan``/``inf``).

Profiles: ``ci`` (default) and ``nightly`` (``HYPOTHESIS_PROFILE=nightly``), see fuzz_profiles.py.
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from fuzz_profiles import examples  # noqa: E402  (registers and loads the ci/nightly profiles)
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from mutated_files import Refusal, mutations, read_as_reference, read_mutated  # noqa: E402
from reference_text import INTEGER, text_lines, unquote  # noqa: E402

from corrclust import memory  # noqa: E402
from corrclust.formats.clusterings import read_clustering  # noqa: E402
from corrclust.formats.instances import read_instance  # noqa: E402
from corrclust.pipeline.correlations import load_correlations  # noqa: E402
from corrclust.pqap.io import FIELDS, read_keypoints, read_matching_results, read_parameters  # noqa: E402

MUTATED = examples(ci=150, nightly=4000)
# A mutated header may announce many nodes: the tests lend the readers this much memory, so that
# such a file is refused by the memory check rather than allocated.
LENT_MEMORY = 32 * 2**20

# --- shared pieces -------------------------------------------------------------------------------

_NUM = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _number(text: str) -> float | None:
    if not _NUM.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _unquote_unquoted(text: str) -> str:
    return ",".join(unquote(p) for p in text.split(","))


# A text reader names the line (``FILE: line N`` or ``FILE, line N``); errors about the whole file
# (a missing block, a count) need none. An .npz reader names the file only.
TEXT = Refusal(
    line=r"[:,] line",
    whole_file=r"missing|no |ends|announces|header|empty|closed|has (features|candidates)|format",
)
BINARY = Refusal()


# --- PACE ----------------------------------------------------------------------------------------


def reference_pace(data: bytes) -> tuple[str, object] | None:
    """("ok", dense costs) or ("too big", n) for a valid PACE file; None where it is not one.

    Comment lines start with 'c'; one 'p cep n m' line (n > 0, m >= 0) before the edges; m edge
    lines 'u v', 1 <= u, v <= n, no self-loop, no pair twice; the file ends with a line break and
    holds no NUL byte (not even in a comment)."""
    lines = text_lines(data, need_final_newline=True)
    if lines is None or "\0" in "".join(lines):
        return None
    n = m = -1
    edges: set[tuple[int, int]] = set()
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("c"):
            continue
        parts = line.split()
        if parts[0] == "p":
            if n >= 0 or len(parts) != 4 or parts[1] != "cep":
                return None
            if not (INTEGER.fullmatch(parts[2]) and INTEGER.fullmatch(parts[3])):
                return None
            n, m = int(parts[2]), int(parts[3])
            if n <= 0 or m < 0:
                return None
            if 8 * n * n > LENT_MEMORY:
                return ("too big", n)
            continue
        if n < 0 or len(parts) != 2 or not all(INTEGER.fullmatch(p) for p in parts):
            return None
        u, v = int(parts[0]), int(parts[1])
        if not (1 <= u <= n and 1 <= v <= n) or u == v:
            return None
        key = (min(u, v), max(u, v))
        if key in edges:
            return None
        edges.add(key)
    if n < 0 or len(edges) != m:
        return None
    costs = -np.ones((n, n))
    for u, v in edges:
        costs[u - 1, v - 1] = costs[v - 1, u - 1] = 1.0
    np.fill_diagonal(costs, 0.0)
    return ("ok", costs)


@st.composite
def pace_files(draw) -> bytes:
    n = draw(st.integers(1, 6))
    pairs = [(i, j) for i in range(1, n + 1) for j in range(i + 1, n + 1)]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True)) if pairs else []
    comment = draw(st.sampled_from(("", "c a comment\n", "c\n")))
    body = "".join(f"{v} {u}\n" if draw(st.booleans()) else f"{u} {v}\n" for u, v in chosen)
    return f"{comment}p cep {n} {len(chosen)}\n{body}".encode()


@settings(max_examples=MUTATED)
@given(pace_files(), mutations())
def test_mutated_pace_files_are_read_exactly_or_refused(tmp_path_factory, monkeypatch_module, raw, changes):
    def read(p: Path) -> object:
        try:
            return read_instance(p)
        except memory.InsufficientMemoryError as exc:  # a header announcing more than LENT_MEMORY
            assert str(p) in str(exc) and "\n" not in str(exc)
            return "too big"

    got, expected = read_mutated(tmp_path_factory, raw, changes, "instance.gr", reference_pace, read, TEXT)
    if got is None:
        return
    assert expected[0] == ("too big" if got == "too big" else "ok"), expected
    if got != "too big":
        np.testing.assert_array_equal(got.to_dense(), expected[1])


# --- key points ----------------------------------------------------------------------------------


def reference_keypoints(data: bytes):
    """(ids, features, candidates, selection) of a valid feature-vector file, else None.

    'begin_selection_parameters' (blank lines before it allowed), 'name,value' lines (a name once,
    value the rest of the line), 'end_selection_parameters' (trailing commas allowed on the two
    markers); then per organoid 'features_begin,<id>' ... 'features_end,<id>' and the same for
    candidates, each row 13 numbers; ids are non-negative integers; blank lines between blocks."""
    lines = text_lines(data, need_final_newline=False)
    if lines is None:
        return None
    lines = [line.rstrip("\r") for line in lines]
    k = 0
    while k < len(lines) and not lines[k].strip():
        k += 1
    if k == len(lines) or lines[k].rstrip(",") != "begin_selection_parameters":
        return None
    k += 1
    selection: dict[str, str] = {}
    while True:
        if k == len(lines):
            return None
        head = lines[k].rstrip(",")
        k += 1
        if head == "end_selection_parameters":
            break
        key, sep, value = head.partition(",")
        if not sep or not key:
            return None
        key, value = _unquote_unquoted(key), _unquote_unquoted(value)
        if key in selection:
            return None
        selection[key] = value
    ids: list[int] = []
    tables: dict[str, dict[int, np.ndarray]] = {"features": {}, "candidates": {}}
    while k < len(lines):
        line = lines[k]
        k += 1
        if not line.strip():
            continue
        key, _, value = line.partition(",")
        if key not in ("features_begin", "candidates_begin") or not re.fullmatch(r"[0-9]+", value):
            return None
        kind, ident = key[: -len("_begin")], int(value)
        if ident in tables[kind]:
            return None
        rows = []
        while True:
            if k == len(lines):
                return None
            line = lines[k]
            k += 1
            if line == f"{kind}_end,{value}" or (
                line.startswith(f"{kind}_end,")
                and re.fullmatch(r"[0-9]+", line.split(",", 1)[1])
                and int(line.split(",", 1)[1]) == ident
            ):
                break
            cells = line.split(",")
            values = [_number(c) for c in cells]
            if len(cells) != len(FIELDS) or any(v is None for v in values):
                return None
            rows.append(values)
        tables[kind][ident] = np.array(rows, dtype=np.float64).reshape(len(rows), len(FIELDS))
        if ident not in ids:
            ids.append(ident)
    if any(i not in tables["features"] or i not in tables["candidates"] for i in ids):
        return None
    return ids, tables["features"], tables["candidates"], selection


_cells = st.one_of(
    st.integers(-300, 300).map(str), st.floats(-1e3, 1e3, allow_nan=False).map(lambda v: f"{v:g}")
)


@st.composite
def keypoint_files(draw) -> bytes:
    out = ["begin_selection_parameters"]
    for name in draw(
        st.lists(st.sampled_from(("image_set", "threshold", "w", "=x")), unique=True, max_size=3)
    ):
        value = draw(st.sampled_from(("set_a", "0.5", "'=HYPERLINK(a)", "")))
        out.append(f"{name},{value}")
    out.append("end_selection_parameters")
    for ident in draw(st.lists(st.integers(0, 2000), unique=True, min_size=1, max_size=3)):
        for kind in ("features", "candidates"):
            out.append(f"{kind}_begin,{ident}")
            for _ in range(draw(st.integers(0, 2))):
                out.append(",".join(draw(st.lists(_cells, min_size=13, max_size=13))))
            out.append(f"{kind}_end,{ident}")
    return ("\n".join(out) + "\n").encode()


@settings(max_examples=MUTATED)
@given(keypoint_files(), mutations())
def test_mutated_keypoint_files_are_read_exactly_or_refused(tmp_path_factory, raw, changes):
    kp, expected = read_mutated(
        tmp_path_factory, raw, changes, "kp.csv", reference_keypoints, read_keypoints, TEXT
    )
    if kp is None:
        return
    ids, features, candidates, selection = expected
    assert kp.ids == ids and kp.selection == selection
    for i in ids:
        np.testing.assert_array_equal(kp.features[i], features[i])
        np.testing.assert_array_equal(kp.candidates[i], candidates[i])


# --- PQAP parameters -----------------------------------------------------------------------------

_PARAMETERS = (
    "color_cost_offset",
    "dist_cost_offset",
    "angle_cost_offset",
    "color_to_dist_weight",
    "unary_to_quadr_weight",
)


def reference_parameters(data: bytes) -> dict[str, float] | None:
    """'name = value' lines (space around both allowed), each of the five names once; blank lines
    and lines starting with '#' ignored."""
    lines = text_lines(data, need_final_newline=False)
    if lines is None:
        return None
    values: dict[str, float] = {}
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key, number = key.strip(), _number(value.strip())
        if not sep or key not in _PARAMETERS or key in values or number is None:
            return None
        values[key] = number
    return values if len(values) == len(_PARAMETERS) else None


@st.composite
def parameter_files(draw) -> bytes:
    names = draw(st.permutations(_PARAMETERS))
    lines = [f"{name}={draw(st.floats(0, 1).map(lambda v: f'{v:g}'))}" for name in names]
    if draw(st.booleans()):
        lines.insert(0, "# learned")
    return ("\n".join(lines) + "\n").encode()


@settings(max_examples=MUTATED)
@given(parameter_files(), mutations())
def test_mutated_parameter_files_are_read_exactly_or_refused(tmp_path_factory, raw, changes):
    params, expected = read_mutated(
        tmp_path_factory, raw, changes, "params.txt", reference_parameters, read_parameters, TEXT
    )
    if params is None:
        return
    assert params.as_dict() == expected


# --- PQAP matching results ----------------------------------------------------------------------

_BLOCKS = ("quadratic_matching", "linear_by_feature", "linear_by_candidate", "optimal_quadratic_matching")
_CONSTANTS = ("cost_double_assignment", "cost_mismatching_channels")


def reference_matching_results(data: bytes):
    """(ids, blocks, assignments, parameters, constants, selection) of a valid matching-results
    file, else None. Lines padded with trailing commas (no empty cell before the padding), blank
    lines skipped; four blocks 'name,id,...' + one row 'id,v,...' per id with 'S' on the diagonal
    (values: numbers, or nan, inf, -inf as the writer spells them); then in any order
    'assignment,a,b,k...' (a != b among the ids, each pair once, k >= -1), the five parameters and
    two constants 'name,number' (finite), and one selection block."""
    lines = text_lines(data, need_final_newline=False)
    if lines is None:
        return None
    rows = []
    for line in lines:
        cells = line.rstrip("\r").split(",")
        while cells and cells[-1] == "":
            cells.pop()
        if "" in cells:
            return None
        if cells:
            rows.append(cells)

    def integers(texts):
        return [int(t) for t in texts] if all(INTEGER.fullmatch(t) for t in texts) else None

    def value(text):
        return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}.get(text, _number(text))

    pos, ids, blocks = 0, None, {}
    for name in _BLOCKS:
        if pos >= len(rows) or rows[pos][0] != name or integers(rows[pos][1:]) is None:
            return None
        header = integers(rows[pos][1:])
        if ids is None:
            if not header or len(set(header)) != len(header):
                return None
            ids = header
        elif header != ids:
            return None
        n = len(ids)
        m = np.full((n, n), np.nan)
        for a in range(n):
            pos += 1
            if pos >= len(rows) or len(rows[pos]) != n + 1 or integers(rows[pos][:1]) != [ids[a]]:
                return None
            for b, cell in enumerate(rows[pos][1:]):
                if (cell == "S") != (a == b):
                    return None
                if a != b:
                    if value(cell) is None:
                        return None
                    m[a, b] = value(cell)
        blocks[name] = m
        pos += 1
    assignments, numbers, selection, in_selection, closed = {}, {}, {}, False, False
    for cells in rows[pos:]:
        key = cells[0]
        if in_selection:
            if key == "end_selection_parameters":
                in_selection, closed = False, True
            else:
                selection[_unquote_unquoted(key)] = _unquote_unquoted(cells[1]) if len(cells) > 1 else ""
            continue
        if key == "assignment":
            got = integers(cells[1:])
            if got is None or len(got) < 2:
                return None
            a, b, *vec = got
            if a not in ids or b not in ids or a == b or (a, b) in assignments or any(k < -1 for k in vec):
                return None
            assignments[(a, b)] = vec
        elif key in _PARAMETERS or key in _CONSTANTS:
            if len(cells) != 2 or _number(cells[1]) is None:
                return None
            numbers[key] = _number(cells[1])
        elif key == "begin_selection_parameters":
            in_selection = True
        else:
            return None
    if in_selection or any(k not in numbers for k in _PARAMETERS):
        return None
    return ids, blocks, assignments, numbers, selection, closed


@st.composite
def matching_files(draw) -> bytes:
    ids = draw(st.lists(st.integers(0, 1500), unique=True, min_size=1, max_size=3))
    n = len(ids)
    out = []
    for name in _BLOCKS:
        out.append([name, *map(str, ids)])
        for a in range(n):
            cells = [
                draw(st.sampled_from(("0.5", "-1", "1e-05", "nan", "0"))) if a != b else "S" for b in range(n)
            ]
            out.append([str(ids[a]), *cells])
    for a in ids:
        for b in ids:
            if a != b and draw(st.booleans()):
                out.append(
                    [
                        "assignment",
                        str(a),
                        str(b),
                        *draw(st.lists(st.sampled_from(("-1", "0", "2")), max_size=3)),
                    ]
                )
    out += [[k, "10000"] for k in _CONSTANTS] + [[k, "0.25"] for k in _PARAMETERS]
    out += [
        ["begin_selection_parameters"],
        ["image_set", draw(st.sampled_from(("a", "'=x")))],
        ["end_selection_parameters"],
    ]
    width = max(len(c) for c in out) + draw(st.integers(0, 2))
    return "".join(",".join(c + [""] * (width - len(c))) + "\n" for c in out).encode()


@settings(max_examples=MUTATED)
@given(matching_files(), mutations())
def test_mutated_matching_results_are_read_exactly_or_refused(tmp_path_factory, raw, changes):
    got, expected = read_mutated(
        tmp_path_factory,
        raw,
        changes,
        "matching.csv",
        reference_matching_results,
        read_matching_results,
        TEXT,
    )
    if got is None:
        return
    ids, blocks, assignments, numbers, selection, _ = expected
    assert got.ids == ids and got.selection == selection
    for name in _BLOCKS:
        np.testing.assert_array_equal(got.blocks[name], blocks[name])
    assert {k: v.tolist() for k, v in got.assignments.items()} == assignments
    assert got.parameters.as_dict() == {k: numbers[k] for k in _PARAMETERS}
    assert got.constants == {k: numbers[k] for k in _CONSTANTS if k in numbers}


# --- clusterings ---------------------------------------------------------------------------------

_METADATA = re.compile(r"\s*[A-Za-z_][A-Za-z0-9_ ]*:")


def reference_clustering(data: bytes) -> list[list[int]] | None:
    """The paper's format (lines of comma-separated integer ids, empty cells and blank lines
    skipped, 'key:value' metadata lines ignored), or a clusters.csv table (CSV with the header
    'id,cluster,...' as its first non-blank line; rows grouped by the cluster cell). An id at most
    once; at least one cluster."""
    lines = text_lines(data, need_final_newline=False)
    if lines is None:
        return None
    first = next((line for line in lines if line.strip()), "")
    seen: set[int] = set()
    if [c.strip().lower() for c in first.split(",")][:2] == ["id", "cluster"]:
        groups: dict[str, list[int]] = {}
        rows = list(csv.reader(io.StringIO("\n".join(lines) + "\n", newline="")))
        header = next(i for i, row in enumerate(rows) if any(c.strip() for c in row))
        for row in rows[header + 1 :]:
            if not any(c.strip() for c in row):
                continue
            if len(row) < 2 or not INTEGER.fullmatch(row[0].strip()):
                return None
            ident = int(row[0])
            if ident in seen:
                return None
            seen.add(ident)
            groups.setdefault(row[1].strip(), []).append(ident)
        return list(groups.values()) or None
    clusters = []
    for raw in lines:
        line = raw.strip()
        if not line or _METADATA.match(line):
            continue
        cluster = []
        for cell in (c.strip() for c in line.split(",")):
            if not cell:
                continue
            if not INTEGER.fullmatch(cell) or int(cell) in seen:
                return None
            seen.add(int(cell))
            cluster.append(int(cell))
        if cluster:
            clusters.append(cluster)
    return clusters or None


@st.composite
def clustering_files(draw) -> bytes:
    ids = draw(st.lists(st.integers(0, 1500), unique=True, min_size=1, max_size=12))
    labels = draw(st.lists(st.integers(0, 3), min_size=len(ids), max_size=len(ids)))
    if draw(st.booleans()):
        rows = ["id,cluster,file"] + [f"{i},{k},img_{i}.tif" for i, k in zip(ids, labels, strict=True)]
        return ("\n".join(rows) + "\n").encode()
    groups: dict[int, list[int]] = {}
    for i, k in zip(ids, labels, strict=True):
        groups.setdefault(k, []).append(i)
    lines = [",".join(map(str, g)) for g in groups.values()]
    lines += ["matching_results_file:", "clustering_threshold:0.5"]
    return ("\n".join(lines) + "\n").encode()


@settings(max_examples=MUTATED)
@given(clustering_files(), mutations())
def test_mutated_clustering_files_are_read_exactly_or_refused(tmp_path_factory, raw, changes):
    clusters, expected = read_mutated(
        tmp_path_factory, raw, changes, "clustering.csv", reference_clustering, read_clustering, TEXT
    )
    if clusters is None:
        return
    assert clusters == expected


# --- .npz inputs ---------------------------------------------------------------------------------

_ARRAYS = st.one_of(
    st.integers(0, 4).map(lambda k: np.arange(k, dtype=np.int64)),
    st.integers(0, 4).map(lambda k: np.arange(2 * k, dtype=np.int32).reshape(k, 2)),
    st.integers(0, 4).map(lambda k: np.arange(3 * k, dtype=np.int64).reshape(k, 3)),
    st.integers(1, 4).map(lambda k: np.linspace(-1, 1, k)),
    st.integers(2, 4).map(lambda k: np.ones((k, k))),
    st.integers(2, 4).map(lambda k: np.arange(k * k, dtype=np.float64).reshape(k, k)),
    st.just(np.array(3)),
    st.just(np.array(2.5)),
    st.just(np.array([[0, 1]], dtype=np.uint8)),
    st.just(np.array([[0, 1]], dtype=np.float64)),
    st.just(np.array(["0", "1"])),
    st.just(np.array([1 + 2j, 3j])),
    st.just(np.array([True, False])),
    st.just(np.array([np.nan, 1.0])),
    st.just(np.array([np.inf, 1.0])),
    st.just(np.zeros((2, 3))),
    st.just(np.zeros((2, 2, 2))),
)


@st.composite
def npz_contents(draw, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    chosen = draw(st.lists(st.sampled_from(names), unique=True, min_size=0, max_size=4))
    return {name: draw(_ARRAYS) for name in chosen}


def reference_npz_instance(arrays: dict[str, np.ndarray]):
    """The problem an .npz instance holds, as ("dense", matrix) or ("edges", {pair: cost}), else None.

    'edges' (m, 2) integers with 'costs' (m,) real, optional 'n' one integer (else largest index
    + 1); or 'costs' (or the only array): an (n, n) symmetric matrix or a condensed vector."""

    def real(a):
        return a.dtype.kind in "biuf" and a.dtype.kind != "b" and np.isfinite(a.astype(np.float64)).all()

    if "edges" in arrays:
        if "costs" not in arrays:
            return None
        e, c = arrays["edges"], arrays["costs"]
        if e.dtype.kind not in "iu" or e.ndim != 2 or e.shape[1:] != (2,):
            return None
        if c.ndim != 1 or c.shape[0] != e.shape[0] or not real(c):
            return None
        if "n" in arrays:
            if arrays["n"].shape != () or arrays["n"].dtype.kind not in "iu":
                return None
            n = int(arrays["n"])
        elif e.size:
            n = int(e.max()) + 1
        else:
            return None
        if n <= 0 or (e.size and (e.min() < 0 or e.max() >= n)) or np.any(e[:, 0] == e[:, 1]):
            return None
        summed: dict[tuple[int, int], float] = {}
        for (u, v), w in zip(e.tolist(), c.tolist(), strict=True):
            key = (min(u, v), max(u, v))
            summed[key] = summed.get(key, 0.0) + w
        return ("edges", n, summed)
    if "costs" in arrays or len(arrays) == 1:
        a = arrays["costs"] if "costs" in arrays else next(iter(arrays.values()))
        if not real(a) or a.size == 0:
            return None
        if a.ndim == 1:
            m = a.shape[0]
            n = int(round((1 + math.sqrt(1 + 8 * m)) / 2))
            if n * (n - 1) // 2 != m:
                return None
            dense = np.zeros((n, n))
            dense[np.triu_indices(n, 1)] = a
            return ("dense", dense + dense.T)
        if a.ndim != 2 or a.shape[0] != a.shape[1]:
            return None
        dense = a.astype(np.float64).copy()
        np.fill_diagonal(dense, 0.0)
        return ("dense", dense) if np.array_equal(dense, dense.T) else None
    return None


@settings(max_examples=examples(ci=120, nightly=3000))
@given(npz_contents(("edges", "costs", "n", "other")))
def test_npz_instances_are_read_exactly_or_refused(tmp_path_factory, arrays):
    path = tmp_path_factory.mktemp("fuzz") / "instance.npz"
    np.savez(path, **arrays)
    expected = reference_npz_instance(arrays)
    problem = read_as_reference(read_instance, path, expected, refusal=BINARY, shown=arrays)
    if problem is None:
        return
    if expected[0] == "dense":
        np.testing.assert_array_equal(problem.to_dense(), expected[1])
    else:
        assert problem.n == expected[1]
        edges, costs = problem.to_edges()
        got = {(int(u), int(v)): float(c) for (u, v), c in zip(edges.tolist(), costs.tolist(), strict=True)}
        assert got == pytest.approx(expected[2])


def reference_similarities(arrays: dict[str, np.ndarray]):
    """('ids' 1-D distinct integers, and exactly one of 'S' or 'P': real, len(ids) x len(ids),
    finite off the diagonal) as (kind, ids, matrix), else None."""
    if "ids" not in arrays or ("S" in arrays) == ("P" in arrays):
        return None
    ids = arrays["ids"]
    if ids.ndim == 1 and ids.dtype.kind == "U":  # ids kept as text (twin predict): integers spelt out
        if not all(INTEGER.fullmatch(x) for x in ids.tolist()):
            return None
        ids = np.array([int(x) for x in ids.tolist()], dtype=np.int64)
    if ids.ndim != 1 or ids.dtype.kind not in "iu" or np.unique(ids).size != ids.size:
        return None
    key = "S" if "S" in arrays else "P"
    m = arrays[key]
    if m.dtype.kind not in "biuf" or m.shape != (ids.size, ids.size):
        return None
    m = m.astype(np.float64)
    if not np.isfinite(m[~np.eye(ids.size, dtype=bool)]).all():
        return None
    return ("similarity" if key == "S" else "probability", ids.astype(np.int64), m)


@settings(max_examples=examples(ci=120, nightly=3000))
@given(npz_contents(("ids", "S", "P", "other")))
def test_npz_similarities_are_read_exactly_or_refused(tmp_path_factory, arrays):
    path = tmp_path_factory.mktemp("fuzz") / "S.npz"
    np.savez(path, **arrays)
    expected = reference_similarities(arrays)
    corr = read_as_reference(load_correlations, path, expected, refusal=BINARY, shown=arrays)
    if corr is None:
        return
    assert corr.kind == expected[0]
    np.testing.assert_array_equal(corr.ids, expected[1])
    np.testing.assert_array_equal(corr.matrix, expected[2])


@pytest.fixture(scope="module")
def monkeypatch_module():
    """Lends the readers LENT_MEMORY, so that a mutated header asking for more is refused cheaply."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(memory, "available_bytes", lambda: LENT_MEMORY)
        yield mp
