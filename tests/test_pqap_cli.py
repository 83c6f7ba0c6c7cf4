"""``corrclust pqap similarities|learn`` and ``corrclust cluster --similarities``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import require_shared

from corrclust.cli import main
from corrclust.pqap import read_keypoints, read_parameters, write_keypoints

TEST30 = "data/paper-keypoints/feature_vectors/feature_vectors_organoid_dataset_unseen_classes_6_2_17_34.csv"
TRUTH30 = "data/paper-keypoints/clustering_results/clustering_only_unseen_classes_optimal.csv"
MATCHING = "data/paper-keypoints/matching_results/matching_results_organoid_dataset_unseen_classes.csv"
LEARNED = "data/paper-keypoints/learned_parameters.txt"


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    kp = read_keypoints(require_shared(TEST30))
    path = tmp_path_factory.mktemp("kp") / "small.csv"
    write_keypoints(path, kp.subset([1300, 1100, 1200, 1101]))
    return path


def test_similarities_command(small_csv, tmp_path, capsys):
    out = tmp_path / "S.npz"
    rc = main(
        [
            "pqap",
            "similarities",
            str(small_csv),
            "--params",
            str(require_shared(LEARNED)),
            "--mode",
            "reference",
            "-o",
            str(out),
            "--threads",
            "2",
            "--quiet",
        ]
    )
    assert rc == 0
    with np.load(out) as z:
        assert z["ids"].tolist() == [1300, 1100, 1200, 1101]
        S = z["S"]
        assert str(z["mode"]) == "reference"
    assert np.isnan(np.diag(S)).all()
    assert round(S[1, 3], 6) == 0.773864 and round(S[3, 1], 6) == 0.828825
    assert "12 ordered pairs" in capsys.readouterr().out


def test_similarities_command_errors(small_csv, tmp_path, capsys):
    assert main(["pqap", "similarities", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "x.npz")]) == 2
    assert "key-point file not found" in capsys.readouterr().err
    bad = tmp_path / "bad.txt"
    bad.write_text("color_cost_offset=x\n")
    assert (
        main(["pqap", "similarities", str(small_csv), "--params", str(bad), "-o", str(tmp_path / "x.npz")])
        == 2
    )
    assert "bad.txt: line 1" in capsys.readouterr().err
    assert main(["pqap", "similarities", str(small_csv), "-o", str(tmp_path / "x.txt")]) == 2


def test_cluster_command_f9(tmp_path, capsys):
    out = tmp_path / "clusters.csv"
    rc = main(
        [
            "cluster",
            "--similarities",
            str(require_shared(MATCHING)),
            "--symmetrize",
            "min",
            "--threshold",
            "0.64",
            "--method",
            "kl",
            "--truth",
            str(require_shared(TRUTH30)),
            "--json",
            "-o",
            str(out),
        ]
    )
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["n_clusters"] == 3
    assert res["objective"] == pytest.approx(-11.967111, abs=1e-6)
    assert sorted(map(sorted, res["clusters"])) == sorted(
        [
            [1305],
            [1200 + i for i in range(10)],
            [1100 + i for i in range(10)] + [1300 + i for i in range(10) if i != 5],
        ]
    )
    assert res["metrics"]["vi"] == pytest.approx(0.7884, abs=1e-4)
    assert res["metrics"]["rand_index"] == pytest.approx(0.7724, abs=1e-4)
    assert out.read_text().splitlines()[-1] == "clustering_threshold:0.64"


def test_cluster_command_f9_exact_proves_the_optimum(capsys):
    """The issue's command line: min-symmetrised stored Test-30 matrix, t = 0.64, exact solver (F9)."""
    rc = main(
        [
            "cluster",
            "--similarities",
            str(require_shared(MATCHING)),
            "--symmetrize",
            "min",
            "--threshold",
            "0.64",
            "--method",
            "exact",
            "--truth",
            str(require_shared(TRUTH30)),
            "--json",
        ]
    )
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["status"] == "optimal" and res["n_clusters"] == 3
    assert res["objective"] == pytest.approx(-11.967111, abs=1e-6)
    assert res["lower_bound"] == pytest.approx(res["objective"], abs=1e-6)
    m = res["metrics"]
    assert m["vi"] == pytest.approx(0.7884, abs=5e-5)
    assert m["false_cuts"] == pytest.approx(0.156, abs=5e-4) and m["false_joins"] == pytest.approx(
        0.632, abs=5e-4
    )
    assert m["rand_index"] == pytest.approx(0.7724, abs=5e-5)


def test_cluster_from_similarities_npz(small_csv, tmp_path, capsys):
    npz = tmp_path / "S.npz"
    main(["pqap", "similarities", str(small_csv), "-o", str(npz), "--quiet"])
    capsys.readouterr()
    assert main(["cluster", "--similarities", str(npz), "--threshold", "0.7", "--method", "gaec"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("4 images ->")


def test_learn_command(small_csv, tmp_path, capsys):
    out = tmp_path / "p.txt"
    rc = main(
        [
            "pqap",
            "learn",
            str(small_csv),
            "--truth",
            str(require_shared(TRUTH30)),
            "--iterations",
            "1",
            "--seed",
            "3",
            "-o",
            str(out),
            "--json",
            "--quiet",
            "--threads",
            "2",
        ]
    )
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["f1"] >= res["start_f1"] and res["organoids"] == 4
    assert read_parameters(out).as_dict() == pytest.approx(res["params"], abs=1e-6)


def test_learn_command_triples_objective(small_csv, tmp_path, capsys):
    # the objective that learns the operating point (mean KL VI over class triples) from the command
    # line too; the four organoids are three classes, so one triple, which the start already solves
    out = tmp_path / "p.txt"
    args = ["pqap", "learn", str(small_csv), "--truth", str(require_shared(TRUTH30)), "--objective"]
    args += ["triples", "--iterations", "1", "--seed", "3", "-o", str(out), "--json", "--quiet"]
    assert main(args) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["objective"] == "triples" and res["organoids"] == 4
    assert res["start_vi"] == 0.0 and res["vi"] == 0.0
    assert read_parameters(out).as_dict() == pytest.approx(res["params"], abs=1e-6)
