"""Reading microscopy images, their masks and organoid ids; listing image folders.

Conventions (the paper's, see ``shared/reference/paper-model.md`` §1):

* Images come back as ``(H, W, C)`` arrays, channel-last, in their stored dtype (``uint8`` or
  ``uint16``); a grayscale image has ``C = 1``. Channel order is the file's order.
* The organoid id is the last ``_``-separated token of the file stem (``..._1203.tif`` -> 1203) and
  the class is ``id // 100``.
* The mask of ``<stem>.tif`` is ``<stem>_mask.tif`` in the same folder.

Any file that cannot be read raises :class:`ImageReadError` (a ``ValueError``) naming the file, so
callers processing a folder can report the bad file and continue (:func:`scan_images`).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "IMAGE_SUFFIXES",
    "ImageReadError",
    "ImageRecord",
    "ScanResult",
    "read_image",
    "read_mask",
    "mask_path",
    "is_mask_file",
    "organoid_id",
    "list_images",
    "scan_images",
    "iter_images",
]

IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg")
_TIFF_SUFFIXES = (".tif", ".tiff")
_MASK_SUFFIX = "_mask"


class ImageReadError(ValueError):
    """An image (or mask) file is missing, corrupt, or has a layout corrclust cannot use."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot read image {self.path}: {reason}")


@dataclass(frozen=True)
class ImageRecord:
    """One image of a collection.

    ``label`` is the class as a string (``str(id // 100)`` in the paper's layout, the folder name in
    the class-folder layout, a table's ``class`` column) or ``None`` when unknown; ``subset`` is a
    free tag (e.g. ``train``/``test``/``unseen``) or ``None``.
    """

    path: Path
    id: int
    label: str | None = None
    subset: str | None = None

    @property
    def mask(self) -> Path:
        """Path of this image's mask file (which may not exist)."""
        return mask_path(self.path)


@dataclass
class ScanResult:
    """Result of :func:`scan_images`: readable records and the failures as ``(path, message)``."""

    records: list[ImageRecord]
    failures: list[tuple[Path, str]]


# --------------------------------------------------------------------------------------------
# single files


def _to_channel_last(arr: np.ndarray, path: Path, axes: str | None = None) -> np.ndarray:
    """Bring a 2-D or 3-D array into (H, W, C) order."""
    if arr.ndim > 3:
        squeezed = np.squeeze(arr)
        if squeezed.ndim < 2:
            raise ImageReadError(path, f"degenerate image of shape {arr.shape}")
        if squeezed.ndim > 3:
            raise ImageReadError(
                path, f"{arr.ndim}-D image of shape {arr.shape} (expected H x W or H x W x C)"
            )
        if axes is not None and len(axes) == arr.ndim:
            axes = "".join(a for a, n in zip(axes, arr.shape) if n != 1)
        arr = squeezed
    if arr.ndim == 2:
        return arr[:, :, None]
    if arr.ndim != 3:
        raise ImageReadError(path, f"image of shape {arr.shape} (expected H x W or H x W x C)")
    # tifffile tells the axes of a series; 'C' (channel) or 'S' (sample) mark the channel axis.
    if axes is not None and len(axes) == 3:
        for tag in ("S", "C"):
            if axes.count(tag) == 1 and "Y" in axes and "X" in axes:
                return np.moveaxis(arr, axes.index(tag), -1)
    a, b, c = arr.shape
    if a <= 4 and b > 4 and c > 4:  # small leading dimension: channel-first
        return np.moveaxis(arr, 0, -1)
    if c <= 4 or c < min(a, b):
        return arr
    raise ImageReadError(
        path, f"cannot tell the channel axis of shape {arr.shape} (not an H x W x C image?)"
    )


def _check_dtype(arr: np.ndarray, path: Path) -> np.ndarray:
    if arr.dtype == np.uint8 or arr.dtype == np.uint16:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8)
    raise ImageReadError(path, f"unsupported pixel type {arr.dtype} (expected 8- or 16-bit unsigned)")


