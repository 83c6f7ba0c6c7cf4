"""The package imports, the compiled core loads and the CLI answers."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import corrclust
from corrclust._native import _core


def test_core_objective_dense_matches_definition():
    costs = np.array([[0, 2.0, -1.0], [2.0, 0, 3.0], [-1.0, 3.0, 0]])
    # labels {0,1} | {2}: cut edges (0,2) and (1,2)
    assert _core.problem.objective_dense(costs, np.array([0, 0, 1])) == 2.0
    assert _core.problem.objective_dense(costs, np.array([5, 5, 5])) == 0.0
    assert _core.problem.objective_dense(costs, np.array([0, 1, 2])) == 4.0


def test_core_objective_sparse_sums_parallel_edges():
    edges = np.array([[0, 1], [1, 0], [1, 2]])
    costs = np.array([1.5, 2.0, -4.0])
    assert _core.problem.objective_sparse(3, edges, costs, np.array([0, 1, 1])) == 3.5
    assert _core.problem.objective_sparse(3, edges, costs, np.array([0, 0, 1])) == -4.0


def test_version_and_cli_help():
    assert corrclust.__version__ == _core.__version__
    out = subprocess.run(
        [sys.executable, "-m", "corrclust", "--help"], capture_output=True, text=True, check=True
    )
    assert "solve" in out.stdout


def test_version_option_names_the_installed_distribution():
    import importlib.metadata

    out = subprocess.run(
        [sys.executable, "-m", "corrclust", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"corrclust {importlib.metadata.version('corrclust')}"


@pytest.mark.skipif(sys.platform == "win32", reason="Windows always takes the DLL-folder path")
def test_core_loads_through_the_highs_preload_when_rpath_misses(tmp_path):
    # A copy of the package with no highsbox beside it: the extension's RPATH
    # ($ORIGIN/../highsbox/...) leads nowhere, so only corrclust._native's preload can load it.
    import shutil

    shutil.copytree(
        Path(corrclust.__file__).parent, tmp_path / "corrclust", ignore=shutil.ignore_patterns("__pycache__")
    )
    assert not (tmp_path / "highsbox").exists()
    code = (
        "import numpy as np, corrclust\n"
        "from corrclust import _native\n"
        f"assert corrclust.__file__.startswith({str(tmp_path)!r}), corrclust.__file__\n"
        "print(_native.preloaded)\n"
        # an exact solve calls HiGHS through the preloaded library
        "c = np.array([[0, 2., -1, -1], [2, 0, -1, -1], [-1, -1, 0, 3], [-1, -1, 3, 0]])\n"
        "r = corrclust.solve(c, method='exact')\n"
        "print(r.objective, r.status)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LD_LIBRARY_PATH")}
    env["PYTHONPATH"] = str(tmp_path)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "-4.0", "optimal"]


def test_the_license_text_is_there_and_is_the_declared_one():
    """pyproject.toml declares MIT, whose terms ask that the notice go with every copy; the repository,
    and so the sdist and the wheel (scikit-build-core takes LICEN[CS]E* into .dist-info), had no
    license file (audit qa15)."""
    import re

    root = Path(__file__).resolve().parents[1]
    declared = re.search(r'^license = \{ text = "([^"]+)" \}$', (root / "pyproject.toml").read_text(), re.M)
    assert declared is not None and declared.group(1) == "MIT"
    text = (root / "LICENSE").read_text()
    assert text.startswith("MIT License\n\nCopyright (c) ")
    assert "Permission is hereby granted, free of charge, to any person obtaining a copy" in text


def test_a_source_tree_without_the_compiled_core_says_so(tmp_path):
    """A fresh clone's python/ on PYTHONPATH (as some benchmark docstrings run it) shadows the installed
    package; the import ended in "cannot import name '_core' from 'corrclust'" (audit qa15)."""
    import shutil

    src = Path(corrclust.__file__).parent
    shutil.copytree(
        src, tmp_path / "corrclust", ignore=shutil.ignore_patterns("__pycache__", "_core.*.so", "*.pyd")
    )
    assert (tmp_path / "corrclust" / "_core.pyi").is_file()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", "import numpy as np, corrclust; corrclust.solve(np.zeros((2, 2)))"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1] == (
        f"ImportError: corrclust's compiled core is not in {tmp_path / 'corrclust'}, a source tree that was not "
        "built: use the installed corrclust (pip install .; leave this folder off PYTHONPATH)"
    )
