"""Reading microscopy images, their masks and organoid ids; listing image folders.

This is the one module that opens image files; every command reads through it.

Formats (chosen by the file name):

* TIFF and OME-TIFF (``.tif``, ``.tiff``, ``.ome.tif``, ``.ome.tiff``) with :mod:`tifffile`; every
  compression tifffile decodes through :mod:`imagecodecs` (LZW, deflate/zlib, zstd, JPEG, packbits,
  LZMA, JPEG 2000, ...). Channel names and the pixel size come from the OME-XML, or from ImageJ
  metadata and the resolution tags.
* OME-Zarr (a ``.zarr`` / ``.ome.zarr`` folder) with :mod:`ome_zarr`: the full-resolution level,
  its axes, ``omero`` channel labels and the ``scale`` transform.
* PNG and JPEG with Pillow (through imageio).
* Vendor formats (``.czi``, ``.nd2``, ``.lif``) with bioio and its reader plugins, the optional extra
  ``corrclust[formats]``; without it a one-line error names the extra.

Dimensions (``paper-model.md`` §1: images are ``(H, W, C)``, channel-last, uint8/uint16):

* Axes come from the file's metadata (tifffile series axes, OME-Zarr axes, bioio dims); only a file
  that carries none (a plain multi-page TIFF) is guessed from its shape: a leading dimension <= 4
  with larger trailing dimensions is a channel axis.
* A Z-stack is reduced by :attr:`ReadOptions.z_project`: ``max`` (default), ``mean`` (rounded, in
  the file's dtype), ``sum`` (as uint16, saturating at 65535) or ``middle`` (the plane ``Z // 2``).
* A time series (T > 1) is refused (:attr:`ReadOptions.t` ``"refuse"``, the default), split
  (``"split"``: each time point becomes an image of its own, listed by :func:`list_images` /
  :func:`split_time_points` as a record with its ``t`` and named ``<stem>__t<k>``; read all of a
  file's time points at once with :func:`read_time_points`) or read at one index (an int). T comes
  from the axes of the metadata; a file without axes and with more than one plane has no known T,
  so ``split`` and an index refuse it rather than guess.
* :attr:`ReadOptions.channels` picks and orders planes by index or by channel name; ``None`` entries
  become blank (zero) planes.
* :attr:`ReadOptions.pixel_size` (µm per pixel) resamples every image whose metadata gives a pixel
  size to that size. Without it, a set whose pixel sizes differ by more than 1 % is refused, naming
  two files (:class:`PixelSizeCheck`).

Ids (``paper-model.md`` §1): the organoid id is the last ``_``-separated token of the file's stem,
the stem being the name without its image suffixes (``a_12.ome.tif`` -> ``a_12`` -> 12); the class is
``id // 100``. Crops written by ``corrclust images crop`` are named ``<field>__<k>`` and carry no
class. Plate, well and site are parsed from the name (:func:`parse_name`): Operetta
(``r02c03f01p01-ch1sk1fk1fl1.tiff``) and ImageXpress (``Plate1_B03_s1_w1.tif``) by default, or a
regex with named groups. The mask of ``<stem>.<ext>`` is ``<stem>_mask.tif`` in the same folder.

Any file that cannot be read raises :class:`ImageReadError` (a ``ValueError``) naming the file, so
callers processing a folder can report the bad file and continue (:func:`iter_images`).
"""

from __future__ import annotations

import dataclasses
import math
import re
import string
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from corrclust.formats.csv_rows import read_rows
from corrclust.formats.numbers import parse_int
from corrclust.formats.spreadsheet import restore

__all__ = [
    "IMAGE_SUFFIXES",
    "VENDOR_SUFFIXES",
    "Z_PROJECTIONS",
    "T_MODES",
    "ImageReadError",
    "ImageData",
    "ReadOptions",
    "ImageRecord",
    "ScanResult",
    "PixelSizeCheck",
    "read_image",
    "read_image_data",
    "float_to_uint16",
    "FLOAT_TOP_QUANTILE",
    "read_record",
    "read_time_points",
    "time_points",
    "split_time_points",
    "read_mask",
    "mask_path",
    "is_mask_file",
    "is_image_path",
    "image_stem",
    "organoid_id",
    "parse_channels",
    "resolve_channels",
    "parse_name",
    "NAME_PATTERNS",
    "list_images",
    "missing_folder_message",
    "scan_images",
    "iter_images",
]

_TIFF_SUFFIXES = (".tif", ".tiff")
_PIL_SUFFIXES = (".png", ".jpg", ".jpeg")
_ZARR_SUFFIX = ".zarr"
#: Vendor formats read by bioio, with the plugin module (and package) that reads each.
VENDOR_SUFFIXES = {".czi": "bioio_czi", ".nd2": "bioio_nd2", ".lif": "bioio_lif"}
IMAGE_SUFFIXES = _TIFF_SUFFIXES + _PIL_SUFFIXES + (_ZARR_SUFFIX,) + tuple(VENDOR_SUFFIXES)
# Suffixes removed, longest first, to get a file's stem (ids, masks, crop names).
_STEMMED = (".ome.tiff", ".ome.tif", ".ome.zarr") + IMAGE_SUFFIXES
_MASK_SUFFIX = "_mask"
#: Separator between a field's stem and the crop number in crop names (``<field>__<k>.tif``).
CROP_SEPARATOR = "__"
Z_PROJECTIONS = ("max", "mean", "sum", "middle")
#: What :attr:`ReadOptions.t` may be besides a time-point index.
T_MODES = ("refuse", "split")
#: Between a file's stem and the time point in the name of one time point (``<stem>__t<k>``).
TIME_SEPARATOR = CROP_SEPARATOR + "t"
#: Relative difference of pixel sizes that counts as "the same size".
PIXEL_SIZE_TOLERANCE = 0.01
_FORMATS_HINT = "pip install 'corrclust[formats]'"


