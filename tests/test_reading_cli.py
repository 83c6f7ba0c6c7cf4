"""The reading flags (--channels, --z-project, --t, --pixel-size, --name-pattern) on the commands, end to end.

The images are written here as OME-TIFF Z-stacks whose planes differ, so a wrong projection, a wrong
channel or an ignored flag changes the key points, the crops or the clusters this checks.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import tifffile

from corrclust.cli import main
from corrclust.images import synthetic
from corrclust.images.io import read_image
from corrclust.pqap.io import FIELDS as PQAP_FIELDS
from corrclust.pqap.io import read_keypoints

NAMES = ["DAPI", "GFP", "unused", "membrane"]


@pytest.fixture(scope="module")
def stacks(tmp_path_factory) -> tuple[Path, Path]:
    """Synthetic organoids (2 classes x 3) as OME-TIFF stacks of 3 Z planes: the organoid is in plane 1,
    planes 0 and 2 are blank; the 2-D originals are kept for comparison."""
    flat = tmp_path_factory.mktemp("flat")
    synthetic.generate(flat, classes=2, per_class=3, seed=5, size=72)
    stacked = tmp_path_factory.mktemp("stacked")
    for f in sorted(flat.glob("organoid_*.tif")):
        img = read_image(f)
        if f.stem.endswith("_mask"):
            tifffile.imwrite(stacked / f.name, img[:, :, 0])
            continue
        cyx = np.moveaxis(img, -1, 0)
        zcyx = np.zeros((3,) + cyx.shape, cyx.dtype)
        zcyx[1] = cyx
        name = f.name.replace(".tif", ".ome.tif")
        tifffile.imwrite(
            stacked / name,
            zcyx,
            ome=True,
            metadata={"axes": "ZCYX", "Channel": {"Name": NAMES}, "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5},
        )
        # the mask of a.ome.tif is a_mask.tif
        (stacked / (f.stem + "_mask.tif")).write_bytes((flat / (f.stem + "_mask.tif")).read_bytes())
    return flat, stacked


def _keypoints(args, capsys) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().err


def test_keypoints_of_stacks_equal_those_of_the_flat_images(stacks, tmp_path, capsys):
    flat, stacked = stacks
    ref, out = tmp_path / "ref.csv", tmp_path / "z.csv"
    assert main(["images", "keypoints", str(flat), "-o", str(ref), "--no-progress"]) == 0
    assert (
        main(["images", "keypoints", str(stacked), "-o", str(out), "--z-project", "max", "--no-progress"])
        == 0
    )
    a, b = read_keypoints(ref), read_keypoints(out)
    assert a.ids == b.ids == [100, 101, 102, 200, 201, 202]
    for i in a.ids:
        np.testing.assert_array_equal(a.features[i], b.features[i])
    # The same planes by name; the middle plane is the organoid; the first plane (blank) has no nuclei.
    named = tmp_path / "named.csv"
    assert (
        main(
            [
                "images",
                "keypoints",
                str(stacked),
                "-o",
                str(named),
                "--channels",
                "dapi,GFP,membrane",
                "--z-project",
                "middle",
                "--no-progress",
            ]
        )
        == 0
    )
    c = read_keypoints(named)
    for i in a.ids:
        np.testing.assert_array_equal(a.features[i], c.features[i])
    blank = tmp_path / "blank.csv"
    code = main(
        ["images", "keypoints", str(stacked), "-o", str(blank), "--z-project", "sum", "--no-progress"]
    )
    assert code == 0  # sum of one organoid plane and two blank planes = the organoid
    for i in a.ids:
        np.testing.assert_array_equal(a.features[i], read_keypoints(blank).features[i])


@pytest.mark.parametrize(
    "spelling", [["--channels", "-,-,3"], ["--channels=-,-,3"], ["--channels", "-,-,membrane"]]
)
def test_keypoints_channels_with_a_leading_dash(stacks, tmp_path, capsys, spelling):
    flat, _ = stacks
    out = tmp_path / "r.csv"
    code = main(
        [
            "images",
            "keypoints",
            str(flat) if "membrane" not in spelling[-1] else str(stacks[1]),
            "-o",
            str(out),
            *spelling,
            "--no-progress",
        ]
    )
    assert code == 0, capsys.readouterr().err
    ks = read_keypoints(out)
    ref = tmp_path / "ref.csv"
    assert main(["images", "keypoints", str(flat), "-o", str(ref), "--no-progress"]) == 0
    full = read_keypoints(ref)
    channel = PQAP_FIELDS.index("channel")
    assert ks.ids == full.ids
    for i in ks.ids:
        # only the red peaks (channel 3 in the paper's numbering) remain, the same as in the full run
        red = full.features[i][full.features[i][:, channel] == 3]
        assert set(ks.features[i][:, channel].tolist()) <= {3.0}
        np.testing.assert_array_equal(ks.features[i], red)


def test_bad_channel_name_and_time_series_are_one_line_each(stacks, tmp_path, capsys):
    _, stacked = stacks
    code = main(
        [
            "images",
            "keypoints",
            str(stacked),
            "-o",
            str(tmp_path / "x.csv"),
            "--channels",
            "DAPI,GFP,Cy5",
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "no channel named 'Cy5'" in err and "'DAPI', 'GFP', 'unused', 'membrane'" in err
    series = tmp_path / "series"
    series.mkdir()
    for k in range(2):
        tifffile.imwrite(
            series / f"t_{100 + k}.ome.tif",
            np.zeros((4, 2, 32, 32), np.uint16),
            ome=True,
            metadata={"axes": "TCYX"},
        )
    code = main(
        [
            "images",
            "keypoints",
            str(series),
            "-o",
            str(tmp_path / "y.csv"),
            "--channels",
            "0,1,-",
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "t_100.ome.tif" in err and "time series of 4 time points" in err and "--t" in err
    code = main(
        [
            "images",
            "keypoints",
            str(series),
            "-o",
            str(tmp_path / "y.csv"),
            "--channels",
            "0,1,-",
            "--t",
            "2",
            "--no-progress",
        ]
    )
    assert "time series" not in capsys.readouterr().err


def test_mixed_pixel_sizes_refused_then_resampled(tmp_path, capsys):
    d = tmp_path / "mixed"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i, size in ((100, 0.5), (101, 0.5), (102, 1.0)):
        tifffile.imwrite(
            d / f"o_{i}.ome.tif",
            rng.integers(0, 4000, (4, 40, 40), dtype=np.uint16),
            ome=True,
            metadata={"axes": "CYX", "PhysicalSizeX": size, "PhysicalSizeY": size},
        )
    code = main(["images", "keypoints", str(d), "-o", str(tmp_path / "k.csv"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "mixed pixel sizes" in err and "o_100.ome.tif" in err and "o_102.ome.tif" in err
    assert len(err.strip().splitlines()) == 1
    code = main(
        ["images", "keypoints", str(d), "-o", str(tmp_path / "k.csv"), "--pixel-size", "1", "--no-progress"]
    )
    assert code == 0, capsys.readouterr().err


def test_crop_z_stack_fields_with_wells_and_pixel_size(tmp_path, capsys):
    from test_images_detection import _field

    img, truth = _field()
    fields = tmp_path / "fields"
    fields.mkdir()
    # An Operetta-named Z-stack whose middle plane holds the field; a broken file is skipped.
    stack = np.stack([np.full_like(img, 255), img, np.full_like(img, 255)])
    tifffile.imwrite(
        fields / "r02c03f01p01-ch1sk1fk1fl1.ome.tiff",
        stack,
        ome=True,
        metadata={"axes": "ZYX", "PhysicalSizeX": 0.8, "PhysicalSizeY": 0.8},
    )
    (fields / "broken.tif").write_bytes(b"II*\x00broken")
    out = tmp_path / "crops"
    code = main(["images", "crop", str(fields), "-o", str(out), "--z-project", "middle", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and "broken.tif" in err
    with open(out / "crops.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(truth)
    assert [r["crop"] for r in rows] == [f"r02c03f01p01-ch1sk1fk1fl1__{k}.tif" for k in range(len(rows))]
    assert {(r["well"], r["site"], r["pixel_size_um"]) for r in rows} == {("B03", "1", "0.8")}
    from corrclust.images.io import read_image_data

    first = read_image_data(out / rows[0]["crop"])
    x1, y1, x2, y2 = (int(rows[0][k]) for k in ("x1", "y1", "x2", "y2"))
    np.testing.assert_array_equal(first.pixels[:, :, 0], img[y1:y2, x1:x2])
    assert first.pixel_size == pytest.approx(0.8)
    # --z-project max would see only the white planes: nothing to detect.
    code = main(["images", "crop", str(fields), "-o", str(tmp_path / "none"), "--no-progress"])
    assert "0 organoid crops" in capsys.readouterr().out


def test_cluster_with_channels_z_project_and_wells(stacks, tmp_path, capsys):
    """cluster on Z-stacks: --z-project middle and --channels by name give the clusters of the flat images;
    --name-pattern puts wells into clusters.csv."""
    flat, stacked = stacks
    named = tmp_path / "named"
    named.mkdir()
    for f in stacked.iterdir():
        # P1-A1-site1_100.ome.tif: plate, well and id in the name
        i = f.name.split("_")[1].split(".")[0]
        well = "A1" if int(i) < 200 else "B2"
        (named / f"P1-{well}-site1_{f.name.split('_', 1)[1]}").write_bytes(f.read_bytes())
    ref, out = tmp_path / "ref", tmp_path / "out"
    assert main(["cluster", str(flat), "-o", str(ref), "--no-progress", "--no-sweep"]) == 0
    code = main(
        [
            "cluster",
            str(named),
            "-o",
            str(out),
            "--no-progress",
            "--no-sweep",
            "--z-project=middle",
            "--channels",
            "DAPI,GFP,membrane",
            "--name-pattern",
            r"^(?P<plate>P\d+)-(?P<well>[A-H]\d+)-site(?P<site>\d+)",
        ]
    )
    assert code == 0, capsys.readouterr().err
    with open(ref / "clusters.csv") as fh:
        a = {int(r["id"]): int(r["cluster"]) for r in csv.DictReader(fh)}
    with open(out / "clusters.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {int(r["id"]): int(r["cluster"]) for r in rows} == a
    assert {(int(r["id"]) // 100, r["plate"], r["well"], r["site"]) for r in rows} == {
        (1, "P1", "A01", "1"),
        (2, "P1", "B02", "1"),
    }
    page = (out / "report.html").read_text()
    assert "Clusters by well" in page and "B02" in page


@pytest.mark.filterwarnings(
    "default::UserWarning"
)  # the CLI shows it; the suite's "error" filter would raise it
def test_a_saturating_z_sum_warns_in_one_line(tmp_path, capsys):
    d = tmp_path / "s"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i in (100, 101):
        tifffile.imwrite(
            d / f"o_{i}.ome.tif",
            rng.integers(30000, 60000, (3, 4, 40, 40), dtype=np.uint16),
            ome=True,
            metadata={"axes": "ZCYX"},
        )
    assert (
        main(
            [
                "images",
                "keypoints",
                str(d),
                "-o",
                str(tmp_path / "k.csv"),
                "--z-project",
                "sum",
                "--no-progress",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"corrclust: warning: {d / f'o_{i}.ome.tif'}: the Z sum exceeds 65535 and saturates "
        "(use --z-project mean or max)"
        for i in (100, 101)
    ]


def test_docs_name_the_reading_flags_each_command_has(capsys):
    # qa19: docs/cli.md said "the same reading flags" (as cluster's) were on these commands, but
    # --pixel-size is missing from images rbc-crops and --name-pattern is on images crop only
    doc = (Path(__file__).parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
    assert "`--name-pattern` on `images crop`" in doc
    assert "`--pixel-size` on all of them but `images rbc-crops`" in doc
    for argv in (["images", "crop"], ["images", "keypoints"], ["images", "rbc-crops"], ["twin", "train"]):
        with pytest.raises(SystemExit):
            main([*argv, "--help"])
        out = capsys.readouterr().out
        assert all(f"{flag} " in out for flag in ("--channels", "--z-project", "--t"))
        assert ("--pixel-size " in out) == (argv[1] != "rbc-crops")
        assert ("--name-pattern " in out) == (argv[1] == "crop")


def test_cluster_help_gives_the_defaults_docs_cli_md_gives(capsys):
    # qa19: --help said --symmetrize defaults to mean "for twin" and --bias was "twin:" only, while
    # docs/cli.md (and the code) give mean for twin, profile and ssl, and --bias for ssl too
    with pytest.raises(SystemExit):
        main(["cluster", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: min for PQAP, mean for twin, profile and ssl)" in out
    assert "twin: added to logit(p); ssl: added to the rule's costs;" in out
