"""The distributed stages (corrclust.distributed): the same result as the one-process run, block-level
resume, a scheduler that does not answer, and a worker that dies mid-run."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import numpy as np
import pytest

from corrclust import distributed as D
from corrclust.pipeline import number_clusters


def planted(n_per: int = 60, classes: int = 5, d: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Well separated Gaussian classes (centres 6 apart on the diagonal), rows shuffled."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(6.0 * c, 1.0, (n_per, d)) for c in range(classes)])
    truth = np.repeat(np.arange(classes), n_per)
    order = rng.permutation(X.shape[0])
    return X[order], truth[order]


@pytest.fixture(scope="module")
def client():
    """Two single-threaded workers in this process (threads): fast to start, real scheduling."""
    with D.connect(workers=2, processes=False) as c:
        yield c


def test_two_workers_give_the_one_process_result_bit_for_bit(client, tmp_path):
    X, truth = planted()
    score = D.DistanceCost(4.0)
    # background 0: the graph alone. (A threshold on distances repels far pairs by up to -10 here,
    # so their mean as the cost of the unseen pairs inside a class of 60 on an 8-NN graph would
    # split the classes; the label-free rule's own scales are what "auto" is measured on.)
    one = D.cluster_embeddings(X, k=8, score=score, local=True, block_rows=23, background=0)
    two = D.cluster_embeddings(
        X, k=8, score=score, client=client, block_rows=23, run_dir=tmp_path, background=0
    )
    np.testing.assert_array_equal(two.labels, one.labels)
    np.testing.assert_array_equal(two.edges, one.edges)
    np.testing.assert_array_equal(two.costs, one.costs)
    assert two.objective == one.objective
    # The planted classes are found (threshold 4 lies between the within-class kNN distances,
    # about 2-3 in 6 dimensions, and the 14.7 between class centres).
    from corrclust.metrics import compare

    assert compare(truth, one.labels)["vi"] == 0.0
    assert one.n_clusters == 5
    # 300 rows in blocks of 23 -> 14 kNN blocks, all stored; the pairs in one block.
    assert len(list((tmp_path / "knn").glob("*.npz"))) == 14
    assert len(list((tmp_path / "pairs").glob("*.npz"))) == 1
    assert two.reused == 0
    again = D.cluster_embeddings(
        X, k=8, score=score, client=client, block_rows=23, run_dir=tmp_path, background=0
    )
    assert again.reused == 15
    np.testing.assert_array_equal(again.labels, one.labels)


def test_knn_blocks_are_exact_and_independent_of_the_block_size(client):
    X, _ = planted(n_per=20, classes=3)
    idx, dist = D.knn(X, 5, client=client, block_rows=7)
    # Brute force: all distances, self excluded, ties by index.
    full = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(full, np.inf)
    want = np.argsort(full, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(idx, want)
    np.testing.assert_allclose(dist, np.take_along_axis(full, want, 1), rtol=1e-12, atol=1e-9)
    idx1, _ = D.knn(X, 5, block_rows=60)  # one block, here
    np.testing.assert_array_equal(idx1, idx)


def test_a_rerun_computes_only_the_missing_blocks(tmp_path, monkeypatch):
    X, _ = planted(n_per=20, classes=3)
    first = D.knn(X, 4, block_rows=10, run_dir=tmp_path)  # 6 blocks, here
    stored = sorted((tmp_path / "knn").glob("*.npz"))
    assert [p.name for p in stored] == [f"{s}-{s + 10}.npz" for s in range(0, 60, 10)]
    for p in stored[1:3]:
        p.unlink()  # as if the run had stopped before these two blocks
    calls: list[tuple[int, int]] = []
    task = D._knn_task
    monkeypatch.setattr(D, "_knn_task", lambda X, k, s, e: calls.append((s, e)) or task(X, k, s, e))
    again = D.knn(X, 4, block_rows=10, run_dir=tmp_path)
    assert calls == [(10, 20), (20, 30)]
    np.testing.assert_array_equal(again[0], first[0])
    np.testing.assert_array_equal(again[1], first[1])
    assert not [p for p in (tmp_path / "knn").iterdir() if p.name.endswith(".part")]


def test_a_run_folder_of_another_input_is_refused(tmp_path):
    X, _ = planted(n_per=10, classes=2)
    D.knn(X, 3, block_rows=5, run_dir=tmp_path)
    with pytest.raises(ValueError, match=r"knn blocks of another run \(differs in: k\)"):
        D.knn(X, 4, block_rows=5, run_dir=tmp_path)
    with pytest.raises(ValueError, match=r"differs in: input\)"):
        D.knn(X + 1.0, 3, block_rows=5, run_dir=tmp_path)


def test_nan_features_are_named():
    X, _ = planted(n_per=10, classes=2)
    X[3, 1] = np.nan
    X[17, 0] = np.inf
    with pytest.raises(ValueError, match=r"^features: NaN or infinite features in 2 row\(s\): 3, 17$"):
        D.knn(X, 3)


def test_bad_settings():
    X, _ = planted(n_per=3, classes=2)
    with pytest.raises(ValueError, match="k = 6 neighbours need more than 6 rows; the input has 6"):
        D.knn(X, 6)
    with pytest.raises(ValueError, match="block_rows must be a positive integer"):
        D.knn(X, 2, block_rows=0)
    with pytest.raises(ValueError, match="workers applies to the local cluster"):
        with D.connect("tcp://127.0.0.1:1", workers=2):
            pass


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_scheduler_that_does_not_answer_is_one_line_within_seconds():
    address = f"tcp://127.0.0.1:{_unused_port()}"
    t = time.perf_counter()
    with pytest.raises(D.SchedulerError) as info:
        D.cluster_embeddings(planted(n_per=5, classes=2)[0], k=2, scheduler=address, timeout=1.0)
    took = time.perf_counter() - t
    assert str(info.value).startswith(f"scheduler {address} did not answer within 1 s")
    assert "\n" not in str(info.value)
    assert took < 10.0, took


def _main(args: list[str], capsys) -> tuple[int, str, str]:
    from corrclust.cli import main

    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_two_workers_give_the_one_process_sparse_path_bit_for_bit(client):
    """The distributed run against corrclust.cluster_embeddings' own sparse path (exact kNN)."""
    from corrclust.embedding_clustering import cluster_embeddings

    X, _ = planted(n_per=50, classes=4)
    one = cluster_embeddings(X, path="sparse", knn="exact", graph_k=12, seed=3)
    two = D.cluster_embeddings(X, k=12, seed=3, client=client, block_rows=17)
    np.testing.assert_array_equal(two.labels, one.labels)
    assert two.objective == one.objective
    assert two.edges.shape[0] == one.pairs
    # both refine the solve on the exact pairs around its clusters, on the same pairs
    assert one.refinement is not None and two.refinement is not None
    assert two.refinement.pairs == one.refinement.pairs and len(one.refinement.pairs) >= 1
    np.testing.assert_array_equal(two.refinement.costs, one.refinement.costs)


