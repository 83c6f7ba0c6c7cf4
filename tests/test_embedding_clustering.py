"""Feature vectors in, clusters out: the dense and sparse paths, the memory guard and --embeddings."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from corrclust import candidates, embedding_clustering, feature_costs, memory
from corrclust.candidates import candidate_edges, exact_knn, knn_graph
from corrclust.embedding_clustering import choose_path, cluster_embeddings
from corrclust.generators import planted_embeddings
from corrclust.metrics import variation_of_information
from corrclust.pipeline import number_clusters

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def planted() -> tuple[np.ndarray, np.ndarray]:
    return planted_embeddings(600, 16, seed=2)  # 60 classes of 10 rows


def test_pair_costs_are_the_dense_entries(planted: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = planted
    C, _ = feature_costs.costs_from_features(X, k=7, granularity=0.5)
    idx, dist = exact_knn(X, 30)
    uv, d = candidate_edges(idx, dist)
    got = feature_costs.pair_costs(uv, d, feature_costs.local_scales(dist, 7), granularity=0.5)
    np.testing.assert_allclose(got, C[uv[:, 0], uv[:, 1]], rtol=0, atol=1e-10)


@pytest.mark.parametrize("path", ["dense", "sparse"])
def test_planted_classes_are_recovered(planted: tuple[np.ndarray, np.ndarray], path: str) -> None:
    X, truth = planted
    r = cluster_embeddings(X, path=path)
    assert r.path == path
    assert variation_of_information(truth, r.labels)[0] < 0.1
    assert r.ids.tolist() == list(range(600))


def test_sparse_objective_estimate_tracks_the_dense_objective(planted: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = planted
    r = cluster_embeddings(X, path="sparse")
    C, _ = feature_costs.costs_from_features(X)
    cut = r.labels[:, None] != r.labels[None, :]
    dense = C[cut].sum() / 2
    assert r.left_out_cost is not None and r.left_out_cost < 0  # the left-out pairs repel
    assert abs(r.objective_all_pairs - dense) < 0.01 * abs(dense)


def test_faiss_recall_on_a_small_set() -> None:
    pytest.importorskip("faiss")
    X, _ = planted_embeddings(3000, 32, seed=4)
    got, dist, used = knn_graph(X, 20, method="faiss", threads=1)
    want, want_d = exact_knn(X, 20)
    recall = np.mean([len(set(a) & set(b)) / 20 for a, b in zip(got, want, strict=True)])
    assert used == "faiss" and recall >= 0.99
    same = got == want  # where they agree, the distances are the exact ones
    np.testing.assert_allclose(dist[same], want_d[same], rtol=0, atol=1e-12)


def test_auto_knn_falls_back_to_exact_without_faiss(monkeypatch: pytest.MonkeyPatch) -> None:
    X, _ = planted_embeddings(300, 8, seed=1)
    monkeypatch.setattr(candidates, "EXACT_MAX_N", 100)
    monkeypatch.setattr(candidates, "ann_available", lambda: False)
    idx, _, used = knn_graph(X, 5)
    assert used == "exact" and (idx == exact_knn(X, 5)[0]).all()
    with pytest.raises(ImportError, match=r"corrclust\[ann\]"):
        knn_graph(X, 5, method="faiss")


def test_memory_guard_switches_to_sparse_above_the_limit(
    planted: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    X, _ = planted

    def no_dense(*args: object, **kwargs: object) -> None:
        raise AssertionError("a dense matrix was built")

    monkeypatch.setattr(feature_costs, "costs_from_features", no_dense)
    r = cluster_embeddings(X, dense_max_n=500)
    assert r.path == "sparse"
    assert r.notes == ["600 rows are above the dense limit of 500: sparse path (k-nearest-neighbour graph)"]
    monkeypatch.setenv("CORRCLUST_DENSE_MAX_N", "599")
    assert choose_path(600)[0] == "sparse" and choose_path(599)[0] == "dense"


def test_dense_requests_are_refused_before_allocating(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(
        memory.DenseLimitError,
        match=r"^30000 rows are above the dense limit of 20000 \(a dense run would need 26\.8 GiB\)",
    ):
        choose_path(30_000, "dense")
    monkeypatch.setattr(memory, "available_bytes", lambda: 10 * 2**20)
    with pytest.raises(
        memory.InsufficientMemoryError, match=r"needs 30\.5 MiB of memory and 10\.0 MiB is available"
    ):
        choose_path(1000, "dense")
    path, note = choose_path(1000, "auto")
    assert path == "sparse" and note is not None and "30.5 MiB" in note


def test_bad_features_and_ids_name_them() -> None:
    X = np.zeros((5, 2))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"^features: NaN or infinite features in 1 row\(s\): 3$"):
        cluster_embeddings(X)
    with pytest.raises(ValueError, match=r"^ids: duplicate ids a$"):
        cluster_embeddings(np.eye(3), ids=["a", "b", "a"])


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    # The environment is inherited: the corrclust under test is the one this interpreter imports (an
    # installed wheel in CI, whose compiled core the source tree does not hold).
    return subprocess.run(
        [sys.executable, "-m", "corrclust", "cluster", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
    )


def test_embeddings_cli_round_trip(tmp_path: Path, planted: tuple[np.ndarray, np.ndarray]) -> None:
    X, truth = planted
    np.save(tmp_path / "E.npy", X)
    with open(tmp_path / "ids.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "class"])
        w.writerows([f"cell-{i}", c] for i, c in enumerate(truth))
    out = run_cli(
        "--embeddings", "E.npy", "--ids", "ids.csv", "-o", "out", "--dense-max-n", "100", cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert "600 rows are above the dense limit of 100: sparse path" in out.stderr
    with open(tmp_path / "out" / "clusters.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["id"] for r in rows] == [f"cell-{i}" for i in range(600)]
    want = cluster_embeddings(X, path="sparse")
    # numbered 1..K by decreasing size, as an image folder's clusters.csv (was 0..K-1 here)
    assert [int(r["cluster"]) for r in rows] == number_clusters(want.labels).tolist()
    sizes = np.bincount([int(r["cluster"]) for r in rows])
    assert sizes[0] == 0 and (np.diff(sizes[1:]) <= 0).all()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["path"] == "sparse" and summary["pairs_scored"] == want.pairs


def test_embeddings_cli_reads_the_archive_of_ssl_embed(tmp_path: Path) -> None:
    """``ssl embed``'s .npz (ids, features, costs): its features are clustered under its ids; it was
    refused as "an .npz must hold one array, it holds 3"."""
    X = np.random.default_rng(0).normal(size=(20, 3))
    ids = np.array([str(100 + 7 * i) for i in range(20)])
    np.savez(tmp_path / "emb.npz", ids=ids, features=X, costs=np.zeros((20, 20)))
    np.save(tmp_path / "E.npy", X)
    out = run_cli("--embeddings", "emb.npz", "-o", "a", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    ref = run_cli("--embeddings", "E.npy", "-o", "b", cwd=tmp_path)
    assert ref.returncode == 0, ref.stderr
    with open(tmp_path / "a" / "clusters.csv", newline="") as fh:
        got = list(csv.DictReader(fh))
    with open(tmp_path / "b" / "clusters.csv", newline="") as fh:
        want = list(csv.DictReader(fh))
    assert [r["id"] for r in got] == ids.tolist()
    assert [r["cluster"] for r in got] == [r["cluster"] for r in want]


@pytest.mark.parametrize(
    ("files", "args", "message"),
    [
        ({"nan": True}, ["--embeddings", "E.npy", "-o", "o"], "E.npy: NaN or infinite features in 1 row(s): 7"),
        ({"dup": True}, ["--embeddings", "E.npy", "--ids", "ids.csv", "-o", "o"], "ids.csv: duplicate ids x"),
        ({}, ["--embeddings", "E.npy", "-o", "o", "--pairs", "all", "--dense-max-n", "10"],
         "20 rows are above the dense limit of 10 (a dense run would need 12.5 KiB)"),
        ({}, ["--embeddings", "missing.npy", "-o", "o"], "missing.npy: embeddings file not found"),
    ],
)  # fmt: skip
def test_embeddings_cli_bad_input_is_one_line(
    tmp_path: Path, files: dict, args: list[str], message: str
) -> None:
    X = np.random.default_rng(0).normal(size=(20, 3))
    if files.get("nan"):
        X[7, 0] = np.nan
    np.save(tmp_path / "E.npy", X)
    ids = ["x" if files.get("dup") and i in (2, 5) else f"r{i}" for i in range(20)]
    (tmp_path / "ids.csv").write_text("id\n" + "\n".join(ids) + "\n")
    out = run_cli(*args, cwd=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("corrclust cluster: error: ") and message in lines[0]
    assert not (tmp_path / "o").exists()


def test_left_out_cost_ignores_graph_pairs() -> None:
    X = np.arange(8, dtype=float)[:, None]
    idx, dist = exact_knn(X, 7)  # every pair is in the graph: nothing is left out
    uv, _ = candidate_edges(idx, dist)
    score = feature_costs.LocalScalingCost(np.ones(8))
    assert embedding_clustering._left_out_cost(X, score, uv, 0) == 0.0


def test_every_long_step_says_a_line_before_it_starts(planted: tuple[np.ndarray, np.ndarray]) -> None:
    """The dense solve (76 of 215 s at n = 20,000) and the refinement (99 of 145 s at n = 10^5) ran
    after the last line without one of their own (audit qa16)."""
    X, _ = planted
    said: list[str] = []
    res = cluster_embeddings(X, path="dense", progress=said.append)
    assert said == ["dense path: costs of all 179700 pairs", "dense path: solving (kl)"]
    said.clear()
    res = cluster_embeddings(X, path="sparse", knn="exact", progress=said.append)
    assert res.refinement is not None and res.refinement.pairs
    assert said[0] == "sparse path: 30 nearest neighbours of 600 rows"
    assert said[1].startswith("sparse path: solving ") and len(said) == 3
    assert said[2] == (
        f"sparse path: refining the {int(res.solve.labels.max()) + 1} clusters on the exact pairs "
        "inside and between them (up to 3 rounds)"
    )


def test_embeddings_cli_warns_of_a_partition_that_separates_nothing(tmp_path: Path) -> None:
    """300 identical rows: "300 rows -> 1 clusters" and nothing else (audit qa16). Now the partition
    checks of the image route's assessment are printed and kept in summary.json."""
    np.save(tmp_path / "same.npy", np.ones((300, 4)))
    out = run_cli("--embeddings", "same.npy", "-o", "same", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("300 rows -> 1 cluster (dense path, 44850 pairs scored, ")
    assert lines[1] == (
        "warning: the rows are identical: there is no structure to cluster; any clusters beyond one "
        "follow rounding noise"
    )
    assert lines[2] == "warning: one cluster: all 300 rows were joined, the clustering separates nothing"
    summary = json.loads((tmp_path / "same" / "summary.json").read_text())
    assert summary["findings"] == [line[len("warning: ") :] for line in lines[1:3]]
    X, _ = planted_embeddings(300, 16, seed=2)
    np.save(tmp_path / "E.npy", X)
    out = run_cli("--embeddings", "E.npy", "-o", "planted", cwd=tmp_path)
    assert out.returncode == 0 and "warning" not in out.stdout
    assert json.loads((tmp_path / "planted" / "summary.json").read_text())["findings"] == []


def test_embeddings_cli_says_rows_that_differ_only_by_rounding(tmp_path: Path) -> None:
    """Rows equal up to 1e-9: the cost rule standardises each feature, so the noise became clusters
    (5,000 such rows: 1,311 clusters) without a word (audit qa16)."""
    rng = np.random.default_rng(0)
    np.save(tmp_path / "flat.npy", 1.0 + 1e-9 * rng.standard_normal((300, 4)))
    out = run_cli("--embeddings", "flat.npy", "-o", "flat", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    said = [
        line for line in out.stdout.splitlines() if line.startswith("warning: the rows differ by at most ")
    ]
    assert len(said) == 1 and said[0].endswith(
        "of their size): there is no structure to cluster; any clusters beyond one follow rounding noise"
    )
    assert (
        said[0][len("warning: ") :]
        in json.loads((tmp_path / "flat" / "summary.json").read_text())["findings"]
    )


def test_embeddings_cli_says_rows_without_groups(tmp_path: Path) -> None:
    """1,200 rows of one Gaussian: hundreds of small clusters that no partition check flags (5,000
    such rows gave 1,296 clusters of about 4; audit qa16). The rows' neighbour distances are those
    of one Gaussian: said, and the ratio kept in summary.json; planted groups pass."""
    rng = np.random.default_rng(0)
    np.save(tmp_path / "noise.npy", rng.standard_normal((1200, 8)).astype(np.float32))
    out = run_cli("--embeddings", "noise.npy", "-o", "noise", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    said = [
        line
        for line in out.stdout.splitlines()
        if line.startswith("warning: no structure beyond one Gaussian")
    ]
    assert len(said) == 1 and "not groups in the data" in said[0], out.stdout
    summary = json.loads((tmp_path / "noise" / "summary.json").read_text())
    assert summary["gaussian_ratio"] >= 0.92 and said[0][len("warning: ") :] in summary["findings"]
    assert summary["clusters"] > 50  # the clusters that were handed out without a word
    X, _ = planted_embeddings(300, 16, seed=2)
    np.save(tmp_path / "E.npy", X)
    out = run_cli("--embeddings", "E.npy", "-o", "planted", cwd=tmp_path)
    assert out.returncode == 0 and "warning" not in out.stdout
    assert json.loads((tmp_path / "planted" / "summary.json").read_text())["gaussian_ratio"] < 0.8


def test_gaussian_ratio_distances_and_invariances() -> None:
    from scipy.spatial.distance import cdist

    from corrclust.informativeness import GAUSSIAN_RATIO, _kth_neighbour_distance, gaussian_ratio

    rng = np.random.default_rng(4)
    X = rng.standard_normal((40, 3))
    D = cdist(X, X)
    np.fill_diagonal(D, np.inf)
    np.testing.assert_allclose(_kth_neighbour_distance(X, 7), np.sort(D, axis=1)[:, 6], atol=1e-12)
    # standardised features: shifting and scaling a feature (or adding a constant one) changes nothing
    Y = np.hstack([X * [1e3, 1.0, 1e-3] + 5.0, np.full((40, 1), 2.0)])
    assert gaussian_ratio(Y, seed=3) == pytest.approx(gaussian_ratio(X, seed=3), abs=1e-9)
    # four tight groups far apart: neighbours much closer than a Gaussian of the same spread
    groups = np.repeat(np.eye(4) * 100, 50, axis=0) + rng.standard_normal((200, 4))
    assert gaussian_ratio(groups) < 0.5 < GAUSSIAN_RATIO
    assert gaussian_ratio(X[:8]) is None and gaussian_ratio(np.ones((50, 3))) is None
    # seeded: the same sample and draws for the same seed; one Gaussian's rows come out near 1
    big = rng.standard_normal((3000, 5))
    assert gaussian_ratio(big, rows=500, seed=1) == gaussian_ratio(big, rows=500, seed=1)
    assert 0.95 < gaussian_ratio(big, rows=500, seed=1) < 1.05


def test_spread_findings_threshold() -> None:
    from corrclust.commands.cluster import spread_findings

    base = np.ones((5, 3), dtype=np.float32) * 1000
    assert spread_findings(base)[0].startswith("the rows are identical")
    base[2, 1] += 0.0005  # 5e-7 of the largest value: below 1e-6
    assert spread_findings(base)[0].startswith("the rows differ by at most 0.000488")
    base[2, 1] += 0.01  # 1e-5
    assert spread_findings(base) == [] and spread_findings(base[:1]) == []


def test_embeddings_cli_takes_a_truth_as_with_workers(tmp_path: Path) -> None:
    """--truth was refused without --workers ("does not apply to --embeddings") and taken with it
    (audit qa16): a screen with labels got its metrics only on Dask."""
    from corrclust.formats.clusterings import write_clustering
    from corrclust.metrics import compare

    X, truth = planted_embeddings(300, 16, seed=2)
    np.save(tmp_path / "E.npy", X)
    write_clustering(tmp_path / "truth.csv", [np.flatnonzero(truth == c).tolist() for c in np.unique(truth)])
    out = run_cli("--embeddings", "E.npy", "-o", "out", "--truth", "truth.csv", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    want = compare(truth, cluster_embeddings(X).labels)
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["vi"] == want["vi"] and metrics["n"] == 300 and metrics["truth"] == "truth.csv"
    assert out.stdout.splitlines()[1] == (
        f"VI {want['vi']:.4f} bits (false cuts {want['false_cuts']:.4f}, false joins {want['false_joins']:.4f}), "
        f"Rand index {100 * want['rand_index']:.2f} %, 30 true classes"
    )
    # a truth that cannot be read stops before the clustering, in one line
    (tmp_path / "bad.csv").write_text("1,2,x\n")
    out = run_cli("--embeddings", "E.npy", "-o", "bad", "--truth", "bad.csv", cwd=tmp_path)
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert out.stderr.startswith("corrclust cluster: error: bad.csv, line 1: 'x' is not an integer id")
    assert not (tmp_path / "bad").exists()
