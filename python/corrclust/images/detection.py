"""Organoid detection and cropping in whole brightfield (or fluorescence) fields.

A classical scikit-image candidate generator with a learned candidate score, fitted on the 112
OrgaQuant test fields (``shared/data/organoid-fields``; see ``docs/images.md`` for the nested
cross-validation that gives its out-of-sample scores):

1. grey = mean of the channels, scaled to [0, 1]; flat-field correction: divide by a wide
   Gaussian blur (removes vignetting and the bright/dark halves of Matrigel domes);
2. contrast maps: gradient magnitude of the corrected image after a light (fine) and a wider
   (coarse) Gaussian smoothing (organoids in focus have sharp dark rims; brightfield organoids
   are not darker or brighter than the background as a whole);
3. at several multiples of Otsu's threshold of each map: a small closing, hole filling (a rim
   becomes a filled object, also where the image border cuts it) and opening; candidates are
   the filled objects split by a watershed on the distance transform, and the enclosed insides
   of rims grown back over the rim (these keep overlapping ring-shaped organoids apart);
4. every candidate gets the features :data:`FEATURES` (size, shape, rim contrast, brightness,
   origin, relations to the other candidates, rank within the field, radial profile around the
   box centre), and the score model of :mod:`corrclust.images.organoid_score` (boosted trees)
   gives the probability that it is a manually boxed organoid; specks, debris, out-of-focus
   organoids and merged blobs score low. With ``scorer="trees+cnn"`` (torch), a small CNN on
   a crop of every candidate (:mod:`corrclust.images.organoid_cnn`, the features in its head)
   gives its own log-odds, and the score is the probability of the mean of both log-odds;
5. candidates below the operating point (``min_score``, stored in the model file: the CNN's
   file when the CNN takes part) are dropped; greedy non-maximum suppression in score order
   keeps the best of overlapping candidates (box IoU, and overlap as a fraction of the smaller
   box so a merged blob does not survive next to its better part).

Fluorescence fields (``modality="fluorescence"``: bright organoids on a dark background) take a
simpler path: Gaussian smoothing, Otsu threshold, closing, hole filling, opening and a size
filter, without a split (lobes of a budding organoid stay one object) and without a score.

:func:`detect_organoids` returns :class:`Detection` objects (box and mask); :func:`crop_fields`
writes one crop and mask per object and ``crops.csv`` (``source,crop,x1,y1,x2,y2``; the box in
source pixels, ``x2``/``y2`` exclusive).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import ndimage as ndi

from corrclust.atomic import atomic_path, write_text
from corrclust.formats.spreadsheet import neutralise_row, restore
from corrclust.images.io import (
    CROP_SEPARATOR,
    IMAGE_SUFFIXES,
    ImageRecord,
    ReadOptions,
    compile_name_pattern,
    is_image_path,
    iter_images,
    parse_name,
    split_time_points,
)
from corrclust.images.organoid_score import ScoreModel, load_score_model

if TYPE_CHECKING:
    from corrclust.images.organoid_cnn import CropScoreModel

__all__ = [
    "DetectionParams",
    "Detection",
    "Candidates",
    "FEATURES",
    "brightfield_candidates",
    "detect_organoids",
    "non_maximum_suppression",
    "crop_fields",
    "box_iou",
    "match_boxes",
    "CropResult",
    "RING_EDGES",
    "score_model",
    "score_candidates",
    "cnn_model",
    "resolve_scorer",
    "field_tiles",
]


@dataclass(frozen=True)
class DetectionParams:
    """Parameters of :func:`detect_organoids` (lengths in pixels of the input image)."""

    modality: str = "brightfield"  # or "fluorescence"
    background_sigma: float = 40.0  # flat-field blur
    smooth_sigma: float = 1.5  # before the gradient (the fine contrast map)
    threshold_scales: tuple[float, ...] = (0.8, 1.0, 1.3, 1.6, 2.0)  # x Otsu threshold of the fine map
    threshold_floor: float = 0.02  # minimum threshold of a gradient map
    # a second, coarser contrast map (gradient after this smoothing) whose thresholds add large,
    # faint organoids as candidates; None switches it off
    coarse_sigma: float | None = 3.0
    coarse_threshold_scales: tuple[float, ...] = (0.6, 0.8, 1.0, 1.3)
    # the inside of every closed rim (a hole of the thresholded map) grown by these radii is a
    # candidate too: overlapping or touching ring-shaped organoids merge into one filled object
    # but keep separate insides; () switches it off
    hole_growth: tuple[int, ...] = (3, 6)
    min_hole_area: int = 60
    closing_radius: int = 1
    opening_radius: int = 2
    min_area: int = 100
    max_area_fraction: float = 0.5  # of the image
    split_min_distance: int = 12  # between watershed seeds
    split: bool = True
    # the candidate score: a file written by corrclust.images.detection_model (None: the model
    # shipped with the package, fitted on the 112 OrgaQuant fields)
    score_model: str | None = None
    # which score decides: "trees" (the boosted trees alone), "trees+cnn" (trees and the crop CNN
    # of corrclust.images.organoid_cnn, their log-odds averaged; needs torch and a CNN file) or
    # "auto" (trees+cnn when torch can be imported, else the trees, with a one-line warning; the
    # trees alone when cnn_model is None and score_model names a file or no CNN is packaged)
    scorer: str = "trees"
    # the CNN file (None: the packaged one, images/organoid_cnn.npz, fitted beside the packaged trees)
    cnn_model: str | None = None
    # keep candidates scoring at least this; None: the operating point stored in the model file
    # (the CNN's file for trees+cnn; chosen by cross-validation when it was fitted)
    min_score: float | None = None
    # greedy non-maximum suppression in score order: a candidate is dropped when its box has
    # IoU > nms_iou with a kept box, or when their intersection exceeds nms_overlap x the
    # smaller box (a merged blob around a kept organoid, or a part of it)
    nms_iou: float = 0.3
    nms_overlap: float = 0.7
    margin: int = 0  # box padding
    # fields with a side longer than tile_size px are detected in overlapping tiles of at most
    # tile_size x tile_size (each tile's core plus tile_overlap px on every side), so memory and
    # time grow with the field's area instead of faster (a 12,000 px stitched well did not finish
    # in 35 min at 12.7 GB); a detection belongs to the tile whose core holds its box centre.
    # None: every field at once. Fields up to tile_size are detected exactly as before.
    tile_size: int | None = 2048
    tile_overlap: int = 256
    # fluorescence only
    fluorescence_sigma: float = 2.0
    fluorescence_split: bool = False


@dataclass
class Detection:
    """One detected organoid: box ``(x1, y1, x2, y2)`` (exclusive ends) and its mask in the box."""

    box: tuple[int, int, int, int]
    mask: np.ndarray
    area: int
    sharpness: float  # mean contrast on the rim
    score: float = field(default=0.0)
    features: np.ndarray | None = field(default=None, repr=False)  # values of FEATURES


def _disk(r: int) -> np.ndarray:
    from skimage.morphology import disk

    return disk(max(0, int(r)))


def _gray(image: np.ndarray, scale: float | None = None) -> np.ndarray:
    """Channel mean over ``scale`` (None: 65535 for 16-bit or values over 255, else 255)."""
    img = np.asarray(image)
    if img.ndim == 3:
        img = img.mean(axis=2)
    if img.ndim != 2:
        raise ValueError(f"expected an (H, W) or (H, W, C) image, got shape {np.shape(image)}")
    if scale is None:
        scale = 65535.0 if img.dtype == np.uint16 or img.max() > 255 else 255.0
    return img.astype(np.float64) / scale


def _flat_field(image: np.ndarray, params: DetectionParams) -> np.ndarray:
    """Grey image divided by its wide Gaussian blur (1 = local background level)."""
    g = _gray(image)
    bg = ndi.gaussian_filter(g, params.background_sigma, mode="reflect")
    return g / np.maximum(bg, 1e-3)


def contrast_map(
    image: np.ndarray,
    params: DetectionParams = DetectionParams(),
    *,
    flat: np.ndarray | None = None,
    sigma: float | None = None,
) -> np.ndarray:
    """The map that is thresholded (flat-field-corrected gradient magnitude or intensity).

    ``sigma`` replaces ``params.smooth_sigma`` (the coarse map uses ``params.coarse_sigma``).
    """
    from skimage.filters import sobel

    if flat is None:
        flat = _flat_field(image, params)
    if params.modality == "fluorescence":
        return np.clip(flat - 1.0, 0, None)
    if params.modality != "brightfield":
        raise ValueError(f"modality must be 'brightfield' or 'fluorescence', got {params.modality!r}")
    return sobel(ndi.gaussian_filter(flat, params.smooth_sigma if sigma is None else sigma))


FEATURES = (
    "log_area",  # log of the mask area
    "rim_contrast",  # mean fine contrast on a band of +-2 px around the mask boundary
    "rim_contrast_coarse",  # the same on the coarse contrast map
    "rim_rel_otsu",  # rim contrast / Otsu threshold of the field's fine contrast map
    "rim_coverage",  # fraction of boundary pixels with contrast > Otsu within 2 px
    "outside_contrast",  # mean fine contrast 3-7 px outside the mask
    "inside_contrast",  # mean fine contrast more than 4 px inside the mask
    "solidity",
    "eccentricity",
    "extent",  # area / box area
    "box_aspect",  # short / long box side
    "flat_mean",  # flat-field brightness inside
    "flat_std",
    "flat_p5",
    "rim_minus_inside",  # flat-field brightness on the rim band minus inside
    "outside_minus_inside",  # flat-field brightness 3-7 px outside minus inside
    "grey_std",  # spread of the raw grey level inside
    "border_fraction",  # fraction of the box perimeter on the image border
    "is_hole",  # 1: the inside of a closed rim, grown; 0: a filled (split) object
    "is_coarse",  # 1: from the coarse contrast map
    "threshold_scale",  # x Otsu of its map
    "growth",  # px a hole was grown by (0 for objects)
    "stability",  # log(1 + other candidates with box IoU > 0.85)
    "n_inside",  # log(1 + smaller candidates whose box lies inside this box)
    "n_around",  # log(1 + larger candidates whose box contains this box)
    "field_otsu",  # Otsu threshold of the field's fine contrast map
    # the candidate among the field's candidates (the manual boxes keep the sharpest organoids
    # of a field, so sharpness relative to the field matters besides its absolute value)
    "rim_contrast_rank",  # rank of rim_contrast among the field's candidates, in (0, 1]
    "rim_contrast_rel_p90",  # rim_contrast / its 90th percentile over the field's candidates
    "rim_contrast_coarse_rank",
    "rim_contrast_coarse_rel_p90",
    "flat_p5_rank",
    "flat_p5_rel_p90",
    "log_candidates",  # log of the number of candidates of the field
    # radial profile around the box centre: mean of the flat-field image, of the fine contrast
    # map and of |Laplacian of Gaussian| (sigma 1, a focus measure) in elliptical rings between
    # RING_EDGES (multiples of the ellipse inscribed in the box: 1.0 is the box outline)
    *(f"ring{k}_{m}" for k in range(6) for m in ("flat", "contrast", "log")),
)
# ring limits of the radial-profile features (6 rings: 4 inside the box outline, 2 outside)
RING_EDGES = (0.0, 0.3, 0.6, 0.85, 1.0, 1.2, 1.5)
N_CANDIDATE_FEATURES = 22  # the features _features computes from one candidate alone


def _threshold_masks(cmap: np.ndarray, threshold: float, p: DetectionParams) -> tuple[np.ndarray, np.ndarray]:
    """Objects and rim insides above ``threshold``: (label image of the filled, split objects,
    label image of the holes, i.e. regions enclosed by the thresholded map)."""
    from skimage.measure import label

    fg = cmap > threshold
    if p.closing_radius > 0:
        fg = ndi.binary_closing(fg, _disk(p.closing_radius), border_value=0)
    filled = _fill_holes_open_border(fg)
    holes = np.zeros(fg.shape, np.int32)
    if p.hole_growth:
        inside = filled & ~fg
        if p.opening_radius > 0:
            inside = ndi.binary_opening(inside, _disk(p.opening_radius))
        holes = label(inside)
    if p.opening_radius > 0:
        filled = ndi.binary_opening(filled, _disk(p.opening_radius))
    labels = label(filled)
    if p.split and labels.max() > 0:
        labels = _split_touching(filled, labels, 1.0, p.split_min_distance)
    return labels, holes


def _split_touching(mask: np.ndarray, labels: np.ndarray, sigma: float, min_distance: int) -> np.ndarray:
    """Watershed split of touching objects: one marker per peak of the smoothed distance
    transform (peaks at least ``min_distance`` apart); a component without a peak keeps one
    marker of its own, so no object is lost."""
    from skimage.feature import peak_local_max
    from skimage.segmentation import watershed

    dist = ndi.gaussian_filter(ndi.distance_transform_edt(mask), sigma)
    peaks = peak_local_max(dist, min_distance=min_distance, labels=labels, exclude_border=False)
    markers = np.zeros_like(labels)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    has = np.zeros(labels.max() + 1, bool)
    has[labels[markers > 0]] = True
    missing = np.flatnonzero(~has[1:]) + 1
    if missing.size:
        first = ndi.labeled_comprehension(
            np.arange(labels.size).reshape(labels.shape), labels, missing, np.min, np.int64, -1
        )
        markers.flat[first] = len(peaks) + np.arange(1, missing.size + 1)
    return watershed(-dist, markers, mask=mask)


def _segment(cmap: np.ndarray, threshold: float, p: DetectionParams) -> np.ndarray:
    """Label image of the filled, split objects above ``threshold`` in the contrast map."""
    return _threshold_masks(cmap, threshold, p)[0]


@dataclass
class Candidates:
    """Every candidate object of a brightfield field before scoring: ``boxes`` ``(N, 4)``
    ``(x1, y1, x2, y2)``, masks inside their boxes, ``features`` ``(N, len(FEATURES))``."""

    boxes: np.ndarray
    masks: list[np.ndarray]
    features: np.ndarray
    # (N, 3, S, S) crops for the CNN score (corrclust.images.organoid_cnn), when asked for
    crops: np.ndarray | None = None


def brightfield_candidates(
    image: np.ndarray, params: DetectionParams | None = None, *, crops: bool = False
) -> Candidates:
    """All candidate organoids of a brightfield field, with their :data:`FEATURES` (and with
    ``crops`` their crops for the CNN score, :func:`corrclust.images.organoid_cnn.candidate_crops`).

    Candidates are the filled, split objects and the grown rim insides at every threshold of the
    fine and the coarse contrast map; identical boxes of the same kind are kept once.
    """
    from skimage.filters import threshold_otsu

    p = params or DetectionParams()
    flat = _flat_field(image, p)
    cmap = contrast_map(image, p, flat=flat)
    H, W = cmap.shape
    empty = Candidates(np.zeros((0, 4), int), [], np.zeros((0, len(FEATURES))))
    if crops:
        from corrclust.images.organoid_cnn import CROP_SIZE

        empty.crops = np.zeros((0, 3, CROP_SIZE, CROP_SIZE), np.float32)
    if np.ptp(cmap) == 0:
        return empty
    grey = _gray(image)
    otsu = float(threshold_otsu(cmap))
    sources = [(cmap, p.threshold_scales, 0)]
    coarse = cmap
    if p.coarse_sigma is not None:
        coarse = contrast_map(image, p, flat=flat, sigma=p.coarse_sigma)
        sources.append((coarse, p.coarse_threshold_scales, 1))
    max_area = p.max_area_fraction * H * W
    raw: list[tuple[tuple[int, int, int, int], np.ndarray, tuple[float, ...]]] = []
    seen: set = set()
    for level_map, scales, is_coarse in sources:
        level_otsu = threshold_otsu(level_map)
        for scale in scales:
            t = max(level_otsu * scale, p.threshold_floor)
            labels, holes = _threshold_masks(level_map, t, p)
            for sl, lab_id, _kind in _regions(labels, p.min_area, max_area, 0):
                _add_candidate(raw, seen, sl, labels[sl] == lab_id, 0, (0.0, is_coarse, scale, 0.0), (H, W))
            for sl, lab_id, _kind in _regions(holes, p.min_hole_area, max_area, 1):
                m = holes[sl] == lab_id
                for g in p.hole_growth:
                    _add_candidate(raw, seen, sl, m, g, (1.0, is_coarse, scale, float(g)), (H, W))
    if not raw:
        return empty
    boxes = np.array([c[0] for c in raw], float)
    masks = [c[1] for c in raw]
    cmax = ndi.maximum_filter(cmap, size=5)
    focus = np.abs(ndi.gaussian_laplace(flat, 1.0))
    X = np.zeros((len(raw), len(FEATURES)))
    X[:, :N_CANDIDATE_FEATURES] = [
        _features(box, m, meta, cmap, coarse, cmax, flat, grey, otsu) for box, m, meta in raw
    ]
    ring0 = FEATURES.index("ring0_flat")
    X[:, ring0 : ring0 + 3 * (len(RING_EDGES) - 1)] = [_ring_profile(b, (flat, cmap, focus)) for b in boxes]
    # relations between candidates: how stable a box is over thresholds and maps, and whether it
    # holds smaller candidates (a merged blob) or lies inside larger ones (a part)
    stable, n_inside, n_around = _box_relations(boxes)
    X[:, FEATURES.index("stability")] = np.log1p(stable - 1)
    X[:, FEATURES.index("n_inside")] = np.log1p(n_inside)
    X[:, FEATURES.index("n_around")] = np.log1p(n_around)
    X[:, FEATURES.index("field_otsu")] = otsu
    for name in ("rim_contrast", "rim_contrast_coarse", "flat_p5"):
        v = X[:, FEATURES.index(name)]
        s = np.sort(v)  # average rank of ties, as scipy.stats.rankdata
        X[:, FEATURES.index(name + "_rank")] = (
            np.searchsorted(s, v, "left") + np.searchsorted(s, v, "right") + 1
        ) / (2.0 * len(v))
        X[:, FEATURES.index(name + "_rel_p90")] = v / max(float(np.percentile(v, 90)), 1e-12)
    X[:, FEATURES.index("log_candidates")] = _log_candidates(len(v), H * W)
    out = Candidates(boxes.astype(int), masks, X)
    if crops:
        from corrclust.images.organoid_cnn import candidate_crops

        out.crops = candidate_crops(flat, cmap, otsu, out.boxes, masks)
    return out


# the area of the fields the packaged score was fitted on (the 112 OrgaQuant fields, 450 x 450)
COUNT_AREA = 450 * 450


def _log_candidates(n: int, area: int) -> float:
    """The ``log_candidates`` feature: log of the field's candidate count, counted per
    :data:`COUNT_AREA` px when the field is larger. The score learnt the count on fields of one
    size, where a field with more candidates is a busier field; a larger field of the same
    density has more only because it is larger, and its organoids then scored under the
    operating point (3 x 3 mosaics of one even-half field, mirrored so that no seam is added, 28
    fields: recall of the boxes inside the fields 0.842 with the whole mosaic's count, 0.898 per
    450 x 450 px, 0.908 each field alone; docs/images.md, *Large fields*).
    Fields up to that area keep the plain count (the 112 fields' crops are unchanged)."""
    if area <= COUNT_AREA:
        return float(np.log(n))
    return float(np.log(n * COUNT_AREA / area))


def _regions(labels: np.ndarray, min_area: int, max_area: float, kind: int):
    """(slice, label, kind) of each labelled region with an area in [min_area, max_area]."""
    n = int(labels.max())
    if n == 0:
        return []
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    out = []
    for k, sl in enumerate(ndi.find_objects(labels), start=1):
        if sl is not None and min_area <= sizes[k] <= max_area:
            out.append((sl, k, kind))
    return out


def _add_candidate(raw, seen, sl, m, grow, meta, shape) -> None:
    """Append the candidate ``m`` (a mask on the slice ``sl``), grown by ``grow`` px and clipped
    to the image, unless the same box and area of the same kind is there already."""
    H, W = shape
    r0, c0 = sl[0].start, sl[1].start
    if grow > 0:
        m = ndi.binary_dilation(np.pad(m, grow), _disk(grow))
        r0, c0 = r0 - grow, c0 - grow
        a, b = max(0, -r0), max(0, -c0)
        m = m[a : min(m.shape[0], H - r0), b : min(m.shape[1], W - c0)]
        r0, c0 = r0 + a, c0 + b
    box = (c0, r0, c0 + m.shape[1], r0 + m.shape[0])
    key = (box, int(m.sum()), meta[0], meta[1])
    if key in seen:
        return
    seen.add(key)
    raw.append((box, m, meta))


def _shape(m: np.ndarray, edge: np.ndarray) -> tuple[float, float]:
    """Solidity (area / area of the convex hull of the pixel squares) and eccentricity (of the
    ellipse with the same second moments) of a mask, given its edge pixels."""
    from scipy.spatial import ConvexHull, QhullError

    r, c = np.nonzero(m)
    cov = np.cov(np.vstack([r, c])) if r.size > 1 else np.zeros((2, 2))
    lo, hi = np.linalg.eigvalsh(cov)
    ecc = float(np.sqrt(max(0.0, 1.0 - lo / hi))) if hi > 0 else 0.0
    er, ec = np.nonzero(edge)
    corners = np.concatenate(
        [np.column_stack([er + dr, ec + dc]) for dr in (-0.5, 0.5) for dc in (-0.5, 0.5)]
    )
    try:
        hull = ConvexHull(corners).volume
    except (QhullError, ValueError):
        return 1.0, ecc
    return min(1.0, r.size / hull), ecc


def _features(box, m, meta, cmap, coarse, cmax, flat, grey, otsu) -> np.ndarray:
    H, W = cmap.shape
    x1, y1, x2, y2 = box
    pad = 8
    r0, c0, r1, c1 = max(0, y1 - pad), max(0, x1 - pad), min(H, y2 + pad), min(W, x2 + pad)
    M = np.zeros((r1 - r0, c1 - c0), bool)
    M[y1 - r0 : y2 - r0, x1 - c0 : x2 - c0] = m
    win = (slice(r0, r1), slice(c0, c1))
    cw, kw, fw = cmap[win], coarse[win], flat[win]
    # dilations and erosions by disks, from Euclidean distance transforms (the same sets: a
    # dilation by disk(r) is distance to the mask <= r; an erosion, with the window edge as
    # background, is distance to the background or the edge > r)
    out_dist = ndi.distance_transform_edt(~M)
    in_dist = ndi.distance_transform_edt(np.pad(M, 1))[1:-1, 1:-1]
    e2 = in_dist > 2
    band = (out_dist <= 2) & ~e2
    inner = ndi.distance_transform_edt(np.pad(e2, 1))[1:-1, 1:-1] > 2  # e2 eroded by disk(2)
    outer = (out_dist <= 7) & (out_dist > 3)
    edge = M & (in_dist <= 1)  # pixels with a 4-neighbour outside the mask or the window
    area = int(M.sum())
    solidity, eccentricity = _shape(M, edge)
    rim = float(cw[band].mean())
    inside_f = fw[M]

    def mean_or(a, sel, default):
        return float(a[sel].mean()) if sel.any() else default

    bw, bh = x2 - x1, y2 - y1
    on_border = (x1 == 0) * bh + (x2 == W) * bh + (y1 == 0) * bw + (y2 == H) * bw
    return np.array(
        [
            np.log(area),
            rim,
            float(kw[band].mean()),
            rim / max(otsu, 1e-9),
            float((cmax[win][edge] > otsu).mean()) if edge.any() else 0.0,
            mean_or(cw, outer, rim),
            mean_or(cw, inner, rim),
            solidity,
            eccentricity,
            area / float(bw * bh),
            min(bw, bh) / float(max(bw, bh)),
            float(inside_f.mean()),
            float(inside_f.std()),
            float(np.percentile(inside_f, 5)),
            float(fw[band].mean()) - mean_or(fw, inner, float(inside_f.mean())),
            mean_or(fw, outer, 1.0) - float(inside_f.mean()),
            float(grey[win][M].std()),
            on_border / float(2 * (bw + bh)),
            meta[0],
            meta[1],
            meta[2],
            meta[3],
        ]
    )


def _ring_profile(box, maps) -> list[float]:
    """Mean of each map in the elliptical rings :data:`RING_EDGES` around the box centre (ring
    by ring, map by map); a ring that falls outside the image gets the mean of its whole map."""
    H, W = maps[0].shape
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    reach = (RING_EDGES[-1] - 1.0) / 2  # the outer ring reaches this far beyond the box, per side
    px, py = int(np.ceil(reach * w)) + 1, int(np.ceil(reach * h)) + 1
    r0, r1, c0, c1 = max(0, int(y1) - py), min(H, int(y2) + py), max(0, int(x1) - px), min(W, int(x2) + px)
    yy, xx = np.mgrid[r0:r1, c0:c1]
    rho = np.hypot((xx + 0.5 - cx) / (w / 2), (yy + 0.5 - cy) / (h / 2))
    ring = np.digitize(rho, RING_EDGES) - 1  # -1 never (rho >= 0); len(edges) - 1: beyond the last
    n = len(RING_EDGES) - 1
    counts = np.bincount(ring.ravel(), minlength=n + 1)[:n]
    out = []
    sums = [np.bincount(ring.ravel(), weights=m[r0:r1, c0:c1].ravel(), minlength=n + 1)[:n] for m in maps]
    for k in range(n):
        for j, m in enumerate(maps):
            out.append(float(sums[j][k] / counts[k]) if counts[k] else float(m.mean()))
    return out


def _box_relations(boxes: np.ndarray, block_bytes: int = 64 * 2**20) -> tuple[np.ndarray, ...]:
    """For each box: how many boxes have IoU > 0.85 with it (itself included), how many smaller
    ones lie inside it, and inside how many larger ones it lies (``[i, j]``: j in i when their
    intersection is 90 % of j's area and j is under 60 % of i's).

    Computed over blocks of rows, each about ``block_bytes`` per N x N-shaped array: the whole
    matrices (about ten of N x N float64 at once) took 16 GB for the 3000 x 3000 px field of the
    qa16 audit, and a 12,000 x 12,000 field was still growing past 12 GB when stopped; the
    counts are the same."""
    n = len(boxes)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    stable = np.zeros(n, np.int64)
    n_inside = np.zeros(n, np.int64)
    n_around = np.zeros(n, np.int64)
    step = max(1, int(block_bytes) // (8 * max(n, 1)))
    for start in range(0, n, step):
        rows = slice(start, min(n, start + step))
        b = boxes[rows]
        stable[rows] = (box_iou(b, boxes) > 0.85).sum(1)
        inside = (_intersection(b, boxes) >= 0.9 * area[None, :]) & (area[None, :] < 0.6 * area[rows, None])
        n_inside[rows] = inside.sum(1)
        n_around += inside.sum(0)
    return stable, n_inside, n_around


def _intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    return ix * iy


def detect_organoids(
    image: np.ndarray, params: DetectionParams | None = None, *, progress: bool = False, **overrides
) -> list[Detection]:
    """Detect single organoids in a field; returns detections sorted by box (row, then column).

    Brightfield: the candidates of :func:`brightfield_candidates` (objects and rim insides at
    several thresholds of two contrast maps) are scored by the candidate model
    (:mod:`corrclust.images.organoid_score`, the probability that the candidate's box matches a
    manually boxed organoid); candidates scoring below ``min_score`` are dropped and a greedy
    non-maximum suppression (``nms_iou``, ``nms_overlap``) keeps the best of overlapping ones.
    ``overrides`` replace fields of ``params`` (e.g. ``min_score=0.6``).

    A brightfield field with a side longer than ``tile_size`` is detected in overlapping tiles
    (:func:`field_tiles`; ``progress``: a progress bar over them on stderr): each tile is scored as
    a field of its own, so memory beyond the image is that of one tile. A fluorescence field over
    ``tile_size`` is detected in the same tiles with the whole field's threshold
    (:func:`_detect_fluorescence_tiled`: the whole field's objects, for objects under the overlap).
    """
    p = params or DetectionParams()
    if overrides:
        p = DetectionParams(**{**asdict(p), **overrides})
    if p.modality not in ("brightfield", "fluorescence"):
        raise ValueError(f"modality must be 'brightfield' or 'fluorescence', got {p.modality!r}")
    H, W = np.shape(image)[:2]
    tiles = field_tiles(H, W, p.tile_size, p.tile_overlap)
    if p.modality == "fluorescence":
        if len(tiles) == 1:
            found = _detect_fluorescence(image, p)
        else:
            found = _detect_fluorescence_tiled(image, p, tiles, progress)
        out = [_padded(d, p.margin, H, W) for d in found]
        out.sort(key=lambda d: (d.box[1], d.box[0]))
        return out
    model = score_model(p.score_model)
    scorer = p.scorer
    if scorer == "auto" and p.cnn_model is None and (p.score_model is not None or not _packaged_cnn()):
        scorer = "trees"  # a packaged CNN and its operating point belong with the packaged trees
    cnn = cnn_model(p.cnn_model) if resolve_scorer(scorer) == "trees+cnn" else None
    if len(tiles) == 1:
        found = _detect_brightfield(image, p, model, cnn)
    else:
        found = _detect_tiled(image, p, model, cnn, tiles, progress)
    out = [_padded(d, p.margin, H, W) for d in found]
    out.sort(key=lambda d: (d.box[1], d.box[0]))
    return out


def field_tiles(
    height: int, width: int, tile_size: int | None, overlap: int
) -> list[tuple[tuple[int, int, int, int], tuple[int, int, int, int]]]:
    """The tiles of a ``height x width`` field: ``(core, region)`` pairs of ``(x1, y1, x2, y2)``
    boxes (exclusive ends). The cores cut the field into near-equal parts; each region is its
    core grown by ``overlap`` on every side (clipped to the field), at most ``tile_size`` a side.
    One tile (the whole field) when ``tile_size`` is None or both sides fit in it."""
    whole = (0, 0, width, height)
    if tile_size is None or max(height, width) <= tile_size:
        return [(whole, whole)]
    core = tile_size - 2 * overlap
    if overlap < 0 or core < 1:
        raise ValueError(f"tile_size {tile_size} leaves no core inside an overlap of {overlap} px per side")

    def cuts(n: int) -> list[tuple[int, int]]:
        k = -(-n // core) if n > tile_size else 1
        edges = [round(i * n / k) for i in range(k + 1)]
        return list(zip(edges[:-1], edges[1:], strict=True))

    out = []
    for y1, y2 in cuts(height):
        for x1, x2 in cuts(width):
            region = (
                max(0, x1 - overlap),
                max(0, y1 - overlap),
                min(width, x2 + overlap),
                min(height, y2 + overlap),
            )
            out.append(((x1, y1, x2, y2), region))
    return out


def _detect_tiled(image, p, model, cnn, tiles, progress: bool) -> list[Detection]:
    """Detection tile by tile: each tile's region is scored as a field of its own, a candidate at
    or above ``min_score`` is kept by the tile whose core holds its box centre, and the greedy
    suppression runs once over all kept candidates, so that it is the same on both sides of a
    core edge (suppressing within each tile first can lose an organoid near an edge: kept by a
    tile that does not own it, suppressed in the tile that does by a larger box owned by the
    first. On 4 x 4 OrgaQuant fields in tiles of 768 both gave the same 63 boxes)."""
    iterable = tiles
    if progress:
        import sys

        from tqdm.auto import tqdm

        iterable = tqdm(tiles, desc="detecting in tiles", unit="tile", file=sys.stderr, leave=False)
    kept: list[Detection] = []
    for (cx1, cy1, cx2, cy2), (rx1, ry1, rx2, ry2) in iterable:
        for d in _detect_brightfield(image[ry1:ry2, rx1:rx2], p, model, cnn, suppress=False):
            x1, y1, x2, y2 = d.box
            box = (x1 + rx1, y1 + ry1, x2 + rx1, y2 + ry1)
            if cx1 <= (box[0] + box[2]) / 2 < cx2 and cy1 <= (box[1] + box[3]) / 2 < cy2:
                d.box = box
                kept.append(d)
    if len(kept) < 2:
        return kept
    boxes = np.array([d.box for d in kept], float)
    scores = np.array([d.score for d in kept])
    return [kept[i] for i in non_maximum_suppression(boxes, scores, -np.inf, p.nms_iou, p.nms_overlap)]


def _padded(d: Detection, margin: int, H: int, W: int) -> Detection:
    """``d`` with its box grown by ``margin`` px on every side (clipped to the field), the mask
    padded to match."""
    if margin <= 0:
        return d
    c0, r0, c1, r1 = d.box
    x1, y1, x2, y2 = max(0, c0 - margin), max(0, r0 - margin), min(W, c1 + margin), min(H, r1 + margin)
    mask = np.zeros((y2 - y1, x2 - x1), bool)
    mask[r0 - y1 : r1 - y1, c0 - x1 : c1 - x1] = d.mask
    return Detection((x1, y1, x2, y2), mask, d.area, d.sharpness, d.score, d.features)


def _detect_brightfield(
    image: np.ndarray, p: DetectionParams, model, cnn, suppress: bool = True
) -> list[Detection]:
    """The scored, suppressed detections of one brightfield field (boxes without ``p.margin``);
    ``suppress=False``: every candidate at or above ``min_score``, in decreasing score order."""
    cands = brightfield_candidates(image, p, crops=cnn is not None)
    if len(cands.boxes) == 0:
        return []
    scores = score_candidates(model, cands, cnn)
    own = model.min_score if cnn is None else cnn.min_score
    min_score = own if p.min_score is None else p.min_score
    if suppress:
        kept = non_maximum_suppression(cands.boxes, scores, min_score, p.nms_iou, p.nms_overlap)
    else:
        order = np.argsort(-scores, kind="stable")
        kept = [int(i) for i in order[scores[order] >= min_score]]
    out = []
    for i in kept:
        box = tuple(int(v) for v in cands.boxes[i])
        m = cands.masks[i]
        feats = cands.features[i]
        out.append(Detection(box, m, int(m.sum()), float(feats[1]), float(scores[i]), feats))  # type: ignore[arg-type]
    return out


def score_candidates(model: ScoreModel, cands: Candidates, cnn: CropScoreModel | None = None) -> np.ndarray:
    """The model's score of every candidate of a field (an empty array for no candidates); with
    ``cnn`` (the candidates need their ``crops``), the combined score of trees and CNN
    (:func:`corrclust.images.organoid_cnn.combined_scores`)."""
    if len(cands.boxes) == 0:
        return np.zeros(0)
    if cnn is None:
        return model.predict(cands.features)
    if cands.crops is None:
        raise ValueError(
            "the CNN score needs the candidates' crops (brightfield_candidates(..., crops=True))"
        )
    from corrclust.images.organoid_cnn import combined_scores

    return combined_scores(model.decision(cands.features), cnn.decision(cands.crops, cands.features))


def score_model(path: str | None = None) -> ScoreModel:
    """The candidate score model in ``path`` (None: the packaged one), checked to be fitted on
    this version's :data:`FEATURES`; errors (unreadable file, other features) name the file."""
    model = load_score_model(path)
    if model.features != FEATURES:
        raise ValueError(
            f"score model {path or '(packaged)'} was fitted on other features than this version's"
        )
    return model


_warned_no_torch = False


def _packaged_cnn() -> bool:
    from corrclust.images.organoid_cnn import PACKAGED

    return PACKAGED.is_file()


def resolve_scorer(scorer: str) -> str:
    """``"trees"`` or ``"trees+cnn"`` for :attr:`DetectionParams.scorer` (``"auto"``: the CNN too
    when torch can be imported; without it one warning, once per process, and the trees)."""
    global _warned_no_torch
    if scorer not in ("auto", "trees", "trees+cnn"):
        raise ValueError(f"scorer must be 'auto', 'trees' or 'trees+cnn', got {scorer!r}")
    if scorer != "auto":
        return scorer
    from corrclust.images.organoid_cnn import torch_available

    if torch_available():
        return "trees+cnn"
    if not _warned_no_torch:
        import warnings

        warnings.warn(
            "torch is not installed: organoid detection scores candidates with the boosted trees alone "
            "(pip install 'corrclust[torch]' adds the crop CNN)",
            stacklevel=3,
        )
        _warned_no_torch = True
    return "trees"


def cnn_model(path: str | None = None) -> CropScoreModel:
    """The crop CNN in ``path`` (None: the packaged one), checked to use this version's
    :data:`FEATURES`; errors (no torch, unreadable file, other features) name the problem."""
    from corrclust.images.organoid_cnn import load_crop_score, torch_available

    if not torch_available():
        raise ValueError("the 'trees+cnn' organoid score needs torch: pip install 'corrclust[torch]'")
    if path is None and not _packaged_cnn():
        raise ValueError(
            "this version ships no crop CNN: fit one with python -m corrclust.images.detection_model "
            "FIELDS BOXES -o trees.npz --cnn-output cnn.npz and pass both files"
        )
    model = load_crop_score(path)
    if model.features != FEATURES:
        raise ValueError(f"CNN score {path or '(packaged)'} was fitted on other features than this version's")
    return model


def non_maximum_suppression(
    boxes: np.ndarray, scores: np.ndarray, min_score: float, nms_iou: float, nms_overlap: float
) -> list[int]:
    """Indices kept by greedy suppression in decreasing score order (see :class:`DetectionParams`)."""
    boxes = np.asarray(boxes, float)
    order = np.argsort(-scores, kind="stable")
    order = order[scores[order] >= min_score]
    kept: list[int] = []
    for i in order:
        if kept:
            kb = boxes[kept]
            if box_iou(boxes[i], kb).max() > nms_iou or _overlap_of_smaller(boxes[i], kb).max() > nms_overlap:
                continue
        kept.append(int(i))
    return kept


_SIDES = ((0, slice(None)), (-1, slice(None)), (slice(None), 0), (slice(None), -1))


def _detect_fluorescence(image: np.ndarray, p: DetectionParams) -> list[Detection]:
    """Bright organoids on a dark background: smooth, Otsu threshold, close, fill, size filter.

    Lobes of one organoid stay together (no watershed split unless ``fluorescence_split``);
    there is no candidate score (the brightfield weights do not apply); ``score`` is the
    organoid's mean smoothed intensity relative to the threshold. Boxes without ``p.margin``.
    """
    from skimage.filters import threshold_otsu

    grey = _gray(image)
    sm = ndi.gaussian_filter(grey, p.fluorescence_sigma)
    if np.ptp(sm) == 0:
        return []
    t = threshold_otsu(sm)
    H, W = sm.shape
    return _fluorescence_objects(sm, t, p, p.max_area_fraction * H * W)


def _fluorescence_objects(
    sm: np.ndarray, t: float, p: DetectionParams, max_area: float, open_sides: tuple[int, ...] = (0, 1, 2, 3)
) -> list[Detection]:
    """The objects of the smoothed fluorescence image ``sm`` above ``t`` (label order), with an
    area in [min_area, max_area]; ``open_sides``: the borders of ``sm`` that are the field's."""
    from skimage.measure import label, regionprops

    fg = sm > t
    if p.closing_radius > 0:
        fg = ndi.binary_closing(fg, _disk(max(p.closing_radius, 3)), border_value=0)
    fg = _fill_holes_open_border(fg, open_sides)
    if p.opening_radius > 0:
        fg = ndi.binary_opening(fg, _disk(p.opening_radius))
    labels = label(fg)
    if p.fluorescence_split and labels.max() > 0:
        labels = _split_touching(fg, labels, 2.0, p.split_min_distance)
    out = []
    for rp in regionprops(labels, intensity_image=sm):
        if rp.area < p.min_area or rp.area > max_area:
            continue
        r0, c0, r1, c1 = rp.bbox
        out.append(Detection((c0, r0, c1, r1), rp.image, int(rp.area), 0.0, float(rp.intensity_mean / t)))
    return out


def _detect_fluorescence_tiled(image, p: DetectionParams, tiles, progress: bool) -> list[Detection]:
    """Fluorescence detection tile by tile with the whole field's threshold, so memory beyond the
    image is that of one tile and the objects are the whole field's.

    The Gaussian smoothing of a tile's region equals the whole field's smoothing wherever the
    kernel (4 sigma) stays inside the region, so in every core when the overlap is at least
    that: the grey scale, the smoothed range and the 256-bin histogram that Otsu's threshold is
    taken from are gathered over the cores (three cheap passes of smoothing), and the threshold
    is the whole field's. An object is kept by the tile whose core holds its box centre; an
    object that reaches a region edge inside the field (one larger than the overlap) is cut
    there, and where two tiles keep overlapping parts of it the larger part is kept. Only the
    region edges on the field's border close rims open towards them, as for the whole field.
    """
    from skimage.filters import threshold_otsu

    img = np.asarray(image)
    H, W = img.shape[:2]

    def grey_mean(region):
        return region.mean(axis=2) if region.ndim == 3 else region

    if img.ndim not in (2, 3):
        raise ValueError(f"expected an (H, W) or (H, W, C) image, got shape {img.shape}")
    # _gray's scale, from the whole field's grey maximum
    big = img.dtype == np.uint16 or any(
        grey_mean(img[y1:y2, x1:x2]).max() > 255 for (x1, y1, x2, y2), _ in tiles
    )
    scale = 65535.0 if big else 255.0

    def smoothed(region_box):
        rx1, ry1, rx2, ry2 = region_box
        return ndi.gaussian_filter(_gray(img[ry1:ry2, rx1:rx2], scale), p.fluorescence_sigma)

    def core_of(sm, core, region):
        (cx1, cy1, cx2, cy2), (rx1, ry1, _, _) = core, region
        return sm[cy1 - ry1 : cy2 - ry1, cx1 - rx1 : cx2 - rx1]

    lo, hi = np.inf, -np.inf
    for core, region in tiles:
        c = core_of(smoothed(region), core, region)
        lo, hi = min(lo, float(c.min())), max(hi, float(c.max()))
    if hi == lo:
        return []
    counts = np.zeros(256, np.int64)
    edges = None
    for core, region in tiles:
        h, edges = np.histogram(core_of(smoothed(region), core, region), bins=256, range=(lo, hi))
        counts += h
    assert edges is not None
    t = float(threshold_otsu(hist=(counts, (edges[:-1] + edges[1:]) / 2.0)))
    iterable = tiles
    if progress:
        import sys

        from tqdm.auto import tqdm

        iterable = tqdm(tiles, desc="detecting in tiles", unit="tile", file=sys.stderr, leave=False)
    # two tiles see parts of one object only where their regions overlap: each new object is
    # compared with the objects kept by those tiles, not with every object kept so far (quadratic
    # in the objects: 3,270 on a 12,150 px field)
    regions = [region for _, region in tiles]
    near = [
        [
            j
            for j, (bx1, by1, bx2, by2) in enumerate(regions)
            if j != k and ax1 < bx2 and bx1 < ax2 and ay1 < by2 and by1 < ay2
        ]
        for k, (ax1, ay1, ax2, ay2) in enumerate(regions)
    ]
    by_tile: list[list[Detection]] = [[] for _ in tiles]
    kept: list[Detection] = []  # in the order kept (the caller sorts by box; ties keep it)
    dropped: set[int] = set()  # ids of kept objects replaced by a larger part
    for k, ((cx1, cy1, cx2, cy2), (rx1, ry1, rx2, ry2)) in enumerate(iterable):
        open_sides = tuple(side for side, on in enumerate((ry1 == 0, ry2 == H, rx1 == 0, rx2 == W)) if on)
        sm = smoothed((rx1, ry1, rx2, ry2))
        for d in _fluorescence_objects(sm, t, p, p.max_area_fraction * H * W, open_sides):
            x1, y1, x2, y2 = d.box
            d.box = (x1 + rx1, y1 + ry1, x2 + rx1, y2 + ry1)
            if not (cx1 <= (d.box[0] + d.box[2]) / 2 < cx2 and cy1 <= (d.box[1] + d.box[3]) / 2 < cy2):
                continue
            # the whole field's objects are disjoint, so masks that share a pixel are parts of
            # one object seen by two tiles
            same = [(j, o) for j in near[k] for o in by_tile[j] if _masks_meet(d, o)]
            if any(o.area >= d.area for _, o in same):
                continue
            for j, o in same:
                by_tile[j] = [e for e in by_tile[j] if e is not o]
                dropped.add(id(o))
            by_tile[k].append(d)
            kept.append(d)
    return [d for d in kept if id(d) not in dropped]


def _masks_meet(a: Detection, b: Detection) -> bool:
    """Whether two detections (field coordinates) share a mask pixel."""
    x1, y1 = max(a.box[0], b.box[0]), max(a.box[1], b.box[1])
    x2, y2 = min(a.box[2], b.box[2]), min(a.box[3], b.box[3])
    if x1 >= x2 or y1 >= y2:
        return False
    ma = a.mask[y1 - a.box[1] : y2 - a.box[1], x1 - a.box[0] : x2 - a.box[0]]
    mb = b.mask[y1 - b.box[1] : y2 - b.box[1], x1 - b.box[0] : x2 - b.box[0]]
    return bool((ma & mb).any())


def _fill_holes_open_border(fg: np.ndarray, open_sides: Sequence[int] = (0, 1, 2, 3)) -> np.ndarray:
    """Fill holes, including the inside of rims that the image border cuts.

    The same as ``binary_fill_holes`` of the mask, united with ``binary_fill_holes`` of the mask
    with each border line set in turn (a rim open towards one side is closed by that side; the
    line itself is not added), computed by labelling the background once per case.
    ``open_sides``: the border lines that close rims (top, bottom, left, right: 0-3; a tile's
    edges inside the field do not).
    """
    filled = fg.copy()
    for open_side in (None, *open_sides):
        bg = ~fg
        if open_side is not None:
            bg[_SIDES[open_side]] = False
        lab, n = ndi.label(bg)  # 4-connected, as binary_fill_holes
        if n == 0:
            continue
        reaches_border = np.zeros(n + 1, bool)
        for k, sl in enumerate(_SIDES):
            if k != open_side:
                reaches_border[lab[sl]] = True
        reaches_border[0] = True
        filled |= ~reaches_border[lab]
    return filled


# --------------------------------------------------------------------------------------------
# evaluation


def _overlap_of_smaller(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection of ``box`` with each of ``boxes`` over the smaller of the two areas."""
    ix = np.clip(np.minimum(boxes[:, 2], box[2]) - np.maximum(boxes[:, 0], box[0]), 0, None)
    iy = np.clip(np.minimum(boxes[:, 3], box[3]) - np.maximum(boxes[:, 1], box[1]), 0, None)
    a = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    b = (box[2] - box[0]) * (box[3] - box[1])
    return ix * iy / np.maximum(np.minimum(a, b), 1e-12)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix of boxes ``(x1, y1, x2, y2)`` (``len(a) x len(b)``)."""
    a = np.asarray(a, float).reshape(-1, 4)
    b = np.asarray(b, float).reshape(-1, 4)
    ix = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = ix * iy
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def match_boxes(pred, truth, iou_threshold: float = 0.5) -> tuple[int, int, int, list[float]]:
    """One-to-one Hungarian matching maximising IoU; returns (tp, fp, fn, IoUs of the matches)."""
    from scipy.optimize import linear_sum_assignment

    pred = np.asarray(pred, float).reshape(-1, 4)
    truth = np.asarray(truth, float).reshape(-1, 4)
    if len(pred) == 0 or len(truth) == 0:
        return 0, len(pred), len(truth), []
    iou = box_iou(pred, truth)
    rows, cols = linear_sum_assignment(-iou)
    ious = [float(iou[r, c]) for r, c in zip(rows, cols, strict=False) if iou[r, c] >= iou_threshold]
    tp = len(ious)
    return tp, len(pred) - tp, len(truth) - tp, ious


# --------------------------------------------------------------------------------------------
# cropping a folder of fields


def _clear_previous_crops(out: Path) -> None:
    """Remove the crops a previous run listed in ``out/crops.csv``; refuse other image files."""
    table = out / "crops.csv"
    ours: set[str] = set()
    if table.is_file():
        with open(table, newline="") as fh:
            for row in csv.DictReader(fh):
                name = restore(row.get("crop") or "")
                ours |= {name, name[: -len(".tif")] + "_mask.tif"} if name.endswith(".tif") else set()
    others = sorted(
        f.name
        for f in out.iterdir()
        if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES and f.name not in ours
    )
    if others:
        raise ValueError(
            f"crop folder {out} already holds {len(others)} image(s) not written by a previous crop "
            f"run (e.g. {others[0]}); use an empty folder"
        )
    for name in ours:
        (out / name).unlink(missing_ok=True)


@dataclass
class CropResult:
    rows: list[tuple[str, str, int, int, int, int]]
    failures: list[tuple[Path, str]]
    table: Path


def crop_fields(
    fields_dir: str | Path,
    out_dir: str | Path,
    params: DetectionParams | None = None,
    *,
    files: Sequence[str | Path] | None = None,
    progress: bool = False,
    read: ReadOptions | None = None,
    name_pattern: str | None = None,
) -> CropResult:
    """Detect organoids in every image of ``fields_dir``; write crops, masks and ``crops.csv``.

    Crops are ``<field>__<k>.tif`` (``<field>`` the source's name without its image suffixes; a time
    point of a field split by ``read.t == "split"`` is ``<stem>__t<j>``, so its crops are
    ``<stem>__t<j>__<k>.tif`` and ``crops.csv`` gets a ``t`` column) with
    ``k`` = 0, 1, ... numbered across all sources (so it is a unique organoid id in the paper's
    sense), with masks ``<field>__<k>_mask.tif`` (uint8 0/255). ``crops.csv`` lists
    ``source,crop,x1,y1,x2,y2`` (box in source pixels) and the field's ``pixel_size_um``, ``plate``,
    ``well`` and ``site`` where known (:func:`corrclust.images.io.parse_name`). The crop keeps the
    source's dtype and the planes ``read`` selects (all by default), and its pixel size in the TIFF
    resolution tags; pixels outside the mask are kept (brightfield has no meaningful zero
    background). Unreadable sources are reported in ``failures`` and skipped.
    """
    import tifffile

    fields_dir = Path(fields_dir)
    if not fields_dir.is_dir():
        raise NotADirectoryError(f"fields folder not found: {fields_dir}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _clear_previous_crops(out)
    if files is None:
        paths = sorted(f for f in fields_dir.iterdir() if is_image_path(f))
    else:
        paths = [Path(f) if Path(f).is_absolute() else fields_dir / f for f in files]
    if not paths:
        raise ValueError(f"no images found in {fields_dir}")
    pattern = compile_name_pattern(name_pattern) if name_pattern else None
    rows: list[tuple[str, str, int, int, int, int]] = []
    extra: list[tuple[str, str, str, str]] = []
    failures: list[tuple[Path, str]] = []
    k = 0
    records = [ImageRecord(path, n) for n, path in enumerate(paths)]
    if read is not None and read.t == "split":
        records = split_time_points(records)
    times: list[str] = []
    for rec, data, err in iter_images(records, read, progress=progress, desc="detecting organoids"):
        path = rec.path
        if data is None:
            failures.append((path, err or "unreadable"))
            continue
        img = data.pixels
        field = rec.name
        size = data.pixel_size
        tiff_kw: dict[str, Any] = (
            {} if size is None else {"resolution": (1e4 / size, 1e4 / size), "resolutionunit": "CENTIMETER"}
        )
        where = parse_name(path, pattern)
        for det in detect_organoids(img, params, progress=progress):
            x1, y1, x2, y2 = det.box
            name = f"{field}{CROP_SEPARATOR}{k}.tif"
            crop = np.ascontiguousarray(img[y1:y2, x1:x2])
            with atomic_path(out / name) as tmp:
                tifffile.imwrite(
                    tmp, crop, photometric="rgb" if crop.shape[2] == 3 else "minisblack", **tiff_kw
                )
            with atomic_path(out / f"{field}{CROP_SEPARATOR}{k}_mask.tif") as tmp:
                tifffile.imwrite(tmp, det.mask.astype(np.uint8) * 255, photometric="minisblack", **tiff_kw)
            rows.append((path.name, name, x1, y1, x2, y2))
            times.append("" if rec.t is None else str(rec.t))
            extra.append(
                (
                    "" if size is None else f"{size:.6g}",
                    where.get("plate", ""),
                    where.get("well", ""),
                    where.get("site", ""),
                )
            )
            k += 1
    table = out / "crops.csv"
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    split = any(times)  # a "t" column only where a field was split into time points
    w.writerow(
        ["source", "crop", "x1", "y1", "x2", "y2", "pixel_size_um", "plate", "well", "site"]
        + (["t"] if split else [])
    )
    w.writerows(
        neutralise_row(r + e + ((t,) if split else ())) for r, e, t in zip(rows, extra, times, strict=False)
    )
    write_text(table, buf.getvalue())
    return CropResult(rows, failures, table)
