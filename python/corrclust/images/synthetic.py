"""Synthetic fluorescence organoids with known morphological classes.

Each image is a single organoid on a square canvas, stored like the paper's data (paper-model §1):
a 16-bit TIFF, ``(H, W, 4)`` channel-last, with the planes

====  ==========================  ================================================
 idx   paper name                  content here
====  ==========================  ================================================
 0    DAPI (blue)                 every nucleus, as a blob
 1    PDX1-GFP (green)            a subset of the nuclei, in a class-specific pattern
 2    NEUROG3-RFP                 always empty (never present in the paper's data)
 3    Phalloidin (red)            F-actin ridges on cell borders, the outer boundary
                                  and (cysts) the lumen surface, which is brightest
====  ==========================  ================================================

plus ``<stem>_mask.tif`` (uint8, 255 = organoid), with the background outside the mask set to 0
as in the paper's crops. File names end in the organoid id, ``organoid_<id>.tif`` with
``id = class * 100 + k`` (classes from 1), and ``truth.csv`` holds the true partition in the
paper's format (one class per line).

Classes differ in shape and arrangement, not in global brightness: every class draws its
intensities from the same distributions. The templates, in class order, are listed in
:data:`TEMPLATES`. Noise is photon (Poisson) noise at a random gain, Gaussian read noise and an
uneven illumination field. The same ``seed`` gives byte-identical files; image ``k`` of class
``c`` depends only on ``(seed, c, k)``, so a smaller ``per_class`` gives a subset of the files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from corrclust.atomic import atomic_path
from corrclust.formats.clusterings import PAPER_METADATA, write_clustering
from corrclust.images.io import ImageRecord

__all__ = ["TEMPLATES", "SyntheticOrganoid", "render_organoid", "generate"]

BLUE, GREEN, EMPTY, RED = 0, 1, 2, 3


@dataclass
class SyntheticOrganoid:
    """One rendered organoid with its ground truth."""

    image: np.ndarray  # (S, S, 4) uint16
    mask: np.ndarray  # (S, S) bool
    nuclei: np.ndarray  # (n, 2) float (row, col) centres of all nuclei
    green: np.ndarray  # (n,) bool, nucleus also visible in the green plane
    lumen: np.ndarray  # (S, S) bool, lumen pixels (inside the mask, free of nuclei)


# --------------------------------------------------------------------------------------------
# shapes: each returns (mask, lumen, nuclei_region) on warped coordinates


def _ellipse(y, x, cy, cx, a, b, theta):
    c, s = np.cos(theta), np.sin(theta)
    u = (x - cx) * c + (y - cy) * s
    v = -(x - cx) * s + (y - cy) * c
    return (u / a) ** 2 + (v / b) ** 2 <= 1.0


def _spheroid(y, x, S, rng):
    r = S * rng.uniform(0.30, 0.36)
    m = _ellipse(y, x, 0, 0, r, r * rng.uniform(0.85, 1.0), rng.uniform(0, np.pi))
    return m, np.zeros_like(m), m, 1.0


def _cyst(y, x, S, rng):
    r = S * rng.uniform(0.33, 0.38)
    t = rng.uniform(0, np.pi)
    e = rng.uniform(0.85, 1.0)
    m = _ellipse(y, x, 0, 0, r, r * e, t)
    wall = rng.uniform(0.22, 0.28)
    lumen = _ellipse(y, x, 0, 0, r * (1 - wall), r * e * (1 - wall), t)
    return m, lumen, m & ~lumen, 1.0


def _budding(y, x, S, rng):
    r0 = S * rng.uniform(0.18, 0.22)
    m = _ellipse(y, x, 0, 0, r0, r0, 0)
    n = rng.integers(3, 6)
    phases = rng.uniform(0, 2 * np.pi) + np.arange(n) * 2 * np.pi / n + rng.normal(0, 0.2, n)
    for ph in phases:
        rl = S * rng.uniform(0.09, 0.12)
        d = r0 + rl * 0.6
        m |= _ellipse(y, x, d * np.sin(ph), d * np.cos(ph), rl, rl, 0)
    return m, np.zeros_like(m), m, 1.0


def _elongated(y, x, S, rng):
    a = S * rng.uniform(0.38, 0.43)
    m = _ellipse(y, x, 0, 0, a, a * rng.uniform(0.32, 0.42), rng.uniform(0, np.pi))
    return m, np.zeros_like(m), m, 1.0


def _multicystic(y, x, S, rng):
    r = S * rng.uniform(0.34, 0.38)
    m = _ellipse(y, x, 0, 0, r, r * rng.uniform(0.9, 1.0), 0)
    lumen = np.zeros_like(m)
    n = rng.integers(3, 5)
    for ph in rng.uniform(0, 2 * np.pi) + np.arange(n) * 2 * np.pi / n:
        rl = r * rng.uniform(0.2, 0.25)
        d = r * 0.5
        lumen |= _ellipse(y, x, d * np.sin(ph), d * np.cos(ph), rl, rl, 0)
    return m, lumen, m & ~lumen, 1.0


def _small_dense(y, x, S, rng):
    r = S * rng.uniform(0.17, 0.21)
    m = _ellipse(y, x, 0, 0, r, r * rng.uniform(0.85, 1.0), rng.uniform(0, np.pi))
    return m, np.zeros_like(m), m, 0.6  # smaller, tightly packed nuclei


def _crescent(y, x, S, rng):
    r = S * rng.uniform(0.32, 0.36)
    m = _ellipse(y, x, 0, 0, r, r, 0)
    ph = rng.uniform(0, 2 * np.pi)
    cut = _ellipse(y, x, 0.75 * r * np.sin(ph), 0.75 * r * np.cos(ph), 0.7 * r, 0.7 * r, 0)
    m &= ~cut
    return m, np.zeros_like(m), m, 1.0


def _budding_cysts(y, x, S, rng):
    m = np.zeros(y.shape, bool)
    lumen = np.zeros_like(m)
    n = rng.integers(2, 4)
    for ph in rng.uniform(0, 2 * np.pi) + np.arange(n) * 2 * np.pi / n:
        rl = S * rng.uniform(0.15, 0.18)
        d = rl * 0.9
        cy, cx = d * np.sin(ph), d * np.cos(ph)
        m |= _ellipse(y, x, cy, cx, rl, rl, 0)
        lumen |= _ellipse(y, x, cy, cx, 0.55 * rl, 0.55 * rl, 0)
    lumen &= m
    # lumens of neighbouring lobes must not swallow the walls between them
    lumen = ndi.binary_erosion(lumen, iterations=2)
    return m, lumen, m & ~lumen, 1.0


Shape = Callable[[np.ndarray, np.ndarray, int, np.random.Generator], tuple]

#: Class templates in class order: (name, shape function). Class c uses ``TEMPLATES[c - 1]``.
TEMPLATES: tuple[tuple[str, Shape], ...] = (
    ("spheroid", _spheroid),  # compact solid ball of cells
    ("cyst", _cyst),  # one large lumen, a single ring of nuclei
    ("budding", _budding),  # a body with 3-5 lobes
    ("elongated", _elongated),  # elongated ellipse
    ("multicystic", _multicystic),  # several small lumens
    ("small_dense", _small_dense),  # small, tightly packed
    ("crescent", _crescent),  # kidney / crescent shape
    ("budding_cysts", _budding_cysts),  # 2-3 fused cystic lobes
)


# --------------------------------------------------------------------------------------------
# rendering


def _place_nuclei(region: np.ndarray, spacing: float, rng: np.random.Generator) -> np.ndarray:
    """Dart-throwing (Poisson-disk) nucleus centres inside ``region``; (n, 2) float (row, col)."""
    rows, cols = np.nonzero(region)
    if rows.size == 0:
        return np.zeros((0, 2))
    n_try = min(rows.size, 40 * int(rows.size / spacing**2 + 1))
    pick = rng.choice(rows.size, size=n_try, replace=rows.size < n_try)
    cand = np.stack([rows[pick], cols[pick]], axis=1).astype(float) + rng.uniform(-0.5, 0.5, (n_try, 2))
    accepted = np.empty((0, 2))
    for p in cand:
        if accepted.shape[0] == 0 or np.min(np.sum((accepted - p) ** 2, axis=1)) >= spacing**2:
            accepted = np.vstack([accepted, p])
    return accepted


def _smooth_noise(shape, sigma, rng):
    f = ndi.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    return f / (f.std() + 1e-12)


def _green_probability(name: str, nuclei: np.ndarray, mask: np.ndarray, S: int, rng) -> np.ndarray:
    """Per-nucleus probability of PDX1-GFP expression: a spatial pattern that belongs to the class.

    Mixed (random 40-80 %) in solid organoids; high in cyst walls; high in the buds and low in the
    body of budding organoids; high at one pole and low at the other of elongated ones.
    """
    n = nuclei.shape[0]
    if n == 0:
        return np.zeros(0)
    rows, cols = np.nonzero(mask)
    cy, cx = rows.mean(), cols.mean()
    if name in ("cyst", "budding_cysts"):
        return np.full(n, 0.9)
    if name == "budding":
        far = np.hypot(nuclei[:, 0] - cy, nuclei[:, 1] - cx) > 0.22 * S
        return np.where(far, 0.9, 0.15)
    if name == "elongated":
        coords = np.stack([rows - cy, cols - cx], axis=1)
        axis = np.linalg.eigh(coords.T @ coords)[1][:, -1]  # long axis
        side = (nuclei - [cy, cx]) @ axis > 0
        if rng.uniform() < 0.5:
            side = ~side
        return np.where(side, 0.9, 0.15)
    return np.full(n, rng.uniform(0.4, 0.8))


def render_organoid(template: int | str, rng: np.random.Generator, size: int = 160) -> SyntheticOrganoid:
    """Render one organoid of the given template (1-based class index or name)."""
    if isinstance(template, str):
        names = [n for n, _ in TEMPLATES]
        if template not in names:
            raise ValueError(f"unknown template {template!r}; choose from {names}")
        idx = names.index(template)
    else:
        idx = int(template) - 1
        if not 0 <= idx < len(TEMPLATES):
            raise ValueError(f"template index {template} out of range 1..{len(TEMPLATES)}")
    if size < 48:
        raise ValueError(f"size must be at least 48 pixels, got {size}")
    S = int(size)
    shape_fn = TEMPLATES[idx][1]

    # Coordinates centred on a slightly jittered organoid centre, warped by a smooth random field
    # so that outlines are irregular rather than perfect ellipses.
    yy, xx = np.mgrid[0:S, 0:S].astype(float)
    cy, cx = S / 2 + rng.uniform(-0.04, 0.04, 2) * S
    warp = 0.025 * S
    y = yy - cy + warp * _smooth_noise((S, S), S / 10, rng)
    x = xx - cx + warp * _smooth_noise((S, S), S / 10, rng)
    mask, lumen, region, nuc_scale = shape_fn(y, x, S, rng)
    mask = ndi.binary_fill_holes(ndi.binary_opening(mask, iterations=1)) | mask
    mask[[0, -1], :] = False
    mask[:, [0, -1]] = False
    lumen &= mask
    region = region & mask & ~lumen

    # Nuclei: radius ~ S/45, kept inside the cell region (eroded so blobs stay within the mask).
    r_nuc = max(2.0, S / 45 * nuc_scale)
    inner = ndi.binary_erosion(region, iterations=int(np.ceil(r_nuc)))
    if lumen.any():
        # epithelial wall: nuclei sit one layer deep, between lumen and outer surface
        inner &= ~ndi.binary_dilation(lumen, iterations=int(np.ceil(r_nuc)))
    nuclei = _place_nuclei(inner, spacing=2.6 * r_nuc, rng=rng)
    n = nuclei.shape[0]
    green = rng.uniform(size=n) < _green_probability(TEMPLATES[idx][0], nuclei, mask, S, rng)

    # Blobs: per-nucleus Gaussian with its own size and brightness, drawn in a local window.
    blue_sig = np.zeros((S, S))
    green_sig = np.zeros((S, S))
    half = int(np.ceil(3 * r_nuc))
    for i, (r, c) in enumerate(nuclei):
        r0, r1 = max(0, int(r) - half), min(S, int(r) + half + 1)
        c0, c1 = max(0, int(c) - half), min(S, int(c) + half + 1)
        sig = r_nuc * rng.uniform(0.55, 0.75)
        d2 = (yy[r0:r1, c0:c1] - r) ** 2 + (xx[r0:r1, c0:c1] - c) ** 2
        blob = np.exp(-d2 / (2 * sig**2))
        blue_sig[r0:r1, c0:c1] += rng.uniform(9000, 20000) * blob
        if green[i]:
            green_sig[r0:r1, c0:c1] += rng.uniform(6000, 16000) * blob

    # Membranes: borders between the Voronoi cells of the nuclei (within the organoid), the outer
    # surface and, brightest, the apical lumen surface.
    from skimage.segmentation import expand_labels, find_boundaries

    seeds = np.zeros((S, S), np.int32)
    if n:
        seeds[np.clip(nuclei[:, 0].astype(int), 0, S - 1), np.clip(nuclei[:, 1].astype(int), 0, S - 1)] = (
            np.arange(1, n + 1)
        )
    cells = expand_labels(seeds, distance=S) * region
    borders = find_boundaries(cells, mode="inner") & region
    outer = mask & ~ndi.binary_erosion(mask, iterations=2)
    apical = lumen.any() and (ndi.binary_dilation(lumen, iterations=2) & mask & ~lumen)
    red_sig = 9000.0 * borders + 11000.0 * outer
    if lumen.any():
        red_sig = red_sig + 18000.0 * apical
    red_sig = ndi.gaussian_filter(red_sig, 0.8) * (1 + 0.25 * _smooth_noise((S, S), 3, rng))

    cyto = mask & ~lumen
    planes = np.zeros((4, S, S))
    planes[BLUE] = blue_sig + 1200 * cyto
    planes[GREEN] = green_sig + 900 * cyto
    planes[RED] = np.clip(red_sig, 0, None) + 1500 * cyto
    planes[[BLUE, GREEN, RED]] += 500 * mask  # out-of-focus haze inside the organoid

    # Uneven illumination (a tilted plane plus a smooth bump), then photon and read noise.
    ang = rng.uniform(0, 2 * np.pi)
    tilt = ((yy - S / 2) * np.sin(ang) + (xx - S / 2) * np.cos(ang)) / S
    illum = np.clip(1 + 0.5 * tilt + 0.1 * _smooth_noise((S, S), S / 4, rng), 0.4, None)
    planes *= illum[None]
    gain = rng.uniform(3.0, 6.0)  # grey levels per photon
    noisy = rng.poisson(np.clip(planes, 0, None) / gain) * gain + rng.normal(0, 150, planes.shape)
    noisy[EMPTY] = 0
    noisy[:, ~mask] = 0
    image = np.clip(np.rint(noisy), 0, 65535).astype(np.uint16).transpose(1, 2, 0)
    return SyntheticOrganoid(np.ascontiguousarray(image), mask, nuclei, green, lumen)


def generate(
    out_dir: str | Path,
    classes: int = 4,
    per_class: int = 10,
    seed: int = 0,
    size: int = 160,
    *,
    prefix: str = "organoid",
    truth_name: str = "truth.csv",
    progress: bool = False,
) -> list[ImageRecord]:
    """Write ``classes x per_class`` synthetic organoids into ``out_dir``; return their records.

    Files: ``<prefix>_<id>.tif`` (uint16, (size, size, 4), channel-last), ``<prefix>_<id>_mask.tif``
    and ``truth_name`` (the true partition, paper format). ``id = class * 100 + k`` with classes
    1..``classes`` (at most ``len(TEMPLATES)``) and ``k < per_class <= 100``.
    """
    import tifffile

    if not 1 <= classes <= len(TEMPLATES):
        raise ValueError(f"classes must be between 1 and {len(TEMPLATES)}, got {classes}")
    if not 1 <= per_class <= 100:
        raise ValueError(f"per_class must be between 1 and 100 (ids are class*100 + k), got {per_class}")
    if "_" in prefix or not prefix:
        raise ValueError(f"prefix must be non-empty and without '_', got {prefix!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(c, k) for c in range(1, classes + 1) for k in range(per_class)]
    expected = {f"{prefix}_{c * 100 + k}{tail}" for c, k in jobs for tail in (".tif", "_mask.tif")}
    stale = sorted(f.name for f in out.glob(f"{prefix}_*.tif") if f.name not in expected)
    if stale:
        raise ValueError(
            f"{out} already holds {len(stale)} other {prefix}_*.tif file(s) (e.g. {stale[0]}) that would "
            "mix with this data set; use an empty folder"
        )
    if progress:
        from tqdm.auto import tqdm

        jobs = tqdm(jobs, desc="synthetic organoids", unit="img")
    records = []
    for c, k in jobs:
        rng = np.random.default_rng([int(seed), c, k])
        org = render_organoid(c, rng, size)
        ident = c * 100 + k
        path = out / f"{prefix}_{ident}.tif"
        # Atomic: a full disk or a kill leaves no half-written TIFF under an image's name.
        with atomic_path(path) as tmp:
            tifffile.imwrite(
                tmp, org.image, photometric="minisblack", planarconfig="contig", metadata={"axes": "YXS"}
            )
        with atomic_path(out / f"{prefix}_{ident}_mask.tif") as tmp:
            tifffile.imwrite(tmp, org.mask.astype(np.uint8) * 255, photometric="minisblack", metadata=None)
        records.append(ImageRecord(path, ident, str(c)))
    truth = [[c * 100 + k for k in range(per_class)] for c in range(1, classes + 1)]
    write_clustering(out / truth_name, truth, metadata=PAPER_METADATA)
    return records