class ImageReadError(ValueError):
    """An image (or mask) file is missing, corrupt, or has a layout corrclust cannot use."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot read image {self.path}: {reason}")


@dataclass(frozen=True)
class ReadOptions:
    """How a file becomes an ``(H, W, C)`` image (see the module docstring).

    ``channels``: planes by index (int) or channel name (str), ``None`` for a blank plane; ``None``
    (the default) keeps every plane in the file's order. ``z_project``: one of :data:`Z_PROJECTIONS`.
    ``t``: what a time series becomes: ``"refuse"`` (the default; ``None`` means the same),
    ``"split"`` (every time point an image of its own) or an index (that time point only).
    ``pixel_size``: µm per pixel to resample to (``None``: no resampling; mixed sizes are refused by
    :class:`PixelSizeCheck`).
    """

    channels: tuple[int | str | None, ...] | None = None
    z_project: str = "max"
    t: int | str | None = "refuse"
    pixel_size: float | None = None

    def __post_init__(self) -> None:
        if self.z_project not in Z_PROJECTIONS:
            raise ValueError(
                f"unknown Z projection {self.z_project!r} (choose one of {', '.join(Z_PROJECTIONS)})"
            )
        if self.t is None:
            object.__setattr__(self, "t", "refuse")
        elif isinstance(self.t, (int, np.integer)) and not isinstance(self.t, bool):
            if self.t < 0:
                raise ValueError(f"the time point must be an integer >= 0, got {self.t!r}")
            object.__setattr__(self, "t", int(self.t))
        elif self.t not in T_MODES:
            raise ValueError(f"--t takes refuse, split or a time-point index >= 0, got {self.t!r}")
        if self.pixel_size is not None and not (self.pixel_size > 0 and math.isfinite(self.pixel_size)):
            raise ValueError(f"the pixel size must be a positive number of µm, got {self.pixel_size!r}")
        if self.channels is not None:
            if not self.channels or all(c is None for c in self.channels):
                raise ValueError("the channel selection selects no plane")
            for c in self.channels:
                if c is not None and not isinstance(c, (int, str)):
                    raise ValueError(f"a channel is an index, a name or None, got {c!r}")
                if isinstance(c, int) and c < 0:
                    raise ValueError(f"channel index {c} is negative")

    def without_channels(self) -> ReadOptions:
        """The same options keeping every plane (masks, and fields whose crops are selected later)."""
        return ReadOptions(None, self.z_project, self.t, self.pixel_size)

    def at_time(self, t: int | str | None) -> ReadOptions:
        """The same options reading time point ``t`` (a record's; ``None`` keeps these options)."""
        return self if t is None else ReadOptions(self.channels, self.z_project, t, self.pixel_size)


DEFAULT_OPTIONS = ReadOptions()


@dataclass
class ImageData:
    """An image as read: pixels ``(H, W, C)`` and what the file says about them.

    ``channel_names`` has one name per plane of ``pixels`` (``None`` when the file names none);
    ``pixel_size`` is µm per pixel in X (``None`` when unknown; after resampling, the target);
    ``axes`` the file's axes as read (e.g. ``TCZYX``); ``z_planes`` how many Z planes were projected;
    ``t`` the time point read from a time series (``None`` when the file has none).
    """

    path: Path
    pixels: np.ndarray
    channel_names: tuple[str | None, ...] | None = None
    pixel_size: float | None = None
    axes: str = ""
    z_planes: int = 1
    t: int | None = None


@dataclass(frozen=True)
class ImageRecord:
    """One image of a collection.

    ``label`` is the class as a string (``str(id // 100)`` in the paper's layout, the folder name in
    the class-folder layout, a table's ``class`` column) or ``None`` when unknown; ``subset`` is a
    free tag (e.g. ``train``/``test``/``unseen``) or ``None``. ``plate``, ``well`` and ``site`` come
    from the file name (:func:`parse_name`) or an ids table; ``source`` is the field a crop was cut from.
    ``t`` is the time point of a file split by ``--t split`` (``None`` for the whole file) and
    ``frames`` the file's number of time points; :attr:`name` is then ``<stem>__t<k>``.
    """

    path: Path
    id: int
    label: str | None = None
    subset: str | None = None
    plate: str | None = None
    well: str | None = None
    site: str | None = None
    source: str | None = None
    t: int | None = None
    frames: int = 1

    @property
    def name(self) -> str:
        """The image's name: the file's stem, and for one time point ``<stem>__t<k>``, ``k`` zero-padded
        to the width of the file's last time point (``__t07`` of 12) so names sort in time order."""
        stem = image_stem(self.path)
        if self.t is None:
            return stem
        return f"{stem}{TIME_SEPARATOR}{self.t:0{len(str(max(self.frames - 1, 0)))}d}"

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
# names


def image_stem(path: str | Path) -> str:
    """The file name without its image suffixes: ``a_12.ome.tif`` -> ``a_12``, ``w.ome.zarr`` -> ``w``."""
    name = Path(path).name
    low = name.lower()
    for suffix in _STEMMED:
        if low.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return Path(path).stem


def _suffix(path: Path) -> str:
    low = path.name.lower()
    if low.endswith(_ZARR_SUFFIX):
        return _ZARR_SUFFIX
    return path.suffix.lower()


def is_mask_file(path: str | Path) -> bool:
    """True for ``*_mask.<ext>`` files (masks are skipped when listing images)."""
    return image_stem(path).endswith(_MASK_SUFFIX)


def is_image_path(path: str | Path) -> bool:
    """An image this module reads: a file with an image suffix, or a ``.zarr`` folder; not a mask."""
    p = Path(path)
    if p.name.startswith(".") or is_mask_file(p):
        return False
    if p.is_dir():
        return p.name.lower().endswith(_ZARR_SUFFIX)
    # a link whose target is gone is listed, so that reading it names it (audit qa16: one was left
    # out of the folder without a word, unlike a corrupt file)
    return (p.is_file() or p.is_symlink()) and _suffix(p) in IMAGE_SUFFIXES and _suffix(p) != _ZARR_SUFFIX


def mask_path(image_path: str | Path) -> Path:
    """``<folder>/<stem>_mask.tif`` for ``<folder>/<stem>.<ext>``."""
    p = Path(image_path)
    return p.with_name(image_stem(p) + _MASK_SUFFIX + ".tif")


def organoid_id(path: str | Path) -> int:
    """The organoid id: the last ``_``-separated token of the file stem, as an int."""
    stem = image_stem(path)
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


#: Default high-content naming schemes, tried in this order. Named groups: plate, well (or row and
#: column), site; a row may be a number (1 = A) or a letter.
NAME_PATTERNS = {
    # PerkinElmer Operetta / Opera Phenix: r02c03f01p01-ch1sk1fk1fl1.tiff
    "operetta": r"^r(?P<row>\d{1,2})c(?P<column>\d{1,2})f(?P<site>\d{1,3})p\d+-ch\d+",
    # Molecular Devices ImageXpress: <plate>_B03_s1_w1<uuid>.tif (site and wavelength optional)
    "imagexpress": r"^(?:(?P<plate>.*?)_)?(?P<well>[A-Pa-p]\d{2})(?:_s(?P<site>\d+))?(?:_w\d+)?(?:[0-9A-Fa-f-]{36})?$",
}


def _well_name(row: str, column: str) -> str:
    r = int(row) if row.isdigit() else string.ascii_uppercase.index(row.upper()) + 1
    if not 1 <= r <= 26:
        raise ValueError(f"plate row {row!r} out of range")
    return f"{string.ascii_uppercase[r - 1]}{int(column):02d}"


def compile_name_pattern(pattern: str) -> re.Pattern:
    """A user's ``--name-pattern``: a regex with named groups among plate, well, row, column, site."""
    try:
        rx = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"--name-pattern {pattern!r} is not a regular expression ({exc})") from None
    groups = set(rx.groupindex)
    if not ("well" in groups or {"row", "column"} <= groups):
        raise ValueError(
            f"--name-pattern {pattern!r} needs a named group 'well' or the groups 'row' and 'column' "
            "(e.g. '_(?P<well>[A-P][0-9]{2})_s(?P<site>[0-9]+)')"
        )
    return rx


