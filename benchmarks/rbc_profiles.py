"""Morphology profiles of every labelled cell of Chula RBC-12 (all 22,106 points of ``points.csv``).

A 64 x 64 crop is cut around each cell centre (crops that reach over the image border are padded by
repeating the edge pixels, so that every labelled cell is kept) and profiled by
:func:`corrclust.profiles.profile`. About 0.03 s of CPU a cell (0.036 s before the Hessian of
:func:`corrclust.profiles.hessian`; the 0.25-0.65 s a cell seen in session 6 was the wall time of
two processes at load 6-14 on 2 cores): the result is cached in an
``.npz`` (resumed after an interruption) that ``bench_scale.py`` reads.

    python benchmarks/rbc_profiles.py [--shared ../shared] [--cache build/rbc-profiles.npz]
        [--start I] [--stop J] [--merge OTHER.npz]

``--start``/``--stop`` profile only the cells ``I <= i < J`` (points.csv order), so that two
processes can share the work, each with its own ``--cache``; ``--merge OTHER.npz`` then copies the
cells done in OTHER into ``--cache`` (both caches hold all rows; a cell done in both must agree).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from corrclust.images.io import read_image
from corrclust.images.rbc import read_points
from corrclust.profiles import NoObjectError, profile

SIZE = 64


def crop(image: np.ndarray, x: int, y: int, size: int = SIZE) -> np.ndarray:
    """The ``size`` x ``size`` window whose top left corner is ``size // 2`` above and left of
    ``(x, y)``, edge pixels repeated where it reaches over the border (only the window is padded, not
    the whole smear once per cell)."""
    half = size // 2
    h, w = image.shape[:2]
    top, left = y - half, x - half
    rows = np.clip(np.arange(top, top + size), 0, h - 1)
    cols = np.clip(np.arange(left, left + size), 0, w - 1)
    return image[rows[:, None], cols[None, :]]


def rbc_profiles(
    shared: Path, cache: Path, *, save_every: int = 500, start_at: int = 0, stop_at: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(features, classes)`` of all labelled cells, rows in the order of ``points.csv`` (those of
    ``start_at <= i < stop_at`` profiled, the others as the cache has them)."""
    root = shared / "data" / "rbc-morphology"
    points = read_points(root / "points.csv")
    n = len(points)
    feats: np.ndarray | None = None
    done = np.zeros(n, bool)
    if cache.is_file():
        with np.load(cache) as z:
            feats, done = z["features"], z["done"]
    if feats is not None and done.all():
        return feats, np.array([p.class_id for p in points])
    cache.parent.mkdir(parents=True, exist_ok=True)
    start, last_image, image = time.time(), None, None
    stop_at = n if stop_at is None else min(stop_at, n)
    for i, p in enumerate(points):
        if done[i] or not start_at <= i < stop_at:
            continue
        if p.image != last_image:
            image = read_image(root / "images" / p.image)
            last_image = p.image
        assert image is not None
        try:
            row = profile(crop(image, p.x, p.y))
        except NoObjectError:
            row = None
        if feats is None:
            assert row is not None
            feats = np.full((n, row.size), np.nan)
        if row is not None:
            feats[i] = row
        done[i] = True
        if (i + 1) % save_every == 0 or i + 1 == stop_at:
            np.savez(cache.with_suffix(".part.npz"), features=feats, done=done)
            cache.with_suffix(".part.npz").replace(cache)
            print(f"{i + 1}/{n} cells, {time.time() - start:.0f} s", file=sys.stderr, flush=True)
    assert feats is not None
    return feats, np.array([p.class_id for p in points])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared")
    ap.add_argument("--cache", type=Path, default=Path("build/rbc-profiles.npz"))
    ap.add_argument("--start", type=int, default=0, help="first cell to profile (points.csv order)")
    ap.add_argument("--stop", type=int, help="profile the cells before this one only")
    ap.add_argument("--merge", type=Path, help="copy the cells done in this cache into --cache, then stop")
    args = ap.parse_args()
    if args.merge:
        with np.load(args.cache) as a, np.load(args.merge) as b:
            feats, done, other, other_done = a["features"], a["done"], b["features"], b["done"]
        both = done & other_done
        if not np.array_equal(feats[both], other[both], equal_nan=True):
            raise SystemExit(f"{args.merge}: cells done in both caches differ")
        feats[other_done] = other[other_done]
        done |= other_done
        np.savez(args.cache.with_suffix(".part.npz"), features=feats, done=done)
        args.cache.with_suffix(".part.npz").replace(args.cache)
        print(f"{args.cache}: {int(done.sum())} of {done.size} cells done")
        return
    feats, classes = rbc_profiles(args.shared, args.cache, start_at=args.start, stop_at=args.stop)
    print(
        f"{feats.shape[0]} cells, {feats.shape[1]} features, {np.isnan(feats).any(axis=1).sum()} without an object"
    )


if __name__ == "__main__":
    from needs import run_main

    raise SystemExit(run_main(main))
