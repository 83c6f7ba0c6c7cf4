"""One writer at a time per output folder: ``OUT/.corrclust.lock``.

Every output file is written atomically (:mod:`corrclust.atomic`), but two commands writing one
folder at once still mix their runs: each file is whole, yet ``clusters.csv`` may come from one
run and ``report.html``, the figures or ``similarities.npz`` from the other, and one run's removal
of stale files (:func:`corrclust.pipeline.outputs._remove_stale`) can delete the other's figures.
Nothing said so (audit qa16). A command that writes OUT therefore holds an exclusive ``flock``
on ``OUT/.corrclust.lock`` while it runs; a second one is refused at once, in one line naming the
holder, with exit code 1 (:class:`FolderBusyError` is an ``OSError``).

``flock`` locks end with their process, so a killed run (SIGKILL, power loss) leaves no lock that
blocks the next one; the file itself is removed when the holder ends normally. Where ``flock`` is
missing (Windows) or the file system refuses it (some network mounts), the command runs unlocked,
as before.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["LOCK_NAME", "FolderBusyError", "hold"]

LOCK_NAME = ".corrclust.lock"


class FolderBusyError(OSError):
    """Another process holds the output folder's lock."""


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 300, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "a process that did not say which"


@contextlib.contextmanager
def hold(folder: str | Path, command: str) -> Iterator[None]:
    """Hold ``folder``'s lock for the block (the folder is created; an empty one this call created
    is removed again at the end, so a refused or failed run leaves no empty OUT behind).

    Raises :class:`FolderBusyError` at once when another process holds it."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock
        yield
        return
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():  # the command names this mistake itself
        yield
        return
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise FolderBusyError(
                errno.EBUSY,
                f"another corrclust command is writing this folder ({holder}; its lock: {LOCK_NAME}); "
                "wait for it to end, or choose another output folder",
                str(folder),
            ) from None
        except OSError:  # the file system does not lock: run as before, unlocked
            os.close(fd)
            yield
            return
        # the holder before us may have removed the file between our open and our lock: then we
        # hold a lock on a name nobody else will open; take the file now there instead
        try:
            current = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            current = False
        if current:
            break
        os.close(fd)
    try:
        with contextlib.suppress(OSError):  # who holds it is for the message only (a full disk: none)
            os.ftruncate(fd, 0)
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
            os.pwrite(fd, f"pid {os.getpid()}, {command}, since {stamp}\n".encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)  # before the lock ends: a waiting opener then sees the name gone
        os.close(fd)
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty
