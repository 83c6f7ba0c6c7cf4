"""RBC crops: the selection rule on hand-made points and the real crops from Chula RBC-12."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from conftest import require_shared

from corrclust.images.io import list_images, read_image
from corrclust.images.rbc import RbcPoint, make_crops, read_points, select_crops


def test_selection_rule_border_separation_and_ranking():
    pts = [
        RbcPoint("a.jpg", 100, 100, 0, "zero"),  # ok
        RbcPoint("a.jpg", 31, 100, 0, "zero"),  # too close to the left border for a 64 crop
        RbcPoint("a.jpg", 200, 100, 0, "zero"),  # ok
        RbcPoint("a.jpg", 300, 100, 1, "one"),  # 10 px from the next: both dropped
        RbcPoint("a.jpg", 310, 100, 1, "one"),
        RbcPoint("a.jpg", 400, 100, 1, "one"),  # ok
        RbcPoint("a.jpg", 500, 100, 2, "two"),  # ok
        RbcPoint("a.jpg", 608, 200, 2, "two"),  # exactly fits the right border (608 + 32 = 640)
        RbcPoint("a.jpg", 609, 300, 2, "two"),  # one pixel too far right
        RbcPoint("a.jpg", 100, 449, 9, "nine"),  # too close to the bottom (449 + 32 > 480)
        RbcPoint("a.jpg", 200, 300, 10, "excluded"),
    ]
    sizes = {"a.jpg": (480, 640)}
    # eligible counts: class 0 -> 2, class 1 -> 1, class 2 -> 2 (608 fits, 609 does not), class 9 -> 0;
    # seen = the two largest classes (0, 2); 1 and 9 are unseen, and 9 has no eligible point
    with pytest.raises(ValueError, match=r"class 9 \(nine\) has only 0 eligible"):
        select_crops(pts, sizes, train_per_class=1, test_per_class=1, unseen_per_class=1, n_seen=2)
    pts = [p for p in pts if p.class_id != 9]
    chosen = select_crops(pts, sizes, train_per_class=1, test_per_class=1, unseen_per_class=1, n_seen=2)
    got = sorted((split, ident, p.class_id, p.x) for split, ident, _, p in chosen)
    assert [g[:3] for g in got] == [
        ("test", 100, 0),
        ("test", 200, 2),
        ("train", 100, 0),
        ("train", 200, 2),
        ("unseen", 300, 1),
    ]
    assert {g[3] for g in got if g[2] == 0} == {100, 200}
    assert {g[3] for g in got if g[2] == 2} == {500, 608}
    assert [g[3] for g in got if g[2] == 1] == [400]


def test_read_points_errors(tmp_path):
    (tmp_path / "p.csv").write_text("image,x,y,class_id,class_name\n1.jpg,3,4,0,normal\n1.jpg,x,4,0,n\n")
    with pytest.raises(ValueError, match=r"p.csv:3"):
        read_points(tmp_path / "p.csv")


def test_real_rbc_crops(tmp_path):
    rbc = require_shared("data/rbc-morphology")
    out = tmp_path / "rbc"
    recs = make_crops(rbc, out, seed=0)
    assert {k: len(v) for k, v in recs.items()} == {"train": 100, "test": 100, "unseen": 20}
    train = list_images(out / "train")
    assert [r.id for r in train] == [c * 100 + k for c in range(1, 11) for k in range(10)]
    assert (out / "unseen" / "truth.csv").read_text().splitlines()[:2] == [
        ",".join(str(1100 + k) for k in range(10)),
        ",".join(str(1200 + k) for k in range(10)),
    ]
    with open(out / "crops.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 220
    # default rule: uncategorised excluded, microcyte (2) and teardrop (7) are the unseen classes
    assert {r["class_id"] for r in rows if r["split"] == "unseen"} == {"2", "7"}
    assert "10" not in {r["class_id"] for r in rows}
    # no cell is used twice
    assert len({(r["image"], r["x"], r["y"]) for r in rows}) == 220
    # a crop is the unscaled 64 x 64 window around its point
    r = rows[5]
    crop = read_image(out / r["split"] / f"rbc_{r['id']}.tif")
    src = read_image(rbc / "images" / r["image"])
    x, y = int(r["x"]), int(r["y"])
    assert crop.shape == (64, 64, 3)
    np.testing.assert_array_equal(crop, src[y - 32 : y + 32, x - 32 : x + 32])
    # deterministic
    again = make_crops(rbc, tmp_path / "again", seed=0)
    assert (tmp_path / "again" / "crops.csv").read_text() == (out / "crops.csv").read_text()
    other = make_crops(rbc, tmp_path / "other", seed=1)
    assert (tmp_path / "other" / "crops.csv").read_text() != (out / "crops.csv").read_text()
    assert {k: len(v) for k, v in other.items()} == {k: len(v) for k, v in again.items()}


def test_a_bad_rbc_image_is_skipped_not_fatal(tmp_path, capsys):
    rbc = require_shared("data/rbc-morphology")
    copy = tmp_path / "rbc"
    (copy / "images").mkdir(parents=True)
    (copy / "points.csv").symlink_to(rbc / "points.csv")
    names = sorted(p.name for p in (rbc / "images").iterdir())
    for name in names[1:]:
        (copy / "images" / name).symlink_to(rbc / "images" / name)
    (copy / "images" / names[0]).write_bytes(b"\xff\xd8 not a jpeg")
    recs = make_crops(copy, tmp_path / "out", train_per_class=2, test_per_class=2, unseen_per_class=2, seed=0)
    assert names[0] in capsys.readouterr().err
    with open(tmp_path / "out" / "crops.csv") as fh:
        sources = {row["image"] for row in csv.DictReader(fh)}
    assert names[0] not in sources and sum(len(v) for v in recs.values()) == 2 * 10 + 2 * 10 + 2 * 2
