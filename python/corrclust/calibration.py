"""Calibration from answers: the answered pairs fit the offset of the cost rule, so every answer
moves all pairs, not only its own.

Every route's costs have an offset: ``c_ij = sym(s_ij, s_ji) - threshold`` (PQAP similarities),
``c_ij = logit(sym(p_ij, p_ji)) + bias`` (twin probabilities). A shift ``delta`` of all costs,
``c_ij + delta``, is a threshold ``threshold - delta`` or a bias ``bias + delta``
(:func:`shifted_parameter`).

The rule (fixed before any benchmark was run, not tuned on any set): the expert's answer to a
pair is modelled as ``P(same) = sigmoid((c_ij + delta) / s)``, with ``s`` the robust spread of all
pair costs (1.4826 times their median absolute deviation). ``delta`` maximises the log-likelihood
of the answers (``same`` and ``different``; ``unsure`` is no answer) plus a Gaussian prior
``delta ~ N(0, s^2)`` that keeps it at the default (``delta = 0``) when there are few answers and
lets it move by about one spread when the answers ask for it. The objective is convex in
``delta``, so the optimum is unique.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Calibration", "cost_scale", "fit_offset", "shifted_parameter", "calibrate"]


@dataclass
class Calibration:
    """The fitted shift and the parameter it gives."""

    delta: float
    scale: float
    parameter_name: str
    default: float
    parameter: float
    n_answers: int
    agreement_before: float  # fraction of answered pairs whose cost sign agrees with the answer
    agreement_after: float


def cost_scale(costs: np.ndarray) -> float:
    """Robust spread of pair costs: 1.4826 * MAD (the standard deviation, or 1, when that is 0)."""
    c = np.asarray(costs, dtype=np.float64).ravel()
    c = c[np.isfinite(c)]
    if c.size == 0:
        return 1.0
    mad = 1.4826 * float(np.median(np.abs(c - np.median(c))))
    if mad > 0:
        return mad
    sd = float(c.std())
    return sd if sd > 0 else 1.0


def fit_offset(costs: np.ndarray, same: np.ndarray, scale: float) -> float:
    """The maximum a-posteriori shift ``delta`` for answered pairs with ``costs`` (module docstring)."""
    from scipy.optimize import minimize_scalar

    c = np.asarray(costs, dtype=np.float64)
    y = np.where(np.asarray(same, dtype=bool), 1.0, -1.0)
    if c.size == 0:
        return 0.0
    s = float(scale)

    def loss(d: float) -> float:
        return float(np.logaddexp(0.0, -y * (c + d) / s).sum() + 0.5 * (d / s) ** 2)

    # convex: bracketed by the range of the costs (+- a few spreads)
    lo = float(-c.max() - 10 * s)
    hi = float(-c.min() + 10 * s)
    res = minimize_scalar(
        loss, bounds=(min(lo, -10 * s), max(hi, 10 * s)), method="bounded", options={"xatol": 1e-9 * s}
    )
    return float(res.x)


def shifted_parameter(kind: str, parameter: float, delta: float) -> float:
    """The threshold (similarities) or bias (probabilities) that shifts every cost by ``delta``."""
    if kind == "similarity":
        return float(parameter) - delta
    if kind == "probability":
        return float(parameter) + delta
    raise ValueError(f"unknown correlation kind {kind!r}")


def calibrate(corr, must_link: np.ndarray, cannot_link: np.ndarray) -> Calibration:
    """Fit the offset of ``corr`` (a :class:`corrclust.pipeline.Correlations`) to answered index pairs."""
    costs = corr.problem().to_dense()
    n = costs.shape[0]
    iu = np.triu_indices(n, 1)
    scale = cost_scale(costs[iu])
    must = np.asarray(must_link, dtype=np.int64).reshape(-1, 2)
    cannot = np.asarray(cannot_link, dtype=np.int64).reshape(-1, 2)
    pairs = np.concatenate([must, cannot])
    same = np.concatenate([np.ones(len(must), bool), np.zeros(len(cannot), bool)])
    c = costs[pairs[:, 0], pairs[:, 1]] if pairs.size else np.zeros(0)
    delta = fit_offset(c, same, scale)

    def agreement(d: float) -> float:
        if c.size == 0:
            return float("nan")
        return float(np.mean((c + d > 0) == same))

    return Calibration(
        delta=delta,
        scale=scale,
        parameter_name=corr.parameter_name,
        default=corr.parameter,
        parameter=shifted_parameter(corr.kind, corr.parameter, delta),
        n_answers=int(c.size),
        agreement_before=agreement(0.0),
        agreement_after=agreement(delta),
    )
