"""Learning the five PQAP cost parameters by simulated annealing (paper-model.md §6).

One evaluation of a parameter vector computes all ordered-pair similarities of the training
organoids, symmetrises them by the minimum and scores them against the true classes:

* ``objective="f1"`` (the paper): the pairwise F1 of joins, maximised over the thresholds
  t = 0.00, 0.01, ..., 1.00 (join iff min(s_ij, s_ji) - t >= 0);
* ``objective="vi"``: the variation of information of the correlation clustering of the costs
  min(s_ij, s_ji) - t, minimised over a threshold grid (so the threshold is learned too);
* ``objective="triples"``: the mean VI over every triple of classes of the KL clustering of the
  triple's organoids with the costs (s_ij + s_ji) / 2 - t, minimised over the same grid
  (:func:`corrclust.pqap.recipe.learn_threshold`, the rule that picks the operating threshold);
  equal means are ordered by the pairwise ROC AUC of (s_ij + s_ji) / 2 (same against different
  class). On 30 organoids one VI moves only when an organoid changes cluster, so most annealing
  proposals tied (2026-12-06: 10 steps, every one tied); 120 triples and the AUC tie-break make
  the objective move with almost every proposal.

The annealing follows the paper: independent Gaussian steps (sigma 0.0145 for the three offsets,
0.04 for the two weights), clamping to [0.01, 0.30] and [0.10, 0.90], acceptance of a worse
proposal with probability exp(-(previous - current) / T), a return to the best vector after 10
steps without a new best, T0 = 0.2 cooled by 0.99 per step, and no re-evaluation of a vector seen
before. It stops after ``iterations`` steps or ``time_budget`` seconds. The best vector found is
returned, so the result is never worse than the start. The same seed gives the same result
(for a fixed number of iterations).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from corrclust.pqap.io import KeypointSet, PqapParameters
from corrclust.pqap.similarity import PairSolver, _check_mode, ordered_pairs

__all__ = [
    "LearnResult",
    "Evaluation",
    "evaluate_parameters",
    "learn_parameters",
    "truth_labels",
    "OBJECTIVES",
]

OBJECTIVES = ("f1", "vi", "triples")
# weight of the AUC (at most 1) in the "triples" metric: far below what one organoid changing
# cluster in one of 120 triples does to the mean VI (about 1e-3 bit), so it orders ties
TRIPLES_AUC_WEIGHT = 1e-6
F1_THRESHOLDS = np.arange(101) / 100.0  # 0.00 ... 1.00, exactly the two-decimal values
VI_THRESHOLDS = np.arange(40, 91) / 100.0  # 0.40 ... 0.90

# (lower, upper, sigma) per parameter, in PqapParameters field order.
_OFFSET = (0.01, 0.30, (0.30 - 0.01) * 0.05)
_WEIGHT = (0.10, 0.90, (0.90 - 0.10) * 0.05)
BOUNDS = {
    "color_cost_offset": _OFFSET,
    "dist_cost_offset": _OFFSET,
    "angle_cost_offset": _OFFSET,
    "color_to_dist_weight": _WEIGHT,
    "unary_to_quadr_weight": _WEIGHT,
}


@dataclass(frozen=True)
class Evaluation:
    """The score of one parameter vector."""

    params: PqapParameters
    f1: float  # best pairwise F1 over the F1 thresholds
    f1_threshold: float
    vi: float | None  # best VI over the VI thresholds (objective "vi" only)
    vi_threshold: float | None
    similarity: np.ndarray  # (n, n), NaN diagonal, in the order of the evaluated ids
    triples_vi: float | None = None  # best mean triple VI, mean recipe (objective "triples" only)
    triples_threshold: float | None = None
    auc: float | None = None  # pairwise ROC AUC of the mean recipe (objective "triples" only)

    def metric(self, objective: str) -> float:
        """The value annealing maximises: F1, -VI, or -(mean triple VI) + a tie-breaking AUC term."""
        if objective == "f1":
            return self.f1
        if objective == "triples":
            assert self.triples_vi is not None and self.auc is not None
            return -self.triples_vi + TRIPLES_AUC_WEIGHT * self.auc
        assert self.vi is not None
        return -self.vi

    def threshold(self, objective: str) -> float:
        if objective == "f1":
            return self.f1_threshold
        if objective == "triples":
            return float(self.triples_threshold)  # type: ignore[arg-type]
        return float(self.vi_threshold)  # type: ignore[arg-type]

    def objective_vi(self, objective: str) -> float | None:
        """The VI the objective scores: the clustering VI ("vi"), the mean triple VI ("triples")."""
        return self.triples_vi if objective == "triples" else self.vi


@dataclass
class LearnResult:
    """Outcome of :func:`learn_parameters`."""

    params: PqapParameters
    threshold: float
    objective: str
    f1: float
    vi: float | None
    start: Evaluation
    best: Evaluation
    iterations: int
    evaluations: int
    elapsed: float
    ids: list[int]
    history: list[dict] = field(default_factory=list)  # one entry per step

    def summary(self) -> str:
        p = ", ".join(f"{k}={v:.6g}" for k, v in self.params.as_dict().items())
        vi = "" if self.vi is None else f", VI {self.vi:.4f}"
        start = self.start.f1 if self.objective == "f1" else self.start.objective_vi(self.objective)
        return (
            f"{self.objective}: best F1 {self.f1:.4f}{vi} at threshold {self.threshold:.2f} "
            f"(start {start:.4f}); {self.iterations} steps, {self.evaluations} evaluations on "
            f"{len(self.ids)} organoids in {self.elapsed:.1f} s; {p}"
        )


def truth_labels(truth: Any, ids: Sequence[int]) -> np.ndarray:
    """Class labels of ``ids`` from a clustering file path, a list of clusters or an id -> label map."""
    from corrclust.formats.clusterings import labels_from_clusters, read_clustering

    if isinstance(truth, (str, os.PathLike)):
        clusters = read_clustering(Path(truth))
        where = {i: k for k, c in enumerate(clusters) for i in c}
        missing = [i for i in ids if i not in where]
        if missing:
            raise ValueError(
                f"{truth}: {len(missing)} organoid(s) of the key points have no class, e.g. {missing[:5]}"
            )
        return np.array([where[i] for i in ids], dtype=np.int64)
    if isinstance(truth, Mapping):
        try:
            labels = [truth[i] for i in ids]
        except KeyError as exc:
            raise ValueError(f"organoid {exc.args[0]} has no class in truth") from None
        _, inv = np.unique(np.asarray(labels), return_inverse=True)
        return inv.astype(np.int64)
    clusters = [list(c) for c in truth]
    present = set(ids)
    clusters = [[i for i in c if i in present] for c in clusters]
    return labels_from_clusters([c for c in clusters if c], ids)


def _select_ids(keypoints: KeypointSet, labels_all: np.ndarray, organoids: Any, seed: int) -> list[int]:
    """The training ids: all, an explicit list, or ``k`` per class (seeded choice, file order kept)."""
    ids = list(keypoints.ids)
    if organoids is None:
        return ids
    if isinstance(organoids, (int, np.integer)) and not isinstance(organoids, bool):
        k = int(organoids)
        if k < 2:
            raise ValueError(f"organoids per class must be >= 2, got {k}")
        rng = np.random.default_rng(seed)
        chosen: set[int] = set()
        for c in np.unique(labels_all):
            members = [i for i, lab in zip(ids, labels_all, strict=False) if lab == c]
            take = members if len(members) <= k else list(rng.choice(members, size=k, replace=False))
            chosen.update(int(i) for i in take)
        return [i for i in ids if i in chosen]
    chosen_list = [int(i) for i in organoids]
    unknown = [i for i in chosen_list if i not in keypoints.features]
    if unknown:
        raise ValueError(f"organoids not in the key points: {unknown[:5]}")
    return chosen_list


def _vi_sweep(S: np.ndarray, labels: np.ndarray, thresholds: np.ndarray, method: str) -> tuple[float, float]:
    from corrclust.metrics import variation_of_information
    from corrclust.problem import Problem
    from corrclust.solve import solve

    best = (math.inf, float(thresholds[0]))
    for t in thresholds:
        res = solve(Problem.from_similarities(S, threshold=float(t), symmetrize="min"), method=method)
        vi = float(variation_of_information(labels, res.labels)[0])
        if vi < best[0]:
            best = (vi, float(t))
    return best


def pair_auc(S: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC of (s_ij + s_ji) / 2 over the unordered pairs: same class positive (ties count half;
    :func:`corrclust.metrics.pairwise_auc`); refused when either kind of pair is missing."""
    from corrclust.metrics import pairwise_auc

    auc = pairwise_auc(S, labels, symmetrize="mean")
    if auc != auc:
        raise ValueError("the AUC needs same-class and different-class pairs")
    return auc


