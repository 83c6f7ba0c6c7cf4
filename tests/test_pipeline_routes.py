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


def test_the_api_default_lets_the_images_choose_the_route_as_the_cli_does(tmp_path, capsys):
    """ClusterOptions without a method: grey crops take the profile route, as `corrclust cluster`
    without --method; the default was "pqap", which refused them ("key points were found in 0 of 8")."""
    import tifffile

    assert pipeline.ClusterOptions(tmp_path, tmp_path / "o").method == routes.AUTO
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:48, :48]
    for k in range(8):
        r = 8 + 2 * k
        disc = ((yy - 24) ** 2 + (xx - 24) ** 2 < r * r) * 200 + rng.integers(0, 20, (48, 48))
        tifffile.imwrite(tmp_path / f"cell_{100 + k}.tif", disc.astype(np.uint8))
    res = pipeline.run(pipeline.ClusterOptions(tmp_path, tmp_path / "out", progress=False))
    assert res.clustering.labels.size == 8
    err = capsys.readouterr().err
    assert "corrclust: method: profile (the images lack the key-point channels; choose with --method)" in err


@pytest.mark.parametrize(
    "extra, what",
    [
        (["--method", "ssl", "--time-budget", "5"], "--method ssl"),
        (["--method", "twin", "--model", "MODEL"], "--method twin"),
        (["--method", "profile", "--ssl-model", "MODEL"], "--ssl-model"),
    ],
)
def test_a_route_that_needs_torch_says_so_in_one_line_before_any_work(
    extra, what, organoids, tmp_path, monkeypatch, capsys
):
    """Without PyTorch (a None entry in sys.modules fails its import): one line naming the extra, exit 2,
    and nothing read or written. --method ssl ended in an ImportError traceback (audit qa15); twin and
    --ssl-model failed only after every image had been read (and, for profiles, profiled)."""
    model = tmp_path / "model.pt"
    model.write_bytes(b"not read")
    extra = [str(model) if a == "MODEL" else a for a in extra]
    for name in ("torch", "corrclust.ssl", "corrclust.twin"):
        monkeypatch.setitem(sys.modules, name, None)
    out = tmp_path / "out"
    assert cli_main(["cluster", str(organoids), "-o", str(out), "--no-progress", *extra]) == 2
    err = capsys.readouterr().err
    assert err == f"corrclust cluster: error: {what} needs PyTorch: pip install 'corrclust[torch]'\n"
    assert not out.exists()


@pytest.mark.parametrize(
    "extra, line",
    [
        (
            ["--method", "twin", "--model", "MODEL", "--calibrate", "CAL"],
            "--calibrate is an option of --method profile; it does not apply to --method twin",
        ),
        (
            ["--model", "MODEL", "--granularity", "2"],
            "--granularity is an option of --method profile; it does not apply to --method twin (chosen by --model)",
        ),
        (
            ["--method", "profile", "--time-budget", "5"],
            "--time-budget is an option of --method ssl; it does not apply to --method profile",
        ),
        (["--time-budget", "5"], "--time-budget is an option of --method ssl; give --method ssl with it"),
    ],
)
def test_an_option_of_another_route_is_refused_not_dropped(extra, line, organoids, tmp_path, capsys):
    """`--method twin --model M --calibrate labels.csv` ran the twin network and never read the labels,
    without a word in the messages or the report (audit qa15); so did --time-budget when the images
    chose the route."""
    (tmp_path / "model.pt").write_bytes(b"not read")
    (tmp_path / "cal.csv").write_text("file,class\n")
    names = {"MODEL": str(tmp_path / "model.pt"), "CAL": str(tmp_path / "cal.csv")}
    out = tmp_path / "out"
    args = ["cluster", str(organoids), "-o", str(out), "--no-progress", *(names.get(a, a) for a in extra)]
    assert cli_main(args) == 2
    assert capsys.readouterr().err == f"corrclust cluster: error: {line}\n"
    assert not out.exists()


def test_ssl_time_budget_beside_a_given_model_is_refused(organoids, tmp_path, capsys):
    # --model is only used to embed, so a budget was dropped without a word (audit qa15)
    model = tmp_path / "model.pt"
    model.write_bytes(b"not read")
    out = tmp_path / "out"
    args = [
        "cluster",
        str(organoids),
        "-o",
        str(out),
        "--no-progress",
        "--method",
        "ssl",
        "--model",
        str(model),
    ]
    assert cli_main([*args, "--time-budget", "5"]) == 2
    assert capsys.readouterr().err == (
        f"corrclust cluster: error: --time-budget trains a network on the folder; --model {model} is used "
        "as it is (leave out one of them)\n"
    )
    assert not out.exists()
