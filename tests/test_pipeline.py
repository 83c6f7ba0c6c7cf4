"""The pipeline and ``corrclust cluster`` end to end on a small synthetic organoid set.

The correlations come from a similarity matrix built here (``--correlations``), so these tests check
the pipeline itself: outputs and their contents, metrics against :func:`corrclust.metrics.compare`,
subsets, error messages, skipped files and atomic writes. The PQAP path is covered by test_demo.py.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from corrclust import metrics, pipeline
from corrclust.atomic import atomic_path
from corrclust.cli import main as cli_main
from corrclust.formats.clusterings import read_clustering
from corrclust.images import synthetic

THRESHOLD = 0.64


def _similarities(ids: np.ndarray, seed: int = 0, *, confuse: tuple[int, int] | None = None) -> np.ndarray:
    """An asymmetric similarity matrix with a class structure (same class ~0.72, other ~0.58).

    ``confuse=(a, b)`` makes classes a and b look alike, so the clustering merges them.
    """
    rng = np.random.default_rng(seed)
    cls = ids // 100
    same = cls[:, None] == cls[None, :]
    if confuse is not None:
        a, b = confuse
        both = np.isin(cls, [a, b])
        same = same | (both[:, None] & both[None, :])
    s = np.where(same, 0.72, 0.58) + rng.normal(0.0, 0.03, (ids.size, ids.size))
    np.fill_diagonal(s, np.nan)
    return s


@pytest.fixture(scope="module")
def organoids(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("organoids")
    synthetic.generate(folder, classes=3, per_class=4, seed=3, size=64)
    return folder


def _ids(folder: Path) -> np.ndarray:
    from corrclust.images.io import list_images

    return np.array([r.id for r in list_images(folder)], dtype=np.int64)


def _save_s(path: Path, ids: np.ndarray, S: np.ndarray) -> Path:
    np.savez(path, ids=ids, S=S)
    return path


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, MPLBACKEND="Agg")
    return subprocess.run(
        [sys.executable, "-m", "corrclust", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def _read_clusters_csv(path: Path) -> tuple[list[int], list[int], list[str]]:
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:3] == ["id", "cluster", "file"]
    return [int(r[0]) for r in rows[1:]], [int(r[1]) for r in rows[1:]], [r[2] for r in rows[1:]]


@pytest.fixture(scope="module")
def cli_run(organoids, tmp_path_factory):
    """One end-to-end CLI run with a truth file and classes 2 and 3 confused (so metrics are not trivial)."""
    work = tmp_path_factory.mktemp("run")
    ids = _ids(organoids)
    S = _similarities(ids, confuse=(2, 3))
    npz = _save_s(work / "S.npz", ids, S)
    out = work / "out"
    proc = _run_cli(
        "cluster",
        organoids,
        "--similarities",
        npz,
        "--truth",
        organoids / "truth.csv",
        "-o",
        out,
        "--no-progress",
        "--seed",
        "1",
    )
    return proc, out, ids, S


def test_cli_writes_every_output(cli_run):
    proc, out, ids, S = cli_run
    assert proc.returncode == 0, proc.stderr
    assert f"report:   {out / 'report.html'}" in proc.stdout
    assert "VI " in proc.stdout
    for name in (
        "clusters.csv",
        "clustering.csv",
        "similarities.npz",
        "metrics.json",
        "sweep.csv",
        "report.html",
    ):
        assert (out / name).is_file(), name
    figs = sorted(p.name for p in (out / "figures").iterdir())
    assert {"similarity.png", "sizes.png", "vi_split.png", "sweep.png", "cluster_001.png"} <= set(figs)
    assert not list(out.rglob("*.part")), "temporary files left behind"


def test_clusters_csv_matches_images_and_is_numbered_by_size(cli_run, organoids):
    _, out, ids, _ = cli_run
    got_ids, labels, files = _read_clusters_csv(out / "clusters.csv")
    assert sorted(got_ids) == sorted(ids.tolist())
    assert files == [f"organoid_{i}.tif" for i in got_ids]
    assert all((organoids / f).is_file() for f in files)
    sizes = np.bincount(labels)[1:]
    assert sizes.min() >= 1 and list(sizes) == sorted(sizes, reverse=True)
    # Classes 2 and 3 were made to look alike: the clustering finds class 1 and the merged 2+3.
    by_class = {}
    for i, lab in zip(got_ids, labels, strict=False):
        by_class.setdefault(i // 100, set()).add(lab)
    assert by_class[2] == by_class[3] == {1} and by_class[1] == {2}


def test_metrics_json_agrees_with_metrics_compare(cli_run, organoids):
    _, out, _, _ = cli_run
    got_ids, labels, _ = _read_clusters_csv(out / "clusters.csv")
    groups = read_clustering(organoids / "truth.csv")
    cls = {i: k for k, g in enumerate(groups) for i in g}
    expected = metrics.compare([cls[i] for i in got_ids], labels)
    data = json.loads((out / "metrics.json").read_text())
    for key in ("vi", "false_cuts", "false_joins", "rand_index"):
        assert key in data
    for key, value in expected.items():
        assert data[key] == pytest.approx(value, abs=1e-12), key
    # One class merged into another: VI is all false joins, H(T|P) = (8/12) * 1 bit.
    assert data["false_cuts"] == pytest.approx(0.0, abs=1e-12)
    assert data["false_joins"] == pytest.approx(8 / 12, abs=1e-12)
    assert data["classes"] == ["1", "2", "3"]
    assert data["contingency"] == [[0, 4], [4, 0], [4, 0]]


def test_paper_format_clustering_is_read_by_evaluate(cli_run, organoids, capsys):
    _, out, _, _ = cli_run
    got_ids, labels, _ = _read_clusters_csv(out / "clusters.csv")
    groups = read_clustering(out / "clustering.csv")
    assert groups == [
        [i for i, lab in zip(got_ids, labels, strict=False) if lab == k] for k in range(1, max(labels) + 1)
    ]
    assert "clustering_threshold:0.64" in (out / "clustering.csv").read_text()
    assert cli_main(["evaluate", str(out / "clustering.csv"), str(organoids / "truth.csv"), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    data = json.loads((out / "metrics.json").read_text())
    assert evaluated["vi"] == pytest.approx(data["vi"]) and evaluated["rand_index"] == pytest.approx(
        data["rand_index"]
    )


def test_similarities_npz_holds_matrix_costs_and_labels(cli_run):
    _, out, ids, S = cli_run
    with np.load(out / "similarities.npz") as z:
        np.testing.assert_array_equal(z["ids"], ids)
        np.testing.assert_array_equal(z["S"], S)
        sym = np.minimum(S, S.T) - THRESHOLD
        off = ~np.eye(ids.size, dtype=bool)
        np.testing.assert_allclose(z["costs"][off], sym[off], rtol=0, atol=1e-12)
        got_ids, labels, _ = _read_clusters_csv(out / "clusters.csv")
        assert dict(zip(got_ids, labels, strict=False)) == dict(
            zip(z["ids"].tolist(), z["labels"].tolist(), strict=False)
        )
        assert float(z["threshold"]) == THRESHOLD and str(z["kind"]) == "similarity"


def test_sweep_csv_runs_from_one_cluster_to_singletons(cli_run):
    _, out, ids, _ = cli_run
    with open(out / "sweep.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == [
        "threshold",
        "vi",
        "false_cuts",
        "false_joins",
        "rand_index",
        "f1_cuts",
        "f1_joins",
        "n_clusters",
        "objective",
    ]
    t = [float(r["threshold"]) for r in rows]
    assert t == sorted(t) and THRESHOLD in t
    assert int(rows[0]["n_clusters"]) == 1 and int(rows[-1]["n_clusters"]) == ids.size
    # All joined: VI = H(T) = log2(3), all false joins. All cut: VI = H(T|P=singletons) = log2(12) - log2(3)... as cuts.
    assert float(rows[0]["false_joins"]) == pytest.approx(np.log2(3))
    assert float(rows[-1]["false_cuts"]) == pytest.approx(np.log2(12) - np.log2(3))
    at = rows[t.index(THRESHOLD)]
    data = json.loads((out / "metrics.json").read_text())
    assert float(at["vi"]) == pytest.approx(data["vi"])
    for r in rows:
        assert float(r["vi"]) == pytest.approx(float(r["false_cuts"]) + float(r["false_joins"]))


def test_number_clusters_orders_by_size_then_first_member():
    got = pipeline.number_clusters([7, 3, 3, 9, 9, 9, 7, 5])
    np.testing.assert_array_equal(got, [2, 3, 3, 1, 1, 1, 2, 4])
    np.testing.assert_array_equal(pipeline.number_clusters(["b", "a"]), [1, 2])


def _cli_error(capsys, *argv) -> str:
    code = cli_main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    return err


def test_error_empty_folder(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    err = _cli_error(capsys, "cluster", tmp_path / "empty", "-o", tmp_path / "out", "--no-progress")
    assert "no images" in err and "at least 2" in err
    assert not (tmp_path / "out").exists()


def test_error_one_image(tmp_path, organoids, capsys):
    one = tmp_path / "one"
    one.mkdir()
    (one / "organoid_100.tif").write_bytes((organoids / "organoid_100.tif").read_bytes())
    err = _cli_error(capsys, "cluster", one, "-o", tmp_path / "out", "--no-progress")
    assert "only 1 readable image (organoid_100.tif)" in err and "at least 2" in err


def test_error_missing_truth_file(tmp_path, organoids, capsys):
    err = _cli_error(capsys, "cluster", organoids, "-o", tmp_path / "out", "--truth", tmp_path / "nope.csv")
    assert "truth file not found" in err and "nope.csv" in err


def test_error_truth_with_no_matching_ids(tmp_path, organoids, capsys):
    ids = _ids(organoids)
    npz = _save_s(tmp_path / "S.npz", ids, _similarities(ids))
    truth = tmp_path / "t.csv"
    truth.write_text("5,6,7\n8,9\n")
    err = _cli_error(
        capsys,
        "cluster",
        organoids,
        "--similarities",
        npz,
        "--truth",
        truth,
        "-o",
        tmp_path / "out",
        "--no-progress",
    )
    assert "names 0 of the 12 clustered image ids" in err and "100" in err


def test_error_correlations_for_other_images(tmp_path, organoids, capsys):
    ids = np.array([1, 2, 3])
    npz = _save_s(tmp_path / "S.npz", ids, _similarities(ids))
    err = _cli_error(
        capsys, "cluster", organoids, "--similarities", npz, "-o", tmp_path / "out", "--no-progress"
    )
    assert "not in the folder" in err


def test_gaec_with_images_names_the_option_given(tmp_path, organoids, capsys):
    for option in ("--method", "--solver"):
        err = _cli_error(capsys, "cluster", organoids, option, "gaec", "-o", tmp_path / "out")
        assert err.strip() == (
            f"corrclust cluster: error: {option} gaec is for the matrix-only mode; with images use kl, "
            "anytime or exact"
        )


def test_twin_needs_a_model(tmp_path, organoids, capsys):
    err = _cli_error(capsys, "cluster", organoids, "--method", "twin", "-o", tmp_path / "out")
    assert "--model" in err


def test_bad_image_is_reported_and_skipped(tmp_path, organoids, capsys):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for f in organoids.glob("organoid_*.tif"):
        (folder / f.name).write_bytes(f.read_bytes())
    (folder / "organoid_199.tif").write_bytes(b"this is not a TIFF")
    ids = _ids(organoids)  # without 199: the correlations cover only the readable images
    npz = _save_s(tmp_path / "S.npz", ids, _similarities(ids))
    code = cli_main(
        ["cluster", str(folder), "--similarities", str(npz), "-o", str(tmp_path / "out"), "--no-progress"]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    assert "skipping" in err and "organoid_199.tif" in err
    got_ids, _, _ = _read_clusters_csv(tmp_path / "out" / "clusters.csv")
    assert 199 not in got_ids and len(got_ids) == 12
    page = (tmp_path / "out" / "report.html").read_text()
    assert "1 unreadable file(s) skipped" in page and "organoid_199.tif" in page
    assert not (tmp_path / "out" / "metrics.json").exists()  # no truth, no metrics


def test_rerun_into_an_earlier_runs_folder_removes_its_stale_outputs(tmp_path, organoids, capsys):
    """A run without a truth on 8 images into the folder of a run with a truth on 12 leaves none of the
    first run's metrics, sweep, figures or thumbnails behind (they described the other clustering)."""
    ids = _ids(organoids)
    out = tmp_path / "out"
    (out / "figures").mkdir(parents=True)
    (out / "figures" / "notes.png").write_bytes(b"mine")  # not a corrclust name: kept
    (out / "feedback.csv").write_text("a,b,answer\n")  # the expert's answers: kept
    npz = _save_s(tmp_path / "S.npz", ids, _similarities(ids, confuse=(2, 3)))
    args = ["cluster", str(organoids), "--similarities", str(npz), "-o", str(out), "--no-progress"]
    assert cli_main([*args, "--truth", "auto"]) == 0
    first = sorted(p.name for p in (out / "figures").iterdir())
    assert {"cluster_002.png", "sweep.png", "vi_split.png"} <= set(first)
    assert (out / "metrics.json").is_file() and (out / "sweep.csv").is_file()
    assert len(list((out / "thumbnails").iterdir())) == 12

    few = tmp_path / "few"
    few.mkdir()
    for f in sorted(organoids.glob("organoid_*.tif"))[:16]:  # 8 images and their masks
        (few / f.name).write_bytes(f.read_bytes())
    keep = _ids(few)
    npz2 = _save_s(tmp_path / "S2.npz", keep, np.ones((8, 8)))  # all alike: one cluster
    assert cli_main(["cluster", str(few), "--similarities", str(npz2), "-o", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    assert not (out / "metrics.json").exists() and not (out / "sweep.csv").exists()
    assert sorted(p.name for p in (out / "figures").iterdir()) == [
        "cluster_001.png",
        "notes.png",
        "similarity.png",
        "sizes.png",
    ]
    assert sorted(p.name for p in (out / "thumbnails").iterdir()) == sorted(f"{i}.png" for i in keep)
    assert (out / "feedback.csv").read_text() == "a,b,answer\n"
    assert "metrics.json" not in (out / "report.html").read_text()


def test_thumbnails_show_a_bar_on_large_sets_only(tmp_path, organoids, capsys, monkeypatch):
    from corrclust.pipeline import outputs

    ids = _ids(organoids)
    npz = _save_s(tmp_path / "S.npz", ids, _similarities(ids))
    opts = pipeline.ClusterOptions(organoids, tmp_path / "a", correlations=npz, progress=True)
    pipeline.run(opts)
    assert "thumbnails:" not in capsys.readouterr().err  # 12 images: below THUMBNAILS_BAR_MIN
    monkeypatch.setattr(outputs, "THUMBNAILS_BAR_MIN", 12)
    pipeline.run(pipeline.ClusterOptions(organoids, tmp_path / "b", correlations=npz, progress=True))
    err = capsys.readouterr().err
    assert "thumbnails: 100%" in err and "12/12" in err
    assert len(list((tmp_path / "b" / "thumbnails").iterdir())) == 12


def test_stored_correlations_do_not_claim_a_route_from_the_channels(tmp_path, capsys):
    """Grey images with --similarities: the matrix is used, and no 'method: pqap (the images have the
    key-point channels ...)' line says otherwise."""
    import tifffile

    folder = tmp_path / "grey"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in (1, 2, 3, 4):
        tifffile.imwrite(folder / f"cell_{i}.tif", rng.integers(0, 255, (32, 32), dtype=np.uint8))
    ids = np.array([1, 2, 3, 4])
    npz = _save_s(tmp_path / "S.npz", ids, _similarities(ids))
    assert (
        cli_main(
            ["cluster", str(folder), "--similarities", str(npz), "-o", str(tmp_path / "o"), "--no-progress"]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "method:" not in err and "key-point channels" not in err
    assert f"corrclust: using the similarity matrix of {npz} (4 images)" in err


def test_many_unreadable_files_are_named_up_to_a_limit_and_the_error_gives_the_first_reason(
    tmp_path, organoids, capsys, monkeypatch
):
    from corrclust.pipeline import images as pipeline_images

    monkeypatch.setattr(pipeline_images, "SKIP_LINES_MAX", 2)
    folder = tmp_path / "bad"
    folder.mkdir()
    for k in range(5):
        (folder / f"organoid_{100 + k}.tif").write_bytes(b"not a TIFF")
    err = _cli_error(capsys, "cluster", folder, "-o", tmp_path / "out", "--no-progress")
    lines = err.strip().splitlines()
    assert [line.split(": cannot read")[0] for line in lines[:2]] == [
        f"corrclust: skipping {folder}/organoid_100.tif",
        f"corrclust: skipping {folder}/organoid_101.tif",
    ]
    assert lines[2:] == [
        "corrclust: skipping 3 more unreadable file(s), not named here (the report lists all)",
        f"corrclust cluster: error: no readable image in {folder} (5 unreadable file(s) skipped; the first: "
        f"cannot read image {folder}/organoid_100.tif: corrupt or unreadable (TiffFileError: not a TIFF file: "
        "header=b'not ')); clustering needs at least 2 images",
    ]


def test_probabilities_give_logit_costs_and_a_bias_sweep(tmp_path, organoids):
    ids = _ids(organoids)
    rng = np.random.default_rng(5)
    cls = ids // 100
    P = np.clip(np.where(cls[:, None] == cls[None, :], 0.8, 0.2) + rng.normal(0, 0.05, (12, 12)), 0, 1)
    np.savez(tmp_path / "P.npz", ids=ids, P=P)
    opts = pipeline.ClusterOptions(
        organoids, tmp_path / "out", correlations=tmp_path / "P.npz", bias=0.5, truth="auto", progress=False
    )
    res = pipeline.run(opts)
    assert res.correlations.kind == "probability"
    with np.load(tmp_path / "out" / "similarities.npz") as z:
        p = (P + P.T) / 2
        off = ~np.eye(12, dtype=bool)
        np.testing.assert_allclose(z["costs"][off], (np.log(p / (1 - p)) + 0.5)[off], atol=1e-9)
        assert "P" in z.files and float(z["bias"]) == 0.5
    assert res.evaluation.metrics["vi"] == pytest.approx(0.0, abs=1e-9)
    header = (tmp_path / "out" / "sweep.csv").read_text().splitlines()[0]
    assert header.startswith("bias,vi,")


def test_subsets_from_an_ids_table(tmp_path, organoids):
    """Class 3 is the 'unseen' subset; metrics within each subset and across them (paper §8)."""
    ids = _ids(organoids)
    table = tmp_path / "ids.csv"
    lines = ["file,id,class,subset"]
    for i in ids:
        lines.append(f"organoid_{i}.tif,{i},{i // 100},{'unseen' if i // 100 == 3 else 'test'}")
    table.write_text("\n".join(lines) + "\n")
    S = _similarities(ids, confuse=(2, 3))
    npz = _save_s(tmp_path / "S.npz", ids, S)
    opts = pipeline.ClusterOptions(
        organoids,
        tmp_path / "out",
        correlations=npz,
        ids_table=table,
        truth="auto",
        sweep=False,
        progress=False,
    )
    res = pipeline.run(opts)
    data = json.loads((tmp_path / "out" / "metrics.json").read_text())
    blocks = {b["block"]: b for b in data["subsets"]}
    assert set(blocks) == {"test", "unseen", "test-unseen"}
    labels = res.clustering.labels
    cls = ids // 100
    unseen = cls == 3
    for name, mask in (("test", ~unseen), ("unseen", unseen)):
        exp = metrics.compare(cls[mask], labels[mask])
        for k, v in exp.items():
            assert blocks[name][k] == pytest.approx(v), (name, k)
    cross = blocks["test-unseen"]
    assert "vi" not in cross
    assert cross["pairs_total"] == 8 * 4
    # Class 3 is merged with class 2: the 4 x 4 pairs (class 2, class 3) are false joins; the
    # 4 x 4 pairs (class 1, class 3) are true cuts; no pair across is truly joined.
    assert cross["pairs_false_joins"] == 16 and cross["pairs_true_cuts"] == 16
    assert cross["pairs_true_joins"] == 0 and cross["pairs_false_cuts"] == 0
    assert cross["precision_cuts"] == 1.0 and cross["recall_cuts"] == 0.5
    assert cross["recall_joins"] == 1.0  # no true joins to find: ratio with denominator 0 is 1
    page = (tmp_path / "out" / "report.html").read_text()
    assert "test-unseen" in page


def test_atomic_path_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "x.txt"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"
    umask = os.umask(0o022)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0o600


def test_failure_while_writing_leaves_no_report(tmp_path, organoids, monkeypatch):
    """A crash (or Ctrl-C) late in the run leaves no report.html, not even the previous run's."""
    ids = _ids(organoids)
    npz = _save_s(tmp_path / "S.npz", ids, _similarities(ids))
    out = tmp_path / "out"
    opts = pipeline.ClusterOptions(organoids, out, correlations=npz, progress=False)
    pipeline.run(opts)
    assert (out / "report.html").is_file()

    from corrclust import report

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "render", boom)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(opts)
    assert not (out / "report.html").exists()
    assert not list(out.rglob("*.part"))

    # Ctrl-C after the new clusters.csv: no metrics.json of the earlier clustering beside it (qa19:
    # a rerun at another granularity left 19 clusters in clusters.csv, 4 in metrics.json)
    monkeypatch.undo()
    truthed = pipeline.ClusterOptions(organoids, out, correlations=npz, truth="auto", progress=False)
    pipeline.run(truthed)
    assert (out / "metrics.json").is_file()
    from corrclust.pipeline import outputs

    monkeypatch.setattr(outputs, "_write_paper_clustering", boom)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(truthed)
    assert (out / "clusters.csv").is_file() and not (out / "metrics.json").exists()
    assert not (out / "assessment.json").exists()

    # Ctrl-C after the new similarities.npz, before clusters.csv: no clusters.csv of the earlier run
    # beside the new matrix and labels (qa19 left that case open); the folder is refused as a run
    monkeypatch.undo()
    pipeline.run(truthed)
    monkeypatch.setattr(outputs, "_write_clusters_csv", boom)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(truthed)
    assert (out / "similarities.npz").is_file()
    assert not any((out / name).exists() for name in ("clusters.csv", "clustering.csv", "report.html"))
    assert not list(out.rglob("*.part"))

    # A failure while drawing a figure: no half-written PNG either.
    monkeypatch.undo()
    from corrclust.report import figures

    def half_png(thumbs, captions, path, **kwargs):
        Path(path).write_bytes(b"\x89PNG half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(figures, "montage", half_png)
    (out / "figures" / "cluster_001.png").unlink()
    with pytest.raises(RuntimeError, match="disk full"):
        pipeline.run(opts)
    assert not (out / "figures" / "cluster_001.png").exists()
    assert not (out / "report.html").exists()
    assert not list(out.rglob("*.part"))


def test_twin_method_end_to_end_with_an_untrained_model(tmp_path, organoids):
    """--method twin: a model file -> probabilities for the readable images -> clusters and report."""
    pytest.importorskip("torch")
    import torch

    from corrclust.twin import ModelConfig, build_model, get_recipe, save_model

    torch.manual_seed(0)
    model = build_model(ModelConfig(input="image", in_channels=3, input_size=32, head="symmetric"))
    save_model(tmp_path / "m.pt", model, get_recipe("fast"))
    folder = tmp_path / "imgs"
    folder.mkdir()
    for f in sorted(f for f in organoids.glob("organoid_*.tif") if "mask" not in f.name)[:6]:
        (folder / f.name).write_bytes(f.read_bytes())
    (folder / "organoid_399.tif").write_bytes(b"broken")
    code = cli_main(
        [
            "cluster",
            str(folder),
            "--method",
            "twin",
            "--model",
            str(tmp_path / "m.pt"),
            "--bias",
            "0.25",
            "--truth",
            "auto",
            "-o",
            str(tmp_path / "out"),
            "--no-progress",
        ]
    )
    assert code == 0
    got_ids, labels, _ = _read_clusters_csv(tmp_path / "out" / "clusters.csv")
    assert sorted(got_ids) == [100, 101, 102, 103, 200, 201]
    with np.load(tmp_path / "out" / "similarities.npz") as z:
        P = z["P"]
        off = ~np.eye(6, dtype=bool)
        assert np.all((P[off] > 0) & (P[off] < 1))
        p = np.clip((P + P.T) / 2, 1e-6, 1 - 1e-6)
        np.testing.assert_allclose(z["costs"][off], (np.log(p / (1 - p)) + 0.25)[off], atol=1e-9)
        # The clustering is the solver's optimum-or-better of these costs: at least as good as both trivial ones.
        c = z["costs"]
        cut = np.asarray(labels)[:, None] != np.asarray(labels)[None, :]
        objective = float(np.triu(c * cut, 1).sum())
        assert objective <= 1e-9 and objective <= float(np.triu(c, 1).sum()) + 1e-9
    data = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert data["n"] == 6 and data["n_clusters_true"] == 2


# ------------------------------------------------------------------ the paper's stored Test-30 matrix
MATCHING = "data/paper-keypoints/matching_results/matching_results_organoid_dataset_unseen_classes.csv"
TRUTH30 = "data/paper-keypoints/clustering_results/clustering_only_unseen_classes_optimal.csv"


def test_sweep_reproduces_the_exact_threshold_sweep_f11():
    """The report's threshold sweep, exact solver, on the stored Test-30 matrix (F11)."""
    from conftest import require_shared

    corr = pipeline.load_correlations(require_shared(MATCHING))
    groups = read_clustering(require_shared(TRUTH30))
    cls = {i: k for k, g in enumerate(groups) for i in g}
    truth = np.array([cls[int(i)] for i in corr.ids])
    cols = pipeline.sweep(
        corr, truth, np.ones(truth.size, bool), "exact", values=[0.60, 0.62, 0.65, 0.66, 0.70], progress=False
    )
    np.testing.assert_allclose(cols["vi"][:2], [0.7884, 0.7884], atol=5e-5)
    np.testing.assert_allclose(cols["vi"][2:], [1.1611, 1.3174, 1.9678], atol=5e-5)
    np.testing.assert_allclose(
        cols["objective"][:4], [-3.207111, -7.587111, -14.424960, -17.095495], atol=1e-5
    )
    assert cols["n_clusters"].tolist()[:4] == [3, 3, 4, 5] and cols["n_clusters"][4] == 9
    np.testing.assert_allclose(cols["vi"], cols["false_cuts"] + cols["false_joins"], atol=1e-12)


def test_subset_folders_give_subset_tags(tmp_path, organoids):
    """test/ holds classes 1 and 2, unseen/ class 3: folder names become subsets, classes come from ids."""
    root = tmp_path / "data"
    for sub, classes in (("test", (1, 2)), ("unseen", (3,))):
        (root / sub).mkdir(parents=True)
        for f in organoids.glob("organoid_*.tif"):
            if "mask" not in f.name and int(f.stem.split("_")[1]) // 100 in classes:
                (root / sub / f.name).write_bytes(f.read_bytes())
    recs = pipeline.subset_folder_records(root)
    assert recs is not None and len(recs) == 12
    assert {(r.id // 100, r.label, r.subset) for r in recs} == {
        (1, "1", "test"),
        (2, "2", "test"),
        (3, "3", "unseen"),
    }
    # One class per folder: these are class folders, not subsets.
    assert pipeline.subset_folder_records(root / "unseen") is None
    cls_root = tmp_path / "classes"
    for c in (1, 2):
        (cls_root / f"c{c}").mkdir(parents=True)
        for f in organoids.glob(f"organoid_{c}0*.tif"):
            (cls_root / f"c{c}" / f.name).write_bytes(f.read_bytes())
    assert pipeline.subset_folder_records(cls_root) is None
    images = pipeline.load_images(root, progress=False)
    assert [r.subset for r in images.records].count("unseen") == 4


def test_crop_with_truth_auto_is_refused_before_any_work(tmp_path, organoids, capsys):
    err = _cli_error(capsys, "cluster", organoids, "--crop", "--truth", "auto", "-o", tmp_path / "out")
    assert err.strip() == (
        "corrclust cluster: error: --truth auto with --crop: the crops carry no classes; pass a truth "
        "file of crop ids (one line of ids per class) instead"
    )
    assert not (tmp_path / "out").exists()


def test_crop_real_fields_then_cluster(tmp_path):
    """--crop on two real OrgaQuant fields: organoids are detected, cropped into OUT/crops and clustered."""
    from conftest import require_shared

    src = require_shared("data/organoid-fields/images")
    fields = tmp_path / "fields"
    fields.mkdir()
    for name in ("Subset_1_450x450_001.jpg", "Subset_1_450x450_002.jpg"):
        (fields / name).write_bytes((src / name).read_bytes())
    (fields / "broken.jpg").write_bytes(b"not a jpeg")
    # The crops are numbered 0..N-1 across the fields; a matrix for them is made up front.
    from corrclust.images.detection import crop_fields

    n = len(crop_fields(fields, tmp_path / "probe").rows)
    assert n >= 2
    ids = np.arange(n)
    S = _similarities(ids + 100 * (ids % 2 + 1))  # two made-up groups: even and odd crops
    npz = _save_s(tmp_path / "S.npz", ids, S)
    out = tmp_path / "out"
    code = cli_main(
        ["cluster", str(fields), "--crop", "--similarities", str(npz), "-o", str(out), "--no-progress"]
    )
    assert code == 0
    crops = sorted(p.name for p in (out / "crops").glob("*.tif") if "mask" not in p.name)
    assert len(crops) == n and (out / "crops" / "crops.csv").is_file()
    got_ids, labels, files = _read_clusters_csv(out / "clusters.csv")
    assert sorted(got_ids) == list(range(n)) and sorted(files) == crops
    by_parity = {p: {lab for i, lab in zip(got_ids, labels, strict=False) if i % 2 == p} for p in (0, 1)}
    assert len(by_parity[0]) == len(by_parity[1]) == 1 and by_parity[0] != by_parity[1]
    assert (out / "report.html").is_file()


def test_partial_truth_metrics_over_the_known_images(tmp_path, organoids):
    """A truth naming only some images: metrics over those, contingency columns are their clusters."""
    ids = _ids(organoids)
    npz = _save_s(tmp_path / "S.npz", ids, _similarities(ids))
    truth = tmp_path / "t.csv"
    truth.write_text("100,101\n300,301,302\n")  # class 2 unknown: its cluster is not a column
    res = pipeline.run(
        pipeline.ClusterOptions(
            organoids, tmp_path / "out", correlations=npz, truth=str(truth), sweep=False, progress=False
        )
    )
    data = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert data["n"] == 5 and data["classes"] == ["1", "3"]
    lab = dict(zip(ids.tolist(), res.clustering.labels.tolist(), strict=False))
    assert data["contingency_clusters"] == sorted({lab[100], lab[300]})
    assert lab[200] not in data["contingency_clusters"]
    assert data["vi"] == pytest.approx(0.0, abs=1e-12)


def test_pqap_from_images_with_a_parameter_file(tmp_path):
    """``cluster IMAGES_DIR`` computing PQAP itself, with --params and the improved PQAP mode."""
    from conftest import require_shared

    params = require_shared("data/paper-keypoints/learned_parameters.txt")
    folder = tmp_path / "imgs"
    synthetic.generate(folder, classes=2, per_class=3, seed=4, size=64)
    out = tmp_path / "out"
    code = cli_main(
        [
            "cluster",
            str(folder),
            "--params",
            str(params),
            "--pqap-mode",
            "improved",
            "--truth",
            "auto",
            "-o",
            str(out),
            "--no-progress",
            "--no-sweep",
        ]
    )
    assert code == 0
    with np.load(out / "similarities.npz") as z:
        S = z["S"]
        assert z["ids"].tolist() == [100, 101, 102, 200, 201, 202]
        off = ~np.eye(6, dtype=bool)
        assert np.isnan(np.diag(S)).all() and np.all((S[off] > 0) & (S[off] <= 1 + 1e-9))
    assert not (out / "sweep.csv").exists() and (out / "metrics.json").is_file()
    assert not (out / ".pqap-checkpoint.npz").exists()
    page = (out / "report.html").read_text()
    assert "learned_parameters.txt" in page and "improved" in page


def test_ctrl_c_during_matching_leaves_no_report_and_the_rerun_resumes(tmp_path):
    """SIGINT while PQAP matches: exit 130, no report or partial file, a checkpoint; the rerun completes."""
    import signal
    import time

    folder = tmp_path / "imgs"
    synthetic.generate(folder, classes=3, per_class=4, seed=5, size=96)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "corrclust", "cluster", str(folder), "-o", str(out), "--threads", "1"]
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    seen = b""
    deadline = time.monotonic() + 120
    os.set_blocking(proc.stderr.fileno(), False)
    while b"PQAP pairs" not in seen or seen.count(b"pair/s") < 3:  # the sweep has started and made progress
        assert proc.poll() is None and time.monotonic() < deadline, seen.decode(errors="replace")[-2000:]
        chunk = proc.stderr.read()
        seen += chunk or b""
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 130
    assert not (out / "report.html").exists() and not (out / "clusters.csv").exists()
    assert not list(out.rglob("*.part"))
    assert (out / ".pqap-checkpoint.npz").is_file()
    rerun = _run_cli("cluster", folder, "-o", out, "--threads", "1")
    assert rerun.returncode == 0, rerun.stderr
    assert (out / "report.html").is_file() and not (out / ".pqap-checkpoint.npz").exists()
    import re

    first = re.search(r"PQAP pairs:\s+\d+%\|[^|]*\| (\d+)/132", rerun.stderr)
    assert first is not None and int(first.group(1)) > 0, "the rerun starts from the checkpoint's pairs"


def test_pqap_on_rgb_images_says_what_is_needed(tmp_path, organoids, capsys):
    """3-channel images have no membrane plane: --method pqap gives one clear error, not one line per
    image (without --method such images go to the profile route)."""
    import tifffile
    from PIL import Image

    for c in (1, 2):
        d = tmp_path / "cls" / f"type{c}"
        d.mkdir(parents=True)
        for k in range(2):
            a = tifffile.imread(organoids / f"organoid_{c * 100 + k}.tif")[:, :, :3]
            Image.fromarray((a // 257).astype(np.uint8)).save(d / f"cell{k}.png")
    err = _cli_error(
        capsys, "cluster", tmp_path / "cls", "-o", tmp_path / "out", "--method", "pqap", "--no-progress"
    )
    assert (
        "key points were found in 0 of 4 images" in err
        and "--method profile" in err
        and "--method twin" in err
    )
    assert "no key points for" not in err


def test_error_pqap_above_the_dense_limit(tmp_path, organoids, capsys):
    err = _cli_error(
        capsys, "cluster", organoids, "-o", tmp_path / "out", "--no-progress", "--dense-max-n", "11"
    )
    errors = [line for line in err.splitlines() if "error" in line]
    assert (
        len(errors) == 1
        and "12 images are above the dense limit of 11 (their n x n matrices would need 4.5 KiB)" in err
    )
    # PQAP scores every pair: no sparse path, one line naming the alternatives
    assert "--method pqap scores every pair: use --method profile (sparse path)" in errors[0]
    assert "--embeddings" in errors[0]
    assert not (tmp_path / "out").exists()  # refused before anything was written


@pytest.mark.parametrize("name", ["threshold", "bias"])
def test_cluster_options_name_a_threshold_or_bias_that_is_not_a_number(tmp_path, organoids, name):
    # qa19: ClusterOptions(threshold="0.6") from a notebook stopped with "TypeError: must be real
    # number, not str", naming nothing; numpy numbers stay accepted
    from corrclust.pipeline import ClusterOptions

    for bad in ("0.6", None, True):
        opts = ClusterOptions(images_dir=organoids, out_dir=tmp_path / "o", **{name: bad})
        with pytest.raises(ValueError, match=rf"^--{name} must be a number, got {re.escape(repr(bad))}$"):
            opts.validate()
    ClusterOptions(images_dir=organoids, out_dir=tmp_path / "o", **{name: np.float32(0.5)}).validate()
