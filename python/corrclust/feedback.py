"""The expert's answers: the feedback file ``OUT/feedback.csv``, read, appended and turned into constraints.

Format (one answer per line, append-only; written by ``corrclust review`` or by hand)::

    a,b,answer,time,source
    1100,1305,different,2026-12-06T08:30:00Z,review
    1300,1305,same,,
    1201,1207,unsure

* ``a``, ``b``: image ids (integers, as in ``clusters.csv``); ``answer``: ``same``, ``different``
  or ``unsure``; ``time`` (ISO 8601) and ``source`` (who or what answered) are optional, and so are
  their commas. The header line is required (``a,b,answer``, ``a,b,answer,time`` or all five, in
  this order); blank lines and lines starting with ``#`` are ignored.
* The **last** answer for a pair counts (an expert who changes their mind appends a new line);
  ``unsure`` counts as no answer, so it also withdraws an earlier one.
* A malformed line is an error naming the file and the line. An answer that names an id which is
  not (or no longer) in the image set is skipped and counted (:attr:`Feedback.skipped`), because
  images may be removed between runs; the count is reported to the user.

:func:`append_answers` writes whole lines under a lock (a thread lock and ``fcntl.flock``), with one
``write`` per batch on a file opened for appending, so two browser tabs or two processes answering
at once neither lose nor interleave lines.
"""

from __future__ import annotations

import csv
import io
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from corrclust.formats.numbers import parse_int
from corrclust.formats.spreadsheet import neutralise, restore

__all__ = ["HEADER", "ANSWERS", "Answer", "Feedback", "read_feedback", "append_answers", "now"]

HEADER = ("a", "b", "answer", "time", "source")
ANSWERS = ("same", "different", "unsure")

_LOCK = threading.Lock()


@dataclass(frozen=True)
class Answer:
    a: int
    b: int
    answer: str
    time: str = ""
    source: str = ""
    line: int = 0  # 1-based line number in the file (0: not from a file)


