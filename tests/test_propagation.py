"""corrclust.propagation: the answers' cost shift, on planted instances re-clustered exactly."""

from __future__ import annotations

import numpy as np
import pytest
from test_feedback import _implied, _planted

from corrclust.metrics import compare
from corrclust.propagation import answer_shift
from corrclust.questions import select_pairs
from corrclust.solve import solve

NONE = np.zeros((0, 2), np.int64)
#: The groups' width of PQAP similarities (session 14, corrclust.propagation).
SIMILARITY_WIDTH = 0.5


def _merged(seed=0):
    """Three planted classes of 6; classes 0 and 1 look alike (cross costs +0.4), so the optimum
    without answers merges them."""
    rng = np.random.default_rng(seed)
    truth = np.repeat([0, 1, 2], 6)
    C = np.where(truth[:, None] == truth[None, :], 1.0, -1.0)
    ab = np.isin(truth, [0, 1])
    C[np.ix_(ab, ab)] = np.where(truth[ab][:, None] == truth[ab][None, :], 1.0, 0.4)
    C = np.triu(C + rng.normal(scale=0.3, size=C.shape), 1)
    return truth, C + C.T


def _answers_to_truth(truth, C, strategy, propagate, limit=100, width=1.0):
    """One question at a time, answered from ``truth``, re-clustered exactly: the number of answers
    until the clustering is the truth, and the answers (checked never to be implied); ``width``: of
    the answers' groups."""
    must, cannot = [], []
    for step in range(limit):
        m = np.array(must, np.int64).reshape(-1, 2)
        c = np.array(cannot, np.int64).reshape(-1, 2)
        costs = C + answer_shift(C, m, c, width=width) if propagate else C
        labels = solve(
            costs, method="exact", must_link=m if m.size else None, cannot_link=c if c.size else None
        ).labels
        if compare(truth, labels)["vi"] == 0:
            return step, must, cannot
        pair = select_pairs(costs, labels, 1, m, c, strategy=strategy, seed=step)
        i, j = pair[0]
        assert (i, j) not in _implied(truth.size, must, cannot)
        (must if truth[i] == truth[j] else cannot).append((i, j))
    raise AssertionError("the truth was not reached")


def test_no_shift_without_answers_or_for_answers_the_costs_already_agree_with():
    truth, C = _merged()
    assert not answer_shift(C, NONE, NONE).any()
    assert C[0, 12] < -1.0  # different classes, by more than a spread (about 1 here)
    assert not answer_shift(C, NONE, np.array([[0, 12]])).any()


def test_shift_is_symmetric_moves_the_groups_and_shares_repeated_answers():
    truth, C = _merged()
    one = answer_shift(C, NONE, np.array([[5, 6]]))  # 5 and 6: the medoids of classes 0 and 1
    assert np.array_equal(one, one.T) and not np.diag(one).any()
    # every pair across the two merged classes is pushed apart, by 0.29 on average; the soft groups
    # also reach the pairs within them (0.19, 0.16: each image is a little like both ends) and,
    # barely, class 2 (0.04)
    assert (one[np.ix_(range(6), range(6, 12))] < 0).all()
    assert one[:6, 6:12].mean() == pytest.approx(-0.2874928532262049, abs=1e-9)
    iu = np.triu_indices(6, 1)
    within = [one[k * 6 : (k + 1) * 6, k * 6 : (k + 1) * 6][iu].mean() for k in range(3)]
    assert within == pytest.approx(
        [-0.1937933565829919, -0.16272903852194784, -0.04467888540561009], abs=1e-9
    )
    assert one[5, 6] == pytest.approx(-0.8902619999746502, abs=1e-12)
    # the same answer twice: one shared fit (ridge), more than once but less than twice the shift
    two = answer_shift(C, NONE, np.array([[5, 6], [5, 6]]))
    assert two[5, 6] == pytest.approx(-1.1870159999662002, abs=1e-12)
    assert answer_shift(C, NONE, np.array([[5, 6]])).tobytes() == one.tobytes()  # deterministic


def test_answers_to_reach_the_planted_merged_classes():
    """Classes 0 and 1 merged: with the shift the active questions reach the truth after 5 answers
    (constraints only: 5), random questions after 5 (constraints only: 17). The first split question
    of the merged cluster (2, 4) is answered ``same``, so its split is retired by half
    (questions.RETIRE) and a question about the coherent class 2 (12, 14) comes before the second
    split (2, 6): two answers more than without the retiring (3)."""
    truth, C = _merged()
    assert solve(C, method="exact").labels.tolist() == [0] * 12 + [1] * 6
    got = {
        (strategy, propagate): _answers_to_truth(truth, C, strategy, propagate)[0]
        for strategy in ("active", "random")
        for propagate in (True, False)
    }
    assert got == {("active", True): 5, ("active", False): 5, ("random", True): 5, ("random", False): 17}
    steps, must, cannot = _answers_to_truth(truth, C, "active", True)
    assert (must, cannot) == ([(2, 4), (12, 14), (2, 3)], [(2, 6), (6, 12)])


def _weak_class(seed=0):
    """Classes 0 and 1 look alike (cross costs +0.5) and class 2 is coherent but weak (+0.15 inside):
    the shape of Test-30's failure in session 7 (split questions kept going to the weak class)."""
    rng = np.random.default_rng(seed)
    truth = np.repeat([0, 1, 2], 6)
    C = np.where(truth[:, None] == truth[None, :], 1.0, -1.0)
    C[12:, 12:] = 0.15
    C[:12, :12] = np.where(truth[:12, None] == truth[None, :12], 1.0, 0.5)
    C = np.triu(C + rng.normal(scale=0.3, size=C.shape), 1)
    return truth, C + C.T


