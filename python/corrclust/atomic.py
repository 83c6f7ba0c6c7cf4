"""Atomic output files: a file appears under its final name complete, or not at all.

Each output is written to a hidden temporary file in the same folder (so the final rename never
crosses a file system) and moved into place with :func:`os.replace`. If the writer raises (an error,
Ctrl-C), the temporary file is removed and any previous file of that name is left untouched.

A process killed outright (SIGKILL, power loss) cannot remove its temporary file. Its name,
``.<final name>.<pid>-<random>.part``, says which process wrote it: the first atomic write of a
later run into a folder removes the ``.part`` files there whose process is gone, so none piles up.
An OSError while writing names the final file, not the hidden temporary one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "write_text", "remove_stale_parts", "PART_PATTERN"]

# Our temporary names: hidden, the final name, the writer's pid, mkstemp's random part, ".part".
PART_PATTERN = re.compile(r"^\..+\.(\d+)-[A-Za-z0-9_]+\.part$")
_swept: set[str] = set()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return True
    return True


def remove_stale_parts(folder: str | Path) -> list[Path]:
    """Remove the temporary files of atomic writes in ``folder`` whose writing process is gone.

    Only names of our own pattern (:data:`PART_PATTERN`) are touched; a file that cannot be removed
    is left. Returns the removed paths.
    """
    removed: list[Path] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        m = PART_PATTERN.match(name)
        if m is None or _alive(int(m.group(1))):
            continue
        path = Path(folder) / name
        with contextlib.suppress(OSError):
            if path.is_file() and not path.is_symlink():
                path.unlink()
                removed.append(path)
    return removed


def _sweep_once(folder: Path) -> None:
    key = os.path.abspath(folder)
    if key not in _swept:
        _swept.add(key)
        remove_stale_parts(folder)


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
    tmp: Path | None = None
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        _sweep_once(final.parent)
        with _sigint_deferred():  # a Ctrl-C between creating the file and knowing its name would orphan it
            fd, tmp_name = tempfile.mkstemp(
                dir=final.parent, prefix=f".{final.name}.{os.getpid()}-", suffix=".part"
            )
            os.close(fd)
            tmp = Path(tmp_name)
        yield tmp
        os.chmod(tmp, _MODE)
        os.replace(tmp, final)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        if isinstance(exc, OSError) and (exc.filename is None or tmp is None or exc.filename == str(tmp)):
            raise _naming(exc, final) from None
        raise


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold a SIGINT that arrives inside the block until its end (main thread only; elsewhere the
    signal is handled by the main thread anyway)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if pending:
            if callable(previous):
                previous(signal.SIGINT, None)
            elif previous == signal.SIG_DFL:
                os.kill(os.getpid(), signal.SIGINT)


def _naming(exc: OSError, final: Path) -> OSError:
    """The same error, naming the output file the user asked for (not our temporary name)."""
    if exc.errno is None:
        # numpy's writers report a short write as "N requested and M written", without errno:
        # say what happened when the file system is full (the usual cause).
        with contextlib.suppress(OSError):
            st = os.statvfs(final.parent)
            if st.f_bavail * st.f_frsize < 64 * 1024:
                return OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} ({exc})", str(final))
        return OSError(errno.EIO, str(exc) or type(exc).__name__, str(final))
    return OSError(exc.errno, exc.strerror or str(exc), str(final))


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write a UTF-8 text file atomically (``\n`` line ends on every platform)."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