@pytest.mark.slow
def test_cli_run_on_two_local_workers_writes_the_clusters_and_resumes(tmp_path, capsys):
    from corrclust.formats.clusterings import write_clustering
    from corrclust.metrics import compare

    X, truth = planted(n_per=40, classes=3)
    np.save(tmp_path / "E.npy", X)
    write_clustering(tmp_path / "truth.csv", [np.flatnonzero(truth == c).tolist() for c in range(3)])
    args = ["cluster", "--embeddings", str(tmp_path / "E.npy"), "-o", str(tmp_path / "out"), "--workers", "2"]
    args += ["--knn-k", "10", "--truth", str(tmp_path / "truth.csv"), "--no-progress"]
    code, out, err = _main(args, capsys)
    assert code == 0, err
    one = D.cluster_embeddings(X, k=10, local=True)  # the one-process run
    assert out.startswith(f"120 rows -> {one.n_clusters} clusters (objective {one.objective:.6g}; knn ")
    table = np.loadtxt(tmp_path / "out" / "clusters.csv", delimiter=",", skiprows=1, dtype=np.int64)
    # clusters numbered 1..K by decreasing size, as an image folder's clusters.csv
    np.testing.assert_array_equal(table, np.stack([np.arange(120), number_clusters(one.labels)], axis=1))
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["vi"] == compare(truth, one.labels)["vi"] and metrics["n"] == 120
    code, out, err = _main(args, capsys)  # again: every block from OUT/blocks
    assert code == 0 and "blocks reused" in out


