"""Pair correlations of an image set (:class:`Correlations`): computed by a route or read from a file.

:func:`compute_correlations` runs the route named by ``options.method``
(:mod:`corrclust.pipeline.routes`) or reads ``options.correlations``; :func:`load_correlations`
reads a saved matrix; :func:`align_images` puts an image set in the order of the correlations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from corrclust.formats.numbers import parse_int
from corrclust.pipeline.images import ImageSet
from corrclust.pipeline.messages import say
from corrclust.pipeline.options import ClusterOptions
from corrclust.pipeline.routes import get_route

__all__ = ["SWEEP_POINTS", "Correlations", "load_correlations", "compute_correlations", "align_images"]

#: Number of parameter values in a sweep.
SWEEP_POINTS = 41


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
    #: What the route knows beyond the matrix (e.g. the profile route's features, for its informativeness
    #: check); not saved with the matrix.
    details: Any = field(default=None, repr=False, compare=False)
    #: A dense (n, n) shift added to the costs: the expert's answers spread to the pairs they imply
    #: (:mod:`corrclust.propagation`, set by :func:`corrclust.pipeline.answers.use_feedback`); not saved.
    cost_shift: np.ndarray | None = field(default=None, repr=False, compare=False)

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
        ops: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
            "min": np.minimum,
            "max": np.maximum,
            "mean": lambda a, b: (a + b) / 2.0,
        }
        op = ops[self.symmetrization]
        out = op(m, m.T)
        np.fill_diagonal(out, np.nan)
        return out

    def problem(self, parameter: float | None = None):
        """The correlation-clustering problem at ``parameter`` (default: the chosen one)."""
        from corrclust.problem import Problem

        value = self.parameter if parameter is None else float(parameter)
        if self.kind == "similarity":
            problem = Problem.from_similarities(self.matrix, threshold=value, symmetrize=self.symmetrization)
        elif self.kind == "probability":
            problem = Problem.from_probabilities(self.matrix, bias=value, symmetrize=self.symmetrization)
        else:
            raise ValueError(f"unknown correlation kind {self.kind!r}")
        if self.cost_shift is None:
            return problem
        return Problem.from_dense(problem.to_dense() + self.cost_shift)

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
        raise ValueError(
            f"{path}: expected arrays 'ids' and one of 'S' (similarities) or 'P' (probabilities), "
            f"found {', '.join(sorted(arrays)) or 'none'}"
        )
    ids = _integer_ids(np.asarray(arrays["ids"]))
    if ids.ndim != 1 or ids.dtype.kind not in "iu":
        raise ValueError(f"{path}: 'ids' must be a 1-D integer array, got {ids.dtype} of shape {ids.shape}")
    if np.unique(ids).size != ids.size:
        raise ValueError(f"{path}: 'ids' holds duplicates")
    kind, key, value = ("similarity", "S", threshold) if "S" in arrays else ("probability", "P", bias)
    raw = np.asarray(arrays[key])
    if raw.dtype.kind not in "biuf":  # complex would be cast to its real part, text would fail later
        raise ValueError(f"{path}: '{key}' must hold real numbers, got dtype {raw.dtype}")
    matrix = raw.astype(np.float64)
    if matrix.shape != (ids.size, ids.size):
        raise ValueError(f"{path}: {key} must be {ids.size} x {ids.size} to match ids, got {matrix.shape}")
    off = ~np.eye(ids.size, dtype=bool)
    if not np.isfinite(matrix[off]).all():
        raise ValueError(f"{path}: '{key}' holds NaN or infinite values off the diagonal")
    return Correlations(ids.astype(np.int64), matrix, kind, value, symmetrize)


def _integer_ids(ids: np.ndarray) -> np.ndarray:
    """Ids saved as text (``corrclust twin predict`` keeps the ids of the file names as strings) are
    read as integers when every one of them is an integer; anything else is returned unchanged."""
    if ids.ndim == 1 and ids.dtype.kind in "US":
        text = [x.decode(errors="replace") if isinstance(x, bytes) else str(x) for x in ids.tolist()]
        values = [parse_int(x) for x in text]  # int() would also take ' 1', '1_0' or '١'
        if all(v is not None for v in values):
            return np.array(values, dtype=np.int64)
    return ids


def compute_correlations(
    images: ImageSet, options: ClusterOptions, *, checkpoint: Path | None = None
) -> tuple[ImageSet, Correlations]:
    """Correlations of the images by ``options.method``; the image set is reordered to match them.

    ``checkpoint`` (PQAP): a file where finished pairs are saved, so an interrupted run resumes.
    """
    if options.correlations is not None:
        corr = load_correlations(
            options.correlations,
            threshold=options.threshold,
            bias=options.bias,
            symmetrize=options.symmetrize,
        )
        say(f"using the {corr.kind} matrix of {options.correlations} ({corr.ids.size} images)")
    else:
        corr = get_route(options.method).correlate(images, options, checkpoint=checkpoint)
    return align_images(images, corr), corr


def align_images(images: ImageSet, corr: Correlations) -> ImageSet:
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
        say(f"{dropped} image(s) have no correlations (e.g. no key points) and are left out")
    return images.subset([where[int(i)] for i in corr.ids])
