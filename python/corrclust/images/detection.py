"""Organoid detection and cropping in whole brightfield (or fluorescence) fields.

A classical scikit-image pipeline, tuned on the OrgaQuant test fields
(``shared/data/organoid-fields``; see ``docs/images.md`` for the tuning protocol and scores):

1. grey = mean of the channels, scaled to [0, 1];
2. flat-field correction: divide by a wide Gaussian blur of the image (removes vignetting and the
   bright/dark halves of Matrigel domes);
3. contrast map: gradient magnitude of the corrected image after a light Gaussian smoothing
   (organoids in focus have sharp dark rims; brightfield organoids are not darker or brighter than
   the background as a whole);
4. thresholds at several multiples of Otsu's threshold of the contrast map; at each: a small
   closing, hole filling (a rim becomes a filled object, also where the image border cuts it),
   opening, and a watershed split of touching organoids on the distance transform;
5. every object of every threshold is a candidate with the features :data:`FEATURES` (size, rim
   contrast = sharpness, solidity, eccentricity, contrast percentile, grey-level spread,
   flat-field brightness inside, rim darkness relative to the inside, and two products); a
   logistic score of these (weights fitted once on the even-numbered OrgaQuant fields and fixed
   in :class:`DetectionParams`) removes specks, debris and out-of-focus organoids, which the
   manual boxes leave out;
6. non-maximum suppression keeps the best-scoring of overlapping candidates (overlap measured as a
   fraction of the smaller box, so a merged blob does not survive next to its better part).

Fluorescence fields (``modality="fluorescence"``: bright organoids on a dark background) take a
simpler path: Gaussian smoothing, Otsu threshold, closing, hole filling, opening and a size
filter, without a split (lobes of a budding organoid stay one object) and without a score.

:func:`detect_organoids` returns :class:`Detection` objects (box and mask); :func:`crop_fields`
writes one crop and mask per object and ``crops.csv`` (``source,crop,x1,y1,x2,y2``; the box in
source pixels, ``x2``/``y2`` exclusive).
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy import ndimage as ndi

from corrclust.images.io import IMAGE_SUFFIXES, ImageReadError, is_mask_file, read_image

__all__ = [
    "DetectionParams",
    "Detection",
    "detect_organoids",
    "crop_fields",
    "box_iou",
    "match_boxes",
    "CropResult",
]


@dataclass(frozen=True)
class DetectionParams:
    """Parameters of :func:`detect_organoids` (lengths in pixels of the input image)."""

    modality: str = "brightfield"  # or "fluorescence"
    background_sigma: float = 40.0  # flat-field blur
    smooth_sigma: float = 1.5  # before the gradient
    threshold_scales: tuple[float, ...] = (0.8, 1.0, 1.3, 1.6, 2.0)  # x Otsu threshold of the contrast map
    threshold_floor: float = 0.02  # minimum threshold of the gradient map
    # optional second, coarser contrast map (gradient after this smoothing, e.g. 3.0) that adds
    # large faint organoids as candidates; off by default: on the OrgaQuant fields it raised the
    # candidate ceiling from 0.88 to 0.91 recall but, with a refitted score, held-out recall at
    # precision 0.7 only by ~0.01 for twice the time. Candidate features come from the fine map.
    coarse_sigma: float | None = None
    coarse_threshold_scales: tuple[float, ...] = (0.6, 0.8, 1.0, 1.3)
    closing_radius: int = 1
    opening_radius: int = 2
    min_area: int = 100
    max_area_fraction: float = 0.5  # of the image
    split_min_distance: int = 12  # between watershed seeds
    split: bool = True
    # logistic score: bias, then one weight per FEATURES entry (tuned on the even-numbered fields)
    score_weights: tuple[float, ...] = (
        -19.4851, 4.0375, -54.6312, 3.7987, -2.2286, 11.9603, 8.6695, -5.5022, -3.5954, 2.3305,
        -0.2192, 11.0891,
    )
    min_score: float = 0.3
    # of two candidates whose boxes overlap by more than this fraction of the smaller box, keep
    # the better-scoring one (also removes a merged blob around a single organoid, unlike IoU)
    nms_overlap: float = 0.5
    margin: int = 0  # box padding
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


def _gray(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim == 3:
        img = img.mean(axis=2)
    if img.ndim != 2:
        raise ValueError(f"expected an (H, W) or (H, W, C) image, got shape {np.shape(image)}")
    scale = 65535.0 if img.dtype == np.uint16 or img.max() > 255 else 255.0
    return img.astype(np.float64) / scale


def _flat_field(image: np.ndarray, params: DetectionParams) -> np.ndarray:
    """Grey image divided by its wide Gaussian blur (1 = local background level)."""
    g = _gray(image)
    bg = ndi.gaussian_filter(g, params.background_sigma, mode="reflect")
    return g / np.maximum(bg, 1e-3)


def contrast_map(
    image: np.ndarray, params: DetectionParams = DetectionParams(), *, flat: np.ndarray | None = None
) -> np.ndarray:
    """The map that is thresholded (flat-field-corrected gradient magnitude or intensity)."""
    from skimage.filters import sobel

    if flat is None:
        flat = _flat_field(image, params)
    if params.modality == "fluorescence":
        return np.clip(flat - 1.0, 0, None)
    if params.modality != "brightfield":
        raise ValueError(f"modality must be 'brightfield' or 'fluorescence', got {params.modality!r}")
    return sobel(ndi.gaussian_filter(flat, params.smooth_sigma))


FEATURES = (
    "log_area", "rim_contrast", "solidity", "eccentricity", "p90_contrast", "grey_std",
    "flat_mean", "flat_rim_minus_inner", "flat_p5", "log_area_squared", "rim_contrast_x_log_area",
)


def _segment(cmap: np.ndarray, threshold: float, p: DetectionParams) -> np.ndarray:
    """Label image of the objects above ``threshold`` in the contrast map."""
    from skimage.measure import label
    from skimage.segmentation import watershed

    fg = cmap > threshold
    if p.closing_radius > 0:
        fg = ndi.binary_closing(fg, _disk(p.closing_radius), border_value=0)
    filled = _fill_holes_open_border(fg)
    if p.opening_radius > 0:
        filled = ndi.binary_opening(filled, _disk(p.opening_radius))
    labels = label(filled)
    if p.split and labels.max() > 0:
        from skimage.feature import peak_local_max

        dist = ndi.gaussian_filter(ndi.distance_transform_edt(filled), 1.0)
        peaks = peak_local_max(dist, min_distance=p.split_min_distance, labels=labels, exclude_border=False)
        markers = np.zeros_like(labels)
        markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
        # a component without a peak keeps one marker of its own
        has = np.zeros(labels.max() + 1, bool)
        has[labels[markers > 0]] = True
        missing = np.flatnonzero(~has[1:]) + 1
        if missing.size:
            first = ndi.labeled_comprehension(
                np.arange(labels.size).reshape(labels.shape), labels, missing, np.min, np.int64, -1
            )
            markers.flat[first] = len(peaks) + np.arange(1, missing.size + 1)
        labels = watershed(-dist, markers, mask=filled)
    return labels


def _candidates(labels, cmap, grey, flat, p: DetectionParams):
    from skimage.measure import regionprops
    from skimage.segmentation import find_boundaries

    H, W = labels.shape
    rim = ndi.binary_dilation(find_boundaries(labels, mode="inner"), iterations=2) & (labels > 0)
    out = []
    max_area = p.max_area_fraction * H * W
    for rp in regionprops(labels):
        if rp.area < p.min_area or rp.area > max_area:
            continue
        r0, c0, r1, c1 = rp.bbox
        m = rp.image
        sub = cmap[r0:r1, c0:c1]
        sub_rim = rim[r0:r1, c0:c1] & m
        fsub = flat[r0:r1, c0:c1]
        inner = m & ~sub_rim
        feats = np.array([
            np.log(rp.area),
            float(sub[sub_rim].mean()) if sub_rim.any() else 0.0,
            rp.solidity,
            rp.eccentricity,
            float(np.percentile(sub[m], 90)),
            float(grey[r0:r1, c0:c1][m].std()),
            float(fsub[m].mean()),
            float(fsub[sub_rim].mean() - fsub[inner].mean()) if sub_rim.any() and inner.any() else 0.0,
            float(np.percentile(fsub[m], 5)),
        ])
        feats = np.concatenate([feats, [feats[0] ** 2, feats[1] * feats[0]]])
        out.append(((c0, r0, c1, r1), m, int(rp.area), feats))
    return out


def detect_organoids(
    image: np.ndarray, params: DetectionParams | None = None, **overrides
) -> list[Detection]:
    """Detect single organoids in a field; returns detections sorted by box (row, then column).

    Candidates are segmented at several thresholds (``threshold_scales`` x Otsu of the contrast
    map), so touching organoids that merge at a low threshold separate at a higher one; each
    candidate gets a score (a logistic function of :data:`FEATURES` with the weights in
    ``params.score_weights``); candidates scoring below ``min_score`` are dropped, and of
    overlapping candidates (intersection > ``nms_overlap`` x the smaller box) the best-scoring
    one is kept.
    ``overrides`` replace fields of ``params`` (e.g. ``min_score=0.6``).
    """
    from skimage.filters import threshold_otsu

    p = params or DetectionParams()
    if overrides:
        p = DetectionParams(**{**asdict(p), **overrides})
    if p.modality not in ("brightfield", "fluorescence"):
        raise ValueError(f"modality must be 'brightfield' or 'fluorescence', got {p.modality!r}")
    if p.modality == "fluorescence":
        return _detect_fluorescence(image, p)
    flat = _flat_field(image, p)
    cmap = contrast_map(image, p, flat=flat)
    grey = _gray(image)
    H, W = cmap.shape
    if np.ptp(cmap) == 0:
        return []
    sources = [(cmap, p.threshold_scales)]
    if p.coarse_sigma is not None and p.modality == "brightfield":
        from skimage.filters import sobel

        sources.append((sobel(ndi.gaussian_filter(flat, p.coarse_sigma)), p.coarse_threshold_scales))
    cands = []
    for level_map, scales in sources:
        otsu = threshold_otsu(level_map)
        for scale in scales:
            t = max(otsu * scale, p.threshold_floor)
            cands += _candidates(_segment(level_map, t, p), cmap, grey, flat, p)
    if not cands:
        return []
    X = np.array([c[3] for c in cands])
    w = np.asarray(p.score_weights, float)
    if w.size != len(FEATURES) + 1:
        raise ValueError(f"score_weights needs {len(FEATURES) + 1} values (bias + {FEATURES}), got {w.size}")
    scores = 1.0 / (1.0 + np.exp(-(X @ w[1:] + w[0])))
    order = np.argsort(-scores, kind="stable")
    order = order[scores[order] >= p.min_score]
    boxes = np.array([c[0] for c in cands], float)
    kept: list[int] = []
    for i in order:
        if kept and _overlap_of_smaller(boxes[i], boxes[kept]).max() > p.nms_overlap:
            continue
        kept.append(int(i))
    out = []
    for i in kept:
        (c0, r0, c1, r1), m, area, feats = cands[i]
        g = p.margin
        x1, y1, x2, y2 = max(0, c0 - g), max(0, r0 - g), min(W, c1 + g), min(H, r1 + g)
        mask = np.zeros((y2 - y1, x2 - x1), bool)
        mask[r0 - y1 : r1 - y1, c0 - x1 : c1 - x1] = m
        out.append(Detection((x1, y1, x2, y2), mask, area, float(feats[1]), float(scores[i]), feats))
    out.sort(key=lambda d: (d.box[1], d.box[0]))
    return out


_SIDES = ((0, slice(None)), (-1, slice(None)), (slice(None), 0), (slice(None), -1))


def _detect_fluorescence(image: np.ndarray, p: DetectionParams) -> list[Detection]:
    """Bright organoids on a dark background: smooth, Otsu threshold, close, fill, size filter.

    Lobes of one organoid stay together (no watershed split unless ``fluorescence_split``);
    there is no candidate score (the brightfield weights do not apply); ``score`` is the
    organoid's mean smoothed intensity relative to the threshold.
    """
    from skimage.filters import threshold_otsu
    from skimage.measure import label, regionprops
    from skimage.segmentation import watershed

    grey = _gray(image)
    sm = ndi.gaussian_filter(grey, p.fluorescence_sigma)
    if np.ptp(sm) == 0:
        return []
    t = threshold_otsu(sm)
    fg = sm > t
    if p.closing_radius > 0:
        fg = ndi.binary_closing(fg, _disk(max(p.closing_radius, 3)), border_value=0)
    fg = _fill_holes_open_border(fg)
    if p.opening_radius > 0:
        fg = ndi.binary_opening(fg, _disk(p.opening_radius))
    labels = label(fg)
    if p.fluorescence_split and labels.max() > 0:
        from skimage.feature import peak_local_max

        dist = ndi.gaussian_filter(ndi.distance_transform_edt(fg), 2.0)
        peaks = peak_local_max(dist, min_distance=p.split_min_distance, labels=labels, exclude_border=False)
        markers = np.zeros_like(labels)
        markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
        labels = watershed(-dist, markers, mask=fg)
    H, W = fg.shape
    out = []
    for rp in regionprops(labels, intensity_image=sm):
        if rp.area < p.min_area or rp.area > p.max_area_fraction * H * W:
            continue
        r0, c0, r1, c1 = rp.bbox
        g = p.margin
        x1, y1, x2, y2 = max(0, c0 - g), max(0, r0 - g), min(W, c1 + g), min(H, r1 + g)
        mask = np.zeros((y2 - y1, x2 - x1), bool)
        mask[r0 - y1 : r1 - y1, c0 - x1 : c1 - x1] = rp.image
        out.append(Detection((x1, y1, x2, y2), mask, int(rp.area), 0.0, float(rp.intensity_mean / t)))
    out.sort(key=lambda d: (d.box[1], d.box[0]))
    return out


def _fill_holes_open_border(fg: np.ndarray) -> np.ndarray:
    """Fill holes, including the inside of rims that the image border cuts.

    The same as ``binary_fill_holes`` of the mask, united with ``binary_fill_holes`` of the mask
    with each border line set in turn (a rim open towards one side is closed by that side; the
    line itself is not added), computed by labelling the background once per case.
    """
    filled = fg.copy()
    for open_side in (None, 0, 1, 2, 3):
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
    ious = [float(iou[r, c]) for r, c in zip(rows, cols) if iou[r, c] >= iou_threshold]
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
                name = row.get("crop") or ""
                ours |= {name, name[: -len(".tif")] + "_mask.tif"} if name.endswith(".tif") else set()
    others = sorted(
        f.name for f in out.iterdir()
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
) -> CropResult:
    """Detect organoids in every image of ``fields_dir``; write crops, masks and ``crops.csv``.

    Crops are ``<source stem>_<k>.tif`` with ``k`` = 0, 1, ... numbered across all sources (so it
    is a unique organoid id in the paper's sense), with masks ``<source stem>_<k>_mask.tif``
    (uint8 0/255); underscores in the source stem become ``-``. The crop keeps the source's channels and dtype;
    pixels outside the mask are kept (brightfield has no meaningful zero background). Unreadable
    sources are reported in ``failures`` and skipped.
    """
    import tifffile

    fields_dir = Path(fields_dir)
    if not fields_dir.is_dir():
        raise NotADirectoryError(f"fields folder not found: {fields_dir}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _clear_previous_crops(out)
    if files is None:
        paths = sorted(
            f for f in fields_dir.iterdir()
            if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES and not is_mask_file(f)
        )
    else:
        paths = [Path(f) if Path(f).is_absolute() else fields_dir / f for f in files]
    if not paths:
        raise ValueError(f"no images found in {fields_dir}")
    it = paths
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(paths, desc="detecting organoids", unit="img")
    rows: list[tuple[str, str, int, int, int, int]] = []
    failures: list[tuple[Path, str]] = []
    k = 0
    for path in it:
        try:
            img = read_image(path)
        except ImageReadError as exc:
            failures.append((path, str(exc)))
            continue
        stem = path.stem.replace("_", "-")
        for det in detect_organoids(img, params):
            x1, y1, x2, y2 = det.box
            name = f"{stem}_{k}.tif"
            crop = np.ascontiguousarray(img[y1:y2, x1:x2])
            tifffile.imwrite(out / name, crop, photometric="rgb" if crop.shape[2] == 3 else "minisblack")
            tifffile.imwrite(out / f"{stem}_{k}_mask.tif", det.mask.astype(np.uint8) * 255, photometric="minisblack")
            rows.append((path.name, name, x1, y1, x2, y2))
            k += 1
    table = out / "crops.csv"
    with open(table, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["source", "crop", "x1", "y1", "x2", "y2"])
        w.writerows(rows)
    return CropResult(rows, failures, table)
