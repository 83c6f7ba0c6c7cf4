"""Real single-object crops: red blood cells from Chula RBC-12 (``shared/data/rbc-morphology``).

:func:`make_crops` cuts fixed-size crops (default 64 x 64, never rescaled, because size separates
macrocytes from microcytes) centred on the labelled cell centres and lays them out like the
paper's organoid data:

``OUT/train/rbc_<id>.tif``, ``OUT/test/rbc_<id>.tif``, ``OUT/unseen/rbc_<id>.tif`` (uint8 RGB,
channel-last), one ``truth.csv`` per split (paper format, one class per line), and
``OUT/crops.csv`` listing every crop with its source (``split,id,class,class_id,class_name,image,x,y``).

Selection rule (deterministic for a given ``seed``):

1. Drop the excluded dataset classes (default: 10, "uncategorised").
2. A point is *eligible* if its whole crop lies inside the image (at least ``size/2`` pixels from
   every border) and no other labelled cell centre of the same image lies closer than
   ``min_separation`` pixels (overlapping or doubly labelled cells).
3. The ``seen`` classes are the ``n_seen`` classes with the most eligible points (ties by class id);
   the remaining classes are ``unseen``. With the defaults the unseen classes are 2 (microcyte) and
   7 (teardrop).
4. corrclust class numbers: seen classes 1..n_seen in dataset class-id order, unseen classes
   n_seen+1, ... likewise; crop ids are ``class * 100 + k`` as in the paper.
5. Per seen class the eligible points are shuffled with ``numpy.random.default_rng([seed, class_id])``;
   the first ``train_per_class`` form the training crops and the next ``test_per_class`` the test
   crops. Per unseen class the first ``unseen_per_class`` of the shuffled points are taken.
"""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from corrclust.atomic import atomic_path, write_text
from corrclust.formats.clusterings import PAPER_METADATA, write_clustering
from corrclust.formats.spreadsheet import neutralise_row
from corrclust.images.io import ImageReadError, ImageRecord, ReadOptions, read_image

__all__ = ["RbcPoint", "read_points", "select_crops", "make_crops"]


@dataclass(frozen=True)
class RbcPoint:
    image: str
    x: int
    y: int
    class_id: int
    class_name: str


