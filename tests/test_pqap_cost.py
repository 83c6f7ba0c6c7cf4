"""The PQAP cost model against the stored Test-30 results (paper-model.md §4; fixtures F4-F6)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from conftest import require_shared

from corrclust.pqap import PqapParameters, read_keypoints, read_matching_results
from corrclust.pqap.io import FIELDS, KeypointSet
from corrclust.pqap.similarity import PairSolver, e_opt

TEST30 = "data/paper-keypoints/feature_vectors/feature_vectors_organoid_dataset_unseen_classes_6_2_17_34.csv"
MATCHING = "data/paper-keypoints/matching_results/matching_results_organoid_dataset_unseen_classes.csv"


@pytest.fixture(scope="module")
def stored():
    kp = read_keypoints(require_shared(TEST30))
    m = read_matching_results(require_shared(MATCHING))
    return kp, m, PairSolver(kp)


def test_f4_e_opt():
    p = PqapParameters.paper()
    assert e_opt(p) == -0.28797158331250006
    g_c, g_d, g_a, th, lam = p.as_tuple()
    for n in range(2, 600):
        h_u = (1 - lam) / n * (-th * g_c - (1 - th) * g_d)
        h_q = lam / (n * (n - 1) // 2) * (-g_a)
        assert abs(n * h_u + (n * (n - 1) // 2) * h_q - e_opt(p)) <= 1e-15


@pytest.mark.parametrize("lower_wrap", [False, True])
def test_f5_f6_stored_assignments(stored, lower_wrap):
    kp, m, solver = stored
    p = m.parameters
    pos = {i: k for k, i in enumerate(m.ids)}
    errs, lin_errs = [], []
    for (a, b), x in m.assignments.items():
        r = solver.cost(a, b, p, x, lower_wrap=lower_wrap)
        errs.append(abs(r.similarity - m.quadratic_matching[pos[a], pos[b]]))
        lin_errs.append(abs(r.linear_by_feature - m.linear_by_feature[pos[a], pos[b]]))
        lin_errs.append(abs(r.linear_by_candidate - m.linear_by_candidate[pos[a], pos[b]]))
        assert math.isclose(r.energy / e_opt(p), r.similarity, rel_tol=0, abs_tol=1e-15)
    errs = np.array(errs)
    assert len(errs) == 870
    if not lower_wrap:  # F5: every stored similarity reproduces to print rounding
        assert errs.max() <= 5e-7 and max(lin_errs) <= 5e-9
    else:  # F6: the flag matters
        assert (errs > 1e-4).sum() == 72 and errs.max() < 7e-4
        assert max(lin_errs) <= 5e-9  # the unary terms do not depend on the flag


def _tiny_set(rng, n_org=3, k=6):
    rows = {}
    for i in range(n_org):

        def block(kk):
            a = np.zeros((kk, len(FIELDS)))
            a[:, 0] = np.sort(rng.uniform(0, 360, kk)).astype(np.float32)
            a[:, 1] = rng.choice([0, 1, 3], kk)
            a[:, 9] = rng.uniform(0, 1, kk)
            a[:, 12] = rng.uniform(0, 1, kk).astype(np.float32)
            return a

        rows[i] = (block(k), block(k + 1))
    return KeypointSet(
        ids=list(rows),
        features={i: r[0] for i, r in rows.items()},
        candidates={i: r[1] for i, r in rows.items()},
    )


def _energy_py(F, C, x, p, lower_wrap=False):
    """Independent transcription of paper-model.md §4 (float32 where the C++ uses float)."""
    g_c, g_d, g_a, th, lam = p.as_tuple()
    n = F.shape[0]
    u = (1 - lam) / n
    w = lam / (n * (n - 1) // 2)
    f32 = np.float32
    lin = 0.0
    for i in range(n):
        if x[i] >= 0:
            j = x[i]
            if F[i, 1] != C[j, 1]:
                lin += 10000.0
                continue
            dr = float(abs(f32(F[i, 12]) - f32(C[j, 12])))
            lin += u * (th * (abs(F[i, 9] - C[j, 9]) - g_c) + (1 - th) * (dr - g_d))
    quad = 0.0
    for k in range(n):
        for l in range(k):  # noqa: E741 (k, l: the paper's names for two key points)
            if x[k] < 0 or x[l] < 0:
                continue
            if F[k, 1] != C[x[k], 1] or F[l, 1] != C[x[l], 1]:
                quad += 10000.0
                continue
            delta = float(f32(F[l, 0]) - f32(F[k, 0]))
            o = float(f32(C[x[k], 0])) + delta
            if o > 360:
                o -= 360
            elif lower_wrap and o < 0:
                o += 360
            a = 180 - abs(abs(o - float(f32(C[x[l], 0]))) - 180)
            quad += w * (abs(a / 180) - g_a)
    return lin + quad


@pytest.mark.parametrize("lower_wrap", [False, True])
def test_energy_matches_independent_transcription(lower_wrap):
    rng = np.random.default_rng(3)
    kp = _tiny_set(rng)
    solver = PairSolver(kp)
    p = PqapParameters.initial()
    for a, b in itertools.permutations(kp.ids, 2):
        F, C = kp.features[a], kp.candidates[b]
        for _ in range(5):
            x = rng.permutation(np.arange(-3, C.shape[0]))[: F.shape[0]]
            x[x < 0] = -1
            r = solver.cost(a, b, p, x, lower_wrap=lower_wrap)
            assert r.energy == pytest.approx(_energy_py(F, C, x, p, lower_wrap), abs=1e-12)


def test_cost_rejects_bad_assignments(stored):
    kp, m, solver = stored
    p = PqapParameters.paper()
    n = kp.features[1100].shape[0]
    with pytest.raises(ValueError, match="must have 202 entries"):
        solver.cost(1100, 1101, p, np.zeros(n - 1, dtype=int))
    with pytest.raises(ValueError, match="uses a candidate twice"):
        solver.cost(1100, 1101, p, np.zeros(n, dtype=int))
    bad = -np.ones(n, dtype=int)
    bad[0] = 10_000
    with pytest.raises(ValueError, match=r"entries must lie in \[-1, "):
        solver.cost(1100, 1101, p, bad)
    empty = solver.cost(1100, 1101, p, -np.ones(n, dtype=int))
    assert empty.energy == 0.0 and empty.similarity == 0.0
