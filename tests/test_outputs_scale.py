"""Outputs at scale: clusters.csv and metrics.json streamed (no dense structure, no half-written file)."""

from __future__ import annotations

import csv
import json
import tracemalloc

import numpy as np
import pytest

from corrclust.formats.cluster_table import write_cluster_table
from corrclust.formats.clusterings import read_cluster_table
from corrclust.formats.metrics_file import read_contingency, write_metrics
from corrclust.metrics import compare, contingency_table


def test_a_50000_row_table_is_streamed_in_small_memory(tmp_path):
    n = 50_000
    rng = np.random.default_rng(3)
    ids = np.arange(10**6, 10**6 + n, dtype=np.int64)
    labels = rng.integers(1, 4001, n).astype(np.int64)
    names = [f"plate1/img_{i}.tif" for i in range(n)]
    names[7] = "=HYPERLINK(x)"  # text that a spreadsheet would run
    path = tmp_path / "clusters.csv"
    tracemalloc.start()
    try:
        write_cluster_table(path, ids, labels, {"file": names}, block=4096)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # One 4096-row block of Python objects and text, not the table (~1.6 MB of text) nor anything n x n.
    assert peak < 1.5 * 2**20, peak
    text = path.read_text()
    assert len(text) > 1.6e6
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == ["id", "cluster", "file"]
    assert len(rows) == n + 1
    assert rows[1] == ["1000000", str(labels[0]), "plate1/img_0.tif"]
    assert rows[8][2] == "'=HYPERLINK(x)"
    assert [int(r[1]) for r in rows[1:]] == labels.tolist()
    # Read back as clusters: the groups of equal labels, in order of first appearance.
    clusters = read_cluster_table(path)
    assert sum(len(c) for c in clusters) == n
    first = {}
    for i, lab in zip(ids.tolist(), labels.tolist(), strict=True):
        first.setdefault(lab, []).append(i)
    assert clusters == list(first.values())
    assert [p.name for p in tmp_path.iterdir()] == ["clusters.csv"]


def test_a_failure_while_writing_leaves_the_previous_table(tmp_path):
    path = tmp_path / "clusters.csv"
    write_cluster_table(path, np.arange(3), np.array([1, 1, 2]))
    before = path.read_text()
    assert before == "id,cluster\n0,1\n1,1\n2,2\n"

    class Broken(list):
        def __getitem__(self, index):
            if isinstance(index, slice) and index.start >= 4:
                raise OSError(28, "No space left on device")
            return super().__getitem__(index)

    with pytest.raises(OSError, match="No space left"):
        write_cluster_table(path, np.arange(10), np.zeros(10, np.int64), {"x": Broken(range(10))}, block=4)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["clusters.csv"]


def test_table_input_errors(tmp_path):
    with pytest.raises(ValueError, match="ids and labels must be 1-D of one length"):
        write_cluster_table(tmp_path / "c.csv", np.arange(3), np.arange(4))
    with pytest.raises(ValueError, match="column 'file' has 2 values for 3 ids"):
        write_cluster_table(tmp_path / "c.csv", np.arange(3), np.arange(3), {"file": ["a", "b"]})
    with pytest.raises(ValueError, match="labels must be integers"):
        write_cluster_table(tmp_path / "c.csv", np.arange(3), np.array([0.5, 1, 2]))
    assert not list(tmp_path.iterdir())


def test_metrics_file_holds_the_sparse_contingency(tmp_path):
    n = 50_000
    rng = np.random.default_rng(5)
    truth = rng.integers(0, 200, n)
    labels = np.where(rng.random(n) < 0.9, truth * 30 + rng.integers(0, 30, n), rng.integers(0, 6000, n))
    path = tmp_path / "metrics.json"
    tracemalloc.start()
    try:
        metrics = write_metrics(path, truth, labels, {"truth": "planted"}, block=1000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The dense table would be 200 x 6000 int64 = 9.6 MB; the sparse one and its sort stay O(n).
    assert peak < 8 * 2**20, peak
    assert metrics == compare(truth, labels)
    loaded = json.loads(path.read_text())
    assert loaded["truth"] == "planted"
    assert loaded["vi"] == metrics["vi"] and loaded["n"] == n
    cells = np.array(loaded["contingency_cells"])
    assert cells.shape[1] == 3 and cells[:, 2].sum() == n and (cells[:, 2] > 0).all()
    assert cells.shape[0] < n  # only the non-zero cells
    np.testing.assert_array_equal(read_contingency(loaded).toarray(), contingency_table(truth, labels))


def test_metrics_file_small_case_exactly(tmp_path):
    path = tmp_path / "m.json"
    write_metrics(path, [0, 0, 1, 1], [5, 5, 5, 7])
    loaded = json.loads(path.read_text())
    assert loaded["classes"] == [0, 1] and loaded["clusters"] == [5, 7]
    assert loaded["contingency_cells"] == [[0, 0, 2], [1, 0, 1], [1, 1, 1]]
    assert loaded["false_cuts"] == pytest.approx(0.5)  # class 1 split in two halves: H(pred|truth)
