"""From a folder of organoid images to clusters, metrics and a report.

The steps, each a function of this module:

1. :func:`load_images`: list the folder (:func:`corrclust.images.io.list_images`), read every image
   once, keep a small thumbnail for the report, and set unreadable files aside (reported, skipped).
2. :func:`compute_correlations`: PQAP similarities from key points, or twin-network probabilities.
3. :func:`cluster`: a correlation-clustering problem from those correlations, solved; clusters are
   renumbered 1..K by decreasing size.
4. :func:`evaluate`: with a truth (a paper-format clustering CSV, or the classes the images carry),
   the metrics of :func:`corrclust.metrics.compare`, per subset and across subsets (``paper-model.md``
   §8), and a sweep of the threshold (PQAP) or bias (twin) against VI, false cuts and false joins.
5. :func:`write_outputs`: ``clusters.csv``, ``similarities.npz``, ``metrics.json``, ``sweep.csv``, the
   PNG figures under ``figures/``, and ``report.html`` last.

Every file is written to a temporary name in its final folder and renamed into place
(:mod:`corrclust.atomic`), and a previous run's ``report.html`` is removed when a run starts, so an
interrupted or failed run never leaves a report that looks complete.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from corrclust.atomic import atomic_path, write_text
from corrclust.images.io import ImageReadError, ImageRecord, list_images, read_image

__all__ = [
    "METHODS",
    "SOLVERS",
    "ClusterOptions",
    "ImageSet",
    "Correlations",
    "Clustering",
    "Evaluation",
    "PipelineResult",
    "load_images",
    "compute_correlations",
    "cluster",
    "number_clusters",
    "resolve_truth",
    "evaluate",
    "subset_metrics",
    "sweep",
    "write_outputs",
    "run",
    "run_on_correlations",
]

METHODS = ("pqap", "twin")
SOLVERS = ("kl", "anytime", "exact")
#: With a truth and no explicit choice, the sweep runs when there are at most this many images.
SWEEP_AUTO_MAX = 200
#: Number of parameter values in a sweep.
SWEEP_POINTS = 41
#: At most this many thumbnails per cluster montage.
MONTAGE_MAX = 48
#: At most this many montages (largest clusters first); the remaining clusters are listed only.
MONTAGES_MAX = 60
THUMB_SIZE = 96

FIGURES = "figures"
#: Finished PQAP pairs of an interrupted run (removed when a run completes); a rerun resumes from it.
PQAP_CHECKPOINT = ".pqap-checkpoint.npz"


def _say(message: str) -> None:
    print(f"corrclust: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------- options
@dataclass
class ClusterOptions:
    """Everything ``corrclust cluster`` takes (see ``docs/cli.md``)."""

    images_dir: Path
    out_dir: Path
    method: str = "pqap"
    model: Path | None = None
    solver: str = "kl"
    params: Path | None = None
    threshold: float = 0.64
    bias: float = 0.0
    symmetrize: str | None = None  # None: "min" for similarities (the paper), "mean" for probabilities
    crop: bool = False
    truth: str | None = None  # a clustering CSV path, "auto", or None
    ids_table: Path | None = None
    sweep: bool | None = None  # None: automatic (truth given and n <= SWEEP_AUTO_MAX)
    seed: int = 0
    time_limit: float | None = None
    threads: int | None = None
    pqap_mode: str = "reference"
    correlations: Path | None = None  # a previous run's similarities.npz: skip the matching
    progress: bool = True

    def validate(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r} (choose one of {', '.join(METHODS)})")
        if self.solver not in SOLVERS:
            raise ValueError(f"unknown solver {self.solver!r} (choose one of {', '.join(SOLVERS)})")
        if self.method == "twin" and self.model is None and self.correlations is None:
            raise ValueError("--method twin needs a trained model: pass --model MODEL.pt (see 'corrclust twin')")
        if self.method == "twin" and self.params is not None:
            raise ValueError("--params is a PQAP parameter file; it does not apply to --method twin")
        if self.symmetrize not in (None, "min", "mean", "max"):
            raise ValueError(f"unknown symmetrization {self.symmetrize!r} (choose min, mean or max)")
        for name in ("threshold", "bias"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"--{name} must be a finite number, got {getattr(self, name)}")
        if self.time_limit is not None and not self.time_limit > 0:
            raise ValueError(f"--time-limit must be positive, got {self.time_limit}")
        if self.truth is not None and self.truth != "auto" and not Path(self.truth).is_file():
            raise FileNotFoundError(f"truth file not found: {self.truth}")
        if self.params is not None and not Path(self.params).is_file():
            raise FileNotFoundError(f"parameter file not found: {self.params}")
        if self.correlations is not None and not Path(self.correlations).is_file():
            raise FileNotFoundError(f"correlations file not found: {self.correlations}")
        if self.model is not None and not Path(self.model).is_file():
            raise FileNotFoundError(f"model file not found: {self.model}")
        if not Path(self.images_dir).is_dir():
            raise NotADirectoryError(f"image folder not found: {self.images_dir}")
        out = Path(self.out_dir)
        if out.exists() and not out.is_dir():
            raise NotADirectoryError(f"output path exists and is not a folder: {out}")


# ---------------------------------------------------------------------------------- images
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

    def subset(self, keep: Sequence[int]) -> "ImageSet":
        """The images at positions ``keep`` (in that order)."""
        return ImageSet(self.root, [self.records[i] for i in keep], [self.thumbs[i] for i in keep], self.failures)


def subset_folder_records(folder: str | Path) -> list[ImageRecord] | None:
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
    from corrclust.images.io import IMAGE_SUFFIXES, is_mask_file

    def has_images(d: Path) -> bool:
        return any(f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES and not is_mask_file(f) for f in d.iterdir())

    if has_images(folder):
        return None
    subdirs = sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith(".") and has_images(d))
    if len(subdirs) < 2:
        return None
    per_dir: list[tuple[Path, list[ImageRecord]]] = []
    for d in subdirs:
        try:
            recs = list_images(d)
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
    return [ImageRecord(r.path, r.id, r.label, d.name) for d, recs in per_dir for r in recs]


def load_images(
    folder: str | Path,
    ids_table: str | Path | None = None,
    *,
    progress: bool = True,
    min_images: int = 2,
) -> ImageSet:
    """List ``folder``, read each image once (making its thumbnail), and skip unreadable files.

    Each skipped file is announced on stderr with the reason. Raises ValueError when fewer than
    ``min_images`` images remain (clustering needs at least two).
    """
    from corrclust.report.figures import thumbnail

    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"image folder not found: {folder}")
    try:
        records = None if ids_table is not None else subset_folder_records(folder)
        if records is None:
            records = list_images(folder, ids_table)
    except ValueError as exc:
        if str(exc).startswith("no images"):
            raise ValueError(f"{exc}; clustering needs at least {min_images} images") from None
        raise
    iterable: Sequence[ImageRecord] = records
    if progress:
        from tqdm.auto import tqdm

        iterable = tqdm(records, desc="reading images", unit="img", file=sys.stderr)
    good: list[ImageRecord] = []
    thumbs: list[np.ndarray] = []
    failures: list[tuple[Path, str]] = []
    for rec in iterable:
        try:
            img = read_image(rec.path)
            thumbs.append(thumbnail(img, THUMB_SIZE))
        except (ImageReadError, ValueError) as exc:
            failures.append((rec.path, str(exc)))
            _say(f"skipping {rec.path}: {getattr(exc, 'reason', exc)}")
            continue
        good.append(rec)
    if len(good) < min_images:
        found = "no readable image" if not good else f"only {len(good)} readable image ({good[0].path.name})"
        skipped = f" ({len(failures)} unreadable file(s) skipped)" if failures else ""
        raise ValueError(f"{found} in {folder}{skipped}; clustering needs at least {min_images} images")
    return ImageSet(folder, good, thumbs, failures)


# ---------------------------------------------------------------------------------- correlations
@dataclass
class Correlations:
    """Pair correlations of the images, in the order of ``ids``.

    ``kind`` is ``"similarity"`` (PQAP, ``matrix`` = S, costs ``min(s_ij, s_ji) - threshold``) or
    ``"probability"`` (twin network, ``matrix`` = P, costs ``logit(mean(p_ij, p_ji)) + bias``).
    """

    ids: np.ndarray
    matrix: np.ndarray
    kind: str
    parameter: float
    symmetrize: str | None = None

    @property
    def parameter_name(self) -> str:
        return "threshold" if self.kind == "similarity" else "bias"

    @property
    def symmetrization(self) -> str:
        """How ``matrix[i, j]`` and ``matrix[j, i]`` are combined: the paper's default per kind."""
        if self.symmetrize is not None:
            return self.symmetrize
        return "min" if self.kind == "similarity" else "mean"

    def symmetric(self) -> np.ndarray:
        """The symmetrised matrix (what the costs are made of); the diagonal is NaN."""
        m = self.matrix
        op = {"min": np.minimum, "max": np.maximum, "mean": lambda a, b: (a + b) / 2.0}[self.symmetrization]
        out = op(m, m.T)
        np.fill_diagonal(out, np.nan)
        return out

    def problem(self, parameter: float | None = None):
        """The correlation-clustering problem at ``parameter`` (default: the chosen one)."""
        from corrclust.problem import Problem

        value = self.parameter if parameter is None else float(parameter)
        if self.kind == "similarity":
            return Problem.from_similarities(self.matrix, threshold=value, symmetrize=self.symmetrization)
        if self.kind == "probability":
            return Problem.from_probabilities(self.matrix, bias=value, symmetrize=self.symmetrization)
        raise ValueError(f"unknown correlation kind {self.kind!r}")

    def sweep_values(self, points: int = SWEEP_POINTS) -> np.ndarray:
        """Parameter values from "everything joined" to "everything cut", plus the chosen value."""
        n = self.matrix.shape[0]
        iu = np.triu_indices(n, k=1)
        if self.kind == "similarity":
            sym = self.symmetric()[iu]
            lo, hi = float(sym.min()), float(sym.max())
            pad = max(1e-3, 0.02 * (hi - lo))
            grid = np.linspace(lo - pad, hi + pad, points)
        else:
            costs = self.problem(0.0).costs[iu]  # logit of the symmetrised probabilities
            lo, hi = float(costs.min()), float(costs.max())
            pad = max(1e-3, 0.02 * (hi - lo))
            grid = np.linspace(-hi - pad, -lo + pad, points)
        return np.unique(np.append(grid, self.parameter))


