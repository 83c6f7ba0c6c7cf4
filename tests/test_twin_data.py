"""Twin-network data: preprocessing, sampling, augmentation, folder reading and its errors."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

from corrclust.twin.data import (  # noqa: E402
    PairSampler,
    PKSampler,
    all_pair_targets,
    from_arrays,
    load_folder,
    paper_augment,
    preprocess_image,
    square_pad,
    strong_augment,
    to_unit_chw,
)


def test_scaling_by_bit_depth():
    a16 = np.full((4, 5, 3), 65535, dtype=np.uint16)
    a8 = np.full((4, 5), 255, dtype=np.uint8)
    assert torch.all(to_unit_chw(a16) == 1.0) and to_unit_chw(a16).shape == (3, 4, 5)
    assert torch.all(to_unit_chw(a8) == 1.0) and to_unit_chw(a8).shape == (1, 4, 5)
    # only the first 3 channels are kept (the paper keeps 3 of its 4 planes)
    assert to_unit_chw(np.zeros((4, 5, 4), np.uint16)).shape == (3, 4, 5)
    with pytest.raises(ValueError, match="NaN"):
        to_unit_chw(np.full((3, 3), np.nan, dtype=np.float32))


def test_square_pad_floors_the_halves():
    x = torch.ones(1, 4, 9)  # width 9, height 4: pad 2 rows top and bottom -> 8 x 9
    y = square_pad(x)
    assert y.shape == (1, 8, 9)
    assert torch.all(y[:, :2] == 0) and torch.all(y[:, 2:6] == 1) and torch.all(y[:, 6:] == 0)
    assert square_pad(torch.ones(2, 5, 5)).shape == (2, 5, 5)
    assert square_pad(torch.ones(1, 7, 4)).shape == (1, 7, 6)


def test_preprocess_resizes_with_antialiasing():
    img = np.zeros((64, 64), dtype=np.uint16)
    img[::2] = 65535  # 1-pixel stripes: antialiasing averages them to about 0.5
    out = preprocess_image(img, 16)
    assert out.shape == (1, 16, 16)
    assert abs(float(out.mean()) - 0.5) < 1e-3 and float(out.std()) < 0.05


def test_mixed_channel_counts_are_rejected_with_names():
    imgs = [np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.uint8)]
    with pytest.raises(ValueError, match=r"mix channel counts.*1 channel\(s\): b.*3 channel\(s\): a"):
        from_arrays(imgs, ["x", "y"], image_size=8, paths=["/d/a.png", "/d/b.png"])


def test_trainability_checks():
    one_class = from_arrays([np.zeros((8, 8), np.uint8)] * 3, ["1", "1", "1"], image_size=8)
    with pytest.raises(ValueError, match="at least 2 classes"):
        one_class.check_trainable()
    singletons = from_arrays([np.zeros((8, 8), np.uint8)] * 2, ["1", "2"], image_size=8)
    with pytest.raises(ValueError, match="at least 2 images"):
        singletons.check_trainable()


def test_pair_sampler_is_balanced_and_correct():
    labels = np.repeat(np.arange(4), [3, 1, 5, 2])
    s = PairSampler(labels, 64)
    rng = np.random.default_rng(0)
    for _ in range(20):
        i, j, t = s.sample(rng)
        assert np.all(t[0::2] == 1) and np.all(t[1::2] == 0)
        assert np.all((labels[i] == labels[j]) == (t == 1))
        assert np.all(i[0::2] != j[0::2])  # positives use two different images
        assert np.all(labels[i[0::2]] != 1)  # class 1 has one image: never a positive
    a = s.sample(np.random.default_rng(5))
    b = s.sample(np.random.default_rng(5))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=False))


def test_pk_sampler_and_all_pairs():
    labels = np.repeat(np.arange(6), 4)
    s = PKSampler(labels, classes_per_batch=3, images_per_class=2)
    idx = s.sample(np.random.default_rng(1))
    assert idx.shape == (6,)
    lab = labels[idx]
    assert len(set(lab.tolist())) == 3 and all((lab == c).sum() == 2 for c in set(lab.tolist()))
    r, c, t, w = all_pair_targets(torch.from_numpy(lab))
    assert r.shape == (15,) and bool(torch.all(r < c))
    assert int(t.sum()) == 3  # one positive pair per class
    assert torch.isclose(w[t == 1].sum(), torch.tensor(0.5)) and torch.isclose(
        w[t == 0].sum(), torch.tensor(0.5)
    )


def test_paper_augment_probability_zero_and_one():
    x = torch.rand(8, 2, 16, 16)
    g = torch.Generator().manual_seed(0)
    assert torch.equal(paper_augment(x, 0.0, g), x)
    y = paper_augment(x, 1.0, g)
    assert y.shape == x.shape and not torch.equal(y, x)
    # nearest-neighbour rotation only moves values (or zero-fills): no new intensities appear
    vals = set(x.flatten().tolist()) | {0.0}
    assert set(y.flatten().tolist()) <= vals


def test_strong_augment_seeded_and_bounded():
    x = torch.rand(6, 3, 16, 16)
    a = strong_augment(x, torch.Generator().manual_seed(3))
    b = strong_augment(x, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert float(a.min()) >= 0 and float(a.max()) <= 1 and a.shape == x.shape


def _write_folder(root, spec):
    """spec: {class_name: [array, ...]} written as class folders of PNGs."""
    import imageio.v3 as iio

    for cls, arrays in spec.items():
        d = root / cls
        d.mkdir(parents=True)
        for k, a in enumerate(arrays):
            iio.imwrite(d / f"img{k}.png", a)


def test_load_folder_class_folders(tmp_path):
    rng = np.random.default_rng(0)
    _write_folder(
        tmp_path,
        {
            "round": [rng.integers(0, 255, (12, 10, 3), dtype=np.uint8) for _ in range(2)],
            "oval": [rng.integers(0, 255, (9, 14, 3), dtype=np.uint8) for _ in range(3)],
        },
    )
    d = load_folder(tmp_path, image_size=16)
    assert d.inputs.shape == (5, 3, 16, 16)
    assert d.classes == ["oval", "round"]
    assert sorted(d.labels.tolist()) == [0, 0, 0, 1, 1]


def test_load_folder_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images"):
        load_folder(tmp_path / "empty", image_size=8)
    _write_folder(
        tmp_path / "mixed",
        {
            "a": [np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint8)],
            "b": [np.zeros((8, 8), np.uint8)],
        },
    )
    with pytest.raises(ValueError, match="mix channel counts"):
        load_folder(tmp_path / "mixed", image_size=8)
    with pytest.raises(FileNotFoundError, match="no such folder"):
        load_folder(tmp_path / "nope", image_size=8)


def test_load_folder_skips_a_bad_file_and_selects_channels(tmp_path):
    from corrclust.images.io import ReadOptions

    rng = np.random.default_rng(1)
    _write_folder(
        tmp_path,
        {
            "a": [rng.integers(1, 255, (8, 8, 3), dtype=np.uint8) for _ in range(2)],
            "b": [rng.integers(1, 255, (8, 8, 3), dtype=np.uint8) for _ in range(2)],
        },
    )
    bad = sorted((tmp_path / "b").iterdir())[0]
    bad.write_bytes(b"\x89PNG broken")
    failures: list = []
    d = load_folder(tmp_path, image_size=8, failures=failures, read=ReadOptions(channels=(2, None)))
    assert len(d) == 3 and [p.name for p, _ in failures] == [bad.name]
    assert bad.name in failures[0][1]
    assert d.inputs.shape == (3, 2, 8, 8)
    assert float(d.inputs[:, 1].abs().max()) == 0.0 and float(d.inputs[:, 0].abs().max()) > 0.0