def parse_name(path: str | Path, pattern: str | re.Pattern | None = None) -> dict[str, str]:
    """Plate, well and site from a file name (empty when the name matches no scheme).

    ``pattern`` (a regex searched in the stem, with named groups plate, well or row+column, site)
    replaces the default :data:`NAME_PATTERNS`. Wells come back as ``B03`` (row letter, two-digit
    column).
    """
    stem = image_stem(path)
    if pattern is None:
        candidates = [re.compile(p) for p in NAME_PATTERNS.values()]
    else:
        candidates = [pattern if isinstance(pattern, re.Pattern) else compile_name_pattern(pattern)]
    for rx in candidates:
        m = rx.search(stem)
        if not m:
            continue
        g = {k: v for k, v in m.groupdict().items() if v}
        out: dict[str, str] = {}
        try:
            if "well" in g:
                w = g["well"]
                wm = re.fullmatch(r"([A-Za-z])0*(\d+)", w)
                out["well"] = _well_name(wm.group(1), wm.group(2)) if wm else w
            elif "row" in g and "column" in g:
                out["well"] = _well_name(g["row"], g["column"])
        except ValueError:
            continue
        if "plate" in g:
            out["plate"] = g["plate"]
        if "site" in g:
            out["site"] = str(int(g["site"])) if g["site"].isdigit() else g["site"]
        if out:
            return out
    return {}


# --------------------------------------------------------------------------------------------
# single files: raw arrays and metadata per format


@dataclass
class _Raw:
    array: Any  # numpy or dask array; None when only the metadata was read
    axes: str | None  # one letter per dimension, or None when the file does not say
    channel_names: list[str | None] | None = None
    pixel_size: float | None = None  # µm
    stored_shape: tuple[int, ...] | None = None  # the shape when ``array`` is None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape) if self.array is not None else tuple(self.stored_shape or ())


_UNIT_TO_UM = {
    "µm": 1.0,
    "um": 1.0,
    "micron": 1.0,
    "microns": 1.0,
    "micrometer": 1.0,
    "micrometre": 1.0,
    "\\u00B5m": 1.0,
    "nm": 1e-3,
    "nanometer": 1e-3,
    "mm": 1e3,
    "millimeter": 1e3,
    "cm": 1e4,
    "centimeter": 1e4,
    "m": 1e6,
    "meter": 1e6,
}


