"""Every benchmark script answers --help with its usage, at once and without running anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
# modules that other scripts import, not commands
LIBRARIES = {"checks.py", "labelfree_sets.py", "needs.py"}
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


# the scripts that need PyTorch (checked before their data)
TORCH_SCRIPTS = {
    "bench_detection_cnn.py",
    "bench_detection_localisation.py",
    "bench_ssl.py",
    "bench_ssl_pool.py",
    "bench_twin.py",
}
# the scripts that read ../shared, with the cheapest arguments that reach their data
NEEDS_SHARED = [
    ["bench_anytime.py", "--quick", "--no-peer"],
    ["bench_bound.py"],
    ["bench_exact.py", "--no-baseline"],
    ["bench_labelfree.py", "--quick", "--half", "dev"],
    ["bench_pqap.py"],
    ["bench_pqap_learn.py"],
    ["bench_pqap_recipes.py", "cv"],
    ["bench_ssl_pool.py", "--half", "dev", "--budget", "5"],
    ["bench_ssl.py", "--budget", "5"],  # these two said "RBC data not found" and exited 2
    ["bench_twin.py", "--budget", "5"],
    ["rbc_profiles.py"],
    ["bench_detection_ceiling.py"],
    ["bench_detection_cnn.py", "--design", "--fields", "2"],
    ["bench_detection_localisation.py", "--fields", "2"],
    ["bench_detection_variants.py"],
]


@pytest.mark.parametrize("command", NEEDS_SHARED, ids=[c[0] for c in NEEDS_SHARED])
def test_without_shared_the_script_ends_with_one_line(command, tmp_path):
    """A checkout with no ../shared beside it: exit 1 and one line naming the folder. Each of these
    ended in a traceback from the first file it opened, or (bench_detection_*) printed "(skipping: ...)"
    and exited 0 (audit qa15)."""
    if command[0] in TORCH_SCRIPTS:  # without torch they say that first
        pytest.importorskip("torch")
    out = _run_without_shared(command, tmp_path)
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    last = out.stderr.strip().splitlines()[-1]
    if command[0].startswith(
        "bench_detection"
    ):  # they name the folder of fields; they said "(skipping: ...)"
        fields = tmp_path / "shared" / "data" / "organoid-fields"
        expected = f"{fields} not found: this benchmark reads its data from ../shared beside the checkout"
    else:
        expected = (
            f"{tmp_path / 'shared'} not found: this benchmark reads its data from ../shared "
            "beside the checkout (a copy of the project's shared folder)"
        )
    assert last == f"{command[0]}: {expected}"


@pytest.mark.parametrize(
    "command",
    [["bench_kl_regions.py", "supervoxel-8000-310"], ["bench_kl_quality.py", "--seeds", "1"]],
    ids=lambda c: c[0],
)
def test_a_comparison_without_bioimage_cpp_ends_with_one_line(command, tmp_path):
    """bench_kl_regions and bench_kl_quality only compare with bioimage-cpp: without it they ended in an
    ImportError traceback (audit qa15). A package that fails to import stands in for the missing one."""
    out = _run_hiding("bioimage_cpp", command, tmp_path)
    assert out.returncode == 1 and out.stdout == "", (out.stdout, out.stderr)
    assert out.stderr == (
        f"{command[0]}: needs bioimage-cpp, the peer it compares with: pip install bioimage-cpp "
        "(or corrclust[bench])\n"
    )


def test_bench_distributed_fails_when_a_run_differs_from_one_process(monkeypatch, capsys):
    """The table's last column said NO and the script still exited 0 (audit qa15); a distributed
    result with one label changed (in place of the LocalCluster run) now ends it with 1 and a line."""
    import importlib.util

    from corrclust import distributed
    from corrclust.embedding_clustering import cluster_embeddings

    spec = importlib.util.spec_from_file_location("bench_distributed", BENCHMARKS / "bench_distributed.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)

    def one_label_moved(X, *, k, seed, workers, run_dir, knn, **kw):
        res = cluster_embeddings(X, path="sparse", knn=knn, graph_k=k, seed=seed, **kw)
        res.labels[0] = res.labels.max() + 1
        return res

    monkeypatch.setattr(distributed, "cluster_embeddings", one_label_moved)
    argv = ["--n", "400", "--arms", "one,cluster"]
    assert bench.main(argv) == 1
    captured = capsys.readouterr()
    assert "| NO |" in captured.out
    assert captured.err == (
        "bench_distributed.py: not the one-process result: LocalCluster, 2 worker processes, knn='exact'\n"
    )

    def one_process(X, *, k, seed, workers, run_dir, knn, **kw):
        return cluster_embeddings(X, path="sparse", knn=knn, graph_k=k, seed=seed, **kw)

    monkeypatch.setattr(distributed, "cluster_embeddings", one_process)
    assert bench.main(argv) == 0 and "| NO |" not in capsys.readouterr().out


NEEDS_TORCH = [
    ["bench_detection_cnn.py", "--design", "--fields", "2"],
    ["bench_detection_localisation.py", "--fields", "2"],
    ["bench_ssl.py", "--budget", "5"],
    ["bench_ssl_pool.py", "--half", "dev", "--budget", "5"],
    ["bench_twin.py", "--budget", "5"],
]


@pytest.mark.parametrize("command", NEEDS_TORCH, ids=[c[0] for c in NEEDS_TORCH])
def test_without_torch_the_script_ends_with_one_line(command, tmp_path):
    """In the README's test venv (no torch) each of these ended in a ModuleNotFoundError traceback
    (audit qa15). A package that fails to import stands in for the missing torch."""
    out = _run_hiding("torch", command, tmp_path)
    assert out.returncode == 1 and out.stdout == "", (out.stdout, out.stderr)
    assert out.stderr == f"{command[0]}: needs PyTorch: pip install 'corrclust[torch]'\n"


def _load(script: str):
    """A benchmark script as a module (benchmarks/ on the path, for its ``from checks import``)."""
    import importlib.util

    sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(script[:-3], BENCHMARKS / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_checks_say_each_failure_in_one_line(capsys):
    """The benchmarks' result checks (audit qa15: seven scripts timed results they never checked)."""
    checks = _load("bench_knn.py").Checks("bench_x.py")
    assert checks.expect(True, "row 1", "fine") and checks.exit_code() == 0
    assert not checks.labels(np.zeros(3, np.int64), 4, "row 2")
    assert not checks.close(1.0, 1.5, "row 3", "objective")
    assert checks.labels(np.array([0, 2, 2]), 3, "row 4") and checks.close(
        2.0, 2.0 + 1e-12, "row 5", "objective"
    )
    assert checks.exit_code() == 1
    assert capsys.readouterr().err == (
        "bench_x.py: row 2: labels of shape (3,), not one per input (4)\n"
        "bench_x.py: row 3: objective: reported 1.0, recomputed 1.5\n"
    )


