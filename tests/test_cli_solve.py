"""``corrclust solve`` and ``corrclust evaluate`` end to end, through ``python -m corrclust``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from corrclust.cli import main
from corrclust.formats.clusterings import write_clustering

TRUTH = "data/paper-keypoints/clustering_results/clustering_only_unseen_classes_optimal.csv"


def run_cli(*args, check=False):
    proc = subprocess.run(
        [sys.executable, "-m", "corrclust", *map(str, args)], capture_output=True, text=True
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_solve_pace_json(cc_instances_dir, tmp_path):
    path = cc_instances_dir / "pace2021" / "exact001.gr"
    out = tmp_path / "labels.npy"
    proc = run_cli("solve", path, "--json", "--method", "kl", "-o", out, check=True)
    data = json.loads(proc.stdout)  # exactly one JSON object on stdout
    assert proc.stdout.count("\n") == 1
    for key in ("labels", "objective", "lower_bound", "status", "runtime", "n_clusters", "edits"):
        assert key in data
    assert data["objective"] == -31.0 and data["edits"] == 3 and data["status"] == "heuristic"
    assert data["lower_bound"] is None and len(data["labels"]) == 10
    np.testing.assert_array_equal(np.load(out), data["labels"])
    assert data["n_clusters"] == len(set(data["labels"]))


def test_solve_multicut_summary_and_csv_labels(cc_instances_dir, tmp_path):
    path = cc_instances_dir / "opengm-multicut" / "3096.txt"
    out = tmp_path / "labels.csv"
    proc = run_cli("solve", path, "--method", "gaec", "-o", out, check=True)
    assert "objective" in proc.stdout and "clusters" in proc.stdout and "edits" not in proc.stdout
    lines = out.read_text().splitlines()
    assert lines[0] == "node,label" and len(lines) == 157
    # the written labels warm-start a second run, which can only improve (KL)
    warm = run_cli("solve", path, "--json", "--method", "kl", "--warm-start", out, check=True)
    gaec = run_cli("solve", path, "--json", "--method", "gaec", check=True)
    assert json.loads(warm.stdout)["objective"] <= json.loads(gaec.stdout)["objective"] + 1e-9


def test_solve_anytime_seed_and_time_limit_in_process(cc_instances_dir, capsys):
    path = cc_instances_dir / "pace2021" / "exact013.gr"
    assert (
        main(["solve", str(path), "--method", "anytime", "--seed", "4", "--time-limit", "0.5", "--json"]) == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["edits"] >= 181 and data["status"] in ("heuristic", "time_limit")
    assert data["method"] == "anytime"


def test_solve_npy_instance(tmp_path, capsys):
    costs = -np.ones((4, 4))
    costs[0, 1] = costs[1, 0] = 2.0
    np.fill_diagonal(costs, 0)
    np.save(tmp_path / "c.npy", costs)
    assert main(["solve", str(tmp_path / "c.npy"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["labels"] == [0, 0, 1, 2] and data["objective"] == -5.0 and "edits" not in data


@pytest.mark.parametrize(
    "args, message",
    [
        (["solve", "{tmp}/missing.gr"], "instance file not found"),
        (["solve", "{tmp}/bad.gr"], "line 2"),
        (["solve", "{tmp}/ok.gr", "-o", "{tmp}/labels.txt"], ".npy or .csv"),
        (["solve", "{tmp}/ok.gr", "--time-limit", "-1"], "--time-limit"),
        (["solve", "{tmp}/ok.gr", "--seed", "-3"], "--seed"),
        (["solve", "{tmp}/ok.gr", "--warm-start", "{tmp}/ws.csv"], "warm_start"),
        (["evaluate", "{tmp}/pred.csv", "{tmp}/missing.csv"], "not found"),
        # fewer than two ids in common (the partial-truth rule of corrclust.pipeline.truth)
        (["evaluate", "{tmp}/pred.csv", "{tmp}/other.csv"], "names 1 of the 3 clustered image ids"),
        (["evaluate", "{tmp}/bad.csv", "{tmp}/pred.csv"], "line 1"),
    ],
)
def test_user_errors_are_one_line_with_exit_code_2(tmp_path, capsys, args, message):
    (tmp_path / "bad.gr").write_text("p cep 3 1\n1 9\n")
    (tmp_path / "ok.gr").write_text("p cep 3 1\n1 2\n")
    (tmp_path / "ws.csv").write_text("node,label\n0,0\n1,1\n")
    write_clustering(tmp_path / "pred.csv", [[1, 2], [3]])
    write_clustering(tmp_path / "other.csv", [[1, 4], [5]])
    (tmp_path / "bad.csv").write_text("1,x\n")
    # in process (fast); test_errors_through_python_m covers the real entry point
    assert main([a.format(tmp=tmp_path) for a in args]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and err[0].startswith(f"corrclust {args[0]}: error:")
    assert captured.out == ""


def test_errors_through_python_m(tmp_path):
    (tmp_path / "bad.gr").write_text("p cep 3 1\n1 9\n")
    proc = run_cli("solve", tmp_path / "bad.gr", "--json")
    assert proc.returncode == 2 and proc.stdout == ""
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and "line 2" in err[0] and "Traceback" not in proc.stderr


def test_bad_method_is_an_argparse_error():
    proc = run_cli("solve", "x.gr", "--method", "fast")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_evaluate_json_and_table(shared_dir, tmp_path, capsys):
    truth = shared_dir / TRUTH
    ids = [c * 100 + i for c in (11, 12, 13) for i in range(10)]
    pred = tmp_path / "pred.csv"
    group_a = [i for i in ids if i // 100 in (11, 13) and i != 1305]
    write_clustering(
        pred, [group_a, list(range(1200, 1210)), [1305]], metadata={"clustering_threshold": 0.64}
    )
    data = json.loads(run_cli("evaluate", pred, truth, "--json", check=True).stdout)
    assert data["vi"] == pytest.approx(0.7884, abs=5e-5)
    assert data["rand_index"] == pytest.approx(0.7724, abs=5e-5)
    assert data["n_clusters_pred"] == 3 and data["pairs_total"] == 435
    capsys.readouterr()
    assert main(["evaluate", str(pred), str(truth)]) == 0
    table = capsys.readouterr().out
    assert "0.7884 bits" in table and "77.24 %" in table
    # identical clusterings: VI 0
    assert main(["evaluate", str(truth), str(truth), "--json"]) == 0
    same = json.loads(capsys.readouterr().out)
    assert same["vi"] == 0.0 and same["f1_joins"] == 1.0


def test_solve_exact_json(cc_instances_dir, capsys):
    from corrclust._native import _core

    path = cc_instances_dir / "pace2021" / "exact001.gr"
    if not hasattr(_core, "exact"):
        assert main(["solve", str(path), "--method", "exact"]) == 2
        assert "exact solver is not available" in capsys.readouterr().err
        return
    assert main(["solve", str(path), "--method", "exact", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "optimal" and data["edits"] == 3 and data["lower_bound"] == -31.0
    assert isinstance(data["stats"], dict)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_stops_a_long_solve_with_exit_code_130(tmp_path):
    import signal
    import time

    rng = np.random.default_rng(0)
    n = 1200
    costs = rng.normal(size=(n, n))
    costs = costs + costs.T
    np.fill_diagonal(costs, 0)
    np.save(tmp_path / "big.npy", costs)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "corrclust",
            "solve",
            str(tmp_path / "big.npy"),
            "--method",
            "anytime",
            "--time-limit",
            "120",
            "--json",
            "--progress",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=False,
    )
    # Interrupt once the progress line shows the solver at work (a fixed sleep raced the start-up on
    # a loaded machine: the signal arrived before the handler was installed).
    seen = b""
    deadline = time.perf_counter() + 120
    while b"phase=" not in seen and time.perf_counter() < deadline:
        chunk = os.read(proc.stderr.fileno(), 4096)
        if not chunk:
            break
        seen += chunk
    assert proc.poll() is None and b"phase=" in seen, "the solve ended or never started"
    t0 = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    out_b, err_b = proc.communicate(timeout=30)
    out, err = out_b.decode(), (seen + err_b).decode()
    assert time.perf_counter() - t0 < 5.0
    assert proc.returncode == 130 and "interrupted" in err and out == ""


def test_progress_goes_to_stderr_and_keeps_stdout_json(cc_instances_dir, capsys):
    path = cc_instances_dir / "pace2021" / "exact121.gr"
    assert main(["solve", str(path), "--method", "anytime", "--time-limit", "1", "--progress", "--json"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["edits"] >= 742 and len(data["labels"]) == 213


@pytest.mark.parametrize("group", ["pqap", "images", "twin", "ssl"])
def test_command_group_without_action_prints_its_help_to_stderr(group, capsys):
    assert main([group]) == 2
    out, err = capsys.readouterr()
    assert out == "" and f"usage: corrclust {group}" in err
