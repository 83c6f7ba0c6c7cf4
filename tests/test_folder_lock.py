"""One writer per output folder (corrclust.folder_lock): a second command into a folder that another
one is writing is refused in one line, and nothing it would have written appears (audit qa16: two
``corrclust cluster`` runs into one OUT mixed their files, each file whole, without a word)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from corrclust import folder_lock
from corrclust.cli import main

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")


def _embeddings(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    X = np.repeat(rng.normal(size=(3, 4)) * 5, 10, axis=0) + rng.normal(0, 0.1, (30, 4))
    path = tmp_path / "E.npy"
    np.save(path, X)
    return path


def test_a_second_cluster_into_a_held_folder_is_refused_in_one_line(tmp_path, capsys):
    E, out = _embeddings(tmp_path), tmp_path / "out"
    with folder_lock.hold(out, "the test's run"):
        assert main(["cluster", "--embeddings", str(E), "-o", str(out), "--no-progress"]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1
        assert err[0].startswith(
            f"corrclust cluster: error: {out}: another corrclust command is writing this folder"
        )
        assert f"(pid {os.getpid()}, the test's run, since " in err[0]
        assert sorted(p.name for p in out.iterdir()) == [folder_lock.LOCK_NAME]  # nothing written
        # the same for an image folder and for the demo
        assert main(["cluster", str(tmp_path), "-o", str(out), "--no-progress"]) == 1
        assert main(["demo", "-o", str(out), "--no-progress"]) == 1
        assert capsys.readouterr().err.count("another corrclust command is writing this folder") == 2
        assert sorted(p.name for p in out.iterdir()) == [folder_lock.LOCK_NAME]
    # released: the run goes through and leaves no lock file behind
    assert not (out / folder_lock.LOCK_NAME).exists()
    assert main(["cluster", "--embeddings", str(E), "-o", str(out), "--no-progress"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["clusters.csv", "summary.json"]
    lines = (out / "clusters.csv").read_text().splitlines()
    assert lines[0] == "id,cluster" and len(lines) == 31
    assert len({line.split(",")[1] for line in lines[1:]}) == 3  # the three planted groups


def test_a_refused_or_failed_run_leaves_no_empty_folder(tmp_path, capsys):
    out = tmp_path / "new" / "out"
    assert main(["cluster", str(tmp_path / "no-such-images"), "-o", str(out), "--no-progress"]) == 2
    assert "image folder not found" in capsys.readouterr().err
    assert not out.exists()


def test_a_killed_holder_does_not_block_the_next_run(tmp_path):
    """flock ends with its process: a SIGKILLed run leaves its lock file, not its lock."""
    out = tmp_path / "out"
    code = (
        "import sys, time; from corrclust import folder_lock\n"
        f"with folder_lock.hold({str(out)!r}, 'doomed'):\n"
        "    print('held', flush=True); time.sleep(60)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"held"
        with pytest.raises(folder_lock.FolderBusyError, match=r"\(pid \d+, doomed, since "):
            with folder_lock.hold(out, "second"):
                pass
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert (out / folder_lock.LOCK_NAME).exists()
    start = time.monotonic()
    with folder_lock.hold(out, "after the kill"):
        assert "after the kill" in (out / folder_lock.LOCK_NAME).read_text()
    assert time.monotonic() - start < 5
    assert not (out / folder_lock.LOCK_NAME).exists()
