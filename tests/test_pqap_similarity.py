"""All-pairs similarity matrices: API, threads, improved mode, checkpoints, Ctrl-C and Dask."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest
from conftest import require_shared

import corrclust.pqap as pqap
from corrclust.pqap import PqapParameters, read_keypoints, read_matching_results, similarity_matrix
from corrclust.pqap.similarity import PairSolver

TEST30 = "data/paper-keypoints/feature_vectors/feature_vectors_organoid_dataset_unseen_classes_6_2_17_34.csv"
MATCHING = "data/paper-keypoints/matching_results/matching_results_organoid_dataset_unseen_classes.csv"
IDS = [1100, 1101, 1200, 1201, 1300]  # 20 ordered pairs


@pytest.fixture(scope="module")
def kp():
    return read_keypoints(require_shared(TEST30))


@pytest.fixture(scope="module")
def stored():
    return read_matching_results(require_shared(MATCHING))


@pytest.fixture(scope="module")
def reference(kp):
    return similarity_matrix(kp, PqapParameters.paper(), ids=IDS, threads=1, progress=False)


def test_matrix_matches_stored_and_layout(kp, stored, reference):
    ids, S = reference
    assert ids == IDS
    assert np.isnan(np.diag(S)).all()
    pos = {i: k for k, i in enumerate(stored.ids)}
    expected = stored.quadratic_matching[np.ix_([pos[i] for i in IDS], [pos[i] for i in IDS])]
    off = ~np.eye(len(IDS), dtype=bool)
    assert np.abs(S[off] - expected[off]).max() <= 5e-7


def test_public_names_and_file_order(kp):
    assert pqap.similarity_matrix is similarity_matrix
    ids, S = similarity_matrix(kp, PqapParameters.paper(), ids=[1209, 1308], progress=False)
    assert ids == [1209, 1308] and S.shape == (2, 2)
    one = pqap.match_pair(kp, 1209, 1308, PqapParameters.paper())
    assert one.similarity == S[0, 1]


def test_threads_give_identical_results(kp, reference):
    _, S1 = reference
    _, S2 = similarity_matrix(kp, PqapParameters.paper(), ids=IDS, threads=2, progress=False)
    _, S3 = similarity_matrix(kp, PqapParameters.paper(), ids=IDS, threads=3, progress=False)
    np.testing.assert_array_equal(S1, S2)
    np.testing.assert_array_equal(S1, S3)


def test_improved_equals_reference_on_the_paper_organoids(kp, reference):
    # The improved mode lets the other direction's reference matching, read backwards, compete. On
    # the paper's organoids it never wins (many red candidates are not features, so the reversal
    # loses them; 0 of Train-100's 9,900 ordered pairs): the two modes agree exactly here.
    _, S_ref = reference
    ids, S_imp = similarity_matrix(kp, PqapParameters.paper(), mode="improved", ids=IDS, progress=False)
    np.testing.assert_array_equal(S_imp, S_ref)
    m = PairSolver(kp).match(1100, 1101, PqapParameters.paper(), mode="improved")
    assert abs(m.similarity - 0.773864) <= 5e-7  # fixture F7: s(1100 -> 1101)
    assert m.winner == "B"


def _organoid(k, seed):
    """k key points at distinct pixels, channels 0 and 3 (features = candidates unless edited)."""
    rng = np.random.default_rng(seed)
    a = np.zeros((k, 13))
    a[:, 0] = np.sort(rng.uniform(0, 360, k)).astype(np.float32)
    a[:, 1] = rng.choice([0, 3], k)
    a[:, 2] = np.arange(k) * 3 + 1  # col
    a[:, 3] = rng.integers(0, 50, k)  # row
    a[:, 9] = rng.uniform(0, 1, k)
    a[:, 12] = rng.uniform(0, 1, k).astype(np.float32)
    return a


def _reversed(kp, a, b, x_ba):
    """x(b -> a) read as features(a) -> candidates(b), points named by (channel, col, row)."""

    def same(src, dst):
        pool: dict = {}
        for j, r in enumerate(dst):
            pool.setdefault((r[1], r[2], r[3]), []).append(j)
        return [pool[k].pop(0) if pool.get(k := (r[1], r[2], r[3])) else -1 for r in src]

    feature_of = same(kp.candidates[a], kp.features[a])
    candidate_of = same(kp.features[b], kp.candidates[b])
    y = np.full(len(kp.features[a]), -1)
    for i, j in enumerate(x_ba):
        if j >= 0 and feature_of[j] >= 0 and candidate_of[i] >= 0:
            y[feature_of[j]] = candidate_of[i]
    return y


def test_improved_takes_the_reversed_matching_when_it_is_better():
    from corrclust.pqap import KeypointSet

    p = PqapParameters.paper()
    A, B = _organoid(6, 7), _organoid(7, 1007)
    kp = KeypointSet(ids=[1, 2], features={1: A, 2: B}, candidates={1: A, 2: B})
    solver = PairSolver(kp)
    ref = solver.match(2, 1, p, "reference")
    back = solver.match(1, 2, p, "reference")
    imp = solver.match(2, 1, p, "improved")
    assert ref.assignment.tolist() == [0, 4, -1, 1, -1, -1, 2] and ref.similarity == 0.28572503092397605
    assert back.assignment.tolist() == [0, 4, 6, -1, 1, -1]
    # x(1 -> 2) read backwards: feature 0 of 2 -> candidate 0 of 1, 4 -> 1, 6 -> 2, 1 -> 4
    assert (
        imp.assignment.tolist() == [0, 4, -1, -1, 1, -1, 2] == _reversed(kp, 2, 1, back.assignment).tolist()
    )
    assert imp.winner == "reversed" and imp.similarity == 0.3192330658583638
    assert solver.cost(2, 1, p, imp.assignment).energy == imp.energy < ref.energy
    # the other direction keeps its own matching: its reversal of x(2 -> 1) is not better
    assert solver.match(1, 2, p, "improved").winner != "reversed"


def test_improved_is_the_better_of_the_two_matchings_with_unshared_points():
    # Candidates that are not features (and the reverse) drop out of a reversed matching; the
    # improved similarity is max(reference, reversed) exactly, on every ordered pair.
    from corrclust.pqap import KeypointSet

    p = PqapParameters.paper()
    feats, cands = {}, {}
    for i in range(1, 5):
        pts = _organoid(9, 4 + i)
        feats[i] = pts[[k for k in range(9) if k != i]]  # one point is a candidate only
        cands[i] = pts[[k for k in range(9) if k != 8 - i]]  # another is a feature only
    kp = KeypointSet(ids=[1, 2, 3, 4], features=feats, candidates=cands)
    solver = PairSolver(kp)
    ids, S = similarity_matrix(kp, p, mode="improved", progress=False, threads=2)
    won = 0
    for a in ids:
        for b in ids:
            if a == b:
                continue
            ref = solver.match(a, b, p, "reference")
            y = solver.cost(a, b, p, _reversed(kp, a, b, solver.match(b, a, p, "reference").assignment))
            best = y if y.energy < ref.energy else ref
            assert S[ids.index(a), ids.index(b)] == best.similarity >= ref.similarity
            won += best is y
    assert won == 1


def test_improved_sweep_is_the_same_whichever_directions_are_asked():
    # A sweep solves (a, b) and (b, a) together (each one's reference matching is the other's
    # competitor); a task whose opposite is done, absent, or asked twice is solved alone. Every
    # schedule gives each task exactly the value of the pair solved on its own.
    from corrclust.pqap import KeypointSet

    p = PqapParameters.paper()
    feats, cands = {}, {}
    for i in range(4):
        pts = _organoid(9, 11 + i)
        feats[i] = pts[[k for k in range(9) if k != i]]
        cands[i] = pts[[k for k in range(9) if k != 8 - i]]
    kp = KeypointSet(ids=[0, 1, 2, 3], features=feats, candidates=cands)
    solver = PairSolver(kp)
    single = {(a, b): solver.match(a, b, p, "improved") for a in range(4) for b in range(4) if a != b}
    assert {m.winner for m in single.values()} >= {"reversed"}  # the competitor matters here
    every = np.array([(a, b) for a in range(4) for b in range(4) if a != b])
    one_way = np.array([(0, 1), (2, 3), (3, 1), (2, 0)])  # no opposite asked
    twice = np.array([(0, 1), (1, 0), (0, 1), (1, 0), (1, 0)])
    for pairs, done in ((every, None), (one_way, None), (twice, None), (every, np.arange(12) % 3 == 0)):
        d = np.zeros(len(pairs), np.uint8) if done is None else done.astype(np.uint8)
        sim, energy, d, assignments = solver.run(
            pairs, p, mode="improved", threads=2, done=d, want_assignments=True
        )
        for k, (a, b) in enumerate(pairs):
            if done is not None and done[k]:
                assert np.isnan(sim[k])  # skipped: kept as it was
                continue
            assert d[k] == 1
            assert sim[k] == single[a, b].similarity and energy[k] == single[a, b].energy
            np.testing.assert_array_equal(assignments[k], single[a, b].assignment)


def test_checkpoint_resume(kp, reference, tmp_path):
    ck = tmp_path / "ck.npz"
    seen = []

    def stop_after_some(done, total):
        seen.append(done)
        if done >= 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        similarity_matrix(
            kp, PqapParameters.paper(), ids=IDS, threads=1, checkpoint=ck, progress=stop_after_some
        )
    with np.load(ck) as z:
        saved = int(z["done"].sum())
    assert 6 <= saved < 20
    resumed = []
    ids, S = similarity_matrix(
        kp, PqapParameters.paper(), ids=IDS, threads=2, checkpoint=ck, progress=lambda d, t: resumed.append(d)
    )
    assert resumed[0] >= saved  # the saved pairs were not solved again
    np.testing.assert_array_equal(S, reference[1])
    # a checkpoint of another run is refused
    with pytest.raises(ValueError, match="belongs to another run"):
        similarity_matrix(kp, PqapParameters.initial(), ids=IDS, checkpoint=ck, progress=False)


@pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")
def test_ctrl_c_stops_quickly(kp):
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    t0 = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        similarity_matrix(kp, PqapParameters.paper(), threads=2, progress=False)  # 870 pairs, minutes
    assert time.monotonic() - t0 < 2.0


def test_bad_arguments(kp):
    with pytest.raises(ValueError, match="mode must be one of"):
        similarity_matrix(kp, PqapParameters.paper(), mode="fast", ids=IDS)
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        similarity_matrix(kp, PqapParameters.paper(), threads=0, ids=IDS)
    with pytest.raises(ValueError, match="not in the key-point set"):
        similarity_matrix(kp, PqapParameters.paper(), ids=[1100, 42])
    with pytest.raises(ValueError, match="unary_to_quadr_weight must lie in"):
        similarity_matrix(kp, PqapParameters(0.2, 0.2, 0.2, 0.5, 1.5), ids=IDS)


def test_dask_local_cluster_matches_local_run(kp, reference):
    pytest.importorskip("dask.distributed")
    from corrclust.pqap.distributed import similarity_matrix_dask

    ids, S = similarity_matrix_dask(
        kp.subset(IDS), PqapParameters.paper(), local_cluster=2, processes=False, chunk_size=3, progress=False
    )
    assert ids == IDS
    np.testing.assert_array_equal(S, reference[1])
    # the improved mode deals a pair and its opposite out together (an odd chunk size is rounded up)
    _, S_imp = similarity_matrix(kp, PqapParameters.paper(), mode="improved", ids=IDS, progress=False)
    _, S_dask = similarity_matrix_dask(
        kp.subset(IDS),
        PqapParameters.paper(),
        "improved",
        local_cluster=2,
        processes=False,
        chunk_size=3,
        progress=False,
    )
    np.testing.assert_array_equal(S_dask, S_imp)


def _block(k, channel=0, seed=0):
    rng = np.random.default_rng(seed)
    a = np.zeros((k, 13))
    a[:, 0] = np.sort(rng.uniform(0, 360, k)).astype(np.float32)
    a[:, 1] = channel
    a[:, 9] = rng.uniform(0, 1, k)
    a[:, 12] = rng.uniform(0, 1, k).astype(np.float32)
    return a


def test_degenerate_organoids_and_brute_force_bound():
    """Empty and one-point lists, a channel with no partner, and tiny pairs checked by brute force."""
    import itertools

    from corrclust.pqap import KeypointSet

    kp = KeypointSet(
        ids=[1, 2, 3, 4, 5],
        features={1: _block(0), 2: _block(1), 3: _block(2), 4: _block(5, 3), 5: _block(4, 0, 7)},
        candidates={1: _block(0), 2: _block(1), 3: _block(3), 4: _block(4), 5: _block(3, 0, 8)},
    )
    p = PqapParameters.paper()
    for mode in ("reference", "improved"):
        ids, S = similarity_matrix(kp, p, mode, progress=False)
        off = ~np.eye(5, dtype=bool)
        assert np.isfinite(S[off]).all() and (S[off] >= 0).all() and (S[off] <= 1 + 1e-12).all()
        assert (S[0, 1:] == 0).all() and (S[1:, 0] == 0).all()  # nothing to match
        assert (S[3, :3] == 0).all()  # channel 3 features, channel 0 candidates only
        assert not np.signbit(S[off]).any()
    solver = PairSolver(kp)
    # Brute force over all partial injective maps of a 4 x 3 pair: the solvers never beat the optimum,
    # and "improved" is never worse than "reference".
    F, C = kp.features[5], kp.candidates[3]
    best = 0.0
    for x in itertools.product(range(-1, C.shape[0]), repeat=F.shape[0]):
        used = [v for v in x if v >= 0]
        if len(used) == len(set(used)):
            best = min(best, solver.cost(5, 3, p, np.array(x)).energy)
    ref = solver.match(5, 3, p, "reference")
    imp = solver.match(5, 3, p, "improved")
    assert best <= imp.energy <= ref.energy <= 0.0


def test_run_refuses_output_arrays_it_cannot_write(kp):
    solver = PairSolver(kp.subset([1100, 1101]))
    with pytest.raises(ValueError, match="similarity must be a writable contiguous float64 array"):
        solver.run(np.array([[0, 1]]), PqapParameters.paper(), similarity=np.zeros(1, np.float32))
    with pytest.raises(ValueError, match="done must be a writable contiguous uint8 array"):
        solver.run(np.array([[0, 1]]), PqapParameters.paper(), done=np.zeros(1, bool))


def test_pair_list_equals_the_matrix_entries(kp, reference):
    from corrclust.pqap.similarity import pair_similarities

    ids, S = reference
    pos = {i: k for k, i in enumerate(kp.ids)}
    uv = np.array([[pos[1100], pos[1201]], [pos[1101], pos[1300]], [pos[1200], pos[1201]]])
    s_uv, s_vu = pair_similarities(kp, uv, PqapParameters.paper(), threads=1)
    at = {i: k for k, i in enumerate(ids)}
    for (u, v), a, b in zip(uv, s_uv, s_vu, strict=True):
        assert a == S[at[kp.ids[u]], at[kp.ids[v]]] and b == S[at[kp.ids[v]], at[kp.ids[u]]]
