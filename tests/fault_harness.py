"""Fault injection for the ``corrclust`` commands, shared by ``tests/test_faults.py`` and
``tools/reliability_report.py``.

A command is run as a child process (``python -m corrclust ...``) and, at a seeded random moment,
sent SIGKILL or SIGINT, or run in a folder that is read-only or too small. Afterwards its outputs
are compared with a reference run: each must be complete (equal to the reference, or for figures
and the HTML page well-formed) or absent, and no temporary file of ours may remain once a run
has finished.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

import corrclust
from corrclust.atomic import PART_PATTERN

PACKAGE_ROOT = Path(corrclust.__file__).resolve().parents[1]
# Keys of metrics.json that hold timings or paths, which differ between runs by design.
VOLATILE_KEYS = ("runtime", "elapsed", "seconds", "time", "truth", "path", "date")


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_cli(
    args: Sequence[str],
    cwd: Path,
    *,
    sig: int | None = None,
    delay: float = 0.0,
    preexec: Callable[[], None] | None = None,
    timeout: float = 120.0,
) -> tuple[int, str, float]:
    """Run ``corrclust ARGS`` in ``cwd``; with ``sig``, send it after ``delay`` seconds.

    Returns (exit code, stderr, seconds). A negative code is the signal that ended the process;
    death by SIGINT after our one-line "interrupted" message is returned as 130, which is what a
    shell reports for it (CPython ends so when a KeyboardInterrupt once passed through an
    extension's import, even though corrclust caught it).
    """
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "corrclust", *args],
        cwd=cwd,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec,
    )
    if sig is not None:
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        return -999, err + "\n[hang: killed after the timeout]", time.monotonic() - started
    code = proc.returncode
    # the line may say what a rerun takes ("interrupted; the profiles done are kept in ...")
    last = err.strip().rsplit("\n", 1)[-1]
    if code == -signal.SIGINT and re.search(r": interrupted(; .*)?$", last) and "Traceback" not in err:
        code = 130
    return code, err, time.monotonic() - started


def interrupted_before_main(err: str) -> bool:
    """Whether a run killed by SIGINT was still starting up: Python's own KeyboardInterrupt traceback
    from the imports (numpy, or corrclust.cli's own module-level code: its imports, but also a class
    body such as ``_Interrupts``, whose frame is named after the class), with no frame inside
    corrclust's ``main``. Nothing has been written then (docs/reliability.md, the known gap)."""
    return (
        "Traceback" in err
        and "KeyboardInterrupt" in err
        and not re.search(r'corrclust/cli\.py", line \d+, in main\b', err)
    )


def part_files(folder: Path) -> list[Path]:
    """Our temporary files (``.<name>.<pid>-<random>.part``) anywhere under ``folder``."""
    return sorted(p for p in folder.rglob("*") if PART_PATTERN.match(p.name))


def _strip(obj: object) -> object:
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if not any(t in k.lower() for t in VOLATILE_KEYS)}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def _complete(path: Path) -> bool:
    """A figure or page that need not be byte-identical between runs is at least whole."""
    data = path.read_bytes()
    if path.suffix == ".png":
        return data.startswith(b"\x89PNG") and data.endswith(b"IEND\xaeB`\x82")
    if path.suffix == ".html":
        return data.rstrip().endswith(b"</html>")
    return bool(data)


def compare(path: Path, ref: Path) -> str | None:
    """None if ``path`` is a complete copy of the reference output ``ref``, else what differs."""
    try:
        if path.suffix in (".png", ".html"):
            return None if _complete(path) else "incomplete"
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as a, np.load(ref, allow_pickle=False) as b:
                if sorted(a.files) != sorted(b.files):
                    return "other arrays"
                for k in a.files:
                    if (
                        a[k].dtype != b[k].dtype
                        or a[k].shape != b[k].shape
                        or a[k].tobytes() != b[k].tobytes()
                    ):
                        return f"array {k} differs"
            return None
        if path.suffix == ".pt":
            return None if path.stat().st_size > 0 and path.read_bytes()[:2] == b"PK" else "incomplete"
        if path.suffix == ".json":
            same = _strip(json.loads(path.read_text())) == _strip(json.loads(ref.read_text()))
            return None if same else "differs"
        return None if path.read_bytes() == ref.read_bytes() else "differs"
    except Exception as exc:
        return f"unreadable ({type(exc).__name__}: {exc})"


