"""Organoid detection and cropping in whole brightfield (or fluorescence) fields.

A classical scikit-image pipeline, tuned on the OrgaQuant test fields
(``shared/data/organoid-fields``; see ``docs/images.md`` for the tuning protocol and scores):

1. grey = mean of the channels, scaled to [0, 1];
2. flat-field correction: divide by a wide Gaussian blur of the image (removes vignetting and the
   bright/dark halves of Matrigel domes);
3. contrast map: gradient magnitude of the corrected image after a light Gaussian smoothing
   (organoids in focus have sharp dark rims; brightfield organoids are not darker or brighter than
   the background as a whole). For fluorescence (``modality="fluorescence"``) the corrected
   intensity itself is thresholded;
4. thresholds at several multiples of Otsu's threshold of the contrast map; at each: a small
   closing, hole filling (a rim becomes a filled object, also where the image border cuts it),
   opening, and a watershed split of touching organoids on the distance transform;
5. every object of every threshold is a candidate with six features (:data:`FEATURES`: size, rim
   contrast = sharpness, solidity, eccentricity, contrast percentile, grey-level spread); a
   logistic score of these (weights fitted once on the even-numbered OrgaQuant fields and fixed
   in :class:`DetectionParams`) removes specks, debris and out-of-focus organoids, which the
   manual boxes leave out;
6. non-maximum suppression keeps the best-scoring of overlapping candidates.

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
    threshold_scales: tuple[float, ...] = (1.0, 1.3, 1.6, 2.0)  # x Otsu threshold of the contrast map
    threshold_floor: float = 0.02  # minimum threshold of the gradient map
    closing_radius: int = 1
    opening_radius: int = 2
    min_area: int = 100
    max_area_fraction: float = 0.5  # of the image
    split_min_distance: int = 12  # between watershed seeds
    split: bool = True
    # logistic score: bias, then one weight per FEATURES entry (tuned on the even-numbered fields)
    score_weights: tuple[float, ...] = (-17.4237, 2.0989, 12.0643, 2.5074, -2.009, 4.633, 6.877)
    min_score: float = 0.4
    nms_iou: float = 0.3
    margin: int = 0  # box padding


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


def contrast_map(image: np.ndarray, params: DetectionParams = DetectionParams()) -> np.ndarray:
    """The map that is thresholded (flat-field-corrected gradient magnitude or intensity)."""
    from skimage.filters import sobel

    g = _gray(image)
    bg = ndi.gaussian_filter(g, params.background_sigma, mode="reflect")
    flat = g / np.maximum(bg, 1e-3)
    if params.modality == "fluorescence":
        return np.clip(flat - 1.0, 0, None)
    if params.modality != "brightfield":
        raise ValueError(f"modality must be 'brightfield' or 'fluorescence', got {params.modality!r}")
    return sobel(ndi.gaussian_filter(flat, params.smooth_sigma))


FEATURES = ("log_area", "rim_contrast", "solidity", "eccentricity", "p90_contrast", "grey_std")


def _segment(cmap: np.ndarray, threshold: float, p: DetectionParams) -> np.ndarray:
    """Label image of the objects above ``threshold`` in the contrast map."""
    from skimage.measure import label
    from skimage.segmentation import watershed

    fg = cmap > threshold
    if p.closing_radius > 0:
        fg = ndi.binary_closing(fg, _disk(p.closing_radius), border_value=0)
    # Fill holes, also in rims cut by the image border: close each border side in turn.
    filled = ndi.binary_fill_holes(fg)
    for sl in ((0, slice(None)), (-1, slice(None)), (slice(None), 0), (slice(None), -1)):
        padded = fg.copy()
        padded[sl] = True
        filled |= ndi.binary_fill_holes(padded) & ~_border_line(fg.shape, sl)
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


def _candidates(labels, cmap, grey, p: DetectionParams):
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
        feats = np.array([
            np.log(rp.area),
            float(sub[sub_rim].mean()) if sub_rim.any() else 0.0,
            rp.solidity,
            rp.eccentricity,
            float(np.percentile(sub[m], 90)),
            float(grey[r0:r1, c0:c1][m].std()),
        ])
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
    overlapping candidates (box IoU > ``nms_iou``) the best-scoring one is kept.
    ``overrides`` replace fields of ``params`` (e.g. ``min_score=0.6``).
    """
    from skimage.filters import threshold_otsu

    p = params or DetectionParams()
    if overrides:
        p = DetectionParams(**{**asdict(p), **overrides})
    cmap = contrast_map(image, p)
    grey = _gray(image)
    H, W = cmap.shape
    if np.ptp(cmap) == 0:
        return []
    otsu = threshold_otsu(cmap)
    cands = []
    for scale in p.threshold_scales:
        t = max(otsu * scale, p.threshold_floor)
        cands += _candidates(_segment(cmap, t, p), cmap, grey, p)
    if not cands:
        return []
    X = np.array([c[3] for c in cands])
    w = np.asarray(p.score_weights, float)
    scores = 1.0 / (1.0 + np.exp(-(X @ w[1:] + w[0])))
    order = np.argsort(-scores, kind="stable")
    order = order[scores[order] >= p.min_score]
    boxes = np.array([c[0] for c in cands], float)
    kept: list[int] = []
    for i in order:
        if kept and box_iou(boxes[i], boxes[kept]).max() > p.nms_iou:
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


def _border_line(shape, sl) -> np.ndarray:
    m = np.zeros(shape, bool)
    m[sl] = True
    return m


# --------------------------------------------------------------------------------------------
# evaluation


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
