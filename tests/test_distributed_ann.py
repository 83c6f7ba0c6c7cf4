"""The approximate (faiss HNSW) kNN search of corrclust.distributed: one index built once, query
blocks on the workers, the one-process faiss graph bit for bit, resume at the block level with the
index as part of the run folder, and an index of another run refused."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from corrclust import candidates
from corrclust import distributed as D
from corrclust.generators import planted_embeddings

pytest.importorskip("faiss", reason="the faiss search needs the ann extra (faiss-cpu)")


@pytest.fixture(scope="module")
def client():
    """Two single-threaded workers in this process (threads): fast to start, real scheduling."""
    with D.connect(workers=2, processes=False) as c:
        yield c


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return planted_embeddings(2_000, 16, class_size=20, seed=4)[0]


def test_a_search_of_one_index_does_not_depend_on_threads_or_blocks(X):
    index = candidates.faiss_index(X, threads=1)
    whole = candidates.faiss_candidates(index, X, 10, threads=2)
    one = candidates.faiss_candidates(index, X, 10, threads=1)
    blocks = np.vstack(
        [candidates.faiss_candidates(index, X[s : s + 333], 10, threads=1) for s in range(0, 2_000, 333)]
    )
    np.testing.assert_array_equal(one, whole)
    np.testing.assert_array_equal(blocks, whole)
    # One thread builds the same index every time.
    import faiss

    again = candidates.faiss_index(X, threads=1)
    assert bytes(faiss.serialize_index(again)) == bytes(faiss.serialize_index(index))


def test_two_workers_give_the_one_process_faiss_graph_bit_for_bit(client, X, tmp_path):
    want, want_d, used = candidates.knn_graph(X, 12, method="faiss", threads=1)
    assert used == "faiss"
    idx, dist = D.knn(X, 12, method="faiss", client=client, block_rows=300, threads=1, run_dir=tmp_path)
    np.testing.assert_array_equal(idx, want)
    np.testing.assert_array_equal(dist, want_d)
    # 2,000 rows in blocks of 300: 7 blocks and the index in the run folder.
    assert len(list((tmp_path / "knn").glob("*-*.npz"))) == 7
    assert (tmp_path / "knn" / "index.npz").is_file()
    # The approximate graph is nearly the exact one on planted data, and its distances are exact.
    exact, exact_d = candidates.exact_knn(X, 12)
    recall = np.mean([len(set(a) & set(b)) / 12 for a, b in zip(idx, exact, strict=True)])
    assert recall >= 0.99, recall
    same = idx == exact
    np.testing.assert_allclose(dist[same], exact_d[same], rtol=0, atol=1e-12)


def test_the_faiss_route_clusters_as_the_one_process_faiss_path(client, X):
    from corrclust.embedding_clustering import cluster_embeddings

    one = cluster_embeddings(X, path="sparse", knn="faiss", graph_k=12, seed=3, threads=1)
    two = D.cluster_embeddings(X, k=12, seed=3, client=client, knn="faiss", threads=1, block_rows=500)
    assert two.knn == "faiss" and one.knn == "faiss"
    np.testing.assert_array_equal(two.labels, one.labels)
    assert two.objective == one.objective and two.edges.shape[0] == one.pairs
    # auto takes the exact search at this size (up to candidates.EXACT_MAX_N rows)
    assert D.cluster_embeddings(X[:300], k=5, local=True).knn == "exact"


def test_a_rerun_searches_only_the_missing_blocks_in_the_saved_index(X, tmp_path, monkeypatch):
    first = D.knn(X, 8, method="faiss", block_rows=400, run_dir=tmp_path)  # 5 blocks, here
    stored = sorted((tmp_path / "knn").glob("*-*.npz"))
    assert len(stored) == 5
    for p in stored[1:3]:
        p.unlink()  # as if the run had stopped before these two blocks
    calls: list[tuple[int, int]] = []
    task = D._faiss_knn_task
    monkeypatch.setattr(D, "_faiss_knn_task", lambda *a: calls.append(a[-2:]) or task(*a))
    monkeypatch.setattr(candidates, "faiss_index", lambda *a: pytest.fail("the saved index is rebuilt"))
    reused: dict[str, int] = {}
    again = D.knn(X, 8, method="faiss", block_rows=400, run_dir=tmp_path, reused=reused)
    assert sorted(calls) == sorted(
        (int(p.stem.split("-")[0]), int(p.stem.split("-")[1])) for p in stored[1:3]
    )
    assert reused == {"knn": 3}
    np.testing.assert_array_equal(again[0], first[0])
    np.testing.assert_array_equal(again[1], first[1])


def test_an_index_of_another_run_is_refused_in_one_line(X, tmp_path):
    D.knn(X, 8, method="faiss", block_rows=1_000, run_dir=tmp_path / "a")
    D.knn(X + 1.0, 8, method="faiss", block_rows=1_000, run_dir=tmp_path / "b")
    target = tmp_path / "b" / "knn" / "index.npz"
    shutil.copy(tmp_path / "a" / "knn" / "index.npz", target)
    with pytest.raises(ValueError) as info:
        D.knn(X + 1.0, 8, method="faiss", block_rows=1_000, run_dir=tmp_path / "b")
    assert str(info.value) == (
        f"{target} is the kNN index of another run (differs in: input); use a new run folder or delete this one"
    )
    target.write_bytes(b"not an index")
    with pytest.raises(
        ValueError,
        match=r"index.npz: not a readable kNN index of this package; use a new run folder or delete this one$",
    ):
        D.knn(X + 1.0, 8, method="faiss", block_rows=1_000, run_dir=tmp_path / "b")
    target.unlink()  # blocks without the index they were searched in
    with pytest.raises(ValueError, match=r"holds kNN blocks but not the index they were searched in"):
        D.knn(X + 1.0, 8, method="faiss", block_rows=1_000, run_dir=tmp_path / "b")
    # An exact run's folder is not mixed with a faiss run's.
    with pytest.raises(ValueError, match=r"knn blocks of another run \(differs in: faiss, hnsw, method\)"):
        D.knn(X, 8, method="exact", block_rows=1_000, run_dir=tmp_path / "a")


def test_without_faiss_one_line_names_the_extra(X, tmp_path, monkeypatch, capsys):
    from corrclust.cli import main

    monkeypatch.setattr(candidates, "ann_available", lambda: False)
    with pytest.raises(
        ImportError, match=r"^the faiss kNN search needs faiss-cpu: pip install 'corrclust\[ann\]'$"
    ):
        D.knn(X, 5, method="faiss")
    assert D.cluster_embeddings(X[:300], k=5, local=True, knn="auto").knn == "exact"
    np.save(tmp_path / "E.npy", X)
    args = ["cluster", "--embeddings", str(tmp_path / "E.npy"), "-o", str(tmp_path / "out")]
    code = main(args + ["--workers", "2", "--knn", "faiss"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert (
        err
        == "corrclust cluster: error: the faiss kNN search needs faiss-cpu: pip install 'corrclust[ann]'\n"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_cli_faiss_on_two_worker_processes_equals_the_one_process_command_and_resumes(X, tmp_path, capsys):
    from corrclust.cli import main

    np.save(tmp_path / "E.npy", X)
    common = ["cluster", "--embeddings", str(tmp_path / "E.npy"), "--knn", "faiss", "--threads", "1"]
    common += ["--knn-k", "12", "--no-progress"]
    assert main(common + ["-o", str(tmp_path / "one"), "--pairs", "knn"]) == 0
    dask = common + ["-o", str(tmp_path / "two"), "--workers", "2"]
    assert main(dask) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[-2].endswith("; faiss kNN search)"), out
    one = (tmp_path / "one" / "clusters.csv").read_text()
    assert (tmp_path / "two" / "clusters.csv").read_text() == one
    assert (tmp_path / "two" / "blocks" / "knn" / "index.npz").is_file()
    assert main(dask) == 0  # again: the one kNN block and the pairs' block from OUT/blocks
    out, err = capsys.readouterr()
    assert "; 2 blocks reused; faiss kNN search)" in out, out
    assert (tmp_path / "two" / "clusters.csv").read_text() == one
