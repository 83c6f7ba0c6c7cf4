"""Time series (``--t refuse|split|INDEX``): real OME-TIFF and OME-Zarr files written here and read back.

Every time point, Z plane and channel holds different pixels, so a wrong time point, a projection over
the wrong axis or a channel mix-up changes the pixels compared here.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile

from corrclust.images.io import (
    ImageReadError,
    ReadOptions,
    iter_images,
    list_images,
    read_image,
    read_image_data,
    read_mask,
    read_time_points,
    split_time_points,
    time_points,
)

RNG = np.random.default_rng(11)
NAMES = ["DAPI", "GFP"]
# T=3, Z=4, C=2, Y=20, X=24
TZCYX = RNG.integers(0, 60000, size=(3, 4, 2, 20, 24), dtype=np.uint16)


def _ome(path: Path, data: np.ndarray, axes: str, names=NAMES) -> Path:
    metadata: dict = {"axes": axes, "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5}
    if names is not None:
        metadata["Channel"] = {"Name": names}
    tifffile.imwrite(path, data, ome=True, metadata=metadata)
    return path


def _expected(t: int, how: str = "max") -> np.ndarray:
    zcyx = TZCYX[t]
    if how == "max":
        proj = zcyx.max(axis=0)
    elif how == "mean":
        proj = np.rint(zcyx.mean(axis=0)).astype(np.uint16)
    else:  # middle
        proj = zcyx[zcyx.shape[0] // 2]
    return proj.transpose(1, 2, 0)  # (Y, X, C)


def _one_line(exc: pytest.ExceptionInfo, path: Path) -> str:
    message = str(exc.value)
    assert "\n" not in message and path.name in message
    return message


def test_refuse_index_and_split_of_an_ome_tiff(tmp_path):
    path = _ome(tmp_path / "series_5.ome.tif", TZCYX, "TZCYX")
    assert time_points(path) == 3
    with pytest.raises(ImageReadError) as info:
        read_image(path)  # the default: refuse
    message = _one_line(info, path)
    assert "time series of 3 time points" in message and "--t split" in message and "--t INDEX" in message
    for t in range(3):
        data = read_image_data(path, ReadOptions(t=t))
        np.testing.assert_array_equal(data.pixels, _expected(t))
        assert data.t == t and data.z_planes == 4 and data.channel_names == tuple(NAMES)
    with pytest.raises(ImageReadError) as info:
        read_image(path, ReadOptions(t=3))
    assert "--t 3 is past the last time point (2)" in _one_line(info, path)
    # split, as the Python API reads it: every time point, the file read once
    series = read_time_points(path, ReadOptions(z_project="mean"))
    assert [d.t for d in series] == [0, 1, 2]
    for d in series:
        np.testing.assert_array_equal(d.pixels, _expected(d.t, "mean"))
    # "split" asked of the single-image reader says where the split happens
    with pytest.raises(ImageReadError, match="read_time_points"):
        read_image(path, ReadOptions(t="split"))
    # channel selection by name after the split; Z projection on each time point
    green = read_time_points(path, ReadOptions(channels=("gfp",), z_project="middle"))
    for d in green:
        np.testing.assert_array_equal(d.pixels[:, :, 0], TZCYX[d.t, 2, 1])
        assert d.channel_names == ("GFP",)


def test_options_spellings():
    assert ReadOptions().t == "refuse" and ReadOptions(t=None).t == "refuse"
    assert ReadOptions(t=np.int64(2)).t == 2 and type(ReadOptions(t=np.int64(2)).t) is int
    for bad in (-1, "all", 1.5, True):
        with pytest.raises(ValueError, match="--t|time point"):
            ReadOptions(t=bad)


def test_split_records_ids_names_and_pixels(tmp_path):
    """A folder of a 12-point TCYX series, a 3-point TZCYX series and a plain image: names sort in time
    order, ids stay unique integers (file id * 100 + t), classes stay the file's."""
    tcyx = RNG.integers(0, 255, size=(12, 2, 16, 18), dtype=np.uint8)
    _ome(tmp_path / "long_3.ome.tif", tcyx, "TCYX")
    _ome(tmp_path / "series_105.ome.tif", TZCYX, "TZCYX")
    plain = RNG.integers(0, 255, size=(16, 18, 2), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "plain_201.tif", plain, photometric="minisblack", planarconfig="contig")
    # refused by default: the folder lists three files, reading the series fails one line each
    records = list_images(tmp_path)
    assert [(r.id, r.t) for r in records] == [(3, None), (105, None), (201, None)]
    records = list_images(tmp_path, read=ReadOptions(t="split"))
    assert [r.name for r in records] == [f"long_3__t{k:02d}" for k in range(12)] + [
        f"series_105__t{k}" for k in range(3)
    ] + ["plain_201"]
    assert [r.id for r in records] == [300 + k for k in range(12)] + [10500, 10501, 10502, 20100]
    assert [r.label for r in records] == ["0"] * 12 + ["1"] * 3 + ["2"]
    assert split_time_points(records) == records  # already split: nothing changes
    got = {r.name: d for r, d, err in iter_images(records, ReadOptions(t="split")) if err is None}
    assert len(got) == 16
    for k in range(12):
        np.testing.assert_array_equal(got[f"long_3__t{k:02d}"].pixels, tcyx[k].transpose(1, 2, 0))
    for k in range(3):
        np.testing.assert_array_equal(got[f"series_105__t{k}"].pixels, _expected(k))
    np.testing.assert_array_equal(got["plain_201"].pixels, plain)
    # --t INDEX: one time point of each series; a file without a time series is read as it is
    one = {r.path.name: d for r, d, err in iter_images(list_images(tmp_path), ReadOptions(t=2))}
    np.testing.assert_array_equal(one["long_3.ome.tif"].pixels, tcyx[2].transpose(1, 2, 0))
    np.testing.assert_array_equal(one["series_105.ome.tif"].pixels, _expected(2))
    np.testing.assert_array_equal(one["plain_201.tif"].pixels, plain)
    # an index past a series' end: that file is listed with a one-line message, the others are read
    out = list(iter_images(list_images(tmp_path), ReadOptions(t=5)))
    errors = [err for _, _, err in out if err is not None]
    assert (
        len(errors) == 1 and "series_105.ome.tif" in errors[0] and "past the last time point (2)" in errors[0]
    )


