"""The similarity-route interface: a route registered with one ``ROUTES`` line runs through the whole
pipeline and ``corrclust cluster`` (issue 12, item 3). The built-in routes are covered by
test_pipeline.py (twin) and test_demo.py (pqap)."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from corrclust import pipeline
from corrclust.cli import main as cli_main
from corrclust.images import synthetic
from corrclust.pipeline import routes


class ConstRoute:
    """Similarity ``level`` inside a class (id // 100), 0.5 across; the last image is left out."""

    name = "const"
    label = "constant test route"
    timing_label = "const time"

    def __init__(self):
        self.seen_options: list[dict] = []

    def check(self, options):
        if options.route_options.get("const_level", 0.8) > 1:
            raise ValueError("--const-level must be at most 1")

    def correlate(self, images, options, *, checkpoint):
        self.seen_options.append(dict(options.route_options))
        level = options.route_options.get("const_level", 0.8)
        ids = images.ids[:-1]
        cls = ids // 100
        S = np.where(cls[:, None] == cls[None, :], level, 0.5)
        np.fill_diagonal(S, np.nan)
        images.failures.append((images.records[-1].path, "left out by the test route"))
        return pipeline.Correlations(ids, S, "similarity", options.threshold, options.symmetrize)

    def settings(self, options):
        return [("const level", options.route_options.get("const_level", 0.8))]

    def add_arguments(self, group):
        group.add_argument(
            "--const-level", dest="const_level", type=float, default=0.8, help="similarity in a class"
        )


@pytest.fixture
def const_route(monkeypatch):
    route = ConstRoute()
    module = types.ModuleType("corrclust_test_const_route")
    module.ROUTE = route
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(routes.ROUTES, "const", module.__name__)  # the one registry line
    return route


@pytest.fixture(scope="module")
def organoids(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("organoids")
    synthetic.generate(folder, classes=3, per_class=4, seed=3, size=64)
    return folder


def test_a_registered_route_runs_the_whole_pipeline(const_route, organoids, tmp_path):
    assert routes.get_route("const") is const_route
    out = tmp_path / "out"
    res = pipeline.run(
        pipeline.ClusterOptions(organoids, out, method="const", truth="auto", sweep=False, progress=False)
    )
    assert res.correlations.ids.tolist() == [100, 101, 102, 103, 200, 201, 202, 203, 300, 301, 302]
    # within-class 0.8 > threshold 0.64 > 0.5 across: the clusters are the classes
    assert res.clustering.n_clusters == 3
    data = json.loads((out / "metrics.json").read_text())
    assert data["n"] == 11 and data["vi"] == 0.0
    page = (out / "report.html").read_text()
    assert "constant test route" in page and "const time" in page and "const level" in page


def test_a_route_adds_its_own_options_to_cluster(const_route, organoids, tmp_path, monkeypatch, capsys):
    from corrclust.commands import cluster as cluster_command

    monkeypatch.setattr(cluster_command, "METHODS", (*pipeline.METHODS, "const"))
    args = ["cluster", str(organoids), "--method", "const", "-o", str(tmp_path / "out"), "--no-progress"]
    assert cli_main([*args, "--const-level", "0.6", "--threshold", "0.55"]) == 0
    assert const_route.seen_options == [{"const_level": 0.6}]
    assert cli_main([*args, "--const-level", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "corrclust cluster: error: --const-level must be at most 1"
    assert len(const_route.seen_options) == 1  # check() stopped the run before any work


def test_an_unknown_method_names_the_routes():
    with pytest.raises(
        ValueError, match="unknown method 'nope' \\(choose one of pqap, twin, profile, ssl\\)"
    ):
        routes.get_route("nope")


def test_a_route_refine_step_gives_the_labels_that_are_written(const_route, organoids, tmp_path, monkeypatch):
    # a route's ``refine`` (the profile route joins singletons there) replaces the solver's clustering
    import dataclasses

    calls = []

    def refine(corr, clustering, options):
        calls.append(clustering.labels.copy())
        return dataclasses.replace(clustering, labels=np.ones_like(clustering.labels))

    monkeypatch.setattr(const_route, "refine", refine, raising=False)
    out = tmp_path / "out"
    res = pipeline.run(pipeline.ClusterOptions(organoids, out, method="const", sweep=False, progress=False))
    assert len(calls) == 1 and calls[0].tolist() == [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3]
    assert res.clustering.n_clusters == 1
    assert {row.split(",")[1] for row in (out / "clusters.csv").read_text().splitlines()[1:]} == {"1"}


def test_the_profile_route_joins_a_singleton_that_attracts_its_class():
    from corrclust import feature_costs
    from corrclust.pipeline.clustering import cluster
    from corrclust.pipeline.routes.profile import ROUTE

    # the planted set of test_feature_costs: a tight class and its off member, two wider classes
    rng = np.random.default_rng(0)
    A = rng.normal(0, 0.5, (10, 6))
    B = rng.normal(0, 1.0, (10, 6))
    B[:, 0] += 6
    D = rng.normal(0, 1.0, (10, 6))
    D[:, 1] += 6
    off = np.zeros(6)
    off[0], off[2] = 2.2, 1.0
    C, _ = feature_costs.costs_from_features(np.vstack([A, off, B, D]), k=7)
    P = 1.0 / (1.0 + np.exp(-C))
    np.fill_diagonal(P, 0.5)
    corr = pipeline.Correlations(np.arange(31), P, "probability", 0.0, "mean")
    solved = cluster(corr, "kl")
    assert solved.n_clusters == 4 and solved.labels[10] == 4  # the off member alone
    options = pipeline.ClusterOptions(Path("."), Path("out"), method="profile")
    refined = ROUTE.refine(corr, solved, options)
    assert refined.labels.tolist() == [1] * 11 + [2] * 10 + [3] * 10
    assert refined.objective == pytest.approx(corr.problem().objective(refined.labels))
    assert refined.objective > solved.objective  # against the costs: the step is a prior, not the optimum
    assert ROUTE.refine(corr, refined, options) is refined  # nothing alone that attracts: unchanged
