"""Answers that move many pairs: :func:`answer_shift` spreads each answer of the expert to the pairs
it implies, softly, as an additive shift of the costs. The answers themselves stay hard constraints
(:mod:`corrclust.constraints`); the shift moves the other pairs.

Why: a ``different`` between the medoids of a cluster that holds two classes is honoured by the
exact solver by cutting off one image, so the answer hardly moves the clustering (Test-30 in
``benchmarks/bench_feedback.py``). The answer says more: the images like ``a`` are of another class
than the images like ``b``.

The rule, in the units of the robust spread ``s`` of all pair costs
(:func:`corrclust.calibration.cost_scale`):

* The group of an answered image ``x``: ``g_x(i) = sigmoid(c_xi / s)``, the calibration model's
  probability that ``i`` has the class of ``x`` (:mod:`corrclust.calibration`); 1 on the must-link
  component of ``x``. For a ``different`` answer ``(a, b)`` each side keeps the images nearer its own
  end: ``g_a(i)`` is multiplied by ``sigmoid((c_ai - c_bi) / s)``, ``g_b(i)`` by the complement, and
  each side is 0 on the other end's must-link component.
* Answer ``k`` acts through the shape ``D_k(i, j) = g_a(i) g_b(j) + g_b(i) g_a(j)``: the pairs
  between the two groups, in proportion to how typical both images are of them.
* How much: the shift ``sum_k alpha_k D_k`` takes every answered pair towards a confident cost, ``+s``
  for ``same`` and ``-s`` for ``different``, by kernel ridge regression: ``(K + I) alpha = r`` with
  ``K[k, l] = D_l`` at pair ``k`` and the residual ``r_k = y_k max(0, s - y_k c_k)`` (``y = +1`` for
  same, ``-1`` for different). An answer the costs already agree with by a spread moves nothing;
  answers about the same groups share one shift instead of adding up (the ridge term, weight 1).

Chosen on development sets only (``benchmarks/bench_feedback.py``: Train-100 halves and their
3-class subsets, synthetic organoids seed 1, the RBC development half), among the target (0.5, 1,
2 spreads), the ridge weight (0.3, 1), the width of ``g`` (0.5, 1, 2 spreads) and a shift that adds
up answer by answer without the fit (the first try, which overshot on Train-100 classes 1-5), then
frozen before the reported run. The choice keeps every constant at one spread or one.

The width of the groups (session 14): ``g_x(i) = sigmoid(c_xi / (w s))``, with ``w`` by the kind
of correlations (:data:`WIDTH`, :func:`group_width`; ``use_feedback`` passes it, so ``cluster
--feedback``, ``questions`` and the review page all use it): PQAP similarities ``w = 0.5``,
probabilities (twin, profile and ssl routes) and bare costs ``w = 1``. Narrower groups put more of
an answer's pull on the images that are clearly like its ends; on PQAP similarities (strong,
well separated costs) that is what moves a merged class apart, while on the label-free profile costs
(weak: same-class pairs a fraction of a spread above other-class ones) width 0.5 did worse on the
RBC development draws (``bench_feedback.py``, session 11), so the probability routes keep 1 and
are unchanged by construction. Chosen on the PQAP development sets only, among 1, 0.75, 0.5 and
0.25 (active, mean VI at 5/10/20 answers over the three groups train-a/train-b/synthetic-dev, ten
Train-100 draws and twenty Train-100 triples: 0.110, 0.089, 0.066, 0.092 or more), then confirmed
on 20 fresh synthetic PQAP sets (seeds 3000-3009 at 4 classes x 8, 3100-3109 at 3 x 10), mean VI
at 5/10/20/50 answers: active 0.751 0.398 0.107 0 (width 1: 0.768 0.448 0.100 0), random 0.969
0.877 0.669 0.331. So the gain is early (5-10 answers); at 20 answers the two widths are level.

Cost: ``O(n^2 m)`` for ``m`` answers (a few milliseconds at n = 1,000, m = 50).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
from scipy.sparse.csgraph import connected_components

from corrclust import memory
from corrclust.calibration import cost_scale

__all__ = ["answer_shift", "group_width", "TARGET", "RIDGE", "WIDTH"]

#: The confident cost an answered pair is taken towards, in spreads.
TARGET = 1.0
#: The ridge weight of the fit of the answers' strengths.
RIDGE = 1.0
#: The width of the answer groups, in spreads, per kind of correlations (``Correlations.kind``):
#: narrower for PQAP similarities (module docstring: chosen on the PQAP development sets, confirmed
#: on fresh synthetic sets); the probability routes' weak costs keep 1.
WIDTH = {"similarity": 0.5, "probability": 1.0}


def group_width(kind: str | None) -> float:
    """The width of the answer groups for correlations of ``kind`` (``"similarity"``: PQAP;
    ``"probability"``: twin, profile and ssl routes); 1 for anything else (e.g. bare costs)."""
    return WIDTH.get(kind or "", 1.0)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def answer_shift(
    costs: np.ndarray, must_link: np.ndarray, cannot_link: np.ndarray, *, width: float = 1.0
) -> np.ndarray:
    """The symmetric (n, n) shift of the dense ``costs`` (zero diagonal) that spreads the answers,
    index pairs ``must_link`` (same) and ``cannot_link`` (different), to the pairs they imply
    (module docstring). ``width``: of the answer groups ``sigmoid(c / (width s))``, in spreads
    (:func:`group_width` gives the one for a kind of correlations). All zeros without answers.
    Deterministic."""
    if not width > 0.0:
        raise ValueError(f"width must be positive, got {width}")
    costs = np.asarray(costs, dtype=np.float64)
    n = costs.shape[0]
    must = np.asarray(must_link, dtype=np.int64).reshape(-1, 2)
    cannot = np.asarray(cannot_link, dtype=np.int64).reshape(-1, 2)
    pairs = np.concatenate([must, cannot])
    m = pairs.shape[0]
    if m == 0 or n < 2:
        return np.zeros((n, n))
    # two n x n matrices (the half shift and the shift) besides the costs, checked before allocation
    memory.require(2 * memory.dense_problem_bytes(n), f"the answers' cost shift of {n} images")
    y = np.concatenate([np.ones(len(must)), -np.ones(len(cannot))])
    s = cost_scale(costs[np.triu_indices(n, 1)])
    # must-link components (the answers were checked for contradictions by whoever made them)
    graph = scipy.sparse.coo_matrix((np.ones(len(must)), (must[:, 0], must[:, 1])), shape=(n, n))
    comp = connected_components(graph, directed=False)[1]
    ga = np.empty((n, m))
    gb = np.empty((n, m))
    for k, (a, b) in enumerate(pairs.tolist()):
        side_a, side_b = comp == comp[a], comp == comp[b]
        wa, wb = _sigmoid(costs[:, a] / (width * s)), _sigmoid(costs[:, b] / (width * s))
        if y[k] < 0:  # each side keeps the images nearer its own end
            nearer_a = _sigmoid((costs[:, a] - costs[:, b]) / s)
            wa, wb = wa * nearer_a, wb * (1.0 - nearer_a)
            wa[side_b], wb[side_a] = 0.0, 0.0
        wa[side_a], wb[side_b] = 1.0, 1.0
        ga[:, k], gb[:, k] = wa, wb
    a_idx, b_idx = pairs[:, 0], pairs[:, 1]
    kernel = ga[a_idx] * gb[b_idx] + gb[a_idx] * ga[b_idx]  # [k, l]: the shape of answer l at pair k
    answered = costs[a_idx, b_idx]
    residual = y * np.maximum(0.0, TARGET * s - y * answered)
    alpha = np.linalg.solve(kernel + RIDGE * np.eye(m), residual)
    half = (ga * alpha) @ gb.T
    shift = half + half.T
    np.fill_diagonal(shift, 0.0)
    return shift
