"""Parameter learning by simulated annealing (paper-model.md §6), on a tiny budget."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require_shared

from corrclust.pqap import PqapParameters, read_keypoints, read_matching_results
from corrclust.pqap.learn import F1_THRESHOLDS, evaluate_parameters, learn_parameters, truth_labels

TEST30 = "data/paper-keypoints/feature_vectors/feature_vectors_organoid_dataset_unseen_classes_6_2_17_34.csv"
TRUTH30 = "data/paper-keypoints/clustering_results/clustering_only_unseen_classes_optimal.csv"
MATCHING = "data/paper-keypoints/matching_results/matching_results_organoid_dataset_unseen_classes.csv"
IDS = [1100, 1102, 1200, 1201, 1300, 1302]  # no platform-dependent pair (F7)


@pytest.fixture(scope="module")
def kp():
    return read_keypoints(require_shared(TEST30))


def test_thresholds_are_the_paper_grid():
    assert F1_THRESHOLDS.size == 101 and F1_THRESHOLDS[0] == 0.0 and F1_THRESHOLDS[-1] == 1.0
    assert F1_THRESHOLDS[64] == 0.64


def test_truth_labels_forms(kp):
    path = require_shared(TRUTH30)
    from_file = truth_labels(path, IDS)
    assert from_file.tolist() == [0, 0, 1, 1, 2, 2]
    assert truth_labels({i: i // 100 for i in IDS}, IDS).tolist() == [0, 0, 1, 1, 2, 2]
    assert truth_labels([[1100, 1102, 1109], [1200, 1201], [1300, 1302]], IDS).tolist() == [0, 0, 1, 1, 2, 2]
    with pytest.raises(ValueError, match="no class"):
        truth_labels({1100: 0}, IDS)


def test_evaluation_reproduces_stored_f1(kp):
    # The F1 of the paper's learned parameters on the reference solver equals the F1 sweep of the
    # stored matrix (F14: 0.660436 at t = 0.66) up to the four platform pairs.
    ev = evaluate_parameters(kp, require_shared(TRUTH30), PqapParameters.paper(), ids=IDS)
    m = read_matching_results(require_shared(MATCHING))
    pos = [m.ids.index(i) for i in IDS]
    stored = m.quadratic_matching[np.ix_(pos, pos)]
    off = ~np.eye(len(IDS), dtype=bool)
    assert np.abs(ev.similarity[off] - stored[off]).max() <= 5e-7
    from corrclust.metrics import pairwise_f1_sweep

    sweep = pairwise_f1_sweep(stored, [i // 100 for i in IDS], F1_THRESHOLDS)
    assert ev.f1 == sweep.best_f1 and ev.f1_threshold == sweep.best_threshold


def test_annealing_is_seeded_and_never_worse(kp):
    truth = {i: i // 100 for i in kp.ids}
    kw = dict(organoids=IDS[:4], iterations=2, time_budget=None, progress=False, threads=2)
    a = learn_parameters(kp, truth, seed=5, **kw)
    b = learn_parameters(kp, truth, seed=5, **kw)
    assert a.params == b.params and a.f1 == b.f1 and a.threshold == b.threshold
    assert [h["params"] for h in a.history] == [h["params"] for h in b.history]
    assert a.iterations == 2 and a.f1 >= a.start.f1
    assert a.start.params == PqapParameters.initial()
    for h in a.history:  # proposals respect the clamping bounds
        p = h["params"]
        assert all(0.01 <= v <= 0.30 for v in p[:3]) and all(0.10 <= v <= 0.90 for v in p[3:])
    c = learn_parameters(kp, truth, seed=6, **kw)
    assert [h["params"] for h in c.history] != [h["params"] for h in a.history]


def test_vi_objective(kp):
    truth = {i: i // 100 for i in kp.ids}
    r = learn_parameters(
        kp, truth, objective="vi", organoids=IDS[:4], iterations=1, time_budget=None, progress=False, seed=1
    )
    assert r.vi is not None and r.vi <= r.start.vi
    assert 0.40 <= r.threshold <= 0.90
    assert r.vi >= 0.0


def test_improved_mode_learns_with_its_own_similarities(kp):
    # Learning for the improved mode scores every vector with the improved mode's similarities
    # (on the paper's organoids they equal the reference ones: the reversed matching never wins).
    from corrclust.pqap import similarity_matrix

    truth = {i: i // 100 for i in kp.ids}
    ids = IDS[:4]
    r = learn_parameters(
        kp,
        truth,
        objective="vi",
        organoids=ids,
        iterations=2,
        time_budget=None,
        progress=False,
        seed=3,
        mode="improved",
        start=PqapParameters.paper(),
        threads=2,
    )
    off = ~np.eye(len(ids), dtype=bool)
    for ev in (r.start, r.best):
        _, improved = similarity_matrix(kp, ev.params, mode="improved", ids=ids, progress=False)
        _, reference = similarity_matrix(kp, ev.params, mode="reference", ids=ids, progress=False)
        np.testing.assert_array_equal(ev.similarity[off], improved[off])
        assert (improved[off] >= reference[off]).all()
    assert r.best.params == r.params and r.vi == r.best.vi <= r.start.vi


def test_bad_arguments(kp):
    with pytest.raises(ValueError, match="objective must be"):
        learn_parameters(kp, dict.fromkeys(kp.ids, 0), objective="acc")
    with pytest.raises(ValueError, match="iterations must be"):
        learn_parameters(kp, dict.fromkeys(kp.ids, 0), iterations=-1)


class _FakeClock:
    """time.monotonic for learn.py in which every all-pairs evaluation takes 10 s."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