@dataclass
class Feedback:
    """The answers of a feedback file, in file order, and what was skipped."""

    answers: list[Answer] = field(default_factory=list)
    skipped: int = 0  # answers naming ids outside the image set
    skipped_ids: list[int] = field(default_factory=list)
    path: Path | None = None

    def latest(self) -> dict[tuple[int, int], Answer]:
        """The last answer of every pair (key ``(min id, max id)``), ``unsure`` ones dropped."""
        out: dict[tuple[int, int], Answer] = {}
        for ans in self.answers:
            key = (min(ans.a, ans.b), max(ans.a, ans.b))
            if ans.answer == "unsure":
                out.pop(key, None)
            else:
                out[key] = ans
        return out

    def unsure(self) -> set[tuple[int, int]]:
        """The pairs (``(min id, max id)``) whose last answer is ``unsure``: asked, and not to be
        proposed again."""
        # latest() drops a pair whose last answer is unsure, so these are the asked pairs it lacks
        asked = {(min(ans.a, ans.b), max(ans.a, ans.b)) for ans in self.answers}
        return asked - self.latest().keys()

    def pairs(self, ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """``(must_link, cannot_link)`` as index pairs into ``ids`` (the last answer of each pair)."""
        where = {int(i): k for k, i in enumerate(ids)}
        must: list[tuple[int, int]] = []
        cannot: list[tuple[int, int]] = []
        for (a, b), ans in self.latest().items():
            if a not in where or b not in where:
                continue
            (must if ans.answer == "same" else cannot).append((where[a], where[b]))
        return (
            np.array(must, dtype=np.int64).reshape(-1, 2),
            np.array(cannot, dtype=np.int64).reshape(-1, 2),
        )

    def __len__(self) -> int:
        return len(self.answers)


def now() -> str:
    """The current UTC time as written in the ``time`` column."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _int_id(text: str, path: Path, line: int, column: str) -> int:
    value = parse_int(text.strip())
    if value is None:
        raise ValueError(f"{path}:{line}: {column} {text.strip()!r} is not an integer image id")
    return value


def read_feedback(path: str | Path, ids: Iterable[int] | None = None) -> Feedback:
    """Read a feedback file; with ``ids``, answers naming other ids are skipped and counted.

    A missing file is a FileNotFoundError; a malformed line a ValueError ``"<file>:<line>: <problem>"``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"feedback file not found: {path}")
    try:
        text = path.read_bytes().decode("utf-8-sig")  # a byte-order mark (a spreadsheet's) dropped
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a UTF-8 text file") from None
    known = None if ids is None else {int(i) for i in ids}
    out = Feedback(path=path)
    header_seen = False
    # lines end at LF (CRLF too); str.splitlines would also split at form feeds, U+2028 and the like,
    # and the line numbers in the errors would no longer be the editor's
    for number, raw in enumerate(text.split("\n"), start=1):
        raw = raw.removesuffix("\r")
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if "\r" in raw or "\0" in raw:
            raise ValueError(f"{path}:{number}: a carriage return or NUL byte inside the line")
        cells = next(csv.reader([raw]))
        if not header_seen:
            names = [c.strip().lower() for c in cells]
            # time before source: a header 'a,b,answer,source' would read the sources as times
            if names not in (list(HEADER[:3]), list(HEADER[:4]), list(HEADER)):
                raise ValueError(
                    f"{path}:{number}: the first line must be the header "
                    f"{','.join(HEADER)} (time and source optional), got {raw.strip()!r}"
                )
            header_seen = True
            continue
        if not 3 <= len(cells) <= 5:
            raise ValueError(f"{path}:{number}: expected a,b,answer[,time[,source]], got {len(cells)} fields")
        a = _int_id(cells[0], path, number, "a")
        b = _int_id(cells[1], path, number, "b")
        answer = cells[2].strip().lower()
        if answer not in ANSWERS:
            raise ValueError(
                f"{path}:{number}: answer {cells[2].strip()!r} is not one of {', '.join(ANSWERS)}"
            )
        if a == b:
            raise ValueError(f"{path}:{number}: a pair needs two different ids, got {a} twice")
        if known is not None and (a not in known or b not in known):
            out.skipped += 1
            out.skipped_ids.extend(i for i in (a, b) if i not in known)
            continue
        time = restore(cells[3].strip()) if len(cells) > 3 else ""
        source = restore(cells[4].strip()) if len(cells) > 4 else ""
        out.answers.append(Answer(a, b, answer, time, source, number))
    if not header_seen and text.strip():
        raise ValueError(f"{path}: no header line {','.join(HEADER)}")
    return out


def _line(a: int, b: int, answer: str, time: str, source: str) -> str:
    buf = io.StringIO()
    # time and source are free text (a source may be any name): spreadsheet-safe, restored on read
    csv.writer(buf, lineterminator="\n").writerow(
        [int(a), int(b), answer, neutralise(time), neutralise(source)]
    )
    return buf.getvalue()


def append_answers(path: str | Path, answers: Iterable[tuple], *, source: str = "") -> int:
    """Append answers ``(a, b, answer[, time[, source]])`` as whole lines; returns how many.

    The header is written first when the file is new or empty. Every answer is checked before
    anything is written (a bad one writes nothing).
    """
    rows = []
    for item in answers:
        a, b, answer = int(item[0]), int(item[1]), str(item[2]).strip().lower()
        if answer not in ANSWERS:
            raise ValueError(f"answer {item[2]!r} is not one of {', '.join(ANSWERS)}")
        if a == b:
            raise ValueError(f"a pair needs two different ids, got {a} twice")
        time = str(item[3]) if len(item) > 3 and item[3] else now()
        src = str(item[4]) if len(item) > 4 and item[4] else source
        if any(ch in src + time for ch in "\r\n"):
            raise ValueError("time and source must be single-line text")
        rows.append(_line(a, b, answer, time, src))
    if not rows:
        return 0
    path = Path(path)
    import fcntl

    with _LOCK:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                size = os.fstat(fd).st_size
                data = "".join(rows)
                if size == 0:
                    data = ",".join(HEADER) + "\n" + data
                else:  # a file written by hand may lack the final newline
                    with open(path, "rb") as fh:
                        fh.seek(size - 1)
                        if fh.read(1) != b"\n":
                            data = "\n" + data
                payload = data.encode("utf-8")
                written = 0
                while written < len(payload):
                    written += os.write(fd, payload[written:])
                os.fsync(fd)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
    return len(rows)
