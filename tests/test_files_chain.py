"""The files one command writes are read by the next (issue 12, item 6).

* ``twin predict`` output (ids kept as text) is taken by ``cluster --similarities``, with and
  without IMAGES_DIR;
* ``evaluate`` reads ``clusters.csv`` as ``cluster`` writes it;
* a truth that covers only some ids gives the same metrics in ``evaluate``, matrix-mode ``cluster``
  and image-mode ``cluster`` (the rule of :mod:`corrclust.pipeline.truth`);
* ``corrclust.generators`` is reachable after a bare ``import corrclust``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from corrclust.cli import main as cli_main
from corrclust.images import synthetic
from corrclust.images.io import list_images


def test_matrix_only_truth_auto_and_a_folder_for_o_are_one_clear_error(tmp_path, capsys):
    np.savez(tmp_path / "P.npz", ids=np.array([1, 2, 3]), P=np.full((3, 3), 0.7))
    base = ["cluster", "--similarities", str(tmp_path / "P.npz")]
    assert cli_main([*base, "--truth", "auto"]) == 2  # was "clustering file not found: auto"
    assert capsys.readouterr().err.strip() == (
        "corrclust cluster: error: --truth auto needs IMAGES_DIR (the classes come from the images); "
        "without it pass a truth file (one line of ids per class)"
    )
    (tmp_path / "results").mkdir()
    assert cli_main([*base, "-o", str(tmp_path / "results")]) == 2  # was "results: Is a directory"
    assert capsys.readouterr().err.strip() == (
        f"corrclust cluster: error: -o {tmp_path / 'results'}: without IMAGES_DIR, -o names the clustering "
        "CSV to write, not a folder (e.g. -o clusters.csv)"
    )
    assert cli_main([*base, "-o", str(tmp_path / "c.csv")]) == 0
    assert (tmp_path / "c.csv").read_text().splitlines()[0] == "1,2,3"
    capsys.readouterr()
    # "-o new/" names a folder that does not exist yet: it wrote a file "new" (Path drops the slash)
    assert cli_main([*base, "-o", str(tmp_path / "new") + "/"]) == 2
    assert "without IMAGES_DIR, -o names the clustering CSV to write, not a folder" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_matrix_only_clusters_are_numbered_as_in_clusters_csv(tmp_path, capsys):
    """Clusters 1..K by decreasing size, as an image folder's clusters.csv numbers them (the printout
    said "cluster 0" and listed them by first member)."""
    ids = np.array([5, 6, 7, 8, 9, 10])
    cls = np.array([0, 1, 1, 1, 2, 2])  # sizes 1, 3, 2: the first member's cluster is the smallest
    P = np.where(cls[:, None] == cls[None, :], 0.95, 0.05)
    np.savez(tmp_path / "P.npz", ids=ids, P=P)
    assert (
        cli_main(["cluster", "--similarities", str(tmp_path / "P.npz"), "-o", str(tmp_path / "c.csv")]) == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("6 images -> 3 clusters (kl, heuristic)")  # "images", as in image mode
    assert out[1:4] == ["  cluster 1: 6, 7, 8", "  cluster 2: 9, 10", "  cluster 3: 5"]
    assert (tmp_path / "c.csv").read_text().splitlines()[:3] == ["6,7,8", "9,10", "5"]
    # --json: "labels" are those numbers too (they were the solver's 0-based first-appearance labels,
    # so labels[i] - 1 did not index "clusters")
    data = _json_of(capsys, ["cluster", "--similarities", tmp_path / "P.npz", "--json"])
    assert data["labels"] == [3, 1, 1, 1, 2, 2]
    assert data["clusters"] == [[6, 7, 8], [9, 10], [5]]


@pytest.fixture(scope="module")
def organoids(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("organoids")
    synthetic.generate(folder, classes=3, per_class=4, seed=3, size=64)
    return folder


def _ids(folder: Path) -> np.ndarray:
    return np.array([r.id for r in list_images(folder)], dtype=np.int64)


def _s_matrix(ids: np.ndarray) -> np.ndarray:
    """Similarities with a class structure (classes 2 and 3 alike, so the metrics are not trivial)."""
    rng = np.random.default_rng(7)
    cls = ids // 100
    same = (cls[:, None] == cls[None, :]) | (np.isin(cls, [2, 3])[:, None] & np.isin(cls, [2, 3])[None, :])
    s = np.where(same, 0.72, 0.58) + rng.normal(0.0, 0.03, (ids.size, ids.size))
    np.fill_diagonal(s, np.nan)
    return s


def _json_of(capsys, args: list[str]) -> dict:
    assert cli_main([str(a) for a in args]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_twin_predict_output_is_clustered_by_cluster_similarities(tmp_path, organoids, capsys):
    pytest.importorskip("torch")
    import torch

    from corrclust.twin import ModelConfig, build_model, get_recipe, save_model

    torch.manual_seed(0)
    model = build_model(ModelConfig(input="image", in_channels=3, input_size=32, head="symmetric"))
    save_model(tmp_path / "m.pt", model, get_recipe("fast"))
    pred = tmp_path / "P.npz"
    assert (
        cli_main(
            ["twin", "predict", str(tmp_path / "m.pt"), str(organoids), "-o", str(pred), "--no-progress"]
        )
        == 0
    )
    with np.load(pred) as z:
        assert z["ids"].dtype.kind == "U"  # twin predict keeps the ids of the file names as text
        ids = [int(i) for i in z["ids"]]
        costs = z["costs"]
    assert sorted(ids) == sorted(_ids(organoids).tolist())

    # Matrix only: the costs are twin predict's own (logit of the mean-symmetrised P, bias 0).
    data = _json_of(capsys, ["cluster", "--similarities", pred, "--json"])
    assert data["ids"] == ids and data["symmetrize"] == "mean" and data["bias"] == 0.0
    lab = np.asarray(data["labels"])
    cut = lab[:, None] != lab[None, :]
    assert data["objective"] == pytest.approx(float(np.triu(costs * cut, 1).sum()), abs=1e-9)

    # With the images: the run reuses the probabilities instead of a model.
    out = tmp_path / "out"
    assert (
        cli_main(
            [
                "cluster",
                str(organoids),
                "--similarities",
                str(pred),
                "-o",
                str(out),
                "--no-progress",
                "--no-sweep",
            ]
        )
        == 0
    )
    with np.load(out / "similarities.npz") as z:
        assert z["ids"].tolist() == ids and str(z["kind"]) == "probability"
        np.testing.assert_array_equal(z["labels"] > 0, True)


def test_ids_saved_as_text_that_are_not_integers_are_one_clear_error(tmp_path, capsys):
    np.savez(tmp_path / "P.npz", ids=np.array(["a", "b"]), P=np.full((2, 2), 0.5))
    assert cli_main(["cluster", "--similarities", str(tmp_path / "P.npz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "P.npz" in err[0] and "'ids'" in err[0]


@pytest.fixture(scope="module")
def run_with_partial_truth(organoids, tmp_path_factory):
    """Image-mode ``cluster`` with a truth naming 7 of the 12 images (class 1 wholly, 2 and 3 partly)."""
    work = tmp_path_factory.mktemp("chain")
    ids = _ids(organoids)
    np.savez(work / "S.npz", ids=ids, S=_s_matrix(ids))
    truth = work / "truth.csv"
    truth.write_text("100,101,102,103\n200,201\n300\n")
    out = work / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "corrclust",
            "cluster",
            str(organoids),
            "--similarities",
            str(work / "S.npz"),
            "--truth",
            str(truth),
            "-o",
            str(out),
            "--no-progress",
            "--no-sweep",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "truth covers 7 of 12 images" in proc.stderr
    return work, out, truth, json.loads((out / "metrics.json").read_text())


KEYS = ("n", "vi", "false_cuts", "false_joins", "rand_index", "f1_cuts", "f1_joins", "pairs_total")


def test_evaluate_reads_clusters_csv_as_cluster_writes_it(run_with_partial_truth, capsys):
    work, out, truth, metrics = run_with_partial_truth
    full = work / "full_truth.csv"
    full.write_text("100,101,102,103\n200,201,202,203\n300,301,302,303\n")
    from_table = _json_of(capsys, ["evaluate", out / "clusters.csv", full, "--json"])
    from_paper = _json_of(capsys, ["evaluate", out / "clustering.csv", full, "--json"])
    assert from_table == from_paper and from_table["n"] == 12
    # And the other way round: a clusters.csv as the truth.
    assert _json_of(capsys, ["evaluate", full, out / "clusters.csv", "--json"])["n"] == 12


def test_partial_truth_gives_the_same_metrics_in_evaluate_and_both_cluster_modes(
    run_with_partial_truth, capsys
):
    work, out, truth, metrics = run_with_partial_truth
    assert metrics["n"] == 7
    evaluated = _json_of(capsys, ["evaluate", out / "clusters.csv", truth, "--json"])
    matrix = _json_of(capsys, ["cluster", "--similarities", work / "S.npz", "--truth", truth, "--json"])[
        "metrics"
    ]
    for key in KEYS:
        assert evaluated[key] == pytest.approx(metrics[key], abs=1e-12), key
        assert matrix[key] == pytest.approx(metrics[key], abs=1e-12), key


def test_partial_truth_note_and_too_small_overlap(run_with_partial_truth, capsys, tmp_path):
    work, out, truth, metrics = run_with_partial_truth
    assert cli_main(["evaluate", str(out / "clusters.csv"), str(truth)]) == 0
    assert "truth covers 7 of 12 images; metrics are over those 7" in capsys.readouterr().err
    one = tmp_path / "one.csv"
    one.write_text("100\n999,998\n")
    for args in (
        ["evaluate", out / "clusters.csv", one],
        ["cluster", "--similarities", work / "S.npz", "--truth", one],
    ):
        assert cli_main([str(a) for a in args]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "names 1 of the 12 clustered image ids" in err[0], err


def test_generators_is_an_attribute_after_import_corrclust():
    code = "import corrclust; print(corrclust.generators.planted_partition.__name__)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "planted_partition"