def read_points(path: str | Path) -> list[RbcPoint]:
    """Read ``points.csv`` (``image,x,y,class_id,class_name``); malformed lines name their number."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"RBC point table not found: {path}")
    out = []
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header != ["image", "x", "y", "class_id", "class_name"]:
            raise ValueError(f"{path}:1: expected header image,x,y,class_id,class_name, got {header}")
        for lineno, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != 5:
                raise ValueError(f"{path}:{lineno}: expected 5 fields, got {len(row)}")
            try:
                out.append(RbcPoint(row[0], int(row[1]), int(row[2]), int(row[3]), row[4]))
            except ValueError:
                raise ValueError(f"{path}:{lineno}: x, y and class_id must be integers: {row}") from None
    return out


def select_crops(
    points: list[RbcPoint],
    image_sizes: dict[str, tuple[int, int]],
    *,
    size: int = 64,
    train_per_class: int = 10,
    test_per_class: int = 10,
    unseen_per_class: int = 10,
    n_seen: int = 10,
    exclude: tuple[int, ...] = (10,),
    min_separation: float = 16.0,
    seed: int = 0,
) -> list[tuple[str, int, str, RbcPoint]]:
    """Apply the documented selection rule; return ``(split, id, class_name, point)`` tuples.

    ``image_sizes`` maps image name to ``(height, width)``.
    """
    half = size // 2
    by_image: dict[str, list[int]] = {}
    for i, p in enumerate(points):
        by_image.setdefault(p.image, []).append(i)
    eligible = np.zeros(len(points), bool)
    for name, idx in by_image.items():
        if name not in image_sizes:
            raise ValueError(f"point table names an image that is not present: {name}")
        h, w = image_sizes[name]
        xy = np.array([[points[i].x, points[i].y] for i in idx], float)
        inside = (
            (xy[:, 0] >= half)
            & (xy[:, 0] + (size - half) <= w)
            & (xy[:, 1] >= half)
            & (xy[:, 1] + (size - half) <= h)
        )
        if len(idx) > 1 and min_separation > 0:
            d, _ = cKDTree(xy).query(xy, k=2)
            isolated = d[:, 1] >= min_separation
        else:
            isolated = np.ones(len(idx), bool)
        eligible[idx] = inside & isolated
    per_class: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for i, p in enumerate(points):
        if p.class_id in exclude:
            continue
        names[p.class_id] = p.class_name
        per_class.setdefault(p.class_id, [])
        if eligible[i]:
            per_class[p.class_id].append(i)
    if len(per_class) < n_seen:
        raise ValueError(f"only {len(per_class)} classes after exclusion, fewer than n_seen={n_seen}")
    ranked = sorted(per_class, key=lambda c: (-len(per_class[c]), c))
    seen = sorted(ranked[:n_seen])
    unseen = sorted(ranked[n_seen:])
    out = []
    for number, cid in enumerate(seen + unseen, start=1):
        members = np.array(per_class[cid])
        rng = np.random.default_rng([int(seed), cid])
        members = members[rng.permutation(len(members))]
        if cid in seen:
            plan = [("train", train_per_class), ("test", test_per_class)]
        else:
            plan = [("unseen", unseen_per_class)]
        need = sum(n for _, n in plan)
        if any(n > 100 or n < 0 for _, n in plan):
            raise ValueError("between 0 and 100 crops per class and split (ids are class*100 + k)")
        if len(members) < need:
            raise ValueError(
                f"class {cid} ({names[cid]}) has only {len(members)} eligible points, {need} needed"
            )
        start = 0
        for split, n in plan:
            for k in range(n):
                out.append((split, number * 100 + k, names[cid], points[int(members[start + k])]))
            start += n
    return out


def make_crops(
    rbc_dir: str | Path,
    out_dir: str | Path,
    size: int = 64,
    train_per_class: int = 10,
    test_per_class: int = 10,
    seed: int = 0,
    *,
    unseen_per_class: int = 10,
    n_seen: int = 10,
    exclude: tuple[int, ...] = (10,),
    min_separation: float = 16.0,
    progress: bool = False,
    read: ReadOptions | None = None,
) -> dict[str, list[ImageRecord]]:
    """Cut the train / test / unseen RBC crops (see the module docstring); return records per split."""
    rbc_dir = Path(rbc_dir)
    if size < 8:
        raise ValueError(f"crop size must be at least 8, got {size}")
    points = read_points(rbc_dir / "points.csv")
    image_dir = rbc_dir / "images"
    if not image_dir.is_dir():
        raise NotADirectoryError(f"RBC image folder not found: {image_dir}")
    # All images of the dataset are 640 x 480; read the header size only where that is not so.
    sizes: dict[str, tuple[int, int]] = {}
    from PIL import Image

    unreadable: set[str] = set()
    for name in sorted({p.image for p in points}):
        try:
            with Image.open(image_dir / name) as im:
                sizes[name] = (im.height, im.width)
        except Exception as exc:  # one bad image loses its cells, not the whole set
            print(
                f"skipped {image_dir / name}: {' '.join(str(exc).split()) or type(exc).__name__}",
                file=sys.stderr,
            )
            unreadable.add(name)
    points = [p for p in points if p.image not in unreadable]
    chosen = select_crops(
        points,
        sizes,
        size=size,
        train_per_class=train_per_class,
        test_per_class=test_per_class,
        unseen_per_class=unseen_per_class,
        n_seen=n_seen,
        exclude=exclude,
        min_separation=min_separation,
        seed=seed,
    )
    import tifffile

    out = Path(out_dir)
    expected = {f"{split}/rbc_{ident}.tif" for split, ident, _, _ in chosen}
    stale = sorted(
        f"{f.parent.name}/{f.name}"
        for split in ("train", "test", "unseen")
        for f in (out / split).glob("rbc_*.tif")
        if f"{split}/{f.name}" not in expected
    )
    if stale:
        raise ValueError(
            f"{out} already holds {len(stale)} other crop(s) (e.g. {stale[0]}) that would mix with "
            "this selection; use an empty folder"
        )
    records: dict[str, list[ImageRecord]] = {}
    half = size // 2
    by_image: dict[str, list[int]] = {}
    for j, (_, _, _, p) in enumerate(chosen):
        by_image.setdefault(p.image, []).append(j)
    items = sorted(by_image.items())
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(items, desc="RBC crops", unit="img", file=sys.stderr)
    paths: dict[int, Path] = {}
    for name, js in items:
        try:
            img = read_image(image_dir / name, read)
        except ImageReadError as exc:  # one bad image loses its crops, not the whole set
            print(f"skipped {exc.path}: {exc.reason} ({len(js)} crop(s) left out)", file=sys.stderr)
            continue
        for j in js:
            split, ident, _, p = chosen[j]
            crop = img[p.y - half : p.y - half + size, p.x - half : p.x - half + size]
            folder = out / split
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"rbc_{ident}.tif"
            photometric = "rgb" if crop.shape[2] == 3 else "minisblack"
            with atomic_path(path) as tmp:
                tifffile.imwrite(tmp, np.ascontiguousarray(crop), photometric=photometric)
            paths[j] = path
    rows = []
    for j, (split, ident, cname, p) in enumerate(chosen):
        if j not in paths:
            continue
        records.setdefault(split, []).append(ImageRecord(paths[j], ident, str(ident // 100), split))
        rows.append([split, ident, ident // 100, p.class_id, cname, p.image, p.x, p.y])
    for split, recs in records.items():
        groups: dict[int, list[int]] = {}
        for r in recs:
            groups.setdefault(r.id // 100, []).append(r.id)
        write_clustering(
            out / split / "truth.csv", [groups[c] for c in sorted(groups)], metadata=PAPER_METADATA
        )
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["split", "id", "class", "class_id", "class_name", "image", "x", "y"])
    w.writerows(neutralise_row(r) for r in rows)
    write_text(out / "crops.csv", buf.getvalue())  # atomic: the table appears complete, last
    return records