def test_cut_cost_is_the_brute_force_sum():
    cut_cost = _load("bench_pipeline.py").cut_cost
    rng = np.random.default_rng(0)
    C = rng.normal(size=(7, 7))
    C = C + C.T
    lab = rng.integers(0, 3, 7)
    want = sum(C[i, j] for i in range(7) for j in range(i + 1, 7) if lab[i] != lab[j])
    assert cut_cost(C, lab) == pytest.approx(want, rel=1e-12)


def test_bench_knn_passes_its_checks_and_fails_on_wrong_neighbours(capsys):
    """The exact search at n = 2,000 passes (3 s); neighbours of another row fail the recall floor."""
    out = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_knn.py"), "--n", "2000", "--libraries", "exact"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=BENCHMARKS,
    )
    assert out.returncode == 0 and out.stderr == "", out.stderr
    assert "| exact | " in out.stdout and "| 1.0000 |" in out.stdout
    bench = _load("bench_knn.py")
    checks = bench.Checks("bench_knn.py")
    got = (np.arange(10)[:, None] + np.arange(1, 4)[None, :]) % 10
    bench.check_library(checks, "row", got, 10, 3, 0.5, exact=False)
    assert checks.exit_code() == 1
    assert capsys.readouterr().err == "bench_knn.py: row: recall@3 0.5000 below 0.9\n"


