"""Which pairs to ask the expert next (:func:`select_pairs`).

``strategy="active"`` (default) asks where a **committee of clusterings** disagrees most. The
committee: ``samples`` clusterings (GAEC + Kernighan-Lin, under the answers so far) of the costs
perturbed by Gaussian noise of one cost spread ``s`` per pair plus one common shift of spread
``s`` (``s`` as in :mod:`corrclust.calibration`), i.e. clusterings that are about as plausible as
the chosen one given how uncertain a threshold and a single similarity are. For every open pair,
``P`` is the fraction of committee members that join it; the score is ``min(P, 1 - P)`` (the
disagreement) times ``sqrt(size_a size_b)`` of the two must-link components (an answer about two
large groups of images moves more pairs). Ties go to the pair of smaller ``|c_ij|``. In a batch
(``k > 1``) every image is asked about at most once.

Pairs whose answer is already implied (the same must-link component, or components already kept
apart by a cannot-link) are never asked.

``strategy="uncertain"`` asks the least certain pairs (smallest ``|c_ij|``, weighted by the
component sizes as above) without a committee; ``strategy="random"`` asks uniformly random open
pairs (the baseline of ``benchmarks/bench_feedback.py``).

How the rule was chosen (an in-sample choice, say so when quoting figures): a first rule, the
expected change of the clustering per answer, was worse than random on the paper's Test-30
matrix (``benchmarks/bench_feedback.py``); the committee, with the noise fixed at one spread, was
the second rule tried.
"""

from __future__ import annotations

import numpy as np

from corrclust.calibration import cost_scale
from corrclust.constraints import constrain

__all__ = ["STRATEGIES", "select_pairs"]

STRATEGIES = ("active", "uncertain", "random")


def _open_pairs(n: int, component: np.ndarray, cannot_comp: set) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs i < j whose answer is not implied by the constraints so far."""
    iu, ju = np.triu_indices(n, 1)
    ci, cj = component[iu], component[ju]
    keep = ci != cj
    if cannot_comp:
        lo, hi = np.minimum(ci, cj), np.maximum(ci, cj)
        implied = np.array(
            [(a, b) in cannot_comp for a, b in zip(lo.tolist(), hi.tolist(), strict=False)], dtype=bool
        )
        keep &= ~implied
    return iu[keep], ju[keep]


def select_pairs(
    costs: np.ndarray,
    labels: np.ndarray,
    k: int,
    must_link: np.ndarray | None = None,
    cannot_link: np.ndarray | None = None,
    *,
    strategy: str = "active",
    samples: int = 20,
    seed: int = 0,
) -> list[tuple[int, int]]:
    """The next ``k`` index pairs to ask, given the dense cost matrix (calibrated), the current
    ``labels`` and the answers so far as index pairs. Fewer are returned when fewer are open."""
    from corrclust.solve import solve

    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if k < 0:
        raise ValueError(f"the number of questions must be >= 0, got {k}")
    costs = np.asarray(costs, dtype=np.float64)
    n = costs.shape[0]
    labels = np.asarray(labels)
    must = np.zeros((0, 2), np.int64) if must_link is None else np.asarray(must_link, np.int64).reshape(-1, 2)
    cannot = (
        np.zeros((0, 2), np.int64)
        if cannot_link is None
        else np.asarray(cannot_link, np.int64).reshape(-1, 2)
    )
    con = constrain(costs, must, cannot)
    comp = con.component
    cannot_comp = {
        (min(a, b), max(a, b))
        for a, b in zip(comp[cannot[:, 0]].tolist(), comp[cannot[:, 1]].tolist(), strict=False)
    }
    pi, pj = _open_pairs(n, comp, cannot_comp)
    if pi.size == 0 or k == 0:
        return []
    rng = np.random.default_rng(seed)
    if strategy == "random":
        order = rng.permutation(pi.size)[:k]
        return [(int(pi[o]), int(pj[o])) for o in order]

    sizes = np.bincount(labels)[labels].astype(np.float64)
    c = costs[pi, pj]
    weight = np.sqrt(sizes[pi] * sizes[pj])
    uncertainty = np.abs(c) / weight  # small: uncertain and consequential
    if strategy == "uncertain":
        order = np.lexsort((rng.random(pi.size), uncertainty))[:k]
        return [(int(pi[o]), int(pj[o])) for o in order]

    scale = cost_scale(costs[np.triu_indices(n, 1)])
    joined = np.zeros(pi.size)
    for t in range(samples):
        noise = rng.normal(scale=scale, size=(n, n))
        noise = np.triu(noise, 1)
        perturbed = costs + noise + noise.T + rng.normal(scale=scale)
        np.fill_diagonal(perturbed, 0.0)
        lab = solve(
            perturbed,
            method="kl",
            seed=seed + t,
            must_link=must if must.size else None,
            cannot_link=cannot if cannot.size else None,
        ).labels
        joined += lab[pi] == lab[pj]
    p = joined / samples
    csize = np.bincount(comp).astype(np.float64)
    scores = np.minimum(p, 1 - p) * np.sqrt(csize[comp[pi]] * csize[comp[pj]])
    pool = np.arange(pi.size)
    c_abs = np.abs(c)
    # highest disagreement first; ties: the less certain pair, then a seeded random order
    order = np.lexsort((rng.random(pool.size), c_abs, -scores))
    chosen: list[tuple[int, int]] = []
    used: set[int] = set()
    for t in order:  # a batch: each image at most once, so the answers do not overlap
        o = pool[t]
        i, j = int(pi[o]), int(pj[o])
        if i in used or j in used:
            continue
        chosen.append((i, j))
        used.update((i, j))
        if len(chosen) == k:
            break
    if len(chosen) < k:  # fill with the remaining pool in score order
        for t in order:
            pair = (int(pi[pool[t]]), int(pj[pool[t]]))
            if pair not in chosen:
                chosen.append(pair)
                if len(chosen) == k:
                    break
    return chosen
