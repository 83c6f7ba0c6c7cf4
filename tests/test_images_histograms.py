"""Channel histograms (TNH input): order, normalisation, 8-bit scaling."""

from __future__ import annotations

import numpy as np
import pytest

from corrclust.images.histograms import N_BINS, channel_histograms


def test_cdf_values_and_reversed_channel_order():
    img = np.zeros((2, 2, 4), np.uint16)
    img[..., 0] = [[0, 10], [10, 65535]]  # blue
    img[..., 1] = 7
    img[..., 2] = [[1, 2], [3, 4]]
    img[..., 3] = 60000  # the fourth channel is ignored
    h = channel_histograms(img)
    assert h.shape == (3, N_BINS) and h.dtype == np.float32
    # row 2 = channel 0
    assert h[2, 0] == 0.25 and h[2, 9] == 0.25 and h[2, 10] == 0.75 and h[2, 65534] == 0.75
    assert h[2, 65535] == 1.0
    # row 1 = channel 1: a step at 7
    assert h[1, 6] == 0 and h[1, 7] == 1
    # row 0 = channel 2
    np.testing.assert_allclose(h[0, :6], [0, 0.25, 0.5, 0.75, 1, 1])
    assert np.all(np.diff(h, axis=1) >= 0)


def test_eight_bit_scaled():
    rng = np.random.default_rng(0)
    img8 = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    h8 = channel_histograms(img8)
    h16 = channel_histograms(img8.astype(np.uint16) * 256)
    np.testing.assert_array_equal(h8, h16)


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="3 channels"):
        channel_histograms(np.zeros((4, 4, 1), np.uint16))
    with pytest.raises(ValueError, match="uint8 or uint16"):
        channel_histograms(np.zeros((4, 4, 3), np.float32))