def read_image(path: str | Path) -> np.ndarray:
    """Read a TIFF, PNG or JPEG image as an ``(H, W, C)`` uint8/uint16 array, channel-last.

    TIFFs may be 8- or 16-bit, grayscale or multi-channel, stored channel-first or channel-last
    (taken from the TIFF axes when present, otherwise from the shape: a leading dimension <= 4
    with larger trailing dimensions is a channel axis). Raises :class:`ImageReadError` naming the
    file when it is missing, corrupt, or not an image of this kind.
    """
    p = Path(path)
    if not p.is_file():
        raise ImageReadError(p, "no such file" if not p.exists() else "not a regular file")
    suffix = p.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise ImageReadError(p, f"unsupported file type {p.suffix!r} (expected one of {IMAGE_SUFFIXES})")
    axes = None
    try:
        if suffix in _TIFF_SUFFIXES:
            import tifffile

            with tifffile.TiffFile(p) as tif:
                if not tif.series:
                    raise ValueError("no image data")
                series = tif.series[0]
                axes = series.axes
                arr = series.asarray()
        else:
            import imageio.v3 as iio

            arr = np.asarray(iio.imread(p, plugin="pillow"))
    except ImageReadError:
        raise
    except Exception as exc:  # any decoder failure means "this file is not readable"
        raise ImageReadError(p, f"{type(exc).__name__}: {exc}") from exc
    if arr.size == 0:
        raise ImageReadError(p, f"empty image of shape {arr.shape}")
    arr = _to_channel_last(np.asarray(arr), p, axes)
    return np.ascontiguousarray(_check_dtype(arr, p))


def read_mask(path: str | Path) -> np.ndarray:
    """Read a mask image as a bool ``(H, W)`` array: a pixel is foreground if any channel is > 0."""
    arr = read_image(path)
    return np.any(arr > 0, axis=2)


def mask_path(image_path: str | Path) -> Path:
    """``<folder>/<stem>_mask.tif`` for ``<folder>/<stem>.<ext>``."""
    p = Path(image_path)
    return p.with_name(p.stem + _MASK_SUFFIX + ".tif")


def is_mask_file(path: str | Path) -> bool:
    """True for ``*_mask.<ext>`` files (masks are skipped when listing images)."""
    return Path(path).stem.endswith(_MASK_SUFFIX)


def organoid_id(path: str | Path) -> int:
    """The organoid id: the last ``_``-separated token of the file stem, as an int."""
    stem = Path(path).stem
    token = stem.rsplit("_", 1)[-1]
    try:
        value = int(token, 10)
    except ValueError:
        raise ValueError(
            f"cannot take an organoid id from {Path(path).name!r}: the last '_'-separated token "
            f"of the name ({token!r}) is not an integer (expected e.g. 'organoid_1203.tif')"
        ) from None
    if value < 0:
        raise ValueError(f"negative organoid id {value} in {Path(path).name!r}")
    return value


# --------------------------------------------------------------------------------------------
# folders


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        f
        for f in folder.iterdir()
        if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES and not is_mask_file(f)
    )


def _id_or_none(path: Path) -> int | None:
    try:
        return organoid_id(path)
    except ValueError:
        return None