def test_cli_says_the_scheduler_does_not_answer(tmp_path, capsys):
    np.save(tmp_path / "E.npy", planted(n_per=5, classes=2)[0])
    address = f"tcp://127.0.0.1:{_unused_port()}"
    t = time.perf_counter()
    args = ["cluster", "--embeddings", str(tmp_path / "E.npy"), "-o", str(tmp_path / "out")]
    code, out, err = _main(args + ["--scheduler", address], capsys)
    assert time.perf_counter() - t < 15.0
    assert code == 1
    assert err.startswith(f"corrclust cluster: error: scheduler {address} did not answer within 5 s")
    assert err.count("\n") == 1 and out == ""
    assert not (tmp_path / "out" / "clusters.csv").exists()


def test_cli_option_errors(tmp_path, capsys):
    bad = planted(n_per=5, classes=2)[0]
    bad[4, 2] = np.nan
    np.save(tmp_path / "E.npy", bad)
    emb = ["cluster", "--embeddings", str(tmp_path / "E.npy"), "-o", str(tmp_path / "out")]
    cases = [
        (
            ["cluster", "--similarities", str(tmp_path / "S.npz"), "--workers", "2"],
            "--scheduler and --workers apply to --embeddings (feature vectors)",
        ),
        (
            emb + ["--scheduler", "tcp://x:1", "--workers", "2"],
            "--workers starts a local cluster; a --scheduler",
        ),
        (
            emb + ["--workers", "2", "--pairs", "all"],
            "--scheduler and --workers run the sparse path on the kNN graph (--pairs knn)",
        ),
        (emb + ["--workers", "2"], f"{tmp_path / 'E.npy'}: NaN or infinite features in 1 row(s): 4"),
    ]
    for args, message in cases:
        code, out, err = _main(args, capsys)
        assert code == 2 and err.startswith(f"corrclust cluster: error: {message}"), err
        assert err.count("\n") == 1
    assert not (tmp_path / "out").exists()