def test_a_file_without_axes_has_no_known_time(tmp_path):
    """No metadata and a shape the channel rule cannot read: --t split and --t INDEX refuse to guess."""
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, RNG.integers(0, 255, size=(6, 20, 24), dtype=np.uint8), metadata=None)
    assert time_points(path) is None
    for t in ("split", 0):
        with pytest.raises(ImageReadError) as info:
            read_image(path, ReadOptions(t=t))
        assert "names no axes" in _one_line(info, path) and "TCYX" in str(info.value)
    with pytest.raises(ImageReadError, match="cannot tell the channel axis"):
        read_image(path)  # refuse: the shape rule's own message, as before
    # a split folder keeps such a file as one record; reading it gives the message
    records = list_images(tmp_path, read=ReadOptions(t="split"))
    assert [(r.name, r.t) for r in records] == [("stack", None)]
    (_, data, err), *_ = iter_images(records, ReadOptions(t="split"))
    assert data is None and err is not None and "names no axes" in err
    # a plain channel-last file without axes (as crops are written) is one image under every --t
    crop = RNG.integers(0, 255, size=(20, 24, 4), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "crop.tif", crop, photometric="minisblack")
    assert time_points(tmp_path / "crop.tif") == 1
    for t in ("split", 3):
        np.testing.assert_array_equal(read_image(tmp_path / "crop.tif", ReadOptions(t=t)), crop)


# ome-zarr's writer passes its own deprecated Scaler default even with scale_factors given.
@pytest.mark.filterwarnings("ignore:Call to deprecated class Scaler:DeprecationWarning")
def test_ome_zarr_time_series(tmp_path):
    import zarr
    from ome_zarr.writer import write_image

    tczyx = TZCYX.transpose(0, 2, 1, 3, 4)
    store = tmp_path / "plate_7.ome.zarr"
    write_image(
        tczyx,
        zarr.open_group(str(store), mode="w"),
        axes="tczyx",
        scale_factors=(),
        omero={
            "channels": [
                {"label": n, "color": "FFFFFF", "window": {"start": 0, "end": 1, "min": 0, "max": 65535}}
                for n in NAMES
            ]
        },
    )
    assert time_points(store) == 3
    with pytest.raises(ImageReadError) as info:
        read_image(store)
    assert "time series of 3 time points" in _one_line(info, store)
    np.testing.assert_array_equal(read_image(store, ReadOptions(t=1)), _expected(1))
    with pytest.raises(ImageReadError) as info:
        read_image(store, ReadOptions(t=7))
    assert "past the last time point (2)" in _one_line(info, store)
    records = list_images(tmp_path, read=ReadOptions(t="split", channels=("GFP",)))
    assert [r.name for r in records] == ["plate_7__t0", "plate_7__t1", "plate_7__t2"]
    for rec, data, err in iter_images(records, ReadOptions(t="split", channels=("GFP",))):
        assert err is None and data is not None
        np.testing.assert_array_equal(data.pixels[:, :, 0], TZCYX[rec.t].max(axis=0)[1])


