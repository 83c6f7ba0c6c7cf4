"""The expert's answers in a run (``corrclust cluster --feedback FILE``): constraints and calibration.

:func:`use_feedback` reads the feedback file (:mod:`corrclust.feedback`) for the ids of the
correlations, turns the last answer of every pair into a must-link (``same``) or cannot-link
(``different``), checks that they do not contradict each other (the error names the ids and the
file), with ``calibrate`` fits the offset of the cost rule to them (:mod:`corrclust.calibration`):
the threshold of PQAP similarities, the bias of twin probabilities, and with ``propagate`` (the
default) spreads them to the pairs they imply (:mod:`corrclust.propagation`), as a cost shift the
returned correlations carry (``Correlations.cost_shift``).
:func:`answer_summary` compares a clustering before and after the answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from corrclust.pipeline.correlations import Correlations

if TYPE_CHECKING:
    from corrclust.calibration import Calibration

__all__ = ["FeedbackUse", "use_feedback", "answer_summary"]


@dataclass
class FeedbackUse:
    """What the answers of a feedback file did to a run."""

    path: Path
    corr: Correlations  # with the calibrated parameter when calibrated
    must_link: np.ndarray  # index pairs into corr.ids
    cannot_link: np.ndarray
    n_lines: int  # answers read (unsure included)
    n_skipped: int  # answers naming ids that are not in the set
    calibration: Calibration | None = None
    propagated: bool = False  # corr carries the answers' cost shift (corrclust.propagation)
    unsure: frozenset[tuple[int, int]] = frozenset()  # id pairs (min, max) last answered unsure

    @property
    def n_constraints(self) -> int:
        return int(self.must_link.shape[0] + self.cannot_link.shape[0])


def use_feedback(
    corr: Correlations, path: str | Path, *, calibrate: bool = False, propagate: bool = True
) -> FeedbackUse:
    from corrclust.calibration import calibrate as fit
    from corrclust.constraints import ConstraintError, constrain
    from corrclust.feedback import read_feedback

    path = Path(path)
    ids = [int(i) for i in corr.ids]
    fb = read_feedback(path, ids)
    must, cannot = fb.pairs(ids)
    try:
        constrain(np.zeros((len(ids), len(ids))), must, cannot, names=ids)
    except ConstraintError as exc:
        raise ValueError(f"{path}: {exc}") from None
    calibration = None
    if calibrate and must.size + cannot.size:
        calibration = fit(corr, must, cannot)
        corr = replace(corr, parameter=calibration.parameter)
    propagated = False
    if propagate and must.size + cannot.size:
        from corrclust.propagation import answer_shift, group_width

        costs = replace(corr, cost_shift=None).problem().to_dense()
        # the groups' width by the kind of correlations (PQAP similarities and probabilities differ)
        corr = replace(corr, cost_shift=answer_shift(costs, must, cannot, width=group_width(corr.kind)))
        propagated = True
    return FeedbackUse(
        path, corr, must, cannot, len(fb), fb.skipped, calibration, propagated, frozenset(fb.unsure())
    )


def answer_summary(use: FeedbackUse, before: np.ndarray | None, after: np.ndarray) -> dict:
    """Answers, how far the clustering before them agreed with them, and what changed.

    ``before``/``after``: cluster labels of the images (in the order of ``use.corr.ids``);
    ``before`` is None when there was no earlier clustering of the same images.
    """
    pairs = np.concatenate([use.must_link, use.cannot_link]).astype(np.int64).reshape(-1, 2)
    same = np.concatenate([np.ones(len(use.must_link), bool), np.zeros(len(use.cannot_link), bool)])

    def agreement(labels: np.ndarray | None) -> float | None:
        if labels is None or pairs.size == 0:
            return None
        return float(np.mean((labels[pairs[:, 0]] == labels[pairs[:, 1]]) == same))

    out = {
        "feedback_file": str(use.path),
        "answers_read": use.n_lines,
        "answers_skipped_unknown_ids": use.n_skipped,
        "same": int(len(use.must_link)),
        "different": int(len(use.cannot_link)),
        "agreement_before": agreement(before),
        "agreement_after": agreement(after),
        "pairs_changed": None,
        "images_moved": None,
        "answers_spread": use.propagated,  # the answers' cost shift (corrclust.propagation) was used
    }
    if before is not None:
        jb = before[:, None] == before[None, :]
        ja = after[:, None] == after[None, :]
        out["pairs_changed"] = int(np.triu(jb != ja, 1).sum())
        out["images_moved"] = _images_moved(before, after)
    if use.calibration is not None:
        cal = use.calibration
        out["calibration"] = {
            "parameter": cal.parameter_name,
            "default": cal.default,
            "fitted": cal.parameter,
            "shift": cal.delta,
            "scale": cal.scale,
        }
    return out


def _images_moved(before: np.ndarray, after: np.ndarray) -> int:
    """Images outside the best one-to-one matching of old and new clusters (Hungarian method)."""
    from scipy.optimize import linear_sum_assignment

    _, b = np.unique(before, return_inverse=True)
    _, a = np.unique(after, return_inverse=True)
    table = np.zeros((b.max() + 1, a.max() + 1), dtype=np.int64)
    np.add.at(table, (b, a), 1)
    r, c = linear_sum_assignment(-table)
    return int(before.size - table[r, c].sum())


def load_run(out_dir: str | Path) -> Correlations:
    """The correlations of a finished ``corrclust cluster`` run (``OUT/similarities.npz``), with the
    threshold or bias that run used (the symmetrization is the default of the matrix's kind)."""
    from corrclust.pipeline.correlations import load_correlations

    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise NotADirectoryError(f"output folder not found: {out_dir}")
    path = out_dir / "similarities.npz"
    if not path.is_file():
        if (out_dir / "clusters.csv").is_file():
            # A run on the sparse path (above --dense-max-n) or of --embeddings keeps no n x n matrix;
            # asking whether such a folder is an output folder confused (it is one).
            raise FileNotFoundError(
                f"{out_dir} holds clusters.csv but no similarities.npz: that run (the sparse path above "
                "--dense-max-n, or --embeddings) kept no matrix of every pair, which questions and the review "
                "page need; rerun 'corrclust cluster IMAGES_DIR' (with a higher --dense-max-n if it was above)"
            )
        raise FileNotFoundError(f"{path} not found: is {out_dir} the output folder of 'corrclust cluster'?")
    with np.load(path, allow_pickle=False) as data:
        threshold = float(data["threshold"]) if "threshold" in data.files else 0.64
        bias = float(data["bias"]) if "bias" in data.files else 0.0
    return load_correlations(path, threshold=threshold, bias=bias)


def next_questions(
    corr: Correlations,
    feedback: str | Path | None,
    k: int,
    *,
    strategy: str = "active",
    calibrate: bool = False,
    propagate: bool = True,
    seed: int = 0,
    on_skipped: Callable[[int], None] | None = None,
) -> list[tuple[int, int]]:
    """The next ``k`` pairs of ids to ask (:mod:`corrclust.questions`), given the answers in ``feedback``.
    A pair last answered ``unsure`` is not proposed again (it was, after every answer: an expert who
    answered all of them ``unsure`` got the same pairs back). ``on_skipped`` is told how many answers
    name ids outside ``corr`` (when any), so a command can say so as ``cluster --feedback`` does."""
    from corrclust.questions import select_pairs
    from corrclust.solve import solve

    must = cannot = np.zeros((0, 2), np.int64)
    unsure: frozenset[tuple[int, int]] = frozenset()
    if feedback is not None:
        use = use_feedback(corr, feedback, calibrate=calibrate, propagate=propagate)
        corr, must, cannot, unsure = use.corr, use.must_link, use.cannot_link, use.unsure
        if use.n_skipped and on_skipped is not None:
            on_skipped(use.n_skipped)
    costs = corr.problem().to_dense()
    labels = solve(
        costs,
        method="kl",
        seed=seed,
        must_link=must if must.size else None,
        cannot_link=cannot if cannot.size else None,
    ).labels
    # the unsure pairs are still open to the selection: ask for as many more, then leave them out
    pairs = select_pairs(costs, labels, k + len(unsure), must, cannot, strategy=strategy, seed=seed)
    ids = corr.ids
    out = [(int(ids[i]), int(ids[j])) for i, j in pairs]
    return [p for p in out if (min(p), max(p)) not in unsure][:k]
