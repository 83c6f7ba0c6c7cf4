"""The report's figures, drawn with matplotlib's Agg backend (no display needed).

Every function writes one PNG and returns nothing; the caller chooses the path (the pipeline passes a
temporary name in the final folder and renames it, so an interrupted run never leaves half a PNG).

Display conventions:

* A microscopy image (``H x W x C``, 8- or 16-bit) is shown as a colour composite: each channel gets
  its own contrast stretch between two percentiles of its foreground (non-zero) pixels, a colour
  (red, green, blue, then magenta, cyan, yellow), and the composite is the per-pixel maximum over
  the coloured channels (a max-projection, so a bright channel is never dimmed by the others).
* Clusters are numbered 1..K by decreasing size (see :func:`corrclust.pipeline.number_clusters`), and
  figures list them in that order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "CHANNEL_COLOURS",
    "display_rgb",
    "class_colours",
    "thumbnail",
    "montage",
    "similarity_matrix",
    "cluster_sizes",
    "size_bins",
    "size_distribution",
    "vi_split",
    "sweep",
]

# Colour of channel k in a composite (RGB in 0..1); channels beyond the list reuse it cyclically.
CHANNEL_COLOURS = np.array(
    [
        (1.0, 0.0, 0.0),
        (0.0, 1.0, 0.0),
        (0.0, 0.0, 1.0),
        (1.0, 0.0, 1.0),
        (0.0, 1.0, 1.0),
        (1.0, 1.0, 0.0),
    ]
)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _stretch(plane: np.ndarray, low: float, high: float) -> np.ndarray:
    """Map one channel to 0..1 between its ``low`` and ``high`` percentiles of non-zero pixels."""
    plane = plane.astype(np.float32, copy=False)
    fg = plane[plane > 0]
    if fg.size == 0:
        return np.zeros_like(plane)
    lo, hi = np.percentile(fg, [low, high])
    if hi <= lo:
        # A flat foreground: show it at full brightness rather than as black.
        return (plane > 0).astype(np.float32) if lo > 0 else np.zeros_like(plane)
    return np.clip((plane - lo) / (hi - lo), 0.0, 1.0)


def display_rgb(image: np.ndarray, low: float = 1.0, high: float = 99.5) -> np.ndarray:
    """An ``(H, W, 3)`` float image in 0..1 for display of an ``(H, W[, C])`` microscopy image.

    One channel gives a grey image; several give the max-projected colour composite described in the
    module docstring. The percentiles ``low``/``high`` are taken over each channel's non-zero pixels
    (the background of the paper's crops is masked to 0 and would otherwise dominate).
    """
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"cannot display an image of shape {arr.shape} (expected H x W or H x W x C)")
    h, w, c = arr.shape
    if c == 1:
        g = _stretch(arr[:, :, 0], low, high)
        return np.repeat(g[:, :, None], 3, axis=2)
    out = np.zeros((h, w, 3), dtype=np.float32)
    for k in range(c):
        plane = _stretch(arr[:, :, k], low, high)
        colour = CHANNEL_COLOURS[k % len(CHANNEL_COLOURS)].astype(np.float32)
        np.maximum(out, plane[:, :, None] * colour, out=out)
    return out


def thumbnail(image: np.ndarray, size: int = 96) -> np.ndarray:
    """A ``size x size x 3`` uint8 thumbnail: the display composite, resized, padded to square.

    The image is shrunk so that its longer side is ``size`` *before* it is padded, so the work and
    memory stay proportional to the image itself: padding first made a 20000 x 1 image a
    20000 x 20000 float array (4.8 GB, minutes) and a 1 x 100000 one a 112 GiB request. A side
    that would shrink below one pixel is kept at one pixel.
    """
    from skimage.transform import resize

    rgb = display_rgb(image)
    h, w, _ = rgb.shape
    scale = size / max(h, w)
    th, tw = max(1, min(size, round(h * scale))), max(1, min(size, round(w * scale)))
    if (th, tw) != (h, w):
        rgb = resize(rgb, (th, tw), order=1, anti_aliasing=scale < 1, preserve_range=True)
    square = np.zeros((size, size, 3), dtype=np.float32)
    top, left = (size - th) // 2, (size - tw) // 2
    square[top : top + th, left : left + tw] = rgb
    return np.clip(np.round(square * 255.0), 0, 255).astype(np.uint8)


def montage(
    thumbs: Sequence[np.ndarray],
    captions: Sequence[str],
    path: str | Path,
    *,
    title: str = "",
    columns: int = 8,
    caption_colours: Sequence[str] | None = None,
) -> None:
    """A grid of thumbnails (one cluster's images) with a caption above each, saved as a PNG.

    The thumbnails (equal-sized ``h x w x 3`` uint8) are tiled into one array and drawn with a single
    ``imshow`` (one Axes per thumbnail would make large clusters slow). ``caption_colours``
    (matplotlib colours, one per thumbnail) can mark e.g. images whose true class differs from the
    cluster's majority class.
    """
    if len(thumbs) != len(captions):
        raise ValueError(f"{len(thumbs)} thumbnails but {len(captions)} captions")
    if not thumbs:
        raise ValueError("a montage needs at least one image")
    shapes = {np.asarray(t).shape for t in thumbs}
    if len(shapes) != 1 or len(next(iter(shapes))) != 3 or next(iter(shapes))[2] != 3:
        raise ValueError(f"thumbnails must all have the same (h, w, 3) shape, got {sorted(shapes)}")
    h, w, _ = next(iter(shapes))
    plt = _pyplot()
    n = len(thumbs)
    cols = max(1, min(columns, n))
    rows = (n + cols - 1) // cols
    gap, cap = max(2, w // 24), max(12, h // 6)  # pixels between tiles, pixels of caption band
    cell_h, cell_w = h + cap, w + gap
    canvas = np.full((rows * cell_h, cols * cell_w - gap, 3), 255, dtype=np.uint8)
    for k, t in enumerate(thumbs):
        r, c = divmod(k, cols)
        y0, x0 = r * cell_h + cap, c * cell_w
        canvas[y0 : y0 + h, x0 : x0 + w] = t
    dpi = 100
    scale = 1.25 * dpi / max(h, w)  # about 1.25 inch per thumbnail, as before
    fig_w = canvas.shape[1] * scale / dpi
    fig_h = canvas.shape[0] * scale / dpi + (0.3 if title else 0.0)
    # Wide enough for the title (about 0.07 inch per character at 9 pt).
    fig = plt.figure(figsize=(max(fig_w, 2.0, 0.07 * len(title) + 0.3), fig_h), dpi=dpi)
    top = 1.0 - (0.3 / fig_h if title else 0.0)
    width = fig.get_figwidth()
    frac = min(1.0, fig_w / width)
    ax = fig.add_axes(((1.0 - frac) / 2, 0.0, frac, top))
    ax.imshow(canvas, interpolation="nearest", aspect="equal")
    ax.set_axis_off()
    for k, text in enumerate(captions):
        r, c = divmod(k, cols)
        colour = caption_colours[k] if caption_colours is not None else "black"
        ax.text(
            c * cell_w + w / 2,
            r * cell_h + cap - 2,
            text,
            ha="center",
            va="bottom",
            fontsize=7,
            color=colour,
            clip_on=True,
        )
    if title:
        fig.suptitle(title, fontsize=9, y=1.0 - 0.05 / fig_h, va="top")
    _save(fig, path)


def class_colours(codes: np.ndarray) -> np.ndarray:
    """RGBA colours for integer class codes: tab10 while codes < 10 (well separated), else tab20;
    a negative code (unknown class) is light grey."""
    plt = _pyplot()
    codes = np.asarray(codes, dtype=np.int64)
    if codes.size and codes.max() < 10:
        out = plt.get_cmap("tab10")(np.maximum(codes, 0))
    else:
        out = plt.get_cmap("tab20")(np.mod(np.maximum(codes, 0), 20))
    out[codes < 0] = (0.85, 0.85, 0.85, 1.0)  # unknown class: light grey
    return out


def _order_by_cluster(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices sorted by (cluster, index) and the positions where a new cluster starts."""
    labels = np.asarray(labels)
    order = np.lexsort((np.arange(labels.size), labels))
    sorted_labels = labels[order]
    starts = np.flatnonzero(np.diff(sorted_labels)) + 1
    return order, starts


def similarity_matrix(
    matrix: np.ndarray,
    labels: np.ndarray,
    path: str | Path,
    *,
    title: str = "similarities ordered by cluster",
    value_label: str = "similarity",
    truth: np.ndarray | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
) -> None:
    """The ``n x n`` matrix with rows and columns ordered by cluster, white lines at cluster borders.

    With ``truth`` (integer class codes, one per element) a strip on the left and on top shows each
    element's true class, so splits and merges are visible at a glance. The diagonal is hidden (it
    carries no information and often holds a placeholder).
    """
    m = np.asarray(matrix, dtype=np.float64)
    labels = np.asarray(labels)
    n = labels.size
    if m.shape != (n, n):
        raise ValueError(f"matrix of shape {m.shape} for {n} labels")
    plt = _pyplot()
    order, starts = _order_by_cluster(labels)
    shown = m[np.ix_(order, order)].copy()
    np.fill_diagonal(shown, np.nan)
    side = min(9.0, 3.5 + n / 40.0)
    fig = plt.figure(figsize=(side + 1.2, side))
    if truth is not None:
        grid = fig.add_gridspec(
            2,
            3,
            width_ratios=(0.04 * side, side, 0.3),
            height_ratios=(0.04 * side, side),
            wspace=0.02,
            hspace=0.02,
        )
        ax = fig.add_subplot(grid[1, 1])
        ax_left = fig.add_subplot(grid[1, 0], sharey=ax)
        ax_top = fig.add_subplot(grid[0, 1], sharex=ax)
        cax = fig.add_subplot(grid[1, 2])
        codes = np.asarray(truth)[order]
        colours = class_colours(codes)
        ax_left.imshow(colours[:, None, :], aspect="auto", interpolation="nearest")
        ax_top.imshow(colours[None, :, :], aspect="auto", interpolation="nearest")
        for a in (ax_left, ax_top):
            a.set_xticks([])
            a.set_yticks([])
        ax_left.set_ylabel("true class", fontsize=8)
        ax_top.set_title(title, fontsize=10)
    else:
        grid = fig.add_gridspec(1, 2, width_ratios=(side, 0.3), wspace=0.05)
        ax = fig.add_subplot(grid[0, 0])
        cax = fig.add_subplot(grid[0, 1])
        ax.set_title(title, fontsize=10)
    cmap = plt.get_cmap("viridis").with_extremes(bad="lightgrey")
    im = ax.imshow(shown, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest", aspect="auto")
    for s in starts:
        ax.axhline(s - 0.5, color="white", linewidth=0.8)
        ax.axvline(s - 0.5, color="white", linewidth=0.8)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel(
        f"{n} images, {starts.size + 1 if n else 0} clusters (white lines: cluster borders)", fontsize=8
    )
    fig.colorbar(im, cax=cax, label=value_label)
    _save(fig, path)


def cluster_sizes(
    labels: np.ndarray,
    path: str | Path,
    *,
    truth: np.ndarray | None = None,
    truth_names: Sequence[str] | None = None,
) -> None:
    """Bar chart of the cluster sizes (cluster 1..K); with ``truth`` each bar is split by true class."""
    plt = _pyplot()
    labels = np.asarray(labels)
    clusters = np.unique(labels)
    k = clusters.size
    fig, ax = plt.subplots(figsize=(min(12.0, 3.0 + 0.3 * k), 3.2))
    x = np.arange(k)
    if truth is None:
        sizes = np.array([(labels == c).sum() for c in clusters])
        ax.bar(x, sizes, color="tab:blue")
    else:
        truth = np.asarray(truth)
        classes = np.unique(truth)
        palette = class_colours(np.arange(max(int(classes.max()) + 1, classes.size)))
        bottom = np.zeros(k)
        for t in classes:
            counts = np.array([np.sum((labels == c) & (truth == t)) for c in clusters], dtype=float)
            name = truth_names[int(t)] if truth_names is not None else str(t)
            ax.bar(x, counts, bottom=bottom, color=palette[int(t)], label=f"class {name}")
            bottom += counts
        if classes.size <= 20:
            ax.legend(fontsize=7, ncol=max(1, classes.size // 10 + 1), loc="upper right", frameon=False)
    ax.set_xticks(x if k <= 40 else x[:: max(1, k // 20)])
    shown = clusters if k <= 40 else clusters[:: max(1, k // 20)]
    ax.set_xticklabels([str(int(c)) for c in shown], fontsize=7)
    ax.set_xlabel("cluster")
    ax.set_ylabel("images")
    ax.set_title(f"cluster sizes ({k} clusters)", fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def size_bins(labels: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Cluster sizes in bins that double: ``(low, high, clusters, images)`` for sizes low..high
    (1, 2, 3-4, 5-8, ...), empty bins left out. O(n), from one ``bincount``."""
    sizes = np.bincount(np.asarray(labels, dtype=np.int64).ravel())
    sizes = sizes[sizes > 0]
    if sizes.size == 0:
        return []
    top = int(np.ceil(np.log2(sizes.max()))) if sizes.max() > 1 else 0
    edges = [0] + [2**j for j in range(top + 1)]  # bin j holds sizes (edges[j], edges[j + 1]]
    which = np.searchsorted(edges, sizes, side="left") - 1
    out = []
    for j in range(len(edges) - 1):
        inside = sizes[which == j]
        if inside.size:
            out.append((edges[j] + 1, edges[j + 1], int(inside.size), int(inside.sum())))
    return out


def size_distribution(labels: np.ndarray, path: str | Path) -> None:
    """How many clusters, and how many images, have each size (bins that double): the cluster-size
    figure of a large run, where one bar per cluster would be thousands of bars."""
    plt = _pyplot()
    bins = size_bins(labels)
    names = [f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi, _, _ in bins]
    x = np.arange(len(bins))
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 3.4))
    for ax, col, what, colour in ((axes[0], 2, "clusters", "tab:blue"), (axes[1], 3, "images", "tab:orange")):
        ax.bar(x, [b[col] for b in bins], color=colour)
        ax.set_yscale("log")
        ax.set_xticks(x)
        ax.set_xticklabels(names, fontsize=7, rotation=45, ha="right")
        ax.set_xlabel("cluster size (images)")
        ax.set_ylabel(what)
    n_clusters = sum(b[2] for b in bins)
    axes[0].set_title(f"clusters by size ({n_clusters} clusters)", fontsize=10)
    axes[1].set_title(f"images in clusters of each size ({sum(b[3] for b in bins)} images)", fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def vi_split(rows: Sequence[tuple[str, float, float]], path: str | Path) -> None:
    """Stacked bars of variation of information split into false cuts and false joins (bits).

    ``rows`` holds ``(name, false_cuts, false_joins)``, e.g. one row for all images and one per subset.
    """
    if not rows:
        raise ValueError("no rows to plot")
    plt = _pyplot()
    names = [r[0] for r in rows]
    fc = np.array([r[1] for r in rows], dtype=float)
    fj = np.array([r[2] for r in rows], dtype=float)
    fig, ax = plt.subplots(figsize=(max(3.5, 1.2 + 1.0 * len(rows)), 3.2))
    x = np.arange(len(rows))
    ax.bar(x, fc, color="tab:orange", label="false cuts (classes split)")
    ax.bar(x, fj, bottom=fc, color="tab:purple", label="false joins (classes merged)")
    for xi, total in zip(x, fc + fj, strict=False):
        ax.text(xi, total, f"{total:.3f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x)
    ax.set_xticklabels(names, fontsize=8)
    ax.set_ylabel("variation of information (bits)")
    top = float(np.max(fc + fj)) if rows else 0.0
    ax.set_ylim(0, max(top * 1.25, 0.05))
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    ax.set_title("VI = false cuts + false joins", fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def sweep(
    values: np.ndarray,
    series: Mapping[str, np.ndarray],
    path: str | Path,
    *,
    xlabel: str,
    chosen: float | None = None,
    clusters: np.ndarray | None = None,
) -> None:
    """VI, false cuts and false joins (or any named series) against a swept parameter.

    ``chosen`` marks the value the clustering in the report used; ``clusters`` (optional) is plotted
    on a second axis as the number of clusters at each value.
    """
    plt = _pyplot()
    values = np.asarray(values, dtype=float)
    fig, ax = plt.subplots(figsize=(6.0, 3.4))
    styles = {"vi": ("black", "-"), "false_cuts": ("tab:orange", "--"), "false_joins": ("tab:purple", "--")}
    for name, ys in series.items():
        colour, ls = styles.get(name, (None, "-"))
        ax.plot(
            values, np.asarray(ys, dtype=float), ls, color=colour, label=name.replace("_", " "), linewidth=1.5
        )
    if chosen is not None:
        ax.axvline(chosen, color="grey", linewidth=0.8, linestyle=":", label=f"used: {chosen:g}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("bits")
    if clusters is not None:
        ax2 = ax.twinx()
        ax2.plot(values, np.asarray(clusters, dtype=float), color="tab:green", linewidth=0.8, alpha=0.7)
        ax2.set_ylabel("clusters", color="tab:green")
        ax2.tick_params(axis="y", colors="tab:green")
    ax.legend(fontsize=7, framealpha=0.8, loc="best")
    ax.set_title(f"clustering quality against {xlabel}", fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def _save(fig, path: str | Path) -> None:
    plt = _pyplot()
    try:
        # Explicit format: the pipeline saves to temporary names that do not end in .png.
        fig.savefig(path, format="png", dpi=100)
    finally:
        plt.close(fig)
