"""The scaffold of the reader property tests (test_properties_readers*.py): a generated file is
mutated byte by byte (replaced, inserted, deleted), written, and read both by the package's reader
and by the test's strict reference parser. The reader must return what the reference reads, or,
where the reference finds no valid file, refuse it with a one-line ``ValueError`` naming the file
(and, for text, the line; ``Refusal`` says how each test file's readers name it).

Import it after ``pytest.importorskip("hypothesis")``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

# Text that Python's int() and float() take but the formats do not (and a few that both refuse).
_SNIPPETS = ("_", "\u0661", " ", "nan", "inf", "1e999", "\ufeff", "\xa0", "'=", ",,", "\r\n", "0x1")


@st.composite
def mutations(draw) -> list[tuple[str, int, bytes]]:
    """Up to three edits (action, position, bytes), positions taken modulo the file's length."""
    count = draw(st.integers(0, 3))
    return [
        (
            draw(st.sampled_from(("replace", "insert", "delete"))),
            draw(st.integers(0, 10**6)),
            draw(
                st.one_of(
                    st.sampled_from(b"0123456789,.-+e \n\r\tcp_#=:'").map(lambda b: bytes([b])),
                    st.integers(0, 255).map(lambda b: bytes([b])),
                    st.sampled_from(_SNIPPETS).map(str.encode),
                )
            ),
        )
        for _ in range(count)
    ]


def mutate(raw: bytes, changes: list[tuple[str, int, bytes]]) -> bytes:
    out = bytearray(raw)
    for action, pos, text in changes:
        k = pos % (len(out) + 1)
        if action == "insert":
            out[k:k] = text
        elif k < len(out):
            if action == "replace":
                out[k : k + 1] = text
            else:
                del out[k]
    return bytes(out)


def write(tmp_path_factory, name: str, data: bytes) -> Path:
    """``data`` as the file ``name`` in a fresh folder."""
    path = tmp_path_factory.mktemp("fuzz") / name
    path.write_bytes(data)
    return path


@dataclass(frozen=True)
class Refusal:
    """What a clean refusal looks like: a one-line message naming the file and, when ``line`` is
    given, the line (the regex ``line`` right after the file's name) unless the message, about
    the whole file, matches ``whole_file``."""

    line: str | None = None
    whole_file: str = ""

    def check(self, exc: Exception, path: Path) -> None:
        message = str(exc)
        assert str(path) in message and "\n" not in message, message
        if self.line is not None and not re.search(re.escape(str(path)) + self.line, message):
            assert re.search(self.whole_file, message), message


def read_as_reference(read, path: Path, expected: object, *, refusal: Refusal, shown: object) -> object:
    """``read(path)`` where the reference read the input (``expected`` not None); else None, after
    checking that the reader refused it as ``refusal`` says. ``shown`` describes the input in a failure."""
    try:
        got = read(path)
    except ValueError as exc:
        refusal.check(exc, path)
        assert expected is None, f"a valid file was refused: {exc}"
        return None
    assert expected is not None, f"an invalid input was read: {shown!r}"
    return got


def read_mutated(
    tmp_path_factory,
    raw: bytes,
    changes,
    name: str,
    reference: Callable[[bytes], object],
    read,
    refusal: Refusal,
) -> tuple[object, object]:
    """(what ``read`` makes of the mutated file, what ``reference`` makes of it); the first is None
    where the reader refused the file (checked against the reference by read_as_reference)."""
    data = mutate(raw, changes)
    path = write(tmp_path_factory, name, data)
    expected = reference(data)
    return read_as_reference(read, path, expected, refusal=refusal, shown=data), expected