def test_answered_cluster_is_retired_from_split_questions(monkeypatch):
    """With a split counting half and a cluster's split odds halved per ``same`` inside it, the
    active questions leave the weak class 2 after two ``same`` answers and reach the truth after 6
    answers; without (both factors 1), five ``same`` answers go to class 2 first: 9 answers."""
    import corrclust.questions as questions

    truth, C = _weak_class()
    assert solve(C, method="exact").labels.tolist() == [0] * 12 + [1, 1, 2, 2, 1, 1]
    steps, must, cannot = _answers_to_truth(truth, C, "active", True)
    assert (steps, must, cannot) == (6, [(12, 14), (12, 15), (2, 4)], [(2, 12), (2, 6), (2, 7)])
    monkeypatch.setattr(questions, "SPLIT_WEIGHT", 1.0)
    monkeypatch.setattr(questions, "RETIRE", 1.0)
    steps, must, cannot = _answers_to_truth(truth, C, "active", True)
    assert steps == 9 and must[:4] == [(12, 14), (12, 15), (12, 13), (12, 16)]


def test_answers_to_reach_the_planted_24_node_clustering():
    """The instance of test_feedback's active test (constraints only: 6 active, 47 random answers)."""
    truth, C = _planted(seed=1, n=24, k=3, noise=1.0)
    assert _answers_to_truth(truth, C, "active", True)[0] == 3
    assert _answers_to_truth(truth, C, "random", True)[0] == 10


def test_shift_checks_memory_before_allocating(monkeypatch):
    from corrclust import memory

    truth, C = _merged()
    monkeypatch.setattr(memory, "available_bytes", lambda: 1000)
    with pytest.raises(
        memory.InsufficientMemoryError,
        match=r"^the answers' cost shift of 18 images needs 5.1 KiB of memory and 1000 B is available$",
    ):
        answer_shift(C, NONE, np.array([[5, 6]]))
    assert not answer_shift(C, NONE, NONE).any()  # no answers: the zero shift, no check


def test_narrower_groups_push_the_answered_classes_apart_and_spare_the_bystanders():
    """The groups' width (session 14): at width 0.5 the ``different`` between the medoids of the
    two merged classes pushes their cross pairs further apart (mean -0.373 against -0.287 at the
    width 1) and the bystander class 2 less (its pairs with the merged classes -0.065 against
    -0.101); the answered pair itself is fitted to the same value at any width. Re-clustered
    exactly, the active questions then reach the truth after 3 answers instead of 5."""
    truth, C = _merged()
    wide = answer_shift(C, NONE, np.array([[5, 6]]))
    assert answer_shift(C, NONE, np.array([[5, 6]]), width=1.0).tobytes() == wide.tobytes()
    narrow = answer_shift(C, NONE, np.array([[5, 6]]), width=0.5)
    assert np.array_equal(narrow, narrow.T) and not np.diag(narrow).any()
    assert narrow[:6, 6:12].mean() == pytest.approx(-0.37260674789056725, abs=1e-9)
    assert wide[:6, 6:12].mean() == pytest.approx(-0.2874928532262049, abs=1e-9)
    assert narrow[:12, 12:].mean() == pytest.approx(-0.06546832831102228, abs=1e-9)
    assert wide[:12, 12:].mean() == pytest.approx(-0.10097636989583303, abs=1e-9)
    assert narrow[5, 6] == wide[5, 6] == pytest.approx(-0.8902619999746502, abs=1e-12)
    with pytest.raises(ValueError, match="width must be positive"):
        answer_shift(C, NONE, np.array([[5, 6]]), width=0.0)
    steps, must, cannot = _answers_to_truth(truth, C, "active", True, width=0.5)
    assert (steps, must, cannot) == (3, [(2, 4), (12, 14)], [(2, 6)])
    assert _answers_to_truth(truth, C, "active", True)[0] == 5


def test_the_width_follows_the_kind_of_correlations(tmp_path):
    """``cluster --feedback`` (and ``questions``, the review page: all through ``use_feedback``)
    spreads the answers with the groups' width of the correlations' kind: PQAP similarities get
    ``WIDTH["similarity"]``, probabilities (twin, profile, ssl routes) 1, bare costs 1."""
    from corrclust.feedback import append_answers
    from corrclust.pipeline import Correlations
    from corrclust.pipeline.answers import use_feedback
    from corrclust.propagation import WIDTH, group_width

    assert WIDTH == {"similarity": SIMILARITY_WIDTH, "probability": 1.0}
    assert [group_width(k) for k in ("similarity", "probability", None, "costs")] == [
        SIMILARITY_WIDTH,
        1.0,
        1.0,
        1.0,
    ]
    truth, C = _merged()
    ids = np.arange(100, 118, dtype=np.int64)
    path = tmp_path / "feedback.csv"
    append_answers(path, [(105, 106, "different"), (112, 114, "same")])
    must, cannot = np.array([[12, 14]]), np.array([[5, 6]])
    S = C / 4 + 0.64  # similarities whose costs at the threshold 0.64 are C / 4
    P = 1.0 / (1.0 + np.exp(-C))  # probabilities whose costs at the bias 0 are C
    np.fill_diagonal(P, 0.5)
    for corr, width in (
        (Correlations(ids, S, "similarity", 0.64), SIMILARITY_WIDTH),
        (Correlations(ids, P, "probability", 0.0, "mean"), 1.0),
    ):
        use = use_feedback(corr, path)
        costs = corr.problem().to_dense()
        assert use.propagated and use.must_link.tolist() == must.tolist()
        assert np.array_equal(use.corr.cost_shift, answer_shift(costs, must, cannot, width=width))
        if width != 1.0:
            assert not np.allclose(use.corr.cost_shift, answer_shift(costs, must, cannot))