def _to_um(value: Any, unit: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    factor = _UNIT_TO_UM.get(str(unit).strip().lower() if unit is not None else "µm")
    if factor is None or not (v > 0 and math.isfinite(v)):
        return None
    return v * factor


def _check_tiff_complete(tif: Any, series: Any, path: Path) -> None:
    """Refuse a truncated file before decoding: some decoders (JPEG) fill missing data silently."""
    size = path.stat().st_size
    for page in series.pages:
        if page is None:
            continue
        offsets = getattr(page, "dataoffsets", ()) or ()
        counts = getattr(page, "databytecounts", ()) or ()
        for off, n in zip(offsets, counts, strict=False):
            if off + n > size:
                raise ImageReadError(
                    path,
                    f"truncated file: image data runs to byte {off + n}, the file has {size} "
                    "bytes (an incomplete copy or download?)",
                )


def _tiff_pixel_size(tif: Any, page: Any) -> float | None:
    import tifffile

    try:
        unit = int(page.resolutionunit)
        xres = float(page.resolution[0])
    except Exception:
        return None
    if not xres > 0 or (xres == 1.0 and unit == 1):
        return None  # tifffile's default (1 pixel per unitless unit): no information
    if unit in (int(tifffile.RESUNIT.INCH), int(tifffile.RESUNIT.CENTIMETER)):
        per = 25400.0 if unit == int(tifffile.RESUNIT.INCH) else 10000.0
        size = per / xres
        # 72 or 96 dpi and the like are screen defaults, not a microscope's calibration.
        return None if size > 100.0 else size
    ij = tif.imagej_metadata or {}
    if unit == 1 and ij.get("unit"):
        return _to_um(1.0 / xres, ij["unit"])
    return None


def _read_tiff(path: Path, pixels: bool = True) -> _Raw:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        if not tif.series:
            raise ImageReadError(path, "no image data")
        if tif.is_ome and len(tif.series) > 1:
            raise ImageReadError(
                path,
                f"an OME-TIFF with {len(tif.series)} images (series, e.g. positions); "
                "corrclust reads one image per file (save each series to its own file)",
            )
        series = tif.series[0]
        _check_tiff_complete(tif, series, path)
        axes = series.axes
        shape = tuple(series.shape)
        arr = series.asarray() if pixels else None
        names: list[str | None] | None = None
        size: float | None = None
        if tif.is_ome and tif.ome_metadata:
            try:
                ome = tifffile.xml2dict(tif.ome_metadata)["OME"]
                image = ome["Image"][0] if isinstance(ome["Image"], list) else ome["Image"]
                ome_pixels = image["Pixels"]
                chans = ome_pixels.get("Channel", [])
                chans = chans if isinstance(chans, list) else [chans]
                if chans and any(c.get("Name") for c in chans):
                    names = [str(c["Name"]) if c.get("Name") is not None else None for c in chans]
                if "PhysicalSizeX" in ome_pixels:
                    size = _to_um(ome_pixels["PhysicalSizeX"], ome_pixels.get("PhysicalSizeXUnit", "µm"))
            except (KeyError, TypeError, ValueError, IndexError):
                pass  # an OME-XML we cannot parse: the pixels are still good
        if size is None:
            size = _tiff_pixel_size(tif, series.pages[0] if series.pages else tif.pages[0])
        # A fully opaque alpha plane (an extra sample marked as alpha, all at the maximum) is no
        # channel: an RGBA TIFF read as 4 channels went to PQAP, alpha as its membrane plane. An
        # alpha that varies is kept: tifffile marks the 4th plane of any (y, x, 4) array as alpha.
        page = series.pages[0] if series.pages else tif.pages[0]
        extra = tuple(int(e) for e in (getattr(page, "extrasamples", None) or ()))
        if (
            arr is not None
            and len(extra) == 1
            and extra[0] in (1, 2)
            and "S" in axes
            and shape[axes.index("S")] > 1
        ):
            at = axes.index("S")
            if _opaque(np.take(arr, shape[at] - 1, axis=at)):
                shape = shape[:at] + (shape[at] - 1,) + shape[at + 1 :]
                arr = np.take(arr, range(shape[at]), axis=at)
    # tifffile names an axis the file does not describe 'Q' (or 'I' for a plain page sequence):
    # with such an axis longer than 1 the layout is unknown and left to the shape rule.
    if any(a in "QI" and n > 1 for a, n in zip(axes, shape, strict=False)):
        return _Raw(arr, None, names, size, shape)
    return _Raw(arr, axes, names, size, shape)


#: Pillow modes whose last plane is transparency, not intensity.
_PIL_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")


def _opaque(plane: np.ndarray) -> bool:
    """Whether an alpha plane is fully opaque (every value the dtype's maximum): no information."""
    return plane.size > 0 and plane.dtype.kind == "u" and bool((plane == np.iinfo(plane.dtype).max).all())


def _read_pil(path: Path) -> _Raw:
    import imageio.v3 as iio
    from PIL import Image

    with Image.open(path) as im:
        mode, transparent = im.mode, "transparency" in im.info
    # CMYK JPEGs came back as 4 planes and opaque RGBA/LA PNGs (screenshots, exports) with their
    # alpha as one more channel: four planes made the default route PQAP, alpha its membrane plane.
    # An alpha that varies is kept: Pillow and imageio save any 4-plane uint8 array as RGBA.
    arr = np.asarray(iio.imread(path, plugin="pillow", mode="RGB" if mode == "CMYK" else None))
    if arr.ndim == 3 and arr.shape[2] in (2, 4) and (mode in _PIL_ALPHA_MODES or transparent):
        if _opaque(arr[:, :, -1]):
            arr = arr[:, :, :-1]
            if arr.shape[2] == 1:
                arr = arr[:, :, 0]
    return _Raw(arr, "YX" if arr.ndim == 2 else "YXS" if arr.ndim == 3 else None)


def _read_zarr(path: Path) -> _Raw:
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    location = parse_url(str(path), mode="r")
    if location is None:
        raise ImageReadError(path, "not a Zarr store")
    nodes = list(Reader(location)())
    if not nodes or not nodes[0].data:
        raise ImageReadError(path, "no OME-Zarr image in this store (expected 'multiscales' metadata)")
    node = nodes[0]
    meta = node.metadata
    axes_meta = meta.get("axes")
    data = node.data[0]  # the full-resolution level
    if axes_meta:
        axes = "".join(str(a["name"] if isinstance(a, dict) else a)[0].upper() for a in axes_meta)
    else:  # NGFF 0.1/0.2 had no axes: always 5-D TCZYX
        axes = "TCZYX"[-data.ndim :]
    size = None
    transforms = meta.get("coordinateTransformations")
    if transforms and axes_meta:
        for t in transforms[0]:
            if t.get("type") == "scale" and len(t.get("scale", ())) == len(axes):
                unit = (
                    axes_meta[axes.index("X")].get("unit")
                    if isinstance(axes_meta[axes.index("X")], dict)
                    else None
                )
                size = _to_um(t["scale"][axes.index("X")], unit or "µm")
    names = meta.get("channel_names")
    return _Raw(data, axes, [str(n) for n in names] if names else None, size)


def _read_vendor(path: Path, suffix: str, pixels: bool = True) -> _Raw:
    plugin = VENDOR_SUFFIXES[suffix]
    try:
        import importlib

        from bioio import BioImage

        module = importlib.import_module(plugin)
    except ImportError:
        raise ImageReadError(
            path,
            f"{suffix} files are read by bioio with its plugin {plugin.replace('_', '-')}, "
            f"which is not installed: {_FORMATS_HINT}",
        ) from None
    try:
        img = BioImage(path, reader=module.Reader)
    except Exception as exc:
        first = " ".join(str(exc).split()).split(". ")[0]
        raise ImageReadError(path, f"not a readable {suffix[1:].upper()} file ({first[:200]})") from None
    scenes = list(getattr(img, "scenes", ()) or ())
    if len(scenes) > 1:
        raise ImageReadError(
            path,
            f"holds {len(scenes)} scenes/series; corrclust reads files with one scene "
            "(export each scene to its own file)",
        )
    order = "".join(img.dims.order)
    arr = np.asarray(img.data) if pixels else None  # axes = order (TCZYX, plus S for RGB)
    pps = img.physical_pixel_sizes
    names: list[str | None] | None = [str(c) for c in img.channel_names] if img.channel_names else None
    size = _to_um(pps.X, "µm") if pps and pps.X else None
    return _Raw(arr, order, names, size, tuple(int(n) for n in img.shape))


def _read_raw(path: Path, pixels: bool = True) -> _Raw:
    """The file's array (``pixels=False``: its shape only, where the format can say it unread)."""
    suffix = _suffix(path)
    if suffix == _ZARR_SUFFIX:
        if not path.is_dir():
            raise ImageReadError(
                path, "no such Zarr folder" if not path.exists() else "a .zarr must be a folder"
            )
        return _read_zarr(path)
    if not path.is_file():
        if path.is_symlink() and not path.exists():
            raise ImageReadError(path, f"a symbolic link to a missing file ({path.readlink()})")
        raise ImageReadError(path, "no such file" if not path.exists() else "not a regular file")
    if suffix not in IMAGE_SUFFIXES:
        raise ImageReadError(
            path, f"unsupported file type {path.suffix!r} (expected one of {', '.join(IMAGE_SUFFIXES)})"
        )
    if suffix in _TIFF_SUFFIXES:
        return _read_tiff(path, pixels)
    if suffix in VENDOR_SUFFIXES:
        return _read_vendor(path, suffix, pixels)
    return _read_pil(path)


# --------------------------------------------------------------------------------------------
# dimensions


def _channel_guess(shape: tuple[int, ...]) -> str | None:
    """Where the shape rule puts the channels of a squeezed array without axes: ``"none"`` (2-D),
    ``"first"``, ``"last"``, or ``None`` when it cannot tell (so Z or T may hide in it)."""
    if len(shape) == 2:
        return "none"
    if len(shape) != 3:
        return None
    a, b, c = shape
    if a <= 4 and b > 4 and c > 4:  # small leading dimension: channel-first
        return "first"
    if c <= 4 or c < min(a, b):
        return "last"
    return None


def _guess_channel_last(arr: np.ndarray, path: Path) -> np.ndarray:
    """(H, W, C) from a 2-D or 3-D array whose file gave no axes: decided by the shape."""
    where = _channel_guess(arr.shape)
    if where == "none":
        return arr[:, :, None]
    if where == "first":
        return np.moveaxis(arr, 0, -1)
    if where == "last":
        return arr
    raise ImageReadError(
        path,
        f"cannot tell the channel axis of shape {arr.shape} and the file names no axes "
        "(a Z-stack or time series without metadata? save it as OME-TIFF)",
    )


def _project_z(arr: Any, axis: int, how: str, path: Path) -> Any:
    n = arr.shape[axis]
    if how == "middle":
        return np.take(arr, n // 2, axis=axis)
    if how == "max":
        return arr.max(axis=axis)
    dtype = np.dtype(arr.dtype)
    if dtype.kind == "f":  # float planes stay float (made uint16 once, after the projection)
        return np.asarray(arr.mean(axis=axis) if how == "mean" else arr.sum(axis=axis))
    if how == "mean":
        out = np.rint(np.asarray(arr.mean(axis=axis, dtype=np.float64)))
        return out.astype(dtype)
    total = np.asarray(arr.sum(axis=axis, dtype=np.uint64))
    if dtype.kind == "u" and total.max(initial=0) > 65535:
        import warnings

        warnings.warn(
            f"{path}: the Z sum exceeds 65535 and saturates (use --z-project mean or max)", stacklevel=3
        )
    return np.minimum(total, 65535).astype(np.uint16)


def _time_count(raw: _Raw) -> int | None:
    """The number of time points by the file's axes (1 without a T axis). A file without axes has
    none when the shape rule reads it as an image with or without channels; otherwise (``None``)
    its T is unknown."""
    shape = raw.shape
    if raw.axes is not None and len(raw.axes) == len(shape):
        axes = raw.axes.upper()
        return int(shape[axes.index("T")]) if "T" in axes else 1
    return 1 if _channel_guess(tuple(n for n in shape if n != 1)) is not None else None


def _check_time(raw: _Raw, path: Path, t: int | str) -> None:
    """Apply the ``--t`` rule: refuse what it refuses (a file without a time series is always read)."""
    n = _time_count(raw)
    if n is None:
        if t == "refuse":
            return  # no axes: the shape rule decides, as it always has
        raise ImageReadError(
            path,
            f"--t {t}: the file names no axes, so whether its {len(raw.shape)}-D shape "
            f"{tuple(raw.shape)} holds time points is unknown; save it as OME-TIFF with axes "
            "(e.g. tifffile.imwrite(..., metadata={'axes': 'TCYX'}))",
        )
    if n > 1:
        if t == "refuse":
            raise ImageReadError(
                path,
                f"time series of {n} time points (axes {raw.axes}); pass --t split to read every time "
                "point as an image of its own, or --t INDEX for one",
            )
        if t == "split":
            raise ImageReadError(
                path,
                f"time series of {n} time points: with --t split read it with read_time_points, "
                "or list it with list_images(..., read=...) / split_time_points",
            )
        if isinstance(t, int) and t >= n:
            raise ImageReadError(path, f"--t {t} is past the last time point ({n - 1})")


def _arrange(raw: _Raw, path: Path, options: ReadOptions) -> tuple[np.ndarray, int]:
    """(H, W, C) from the raw array: time point picked, Z projected, channel axis last."""
    _check_time(raw, path, options.t if options.t is not None else "refuse")
    arr = raw.array
    axes = raw.axes
    if axes is None or len(axes) != arr.ndim:
        a = np.squeeze(np.asarray(arr))
        if a.ndim not in (2, 3):
            raise ImageReadError(
                path,
                f"{a.ndim}-D image of shape {tuple(a.shape)} whose file names no axes, so Z, "
                "time and channels cannot be told apart; save it as OME-TIFF or ImageJ "
                "hyperstack, or with tifffile.imwrite(..., metadata={'axes': 'ZCYX'})",
            )
        return _guess_channel_last(a, path), 1
    axes = axes.upper()
    # Axes of length 1 carry nothing (a single time point, plane, channel ...).
    keep = [k for k, n in enumerate(arr.shape) if n != 1 or axes[k] in "YX"]
    if len(keep) != arr.ndim:
        arr = arr.reshape(tuple(arr.shape[k] for k in keep))
        axes = "".join(axes[k] for k in keep)
    if "T" in axes:  # more than one time point (checked above), and options.t is an index
        arr = np.take(arr, int(options.t or 0), axis=axes.index("T"))
        axes = axes.replace("T", "")
    z_planes = 1
    if "Z" in axes:
        z_planes = arr.shape[axes.index("Z")]
        arr = _project_z(arr, axes.index("Z"), options.z_project, path)
        axes = axes.replace("Z", "")
    arr = np.asarray(arr)
    if "Y" not in axes or "X" not in axes:
        raise ImageReadError(path, f"image without Y and X axes (axes {axes}, shape {arr.shape})")
    others = [a for a in axes if a not in "YX"]
    if len(others) > 1:
        raise ImageReadError(
            path,
            f"image with axes {axes} of shape {arr.shape}: corrclust reads Y, X, one channel axis, Z and T",
        )
    order = [axes.index("Y"), axes.index("X")] + [axes.index(a) for a in others]
    arr = np.transpose(arr, order)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return arr, z_planes


# Float images (deconvolved, processed) become uint16 by one scale per image: the image's finite
# values over their FLOAT_TOP_QUANTILE quantile ("higher" method: the maximum for images of under
# 10,000 values) times 65535, rounded; negative values and NaN become 0, values above the
# quantile and +inf 65535. No offset is subtracted: every intensity feature that compares images
# (the profile route's, relative to the object's own mean) and the detection (flat-field
# division) are unchanged by a scale but not by an offset, so images stay comparable; the
# quantile keeps a few hot pixels (0.01 %) from squeezing the rest into a few levels.
FLOAT_TOP_QUANTILE = 0.9999


def float_to_uint16(arr: np.ndarray, path: str | Path = "") -> np.ndarray:
    """A float image as uint16 by the rule of :data:`FLOAT_TOP_QUANTILE` (the same shape);
    :class:`ImageReadError` when no value is finite."""
    a = np.asarray(arr)
    finite = np.isfinite(a)
    values = a[finite]
    if values.size == 0:
        raise ImageReadError(path, "no finite pixel value (every pixel is NaN or infinite)")
    top = float(np.quantile(values, FLOAT_TOP_QUANTILE, method="higher"))
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):  # replaced below
        scaled = a.astype(np.float64) * 65535.0 / top if top > 0 else np.zeros(a.shape)
        out = np.where(finite, scaled, np.where(a > 0, 65535.0, 0.0))  # NaN > 0 is False: NaN -> 0
    return np.rint(np.clip(out, 0.0, 65535.0)).astype(np.uint16)


def _check_dtype(arr: np.ndarray, path: Path) -> np.ndarray:
    if arr.dtype == np.uint8 or arr.dtype == np.uint16:
        return arr
    if arr.dtype.kind == "f":
        return float_to_uint16(arr, path)
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8)
    raise ImageReadError(
        path, f"unsupported pixel type {arr.dtype} (expected 8- or 16-bit unsigned, or float)"
    )


