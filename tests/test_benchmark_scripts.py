"""Every benchmark script answers --help with its usage, at once and without running anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
# modules that other scripts import, not commands
LIBRARIES = {"labelfree_sets.py"}
SCRIPTS = sorted(
    p.name for p in BENCHMARKS.glob("*.py") if not p.name.startswith("test_") and p.name not in LIBRARIES
)


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_prints_the_usage_and_runs_nothing(script):
    """bench_api.py had no argument parser: --help ran both of its tables (12 s; audit qa15)."""
    env = {**os.environ, "MPLBACKEND": "Agg"}
    out = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=BENCHMARKS,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"usage: {script}"), out.stdout[:200]
    assert out.stderr == ""
