"""Image IO: layouts, dtypes, channel order, ids, folders with bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from conftest import require_shared
from PIL import Image

from corrclust.images.io import (
    ImageReadError,
    ImageRecord,
    list_images,
    mask_path,
    organoid_id,
    read_image,
    read_mask,
    scan_images,
)


def _planes(h=20, w=30, c=4, dtype=np.uint16):
    rng = np.random.default_rng(1)
    return rng.integers(0, np.iinfo(dtype).max, size=(h, w, c), dtype=dtype)


def test_tiff_channel_last_16bit(tmp_path):
    img = _planes()
    tifffile.imwrite(tmp_path / "a_101.tif", img)
    out = read_image(tmp_path / "a_101.tif")
    assert out.dtype == np.uint16 and out.shape == (20, 30, 4)
    np.testing.assert_array_equal(out, img)


def test_tiff_channel_first_is_moved_last(tmp_path):
    img = _planes()
    # Written without metadata so only the shape rule can decide.
    cf = np.moveaxis(img, -1, 0)
    tifffile.imwrite(tmp_path / "cf.tif", cf, metadata=None, photometric="minisblack")
    out = read_image(tmp_path / "cf.tif")
    np.testing.assert_array_equal(out, img)
    tifffile.imwrite(tmp_path / "cf_meta.tif", cf, metadata={"axes": "CYX"}, photometric="minisblack")
    np.testing.assert_array_equal(read_image(tmp_path / "cf_meta.tif"), img)


def test_tiff_8bit_gray(tmp_path):
    img = _planes(c=1, dtype=np.uint8)[:, :, 0]
    tifffile.imwrite(tmp_path / "g.tiff", img)
    out = read_image(tmp_path / "g.tiff")
    assert out.dtype == np.uint8 and out.shape == (20, 30, 1)
    np.testing.assert_array_equal(out[:, :, 0], img)


def test_png_16bit_and_rgb_jpeg(tmp_path):
    img16 = _planes(c=1)[:, :, 0]
    Image.fromarray(img16).save(tmp_path / "x.png")
    out = read_image(tmp_path / "x.png")
    assert out.dtype == np.uint16 and out.shape == (20, 30, 1)
    np.testing.assert_array_equal(out[:, :, 0], img16)

    rgb = np.zeros((16, 24, 3), np.uint8)
    rgb[..., 0] = 200
    Image.fromarray(rgb).save(tmp_path / "y.jpg", quality=95)
    out = read_image(tmp_path / "y.jpg")
    assert out.dtype == np.uint8 and out.shape == (16, 24, 3)
    assert abs(int(out[8, 12, 0]) - 200) <= 3 and out[8, 12, 1] < 10


def test_alpha_and_cmyk_are_not_channels(tmp_path):
    """Opaque RGBA and LA PNGs and TIFFs lose their alpha plane and CMYK JPEGs become RGB: as 4 planes
    they made the default route PQAP, with the alpha as the membrane channel. An alpha that varies
    stays a channel (Pillow, imageio and tifffile save any 4-plane array as RGBA)."""
    from corrclust.pipeline.routes import default_route

    rgb = _planes(c=3, dtype=np.uint8)
    Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])).save(tmp_path / "a_1.png")
    np.testing.assert_array_equal(read_image(tmp_path / "a_1.png"), rgb)
    grey = rgb[:, :, 0]
    Image.fromarray(grey).convert("LA").save(tmp_path / "a_2.png")
    np.testing.assert_array_equal(read_image(tmp_path / "a_2.png")[:, :, 0], grey)
    assert read_image(tmp_path / "a_2.png").shape == (20, 30, 1)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "a_3.jpg", quality=100)
    out = read_image(tmp_path / "a_3.jpg")
    assert out.shape == (20, 30, 3) and np.abs(out.astype(int) - rgb).max() <= 8  # JPEG loss (1 here)
    # TIFF: extra samples marked as alpha are dropped (interleaved or planar); unspecified ones stay
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    tifffile.imwrite(tmp_path / "a_4.tif", rgba, photometric="rgb", extrasamples=["unassalpha"])
    np.testing.assert_array_equal(read_image(tmp_path / "a_4.tif"), rgb)
    planar = np.moveaxis(rgba, -1, 0)
    tifffile.imwrite(
        tmp_path / "a_5.tif", planar, photometric="rgb", planarconfig="separate", extrasamples=["assocalpha"]
    )
    np.testing.assert_array_equal(read_image(tmp_path / "a_5.tif"), rgb)
    tifffile.imwrite(tmp_path / "a_6.tif", rgba, photometric="rgb", extrasamples=["unspecified"])
    np.testing.assert_array_equal(read_image(tmp_path / "a_6.tif"), rgba)
    assert default_route([tmp_path / "a_1.png", tmp_path / "a_3.jpg", tmp_path / "a_4.tif"]) == "profile"
    four = _planes(c=4, dtype=np.uint8)  # four channels of data, the 4th saved as "alpha"
    Image.fromarray(four).save(tmp_path / "a_7.png")
    np.testing.assert_array_equal(read_image(tmp_path / "a_7.png"), four)
    tifffile.imwrite(tmp_path / "a_8.tif", four, photometric="rgb", extrasamples=["unassalpha"])
    np.testing.assert_array_equal(read_image(tmp_path / "a_8.tif"), four)


def test_corrupt_and_missing_files_name_the_file(tmp_path):
    bad = tmp_path / "broken_3.tif"
    bad.write_bytes(b"II*\x00garbage")
    with pytest.raises(ImageReadError, match="broken_3.tif"):
        read_image(bad)
    with pytest.raises(ValueError, match="nothere.png"):
        read_image(tmp_path / "nothere.png")
    (tmp_path / "t.jpg").write_bytes(b"\xff\xd8\xff not really")
    with pytest.raises(ImageReadError, match="t.jpg"):
        read_image(tmp_path / "t.jpg")
    (tmp_path / "x.bmp").write_bytes(b"BM")
    with pytest.raises(ImageReadError, match="unsupported file type"):
        read_image(tmp_path / "x.bmp")


def test_a_link_to_a_missing_file_is_listed_and_named(tmp_path):
    """A dangling symbolic link was left out of the folder without a word, where a corrupt file is
    named and skipped (audit qa16); links to files are read as the files."""
    tifffile.imwrite(tmp_path / "real.tif", np.full((16, 16), 9, np.uint8))
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "a_1.tif").symlink_to(tmp_path / "real.tif")
    (folder / "a_2.tif").symlink_to(tmp_path / "gone.tif")
    assert [r.id for r in list_images(folder)] == [1, 2]
    scan = scan_images(folder)
    assert [r.id for r in scan.records] == [1]
    assert len(scan.failures) == 1 and scan.failures[0][0] == folder / "a_2.tif"
    assert scan.failures[0][1].endswith(
        f"a_2.tif: a symbolic link to a missing file ({tmp_path / 'gone.tif'})"
    )


def test_unsupported_dtype(tmp_path):
    tifffile.imwrite(tmp_path / "f.tif", np.zeros((8, 8), np.int32))
    with pytest.raises(ImageReadError, match="int32"):
        read_image(tmp_path / "f.tif")


def test_float_tiff_scaled_by_its_top_value(tmp_path):
    """A float image is one scale per image to uint16, zero kept at zero: top -> 65535, negative
    and NaN -> 0, +inf -> 65535 (the maximum is the top below 10,000 values)."""
    a = np.array([[0.0, 0.25, 0.5], [1.0, -0.2, np.nan], [np.inf, -np.inf, 0.75]])
    for dtype in (np.float32, np.float64):
        tifffile.imwrite(tmp_path / "f.tif", a.astype(dtype))
        out = read_image(tmp_path / "f.tif")
        assert out.dtype == np.uint16 and out.shape == (3, 3, 1)
        # 0.25 * 65535 = 16383.75, 0.75 * 65535 = 49151.25
        np.testing.assert_array_equal(out[:, :, 0], [[0, 16384, 32768], [65535, 0, 0], [65535, 0, 49151]])
    # a scale changes nothing: 1,000 x the image reads the same (no offset is subtracted either)
    tifffile.imwrite(tmp_path / "g.tif", (a * 1000).astype(np.float32))
    np.testing.assert_array_equal(read_image(tmp_path / "g.tif"), out)


def test_float_tiff_top_quantile_ignores_hot_pixels(tmp_path):
    """20,000 values 0..19,998 and one hot pixel of 1e9: the top is the 0.9999 quantile (the
    'higher' value, 19,998 at position 19,998 of the sorted values), not the hot pixel."""
    from corrclust.images.io import float_to_uint16

    a = np.append(np.arange(19999, dtype=np.float32), 1e9).reshape(100, 200)
    out = float_to_uint16(a)
    assert out[0, 0] == 0 and out[-1, -2] == 65535 and out[-1, -1] == 65535
    assert out[0, 1] == round(65535 / 19998)  # 3.277 -> 3
    assert out.ravel()[9999] == round(9999 * 65535 / 19998)


def test_float_tiff_all_non_finite_is_one_line(tmp_path):
    tifffile.imwrite(tmp_path / "nan.tif", np.full((4, 4), np.nan, np.float32))
    with pytest.raises(
        ImageReadError, match=r"nan\.tif: no finite pixel value \(every pixel is NaN or infinite\)$"
    ):
        read_image(tmp_path / "nan.tif")


def test_float_z_stack_projects_before_scaling(tmp_path):
    """Float planes are projected as floats (the mean is not rounded to the float's units first)."""
    from corrclust.images.io import ReadOptions

    z = np.array([[[0.125, 0.25]], [[0.375, 0.75]]], np.float32)  # Z=2, Y=1, X=2 (exact in float32)
    tifffile.imwrite(tmp_path / "z.tif", z, metadata={"axes": "ZYX"})
    mean = read_image(tmp_path / "z.tif", ReadOptions(z_project="mean"))
    # 0.25 / 0.5 and 0.5 / 0.5 (32767.5 rounds to even)
    np.testing.assert_array_equal(mean[:, :, 0], [[32768, 65535]])
    top = read_image(tmp_path / "z.tif", ReadOptions(z_project="max"))
    np.testing.assert_array_equal(top[:, :, 0], [[32768, 65535]])  # 0.375 / 0.75 and 0.75 / 0.75
    total = read_image(tmp_path / "z.tif", ReadOptions(z_project="sum"))
    np.testing.assert_array_equal(total[:, :, 0], [[32768, 65535]])


def test_mask_and_ids(tmp_path):
    assert mask_path("/d/org_x_1203.tif") == Path("/d/org_x_1203_mask.tif")
    assert mask_path("rel/a.png") == Path("rel/a_mask.tif")
    assert organoid_id("some/dir/img_2024_1203.tif") == 1203
    assert organoid_id("7.png") == 7
    with pytest.raises(ValueError, match="not an integer"):
        organoid_id("organoid_abc.tif")
    m = np.zeros((10, 12), np.uint8)
    m[2:5, 3:9] = 255
    tifffile.imwrite(tmp_path / "a_mask.tif", m)
    out = read_mask(tmp_path / "a_mask.tif")
    assert out.dtype == bool and out.shape == (10, 12) and out.sum() == 18


def _write(p: Path, value=1):
    p.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(p, np.full((6, 6, 4), value, np.uint16))


def test_list_images_paper_layout(tmp_path):
    for i in (1203, 101, 100):
        _write(tmp_path / f"org_{i}.tif")
        _write(tmp_path / f"org_{i}_mask.tif")
    recs = list_images(tmp_path)
    assert [r.id for r in recs] == [100, 101, 1203]
    assert [r.label for r in recs] == ["1", "1", "12"]
    assert all(r.mask.exists() for r in recs)


def test_list_images_duplicate_and_mixed(tmp_path):
    _write(tmp_path / "a_101.tif")
    _write(tmp_path / "b_101.tif")
    with pytest.raises(ValueError, match="duplicate organoid id 101"):
        list_images(tmp_path)
    (tmp_path / "b_101.tif").unlink()
    _write(tmp_path / "notes.tif")
    with pytest.raises(ValueError, match="notes.tif"):
        list_images(tmp_path)


def test_list_images_class_folders(tmp_path):
    for cls, n in (("spiky", 2), ("round", 3)):
        (tmp_path / cls).mkdir()
        for k in range(n):
            Image.fromarray(np.full((5, 5), k, np.uint8)).save(tmp_path / cls / f"c{k}.png")
    recs = list_images(tmp_path)
    assert [(r.id, r.label, r.path.name) for r in recs] == [
        (100, "round", "c0.png"),
        (101, "round", "c1.png"),
        (102, "round", "c2.png"),
        (200, "spiky", "c0.png"),
        (201, "spiky", "c1.png"),
    ]


def test_list_images_beside_class_folders_warns(tmp_path):
    """Images at the top and a class folder beneath: the folder is not read, and that is said."""
    _write(tmp_path / "org_100.tif")
    _write(tmp_path / "org_101.tif")
    (tmp_path / "more").mkdir()
    _write(tmp_path / "more" / "org_200.tif")
    (tmp_path / "masks").mkdir()
    _write(tmp_path / "masks" / "org_100_mask.tif")  # masks only: not a folder of images
    with pytest.warns(UserWarning) as caught:
        recs = list_images(tmp_path)
    assert [r.id for r in recs] == [100, 101]
    assert [str(w.message) for w in caught] == [
        f"{tmp_path} holds images and also sub-folders with images (more); only the 2 image(s) directly "
        "in it are read (put every image in a class folder, or pass an ids table)"
    ]


def test_ids_table_overrides(tmp_path):
    _write(tmp_path / "x.tif")
    _write(tmp_path / "y.tif")
    (tmp_path / "ids.csv").write_text("file,id,class,subset\ny.tif,7,b,test\nx.tif,9,a,\n")
    recs = list_images(tmp_path, tmp_path / "ids.csv")
    assert recs == [
        ImageRecord(tmp_path / "y.tif", 7, "b", "test"),
        ImageRecord(tmp_path / "x.tif", 9, "a", None),
    ]
    (tmp_path / "bad.csv").write_text("file,id\nx.tif,1\ny.tif,one\n")
    with pytest.raises(ValueError, match=r"bad.csv:3: id 'one' is not an integer"):
        list_images(tmp_path, tmp_path / "bad.csv")
    (tmp_path / "dup.csv").write_text("file,id\nx.tif,1\ny.tif,1\n")
    with pytest.raises(ValueError, match=r"dup.csv:3: id 1 already used on line 2"):
        list_images(tmp_path, tmp_path / "dup.csv")
    (tmp_path / "miss.csv").write_text("file,id\nz.tif,1\n")
    with pytest.raises(ValueError, match=r"miss.csv:2: image file not found"):
        list_images(tmp_path, tmp_path / "miss.csv")


def test_scan_reports_bad_file_and_keeps_the_rest(tmp_path):
    for i in (100, 101, 102):
        _write(tmp_path / f"o_{i}.tif")
    (tmp_path / "o_103.tif").write_bytes(b"not a tiff at all")
    res = scan_images(tmp_path)
    assert [r.id for r in res.records] == [100, 101, 102]
    assert len(res.failures) == 1
    path, msg = res.failures[0]
    assert path.name == "o_103.tif" and "o_103.tif" in msg


def test_real_jpeg_fields_and_rbc():
    field = require_shared("data/organoid-fields/images/Subset_1_450x450_001.jpg")
    img = read_image(field)
    assert img.shape == (450, 450, 3) and img.dtype == np.uint8
    rbc = require_shared("data/rbc-morphology/images/1.jpg")
    img = read_image(rbc)
    assert img.shape == (480, 640, 3) and img.dtype == np.uint8


def test_package_level_names():
    import corrclust.images as ci
    from corrclust.images import synthetic

    assert ci.read_image is read_image
    assert ci.generate_synthetic is synthetic.generate
    assert "extract_keypoints" in dir(ci)