def _select(
    arr: np.ndarray, names: tuple[str | None, ...] | None, spec: Sequence[int | str | None], path: Path
) -> tuple[np.ndarray, tuple[str | None, ...] | None]:
    index = resolve_channels(spec, arr.shape[2], names, path)
    planes = [arr[:, :, i] if i is not None else np.zeros(arr.shape[:2], arr.dtype) for i in index]
    new_names = tuple(names[i] if (names and i is not None) else None for i in index) if names else None
    return np.stack(planes, axis=2), new_names


def resolve_channels(
    spec: Sequence[int | str | None], n_channels: int, names: Sequence[str | None] | None, path: str | Path
) -> list[int | None]:
    """Plane indices of a channel selection: ints stay, names are looked up (case-insensitively)."""
    out: list[int | None] = []
    for c in spec:
        if c is None:
            out.append(None)
        elif isinstance(c, str):
            low = [n.lower() if n else None for n in (names or ())]
            if c.lower() not in low:
                have = ", ".join(repr(n) for n in names if n) if names and any(names) else "none"
                raise ImageReadError(path, f"no channel named {c!r} (the file's channel names: {have})")
            out.append(low.index(c.lower()))
        elif c >= n_channels:
            have = f" ({', '.join(str(n) for n in names)})" if names and any(names) else ""
            raise ImageReadError(path, f"channel {c} requested, the image has {n_channels} channel(s){have}")
        else:
            out.append(int(c))
    return out