def _ten_second_evaluations(monkeypatch) -> _FakeClock:
    import corrclust.pqap.learn as learn_module

    clock = _FakeClock()
    monkeypatch.setattr(learn_module, "time", clock)
    real_call = learn_module._Evaluator.__call__

    def slow_call(self, params):
        clock.now += 10.0
        return real_call(self, params)

    monkeypatch.setattr(learn_module._Evaluator, "__call__", slow_call)
    return clock


def test_time_budget_is_not_overrun_by_a_step(kp, monkeypatch):
    # Start at 0, every evaluation 10 s, budget 35: the start and two steps end at 30; a third
    # step would end at 40, so it is not started (checking only between steps ran it).
    clock = _ten_second_evaluations(monkeypatch)
    truth = {i: i // 100 for i in kp.ids}
    r = learn_parameters(kp, truth, organoids=IDS[:4], iterations=50, time_budget=35, progress=False, seed=2)
    assert r.evaluations == 3 and r.iterations == 2
    assert clock.now == 30.0 and r.elapsed == 30.0


@pytest.mark.parametrize(
    "budget, why",
    [
        ("5", "the start parameters' evaluation alone took 10 s, so no step was run"),
        # the start fits, the first step (ending at 20 s) does not: nothing was said (audit qa15)
        (
            "15",
            "the start parameters' evaluation took 10 s and a step takes about as long, so no step was run",
        ),
    ],
)
def test_cli_says_when_the_budget_is_shorter_than_one_evaluation(
    budget, why, kp, monkeypatch, tmp_path, capsys
):
    from corrclust.cli import main

    _ten_second_evaluations(monkeypatch)
    truth = tmp_path / "truth.csv"
    by_class: dict[int, list[int]] = {}
    for i in kp.ids:
        by_class.setdefault(i // 100, []).append(i)
    truth.write_text("".join(",".join(map(str, c)) + "\n" for c in by_class.values()))
    out = tmp_path / "p.txt"
    rc = main(
        [
            "pqap",
            "learn",
            str(require_shared(TEST30)),
            "--truth",
            str(truth),
            "--time-budget",
            budget,
            "--iterations",
            "10",
            "--per-class",
            "2",
            "-o",
            str(out),
            "--no-progress",
        ]
    )
    assert rc == 0 and out.is_file()
    err = capsys.readouterr().err
    assert f"warning: --time-budget {budget}: {why} and {out} holds the start parameters; give a" in err


def test_triples_objective(kp):
    # "triples" scores a vector by learn_threshold's rule (mean KL VI over the class triples, mean
    # recipe) and breaks ties by the pairwise AUC of the mean recipe; both recomputed here.
    from corrclust.pqap.learn import TRIPLES_AUC_WEIGHT, VI_THRESHOLDS, pair_auc
    from corrclust.pqap.recipe import learn_threshold

    truth = {i: i // 100 for i in kp.ids}
    r = learn_parameters(
        kp,
        truth,
        objective="triples",
        organoids=IDS,
        iterations=1,
        time_budget=None,
        progress=False,
        seed=2,
        start=PqapParameters.paper(),
        mode="improved",
        threads=2,
    )
    labels = np.array([i // 100 for i in IDS])
    for ev in (r.start, r.best):
        t, vi = learn_threshold(ev.similarity, labels, VI_THRESHOLDS, "mean")
        assert (ev.triples_threshold, ev.triples_vi) == (t, vi)
        assert ev.metric("triples") == -vi + TRIPLES_AUC_WEIGHT * ev.auc
    assert r.vi == r.best.triples_vi <= r.start.triples_vi and r.threshold == r.best.triples_threshold
    # brute-force AUC: the share of (same, different) pair couples ordered right, ties half
    S = r.start.similarity
    z = {(a, b): (S[a, b] + S[b, a]) / 2 for a in range(6) for b in range(a + 1, 6)}
    same = [v for (a, b), v in z.items() if labels[a] == labels[b]]
    diff = [v for (a, b), v in z.items() if labels[a] != labels[b]]
    want = np.mean([1.0 if p > q else 0.5 if p == q else 0.0 for p in same for q in diff])
    assert r.start.auc == pytest.approx(want, abs=1e-12)
    assert pair_auc(np.array([[0, 1, 0.2], [1, 0, 0.3], [0.2, 0.3, 0]]), np.array([0, 0, 1])) == 1.0