def _pqap_similarities(images: ImageSet, options: ClusterOptions, checkpoint: Path | None) -> Correlations:
    from corrclust import pqap

    try:
        from corrclust.images.keypoints import extract_keypoint_set
    except ImportError as exc:  # pragma: no cover - only while the images area lacks key points
        raise ValueError(f"--method pqap is not available in this build ({exc})") from None
    if options.params is not None:
        params = pqap.read_parameters(options.params)
    else:
        params = pqap.PqapParameters.paper()
    params.validate()
    _say(f"extracting key points from {len(images.records)} images")
    keypoints = extract_keypoint_set(images.records)
    ids, S = pqap.similarity_matrix(keypoints, params, mode=options.pqap_mode, threads=options.threads,
                                    checkpoint=checkpoint, progress=options.progress)
    return Correlations(np.asarray(ids, dtype=np.int64), np.asarray(S, dtype=np.float64), "similarity",
                        options.threshold, options.symmetrize)


def _twin_probabilities(images: ImageSet, options: ClusterOptions) -> Correlations:
    try:
        from corrclust.twin import from_arrays, load_model, predict
    except ImportError as exc:
        raise ValueError(f"--method twin needs PyTorch and the twin-network module ({exc})") from None
    model = load_model(options.model)
    cfg = model.config
    _say(f"computing twin-network probabilities for {len(images.records)} images")
    # The readable images only (unreadable files were skipped when the folder was loaded).
    arrays = [read_image(r.path) for r in images.records]
    data = from_arrays(arrays, None, [str(r.id) for r in images.records], cfg.input, cfg.input_size,
                       [str(r.path) for r in images.records])
    pred = predict(model, data)
    ids = np.array([int(i) for i in pred.ids], dtype=np.int64)
    return Correlations(ids, np.asarray(pred.P, dtype=np.float64), "probability", options.bias, options.symmetrize)