def test_bench_pipeline_fails_when_a_label_moves(monkeypatch, tmp_path, capsys):
    """Table 2 at 30 images passes its checks; with one image moved to a cluster of its own after the
    solve (objective kept), the recomputed objective differs and the row says so."""
    from corrclust import pipeline

    bench = _load("bench_pipeline.py")
    checks = bench.Checks("bench_pipeline.py")
    bench.table2(checks, tmp_path, [30])
    assert checks.failures == []
    real = pipeline.cluster

    def one_label_moved(corr, solver="kl", **kw):
        c = real(corr, solver, **kw)
        c.labels[0] = c.labels.max() + 1
        return c

    monkeypatch.setattr(pipeline, "cluster", one_label_moved)
    bench.table2(checks, tmp_path / "again", [30])
    assert checks.exit_code() == 1
    assert any(f.startswith("table 2, 30 images: objective: reported ") for f in checks.failures)


def test_bench_ssl_fails_when_the_loss_rises(capsys):
    """A training whose loss ends higher than it starts (20+ steps) or holds a NaN is a failed row."""
    from types import SimpleNamespace

    bench = _load("bench_ssl.py")
    checks = bench.Checks("bench_ssl.py")
    bench.check_training(checks, "falls", SimpleNamespace(steps=30, losses=list(np.linspace(4, 3, 30))))
    assert checks.exit_code() == 0
    bench.check_training(checks, "rises", SimpleNamespace(steps=30, losses=list(np.linspace(3, 4, 30))))
    bench.check_training(checks, "nan", SimpleNamespace(steps=2, losses=[4.0, float("nan")]))
    assert checks.exit_code() == 1
    assert capsys.readouterr().err == (
        "bench_ssl.py: rises: loss 3.1552 -> 3.8448: not lower at the end\nbench_ssl.py: nan: a loss not finite\n"
    )


def test_bench_scale_checks_a_dense_case(tmp_path, capsys):
    """A dense planted case of 300 rows passes check_case; its labels rolled by one row fail the
    recomputed VI and the dense objective."""
    bench = _load("bench_scale.py")
    out = tmp_path / "labels.npy"
    case = {"data": "planted", "n": 300, "path": "dense", "d": 8, "threads": 1, "labels_out": str(out)}
    r = bench.child(case)
    labels = np.load(out)
    checks = bench.Checks("bench_scale.py")
    bench.check_case(checks, "row", case, r, labels)
    assert checks.exit_code() == 0 and checks.passed >= 6
    bench.check_case(checks, "row", case, r, np.roll(labels, 1))
    assert checks.exit_code() == 1
    err = capsys.readouterr().err.splitlines()
    assert [e.split(":")[1:3] for e in err] == [[" row", " VI"], [" row", " dense objective"]], err


def test_bench_images_without_shared_times_key_points_but_exits_1(tmp_path):
    """It printed "(skipping detection: ...)" on stdout and exited 0, so a run that measured only the
    synthetic key points passed for the whole benchmark."""
    out = _run_without_shared(["bench_images.py", "--keypoints", "1"], tmp_path)
    fields = tmp_path / "shared" / "data" / "organoid-fields"
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert (
        out.stderr == f"bench_images.py: detection: {fields} not found: the fields are read from ../shared\n"
    )
    assert "Key-point extraction on 1 synthetic organoids" in out.stdout


def _run_without_shared(command: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``command`` (a script of benchmarks/ and its arguments) run from a copy of benchmarks/ in a
    checkout under ``tmp_path`` that has no ../shared beside it."""
    import shutil

    import corrclust

    bench = tmp_path / "checkout" / "benchmarks"
    shutil.copytree(BENCHMARKS, bench, ignore=shutil.ignore_patterns("data", "__pycache__", ".benchmarks"))
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(Path(corrclust.__file__).parents[1])}
    return subprocess.run(
        [sys.executable, str(bench / command[0]), *command[1:]],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )


def _run_hiding(package: str, command: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``command`` run with ``package`` hidden: a package of that name that fails to import stands in
    for the missing one."""
    import corrclust

    stub = tmp_path / "hide" / package
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text(f"raise ImportError('{package} hidden by the test')\n")
    path = os.pathsep.join([str(tmp_path / "hide"), str(Path(corrclust.__file__).parents[1])])
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / command[0]), *command[1:]],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": path},
        cwd=tmp_path,
    )
