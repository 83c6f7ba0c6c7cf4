"""The twin pipeline on real data: RBC crops -> tiny training -> all-pairs P -> costs -> clustering."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require_shared

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch


def test_rbc_crops_end_to_end(tmp_path):
    rbc = require_shared("data/rbc-morphology")
    from corrclust.images.rbc import make_crops
    from corrclust.metrics import compare
    from corrclust.solve import solve
    from corrclust.twin import get_recipe, load_folder, predict, train

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        make_crops(rbc, tmp_path / "rbc", size=64, seed=0)
        data = load_folder(tmp_path / "rbc" / "train", image_size=32)
        assert data.inputs.shape == (100, 3, 32, 32) and data.in_channels == 3
        assert len(data.classes) == 10 and np.all(np.bincount(data.labels) == 10)
        # 8-bit JPEG crops are scaled by 255: real cells span most of [0, 1]
        assert 0.0 <= float(data.inputs.min()) and float(data.inputs.max()) <= 1.0
        assert float(data.inputs.max()) > 0.5

        recipe = get_recipe("fast").with_overrides(image_size=32, width=8, steps_per_epoch=3, epochs=1)
        res = train(data, recipe, seed=0, progress=False, output=tmp_path / "m.pt")
        assert res.stopped == "completed" and res.steps == 3

        unseen = load_folder(tmp_path / "rbc" / "unseen", image_size=32)
        pred = predict(tmp_path / "m.pt", unseen)
        n = len(unseen)
        assert n == 20 and pred.P.shape == (n, n) and np.array_equal(pred.P, pred.P.T)
        problem = pred.problem()
        assert problem.n == n
        labels = solve(problem, method="kl").labels
        m = compare(pred.labels, labels)
        assert m["n"] == n and 0.0 <= m["vi"] <= 2 * np.log2(n)
    finally:
        torch.set_num_threads(before)
