"""Readers and writers: every shared instance, the paper's clustering CSVs, and malformed files."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse

from corrclust import read_instance
from corrclust.formats.clusterings import (
    clusters_from_labels,
    labels_from_clusters,
    read_clustering,
    write_clustering,
)
from corrclust.formats.instances import pace_edits
from corrclust.problem import Problem

# name: (n, m in the header, optimum of the +-1 multicut, minimum edits)
PACE = {
    "exact001": (10, 11, -31, 3),
    "exact013": (40, 297, -302, 181),
    "exact041": (90, 2319, -1502, 184),
    "exact121": (213, 6773, -15063, 742),
    "exact165": (279, 24777, -7910, 6094),
}
# name: (n, edge lines, distinct edges)
MULTICUT = {
    "gm_knott_3d_032": (651, 3939, 3939),
    "gm_knott_3d_034": (972, 5583, 5583),
    "3096": (156, 439, 421),
}


def _edge_lines(path):
    return [line.split() for line in path.read_text().splitlines()[1:] if line.strip()]


@pytest.mark.parametrize("name", sorted(PACE))
def test_pace_instances(cc_instances_dir, name):
    n, m, opt, edits = PACE[name]
    path = cc_instances_dir / "pace2021" / f"{name}.gr"
    p = read_instance(path)
    assert p.is_dense and p.n == n
    assert p.metadata["graph_edges"] == m and p.metadata["edit_offset"] == n * (n - 1) // 2 - m
    iu = np.triu_indices(n, 1)
    assert int((p.costs[iu] == 1).sum()) == m and int((p.costs[iu] == -1).sum()) == n * (n - 1) // 2 - m
    np.testing.assert_array_equal(p.costs, p.costs.T)
    # all singletons score the sum of the costs: m - (C(n,2) - m)
    assert p.objective(np.arange(n)) == m - (n * (n - 1) // 2 - m)
    # the known optimum converts to the known edit count
    assert pace_edits(p, opt) == edits
    # one listed edge really is +1 (1-based ids)
    u, v = (
        int(x) for x in next(line for line in path.read_text().splitlines() if line[:1].isdigit()).split()
    )
    assert p.costs[u - 1, v - 1] == 1.0


@pytest.mark.parametrize("name", sorted(MULTICUT))
def test_multicut_instances(cc_instances_dir, name):
    n, lines, distinct = MULTICUT[name]
    path = cc_instances_dir / "opengm-multicut" / f"{name}.txt"
    p = read_instance(path)
    assert not p.is_dense and p.n == n and p.num_edges == distinct
    assert p.metadata["edge_lines"] == lines
    rows = _edge_lines(path)
    total = sum(float(r[2]) for r in rows)
    assert p.costs.sum() == pytest.approx(total)
    assert p.objective(np.arange(n)) == pytest.approx(total)
    assert p.objective(np.zeros(n, int)) == 0.0
    assert (p.edges[:, 0] < p.edges[:, 1]).all()


def test_3096_parallel_edges_are_summed(cc_instances_dir):
    path = cc_instances_dir / "opengm-multicut" / "3096.txt"
    rows = _edge_lines(path)
    sums: dict[tuple[int, int], float] = {}
    for i, j, c in rows:
        key = (min(int(i), int(j)), max(int(i), int(j)))
        sums[key] = sums.get(key, 0.0) + float(c)
    p = read_instance(path)
    assert len(sums) == 421
    got = {(int(u), int(v)): c for (u, v), c in zip(p.edges, p.costs, strict=False)}
    assert got.keys() == sums.keys()
    for key, c in sums.items():
        assert got[key] == pytest.approx(c)


def test_npy_and_npz_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    c = rng.normal(size=(5, 5))
    c = c + c.T
    np.fill_diagonal(c, 0)
    np.save(tmp_path / "c.npy", c)
    np.testing.assert_array_equal(read_instance(tmp_path / "c.npy").costs, c)
    np.savez(tmp_path / "d.npz", costs=c)
    np.testing.assert_array_equal(read_instance(tmp_path / "d.npz").costs, c)
    edges = np.array([[0, 1], [1, 0], [3, 4]])
    np.savez(tmp_path / "e.npz", edges=edges, costs=np.array([1.0, 2.0, -1.0]), n=6)
    p = read_instance(tmp_path / "e.npz")
    assert p.n == 6 and p.num_edges == 2 and p.costs.tolist() == [3.0, -1.0]
    scipy.sparse.save_npz(tmp_path / "s.npz", scipy.sparse.csr_matrix(c))
    np.testing.assert_allclose(read_instance(tmp_path / "s.npz").to_dense(), c)
    from scipy.spatial.distance import squareform

    np.save(tmp_path / "v.npy", squareform(c, checks=False))
    np.testing.assert_array_equal(read_instance(tmp_path / "v.npy").costs, c)


@pytest.mark.parametrize(
    "text, match",
    [
        ("c hi\np cep 3 1\n1 2\n2 3\n", "announces 1 edges but the file has 2"),
        ("p cep 3 1\n1 4\n", "line 2: node out of range"),
        ("p cep 3 2\n1 2\n2 1\n", "line 3: edge 2 1 repeats line 2"),
        ("p cep 3 1\n2 2\n", "line 2: self-loop"),
        ("p cep 3 1\n1 x\n", "line 2: expected integers"),
        ("p cep 3 1\n1 2 3\n", "line 2: expected an edge"),
        ("p cep three 1\n", "line 1: expected integers"),
        ("p ce 3 1\n", "line 1: expected 'p cep"),
        ("p cep 0 0\n", "n must be positive"),
        ("MULTICUT\n0 1 2.5\n1 2\n", "line 3: expected 'i j cost'"),
        ("MULTICUT\n0 1 abc\n", "line 2: cost 'abc' is not a number"),
        ("MULTICUT\n0 1 nan\n", "line 2: cost 'nan' is not finite"),
        ("MULTICUT\n0 -1 1.0\n", "line 2: negative"),
        ("MULTICUT\n1 1 1.0\n", "line 2: self-loop"),
        ("MULTICUT\n", "no edges"),
        ("hello\n", "unknown instance format"),
        ("", "unknown instance format"),
    ],
)
def test_malformed_instances_name_the_line(tmp_path, text, match):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match=match) as info:
        read_instance(path)
    assert str(path) in str(info.value)


def test_missing_and_bad_binary_instances(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.gr"):
        read_instance(tmp_path / "nope.gr")
    (tmp_path / "x.npy").write_bytes(b"not numpy")
    with pytest.raises(ValueError, match="x.npy"):
        read_instance(tmp_path / "x.npy")
    np.save(tmp_path / "a.npy", np.array([[0, 1.0], [2.0, 0]]))
    with pytest.raises(ValueError, match="a.npy: costs is not symmetric"):
        read_instance(tmp_path / "a.npy")
    np.savez(tmp_path / "b.npz", x=np.zeros(3), y=np.zeros(3))
    with pytest.raises(ValueError, match="cannot tell which arrays"):
        read_instance(tmp_path / "b.npz")


def test_read_the_paper_clusterings(paper_keypoints_dir):
    test30 = read_clustering(
        paper_keypoints_dir / "clustering_results/clustering_only_unseen_classes_optimal.csv"
    )
    assert test30 == [[c * 100 + i for i in range(10)] for c in (11, 12, 13)]
    train = read_clustering(paper_keypoints_dir / "clustering_results/clustering_100_split_1_optimal.csv")
    assert len(train) == 10 and all(len(c) == 10 for c in train)
    assert all(i // 100 == c[0] // 100 for c in train for i in c)


def test_write_then_read_reproduces_the_paper_file(tmp_path, paper_keypoints_dir):
    src = paper_keypoints_dir / "clustering_results/clustering_only_unseen_classes_optimal.csv"
    clusters = read_clustering(src)
    out = tmp_path / "c.csv"
    write_clustering(out, clusters, metadata={"matching_results_file": "", "clustering_threshold": 0.5})
    assert out.read_bytes() == src.read_bytes()
    write_clustering(out, clusters)
    assert read_clustering(out) == clusters
    assert out.read_text().count("\n") == 3


def test_labels_and_clusters_convert_both_ways():
    clusters = [[5, 3], [7], [1, 2]]
    ids = [1, 2, 3, 5, 7]
    labels = labels_from_clusters(clusters, ids)
    assert labels.dtype == np.int64 and labels.tolist() == [2, 2, 0, 0, 1]
    assert clusters_from_labels(ids, labels) == [[1, 2], [3, 5], [7]]
    with pytest.raises(ValueError, match="in no cluster"):
        labels_from_clusters(clusters, ids + [9])
    with pytest.raises(ValueError, match="not in ids"):
        labels_from_clusters(clusters, [1, 2, 3, 5])
    with pytest.raises(ValueError, match="clusters 0 and 1"):
        labels_from_clusters([[1], [1]], [1])
    with pytest.raises(ValueError, match="one entry per id"):
        clusters_from_labels([1, 2], [0])


@pytest.mark.parametrize(
    "text, match",
    [
        ("1,2\n3,x\n", "line 2: 'x' is not an integer id"),
        ("1,2\n3,1\n", "line 2: id 1 appears again \\(first on line 1\\)"),
        ("matching_results_file:\n", "no clusters"),
        ("1.5,2\n", "line 1: '1.5'"),
    ],
)
def test_malformed_clusterings(tmp_path, text, match):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=match) as info:
        read_clustering(path)
    assert str(path) in str(info.value)


def test_clustering_tolerates_padding_and_blank_lines(tmp_path):
    path = tmp_path / "pad.csv"
    path.write_text("1, 2,,\n\n3,\nclustering_threshold:0.64\n")
    assert read_clustering(path) == [[1, 2], [3]]
    with pytest.raises(FileNotFoundError):
        read_clustering(tmp_path / "missing.csv")


def test_write_clustering_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="more than one cluster"):
        write_clustering(tmp_path / "x.csv", [[1, 2], [2]])
    with pytest.raises(ValueError, match="not an integer"):
        write_clustering(tmp_path / "x.csv", [[1, "a"]])
    with pytest.raises(ValueError, match="empty"):
        write_clustering(tmp_path / "x.csv", [[1], []])


def test_problem_metadata_survives_for_edits():
    p = Problem.from_dense(np.zeros((2, 2)))
    assert pace_edits(p, 0.0) is None


@pytest.mark.parametrize(
    "data, match",
    [
        # a MULTICUT file cut off in the middle of its last number
        (b"MULTICUT\n0 1 2.5\n1 2 -1.2", "line 3: the last line has no line break"),
        (b"p cep 3 1\n1 2", "line 2: the last line has no line break"),
        # Python's int()/float() would take these; an instance file holds plain ASCII numbers
        (b"MULTICUT\n0 1_0 1.0\n", "line 2: expected integers, got '0 1_0'"),
        ("MULTICUT\n0 \u0661 1.0\n".encode(), "line 2: expected integers"),
        (b"MULTICUT\n0 1 1_0.5\n", "line 2: cost '1_0.5' is not a number"),
        (b"MULTICUT\n0 1 1e999\n", "line 2: cost '1e999' is not finite"),
        (b"MULTICUT\n0 1 -inf\n", "line 2: cost '-inf' is not finite"),
        # bytes that are not UTF-8: the line and column, not a bare UnicodeDecodeError
        (b"MULTICUT\n0 1 1.0\n0 2 \xff1.0\n", "line 3: not UTF-8 text \\(byte 0xff at column 5\\)"),
        (b"c \xe9t\xe9\np cep 2 0\n", "line 1: not UTF-8 text"),
    ],
)
def test_strict_text_instances(tmp_path, data, match):
    path = tmp_path / "bad.txt"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=match) as info:
        read_instance(path)
    assert str(path) in str(info.value)


def test_byte_order_mark_is_ignored(tmp_path):
    (tmp_path / "a.gr").write_bytes(b"\xef\xbb\xbfc hi\np cep 3 1\n1 2\n")
    p = read_instance(tmp_path / "a.gr")
    assert p.n == 3 and p.costs[0, 1] == 1.0 and p.costs[0, 2] == -1.0
    (tmp_path / "b.txt").write_bytes(b"\xef\xbb\xbfMULTICUT\n0 1 2.5\n1 2 -1e-1\n")
    q = read_instance(tmp_path / "b.txt")
    assert q.n == 3 and sorted(q.costs.tolist()) == [-0.1, 2.5]


def test_instances_too_large_for_memory_fail_before_allocating(tmp_path, monkeypatch):
    import corrclust.memory as memory

    monkeypatch.setattr(memory, "available_bytes", lambda: 10**9)
    (tmp_path / "big.gr").write_bytes(b"p cep 100000 0\n")
    with pytest.raises(
        memory.InsufficientMemoryError,
        match=r"big.gr, line 1: the dense 100000 x 100000 .* needs 74.5 GiB of memory and 953.7 MiB is available",
    ):
        read_instance(tmp_path / "big.gr")
    (tmp_path / "big.txt").write_bytes(b"MULTICUT\n0 1 1.0\n0 2147483646 1\n")
    with pytest.raises(
        memory.InsufficientMemoryError, match=r"big.txt, line 3: node index 2147483646 makes 2147483647 nodes"
    ):
        read_instance(tmp_path / "big.txt")
    # the same files are read when the memory is there (the check is no blanket size limit)
    monkeypatch.setattr(memory, "available_bytes", lambda: 10**14)
    (tmp_path / "ok.gr").write_bytes(b"p cep 300 0\n")
    assert read_instance(tmp_path / "ok.gr").n == 300


def test_cli_out_of_memory_is_one_line_with_exit_code_1(tmp_path, monkeypatch, capsys):
    import corrclust.memory as memory
    from corrclust.cli import main

    monkeypatch.setattr(memory, "available_bytes", lambda: 10**9)
    (tmp_path / "big.gr").write_bytes(b"p cep 100000 0\n")
    assert main(["solve", str(tmp_path / "big.gr")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "out of memory" in err[0] and "74.5 GiB" in err[0]
