"""Step 1: the images of a folder, read once, with display thumbnails (:func:`load_images`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from corrclust.images.io import (
    ImageReadError,
    ImageRecord,
    ReadOptions,
    iter_images,
    list_images,
    missing_folder_message,
    split_time_points,
)
from corrclust.pipeline.messages import say

#: Skipped files named one per line on stderr; the rest are counted in one line (a wrong
#: --channels skipped each of 250 RBC crops in a line of its own, and 20,000 would flood the screen).
SKIP_LINES_MAX = 20

__all__ = [
    "THUMB_SIZE",
    "MIN_SIDE",
    "MAX_ASPECT",
    "ImageSet",
    "load_images",
    "subset_folder_records",
    "degenerate_reason",
]

THUMB_SIZE = 96
# An image thinner than this (pixels) or more elongated than this (long side / short side) is no
# organoid crop: it is skipped and listed like an unreadable file rather than sent through key-point
# detection and the twin network (the 1,135 organoid boxes of shared/data/organoid-fields are 10
# pixels a side or more, aspect at most 6).
MIN_SIDE = 8
MAX_ASPECT = 20.0


def degenerate_reason(shape: tuple[int, ...]) -> str | None:
    """Why an ``(H, W[, C])`` image is too thin or elongated to cluster, or None if it is usable."""
    h, w = int(shape[0]), int(shape[1])
    if min(h, w) < MIN_SIDE:
        return f"degenerate image of {h} x {w} pixels (each side needs at least {MIN_SIDE})"
    if max(h, w) > MAX_ASPECT * min(h, w):
        return f"degenerate image of {h} x {w} pixels (aspect ratio above {MAX_ASPECT:g})"
    return None


@dataclass
class ImageSet:
    """The readable images of a folder, in a fixed order, with their display thumbnails."""

    root: Path
    records: list[ImageRecord]
    thumbs: list[np.ndarray]
    failures: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def ids(self) -> np.ndarray:
        return np.array([r.id for r in self.records], dtype=np.int64)

    def subset(self, keep: Sequence[int]) -> ImageSet:
        """The images at positions ``keep`` (in that order)."""
        return ImageSet(
            self.root, [self.records[i] for i in keep], [self.thumbs[i] for i in keep], self.failures
        )


def subset_folder_records(folder: str | Path, name_pattern: str | None = None) -> list[ImageRecord] | None:
    """Records of a folder of *subset* folders, or None if ``folder`` is not laid out that way.

    The layout: no images directly in ``folder``; every non-hidden sub-folder with images holds files
    named with organoid ids (``<name>_<id>.tif``, class = id // 100), the ids are unique across the
    sub-folders, and at least one sub-folder mixes several classes (otherwise the sub-folders are
    class folders, which :func:`corrclust.images.io.list_images` handles). Each record gets its
    folder's name as subset tag.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return None
    from corrclust.images.io import is_image_path

    def has_images(d: Path) -> bool:
        return any(is_image_path(f) for f in d.iterdir())

    if has_images(folder):
        return None
    subdirs = sorted(
        d
        for d in folder.iterdir()
        if d.is_dir() and not d.name.startswith(".") and not is_image_path(d) and has_images(d)
    )
    if len(subdirs) < 2:
        return None
    per_dir: list[tuple[Path, list[ImageRecord]]] = []
    for d in subdirs:
        try:
            recs = list_images(d, name_pattern=name_pattern)
        except ValueError:
            return None
        if any(r.label is None for r in recs):
            return None
        per_dir.append((d, recs))
    ids = [r.id for _, recs in per_dir for r in recs]
    if len(set(ids)) != len(ids):
        return None
    if not any(len({r.label for r in recs}) > 1 for _, recs in per_dir):
        return None
    return [dataclasses.replace(r, subset=d.name) for d, recs in per_dir for r in recs]


def load_images(
    folder: str | Path,
    ids_table: str | Path | None = None,
    *,
    progress: bool = True,
    min_images: int = 2,
    read: ReadOptions | None = None,
    name_pattern: str | None = None,
) -> ImageSet:
    """List ``folder``, read each image once (making its thumbnail), and skip unreadable files.

    ``read`` says how files become images (:class:`corrclust.images.io.ReadOptions`); images of
    different pixel sizes are refused unless it resamples them. ``name_pattern``: plate/well/site in
    the names. Each skipped file is announced on stderr with the reason. Raises ValueError when
    fewer than ``min_images`` images remain (clustering needs at least two).
    """
    from corrclust.report.figures import thumbnail

    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(missing_folder_message(folder))
    try:
        records = None if ids_table is not None else subset_folder_records(folder, name_pattern)
        if records is None:
            records = list_images(folder, ids_table, name_pattern=name_pattern, read=read)
        elif read is not None and read.t == "split":
            records = split_time_points(records)
    except ValueError as exc:
        if str(exc).startswith("no images"):
            raise ValueError(f"{exc}; clustering needs at least {min_images} images") from None
        raise
    good: list[ImageRecord] = []
    thumbs: list[np.ndarray] = []
    failures: list[tuple[Path, str]] = []

    def skip(path: Path, why: str) -> None:
        failures.append((path, why))
        if len(failures) <= SKIP_LINES_MAX:
            say(f"skipping {path}: {why}")

    for rec, data, err in iter_images(records, read, progress=progress):
        if data is None:
            skip(rec.path, err or "unreadable")
            continue
        try:
            bad = degenerate_reason(data.pixels.shape)
            if bad is not None:
                raise ImageReadError(rec.path, bad)
            thumbs.append(thumbnail(data.pixels, THUMB_SIZE))
        except ValueError as exc:  # an image the report cannot draw is skipped like an unreadable one
            skip(rec.path, str(exc))
            continue
        good.append(rec)
    if len(failures) > SKIP_LINES_MAX:
        say(
            f"skipping {len(failures) - SKIP_LINES_MAX} more unreadable file(s), not named here (the report lists all)"
        )
    if len(good) < min_images:
        found = "no readable image" if not good else f"only {len(good)} readable image ({good[0].path.name})"
        # the first reason in the last line too: it is the line that stays on screen
        skipped = (
            f" ({len(failures)} unreadable file(s) skipped; the first: {failures[0][1]})" if failures else ""
        )
        raise ValueError(f"{found} in {folder}{skipped}; clustering needs at least {min_images} images")
    return ImageSet(folder, good, thumbs, failures)
