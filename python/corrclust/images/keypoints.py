"""Key points of a single-organoid image, as in the paper (paper-model §2).

Each image gives two lists of key points with the 13 columns of :data:`FIELDS` (paper-model §3.1):
``features`` (used when the image is the first argument of a matching) and ``candidates`` (second
argument). Both hold

* one point per nucleus in the blue (channel 0, DAPI) and green (channel 1, PDX1-GFP) planes, at
  the label's truncated mean coordinate, ``peak_value`` = truncated mean of value/256,
  ``normalize_peak_value`` = peak_value/256 (identical in the two lists);
* red (channel 3, F-actin) intensity peaks accepted greedily in decreasing value by the paper's
  score ``(1.5 d' + 2 pres + 2 rel) / 5.5`` (> 0.5 for features, > 0.4 for candidates; each list
  tested on its own), with the local statistics over the ``(2d+1)^2 - 1`` neighbours,
  ``d = round(0.05 max(W, H))``;
* geometry around the mask barycentre: ``angle`` (up 0/360, left 90, down 180, right 270) and the
  distances relative to the boundary point on the ray (a DDA march) and to the largest such
  boundary distance of the point's list;

each list sorted by angle (a stable sort of blue, then green, then red points).

Differences from the authors' code, all documented: nuclei come from a pluggable detector
(scikit-image by default instead of StarDist); ties in the red peak order are broken in row-major
order; standard deviations are population standard deviations; a point exactly at the
barycentre gets angle 180 and relative distances 0.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from corrclust.images.io import (
    ImageReadError,
    ImageRecord,
    PixelSizeCheck,
    ReadOptions,
    read_image_data,
    read_mask,
    resolve_channels,
)
from corrclust.images.nuclei import NucleiDetector, SkimageNuclei
from corrclust.pqap.io import FIELDS

if TYPE_CHECKING:  # pragma: no cover
    from corrclust.pqap.io import KeypointSet

__all__ = [
    "FIELDS",
    "SelectionParameters",
    "extract_keypoints",
    "extract_keypoint_set",
    "red_peaks",
    "keypoint_geometry",
]

_F = {name: i for i, name in enumerate(FIELDS)}
BLUE, GREEN, RED = 0, 1, 3


@dataclass(frozen=True)
class SelectionParameters:
    """The red-channel selection parameters (the paper's values; written into the CSV header)."""

    feature_threshold: float = 0.5
    candidate_threshold: float = 0.4
    distance_weight: float = 1.5
    presence_weight: float = 2.0
    rel_peak_weight: float = 2.0
    number_points_weight: float = 0.0
    presence_cutoff: float = 2.0
    peak_value_cutoff: float = 4.0
    local_search_dim: float = 0.05
    minimum_separation: float = 0.02
    distance_scale: float = 0.05  # d' = min(1, (d_rel - s) / s)
    nucleus_overlap_threshold: float = 0.5
    min_raw_value: int = 5  # a pixel is a candidate peak if its raw value exceeds this
    min_normalized_value: float = 0.1

    def header(self, image_set: str) -> dict[str, str]:
        """The ``begin_selection_parameters`` block of the paper's CSV, in its order."""

        def g(v: float) -> str:
            return f"{v:g}"

        return {
            "image_set": image_set,
            "red_channel_feature_acceptance_threshold": g(self.feature_threshold),
            "red_channel_candidate_acceptance_threshold": g(self.candidate_threshold),
            "red_channel_distance_weight": g(self.distance_weight),
            "red_channel_presience_weight": g(self.presence_weight),
            "red_channel_rel_peak_val_weight": g(self.rel_peak_weight),
            "red_channel_number_points_weight": g(self.number_points_weight),
            "red_channel_presience_cutoff": g(self.presence_cutoff),
            "red_channel_peak_value_cutoff": g(self.peak_value_cutoff),
            "red_channel_local_search_dim": g(self.local_search_dim),
            "red_channel_minimum_separation": g(self.minimum_separation),
            "nucleus_overlap_threshold": g(self.nucleus_overlap_threshold),
        }


# --------------------------------------------------------------------------------------------
# geometry


def barycentre(mask: np.ndarray) -> tuple[int, int]:
    """Integer (truncated) mean (row, col) of the mask pixels."""
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        raise ValueError("the organoid mask is empty")
    return int(rows.sum() // rows.size), int(cols.sum() // cols.size)


def keypoint_geometry(
    rows: np.ndarray, cols: np.ndarray, mask: np.ndarray, centre: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Angle (degrees, float32), ``|v|/|b-c|`` and ``|v|/max|b-c|`` (float32) for points of one list."""
    rows = np.asarray(rows, np.float64)
    cols = np.asarray(cols, np.float64)
    n = rows.size
    if n == 0:
        z = np.zeros(0, np.float32)
        return z, z, z
    H, W = mask.shape
    cr, cc = centre
    vx, vy = cols - cc, rows - cr
    norm = np.hypot(vx, vy)
    safe = np.where(norm > 0, norm, 1.0)
    ux, uy = np.where(norm > 0, vx / safe, 0.0), np.where(norm > 0, vy / safe, 0.0)
    angle = (np.degrees(np.arctan2(ux, uy)) + 180.0).astype(np.float32)

    # DDA march along the unit direction, one pixel per step along the major axis.
    major = np.maximum(np.abs(ux), np.abs(uy))
    major = np.where(major > 0, major, 1.0)
    sx, sy = ux / major, uy / major
    K = H + W + 2
    k = np.arange(K, dtype=np.float64)
    px = np.floor(cols[:, None] + sx[:, None] * k[None, :] + 0.5).astype(np.int64)
    py = np.floor(rows[:, None] + sy[:, None] * k[None, :] + 0.5).astype(np.int64)
    inside_img = (px >= 0) & (px < W) & (py >= 0) & (py < H)
    in_mask = np.zeros_like(inside_img)
    in_mask[inside_img] = mask[py[inside_img], px[inside_img]]
    # first step that is outside the mask (or the image)
    outside = ~in_mask
    first = np.argmax(outside, axis=1)
    left_image = ~inside_img[np.arange(n), first]
    # a walk that leaves the image ends at its last pixel inside the image
    step = np.where(left_image, np.maximum(first - 1, 0), first)
    bx = px[np.arange(n), step].astype(np.float64)
    by = py[np.arange(n), step].astype(np.float64)
    # points at the centre have no direction: no march
    bx = np.where(norm > 0, bx, cc)
    by = np.where(norm > 0, by, cr)
    bdist = np.hypot(bx - cc, by - cr)
    rel_b = np.where(bdist > 0, norm / np.where(bdist > 0, bdist, 1.0), 0.0).astype(np.float32)
    mx = bdist.max()
    rel_m = (norm / mx if mx > 0 else np.zeros(n)).astype(np.float32)
    return angle, rel_b, rel_m


# --------------------------------------------------------------------------------------------
# red channel


def _box_sums(a: np.ndarray, d: int) -> np.ndarray:
    """Exact sums of ``a`` over (2d+1)^2 windows clipped to the image (integral image)."""
    H, W = a.shape
    ii = np.zeros((H + 1, W + 1), dtype=a.dtype)
    ii[1:, 1:] = a.cumsum(0).cumsum(1)
    r = np.arange(H)
    c = np.arange(W)
    r0, r1 = np.clip(r - d, 0, H), np.clip(r + d + 1, 0, H)
    c0, c1 = np.clip(c - d, 0, W), np.clip(c + d + 1, 0, W)
    return ii[r1][:, c1] - ii[r0][:, c1] - ii[r1][:, c0] + ii[r0][:, c0]


@dataclass
class _RedPeaks:
    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray
    local_mean: np.ndarray
    local_mean_fg: np.ndarray
    local_std: np.ndarray
    local_std_fg: np.ndarray
    normalized: np.ndarray
    base_score: np.ndarray  # presence + relative-value part of the score numerator


def _peak_statistics(plane: np.ndarray, eight_bit: bool, d: int, sp: SelectionParameters) -> _RedPeaks:
    v = plane.astype(np.int64)
    H, W = v.shape
    full = float(255 if eight_bit else 65535)
    cand = v > sp.min_raw_value
    normalized_all = v / full
    cand &= normalized_all >= sp.min_normalized_value  # rule 4 rejects these in both lists
    rows, cols = np.nonzero(cand)
    vals = v[rows, cols]
    # neighbours: the (2d+1)^2 window inside the image, without the centre pixel
    s1 = _box_sums(v, d)[rows, cols] - vals
    s2 = _box_sums(v * v, d)[rows, cols] - vals * vals
    n_all = _box_sums(np.ones_like(v), d)[rows, cols] - 1
    n_fg = _box_sums((v > 0).astype(np.int64), d)[rows, cols] - 1  # the centre is > 5 > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n_all > 0, s1 / np.maximum(n_all, 1), 0.0)
        var = np.where(n_all > 0, s2 / np.maximum(n_all, 1) - mean**2, 0.0)
        mean_fg = np.where(n_fg > 0, s1 / np.maximum(n_fg, 1), 0.0)
        var_fg = np.where(n_fg > 0, s2 / np.maximum(n_fg, 1) - mean_fg**2, 0.0)
        global_mean = float(v.mean())
        ratio_fg = np.where(mean_fg > 0, vals / np.where(mean_fg > 0, mean_fg, 1.0), np.inf)
        ratio_g = vals / global_mean if global_mean > 0 else np.full(vals.shape, np.inf)
    pres = np.minimum(ratio_fg, sp.presence_cutoff) / sp.presence_cutoff
    rel = np.minimum(ratio_g, sp.peak_value_cutoff) / sp.peak_value_cutoff
    base = sp.presence_weight * pres + sp.rel_peak_weight * rel
    # decreasing value; ties in row-major order
    order = np.lexsort((cols, rows, -vals))
    return _RedPeaks(
        rows[order],
        cols[order],
        vals[order],
        mean[order],
        mean_fg[order],
        np.sqrt(np.clip(var[order], 0, None)),
        np.sqrt(np.clip(var_fg[order], 0, None)),
        normalized_all[rows, cols][order],
        base[order],
    )


def _greedy_accept(pk: _RedPeaks, threshold: float, diag: float, sp: SelectionParameters) -> np.ndarray:
    """Indices of the peaks accepted into one list (paper-model §2.2, rules 1-7)."""
    denom = sp.distance_weight + sp.presence_weight + sp.rel_peak_weight + sp.number_points_weight
    # score > t  <=>  d' > (t * denom - base) / distance_weight  =: need
    need = (threshold * denom - pk.base_score) / sp.distance_weight
    possible = np.flatnonzero(need < 1.0)  # d' <= 1 always
    if possible.size == 0:
        return possible
    # d' = min(1, (d_rel - 0.05) / 0.05) > need  <=>  d_rel > 0.05 + 0.05 * need  (need < 1)
    # together with the minimum separation d_rel >= 0.02; compare squared pixel distances
    lo = sp.distance_scale
    req = np.maximum(lo + lo * need[possible], 0.0) * diag
    sep = sp.minimum_separation * diag
    rr = pk.rows[possible].astype(np.float64)
    cc = pk.cols[possible].astype(np.float64)
    # The accepted set only grows, so a peak's distance to it only shrinks: keep every remaining
    # peak's distance to the accepted set, update it after each acceptance, and accept the first
    # remaining peak that passes. Same result as testing the peaks one by one in order.
    mind = np.full(possible.size, np.inf)
    kept = []
    pos = 0
    while pos < possible.size:
        m = mind[pos:]
        ok = (m >= sep) & (m > req[pos:])
        j = int(np.argmax(ok))
        if not ok[j]:
            break
        i = pos + j
        kept.append(possible[i])
        pos = i + 1
        np.minimum(mind[pos:], np.hypot(rr[pos:] - rr[i], cc[pos:] - cc[i]), out=mind[pos:])
    return np.asarray(kept, dtype=np.int64)


def red_peaks(
    plane: np.ndarray, sp: SelectionParameters = SelectionParameters(), *, eight_bit: bool | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Red-channel key points without geometry: (features, candidates, d).

    Each list is an (k, 13) array with the local statistics, ``normalize_peak_value`` and
    ``peak_value`` filled in and ``angle`` and the relative distances left 0.
    """
    plane = np.asarray(plane)
    if plane.ndim != 2:
        raise ValueError(f"red plane must be 2-D, got shape {plane.shape}")
    if eight_bit is None:
        eight_bit = plane.dtype == np.uint8
    H, W = plane.shape
    d = int(math.floor(sp.local_search_dim * max(W, H) + 0.5))
    pk = _peak_statistics(plane, eight_bit, d, sp)
    diag = math.hypot(W, H)
    out = []
    for t in (sp.feature_threshold, sp.candidate_threshold):
        idx = _greedy_accept(pk, t, diag, sp)
        a = np.zeros((idx.size, len(FIELDS)))
        a[:, _F["channel"]] = RED
        a[:, _F["col"]] = pk.cols[idx]
        a[:, _F["row"]] = pk.rows[idx]
        a[:, _F["local_mean"]] = pk.local_mean[idx]
        a[:, _F["local_mean_forground_only"]] = pk.local_mean_fg[idx]
        a[:, _F["local_search_dim"]] = d
        a[:, _F["local_std_dev"]] = pk.local_std[idx]
        a[:, _F["local_std_dev_forground_only"]] = pk.local_std_fg[idx]
        a[:, _F["normalize_peak_value"]] = pk.normalized[idx]
        a[:, _F["peak_value"]] = pk.values[idx]
        out.append(a)
    return out[0], out[1], d


# --------------------------------------------------------------------------------------------
# nuclei


def nuclei_points(plane16: np.ndarray, labels: np.ndarray, channel: int) -> np.ndarray:
    """One key point per label (paper-model §2.1), geometry left 0."""
    labels = np.asarray(labels)
    if labels.shape != plane16.shape:
        raise ValueError(f"nucleus labels of shape {labels.shape} do not match the plane {plane16.shape}")
    ids = np.unique(labels)
    ids = ids[ids > 0]
    a = np.zeros((ids.size, len(FIELDS)))
    if ids.size == 0:
        return a
    from scipy import ndimage as ndi

    rows, cols = np.indices(labels.shape)
    count = ndi.sum_labels(np.ones(labels.shape), labels, ids)
    mr = ndi.sum_labels(rows, labels, ids) / count
    mc = ndi.sum_labels(cols, labels, ids) / count
    mv = ndi.sum_labels(plane16.astype(np.float64) / 256.0, labels, ids) / count
    peak = np.trunc(mv)
    a[:, _F["channel"]] = channel
    a[:, _F["row"]] = np.trunc(mr)
    a[:, _F["col"]] = np.trunc(mc)
    a[:, _F["peak_value"]] = peak
    a[:, _F["normalize_peak_value"]] = peak / 256.0
    return a


# --------------------------------------------------------------------------------------------
# one image


def _with_geometry(a: np.ndarray, mask: np.ndarray, centre: tuple[int, int]) -> np.ndarray:
    ang, rb, rm = keypoint_geometry(a[:, _F["row"]], a[:, _F["col"]], mask, centre)
    a = a.copy()
    a[:, _F["angle"]] = ang
    a[:, _F["relative_distance_center_boundary"]] = rb
    a[:, _F["relative_distance_center_max_distance"]] = rm
    return a


def extract_keypoints(
    image: np.ndarray,
    mask: np.ndarray | None = None,
    nuclei_detector: NucleiDetector | None = None,
    *,
    params: SelectionParameters = SelectionParameters(),
    channels: tuple[int | None, int | None, int | None] = (BLUE, GREEN, RED),
) -> tuple[np.ndarray, np.ndarray]:
    """``(features, candidates)`` of one single-organoid image, each (k, 13) float64 sorted by angle.

    ``image`` is (H, W, C) uint8 or uint16 (channel-last, the paper's plane order); ``mask`` a
    bool (H, W) organoid mask (default: the pixels that are non-zero in any channel, as the
    paper's crops are masked to 0). ``channels`` gives the planes used as blue nuclei, green
    nuclei and red membranes (``None`` skips one); the ``channel`` column always holds the
    paper's ids 0, 1, 3.
    """
    img = np.asarray(image)
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3:
        raise ValueError(f"expected an (H, W, C) image, got shape {np.shape(image)}")
    if img.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"expected a uint8 or uint16 image, got {img.dtype}")
    H, W, C = img.shape
    for ch in channels:
        if ch is not None and not 0 <= ch < C:
            raise ValueError(
                f"image has {C} channel(s); channel {ch} is needed (channels={channels}); "
                "pass channels=(blue, green, red) with None for missing planes"
            )
    if mask is None:
        mask = np.any(img > 0, axis=2)
    mask = np.asarray(mask, bool)
    if mask.shape != (H, W):
        raise ValueError(f"mask shape {mask.shape} does not match the image {(H, W)}")
    centre = barycentre(mask)
    eight_bit = img.dtype == np.uint8
    img16 = img.astype(np.uint16) * 256 if eight_bit else img
    detector = nuclei_detector if nuclei_detector is not None else SkimageNuclei()

    parts_f: list[np.ndarray] = []
    parts_c: list[np.ndarray] = []
    for ch, paper_id in zip(channels[:2], (BLUE, GREEN), strict=False):
        if ch is None:
            continue
        plane = np.ascontiguousarray(img16[:, :, ch])
        pts = _with_geometry(nuclei_points(plane, detector(plane), paper_id), mask, centre)
        parts_f.append(pts)
        parts_c.append(pts)
    if channels[2] is not None:
        feats, cands, _ = red_peaks(img[:, :, channels[2]], params, eight_bit=eight_bit)
        parts_f.append(_with_geometry(feats, mask, centre))
        parts_c.append(_with_geometry(cands, mask, centre))

    def assemble(parts):
        a = np.concatenate(parts, axis=0) if parts else np.zeros((0, len(FIELDS)))
        order = np.argsort(a[:, _F["angle"]], kind="stable")
        return np.ascontiguousarray(a[order])

    return assemble(parts_f), assemble(parts_c)


# --------------------------------------------------------------------------------------------
# many images


def extract_keypoint_set(
    records: Iterable[ImageRecord],
    nuclei_detector: NucleiDetector | None = None,
    *,
    params: SelectionParameters = SelectionParameters(),
    image_set: str = "corrclust",
    channels: tuple[int | str | None, int | str | None, int | str | None] = (BLUE, GREEN, RED),
    failures: list[tuple[Path, str]] | None = None,
    progress: bool = False,
    read: ReadOptions | None = None,
) -> KeypointSet:
    """Key points of every record's image (and ``<stem>_mask.tif`` when present) as a KeypointSet.

    ``channels`` as in :func:`extract_keypoints`, each also by channel name (looked up in each
    file's metadata). ``read``: time point, Z projection and pixel size of the reader (its channel
    selection is not used: ``channels`` says which plane plays which part). Images of different
    pixel sizes are refused (ValueError) unless ``read.pixel_size`` resamples them.

    With ``failures`` given, unreadable images are appended to it as ``(path, message)`` and
    skipped; otherwise the first bad image raises :class:`ImageReadError`.
    """
    from corrclust.pqap.io import KeypointSet

    records = list(records)
    detector = nuclei_detector if nuclei_detector is not None else SkimageNuclei()
    it: Iterable[ImageRecord] = records
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(records, desc="key points", unit="img", file=sys.stderr)
    options = (read or ReadOptions()).without_channels()
    sizes = PixelSizeCheck(options)
    ids: list[int] = []
    features: dict[int, np.ndarray] = {}
    candidates: dict[int, np.ndarray] = {}
    for rec in it:
        try:
            data = read_image_data(rec.path, options.at_time(rec.t))
            img = data.pixels
            planes = resolve_channels(channels, img.shape[2], data.channel_names, rec.path)
            mask = read_mask(rec.mask, options.at_time(rec.t)) if rec.mask.exists() else None
            if mask is not None and mask.shape != img.shape[:2]:
                raise ImageReadError(
                    rec.mask, f"mask shape {mask.shape} differs from the image {img.shape[:2]}"
                )
            blue, green, red = planes  # one plane per entry of the three-entry ``channels``
            f, c = extract_keypoints(img, mask, detector, params=params, channels=(blue, green, red))
        except (ImageReadError, ValueError) as exc:
            if failures is None:
                raise
            failures.append((rec.path, str(exc)))
            continue
        sizes.add(data)
        if rec.id in features:
            raise ValueError(f"duplicate organoid id {rec.id} ({rec.path})")
        ids.append(rec.id)
        features[rec.id] = f
        candidates[rec.id] = c
    return KeypointSet(ids, features, candidates, params.header(image_set))
