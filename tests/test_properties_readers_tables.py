"""Property tests (hypothesis) for the small CSV readers: the image ids table (``--ids``), the
feature ids (``--embeddings E.npy --ids``), the feedback (answers) file, the ``solve --warm-start``
labels CSV and the calibration table.

Same method as test_properties_readers.py (the scaffold of both is mutated_files.py): generated
files, mutated byte by byte, are either read exactly as the strict reference parser of this file
reads them, or refused with a one-line ``ValueError`` naming the file and the line (or, for an
error about the whole file, saying what is missing). The references decode UTF-8 (a byte-order mark
dropped), split rows as the csv module does and take numbers in plain ASCII decimal notation.

Profiles: ``ci`` (default) and ``nightly`` (``HYPOTHESIS_PROFILE=nightly``), see fuzz_profiles.py.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from fuzz_profiles import examples  # noqa: E402  (registers and loads the ci/nightly profiles)
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from mutated_files import Refusal, mutations, read_mutated  # noqa: E402
from reference_text import INTEGER, decoded, unquote  # noqa: E402

from corrclust.commands.cluster import read_ids  # noqa: E402
from corrclust.commands.solve import read_labels  # noqa: E402
from corrclust.feature_costs import read_calibration  # noqa: E402
from corrclust.feedback import read_feedback  # noqa: E402
from corrclust.images.io import list_images  # noqa: E402

MUTATED = examples(ci=150, nightly=4000)
# The readers name the line as ``FILE:N:`` or ``FILE, line N``; an error about the whole file says
# what is wrong with it.
TABLE = Refusal(
    line=r"(:[0-9]+:|,? line [0-9]+)",
    whole_file=r"empty|no |lists no|header|nodes must|UTF-8|NUL|ids for",
)


def rows_of(data: bytes) -> list[tuple[int, list[str]]] | None:
    """(line number, cells) of every row holding a non-blank cell, or None where ``data`` is not
    UTF-8 or holds a NUL byte."""
    text = decoded(data)
    if text is None or "\0" in text:
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    out = []
    start = 1
    for row in reader:
        if any(c.strip() for c in row):
            out.append((start, row))
        start = reader.line_num + 1
    return out


# --- warm-start labels (node,label) ---------------------------------------------------------------


def reference_labels(data: bytes) -> list[int] | None:
    """Optional header 'node,label' (first line), then 'node,label' integer rows; nodes 0..n-1 each once."""
    text = decoded(data)
    if text is None:
        return None
    labels: dict[int, int] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        cells = [c.strip() for c in line.strip().split(",")]
        if cells == [""] or (number == 1 and cells == ["node", "label"]):
            continue
        if len(cells) != 2 or not all(INTEGER.fullmatch(c) for c in cells) or int(cells[0]) in labels:
            return None
        labels[int(cells[0])] = int(cells[1])
    if sorted(labels) != list(range(len(labels))):
        return None
    return [labels[i] for i in range(len(labels))]


@st.composite
def label_files(draw) -> bytes:
    labels = draw(st.lists(st.integers(0, 20), min_size=1, max_size=10))
    order = draw(st.permutations(range(len(labels))))
    head = "node,label\n" if draw(st.booleans()) else ""
    return (head + "".join(f"{i},{labels[i]}\n" for i in order)).encode()


@settings(max_examples=MUTATED)
@given(label_files(), mutations())
def test_mutated_label_files_are_read_exactly_or_refused(tmp_path_factory, raw, changes):
    got, expected = read_mutated(
        tmp_path_factory, raw, changes, "labels.csv", reference_labels, lambda p: read_labels(str(p)), TABLE
    )
    if got is not None:
        assert got.tolist() == expected


# --- feedback (answers) ---------------------------------------------------------------------------

_HEADER = ["a", "b", "answer", "time", "source"]


def reference_feedback(data: bytes) -> list[tuple[int, int, str, str, str]] | None:
    """Header 'a,b,answer' (+ ',time' (+ ',source')) first; rows a,b,answer[,time[,source]] with a != b
    integer ids and answer same/different/unsure (any case); lines starting with '#' ignored; an
    empty file is no answers."""
    text = decoded(data)
    if text is None:
        return None
    out: list[tuple[int, int, str, str, str]] = []
    header = None
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if "\r" in line or "\0" in line:
            return None
        cells = next(csv.reader([line]))
        if header is None:
            header = [c.strip().lower() for c in cells]
            if header not in (_HEADER[:3], _HEADER[:4], _HEADER):
                return None
            continue
        if not 3 <= len(cells) <= 5 or not all(INTEGER.fullmatch(c.strip()) for c in cells[:2]):
            return None
        a, b, answer = int(cells[0]), int(cells[1]), cells[2].strip().lower()
        if a == b or answer not in ("same", "different", "unsure"):
            return None
        extra = [unquote(c.strip()) for c in cells[3:]] + ["", ""]
        out.append((a, b, answer, extra[0], extra[1]))
    if header is None and text.strip():
        return None
    return out


@st.composite
def feedback_files(draw) -> bytes:
    width = draw(st.integers(3, 5))
    lines = [",".join(_HEADER[:width])]
    for _ in range(draw(st.integers(0, 5))):
        a, b = draw(st.lists(st.integers(0, 999), min_size=2, max_size=2, unique=True))
        cells = [str(a), str(b), draw(st.sampled_from(("same", "different", "unsure", "Same")))]
        cells += [
            draw(st.sampled_from(("2026-12-06T08:30:00Z", "", "'=x", "review")))
            for _ in range(draw(st.integers(0, width - 3)))
        ]
        lines.append(",".join(cells))
        if draw(st.booleans()):
            lines.append("# a note")
    return ("\n".join(lines) + "\n").encode()


@settings(max_examples=MUTATED)
@given(feedback_files(), mutations())
def test_mutated_feedback_files_are_read_exactly_or_refused(tmp_path_factory, raw, changes):
    got, expected = read_mutated(
        tmp_path_factory, raw, changes, "feedback.csv", reference_feedback, read_feedback, TABLE
    )
    if got is not None:
        assert [(x.a, x.b, x.answer, x.time, x.source) for x in got.answers] == expected


# --- calibration table ----------------------------------------------------------------------------

_KEYS = [f"crop_{i}.tif|{i}" for i in range(100, 106)]
_NAMES = {alias: k for k, key in enumerate(_KEYS) for alias in key.split("|")}
_TRUTHY = {"1": True, "yes": True, "true": True, "0": False, "no": False, "false": False}


def reference_calibration(data: bytes) -> list[tuple[int, int, bool]] | None:
    """'file,class' / 'id,class' (each image once, a class given) or 'a,b,same' (a != b, each pair
    once, same 1/0, yes/no, true/false); names are the aliases in _KEYS (or a path ending in one)."""
    rows = rows_of(data)
    if not rows:
        return None
    header = [h.strip().lower() for h in rows[0][1]]

    def find(name: str) -> int | None:
        name = name.strip()
        return _NAMES.get(name, _NAMES.get(Path(name).name)) if name else None

    if header in (["file", "class"], ["id", "class"]):
        labelled: dict[int, str] = {}
        for _, r in rows[1:]:
            k = find(r[0]) if len(r) == 2 else None
            if k is None or k in labelled or not r[1].strip():  # each image once, with a class
                return None
            labelled[k] = r[1].strip()
        order = sorted(labelled)
        return [(a, b, labelled[a] == labelled[b]) for n, a in enumerate(order) for b in order[n + 1 :]]
    if header == ["a", "b", "same"]:
        pairs = []
        for _, r in rows[1:]:
            if len(r) != 3 or r[2].strip().lower() not in _TRUTHY:
                return None
            a, b = find(r[0]), find(r[1])
            if a is None or b is None or a == b or any({a, b} == {x, y} for x, y, _ in pairs):
                return None  # each pair once, in either order
            pairs.append((a, b, _TRUTHY[r[2].strip().lower()]))
        group = list(range(len(_KEYS)))  # the same-class marks' classes (union-find)

        def root(x: int) -> int:
            while group[x] != x:
                x = group[x]
            return x

        for a, b, t in pairs:
            if t:
                group[root(a)] = root(b)
        if any(not t and root(a) == root(b) for a, b, t in pairs):
            return None  # marked different inside one class
        return pairs
    return None


@st.composite
def calibration_files(draw) -> bytes:
    if draw(st.booleans()):
        chosen = draw(st.lists(st.integers(100, 105), unique=True, max_size=5))
        by_file = draw(st.booleans())
        lines = ["file,class" if by_file else "id,class"]
        lines += [f"{f'crop_{i}.tif' if by_file else i},{draw(st.sampled_from('AB'))}" for i in chosen]
    else:
        lines = ["a,b,same"]
        for _ in range(draw(st.integers(0, 4))):
            a, b = draw(st.lists(st.integers(100, 105), min_size=2, max_size=2, unique=True))
            lines.append(f"{a},crop_{b}.tif,{draw(st.sampled_from(('1', '0', 'yes', 'False')))}")
    return ("\n".join(lines) + "\n").encode()


@settings(max_examples=MUTATED)
@given(calibration_files(), mutations())
def test_mutated_calibration_files_are_read_exactly_or_refused(tmp_path_factory, raw, changes):
    got, expected = read_mutated(
        tmp_path_factory,
        raw,
        changes,
        "calibration.csv",
        reference_calibration,
        lambda p: read_calibration(p, _KEYS),
        TABLE,
    )
    if got is not None:
        assert got == expected


# --- image ids table (--ids) ----------------------------------------------------------------------

_COLUMNS = ("file", "id", "class", "subset", "plate", "well", "site")


def reference_ids_table(data: bytes, folder: Path) -> list[tuple[str, int, str | None]] | None:
    """Header (first row) naming file and id among file,id,class,subset,plate,well,site; rows of as
    many cells, the file an existing file of ``folder`` (once), the id a non-negative integer (once)."""
    rows = rows_of(data)
    if not rows or rows[0][0] != 1:
        return None
    header = [h.strip().lower() for h in rows[0][1]]
    if "file" not in header or "id" not in header:
        return None
    fcol, icol = header.index("file"), header.index("id")
    ccol = header.index("class") if "class" in header else None
    out = []
    for _, r in rows[1:]:
        if len(r) != len(header):
            return None
        name = r[fcol].strip()
        if unquote(name) != name and not (folder / name).exists():
            name = unquote(name)
        text = r[icol].strip()
        if not INTEGER.fullmatch(text) or int(text) < 0:
            return None
        if not name or "\0" in name or not (folder / name).is_file():
            return None
        if int(text) in {x[1] for x in out} or (folder / name).resolve() in {
            (folder / x[0]).resolve() for x in out
        }:
            return None
        out.append((name, int(text), (r[ccol].strip() or None) if ccol is not None else None))
    return out or None


@st.composite
def ids_tables(draw) -> bytes:
    files = draw(st.lists(st.integers(0, 5), unique=True, min_size=1, max_size=5))
    ids = draw(st.lists(st.integers(0, 3000), unique=True, min_size=len(files), max_size=len(files)))
    with_class = draw(st.booleans())
    lines = ["file,id,class" if with_class else "file,id"]
    for f, i in zip(files, ids, strict=True):
        lines.append(f"img_{f}.tif,{i}" + (f",{draw(st.sampled_from(('A', 'B', '')))}" if with_class else ""))
    return ("\n".join(lines) + "\n").encode()


@settings(max_examples=MUTATED)
@given(ids_tables(), mutations())
def test_mutated_ids_tables_are_read_exactly_or_refused(tmp_path_factory, raw, changes):
    folder = tmp_path_factory.mktemp("images")
    for k in range(6):
        (folder / f"img_{k}.tif").write_bytes(b"")
    got, expected = read_mutated(
        tmp_path_factory,
        raw,
        changes,
        "ids.csv",
        lambda data: reference_ids_table(data, folder),
        lambda p: list_images(folder, p),
        TABLE,
    )
    if got is not None:
        assert [(r.path, r.id, r.label) for r in got] == [(folder / n, i, c) for n, i, c in expected]


# --- feature ids (cluster --embeddings E.npy --ids IDS.csv) ---------------------------------------


def reference_feature_ids(data: bytes, n: int) -> list[str] | None:
    """Header (first non-blank row) with an 'id' column; every further non-blank row has a
    non-blank id cell (kept as text, stripped); exactly ``n`` of them."""
    rows = rows_of(data)
    if not rows:
        return None
    header = [h.strip().lower() for h in rows[0][1]]
    if "id" not in header:
        return None
    col = header.index("id")
    ids = [r[col].strip() if len(r) > col else "" for _, r in rows[1:]]
    return ids if all(ids) and len(ids) == n else None


@st.composite
def feature_id_files(draw) -> tuple[bytes, int]:
    ids = draw(st.lists(st.sampled_from(("7", "12", "a1", "'=x", "B 2")), min_size=1, max_size=6))
    extra = draw(st.booleans())
    lines = ["id,well" if extra else "id"] + [f"{i},w" if extra else i for i in ids]
    return ("\n".join(lines) + "\n").encode(), len(ids)


@settings(max_examples=MUTATED)
@given(feature_id_files(), mutations())
def test_mutated_feature_id_files_are_read_exactly_or_refused(tmp_path_factory, generated, changes):
    raw, n = generated
    got, expected = read_mutated(
        tmp_path_factory,
        raw,
        changes,
        "ids.csv",
        lambda data: reference_feature_ids(data, n),
        lambda p: read_ids(p, n),
        TABLE,
    )
    if got is not None:
        assert got == expected