def _records_paper_layout(files: list[Path]) -> list[ImageRecord]:
    ids = [_id_or_none(f) for f in files]
    if all(i is None for i in ids):
        # No ids in the names: number the images 0..n-1 in name order; classes unknown.
        return [ImageRecord(f, k) for k, f in enumerate(files)]
    bad = [f for f, i in zip(files, ids) if i is None]
    if bad:
        raise ValueError(
            f"{bad[0]}: file name does not end in an organoid id while others in the folder do "
            f"({len(bad)} such files); rename it or pass an ids table (file,id[,class][,subset])"
        )
    named = [(f, i) for f, i in zip(files, ids) if i is not None]  # all of them, checked above
    seen: dict[int, Path] = {}
    for f, i in named:
        if i in seen:
            raise ValueError(f"duplicate organoid id {i}: {seen[i].name} and {f.name}")
        seen[i] = f
    return sorted((ImageRecord(f, i, str(i // 100)) for f, i in named), key=lambda r: r.id)


def _records_class_folders(folder: Path, class_dirs: list[Path]) -> list[ImageRecord]:
    per_class = [(d, _image_files(d)) for d in class_dirs]
    per_class = [(d, fs) for d, fs in per_class if fs]
    largest = max(len(fs) for _, fs in per_class)
    # Paper-like ids: class index (from 1, folders in name order) * 100 + index in the class;
    # a wider stride when a class has more than 100 images, so ids stay unique.
    stride = 100 if largest <= 100 else 10 ** math.ceil(math.log10(largest))
    records = []
    for ci, (d, files) in enumerate(per_class, start=1):
        for k, f in enumerate(files):
            records.append(ImageRecord(f, ci * stride + k, d.name))
    return records


def _read_ids_table(folder: Path, table: Path) -> list[ImageRecord]:
    table = Path(table)
    if not table.is_file():
        raise FileNotFoundError(f"ids table not found: {table}")
    records: list[ImageRecord] = []
    seen_ids: dict[int, int] = {}
    seen_files: dict[Path, int] = {}
    with open(table, newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = [h.strip().lower() for h in next(reader)]
        except StopIteration:
            raise ValueError(f"{table}: empty ids table (expected header file,id[,class][,subset])") from None
        if "file" not in header or "id" not in header:
            raise ValueError(f"{table}:1: header must name columns file and id, got {','.join(header)}")
        col = {name: header.index(name) for name in ("file", "id", "class", "subset") if name in header}
        for lineno, row in enumerate(reader, start=2):
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != len(header):
                raise ValueError(f"{table}:{lineno}: expected {len(header)} fields, got {len(row)}")
            name = row[col["file"]].strip()
            try:
                ident = int(row[col["id"]].strip())
            except ValueError:
                raise ValueError(f"{table}:{lineno}: id {row[col['id']]!r} is not an integer") from None
            if ident < 0:
                raise ValueError(f"{table}:{lineno}: negative id {ident}")
            path = Path(name) if Path(name).is_absolute() else folder / name
            if not path.is_file():
                raise ValueError(f"{table}:{lineno}: image file not found: {path}")
            if ident in seen_ids:
                raise ValueError(f"{table}:{lineno}: id {ident} already used on line {seen_ids[ident]}")
            key = path.resolve()
            if key in seen_files:
                raise ValueError(f"{table}:{lineno}: file {name} already listed on line {seen_files[key]}")
            seen_ids[ident] = lineno
            seen_files[key] = lineno
            label = row[col["class"]].strip() or None if "class" in col else None
            subset = row[col["subset"]].strip() or None if "subset" in col else None
            records.append(ImageRecord(path, ident, label, subset))
    if not records:
        raise ValueError(f"{table}: ids table lists no images")
    return records


def list_images(folder: str | Path, ids_table: str | Path | None = None) -> list[ImageRecord]:
    """List the images of a folder as :class:`ImageRecord` s, in a deterministic order.

    Layouts, in this order of precedence:

    1. ``ids_table`` (CSV with header ``file,id[,class][,subset]``, files relative to ``folder``):
       exactly the listed images, with the given ids, classes and subsets, in table order.
    2. The paper's layout: images directly in ``folder`` whose names end in the organoid id
       (``..._1203.tif``), in id order; class = ``id // 100``. Images without ids in their names are numbered
       0..n-1 in name order with unknown class.
    3. Class folders ``folder/<class_name>/*.png``: the classes in name order get indices 1, 2, ...
       and the images, in name order within a class, ids ``class_index * 100 + k`` (a wider stride
       than 100 if a class has more than 100 images).

    ``*_mask.*`` files are never listed as images.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"image folder not found: {folder}")
    if ids_table is not None:
        return _read_ids_table(folder, Path(ids_table))
    files = _image_files(folder)
    if files:
        return _records_paper_layout(files)
    class_dirs = sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))
    if any(_image_files(d) for d in class_dirs):
        return _records_class_folders(folder, class_dirs)
    raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) found in {folder} or its class folders")


def iter_images(
    records: Iterable[ImageRecord], *, progress: bool = False, desc: str = "reading images"
) -> Iterator[tuple[ImageRecord, np.ndarray | None, str | None]]:
    """Yield ``(record, image, None)`` for readable images and ``(record, None, message)`` otherwise."""
    records = list(records)
    if progress:
        from tqdm.auto import tqdm

        records = tqdm(records, desc=desc, unit="img")
    for rec in records:
        try:
            yield rec, read_image(rec.path), None
        except ImageReadError as exc:
            yield rec, None, str(exc)


def scan_images(
    folder: str | Path | Sequence[ImageRecord],
    ids_table: str | Path | None = None,
    *,
    progress: bool = False,
) -> ScanResult:
    """Read every image of a folder (or record list); keep the readable ones, collect the failures.

    One bad file does not stop the scan: it is returned in ``failures`` as ``(path, message)``.
    """
    if isinstance(folder, (str, Path)):
        records = list_images(folder, ids_table)
    else:
        records = list(folder)
    good: list[ImageRecord] = []
    failures: list[tuple[Path, str]] = []
    for rec, img, err in iter_images(records, progress=progress, desc="scanning images"):
        if img is None:
            failures.append((rec.path, err or "unreadable"))
        else:
            good.append(rec)
    return ScanResult(good, failures)

