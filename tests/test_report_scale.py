"""The report of a large run: no n x n figure, a cluster-size distribution, seeded galleries."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from corrclust import report
from corrclust.metrics import compare, contingency_table
from corrclust.report import figures

SIZES = [200, 150, 100, 60, 40, 30, 15, 5]  # clusters 1..8, largest first; 600 images


class NoPairs:
    """Correlations whose every all-pairs view fails the test: a large report must not ask for them."""

    kind = "similarity"
    parameter_name = "threshold"
    parameter = 0.5
    symmetrization = "min"

    def symmetric(self):
        raise AssertionError("the large report built the n x n matrix")

    def problem(self):
        raise AssertionError("the large report built the n x n costs")


def large_run(with_truth: bool):
    rng = np.random.default_rng(11)
    labels = rng.permutation(np.repeat(np.arange(1, len(SIZES) + 1), SIZES))
    n = labels.size
    records = [
        SimpleNamespace(
            id=10_000 + i, path=Path(f"img_{i}.tif"), well=None, plate=None, site=None, source=None
        )
        for i in range(n)
    ]
    thumbs = [np.full((8, 8, 3), i % 256, np.uint8) for i in range(n)]
    images = SimpleNamespace(records=records, thumbs=thumbs, ids=np.arange(10_000, 10_000 + n), failures=[])
    clustering = SimpleNamespace(
        labels=labels,
        n_clusters=len(SIZES),
        objective=-1.0,
        lower_bound=None,
        runtime=0.5,
        status="heuristic",
        solver="kl",
    )
    evaluation = None
    if with_truth:
        truth = np.where(rng.random(n) < 0.8, labels % 3, rng.integers(0, 3, n))
        classes = [str(c) for c in range(3)]
        evaluation = SimpleNamespace(
            truth=SimpleNamespace(classes=[str(c) for c in truth], source="planted"),
            classes=classes,
            metrics=compare(truth, labels),
            contingency=contingency_table(truth, labels),
            contingency_clusters=list(range(1, 9)),
            subsets=None,
            sweep=None,
        )
    return images, NoPairs(), clustering, evaluation


def _save(path: Path, draw) -> None:
    draw(path)


def draw_and_render(tmp_path, monkeypatch, with_truth=False):
    drawn: dict[str, list[str]] = {}
    real = figures.montage

    def recording(thumbs, captions, path, **kw):
        drawn[kw["title"].split(":")[0]] = list(captions)
        real(thumbs, captions, path, **kw)

    monkeypatch.setattr(figures, "montage", recording)
    images, corr, clustering, evaluation = large_run(with_truth)
    files = report.draw_figures(
        tmp_path,
        "figures",
        images,
        corr,
        clustering,
        evaluation,
        _save,
        progress=False,
        dense_max=100,
        gallery=24,
    )
    files["clusters"] = tmp_path / "clusters.csv"
    page = report.render(
        "t", tmp_path, images, corr, clustering, evaluation, [("seed", 0)], files, dense_max=100, gallery=24
    )
    return files, page, drawn, clustering.labels


def test_large_report_has_no_pair_figure_and_a_size_histogram(tmp_path, monkeypatch):
    files, page, drawn, labels = draw_and_render(tmp_path, monkeypatch)
    assert "similarity" not in files and "sizes" not in files
    assert files["size_distribution"].is_file()
    assert "similarity.png" not in page and "typical" not in page.split("Clusters</h2>")[1].split("seed")[0]
    assert "figures/size_distribution.png" in page
    # The bins that double: sizes 5 | 15 | 30 | 40, 60 | 100 | 150, 200 (1 image, 2, 3-4, ... left out when empty).
    assert figures.size_bins(labels) == [
        (5, 8, 1, 5),
        (9, 16, 1, 15),
        (17, 32, 1, 30),
        (33, 64, 2, 100),
        (65, 128, 1, 100),
        (129, 256, 2, 350),
    ]
    cells = re.findall(r"<tr><th[^>]*>(\d+-\d+|\d+)</th><td>(\d+)</td><td>(\d+)</td></tr>", page)
    assert cells == [
        ("5-8", "1", "5"),
        ("9-16", "1", "15"),
        ("17-32", "1", "30"),
        ("33-64", "2", "100"),
        ("65-128", "1", "100"),
        ("129-256", "2", "350"),
    ]


def test_large_report_galleries_are_a_seeded_sample_of_each_cluster(tmp_path, monkeypatch):
    _, page, drawn, labels = draw_and_render(tmp_path / "a", monkeypatch)
    ids = 10_000 + np.arange(labels.size)
    assert sorted(drawn) == [f"cluster {k}" for k in range(1, 9)]
    for k, size in enumerate(SIZES, start=1):
        shown = [int(c) for c in drawn[f"cluster {k}"]]
        assert len(shown) == min(24, size)
        assert set(shown) <= set(ids[labels == k].tolist())  # members of that cluster only
        if size > 24:
            assert shown != ids[labels == k][:24].tolist()  # a sample, not the first members
    assert "drawn at random (seed 0" in page
    _, _, again, _ = draw_and_render(tmp_path / "b", monkeypatch)
    assert again == drawn  # the same seed draws the same images


def test_large_report_with_truth_leaves_the_contingency_to_metrics_json(tmp_path, monkeypatch):
    files, page, drawn, _ = draw_and_render(tmp_path, monkeypatch, with_truth=True)
    assert "vi_split" in files and "similarity" not in files
    assert "Contingency table" not in page
    assert "it is in metrics.json" in page
    assert all(re.fullmatch(r"1\d{4} \([012]\)", c) for c in drawn["cluster 1"])  # id (true class)


@pytest.mark.parametrize("n_clusters", [1, 3])
def test_size_bins_of_equal_clusters(n_clusters):
    labels = np.repeat(np.arange(n_clusters), 7)
    assert figures.size_bins(labels) == [(5, 8, n_clusters, 7 * n_clusters)]