def load_correlations(
    path: str | Path, *, threshold: float = 0.64, bias: float = 0.0, symmetrize: str | None = None
) -> Correlations:
    """Correlations saved earlier: an ``.npz`` with ``ids`` and ``S`` (similarities; a previous run's
    ``similarities.npz`` or ``corrclust pqap similarities``) or ``P`` (twin probabilities), or the
    paper's matching-results CSV (its ``quadratic_matching`` block)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"similarity file not found: {path}")
    if path.suffix.lower() == ".csv":
        from corrclust.pqap.io import read_matching_results

        m = read_matching_results(path)
        arrays = {"ids": np.asarray(m.ids, dtype=np.int64), "S": np.asarray(m.quadratic_matching)}
    else:
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except Exception as exc:
            raise ValueError(f"{path}: not a readable .npz file ({type(exc).__name__}: {exc})") from None
    if "ids" not in arrays or ("S" in arrays) == ("P" in arrays):
        raise ValueError(f"{path}: expected arrays 'ids' and one of 'S' (similarities) or 'P' (probabilities), "
                         f"found {', '.join(sorted(arrays)) or 'none'}")
    ids = np.asarray(arrays["ids"])
    if ids.ndim != 1 or ids.dtype.kind not in "iu":
        raise ValueError(f"{path}: 'ids' must be a 1-D integer array, got {ids.dtype} of shape {ids.shape}")
    if np.unique(ids).size != ids.size:
        raise ValueError(f"{path}: 'ids' holds duplicates")
    kind, key, value = ("similarity", "S", threshold) if "S" in arrays else ("probability", "P", bias)
    matrix = np.asarray(arrays[key], dtype=np.float64)
    if matrix.shape != (ids.size, ids.size):
        raise ValueError(f"{path}: {key} must be {ids.size} x {ids.size} to match ids, got {matrix.shape}")
    off = ~np.eye(ids.size, dtype=bool)
    if not np.isfinite(matrix[off]).all():
        raise ValueError(f"{path}: '{key}' holds NaN or infinite values off the diagonal")
    return Correlations(ids.astype(np.int64), matrix, kind, value, symmetrize)


def compute_correlations(
    images: ImageSet, options: ClusterOptions, *, checkpoint: Path | None = None
) -> tuple[ImageSet, Correlations]:
    """Correlations of the images by ``options.method``; the image set is reordered to match them.

    ``checkpoint`` (PQAP): a file where finished pairs are saved, so an interrupted run resumes.
    """
    if options.correlations is not None:
        corr = load_correlations(options.correlations, threshold=options.threshold, bias=options.bias,
                                 symmetrize=options.symmetrize)
        _say(f"using the {corr.kind} matrix of {options.correlations} ({corr.ids.size} images)")
    elif options.method == "pqap":
        corr = _pqap_similarities(images, options, checkpoint)
    else:
        corr = _twin_probabilities(images, options)
    return _align(images, corr), corr


def _align(images: ImageSet, corr: Correlations) -> ImageSet:
    """``images`` in the order of ``corr.ids`` (which must be a subset of the images' ids)."""
    n = corr.ids.size
    if corr.matrix.shape != (n, n):
        raise ValueError(f"correlation matrix of shape {corr.matrix.shape} for {n} ids")
    where = {int(i): k for k, i in enumerate(images.ids)}
    missing = [int(i) for i in corr.ids if int(i) not in where]
    if missing:
        raise ValueError(f"correlations name image ids that are not in the folder, e.g. {missing[:5]}")
    dropped = len(images.records) - n
    if dropped:
        _say(f"{dropped} image(s) have no correlations (e.g. no key points) and are left out")
    return images.subset([where[int(i)] for i in corr.ids])


# ---------------------------------------------------------------------------------- clustering
@dataclass
class Clustering:
    """Cluster labels 1..K (1 = largest) of the images, and how the solver got them."""

    labels: np.ndarray
    objective: float
    status: str
    runtime: float
    solver: str
    lower_bound: float | None = None

    @property
    def n_clusters(self) -> int:
        return int(self.labels.max()) if self.labels.size else 0


def number_clusters(labels: Sequence[Any]) -> np.ndarray:
    """Relabel clusters 1..K by decreasing size; ties go to the cluster whose first member comes first."""
    lab = np.asarray(labels)
    if lab.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {lab.shape}")
    if lab.size == 0:
        return lab.astype(np.int64)
    uniq, first, inverse, counts = np.unique(lab, return_index=True, return_inverse=True, return_counts=True)
    order = np.lexsort((first, -counts))  # by size desc, then first appearance
    new = np.empty(uniq.size, dtype=np.int64)
    new[order] = np.arange(1, uniq.size + 1)
    return new[inverse.reshape(-1)]


def _solve(problem, solver: str, time_limit: float | None, seed: int, progress: bool):
    from corrclust.solve import solve

    return solve(problem, method=solver, time_limit=time_limit, seed=seed, progress=True if progress else None)


def cluster(corr: Correlations, solver: str = "kl", *, time_limit: float | None = None, seed: int = 0,
            parameter: float | None = None, progress: bool = False) -> Clustering:
    """Solve the correlation-clustering problem of ``corr`` (at ``parameter``, default the chosen one)."""
    problem = corr.problem(parameter)
    result = _solve(problem, solver, time_limit, seed, progress)
    lb = getattr(result, "lower_bound", None)
    return Clustering(
        labels=number_clusters(np.asarray(result.labels)),
        objective=float(result.objective),
        status=str(getattr(result, "status", "")),
        runtime=float(getattr(result, "runtime", float("nan"))),
        solver=solver,
        lower_bound=None if lb is None or not np.isfinite(lb) else float(lb),
    )


# ---------------------------------------------------------------------------------- truth and metrics
@dataclass
class Truth:
    """True classes (strings) of some of the images; ``None`` where unknown."""

    classes: list[str | None]
    source: str

    @property
    def known(self) -> np.ndarray:
        return np.array([c is not None for c in self.classes], dtype=bool)


def resolve_truth(spec: str | None, images: ImageSet) -> Truth | None:
    """The truth for ``images``: from a paper-format clustering CSV, from the images' own classes
    (``"auto"``), or none.

    A CSV may cover only some images (the metrics are then over those); it must cover at least two.
    """
    if spec is None:
        return None
    ids = images.ids
    if spec == "auto":
        classes = [r.label for r in images.records]
        if all(c is None for c in classes):
            raise ValueError(
                "--truth auto: the images carry no classes (name them <name>_<id>.tif with class = id // 100, "
                "put them in class folders, or pass an ids table with a class column)"
            )
        truth = Truth(classes, "the images' classes (--truth auto)")
    else:
        from corrclust.formats.clusterings import read_clustering

        groups = read_clustering(spec)
        # A line whose ids all share id // 100 is named by that class (the paper's files); otherwise
        # classes are named by their line number.
        paper = [{i // 100 for i in g} for g in groups]
        if all(len(c) == 1 for c in paper) and len({next(iter(c)) for c in paper}) == len(groups):
            names = [str(next(iter(c))) for c in paper]
        else:
            names = [f"line {k + 1}" for k in range(len(groups))]
        where = {i: names[k] for k, g in enumerate(groups) for i in g}
        classes = [where.get(int(i)) for i in ids]
        truth = Truth(classes, str(spec))
    k = int(truth.known.sum())
    if k < 2:
        raise ValueError(
            f"the truth ({truth.source}) names {k} of the {ids.size} clustered image ids; "
            f"image ids are e.g. {', '.join(str(int(i)) for i in ids[:5])}"
        )
    if k < ids.size:
        _say(f"truth covers {k} of {ids.size} images; metrics are over those {k}")
    return truth


def subset_metrics(
    truth: Sequence[Any], pred: Sequence[Any], subsets: Sequence[Any]
) -> list[dict[str, Any]]:
    """Metrics within each subset and across each pair of subsets (``paper-model.md`` §8).

    Within a subset A: :func:`corrclust.metrics.compare` on A alone (VI restricted to A, and the
    pair metrics over pairs inside A). Across A and B: the pair metrics over the pairs with one image
    in A and one in B (VI is not defined there), from ``pairs(A u B) - pairs(A) - pairs(B)``.
    Each row has ``block`` ("A" or "A-B"), ``n`` or ``pairs_total``, and the metric keys.
    """
    from corrclust import metrics

    t = np.asarray(truth)
    p = np.asarray(pred)
    s = np.asarray([str(x) for x in subsets])
    names = sorted(set(s.tolist()))
    rows: list[dict[str, Any]] = []
    for a in names:
        m = s == a
        row = {"block": a}
        row.update(metrics.compare(t[m], p[m]))
        rows.append(row)

    def counts(mask: np.ndarray) -> dict[str, int]:
        if mask.sum() < 1:
            return {k: 0 for k in ("pairs_true_joins", "pairs_false_joins", "pairs_false_cuts", "pairs_true_cuts",
                                   "pairs_total")}
        return metrics.pair_counts(t[mask], p[mask])

    for i, a in enumerate(names):
        for b in names[i + 1:]:
            ma, mb = s == a, s == b
            both, ca, cb = counts(ma | mb), counts(ma), counts(mb)
            cross = {k: both[k] - ca[k] - cb[k] for k in both}
            row = {"block": f"{a}-{b}"}
            row.update(metrics._pair_ratios(cross["pairs_true_joins"], cross["pairs_false_joins"],
                                            cross["pairs_false_cuts"], cross["pairs_true_cuts"]))
            row.update(cross)
            rows.append(row)
    return rows


@dataclass
class Evaluation:
    """Metrics of a clustering against a truth (over the images whose class is known)."""

    truth: Truth
    metrics: dict[str, Any]
    contingency: np.ndarray
    classes: list[str]
    subsets: list[dict[str, Any]] | None = None
    sweep: dict[str, np.ndarray] | None = None


def _class_codes(classes: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Integer codes for class names, ordered numerically when all names are integers."""
    names = sorted(set(classes), key=lambda c: (0, int(c), "") if c.lstrip("-").isdigit() else (1, 0, c))
    index = {c: k for k, c in enumerate(names)}
    return np.array([index[c] for c in classes], dtype=np.int64), names


def sweep(
    corr: Correlations,
    truth_codes: np.ndarray,
    known: np.ndarray,
    solver: str,
    *,
    seed: int = 0,
    time_limit: float | None = None,
    progress: bool = True,
    values: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Solve at each threshold (PQAP) or bias (twin) and compare with the truth.

    Returns columns: the parameter, ``vi``, ``false_cuts``, ``false_joins``, ``rand_index``,
    ``f1_cuts``, ``f1_joins``, ``n_clusters`` and ``objective``.
    """
    from corrclust import metrics

    grid = corr.sweep_values() if values is None else np.asarray(values, dtype=float)
    cols: dict[str, list[float]] = {k: [] for k in ("vi", "false_cuts", "false_joins", "rand_index", "f1_cuts",
                                                       "f1_joins", "n_clusters", "objective")}
    it: Any = grid
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(grid, desc=f"{corr.parameter_name} sweep", unit="solve", file=sys.stderr)
    for value in it:
        c = cluster(corr, solver, time_limit=time_limit, seed=seed, parameter=float(value))
        m = metrics.compare(truth_codes, c.labels[known])
        for k in ("vi", "false_cuts", "false_joins", "rand_index", "f1_cuts", "f1_joins"):
            cols[k].append(float(m[k]))
        cols["n_clusters"].append(c.n_clusters)
        cols["objective"].append(c.objective)
    out = {corr.parameter_name: grid}
    out.update({k: np.asarray(v, dtype=float) for k, v in cols.items()})
    return out


def evaluate(
    images: ImageSet,
    corr: Correlations,
    clustering: Clustering,
    truth: Truth,
    *,
    do_sweep: bool,
    solver: str,
    seed: int = 0,
    time_limit: float | None = None,
    progress: bool = True,
) -> Evaluation:
    """Metrics, contingency table, per-subset metrics and (optionally) the parameter sweep."""
    from corrclust import metrics

    known = truth.known
    classes = [c for c in truth.classes if c is not None]
    codes, names = _class_codes(classes)
    pred = clustering.labels[known]
    result = metrics.compare(codes, pred)
    table = metrics.contingency_table(codes, pred)
    tags = [r.subset for r, k in zip(images.records, known) if k]
    subsets = None
    if any(t is not None for t in tags) and len({t for t in tags}) > 1:
        tags = [t if t is not None else "(none)" for t in tags]
        subsets = subset_metrics(codes, pred, tags)
    sweep_cols = None
    if do_sweep:
        sweep_cols = sweep(corr, codes, known, solver, seed=seed, time_limit=time_limit, progress=progress)
    return Evaluation(truth, result, table, names, subsets, sweep_cols)


# ---------------------------------------------------------------------------------- outputs
@dataclass
class PipelineResult:
    """What a run produced: the files (final paths) and the numbers behind them."""

    out_dir: Path
    images: ImageSet
    correlations: Correlations
    clustering: Clustering
    evaluation: Evaluation | None
    files: dict[str, Path]
    seconds: float

    @property
    def report(self) -> Path:
        return self.files["report"]


def _write_clusters_csv(path: Path, images: ImageSet, clustering: Clustering) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "cluster", "file"])
    for rec, lab in zip(images.records, clustering.labels):
        try:
            rel = rec.path.relative_to(images.root).as_posix()
        except ValueError:
            rel = str(rec.path)
        w.writerow([rec.id, int(lab), rel])
    write_text(path, buf.getvalue())


def _write_npz(path: Path, **arrays: Any) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        return v if math.isfinite(v) else None
    return x


def _write_sweep_csv(path: Path, cols: dict[str, np.ndarray]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    names = list(cols)
    w.writerow(names)
    for row in zip(*(cols[k] for k in names)):
        w.writerow([int(v) if k == "n_clusters" else repr(float(v)) for k, v in zip(names, row)])
    write_text(path, buf.getvalue())


def _figure(path: Path, draw: Callable[[Path], None]) -> None:
    with atomic_path(path) as tmp:
        draw(tmp)


def write_outputs(
    out_dir: Path,
    images: ImageSet,
    corr: Correlations,
    clustering: Clustering,
    evaluation: Evaluation | None,
    settings: Sequence[tuple[str, Any]],
    *,
    progress: bool = True,
    title: str = "corrclust report",
) -> dict[str, Path]:
    """Write every output file (each atomically), ``report.html`` last. Returns name -> path."""
    from corrclust import report

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}

    files["clusters"] = out_dir / "clusters.csv"
    _write_clusters_csv(files["clusters"], images, clustering)

    files["similarities"] = out_dir / "similarities.npz"
    key = "S" if corr.kind == "similarity" else "P"
    _write_npz(
        files["similarities"],
        ids=corr.ids,
        **{key: corr.matrix},
        costs=corr.problem().costs,
        labels=clustering.labels,
        kind=np.array(corr.kind),
        **{corr.parameter_name: np.array(corr.parameter)},
    )

    if evaluation is not None:
        payload = dict(evaluation.metrics)
        payload["truth"] = evaluation.truth.source
        payload["classes"] = evaluation.classes
        payload["contingency"] = evaluation.contingency
        if evaluation.subsets is not None:
            payload["subsets"] = evaluation.subsets
        files["metrics"] = out_dir / "metrics.json"
        write_text(files["metrics"], json.dumps(_jsonable(payload), indent=2) + "\n")
        if evaluation.sweep is not None:
            files["sweep_csv"] = out_dir / "sweep.csv"
            _write_sweep_csv(files["sweep_csv"], evaluation.sweep)

    figures = report.draw_figures(out_dir, FIGURES, images, corr, clustering, evaluation, _figure,
                                  progress=progress)
    files.update(figures)
    files["report"] = out_dir / "report.html"
    page = report.render(title, out_dir, images, corr, clustering, evaluation, settings, files)
    write_text(files["report"], page)
    return files


def _prepare_out_dir(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    stale = out_dir / "report.html"
    if stale.exists():
        stale.unlink()  # a run that fails must not leave the previous run's report looking current


def run_on_correlations(
    images: ImageSet,
    corr: Correlations,
    options: ClusterOptions,
    *,
    started: float | None = None,
    title: str = "corrclust report",
    extra_settings: Sequence[tuple[str, Any]] = (),
) -> PipelineResult:
    """Steps 3-5 (cluster, evaluate, write) for correlations already computed."""
    started = time.perf_counter() if started is None else started
    out_dir = Path(options.out_dir)
    _prepare_out_dir(out_dir)
    images = _align(images, corr)
    truth = resolve_truth(options.truth, images)
    _say(f"clustering {corr.ids.size} images ({options.solver}, {corr.parameter_name} {corr.parameter:g})")
    clustering = cluster(corr, options.solver, time_limit=options.time_limit, seed=options.seed,
                         progress=options.progress)
    evaluation = None
    if truth is not None:
        n_known = int(truth.known.sum())
        do_sweep = options.sweep if options.sweep is not None else n_known <= SWEEP_AUTO_MAX
        evaluation = evaluate(images, corr, clustering, truth, do_sweep=do_sweep, solver=options.solver,
                              seed=options.seed, time_limit=options.time_limit, progress=options.progress)
    settings = [
        ("images", str(options.images_dir)),
        ("method", "PQAP" if corr.kind == "similarity" else "twin network"),
        ("solver", options.solver),
        (corr.parameter_name, f"{corr.parameter:g}"),
        ("symmetrization", corr.symmetrization),
        ("seed", options.seed),
        *extra_settings,
    ]
    files = write_outputs(out_dir, images, corr, clustering, evaluation, settings, progress=options.progress,
                          title=title)
    return PipelineResult(out_dir, images, corr, clustering, evaluation, files, time.perf_counter() - started)


def run(options: ClusterOptions, *, title: str = "corrclust report",
        extra_settings: Sequence[tuple[str, Any]] = ()) -> PipelineResult:
    """The whole pipeline of ``corrclust cluster``."""
    started = time.perf_counter()
    options.validate()
    out_dir = Path(options.out_dir)
    images_dir = Path(options.images_dir)
    settings = list(extra_settings)
    if options.crop:
        _prepare_out_dir(out_dir)
        try:
            from corrclust.images.detection import crop_fields
        except ImportError as exc:  # pragma: no cover - only while the images area lacks detection
            raise ValueError(f"--crop is not available in this build ({exc})") from None
        crops = out_dir / "crops"
        _say(f"detecting and cropping organoids into {crops}")
        cropped = crop_fields(images_dir, crops, progress=options.progress)
        for path, message in cropped.failures:
            _say(f"skipping field {path}: {message}")
        if not cropped.rows:
            raise ValueError(f"no organoid was detected in the fields of {images_dir}")
        settings.append(("cropped fields from", f"{images_dir} ({len(cropped.rows)} organoids, table "
                                                f"{cropped.table.name})"))
        images_dir = crops
    images = load_images(images_dir, options.ids_table, progress=options.progress)
    _prepare_out_dir(out_dir)
    checkpoint = out_dir / PQAP_CHECKPOINT
    images, corr = compute_correlations(images, options, checkpoint=checkpoint)
    if options.correlations is not None:
        settings.append(("correlations from", str(options.correlations)))
    elif options.method == "pqap":
        settings.append(("PQAP parameters", str(options.params) if options.params else "the paper's learned ones"))
        settings.append(("PQAP solver mode", options.pqap_mode))
    else:
        settings.append(("twin model", str(options.model)))
    if images.failures:
        settings.append(("unreadable files skipped", len(images.failures)))
    result = run_on_correlations(images, corr, options, started=started, title=title, extra_settings=settings)
    checkpoint.unlink(missing_ok=True)  # the matrix is in similarities.npz now
    return result
