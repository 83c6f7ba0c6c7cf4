"""``corrclust images`` sub-commands end to end."""

from __future__ import annotations

import csv

import numpy as np
from conftest import require_shared
from PIL import Image

from corrclust.cli import main
from corrclust.pqap.io import read_keypoints


def test_synth_then_keypoints_with_a_bad_file(tmp_path, capsys):
    out = tmp_path / "synth"
    assert (
        main(
            [
                "images",
                "synth",
                "-o",
                str(out),
                "--classes",
                "2",
                "--per-class",
                "2",
                "--size",
                "80",
                "--quiet",
            ]
        )
        == 0
    )
    assert (out / "truth.csv").read_text().startswith("100,101\n200,201\n")
    (out / "organoid_300.tif").write_bytes(b"corrupt")
    kp = tmp_path / "kp.csv"
    rc = main(["images", "keypoints", str(out), "-o", str(kp), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1 and "organoid_300.tif" in err and "1 file(s)" in err
    ks = read_keypoints(kp)
    assert ks.ids == [100, 101, 200, 201]
    assert ks.selection["image_set"] == "synth"


def test_crop_command(tmp_path, capsys):
    from test_images_detection import _field

    img, truth = _field()
    (tmp_path / "f").mkdir()
    Image.fromarray(img).save(tmp_path / "f" / "field_1.png")
    assert main(["images", "crop", str(tmp_path / "f"), "-o", str(tmp_path / "c"), "--quiet"]) == 0
    with open(tmp_path / "c" / "crops.csv") as fh:
        assert len(list(csv.DictReader(fh))) == len(truth)
    assert main(["images", "crop", str(tmp_path / "f"), "-o", str(tmp_path / "c"), "--min-score", "2"]) == 2
    assert "--min-score" in capsys.readouterr().err
    # another score model: its operating point applies; a missing or foreign file is a clear error
    import dataclasses

    from corrclust.images import organoid_cnn
    from corrclust.images.organoid_score import load_score_model, save_score_model

    save_score_model(dataclasses.replace(load_score_model(None), min_score=1.01), tmp_path / "strict.npz")
    args = ["images", "crop", str(tmp_path / "f"), "-o", str(tmp_path / "c"), "--quiet", "--score-model"]
    assert main(args + [str(tmp_path / "strict.npz")]) == 0
    assert "0 organoid crops" in capsys.readouterr().out
    assert main(args + [str(tmp_path / "nope.npz")]) == 2
    assert "nope.npz" in capsys.readouterr().err
    m = load_score_model(None)
    save_score_model(dataclasses.replace(m, features=m.features[:-1] + ("other",)), tmp_path / "foreign.npz")
    assert main(args + [str(tmp_path / "foreign.npz")]) == 2
    assert "other features" in capsys.readouterr().err
    # the crop CNN: a file only with --scorer trees+cnn (or auto); an unreadable one named in one line
    crop = ["images", "crop", str(tmp_path / "f"), "-o", str(tmp_path / "c"), "--quiet"]
    assert main(crop + ["--cnn-model", str(tmp_path / "strict.npz")]) == 2
    assert "--cnn-model needs --scorer trees+cnn" in capsys.readouterr().err
    if organoid_cnn.torch_available():
        assert main(crop + ["--scorer", "trees+cnn", "--cnn-model", str(tmp_path / "nope.npz")]) == 2
        assert "nope.npz" in capsys.readouterr().err
        assert main(crop + ["--scorer", "trees+cnn"]) == 0  # the packaged CNN
        assert f"{len(truth)} organoid crops" in capsys.readouterr().out


def test_errors_are_one_line(tmp_path, capsys):
    assert main(["images", "keypoints", str(tmp_path / "nope"), "-o", str(tmp_path / "k.csv")]) == 2
    assert "image folder not found" in capsys.readouterr().err
    # one image given instead of its folder: said so, with the folder to pass
    image = tmp_path / "imgs" / "organoid_100.tif"
    image.parent.mkdir()
    image.write_bytes(b"II*\x00")
    assert main(["images", "keypoints", str(image), "-o", str(tmp_path / "k.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"corrclust images keypoints: error: {image} is a file, not a folder: pass the folder that "
        f"holds the images ({image.parent})"
    )
    assert main(["cluster", str(image), "-o", str(tmp_path / "out"), "--no-progress"]) == 2
    assert f"error: {image} is a file, not a folder" in capsys.readouterr().err
    assert main(["images", "synth", "-o", str(tmp_path / "s"), "--classes", "99"]) == 2
    assert "classes must be between" in capsys.readouterr().err
    assert main(["images"]) == 2


def test_rbc_crops_command(tmp_path):
    rbc = require_shared("data/rbc-morphology")
    assert (
        main(
            [
                "images",
                "rbc-crops",
                str(rbc),
                "-o",
                str(tmp_path / "r"),
                "--train",
                "2",
                "--test",
                "2",
                "--unseen",
                "3",
                "--quiet",
            ]
        )
        == 0
    )
    assert len(list((tmp_path / "r" / "train").glob("rbc_*.tif"))) == 20
    assert len(list((tmp_path / "r" / "unseen").glob("rbc_*.tif"))) == 6


def test_keypoints_channels_option(tmp_path, capsys):
    out = tmp_path / "s"
    assert (
        main(
            [
                "images",
                "synth",
                "-o",
                str(out),
                "--classes",
                "1",
                "--per-class",
                "1",
                "--size",
                "80",
                "--quiet",
            ]
        )
        == 0
    )
    kp = tmp_path / "kp.csv"
    assert main(["images", "keypoints", str(out), "-o", str(kp), "--channels", "0,-,-", "--quiet"]) == 0
    ks = read_keypoints(kp)
    assert set(np.unique(ks.features[100][:, 1])) == {0.0}
    assert main(["images", "keypoints", str(out), "-o", str(kp), "--channels", "0,1"]) == 2
    assert "three comma-separated" in capsys.readouterr().err