def test_crop_split_fields_names_crops_after_the_time_point(tmp_path, capsys):
    from test_images_detection import _field

    from corrclust.cli import main

    img, truth = _field()
    fields = tmp_path / "fields"
    fields.mkdir()
    # time point 0: the field; time point 1: the field mirrored left-right
    _ome(fields / "well.ome.tif", np.stack([img, img[:, ::-1]]), "TYX", names=None)
    out = tmp_path / "crops"
    code = main(["images", "crop", str(fields), "-o", str(out), "--t", "split", "--no-progress"])
    assert code == 0, capsys.readouterr().err
    with open(out / "crops.csv") as fh:
        rows = list(csv.DictReader(fh))
    per_t = {t: [r for r in rows if r["t"] == t] for t in ("0", "1")}
    assert len(per_t["0"]) == len(per_t["1"]) == len(truth)
    assert [r["crop"] for r in rows] == [
        f"well__t{r['t']}__{k}.tif" for k, r in enumerate(rows)
    ]  # <stem>__t<time point>__<crop number>, numbered over the folder
    for r in rows:
        x1, y1, x2, y2 = (int(r[k]) for k in ("x1", "y1", "x2", "y2"))
        source = img if r["t"] == "0" else img[:, ::-1]
        np.testing.assert_array_equal(read_image(out / r["crop"])[:, :, 0], source[y1:y2, x1:x2])
    # the crops list as <field>__<k>: id k, their field (with its time point) as source
    crops = list_images(out)
    assert [r.source for r in crops] == [f"well__t{r['t']}" for r in rows]
    assert [r.id for r in crops] == list(range(len(rows)))
    # refused by default, with the option named
    code = main(["images", "crop", str(fields), "-o", str(tmp_path / "x"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and "well.ome.tif" in err and "--t split" in err


def test_cluster_split_time_series_end_to_end(tmp_path):
    """corrclust cluster --t split in a subprocess: six synthetic organoids stored as two OME-TIFF time
    series (Z-stacks, named channels) cluster as the six flat images do."""
    from corrclust.images import synthetic

    flat = tmp_path / "flat"
    synthetic.generate(flat, classes=2, per_class=3, seed=5, size=72)
    series = tmp_path / "series"
    series.mkdir()
    names = ["DAPI", "GFP", "unused", "membrane"]
    for c in (1, 2):
        imgs = [read_image(flat / f"organoid_{c * 100 + k}.tif") for k in range(3)]
        masks = [read_image(flat / f"organoid_{c * 100 + k}_mask.tif")[:, :, 0] for k in range(3)]
        tzcyx = np.zeros((3, 2, 4, 72, 72), np.uint16)
        for k, im in enumerate(imgs):
            tzcyx[k, 1] = np.moveaxis(im, -1, 0)  # plane 0 blank, plane 1 the organoid
        _ome(series / f"ts_{c}00.ome.tif", tzcyx, "TZCYX", names=names)
        mask_file = series / f"ts_{c}00_mask.tif"  # the mask of ts_100.ome.tif, one plane per time point
        tifffile.imwrite(
            mask_file, np.stack(masks), ome=True, photometric="minisblack", metadata={"axes": "TYX"}
        )
        for k in range(3):
            np.testing.assert_array_equal(read_mask(mask_file, ReadOptions(t=k)), masks[k] > 0)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "corrclust", *args, "--no-progress", "--no-sweep"],
            capture_output=True,
            text=True,
            env=dict(os.environ),
            timeout=600,
        )

    ref = run("cluster", str(flat), "-o", str(tmp_path / "ref"))
    assert ref.returncode == 0, ref.stderr
    refused = run("cluster", str(series), "-o", str(tmp_path / "refused"))
    assert refused.returncode != 0 and "ts_100.ome.tif" in refused.stderr and "--t split" in refused.stderr
    got = run(
        "cluster", str(series), "-o", str(tmp_path / "out"), "--t", "split", "--channels", "DAPI,GFP,membrane"
    )
    assert got.returncode == 0, got.stderr
    with open(tmp_path / "ref" / "clusters.csv") as fh:
        a = {int(r["id"]): int(r["cluster"]) for r in csv.DictReader(fh)}
    with open(tmp_path / "out" / "clusters.csv") as fh:
        rows = list(csv.DictReader(fh))
    # ids: file id * 10 + t (T = 3 < 10), so id // 10 + id % 10 is the flat organoid's id
    assert sorted(int(r["id"]) for r in rows) == [1000, 1001, 1002, 2000, 2001, 2002]
    assert {int(r["id"]) // 10 + int(r["id"]) % 10: int(r["cluster"]) for r in rows} == a
    assert {r["name"]: r["t"] for r in rows} == {f"ts_{c}00__t{k}": str(k) for c in (1, 2) for k in range(3)}
    # images keypoints --t split: the key points of each time point are those of its flat image
    from corrclust.cli import main
    from corrclust.pqap.io import read_keypoints

    kp_flat, kp_split = tmp_path / "flat.csv", tmp_path / "split.csv"
    assert main(["images", "keypoints", str(flat), "-o", str(kp_flat), "--no-progress"]) == 0
    args = ["images", "keypoints", str(series), "-o", str(kp_split), "--no-progress", "--t", "split"]
    assert main(args + ["--channels", "DAPI,GFP,membrane"]) == 0
    a, b = read_keypoints(kp_flat), read_keypoints(kp_split)
    assert b.ids == [1000, 1001, 1002, 2000, 2001, 2002]
    for i in b.ids:
        np.testing.assert_array_equal(b.features[i], a.features[i // 10 + i % 10])
