"""A small complete report (synthetic images, a hand-made similarity matrix, a truth) for the report tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from corrclust import pipeline
from corrclust.images import synthetic


def make_report(folder: Path) -> Path:
    """Run the pipeline on 3 x 3 synthetic organoids with subsets; return the output folder."""
    images = folder / "images"
    synthetic.generate(images, classes=3, per_class=3, seed=7, size=48)
    ids = np.array([100, 101, 102, 200, 201, 202, 300, 301, 302])
    table = images / "ids.csv"
    table.write_text(
        "file,id,class,subset\n"
        + "".join(f"organoid_{i}.tif,{i},{i // 100},{'unseen' if i >= 300 else 'test'}\n" for i in ids)
    )
    rng = np.random.default_rng(1)
    cls = ids // 100
    S = np.where(cls[:, None] == cls[None, :], 0.75, 0.55) + rng.normal(0, 0.03, (9, 9))
    S[0, 3] = S[3, 0] = 0.7  # one misleading pair
    np.savez(folder / "S.npz", ids=ids, S=S)
    out = folder / "out"
    pipeline.run(
        pipeline.ClusterOptions(
            images, out, correlations=folder / "S.npz", ids_table=table, truth="auto", progress=False
        )
    )
    return out
