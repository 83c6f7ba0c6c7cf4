"""Atomic output files: a file appears under its final name complete, or not at all.

Each output is written to a hidden temporary file in the same folder (so the final rename never
crosses a file system) and moved into place with :func:`os.replace`. If the writer raises (an error,
Ctrl-C), the temporary file is removed and any previous file of that name is left untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "write_text"]

# mkstemp creates files readable by the owner only; outputs get the usual permissions instead.
_UMASK = os.umask(0o022)
os.umask(_UMASK)
_MODE = 0o666 & ~_UMASK


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, on failure it is deleted.

    The temporary name does not keep the extension, so writers that infer a format from the name
    (matplotlib, numpy) must be told the format explicitly.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, _MODE)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write a UTF-8 text file atomically (``\n`` line ends on every platform)."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
