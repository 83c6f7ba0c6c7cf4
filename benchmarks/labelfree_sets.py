"""The image sets of ``bench_labelfree.py``, in memory, with the development / report split fixed.

Split (fixed before any figure was measured, see docs/profiles.md):

* RBC crops (``../shared/data/rbc-morphology``): points of source images with an **even** number
  (``12.jpg``) are for development, **odd** for the reported figures. Classes: the ten classes of
  ``corrclust.images.rbc`` (all but 2 microcyte, 7 teardrop and 10 uncategorised), crops 64 x 64
  around the points, never rescaled, chosen by :func:`corrclust.images.rbc.select_crops`.
* Synthetic organoids (``corrclust.images.synthetic``): seeds 0-4 for development, 5-9 reported.
* OrgaQuant crops (``../shared/data/organoid-fields``, no classes): the manual boxes, squared with a
  25 % margin, kept when the square lies inside the field and is at least 24 px; fields with an even
  number for development, odd reported.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
RBC = SHARED / "data" / "rbc-morphology"
FIELDS = SHARED / "data" / "organoid-fields"

#: RBC classes left out: 2 microcyte and 7 teardrop (too few isolated points), 10 uncategorised.
RBC_EXCLUDE = (2, 7, 10)


def _number(name: str) -> int:
    m = re.findall(r"\d+", Path(name).stem)
    return int(m[-1]) if m else 0


def rbc_set(half: str, per_class: int, seed: int = 0):
    """(images, classes, names) of 10 RBC classes x ``per_class`` crops from the ``half`` ('dev'/'report')."""
    from corrclust.images.io import read_image
    from corrclust.images.rbc import read_points, select_crops

    parity = 0 if half == "dev" else 1
    points = [p for p in read_points(RBC / "points.csv") if _number(p.image) % 2 == parity]
    sizes = {p.image: (480, 640) for p in points}
    chosen = select_crops(
        points,
        sizes,
        size=64,
        train_per_class=per_class,
        test_per_class=0,
        unseen_per_class=0,
        n_seen=10,
        exclude=RBC_EXCLUDE,
        seed=seed,
    )
    cache: dict[str, np.ndarray] = {}
    images, classes, names = [], [], []
    for _, _ident, cname, p in chosen:
        if p.image not in cache:
            cache[p.image] = read_image(RBC / "images" / p.image)
        img = cache[p.image]
        images.append(np.ascontiguousarray(img[p.y - 32 : p.y + 32, p.x - 32 : p.x + 32]))
        classes.append(cname)
        names.append(f"{p.image}@{p.x},{p.y}")
    return images, classes, names


def synthetic_set(seed: int, classes: int = 4, per_class: int = 10, size: int = 96):
    """(images, classes, masks) of synthetic organoids rendered in memory like ``generate``."""
    from corrclust.images.synthetic import render_organoid

    images, labels, masks = [], [], []
    for c in range(1, classes + 1):
        for k in range(per_class):
            org = render_organoid(c, np.random.default_rng([seed, c, k]), size)
            images.append(org.image)
            labels.append(str(c))
            masks.append(org.mask)
    return images, labels, masks


def orgaquant_crops(half: str, limit: int | None = None):
    """(images, names) of brightfield organoid crops from the manual boxes (no classes)."""
    from corrclust.images.io import read_image

    parity = 0 if half == "dev" else 1
    rows = list(csv.DictReader(open(FIELDS / "bboxes.csv")))
    images, names = [], []
    cache: dict[str, np.ndarray] = {}
    for r in rows:
        if _number(r["filename"]) % 2 != parity:
            continue
        x1, y1, x2, y2 = (int(r[k]) for k in ("x1", "y1", "x2", "y2"))
        side = int(round(1.25 * max(x2 - x1, y2 - y1)))
        cx, cy = (x1 + x2) // 2, (y1 + y2) // 2
        a, b = cy - side // 2, cx - side // 2
        if side < 24 or a < 0 or b < 0:
            continue
        if r["filename"] not in cache:
            cache[r["filename"]] = read_image(FIELDS / "images" / r["filename"])
        img = cache[r["filename"]]
        if a + side > img.shape[0] or b + side > img.shape[1]:
            continue
        images.append(np.ascontiguousarray(img[a : a + side, b : b + side]))
        names.append(f"{r['filename']}@{x1},{y1}")
        if limit is not None and len(images) >= limit:
            break
    return images, names
