"""The image reader on real files of every supported kind, written here and read back.

tifffile writes compressed TIFFs (through imagecodecs), OME-TIFF and ImageJ hyperstacks; ome-zarr
writes OME-Zarr; pylibCZIrw (installed with bioio-czi) writes CZI. ND2 and LIF have no writer in
Python, so only their missing-plugin message is tested.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile

from corrclust.images.io import (
    ImageReadError,
    ImageRecord,
    PixelSizeCheck,
    ReadOptions,
    image_stem,
    iter_images,
    list_images,
    mask_path,
    organoid_id,
    parse_channels,
    parse_name,
    read_image,
    read_image_data,
    read_mask,
)

RNG = np.random.default_rng(7)
# T=2, C=3, Z=5, Y=24, X=32, 16-bit: every plane different so order mistakes show.
STACK = RNG.integers(0, 4000, size=(2, 3, 5, 24, 32), dtype=np.uint16)
NAMES = ["DAPI", "GFP", "RFP"]


def _ome(path: Path, data: np.ndarray, axes: str, size: float = 0.65, names=NAMES) -> Path:
    tifffile.imwrite(
        path,
        data,
        ome=True,
        metadata={
            "axes": axes,
            "Channel": {"Name": names},
            "PhysicalSizeX": size,
            "PhysicalSizeY": size,
            "PhysicalSizeXUnit": "µm",
            "PhysicalSizeYUnit": "µm",
        },
    )
    return path


@pytest.mark.parametrize("compression", ["lzw", "zlib", "deflate", "zstd", "packbits", "lzma", "jpeg2000"])
def test_lossless_compressions_round_trip(tmp_path, compression):
    img = STACK[0, :, 0].transpose(1, 2, 0)  # (24, 32, 3) uint16
    path = tmp_path / f"c_{compression}.tif"
    tifffile.imwrite(path, img, compression=compression, photometric="minisblack", planarconfig="contig")
    out = read_image(path)
    assert out.dtype == np.uint16 and out.shape == (24, 32, 3)
    np.testing.assert_array_equal(out, img)


def test_jpeg_in_tiff(tmp_path):
    y, x = np.mgrid[0:64, 0:80]
    rgb = np.stack([(x * 3) % 256, (y * 4) % 256, np.full_like(x, 128)], axis=-1).astype(np.uint8)
    tifffile.imwrite(tmp_path / "j.tif", rgb, compression="jpeg", photometric="rgb")
    out = read_image(tmp_path / "j.tif")
    assert out.shape == (64, 80, 3) and out.dtype == np.uint8
    # JPEG is lossy: close on average, not exact.
    assert np.abs(out.astype(int) - rgb).mean() < 4.0


def test_truncated_compressed_tiffs_give_one_line_naming_the_file(tmp_path):
    y, x = np.mgrid[0:256, 0:256]
    gray = ((x + y) % 4096).astype(np.uint16)
    rgb = np.stack([(x % 256), (y % 256), ((x + y) % 256)], -1).astype(np.uint8)
    for compression, img, photometric in (
        ("lzw", gray, "minisblack"),
        ("zstd", gray, "minisblack"),
        ("jpeg", rgb, "rgb"),
        (None, gray, "minisblack"),
    ):
        whole = tmp_path / f"whole_{compression}.tif"
        tifffile.imwrite(whole, img, compression=compression, photometric=photometric, rowsperstrip=64)
        data = whole.read_bytes()
        for frac in (0.5, 0.97):
            cut = tmp_path / f"cut_{compression}_{frac}.tif"
            cut.write_bytes(data[: int(len(data) * frac)])
            with pytest.raises(ImageReadError) as info:
                read_image(cut)
            message = str(info.value)
            assert cut.name in message and "\n" not in message
            assert "truncated" in message or "corrupt" in message


def test_ome_tiff_metadata_time_and_z(tmp_path):
    path = _ome(tmp_path / "stack_7.ome.tif", STACK, "TCZYX")
    with pytest.raises(ImageReadError, match=r"time series of 2 time points.*--t"):
        read_image(path)
    for t in (0, 1):
        data = read_image_data(path, ReadOptions(t=t))
        assert data.pixels.shape == (24, 32, 3) and data.pixels.dtype == np.uint16
        assert data.channel_names == tuple(NAMES)
        assert data.pixel_size == pytest.approx(0.65) and data.z_planes == 5
        np.testing.assert_array_equal(data.pixels, STACK[t].max(axis=1).transpose(1, 2, 0))
    with pytest.raises(ImageReadError, match="past the last time point"):
        read_image(path, ReadOptions(t=2))
    assert organoid_id(path) == 7 and image_stem(path) == "stack_7"
    assert mask_path(path) == tmp_path / "stack_7_mask.tif"


@pytest.mark.parametrize("how", ["max", "mean", "sum", "middle"])
def test_z_projections(tmp_path, how):
    zcyx = STACK[0].transpose(1, 0, 2, 3)  # Z, C, Y, X
    path = _ome(tmp_path / "z.ome.tiff", zcyx, "ZCYX")
    out = read_image(path, ReadOptions(z_project=how))
    s = zcyx.astype(np.float64)
    expected = {"max": s.max(0), "mean": np.rint(s.mean(0)), "sum": s.sum(0), "middle": s[2]}[how]
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, expected.transpose(1, 2, 0).astype(np.uint16))


def test_channel_first_and_last_from_metadata_not_shape(tmp_path):
    # 3 channels of 4 x 5 pixels: the shape rule alone would take the channel axis for Y.
    cyx = RNG.integers(0, 255, size=(3, 4, 5), dtype=np.uint8)
    _ome(tmp_path / "cf.ome.tif", cyx, "CYX")
    np.testing.assert_array_equal(read_image(tmp_path / "cf.ome.tif"), cyx.transpose(1, 2, 0))
    yxc = np.ascontiguousarray(cyx.transpose(1, 2, 0))
    tifffile.imwrite(tmp_path / "cl.tif", yxc, photometric="rgb")
    np.testing.assert_array_equal(read_image(tmp_path / "cl.tif"), yxc)


def test_imagej_hyperstack_and_resolution_tags(tmp_path):
    zcyx = STACK[0].transpose(1, 0, 2, 3)
    tifffile.imwrite(
        tmp_path / "ij.tif",
        zcyx,
        imagej=True,
        resolution=(1 / 0.5, 1 / 0.5),
        metadata={"axes": "ZCYX", "unit": "um"},
    )
    data = read_image_data(tmp_path / "ij.tif", ReadOptions(z_project="middle"))
    np.testing.assert_array_equal(data.pixels, zcyx[2].transpose(1, 2, 0))
    assert data.pixel_size == pytest.approx(0.5)
    tifffile.imwrite(
        tmp_path / "cm.tif",
        zcyx[0, 0],
        resolution=(10000 / 0.325, 10000 / 0.325),
        resolutionunit="CENTIMETER",
    )
    assert read_image_data(tmp_path / "cm.tif").pixel_size == pytest.approx(0.325)
    tifffile.imwrite(tmp_path / "none.tif", zcyx[0, 0])
    assert read_image_data(tmp_path / "none.tif").pixel_size is None


def test_channel_selection_by_index_name_and_blank(tmp_path):
    path = _ome(tmp_path / "c.ome.tif", STACK[0, :, 0], "CYX")
    planes = STACK[0, :, 0]
    out = read_image(path, ReadOptions(channels=("rfp", 0, None)))
    np.testing.assert_array_equal(out[:, :, 0], planes[2])
    np.testing.assert_array_equal(out[:, :, 1], planes[0])
    assert not out[:, :, 2].any()
    data = read_image_data(path, ReadOptions(channels=("GFP",)))
    assert data.channel_names == ("GFP",) and data.pixels.shape == (24, 32, 1)
    with pytest.raises(ImageReadError, match=r"no channel named 'Cy5'.*'DAPI', 'GFP', 'RFP'"):
        read_image(path, ReadOptions(channels=("Cy5",)))
    with pytest.raises(ImageReadError, match=r"channel 3 requested, the image has 3 channel\(s\)"):
        read_image(path, ReadOptions(channels=(3,)))
    # A mask ignores the channel selection.
    tifffile.imwrite(tmp_path / "c_mask.tif", (planes[0] > 2000).astype(np.uint8) * 255)
    m = read_mask(tmp_path / "c_mask.tif", ReadOptions(channels=(2,)))
    np.testing.assert_array_equal(m, planes[0] > 2000)


def test_parse_channels_spellings():
    assert parse_channels("0,1,3") == (0, 1, 3)
    assert parse_channels("-,-,0") == (None, None, 0)
    assert parse_channels("DAPI,-,RFP") == ("DAPI", None, "RFP")
    assert parse_channels(",1,") == (None, 1, None)
    with pytest.raises(ValueError, match="selects no plane"):
        parse_channels("-,-,-")
    with pytest.raises(ValueError, match="negative"):
        parse_channels("0,-1")


# ome-zarr's writer passes its own deprecated Scaler default even with scale_factors given.
@pytest.mark.filterwarnings("ignore:Call to deprecated class Scaler:DeprecationWarning")
def test_ome_zarr_metadata_and_pixels(tmp_path):
    import zarr
    from ome_zarr.writer import write_image

    czyx = STACK[1]
    store = tmp_path / "well_12.ome.zarr"
    write_image(
        czyx,
        zarr.open_group(str(store), mode="w"),
        axes="czyx",
        scale_factors=(),
        scale={"c": 1.0, "z": 2.0, "y": 0.4, "x": 0.4},
        axes_units={"z": "micrometer", "y": "micrometer", "x": "micrometer"},
        omero={
            "channels": [
                {"label": n, "color": "FFFFFF", "window": {"start": 0, "end": 4000, "min": 0, "max": 65535}}
                for n in NAMES
            ]
        },
    )
    data = read_image_data(store, ReadOptions(z_project="mean"))
    np.testing.assert_array_equal(
        data.pixels, np.rint(czyx.mean(axis=1)).astype(np.uint16).transpose(1, 2, 0)
    )
    assert data.channel_names == tuple(NAMES) and data.pixel_size == pytest.approx(0.4)
    assert data.axes == "CZYX" and data.z_planes == 5
    out = read_image(store, ReadOptions(channels=("GFP",), z_project="middle"))
    np.testing.assert_array_equal(out[:, :, 0], czyx[1, 2])
    # A .zarr folder is an image (not a class folder) and its id comes from the name.
    (tmp_path / "notes.txt").write_text("x")
    recs = list_images(tmp_path)
    assert [(r.id, r.path.name) for r in recs] == [(12, "well_12.ome.zarr")]
    empty = tmp_path / "other" / "e.zarr"
    empty.mkdir(parents=True)
    with pytest.raises(ImageReadError, match="e.zarr"):
        read_image(empty)


def test_czi_through_bioio(tmp_path):
    pytest.importorskip("bioio_czi", reason="the formats extra (bioio-czi) is not installed")
    from pylibCZIrw import czi

    czyx = STACK[0, :2, :3]
    path = tmp_path / "field_3.czi"
    with czi.create_czi(str(path), exist_ok=True) as f:
        for c in range(2):
            for z in range(3):
                f.write(czyx[c, z][:, :, None], plane={"C": c, "Z": z, "T": 0})
        f.write_metadata(
            document_name="t",
            channel_names={0: "DAPI", 1: "GFP"},
            scale_x=0.65e-6,
            scale_y=0.65e-6,
            scale_z=2e-6,
        )
    data = read_image_data(path, ReadOptions(z_project="max"))
    np.testing.assert_array_equal(data.pixels, czyx.max(axis=1).transpose(1, 2, 0))
    assert data.channel_names == ("DAPI", "GFP") and data.pixel_size == pytest.approx(0.65)
    assert organoid_id(path) == 3
    bad = tmp_path / "bad.czi"
    bad.write_bytes(b"ZISRAWFILE" + bytes(100))
    with pytest.raises(ImageReadError, match=r"bad.czi.*not a readable CZI file") as info:
        read_image(bad)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "suffix,plugin", [(".czi", "bioio_czi"), (".nd2", "bioio_nd2"), (".lif", "bioio_lif")]
)
def test_vendor_format_without_the_extra_names_it(tmp_path, monkeypatch, suffix, plugin):
    monkeypatch.setitem(sys.modules, plugin, None)  # makes `import plugin` fail as if not installed
    path = tmp_path / f"x{suffix}"
    path.write_bytes(b"\0" * 64)
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    message = str(info.value)
    assert "corrclust[formats]" in message and plugin.replace("_", "-") in message and "x" + suffix in message


def test_pixel_size_resampling_and_mixed_sizes(tmp_path):
    img = np.zeros((40, 40), np.uint16)
    img[10:30, 10:30] = 1000
    _ome(tmp_path / "a.ome.tif", img[None], "CYX", size=0.5, names=["x"])
    _ome(tmp_path / "b.ome.tif", img[None], "CYX", size=1.0, names=["x"])
    recs = [ImageRecord(tmp_path / "a.ome.tif", 0), ImageRecord(tmp_path / "b.ome.tif", 1)]
    with pytest.raises(ValueError, match=r"mixed pixel sizes: .*a.ome.tif has 0.5 µm, .*b.ome.tif has 1 µm"):
        list(iter_images(recs))
    out = {r.id: d for r, d, _ in iter_images(recs, ReadOptions(pixel_size=1.0))}
    assert out[0].pixels.shape == (20, 20, 1) and out[1].pixels.shape == (40, 40, 1)
    assert out[0].pixel_size == 1.0
    # The 20 x 20 square of 0.5 µm pixels is 10 x 10 pixels of 1 µm.
    assert int((out[0].pixels[:, :, 0] > 500).sum()) == 100
    # A file without a pixel size cannot be resampled.
    tifffile.imwrite(tmp_path / "c.tif", img)
    with pytest.raises(ImageReadError, match="gives no pixel size"):
        read_image(tmp_path / "c.tif", ReadOptions(pixel_size=1.0))
    check = PixelSizeCheck()
    check.add(read_image_data(tmp_path / "c.tif"))  # unknown sizes never conflict
    check.add(read_image_data(tmp_path / "a.ome.tif"))


def test_ids_for_every_extension_and_crop_names(tmp_path):
    for name in ("a_101.ome.tif", "a_102.ome.tiff", "a_103.TIFF", "a_104.png"):
        p = tmp_path / name
        if name.endswith(".png"):
            from PIL import Image

            Image.fromarray(np.zeros((4, 4), np.uint8)).save(p)
        else:
            tifffile.imwrite(p, np.zeros((4, 4), np.uint8))
    tifffile.imwrite(tmp_path / "a_101_mask.ome.tif", np.zeros((4, 4), np.uint8))
    recs = list_images(tmp_path)
    assert [(r.id, r.label) for r in recs] == [(101, "1"), (102, "1"), (103, "1"), (104, "1")]
    crops = tmp_path / "crops"
    crops.mkdir()
    for k, field in ((0, "Subset_1_001"), (1, "Subset_1_001"), (2, "r02c03f01p01-ch1sk1fk1fl1")):
        tifffile.imwrite(crops / f"{field}__{k}.tif", np.zeros((4, 4), np.uint8))
    recs = list_images(crops)
    assert [(r.id, r.label, r.source, r.well) for r in recs] == [
        (0, None, "Subset_1_001", None),
        (1, None, "Subset_1_001", None),
        (2, None, "r02c03f01p01-ch1sk1fk1fl1", "B03"),
    ]


def test_plate_well_site_from_names():
    assert parse_name("r02c03f01p01-ch1sk1fk1fl1.tiff") == {"well": "B03", "site": "1"}
    assert parse_name("r16c24f12p03-ch2sk1fk1fl1.tiff") == {"well": "P24", "site": "12"}
    assert parse_name("Plate1_B03_s2_w1.tif") == {"plate": "Plate1", "well": "B03", "site": "2"}
    assert parse_name("MyPlate_H12_s1_w2A1B2C3D4-0000-1111-2222-333344445555.tif") == {
        "plate": "MyPlate",
        "well": "H12",
        "site": "1",
    }
    assert parse_name("Subset_1_450x450_001.jpg") == {}
    assert parse_name("organoid_1203.tif") == {}
    pattern = r"^(?P<plate>P\d+)-(?P<well>[A-H]\d+)-site(?P<site>\d+)"
    assert parse_name("P7-C5-site03_12.tif", pattern) == {"plate": "P7", "well": "C05", "site": "3"}
    with pytest.raises(ValueError, match="needs a named group 'well'"):
        parse_name("x.tif", r"(?P<plate>\w+)")
    with pytest.raises(ValueError, match="not a regular expression"):
        parse_name("x.tif", r"(?P<well>")


def test_ids_table_carries_wells(tmp_path):
    tifffile.imwrite(tmp_path / "x.tif", np.zeros((4, 4), np.uint8))
    (tmp_path / "ids.csv").write_text("file,id,well,site\nx.tif,5,C07,2\n")
    assert list_images(tmp_path, tmp_path / "ids.csv") == [
        ImageRecord(tmp_path / "x.tif", 5, well="C07", site="2")
    ]


def test_stack_without_axes_is_refused_with_the_fix_and_with_axes_is_projected(tmp_path):
    zcyx = STACK[0].transpose(1, 0, 2, 3)[:, :2]  # (5, 2, 24, 32)
    tifffile.imwrite(tmp_path / "bare.tif", zcyx)  # tifffile stores no axes for this
    with pytest.raises(
        ImageReadError, match=r"bare.tif.*4-D image of shape \(5, 2, 24, 32\).*'axes': 'ZCYX'"
    ):
        read_image(tmp_path / "bare.tif")
    tifffile.imwrite(tmp_path / "axes.tif", zcyx, metadata={"axes": "ZCYX"})
    np.testing.assert_array_equal(read_image(tmp_path / "axes.tif"), zcyx.max(axis=0).transpose(1, 2, 0))


def test_z_sum_saturates_at_uint16_with_a_warning(tmp_path):
    zyx = np.full((3, 8, 8), 30000, np.uint16)
    zyx[:, 0, 0] = 100
    tifffile.imwrite(tmp_path / "s.tif", zyx, metadata={"axes": "ZYX"}, photometric="minisblack")
    with pytest.warns(UserWarning, match=r"s.tif: the Z sum exceeds 65535 and saturates"):
        out = read_image(tmp_path / "s.tif", ReadOptions(z_project="sum"))
    assert out.dtype == np.uint16 and out[0, 0, 0] == 300 and out[1, 1, 0] == 65535
    u8 = (zyx // 200).astype(np.uint8)  # 150 per plane: the sum (450) fits uint16
    tifffile.imwrite(tmp_path / "b.tif", u8, metadata={"axes": "ZYX"}, photometric="minisblack")
    out = read_image(tmp_path / "b.tif", ReadOptions(z_project="sum"))
    assert out.dtype == np.uint16 and out[1, 1, 0] == 450


def test_ome_tiff_with_several_series_is_refused(tmp_path):
    path = tmp_path / "multi.ome.tif"
    with tifffile.TiffWriter(path, ome=True) as tif:
        tif.write(STACK[0, 0, 0], metadata={"axes": "YX"})
        tif.write(STACK[0, 1, 0], metadata={"axes": "YX"})
    with pytest.raises(ImageReadError, match=r"multi.ome.tif.*OME-TIFF with 2 images"):
        read_image(path)
