"""Comparing a clustering with a reference: variation of information and pair counts.

Conventions (``paper-model.md`` §10): T is the truth, P the prediction, logarithms are base 2.

* ``VI = H(T) + H(P) - 2 I(T; P)``, split into false cuts ``H(P|T)`` (a true class was split) and
  false joins ``H(T|P)`` (true classes were merged). Tiny negative round-off is clipped to 0.
* Pair counts over the ``C(N, 2)`` unordered pairs: true joins (joined in both), false joins
  (joined in P, cut in T), false cuts (cut in P, joined in T) and true cuts (cut in both).
* Ratios whose denominator is 0 are 1; an F1 score is 0 when precision and recall are both 0.

Everything is computed from the contingency table of the two labellings in O(N + nnz) time and
memory, never over the O(N^2) pairs. Labels may be any hashable ids (strings, ints, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse
from numpy.typing import ArrayLike

__all__ = [
    "contingency_table",
    "variation_of_information",
    "pair_counts",
    "pair_ratios",
    "compare",
    "subset_metrics",
    "pairwise_f1_sweep",
    "pairwise_auc",
    "PairwiseF1Sweep",
    "rounding_baseline",
]


def _encode(labels: Any, name: str) -> np.ndarray:
    """Map a 1-D sequence of hashable labels to ints 0..k-1 (int64)."""
    try:
        arr = np.asarray(labels)
    except ValueError:  # ragged input such as [1, "a", (2,)]: keep the items as objects
        items = list(labels)
        arr = np.empty(len(items), dtype=object)
        arr[:] = items
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of labels, got an array of shape {arr.shape}")
    if arr.dtype.kind in "biuf" or arr.dtype.kind in "US":
        if arr.dtype.kind == "f" and np.isnan(arr).any():
            raise ValueError(f"{name} contains NaN labels")
        return np.unique(arr, return_inverse=True)[1].astype(np.int64, copy=False).reshape(-1)
    # Object arrays (mixed or unorderable ids): map by hashing, in order of first appearance.
    mapping: dict[Any, int] = {}
    try:
        codes = [mapping.setdefault(x, len(mapping)) for x in arr.tolist()]
    except TypeError as exc:
        raise ValueError(f"{name} holds unhashable labels: {exc}") from None
    return np.asarray(codes, dtype=np.int64)


def _encode_pair(truth: Any, pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t = _encode(truth, "truth")
    p = _encode(pred, "pred")
    if t.shape[0] != p.shape[0]:
        raise ValueError(f"truth and pred have different lengths ({t.shape[0]} and {p.shape[0]})")
    if t.shape[0] == 0:
        raise ValueError("truth and pred are empty: there is nothing to compare")
    return t, p


def _contingency_sparse(t: np.ndarray, p: np.ndarray) -> scipy.sparse.csr_matrix:
    kt = int(t.max()) + 1
    kp = int(p.max()) + 1
    ones = np.ones(t.shape[0], dtype=np.int64)
    table = scipy.sparse.coo_matrix((ones, (t, p)), shape=(kt, kp)).tocsr()
    table.sum_duplicates()
    return table


def contingency_table(truth: ArrayLike, pred: ArrayLike, *, sparse: bool = False):
    """Counts ``n[t, k] = |{i : truth_i = t and pred_i = k}|``.

    Rows follow the sorted distinct truth labels, columns the sorted distinct predicted labels
    (order of first appearance for labels that cannot be sorted). Returns a dense int64 array, or a
    ``scipy.sparse.csr_matrix`` with ``sparse=True`` (use it when both labellings have many
    clusters: the dense table has k_true * k_pred cells).
    """
    t, p = _encode_pair(truth, pred)
    table = _contingency_sparse(t, p)
    return table if sparse else table.toarray()


def _clip(x: float) -> float:
    """Round-off can leave -1e-16 or -0.0 where the exact value is 0: return a clean 0.0."""
    return x if x > 0.0 else 0.0


def _vi_from_table(table: scipy.sparse.csr_matrix, n: int) -> tuple[float, float, float]:
    rows = np.asarray(table.sum(axis=1)).ravel().astype(np.float64)
    cols = np.asarray(table.sum(axis=0)).ravel().astype(np.float64)
    coo = table.tocoo()
    joint = coo.data.astype(np.float64)
    # H(P|T) = sum_tk (n_tk/N) log2(n_t/n_tk) and H(T|P) = sum_tk (n_tk/N) log2(n_k/n_tk): every
    # term is >= 0 and exactly 0 when a cell holds its whole row (column), so identical
    # partitions give exactly 0 rather than round-off from H(T) + H(P) - 2I.
    false_cuts = _clip(float((joint * np.log2(rows[coo.row] / joint)).sum() / n))
    false_joins = _clip(float((joint * np.log2(cols[coo.col] / joint)).sum() / n))
    return false_cuts + false_joins, false_cuts, false_joins


def variation_of_information(truth: ArrayLike, pred: ArrayLike) -> tuple[float, float, float]:
    """``(vi, false_cuts, false_joins)`` in bits, with ``false_cuts = H(P|T)``, ``false_joins = H(T|P)``."""
    t, p = _encode_pair(truth, pred)
    return _vi_from_table(_contingency_sparse(t, p), t.shape[0])


def _choose2(x: np.ndarray) -> int:
    x = x.astype(np.int64)
    return int((x * (x - 1) // 2).sum())


def _pair_counts_from_table(table: scipy.sparse.csr_matrix, n: int) -> dict[str, int]:
    rows = np.asarray(table.sum(axis=1)).ravel()
    cols = np.asarray(table.sum(axis=0)).ravel()
    total = n * (n - 1) // 2
    tj = _choose2(table.data)
    joined_truth = _choose2(rows)
    joined_pred = _choose2(cols)
    fj = joined_pred - tj
    fc = joined_truth - tj
    tc = total - tj - fj - fc
    return {
        "pairs_true_joins": tj,
        "pairs_false_joins": fj,
        "pairs_false_cuts": fc,
        "pairs_true_cuts": tc,
        "pairs_total": total,
    }


def pair_counts(truth: ArrayLike, pred: ArrayLike) -> dict[str, int]:
    """Counts of the unordered pairs: ``pairs_true_joins``, ``pairs_false_joins`` (joined in pred,
    cut in truth), ``pairs_false_cuts`` (cut in pred, joined in truth), ``pairs_true_cuts`` and
    ``pairs_total = C(N, 2)``."""
    t, p = _encode_pair(truth, pred)
    return _pair_counts_from_table(_contingency_sparse(t, p), t.shape[0])


def _ratio(num: int, den: int) -> float:
    return 1.0 if den == 0 else num / den


def _f1(precision: float, recall: float) -> float:
    if precision == 0.0 and recall == 0.0:
        return 0.0
    return 2.0 * precision * recall / (precision + recall)


def pair_ratios(tj: int, fj: int, fc: int, tc: int) -> dict[str, float]:
    """Rand index and precision/recall/F1 of cuts and joins from the four pair counts
    (true joins, false joins, false cuts, true cuts); a ratio with a zero denominator is 1."""
    pc = _ratio(tc, tc + fc)
    rc = _ratio(tc, tc + fj)
    pj = _ratio(tj, tj + fj)
    rj = _ratio(tj, tj + fc)
    return {
        "rand_index": _ratio(tj + tc, tj + fj + fc + tc),
        "precision_cuts": pc,
        "recall_cuts": rc,
        "f1_cuts": _f1(pc, rc),
        "precision_joins": pj,
        "recall_joins": rj,
        "f1_joins": _f1(pj, rj),
    }


def compare(truth: ArrayLike, pred: ArrayLike) -> dict[str, float | int]:
    """All metrics of ``paper-model.md`` §10 in one dict.

    Keys: ``vi``, ``false_cuts``, ``false_joins`` (bits); ``rand_index``; ``precision_cuts``,
    ``recall_cuts``, ``f1_cuts``, ``precision_joins``, ``recall_joins``, ``f1_joins`` (fractions);
    the pair counts of :func:`pair_counts`; ``n``, ``n_clusters_true`` and ``n_clusters_pred``.
    """
    t, p = _encode_pair(truth, pred)
    n = t.shape[0]
    table = _contingency_sparse(t, p)
    vi, fc_bits, fj_bits = _vi_from_table(table, n)
    counts = _pair_counts_from_table(table, n)
    out: dict[str, float | int] = {"vi": vi, "false_cuts": fc_bits, "false_joins": fj_bits}
    out.update(
        pair_ratios(
            counts["pairs_true_joins"],
            counts["pairs_false_joins"],
            counts["pairs_false_cuts"],
            counts["pairs_true_cuts"],
        )
    )
    out.update(counts)
    out.update({"n": n, "n_clusters_true": table.shape[0], "n_clusters_pred": table.shape[1]})
    return out


def subset_metrics(truth: ArrayLike, pred: ArrayLike, subsets: Sequence[Any]) -> list[dict[str, Any]]:
    """Metrics within each subset and across each pair of subsets (``paper-model.md`` §8).

    Within a subset A: :func:`compare` on A alone (VI restricted to A, and the
    pair metrics over pairs inside A). Across A and B: the pair metrics over the pairs with one image
    in A and one in B (VI is not defined there), from ``pairs(A u B) - pairs(A) - pairs(B)``.
    Each row has ``block`` ("A" or "A-B"), ``n`` or ``pairs_total``, and the metric keys.
    """
    t = np.asarray(truth)
    p = np.asarray(pred)
    s = np.asarray([str(x) for x in subsets])
    names = sorted(set(s.tolist()))
    rows: list[dict[str, Any]] = []
    for a in names:
        m = s == a
        row: dict[str, Any] = {"block": a}
        row.update(compare(t[m], p[m]))
        rows.append(row)

    def counts(mask: np.ndarray) -> dict[str, int]:
        if mask.sum() < 1:
            return dict.fromkeys(
                (
                    "pairs_true_joins",
                    "pairs_false_joins",
                    "pairs_false_cuts",
                    "pairs_true_cuts",
                    "pairs_total",
                ),
                0,
            )
        return pair_counts(t[mask], p[mask])

    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            ma, mb = s == a, s == b
            both, ca, cb = counts(ma | mb), counts(ma), counts(mb)
            cross = {k: both[k] - ca[k] - cb[k] for k in both}
            row = {"block": f"{a}-{b}"}
            row.update(
                pair_ratios(
                    cross["pairs_true_joins"],
                    cross["pairs_false_joins"],
                    cross["pairs_false_cuts"],
                    cross["pairs_true_cuts"],
                )
            )
            row.update(cross)
            rows.append(row)
    return rows


def _upper_pairs(matrix: Any, name: str, symmetrize: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Symmetrised upper-triangle values of a square matrix (diagonal ignored) and their indices."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"{name} must be a square (n, n) matrix, got shape {m.shape}")
    iu, ju = np.triu_indices(m.shape[0], k=1)
    a, b = m[iu, ju], m[ju, iu]
    if symmetrize == "min":
        values = np.minimum(a, b)
    elif symmetrize == "mean":
        values = (a + b) / 2.0
    elif symmetrize == "max":
        values = np.maximum(a, b)
    else:
        raise ValueError(f"symmetrize must be 'min', 'mean' or 'max', got {symmetrize!r}")
    bad = ~np.isfinite(values)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}[{iu[k]}, {ju[k]}] is not finite ({m[iu[k], ju[k]]}, {m[ju[k], iu[k]]})")
    return values, iu, ju


@dataclass(frozen=True)
class PairwiseF1Sweep:
    """Result of :func:`pairwise_f1_sweep`: F1 of joins for each threshold and the best one."""

    thresholds: np.ndarray
    f1: np.ndarray
    best_threshold: float
    best_f1: float


def pairwise_f1_sweep(
    similarity: Any, truth: ArrayLike, thresholds: Any, *, symmetrize: str = "min"
) -> PairwiseF1Sweep:
    """The PQAP learning metric (``paper-model.md`` §6, fixture F14).

    For every threshold t, the unordered pair {i, j} is predicted joined iff
    ``min(s_ij, s_ji) - t >= 0``; the F1 score of joins is ``2TP / (2TP + FP + FN)`` with the
    same-class pairs as positives (1 when there is nothing to predict and nothing predicted).
    The best threshold is the first one reaching the maximum. The diagonal of ``similarity`` is
    ignored (it may be NaN). O(P log P) for P pairs, independent of the number of thresholds.
    """
    values, iu, ju = _upper_pairs(similarity, "similarity", symmetrize)
    t = _encode(truth, "truth")
    if t.shape[0] != np.asarray(similarity).shape[0]:
        raise ValueError(
            f"truth has {t.shape[0]} labels but similarity is {np.asarray(similarity).shape[0]} x "
            f"{np.asarray(similarity).shape[0]}"
        )
    ths = np.atleast_1d(np.asarray(thresholds, dtype=np.float64))
    if ths.ndim != 1 or ths.size == 0 or not np.isfinite(ths).all():
        raise ValueError("thresholds must be a non-empty 1-D sequence of finite numbers")
    positive = t[iu] == t[ju]
    pos_vals = np.sort(values[positive])
    all_vals = np.sort(values)
    n_pos = pos_vals.size
    # Joined iff value - t >= 0, i.e. value >= t (exact in IEEE arithmetic: a - b >= 0 iff a >= b).
    tp = n_pos - np.searchsorted(pos_vals, ths, side="left")
    predicted = all_vals.size - np.searchsorted(all_vals, ths, side="left")
    fp = predicted - tp
    fn = n_pos - tp
    den = 2 * tp + fp + fn
    f1 = np.where(den == 0, 1.0, 2.0 * tp / np.maximum(den, 1))
    best = int(np.argmax(f1))
    return PairwiseF1Sweep(thresholds=ths, f1=f1, best_threshold=float(ths[best]), best_f1=float(f1[best]))


def pairwise_auc(similarity: Any, truth: ArrayLike, *, symmetrize: str = "mean") -> float:
    """ROC AUC of the symmetrised similarity over the unordered pairs, same-class pairs positive
    (ties count half; Mann-Whitney rank sum): the chance that a same-class pair scores above a
    different-class one. NaN when either kind of pair is missing. The diagonal is ignored.
    """
    from scipy.stats import rankdata

    values, iu, ju = _upper_pairs(similarity, "similarity", symmetrize)
    t = _encode(truth, "truth")
    if t.shape[0] != np.asarray(similarity).shape[0]:
        raise ValueError(
            f"truth has {t.shape[0]} labels but similarity has {np.asarray(similarity).shape[0]} rows"
        )
    same = t[iu] == t[ju]
    n_pos, n_neg = int(same.sum()), int((~same).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(values)
    return float((ranks[same].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def rounding_baseline(costs: Any, truth: ArrayLike) -> dict[str, float | int]:
    """Pair metrics of the rounding baseline (``paper-model.md`` §7.3): cut {i, j} iff ``c_ij < 0``.

    ``costs`` is a symmetric (n, n) cost matrix (diagonal ignored). The edge labelling need not be
    a partition, so no VI is reported: the dict holds the pair counts and ratios of :func:`compare`.
    """
    values, iu, ju = _upper_pairs(costs, "costs", "mean")
    t = _encode(truth, "truth")
    if t.shape[0] != np.asarray(costs).shape[0]:
        raise ValueError(f"truth has {t.shape[0]} labels but costs has {np.asarray(costs).shape[0]} rows")
    joined_truth = t[iu] == t[ju]
    joined_pred = values >= 0
    tj = int(np.count_nonzero(joined_truth & joined_pred))
    fj = int(np.count_nonzero(~joined_truth & joined_pred))
    fc = int(np.count_nonzero(joined_truth & ~joined_pred))
    tc = int(values.size - tj - fj - fc)
    out: dict[str, float | int] = dict(pair_ratios(tj, fj, fc, tc))
    out.update(
        {
            "pairs_true_joins": tj,
            "pairs_false_joins": fj,
            "pairs_false_cuts": fc,
            "pairs_true_cuts": tc,
            "pairs_total": int(values.size),
        }
    )
    return out