def check_outputs(out: Path, ref: Path, *, finished: bool) -> list[str]:
    """Problems of the outputs under ``out`` against the reference tree ``ref``.

    Every file that exists must be complete; when the run ``finished``, every reference file must
    exist and no temporary file may remain (a killed run may leave its own, which the next run
    removes).
    """
    problems = []
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out)
        if PART_PATTERN.match(path.name):
            if finished:
                problems.append(f"temporary file left: {rel}")
            continue
        if path.name == ".corrclust.lock":  # corrclust.folder_lock: a killed run leaves the file
            if finished:
                problems.append(f"lock file left after a finished run: {rel}")
            continue
        if "checkpoint" in path.name or path.name.endswith(".ckpt"):
            if finished:
                problems.append(f"checkpoint left after a finished run: {rel}")
            continue
        if not (ref / rel).exists():
            problems.append(f"unexpected file: {rel}")
            continue
        why = compare(path, ref / rel)
        if why:
            problems.append(f"{rel}: {why}")
    if finished:
        for path in sorted(p for p in ref.rglob("*") if p.is_file()):
            if not (out / path.relative_to(ref)).exists():
                problems.append(f"missing after a finished run: {path.relative_to(ref)}")
    return problems


def file_size_limit(nbytes: int) -> Callable[[], None]:
    """A ``preexec_fn``: writes beyond ``nbytes`` fail with EFBIG (a full disk, without root)."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))

    return apply


@contextlib.contextmanager
def tmpfs(path: Path, *, size: str = "1m", read_only: bool = False) -> Iterator[bool]:
    """Mount a small tmpfs at ``path`` (root only); yields False where mounting is not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    opts = f"size={size}" + (",ro" if read_only else "")
    ok = (
        os.geteuid() == 0
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True
        ).returncode
        == 0
    )
    try:
        yield ok
    finally:
        if ok:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


@contextlib.contextmanager
def read_only_folder(path: Path) -> Iterator[bool]:
    """``path`` as a folder nobody can write into: a read-only tmpfs as root, else mode 0555."""
    if os.geteuid() == 0:
        with tmpfs(path, read_only=True) as ok:
            yield ok
        return
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o555)
    try:
        yield True
    finally:
        path.chmod(0o755)


def one_line_error(err: str) -> bool:
    """stderr ends with exactly one ``corrclust ...: error: ...`` line and holds no traceback
    (progress notes such as "corrclust: clustering 6 images" may come before it)."""
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    errors = [ln for ln in lines if ": error: " in ln]
    return (
        bool(lines) and errors == [lines[-1]] and lines[-1].startswith("corrclust") and "Traceback" not in err
    )


# The runs the fault tests and tools/reliability_report.py interrupt: a tiny synthetic set, and
# each command (writing only under its output path, a folder or one file in a folder).
SYNTH = ["--classes", "2", "--per-class", "3", "--size", "64", "--no-progress"]
COMMANDS = {
    "cluster": lambda root, out: [
        "cluster",
        str(root / "syn"),
        "-o",
        str(out),
        "--truth",
        "auto",
        "--threads",
        "1",
        "--no-progress",
    ],
    "demo": lambda root, out: ["demo", "-o", str(out), *SYNTH, "--threads", "1"],
    "pqap": lambda root, out: [
        "pqap",
        "similarities",
        str(root / "kp.csv"),
        "-o",
        str(out / "S.npz"),
        "--threads",
        "1",
        "--no-progress",
    ],
}

# The smallest training that still checkpoints between two epochs, so that a kill can land before,
# between or after them.
TWIN_TINY = [
    "--epochs",
    "2",
    "--steps-per-epoch",
    "1",
    "--image-size",
    "16",
    "--width",
    "2",
    "--batch-size",
    "2",
]


def same_model(path: Path, ref: Path) -> bool:
    """The two model files hold the same network, bit for bit (timings in 'training' may differ)."""
    import torch

    a = torch.load(path, map_location="cpu", weights_only=True)
    b = torch.load(ref, map_location="cpu", weights_only=True)
    return (
        a["classes"] == b["classes"]
        and a["model_config"] == b["model_config"]
        and a["state_dict"].keys() == b["state_dict"].keys()
        and all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])
    )
