"""``corrclust cluster --method profile`` end to end: RGB red-blood-cell crops, brightfield crops,
calibration, granularity, the informativeness verdict and bad folders."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest
import tifffile
from conftest import require_shared

from corrclust.cli import main as cli_main


def _draw(kind: str, rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """A dark brightfield object on a bright, noisy field: a round cell with a pale centre, or an
    elongated dense one (classes that differ in outline and in their inside, as real ones do)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    c = (size - 1) / 2 + rng.uniform(-2, 2, 2)
    t = rng.uniform(0, np.pi)
    a, b = (15, 14) if kind == "round" else (20, 8)
    a, b = a * rng.uniform(0.95, 1.05), b * rng.uniform(0.95, 1.05)
    u = (xx - c[1]) * np.cos(t) + (yy - c[0]) * np.sin(t)
    v = -(xx - c[1]) * np.sin(t) + (yy - c[0]) * np.cos(t)
    inside = (u / a) ** 2 + (v / b) ** 2 <= 1
    img = 200 + rng.normal(0, 4, (size, size)) - 80 * inside
    if kind == "round":
        img += 50 * ((u / a) ** 2 + (v / b) ** 2 <= 0.3)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def brightfield(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bf")
    rng = np.random.default_rng(0)
    for cls, kind in ((1, "round"), (2, "long")):
        for k in range(8):
            tifffile.imwrite(folder / f"cell_{cls * 100 + k}.tif", _draw(kind, rng))
    return folder


def _clusters(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_brightfield_crops_cluster_by_shape_without_labels(brightfield, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli_main(["cluster", str(brightfield), "-o", str(out), "--truth", "auto", "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "method: profile" in captured.err  # one channel: no key points, the default is profiles
    rows = _clusters(out / "clusters.csv")
    assert list(rows[0]) == ["id", "cluster", "file"] and len(rows) == 16
    data = json.loads((out / "metrics.json").read_text())
    assert data["vi"] == 0.0 and data["n_clusters_pred"] == 2
    verdict = json.loads((out / "assessment.json").read_text())
    assert verdict["informative"] and verdict["evidence"]["clusters"] == 2
    assert "morphology profiles" in (out / "report.html").read_text()
    # the same run again gives the same clusters
    out2 = tmp_path / "again"
    assert cli_main(["cluster", str(brightfield), "-o", str(out2), "--no-progress"]) == 0
    assert _clusters(out2 / "clusters.csv") == rows


def test_granularity_and_calibration(brightfield, tmp_path, capsys):
    fine = tmp_path / "fine"
    assert (
        cli_main(["cluster", str(brightfield), "-o", str(fine), "--granularity", "-3", "--no-progress"]) == 0
    )
    assert len({r["cluster"] for r in _clusters(fine / "clusters.csv")}) > 2
    cal = tmp_path / "cal.csv"
    cal.write_text(
        "file,class\ncell_100.tif,round\ncell_101.tif,round\ncell_200.tif,long\ncell_201.tif,long\n"
    )
    out = tmp_path / "cal"
    assert (
        cli_main(
            [
                "cluster",
                str(brightfield),
                "-o",
                str(out),
                "--calibrate",
                str(cal),
                "--granularity",
                "-3",
                "--truth",
                "auto",
                "--no-progress",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "calibrated from 6 labelled pairs (2 of them same-class): " in err
    assert " features kept a weight, granularity " in err
    assert json.loads((out / "metrics.json").read_text())["vi"] == 0.0
    # the report's settings say what the run used and fitted, not only the file's name (qa19)
    g = re.search(r"granularity (\S+) \(balanced", err).group(1)
    # when the labels moved the cut, the accuracy at the label-free granularity 0 is said beside it
    said = re.search(r"balanced pair accuracy ([0-9.]+)(; ([0-9.]+) at granularity 0)?\)", err)
    assert (said.group(2) is not None) == (g != "0")
    page = (out / "report.html").read_text()
    assert "<dt>neighbourhood</dt><dd>k = 7, offset 1.00</dd>" in page
    assert f"<dt>calibrated</dt><dd>granularity {g} from 6 labelled pairs (2 of them same-class; " in page
    assert "log-odds + 1" not in page
    bad = tmp_path / "bad.csv"
    bad.write_text("file,class\nnope.tif,round\n")
    assert (
        cli_main(
            ["cluster", str(brightfield), "-o", str(tmp_path / "b"), "--calibrate", str(bad), "--no-progress"]
        )
        != 0
    )
    err = capsys.readouterr().err
    assert "'nope.tif' is not an image of the clustered collection" in err
    assert "computing morphology profiles" not in err  # the refusal is the only line (qa19)


def test_profile_costs_with_a_calibration_pin_the_labelled_pairs_and_weight_the_features(
    brightfield, tmp_path
):
    from corrclust import feature_costs, profile_clustering
    from corrclust.images.io import list_images

    records = list_images(brightfield)
    cal = tmp_path / "cal.csv"
    cal.write_text(
        "file,class\ncell_100.tif,round\ncell_101.tif,round\ncell_200.tif,long\ncell_201.tif,long\n"
    )
    plain = profile_clustering.profile_costs(records)
    pc = profile_clustering.profile_costs(records, calibrate=cal)
    at = {r.path.name: i for i, r in enumerate(pc.records)}
    a, b, c, d = (at[f"cell_{k}.tif"] for k in (100, 101, 200, 201))
    clip = feature_costs.COST_CLIP
    assert pc.costs[a, b] == clip and pc.costs[c, d] == clip
    assert pc.costs[a, c] == -clip and pc.costs[b, d] == -clip
    assert 0 < pc.info["calibration"]["features_weighted"] <= plain.features.shape[1]
    assert pc.features.shape == plain.features.shape and not np.array_equal(pc.features, plain.features)
    again = profile_clustering.profile_costs(records, calibrate=cal)  # deterministic
    np.testing.assert_array_equal(again.costs, pc.costs)
    assert again.granularity == pc.granularity


def test_constant_images_are_skipped_and_listed(brightfield, tmp_path, capsys):
    folder = tmp_path / "with_flat"
    folder.mkdir()
    for f in brightfield.glob("*.tif"):
        (folder / f.name).write_bytes(f.read_bytes())
    tifffile.imwrite(folder / "cell_300.tif", np.full((64, 64), 128, np.uint8))
    out = tmp_path / "out"
    assert cli_main(["cluster", str(folder), "-o", str(out), "--no-progress"]) == 0
    assert "no profile for" in capsys.readouterr().err
    assert len(_clusters(out / "clusters.csv")) == 16
    assert "cell_300.tif" in (out / "report.html").read_text()


def test_no_object_anywhere_names_the_images(tmp_path, capsys):
    folder = tmp_path / "flat"
    folder.mkdir()
    for k in range(3):
        tifffile.imwrite(folder / f"img_{100 + k}.tif", np.full((32, 32), 10 * k, np.uint8))
    assert (
        cli_main(["cluster", str(folder), "-o", str(tmp_path / "o"), "--method", "profile", "--no-progress"])
        != 0
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert "an object was found in 0 of 3 images" in err[-1] and "img_100.tif: constant image" in err[-1]


def test_mixed_channel_counts_stop_with_one_line(brightfield, tmp_path, capsys):
    folder = tmp_path / "mixed"
    folder.mkdir()
    for f in list(brightfield.glob("*.tif"))[:4]:
        (folder / f.name).write_bytes(f.read_bytes())
    rgb = np.dstack([_draw("round", np.random.default_rng(1))] * 3)
    tifffile.imwrite(folder / "cell_900.tif", rgb, photometric="rgb")
    assert cli_main(["cluster", str(folder), "-o", str(tmp_path / "o"), "--no-progress"]) != 0
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "mixed channel counts" in last and "cell_900.tif has 3" in last


def test_rgb_red_blood_cells_end_to_end(tmp_path, capsys):
    rbc_dir = require_shared("data/rbc-morphology")
    from corrclust.images import rbc

    rbc.make_crops(rbc_dir, tmp_path / "crops", train_per_class=0, test_per_class=4, unseen_per_class=0)
    folder = tmp_path / "crops" / "test"
    out = tmp_path / "out"
    assert cli_main(["cluster", str(folder), "-o", str(out), "--truth", "auto", "--no-progress"]) == 0
    assert "method: profile" in capsys.readouterr().err
    rows = _clusters(out / "clusters.csv")
    assert len(rows) + len(_skipped(out)) == 40
    data = json.loads((out / "metrics.json").read_text())
    assert data["n_clusters_true"] == 10
    # the clustering agrees with the classes better than putting everything in one cluster (log2 10 bits)
    assert data["vi"] < np.log2(10)
    verdict = json.loads((out / "assessment.json").read_text())
    assert set(verdict) == {"informative", "findings", "evidence"}


def _skipped(out):
    return [line for line in (out / "report.html").read_text().splitlines() if "no profile:" in line]


def test_default_route_follows_the_channels(brightfield, tmp_path):
    from corrclust.images import synthetic
    from corrclust.pipeline.routes import default_route

    synthetic.generate(tmp_path / "four", classes=2, per_class=2, seed=0, size=48)
    assert default_route(sorted((tmp_path / "four").glob("organoid_???.tif"))) == "pqap"
    assert default_route(sorted(brightfield.glob("*.tif"))) == "profile"
    mixed = [*sorted((tmp_path / "four").glob("organoid_???.tif")), next(brightfield.glob("*.tif"))]
    assert default_route(mixed) == "profile"  # key points need every image to have the channels


def _interrupt_profiles_after(done: int, records, checkpoint, monkeypatch) -> None:
    """Profile ``records`` into ``checkpoint`` (saved after every image) and stop with Ctrl-C once
    ``done`` are profiled, as a user's interrupt would; ``profiles.profile`` is restored after."""
    from corrclust import profile_clustering, profiles

    monkeypatch.setattr(profile_clustering, "SAVE_EVERY", 0.0)
    real = profiles.profile
    calls = []

    def interrupted(image, mask=None):
        if len(calls) == done:
            raise KeyboardInterrupt
        calls.append(1)
        return real(image, mask)

    monkeypatch.setattr(profiles, "profile", interrupted)
    with pytest.raises(KeyboardInterrupt):
        profile_clustering.profile_costs(records, checkpoint=checkpoint)
    monkeypatch.setattr(profiles, "profile", real)


def test_ctrl_c_before_the_first_timed_save_keeps_the_profiles_done(brightfield, tmp_path, monkeypatch):
    # qa19: the checkpoint was saved every 30 s only, so Ctrl-C 10 s into 500 RBC crops left nothing
    # and the rerun started from 0; now the interrupt saves what is done
    from corrclust import profile_clustering, profiles
    from corrclust.images.io import list_images

    records = list_images(brightfield)
    ck = tmp_path / "ck.npz"
    real = profiles.profile
    calls: list[int] = []

    def interrupted(image, mask=None):
        if len(calls) == 4:
            raise KeyboardInterrupt
        calls.append(1)
        return real(image, mask)

    monkeypatch.setattr(profile_clustering, "SAVE_EVERY", 1e9)  # no timed save happens
    monkeypatch.setattr(profiles, "profile", interrupted)
    with pytest.raises(KeyboardInterrupt):
        profile_clustering.profile_costs(records, checkpoint=ck)
    assert profile_clustering.checkpoint_done(ck, records) == 4


def test_profiles_resume_from_a_checkpoint(brightfield, tmp_path, monkeypatch):
    from corrclust import profile_clustering, profiles
    from corrclust.images.io import list_images

    records = list_images(brightfield)
    ck = tmp_path / "ck.npz"
    real = profiles.profile
    _interrupt_profiles_after(5, records, ck, monkeypatch)
    assert ck.is_file()
    calls: list[int] = []
    monkeypatch.setattr(profiles, "profile", lambda image, mask=None: (calls.append(1), real(image, mask))[1])
    resumed = profile_clustering.profile_costs(records, checkpoint=ck)
    assert len(calls) == len(records) - 5  # the first five came from the checkpoint
    fresh = profile_clustering.profile_costs(records)
    np.testing.assert_array_equal(resumed.costs, fresh.costs)


def test_a_rerun_of_cluster_says_how_many_profiles_come_from_the_checkpoint(
    brightfield, tmp_path, monkeypatch, capsys
):
    # The rerun after Ctrl-C took the checkpoint's profiles without a word (found by qa14).
    from corrclust import profile_clustering
    from corrclust.cli import main
    from corrclust.images.io import list_images
    from corrclust.pipeline.routes.profile import PROFILE_CHECKPOINT

    records = list_images(brightfield)
    out = tmp_path / "out"
    out.mkdir()
    _interrupt_profiles_after(3, records, out / PROFILE_CHECKPOINT, monkeypatch)
    assert profile_clustering.checkpoint_done(out / PROFILE_CHECKPOINT, records) == 3
    capsys.readouterr()
    assert main(["cluster", str(brightfield), "-o", str(out), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert f"computing morphology profiles of {len(records)} images (3 of them from the checkpoint" in err
    assert not (out / PROFILE_CHECKPOINT).exists()
    assert main(["cluster", str(brightfield), "-o", str(out), "--no-progress"]) == 0
    assert f"computing morphology profiles of {len(records)} images\n" in capsys.readouterr().err


def test_real_brightfield_organoid_crops_end_to_end(tmp_path, capsys):
    """OrgaQuant brightfield organoids (no classes), cropped around their manual boxes: the default
    route runs, every crop is clustered or listed as skipped, and the verdict is written."""
    fields = require_shared("data/organoid-fields")
    from corrclust.images.io import read_image

    folder = tmp_path / "crops"
    folder.mkdir()
    with open(fields / "bboxes.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))[:60]
    n = 0
    for r in rows:
        x1, y1, x2, y2 = (int(r[k]) for k in ("x1", "y1", "x2", "y2"))
        img = read_image(fields / "images" / r["filename"])
        side = int(1.25 * max(x2 - x1, y2 - y1))
        a, b = (y1 + y2) // 2 - side // 2, (x1 + x2) // 2 - side // 2
        if side < 24 or a < 0 or b < 0 or a + side > img.shape[0] or b + side > img.shape[1]:
            continue
        tifffile.imwrite(
            folder / f"org_{1000 + n}.tif", np.ascontiguousarray(img[a : a + side, b : b + side])
        )
        n += 1
    assert n >= 20
    out = tmp_path / "out"
    assert cli_main(["cluster", str(folder), "-o", str(out), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "method: profile" in err
    clustered = len(_clusters(out / "clusters.csv"))
    assert clustered + err.count("no profile for") == n
    verdict = json.loads((out / "assessment.json").read_text())
    assert verdict["evidence"]["n"] == clustered


def test_neighbours_option(brightfield, tmp_path, capsys):
    out = tmp_path / "auto"
    assert (
        cli_main(["cluster", str(brightfield), "-o", str(out), "--neighbours", "auto", "--no-progress"]) == 0
    )
    assert "--neighbours auto: k = 7" in capsys.readouterr().err  # 16 images: only k = 7 is below n / 3
    assert (
        cli_main(
            ["cluster", str(brightfield), "-o", str(tmp_path / "x"), "--neighbours", "0", "--no-progress"]
        )
        == 2
    )
    assert (
        "--neighbours must be a whole number of at least 1, 'scaled' or 'auto', got 0"
        in capsys.readouterr().err
    )
    # the default: one image in 15, at least 7
    assert cli_main(["cluster", str(brightfield), "-o", str(tmp_path / "s"), "--no-progress"]) == 0
    # ... and the separation check's partition at k = 10 was one cluster: no chance share to compare
    assert (
        "cost rule neighbourhood: k = 7 (one image in 15, at least 7), offset 1.00; at k = 10 the images "
        "form one cluster (separation check)\n" in capsys.readouterr().err
    )
    # five images: k is every other image, and the message says so (it said "k = 4 ... at least 7")
    few = tmp_path / "few"
    few.mkdir()
    for f in sorted(p for p in brightfield.iterdir() if p.suffix == ".tif")[:5]:
        (few / f.name).write_bytes(f.read_bytes())
    assert cli_main(["cluster", str(few), "-o", str(tmp_path / "f"), "--no-progress"]) == 0
    assert "cost rule neighbourhood: k = 4 (one image in 15, at most the other 4)" in capsys.readouterr().err
    # requests the five images cannot honour are said, not capped silently; the wording of a VI
    # line for one true class is singular (was "1 true classes")
    truth = tmp_path / "one-class.csv"
    truth.write_text(",".join(str(int(f.stem.split("_")[1])) for f in sorted(few.iterdir())) + "\n")
    args = ["cluster", str(few), "-o", str(tmp_path / "g"), "--neighbours", "9", "--pca", "30"]
    assert cli_main([*args, "--truth", str(truth), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "warning: --neighbours 9: only 4 other images; k = 4 used" in captured.err
    assert "warning: --pca 30: the profiles of 5 images span only 5 components; all 5 kept" in captured.err
    assert "1 true class\n" in captured.out + captured.err


# ------------------------------------------------------------------ above the dense limit (issue 18)
@pytest.fixture(scope="module")
def forty(tmp_path_factory):
    folder = tmp_path_factory.mktemp("forty")
    rng = np.random.default_rng(1)
    for cls, kind in ((1, "round"), (2, "long")):
        for k in range(20):
            tifffile.imwrite(folder / f"cell_{cls * 100 + k}.tif", _draw(kind, rng))
    return folder


def test_above_the_dense_limit_the_profile_route_goes_sparse(forty, tmp_path, capsys):
    from corrclust.embedding_clustering import cluster_embeddings
    from corrclust.pipeline.clustering import number_clusters
    from corrclust.pipeline.images import load_images
    from corrclust.profile_clustering import profile_features

    out = tmp_path / "out"
    argv = ["cluster", str(forty), "-o", str(out), "--no-progress", "--dense-max-n", "20", "--truth", "auto"]
    assert cli_main(argv) == 0
    captured = capsys.readouterr()
    err = captured.err
    said = [line for line in err.splitlines() if "dense limit" in line]
    assert said == [
        "corrclust: 40 images are above the dense limit of 20 (their n x n matrices would need 50.0 KiB): "
        "sparse path (k-nearest-neighbour graph of the profile features)"
    ]
    rows = _clusters(out / "clusters.csv")
    assert list(rows[0]) == ["id", "cluster", "file"] and len(rows) == 40
    assert sorted(r["file"] for r in rows) == sorted(p.name for p in forty.glob("*.tif"))
    # the same labels as the sparse path of cluster_embeddings on the same profiles (clusters 1..K by size)
    pf = profile_features(load_images(forty, progress=False).records)
    ref = cluster_embeddings(pf.features, ids=pf.ids, path="sparse", knn="exact", neighbours=7, seed=0)
    want = dict(zip(pf.ids.tolist(), number_clusters(ref.labels).tolist(), strict=True))
    assert {int(r["id"]): int(r["cluster"]) for r in rows} == want
    assert ref.n_clusters >= 2
    data = json.loads((out / "metrics.json").read_text())  # formats/metrics_file.py: contingency as cells
    assert "contingency_cells" in data and sum(c[2] for c in data["contingency_cells"]) == 40
    # the headline numbers on stdout, as on the dense path (the sparse path printed none)
    vi_line = [line for line in captured.out.splitlines() if line.startswith("VI ")]
    assert vi_line == [
        f"VI {data['vi']:.4f} bits (false cuts {data['false_cuts']:.4f}, false joins {data['false_joins']:.4f}), "
        f"Rand index {100 * data['rand_index']:.2f} %, 2 true classes"
    ]
    assert not (out / "similarities.npz").exists()  # no n x n matrix anywhere
    page = (out / "report.html").read_text()
    assert "size_distribution.png" in page and "similarity.png" not in page
    assert not (out / "figures" / "similarity.png").exists()
    assert "k-nearest-neighbour graph" in page


def test_below_the_dense_limit_nothing_changes(forty, tmp_path, capsys):
    outs = []
    for limit in ([], ["--dense-max-n", "40"]):
        out = tmp_path / f"out{len(limit)}"
        assert cli_main(["cluster", str(forty), "-o", str(out), "--no-progress", *limit]) == 0
        outs.append(out)
    assert "sparse path" not in capsys.readouterr().err
    for name in ("clusters.csv", "clustering.csv"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes()
    assert (outs[1] / "similarities.npz").exists()


def test_above_the_dense_limit_options_that_need_every_pair_are_refused(forty, tmp_path, capsys):
    cal = tmp_path / "cal.csv"
    cal.write_text("file,class\ncell_100.tif,1\ncell_200.tif,2\n")
    out = tmp_path / "out"
    argv = ["cluster", str(forty), "-o", str(out), "--no-progress", "--dense-max-n", "20"]
    assert cli_main([*argv, "--calibrate", str(cal)]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 1 and "--calibrate fits the granularity on every pair" in errors[0]
    assert not out.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "file,class\nnope.tif,round\ncell_100.tif,round\n",
            "'nope.tif' is not an image of the clustered collection",
        ),
        (
            "file,class\ncell_100.tif,round\ncell_101.tif,round\n",
            "needs pairs of the same class and of different classes",
        ),
    ],
)
def test_a_bad_calibration_is_refused_before_any_profile_is_computed(
    brightfield, tmp_path, monkeypatch, text, message
):
    # qa15: these were found only after every profile had been computed (minutes on a large folder)
    from corrclust import profile_clustering
    from corrclust.images.io import list_images

    def no_profiles(*args, **kwargs):
        raise AssertionError("profiles computed before the calibration file was checked")

    monkeypatch.setattr(profile_clustering, "profile_features", no_profiles)
    cal = tmp_path / "cal.csv"
    cal.write_text(text)
    with pytest.raises(ValueError, match=message):
        profile_clustering.profile_costs(list_images(brightfield), calibrate=cal)


def _noise_folder(tmp_path):
    """Forty 64 x 64 images of uniform 8-bit pixel noise (seed 0)."""
    folder = tmp_path / "noise"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(40):
        tifffile.imwrite(folder / f"n_{i + 1}.tif", rng.integers(0, 256, (64, 64), dtype=np.uint8))
    return folder


def test_pure_noise_images_are_called_noise(tmp_path, capsys):
    """Forty images of uniform pixel noise gave 5 clusters, stability 0.98 against 0.61 for the
    one-Gaussian reference, informative: true and no warning (audit qa16): the segmentation of noise
    makes objects of a few sizes. The adjacent-pixel correlation tells noise from images."""
    folder = _noise_folder(tmp_path)
    out = tmp_path / "out"
    assert cli_main(["cluster", str(folder), "-o", str(out), "--no-progress"]) == 0
    verdict = json.loads((out / "assessment.json").read_text())
    assert not verdict["informative"]
    assert abs(verdict["evidence"]["pixel_correlation"]) < 0.02
    noise = [f for f in verdict["findings"] if f.startswith("the images look like noise: adjacent pixels")]
    assert len(noise) == 1 and "over 40 images, below 0.2" in noise[0]
    assert f"warning: {noise[0]}" in capsys.readouterr().out
    assert "the images look like noise" in (out / "report.html").read_text()


def test_images_of_objects_are_not_called_noise(brightfield, tmp_path):
    out = tmp_path / "out"
    assert cli_main(["cluster", str(brightfield), "-o", str(out), "--no-progress"]) == 0
    verdict = json.loads((out / "assessment.json").read_text())
    assert verdict["informative"] and verdict["evidence"]["pixel_correlation"] > 0.5


def test_the_sparse_path_says_noise_and_a_partition_that_separates_nothing(tmp_path, capsys):
    """Above the dense limit no assessment was made at all (audit qa16); now the checks that need no
    re-solve are: the same forty noise images, on the sparse path."""
    folder = _noise_folder(tmp_path)
    out = tmp_path / "out"
    assert cli_main(["cluster", str(folder), "-o", str(out), "--dense-max-n", "20", "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "sparse path" in captured.err
    verdict = json.loads((out / "assessment.json").read_text())
    assert not verdict["informative"] and "stability" not in verdict["evidence"]
    assert verdict["findings"][0].startswith("the images look like noise: adjacent pixels")
    assert f"warning: {verdict['findings'][0]}" in captured.out
    assert f"corrclust: warning: {verdict['findings'][0]}" in captured.err
    page = (out / "report.html").read_text()
    assert "These clusters say little" in page and "the images look like noise" in page


def test_ctrl_c_in_cluster_says_whether_the_same_command_resumes(brightfield, tmp_path, monkeypatch, capsys):
    # qa19: the line was "corrclust cluster: interrupted" whatever a rerun would take from the run
    from corrclust import profile_clustering, profiles
    from corrclust.pipeline.routes.profile import PROFILE_CHECKPOINT

    out = tmp_path / "out"
    real = profiles.profile
    calls: list[int] = []

    def interrupted(image, mask=None):
        if len(calls) == 3:
            raise KeyboardInterrupt
        calls.append(1)
        return real(image, mask)

    monkeypatch.setattr(profile_clustering, "SAVE_EVERY", 1e9)
    monkeypatch.setattr(profiles, "profile", interrupted)
    assert cli_main(["cluster", str(brightfield), "-o", str(out), "--no-progress"]) == 130
    kept = out / PROFILE_CHECKPOINT
    assert (
        f"corrclust cluster: interrupted; the profiles done are kept in {kept}: the same command "
        "resumes from there\n" in capsys.readouterr().err
    )
    # interrupted while clustering: the profiles were complete and their checkpoint is gone
    monkeypatch.setattr(profiles, "profile", real)
    from corrclust.pipeline import runner

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "cluster", stop)
    assert cli_main(["cluster", str(brightfield), "-o", str(out), "--no-progress"]) == 130
    err = capsys.readouterr().err
    assert "(3 of them from the checkpoint" in err
    assert (
        "corrclust cluster: interrupted; nothing is kept for a rerun: the same command starts again\n" in err
    )


def test_calibration_accuracy_text_names_granularity_zero_only_when_moved():
    from corrclust.pipeline.routes.profile import _accuracy

    moved = {"pair_score": 0.8125, "pair_score_at_zero": 0.75, "granularity": -0.75}
    assert _accuracy(moved) == "0.81; 0.75 at granularity 0"
    assert _accuracy({**moved, "granularity": 0.0}) == "0.81"
    assert _accuracy({**moved, "pair_score_at_zero": None}) == "0.81"  # a grid without 0
    assert _accuracy({"pair_score": 0.5, "granularity": 1.0}) == "0.50"  # an older run's details
