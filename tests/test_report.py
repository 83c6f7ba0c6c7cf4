"""Report figures (display composites, thumbnails, PNGs) and the static HTML page."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image
from report_helpers import make_report

from corrclust.report import figures, html


def test_display_rgb_colours_each_channel_and_keeps_background_black():
    img = np.zeros((10, 12, 3), dtype=np.uint16)
    img[2:5, 2:5, 0] = np.arange(9, dtype=np.uint16).reshape(3, 3) * 1000 + 100  # red only
    img[6:9, 6:9, 1] = 60000  # green only, flat foreground
    rgb = figures.display_rgb(img)
    assert rgb.shape == (10, 12, 3) and rgb.dtype == np.float32
    assert rgb.min() >= 0.0 and rgb.max() <= 1.0
    assert np.all(rgb[0, 0] == 0)  # masked background stays black
    red = rgb[2:5, 2:5]
    assert np.all(red[:, :, 1:] == 0) and red[:, :, 0].max() == pytest.approx(1.0)
    # Percentile stretch: the dimmest foreground pixel maps to ~0, the brightest to 1.
    assert red[0, 0, 0] < 0.05
    # A flat channel is shown at full brightness, not black.
    np.testing.assert_array_equal(rgb[6:9, 6:9], np.broadcast_to([0, 1, 0], (3, 3, 3)))


def test_display_rgb_gray_and_many_channels():
    g = np.arange(20, dtype=np.uint8).reshape(4, 5)
    rgb = figures.display_rgb(g)
    np.testing.assert_array_equal(rgb[:, :, 0], rgb[:, :, 1])
    four = np.zeros((4, 4, 4), dtype=np.uint16)
    four[1, 1, 3] = 5  # channel 3 is magenta in the composite
    np.testing.assert_array_equal(figures.display_rgb(four)[1, 1], [1, 0, 1])
    with pytest.raises(ValueError, match="shape"):
        figures.display_rgb(np.zeros((0, 4, 1)))


def test_thumbnail_pads_to_square_and_scales():
    img = np.full((40, 80, 1), 1000, dtype=np.uint16)
    t = figures.thumbnail(img, 32)
    assert t.shape == (32, 32, 3) and t.dtype == np.uint8
    # The 40 x 80 image sits in the middle rows of the 80 x 80 square: top and bottom rows are padding.
    assert t[0].max() == 0 and t[-1].max() == 0 and t[16].min() == 255


def _png_size(path):
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        return im.size


def test_figures_write_valid_pngs(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.array([1, 1, 2, 2, 2, 3])
    S = rng.random((6, 6))
    figures.similarity_matrix(S, labels, tmp_path / "s.png", truth=np.array([0, 0, 1, 1, 2, 2]))
    figures.similarity_matrix(S, labels, tmp_path / "s2.png")
    figures.cluster_sizes(labels, tmp_path / "sizes.png", truth=np.array([0, 0, 1, 1, 2, 2]))
    figures.vi_split([("all", 0.1, 0.2), ("test", 0.0, 0.3)], tmp_path / "vi.png")
    figures.sweep(
        np.linspace(0, 1, 5),
        {"vi": np.arange(5.0)},
        tmp_path / "sw.png",
        xlabel="threshold",
        chosen=0.5,
        clusters=np.arange(5),
    )
    thumbs = [figures.thumbnail(rng.integers(0, 65535, (20, 30, 3), dtype=np.uint16), 24) for _ in range(3)]
    figures.montage(thumbs, ["a", "b", "c"], tmp_path / "m", title="cluster 1")  # no extension: explicit PNG
    for name in ("s.png", "s2.png", "sizes.png", "vi.png", "sw.png", "m"):
        w, h = _png_size(tmp_path / name)
        assert w > 50 and h > 50, name
    with pytest.raises(ValueError, match="captions"):
        figures.montage(thumbs, ["a"], tmp_path / "bad.png")
    with pytest.raises(ValueError, match="shape"):
        figures.similarity_matrix(S, labels[:3], tmp_path / "bad.png")


def test_html_escapes_user_text_and_refuses_outside_links():
    sec = html.Section("Files <1>", anchor="f")
    sec.add(html.table(["name", "n"], [["<script>alert(1)</script>", 3], ["a&b", 0.5]]))
    sec.add(html.definition_list([("folder", '"/data/<x>"')]))
    page = html.page("t <b>", "sub", [sec])
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "a&amp;b" in page and "0.5000" in page and "Files &lt;1&gt;" in page
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    for bad in ("/abs/x.png", "../x.png", "http://example.org/x.png"):
        with pytest.raises(ValueError, match="relative"):
            html.figure(bad, "x")
    assert 'src="figures/a%20b.png"' not in html.figure("figures/a b.png", "x")  # kept as written, escaped


def test_pipeline_page_loads_nothing_from_outside(report_dir):
    page = (report_dir / "report.html").read_text()
    refs = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert refs, "the page links its figures"
    for ref in refs:
        assert not re.match(r"^[a-z]+:", ref) and not ref.startswith("/"), ref
        if not ref.startswith("#"):
            assert (report_dir / ref).is_file(), ref
    assert "<script" not in page and "<link" not in page and "@import" not in page and "url(" not in page
    # Every figure file of the run is on the page.
    for png in (report_dir / "figures").glob("*.png"):
        assert f'src="figures/{png.name}"' in page


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    return make_report(tmp_path_factory.mktemp("report"))


def test_class_colours_are_distinct_and_unknown_is_grey():
    c = figures.class_colours(np.array([0, 1, 2, 3, -1]))
    assert len({tuple(x) for x in c[:4]}) == 4
    np.testing.assert_allclose(c[4], (0.85, 0.85, 0.85, 1.0))
    assert len({tuple(x) for x in figures.class_colours(np.arange(15))}) == 15