def _resample(arr: np.ndarray, size: float, target: float, order: int) -> np.ndarray:
    from skimage.transform import rescale

    factor = size / target
    if abs(factor - 1.0) <= PIXEL_SIZE_TOLERANCE:
        return arr
    out = rescale(
        arr, factor, order=order, channel_axis=-1, preserve_range=True, anti_aliasing=factor < 1 and order > 0
    )
    info = np.iinfo(arr.dtype)
    return np.clip(np.rint(out), info.min, info.max).astype(arr.dtype)


def _unreadable(p: Path, exc: BaseException) -> ImageReadError:
    """The one-line error for a decoder failure (any exception means "this file is not readable")."""
    if isinstance(exc, ImageReadError):
        return exc
    if isinstance(exc, MemoryError):
        return ImageReadError(p, "too large to read into memory")
    message = " ".join(str(exc).split()) or type(exc).__name__
    return ImageReadError(p, f"corrupt or unreadable ({type(exc).__name__}: {message[:200]})")


def _load_raw(p: Path, pixels: bool = True) -> _Raw:
    try:
        return _read_raw(p, pixels)
    except ImageReadError:
        raise
    except Exception as exc:
        raise _unreadable(p, exc) from exc


def _finish(raw: _Raw, p: Path, options: ReadOptions, mask: bool) -> ImageData:
    """:class:`ImageData` from a file's raw array under ``options`` (one time point at most)."""
    try:
        arr, z_planes = _arrange(raw, p, options)
    except ImageReadError:
        raise
    except Exception as exc:
        raise _unreadable(p, exc) from exc
    if arr.size == 0:
        raise ImageReadError(p, f"empty image of shape {arr.shape}")
    arr = _check_dtype(arr, p)
    names = tuple(raw.channel_names) if raw.channel_names and len(raw.channel_names) == arr.shape[2] else None
    if options.channels is not None and not mask:
        arr, names = _select(arr, names, options.channels, p)
    size = raw.pixel_size
    if options.pixel_size is not None:
        if size is None:
            raise ImageReadError(
                p,
                "the file gives no pixel size, so it cannot be resampled to --pixel-size "
                f"{options.pixel_size:g} µm",
            )
        arr = _resample(arr, size, options.pixel_size, 0 if mask else 1)
        size = options.pixel_size
    n_t = _time_count(raw)
    t = options.t if isinstance(options.t, int) and n_t is not None and n_t > 1 else None
    return ImageData(p, np.ascontiguousarray(arr), names, size, raw.axes or "", z_planes, t)


def read_image_data(path: str | Path, options: ReadOptions | None = None, *, mask: bool = False) -> ImageData:
    """Read any supported file as :class:`ImageData` (pixels ``(H, W, C)`` plus metadata).

    ``options`` pick the time point, Z projection, channels and pixel size (:class:`ReadOptions`).
    ``mask=True`` ignores the channel selection and resamples with nearest neighbours. Raises
    :class:`ImageReadError` naming the file when it is missing, truncated, corrupt, or of a layout
    corrclust cannot use.
    """
    p = Path(path)
    return _finish(_load_raw(p), p, options or DEFAULT_OPTIONS, mask)


def time_points(path: str | Path) -> int | None:
    """How many time points the file holds by its metadata (1 when it has no T axis), reading the
    pixels only where the format cannot tell the shape without them; ``None`` when the file names no
    axes and has more than one plane, so its T is unknown."""
    p = Path(path)
    return _time_count(_load_raw(p, pixels=False))


def read_time_points(path: str | Path, options: ReadOptions | None = None) -> list[ImageData]:
    """Every time point of a file as its own :class:`ImageData` (``t`` = 0, 1, ...), the file read
    once; a file without a time series gives one image (``t`` None). ``options.t`` is ignored; the
    other options apply to every time point. A file whose T is unknown (no axes) is refused."""
    p = Path(path)
    options = options or DEFAULT_OPTIONS
    raw = _load_raw(p)
    n = _time_count(raw)
    if n is None:
        _check_time(raw, p, "split")  # raises: T unknown
    if n is None or n <= 1:
        return [_finish(raw, p, options.at_time("split"), False)]
    return [_finish(raw, p, options.at_time(k), False) for k in range(n)]


def read_record(record: ImageRecord, options: ReadOptions | None = None) -> ImageData:
    """Read the image of a record: its file, at its time point when it is one of a split series."""
    return read_image_data(record.path, (options or DEFAULT_OPTIONS).at_time(record.t))