class DieOnce:
    """A featurizer whose first call ends its worker process (as a crash or the OOM killer would);
    later calls return each item's number twice as its features."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __call__(self, items: list[int]) -> np.ndarray:
        if not os.path.exists(self.marker):
            Path(self.marker).write_text(str(os.getpid()))
            os._exit(1)
        return np.array([[float(i), 2.0 * i] for i in items])


@pytest.mark.slow
def test_a_worker_that_dies_has_its_block_computed_again(tmp_path):
    marker = tmp_path / "died"
    items = list(range(40))
    with D.connect(workers=2, processes=True) as c:
        out = D.features(items, DieOnce(str(marker)), client=c, block=10, run_dir=tmp_path / "run")
    assert marker.exists()  # a worker did die
    assert int(marker.read_text()) != os.getpid()
    np.testing.assert_array_equal(out, np.array([[float(i), 2.0 * i] for i in items]))
    assert len(list((tmp_path / "run" / "features").glob("*.npz"))) == 4


def test_default_costs_are_the_dense_label_free_rule_on_the_knn_pairs():
    from corrclust.feature_costs import costs_from_features

    X, _ = planted(n_per=15, classes=4)
    idx, dist = D.knn(X, 10)
    uv, _ = D.candidates.candidate_edges(idx, dist)
    costs = D.score_pairs(X, uv, D.LocalScalingCost.from_knn(dist))
    dense, _ = costs_from_features(X)
    np.testing.assert_allclose(costs, dense[uv[:, 0], uv[:, 1]], rtol=1e-9, atol=1e-9)
    assert "LocalScalingCost(sigma=" in repr(D.LocalScalingCost.from_knn(dist))


def test_image_profiles_on_the_workers_equal_the_profiles_here(client, tmp_path):
    from corrclust.images import synthetic
    from corrclust.images.io import read_image
    from corrclust.profiles import profile

    records = synthetic.generate(tmp_path / "img", classes=2, per_class=3, seed=2, size=64)
    paths = [str(r.path) for r in records]
    blank = tmp_path / "img" / "blank_999.tif"
    import tifffile

    tifffile.imwrite(blank, np.zeros((64, 64, 4), np.uint8))  # no object in it
    paths.append(str(blank))
    rows = D.features(paths, D.ImageProfiles(), client=client, block=2, run_dir=tmp_path / "run")
    want = np.vstack([profile(read_image(p)) for p in paths[:-1]])
    np.testing.assert_array_equal(rows[:-1], want)
    assert np.isnan(rows[-1]).all() and rows.shape == (7, want.shape[1])
    # A file changed since: its block is not reused.
    tifffile.imwrite(paths[0], read_image(paths[1]))
    with pytest.raises(ValueError, match="differs in: items"):
        D.features(paths, D.ImageProfiles(), client=client, block=2, run_dir=tmp_path / "run")


def test_a_scheduler_without_workers_is_one_line_not_a_hang():
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as empty:
        t = time.perf_counter()
        with pytest.raises(D.SchedulerError, match=r"^scheduler .+ has no workers after 1 s$"):
            with D.connect(empty.scheduler_address, timeout=1.0):
                pass
        assert time.perf_counter() - t < 10.0


def test_the_example_pasted_into_a_script_names_the_main_guard(tmp_path):
    # docs/distributed.md's example at the top level of a script: the spawned workers import the
    # script again and fail, which dask reports only as "Nanny failed to start." (found by qa14).
    import subprocess
    import sys

    script = tmp_path / "example.py"
    script.write_text(
        "import numpy as np\n"
        "from corrclust import distributed\n"
        "E = np.random.default_rng(0).normal(size=(40, 4))\n"
        "try:\n"
        "    distributed.cluster_embeddings(E, k=3, workers=1)\n"
        "except RuntimeError as exc:\n"
        "    print('ERROR', exc)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(D.__file__).parents[1])}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    line = next(x for x in done.stdout.splitlines() if x.startswith("ERROR"))
    assert 'if __name__ == "__main__":' in line and "local=True" in line, line


def test_local_workers_leave_ctrl_c_to_this_process():
    # A terminal's Ctrl-C reaches every process of the group: the workers of a LocalCluster
    # printed a KeyboardInterrupt traceback each before 'corrclust cluster: interrupted' (qa14).
    import signal

    with D.connect(workers=1) as client:
        handlers = client.run(lambda: int(signal.getsignal(signal.SIGINT)))
    assert list(handlers.values()) == [int(signal.SIG_IGN)]


def test_the_solve_and_the_refinement_say_a_line_with_progress(capfd):
    """After the kNN and pair bars, 175 s of solve and refinement at n = 10^5 showed nothing (qa16)."""
    X, _ = planted(n_per=40, classes=3)
    res = D.cluster_embeddings(X, k=10, local=True, progress=True)
    err = capfd.readouterr().err
    assert res.refinement is not None
    assert err.count("pairs here (kl, background ") == 1 and err.index("solving ") < err.index(
        "refining the "
    )
    assert (
        "refining the " in err
        and "clusters on the exact pairs inside and between them (up to 3 rounds)" in err
    )