class _Evaluator:
    def __init__(
        self,
        keypoints: KeypointSet,
        ids: list[int],
        labels: np.ndarray,
        objective: str,
        mode: str,
        threads: int | None,
        lower_wrap: bool,
        cc_method: str,
        vi_thresholds: np.ndarray,
    ):
        self.solver = PairSolver(keypoints.subset(ids))
        self.pairs = ordered_pairs(len(ids))
        self.labels = labels
        self.objective = objective
        self.mode = mode
        self.threads = threads
        self.lower_wrap = lower_wrap
        self.cc_method = cc_method
        self.vi_thresholds = vi_thresholds
        self.count = 0

    def __call__(self, params: PqapParameters) -> Evaluation:
        from corrclust.metrics import pairwise_f1_sweep

        sim, _, done, _ = self.solver.run(
            self.pairs, params, mode=self.mode, lower_wrap=self.lower_wrap, threads=self.threads
        )
        if not done.all():  # pragma: no cover - only after an interrupt, which raises
            raise RuntimeError("similarity sweep did not finish")
        n = len(self.solver.ids)
        S = np.full((n, n), np.nan)
        S[self.pairs[:, 0], self.pairs[:, 1]] = sim
        sweep = pairwise_f1_sweep(S, self.labels, F1_THRESHOLDS, symmetrize="min")
        vi = vt = tvi = tt = auc = None
        if self.objective == "vi":
            vi, vt = _vi_sweep(S, self.labels, self.vi_thresholds, self.cc_method)
        elif self.objective == "triples":
            from corrclust.pqap.recipe import learn_threshold

            tt, tvi = learn_threshold(S, self.labels, self.vi_thresholds, "mean")
            auc = pair_auc(S, self.labels)
        self.count += 1
        return Evaluation(params, sweep.best_f1, sweep.best_threshold, vi, vt, S, tvi, tt, auc)