def read_image(path: str | Path, options: ReadOptions | None = None) -> np.ndarray:
    """Read an image as an ``(H, W, C)`` uint8/uint16 array, channel-last (see :func:`read_image_data`)."""
    return read_image_data(path, options).pixels


def read_mask(path: str | Path, options: ReadOptions | None = None) -> np.ndarray:
    """Read a mask image as a bool ``(H, W)`` array: a pixel is foreground if any channel is > 0."""
    return np.any(read_image_data(path, options, mask=True).pixels > 0, axis=2)


class PixelSizeCheck:
    """Refuses a set of images whose pixel sizes differ (unless they are resampled to one size).

    Images without a pixel size are accepted with any other (nothing to compare).
    """

    def __init__(self, options: ReadOptions | None = None) -> None:
        self.resampled = options is not None and options.pixel_size is not None
        self.first: tuple[Path, float] | None = None

    def add(self, data: ImageData) -> None:
        if self.resampled or data.pixel_size is None:
            return
        if self.first is None:
            self.first = (data.path, data.pixel_size)
            return
        path0, size0 = self.first
        if abs(data.pixel_size - size0) > PIXEL_SIZE_TOLERANCE * size0:
            raise ValueError(
                f"mixed pixel sizes: {path0} has {size0:.4g} µm, {data.path} has {data.pixel_size:.4g} µm; "
                "pass --pixel-size UM to resample every image to one size"
            )


# --------------------------------------------------------------------------------------------
# folders


def _image_files(folder: Path) -> list[Path]:
    return sorted(f for f in folder.iterdir() if is_image_path(f))


def _id_or_none(path: Path) -> int | None:
    try:
        return organoid_id(path)
    except ValueError:
        return None


def _with_names(records: list[ImageRecord], pattern: str | re.Pattern | None) -> list[ImageRecord]:
    out = []
    for r in records:
        info = parse_name(r.source or r.path, pattern)  # a crop's plate and well are its field's
        out.append(
            ImageRecord(
                r.path,
                r.id,
                r.label,
                r.subset,
                r.plate or info.get("plate"),
                r.well or info.get("well"),
                r.site or info.get("site"),
                r.source,
            )
        )
    return out


def _records_paper_layout(files: list[Path]) -> list[ImageRecord]:
    stems = [image_stem(f) for f in files]
    if all(CROP_SEPARATOR in s for s in stems):
        # Crops of `corrclust images crop`: <field>__<k>, k unique across the set; no class.
        ids = [_id_or_none(f) for f in files]
        known = [i for i in ids if i is not None]
        if len(known) == len(ids) and len(set(known)) == len(known):
            return sorted(
                (
                    ImageRecord(f, i, None, source=s.rsplit(CROP_SEPARATOR, 1)[0])
                    for f, i, s in zip(files, known, stems, strict=True)
                ),
                key=lambda r: r.id,
            )
    ids = [_id_or_none(f) for f in files]
    if all(i is None for i in ids):
        # No ids in the names: number the images 0..n-1 in name order; classes unknown.
        return [ImageRecord(f, k) for k, f in enumerate(files)]
    bad = [f for f, i in zip(files, ids, strict=False) if i is None]
    if bad:
        raise ValueError(
            f"{bad[0]}: file name does not end in an organoid id while others in the folder do "
            f"({len(bad)} such files); rename it or pass an ids table (file,id[,class][,subset])"
        )
    named = [(f, i) for f, i in zip(files, ids, strict=False) if i is not None]  # all of them, checked above
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


_TABLE_COLUMNS = ("file", "id", "class", "subset", "plate", "well", "site")


def _read_ids_table(folder: Path, table: Path) -> list[ImageRecord]:
    table = Path(table)
    if not table.is_file():
        raise FileNotFoundError(f"ids table not found: {table}")
    records: list[ImageRecord] = []
    seen_ids: dict[int, int] = {}
    seen_files: dict[Path, int] = {}
    rows = read_rows(table)
    if not rows:
        raise ValueError(f"{table}: empty ids table (expected header file,id[,class][,subset])")
    header = [h.strip().lower() for h in rows[0][1]]
    if "file" not in header or "id" not in header:
        raise ValueError(f"{table}:1: header must name columns file and id, got {','.join(header)}")
    col = {name: header.index(name) for name in _TABLE_COLUMNS if name in header}
    for lineno, row in rows[1:]:
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise ValueError(f"{table}:{lineno}: expected {len(header)} fields, got {len(row)}")
        name = row[col["file"]].strip()
        if restore(name) != name and not (folder / name).exists():
            name = restore(name)  # a table corrclust wrote (clusters.csv) quotes "=..." names
        ident = parse_int(row[col["id"]].strip())
        if ident is None:
            raise ValueError(f"{table}:{lineno}: id {row[col['id']]!r} is not an integer")
        if ident < 0:
            raise ValueError(f"{table}:{lineno}: negative id {ident}")
        path = Path(name) if Path(name).is_absolute() else folder / name
        if not name or not path.is_file():  # an empty name would be the folder itself
            raise ValueError(f"{table}:{lineno}: image file not found: {path}")
        if ident in seen_ids:
            raise ValueError(f"{table}:{lineno}: id {ident} already used on line {seen_ids[ident]}")
        key = path.resolve()
        if key in seen_files:
            raise ValueError(f"{table}:{lineno}: file {name} already listed on line {seen_files[key]}")
        seen_ids[ident] = lineno
        seen_files[key] = lineno

        def cell(name: str, row: list[str] = row) -> str | None:
            return (row[col[name]].strip() or None) if name in col else None

        records.append(
            ImageRecord(path, ident, cell("class"), cell("subset"), cell("plate"), cell("well"), cell("site"))
        )
    if not records:
        raise ValueError(f"{table}: ids table lists no images")
    return records


def list_images(
    folder: str | Path,
    ids_table: str | Path | None = None,
    *,
    name_pattern: str | re.Pattern | None = None,
    read: ReadOptions | None = None,
) -> list[ImageRecord]:
    """List the images of a folder as :class:`ImageRecord` s, in a deterministic order.

    Layouts, in this order of precedence:

    1. ``ids_table`` (CSV with header ``file,id[,class][,subset][,plate][,well][,site]``, files
       relative to ``folder``): exactly the listed images, with the given ids, classes and subsets,
       in table order.
    2. The paper's layout: images directly in ``folder`` whose names end in the organoid id
       (``..._1203.tif``, ``..._1203.ome.tif``), in id order; class = ``id // 100``. Crops named
       ``<field>__<k>`` get id ``k`` and no class. Images without ids in their names are numbered
       0..n-1 in name order with unknown class.
    3. Class folders ``folder/<class_name>/*.png``: the classes in name order get indices 1, 2, ...
       and the images, in name order within a class, ids ``class_index * 100 + k`` (a wider stride
       than 100 if a class has more than 100 images).

    Plate, well and site come from the names (:func:`parse_name` with ``name_pattern``) where the
    table does not give them. ``*_mask.*`` files are never listed as images. With ``read.t ==
    "split"`` every time point of a time series becomes a record of its own (:func:`split_time_points`).
    """
    records = _list_images(folder, ids_table, name_pattern)
    return split_time_points(records) if read is not None and read.t == "split" else records