def evaluate_parameters(
    keypoints: KeypointSet,
    truth: Any,
    params: PqapParameters,
    *,
    objective: str = "f1",
    ids: Sequence[int] | None = None,
    mode: str = "reference",
    threads: int | None = None,
    lower_wrap: bool = False,
    cc_method: str = "kl",
) -> Evaluation:
    """Score one parameter vector (all ordered pairs of ``ids``, default all organoids)."""
    _check_objective(objective)
    ids = list(keypoints.ids) if ids is None else [int(i) for i in ids]
    labels = truth_labels(truth, ids)
    ev = _Evaluator(
        keypoints, ids, labels, objective, _check_mode(mode), threads, lower_wrap, cc_method, VI_THRESHOLDS
    )
    return ev(params)


def _check_objective(objective: str) -> None:
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be 'f1', 'vi' or 'triples', got {objective!r}")


def _clamp(params: np.ndarray) -> np.ndarray:
    lo = np.array([b[0] for b in BOUNDS.values()])
    hi = np.array([b[1] for b in BOUNDS.values()])
    return np.minimum(np.maximum(params, lo), hi)


def learn_parameters(
    keypoints: KeypointSet,
    truth: Any,
    *,
    objective: str = "f1",
    start: PqapParameters | None = None,
    iterations: int = 3000,
    time_budget: float | None = 180.0,
    seed: int = 0,
    organoids: int | Sequence[int] | None = None,
    mode: str = "reference",
    threads: int | None = None,
    lower_wrap: bool = False,
    cc_method: str = "kl",
    init_temp: float = 0.2,
    cooling_rate: float = 0.99,
    restart_after: int = 10,
    progress: bool | Callable[[dict], Any] = True,
) -> LearnResult:
    """Learn the PQAP cost parameters on labelled key points by simulated annealing.

    Parameters
    ----------
    keypoints
        The labelled organoids' key points (:func:`corrclust.pqap.read_keypoints`).
    truth
        The true classes: a clustering CSV path (one class per line), a list of clusters of ids,
        or a mapping id -> label.
    objective
        ``"f1"`` (the paper's pairwise F1, threshold swept 0..1), ``"vi"`` (VI of the
        correlation clustering with ``cc_method``, threshold swept 0.40..0.90) or ``"triples"``
        (mean KL VI over the class triples with the mean recipe, same grid; needs 3 classes).
    start
        The first vector (default: the paper's ``model_parameters.txt``, 0.3/0.3/0.3/0.5/0.5).
    iterations, time_budget
        Stop after this many annealing steps or seconds (None: no time limit), whichever is first.
        A step whose all-pairs evaluation would, at the mean time of the evaluations so far, end
        past ``time_budget`` is not started. The start is always evaluated, so a budget shorter
        than one evaluation is exceeded by it.
    seed
        Seed of the steps and of the ``organoids`` subset; the same seed gives the same result for
        a fixed number of iterations.
    organoids
        Train on a subset: ``k`` organoids per class (seeded), or an explicit list of ids. A full
        Train-100 evaluation solves 9,900 pairs.
    mode, threads, lower_wrap
        As in :func:`corrclust.pqap.similarity_matrix`.
    cc_method
        The correlation-clustering solver of the ``"vi"`` objective (:func:`corrclust.solve`).
    init_temp, cooling_rate, restart_after
        The annealing: Metropolis temperature at the start, its factor per step, and the number of
        steps without a new best after which the walk returns to the best vector.
    progress
        True: a tqdm bar on stderr; False: silent; or a callable receiving one dict per step
        (``step``, ``params``, ``metric``, ``accepted``, ``best``, ``temperature``).
    """
    _check_objective(objective)
    mode = _check_mode(mode)
    if not isinstance(iterations, (int, np.integer)) or iterations < 0:
        raise ValueError(f"iterations must be a non-negative integer, got {iterations!r}")
    if time_budget is not None and not (time_budget > 0):
        raise ValueError(f"time_budget must be positive or None, got {time_budget!r}")
    start = PqapParameters.initial() if start is None else start
    start.validate()
    labels_all = truth_labels(truth, keypoints.ids)
    ids = _select_ids(keypoints, labels_all, organoids, seed)
    if len(ids) < 2:
        raise ValueError("need at least two organoids to learn from")
    labels = truth_labels(truth, ids)
    evaluate = _Evaluator(
        keypoints, ids, labels, objective, mode, threads, lower_wrap, cc_method, VI_THRESHOLDS
    )

    rng = np.random.default_rng(seed)
    sigma = np.array([b[2] for b in BOUNDS.values()])
    names = PqapParameters.names()
    t0 = time.monotonic()

    bar = None
    report: Callable[[dict], Any] | None = None
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(total=iterations, desc=f"learn ({objective})", unit="step")
    elif callable(progress):
        report = progress

    cache: dict[tuple[float, ...], Evaluation] = {}

    def key(v: np.ndarray) -> tuple[float, ...]:
        return tuple(float(x) for x in v)

    eval_seconds: list[float] = []  # wall time of each all-pairs evaluation run so far

    def run(v: np.ndarray) -> Evaluation:
        k = key(v)
        if k not in cache:
            started = time.monotonic()
            cache[k] = evaluate(PqapParameters(**dict(zip(names, k, strict=False))))
            eval_seconds.append(time.monotonic() - started)
        return cache[k]

    base_vec = np.array(start.as_tuple(), dtype=np.float64)
    first = run(base_vec)
    base_metric = first.metric(objective)
    best, best_vec, best_metric = first, base_vec.copy(), base_metric
    temp = float(init_temp)
    since_best = 0
    history: list[dict] = []
    steps = 0
    try:
        for step in range(int(iterations)):
            if time_budget is not None and time.monotonic() - t0 >= time_budget:
                break
            proposal = _clamp(base_vec + rng.normal(0.0, sigma))
            if time_budget is not None and key(proposal) not in cache:
                # a step that would end past the budget is not started: one evaluation takes
                # seconds to minutes (15 s for 18 synthetic organoids), so checking only between
                # steps overran the budget by up to one evaluation
                left = time_budget - (time.monotonic() - t0)
                if left < sum(eval_seconds) / len(eval_seconds):
                    break
            ev = run(proposal)
            cur = ev.metric(objective)
            u = rng.random()  # drawn every step, so the stream does not depend on the outcome
            if cur > base_metric:
                accepted = True
            else:
                accepted = temp > 0 and u < math.exp(-(base_metric - cur) / temp)
            if accepted:
                base_vec, base_metric = proposal, cur
            if cur > best_metric:
                best, best_vec, best_metric = ev, proposal.copy(), cur
                since_best = 0
            else:
                since_best += 1
                if since_best >= restart_after:
                    base_vec, base_metric = best_vec.copy(), best_metric
                    since_best = 0
            temp *= cooling_rate
            steps = step + 1
            entry = {
                "step": steps,
                "params": key(proposal),
                "metric": cur,
                "accepted": accepted,
                "best": best_metric,
                "temperature": temp,
            }
            history.append(entry)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(best=f"{abs(best_metric):.4f}", cur=f"{abs(cur):.4f}")
            if report is not None:
                report(entry)
    finally:
        if bar is not None:
            bar.close()
    return LearnResult(
        params=best.params,
        threshold=best.threshold(objective),
        objective=objective,
        f1=best.f1,
        vi=best.objective_vi(objective),
        start=first,
        best=best,
        iterations=steps,
        evaluations=evaluate.count,
        elapsed=time.monotonic() - t0,
        ids=ids,
        history=history,
    )