def missing_folder_message(folder: str | Path) -> str:
    """Why ``folder`` cannot be read as an image folder: absent, or a file (say one image of it)."""
    folder = Path(folder)
    if folder.is_file():
        return f"{folder} is a file, not a folder: pass the folder that holds the images ({folder.parent})"
    return f"image folder not found: {folder}"


def _list_images(
    folder: str | Path, ids_table: str | Path | None, name_pattern: str | re.Pattern | None
) -> list[ImageRecord]:
    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(missing_folder_message(folder))
    if isinstance(name_pattern, str):
        name_pattern = compile_name_pattern(name_pattern)
    if ids_table is not None:
        return _with_names(_read_ids_table(folder, Path(ids_table)), name_pattern)
    files = _image_files(folder)
    class_dirs = sorted(
        d for d in folder.iterdir() if d.is_dir() and not d.name.startswith(".") and not is_image_path(d)
    )
    if files:
        nested = [d.name for d in class_dirs if _image_files(d)]
        if nested:
            # Images beside class folders: the folders were left out without a word, so a class
            # could vanish from the clustering unnoticed.
            import warnings

            warnings.warn(
                f"{folder} holds images and also sub-folders with images ({', '.join(nested[:3])}"
                f"{', ...' if len(nested) > 3 else ''}); only the {len(files)} image(s) directly in it are "
                "read (put every image in a class folder, or pass an ids table)",
                stacklevel=3,
            )
        return _with_names(_records_paper_layout(files), name_pattern)
    if any(_image_files(d) for d in class_dirs):
        return _with_names(_records_class_folders(folder, class_dirs), name_pattern)
    raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) found in {folder} or its class folders")


def split_time_points(records: Sequence[ImageRecord]) -> list[ImageRecord]:
    """``--t split``: every time point of a time series becomes a record of its own.

    The number of time points comes from each file's metadata (:func:`time_points`). A record of a
    file with T time points becomes T records with ``t`` = 0..T-1 (named ``<stem>__t<k>``, see
    :attr:`ImageRecord.name`), in file order and then time order. When any file is split, the ids
    of the whole set become ``file id * stride + t`` (``t`` = 0 for files without a time series),
    ``stride`` the smallest power of ten above the largest T, so they stay unique integers and
    ``id // stride`` is the file's id; labels (classes), subsets, plates and wells stay the file's.
    A file whose T cannot be read or is unknown stays one record; reading it reports why.
    """
    counts: list[int] = []
    for rec in records:
        try:
            n = time_points(rec.path) if rec.t is None else 1
        except ImageReadError:
            n = None
        counts.append(n or 1)
    largest = max(counts, default=1)
    if largest <= 1:
        return list(records)
    stride = 10 ** len(str(largest - 1))
    out: list[ImageRecord] = []
    for rec, n in zip(records, counts, strict=True):
        if n == 1:
            out.append(dataclasses.replace(rec, id=rec.id * stride))
            continue
        for k in range(n):
            out.append(dataclasses.replace(rec, id=rec.id * stride + k, t=k, frames=n))
    return out


def iter_images(
    records: Iterable[ImageRecord],
    options: ReadOptions | None = None,
    *,
    progress: bool = False,
    desc: str = "reading images",
    check_pixel_size: bool = True,
) -> Iterator[tuple[ImageRecord, ImageData | None, str | None]]:
    """Yield ``(record, image data, None)`` for readable images and ``(record, None, message)`` otherwise.

    The one loop over image files: a progress bar on stderr (``progress``), a bad file reported and
    skipped, and mixed pixel sizes refused (:class:`PixelSizeCheck`, a ``ValueError``). Records of
    one time point (:func:`split_time_points`) are read at it; the time points of one file, listed
    together, are read from it once.
    """
    records = list(records)
    iterable: Iterable[ImageRecord] = records
    if progress:
        import sys

        from tqdm.auto import tqdm

        iterable = tqdm(records, desc=desc, unit="img", file=sys.stderr)
    sizes = PixelSizeCheck(options)
    series: tuple[Path, list[ImageData] | ImageReadError] | None = None  # the last split file read
    for rec in iterable:
        try:
            if rec.t is None:
                data = read_image_data(rec.path, options)
            else:
                if series is None or series[0] != rec.path:
                    try:
                        series = (rec.path, read_time_points(rec.path, options))
                    except ImageReadError as exc:
                        series = (rec.path, exc)
                found = series[1]
                if isinstance(found, ImageReadError):
                    raise found
                if rec.t >= len(found):
                    raise ImageReadError(rec.path, f"time point {rec.t} is past the last ({len(found) - 1})")
                data = found[rec.t]
        except ImageReadError as exc:
            yield rec, None, str(exc)
            continue
        if check_pixel_size:
            sizes.add(data)
        yield rec, data, None


def scan_images(
    folder: str | Path | Sequence[ImageRecord],
    ids_table: str | Path | None = None,
    *,
    progress: bool = False,
    options: ReadOptions | None = None,
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
    for rec, img, err in iter_images(records, options, progress=progress, desc="scanning images"):
        if img is None:
            failures.append((rec.path, err or "unreadable"))
        else:
            good.append(rec)
    return ScanResult(good, failures)


def parse_channels(text: str) -> tuple[int | str | None, ...]:
    """A ``--channels`` value: comma-separated plane indices, channel names, or ``-`` for none.

    ``"0,1,3"`` -> ``(0, 1, 3)``; ``"-,-,0"`` -> ``(None, None, 0)``; ``"DAPI,GFP"`` -> names.
    """
    parts = [t.strip() for t in str(text).split(",")]
    out: list[int | str | None] = []
    for t in parts:
        if t in ("-", "", "none"):
            out.append(None)
        elif t.isdigit():
            out.append(int(t))
        elif t.startswith("-") and t[1:].isdigit():
            raise ValueError(f"--channels: negative channel index {t!r}")
        else:
            out.append(t)
    if all(c is None for c in out):
        raise ValueError(f"--channels {text!r} selects no plane")
    return tuple(out)
