"""The feedback file, calibration from answers, question selection and cluster --feedback."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from corrclust.calibration import cost_scale, fit_offset, shifted_parameter
from corrclust.cli import main
from corrclust.feedback import HEADER, append_answers, read_feedback
from corrclust.questions import select_pairs

MATCHING = "data/paper-keypoints/matching_results/matching_results_organoid_dataset_unseen_classes.csv"
TRUTH30 = "data/paper-keypoints/clustering_results/clustering_only_unseen_classes_optimal.csv"


# ------------------------------------------------------------------ the file
def test_read_feedback_last_answer_counts_and_unsure_withdraws(tmp_path):
    f = tmp_path / "feedback.csv"
    f.write_text(
        "a,b,answer,time,source\n"
        "1,2,same,2026-01-01T00:00:00Z,review\n"
        "\n# a comment\n"
        "3,1,different\n"
        "2,1,different,,\n"  # changes the mind about (1, 2)
        "4,5,same\n"
        "5,4,unsure\n"  # withdraws (4, 5)
        "1,99,same\n"
    )  # 99 is not in the set: skipped and counted
    fb = read_feedback(f, ids=[1, 2, 3, 4, 5])
    assert len(fb) == 5 and fb.skipped == 1 and fb.skipped_ids == [99]
    assert fb.answers[0].source == "review" and fb.answers[0].line == 2
    latest = fb.latest()
    assert {k: v.answer for k, v in latest.items()} == {(1, 2): "different", (1, 3): "different"}
    must, cannot = fb.pairs([5, 4, 3, 2, 1])  # index pairs into this order
    assert must.shape == (0, 2)
    assert sorted(map(tuple, cannot.tolist())) == [(4, 2), (4, 3)]


@pytest.mark.parametrize(
    "text,message",
    [
        ("a,b\n1,2\n", ":1: the first line must be the header"),
        ("a,b,answer\n1,2\n", ":2: expected a,b,answer"),
        ("a,b,answer\n1,x,same\n", ":2: b 'x' is not an integer image id"),
        ("a,b,answer\n1,2,same\n1,2,yes\n", ":3: answer 'yes' is not one of same, different, unsure"),
        ("a,b,answer\n3,3,same\n", ":2: a pair needs two different ids"),
        ("a,b,answer,time,source\n1,2,same,t,s,extra\n", ":2: expected a,b,answer"),
    ],
)
def test_malformed_lines_are_one_line_errors_naming_the_line(tmp_path, text, message):
    f = tmp_path / "fb.csv"
    f.write_text(text)
    with pytest.raises(ValueError) as exc:
        read_feedback(f)
    assert str(exc.value).startswith(str(f)) and message in str(exc.value)
    assert "\n" not in str(exc.value)


def test_append_writes_header_once_and_completes_a_hand_written_last_line(tmp_path):
    f = tmp_path / "feedback.csv"
    assert append_answers(f, [(1, 2, "same")], source="test") == 1
    text = f.read_text()
    assert text.splitlines()[0] == ",".join(HEADER)
    assert text.splitlines()[1].startswith("1,2,same,") and text.endswith(",test\n")
    f.write_text(text + "3,4,different")  # no final newline, as an editor may leave it
    append_answers(f, [(5, 6, "unsure", "t0", "hand")])
    assert f.read_text().splitlines()[-2:] == ["3,4,different", "5,6,unsure,t0,hand"]
    with pytest.raises(ValueError, match="not one of"):
        append_answers(f, [(7, 8, "same"), (7, 9, "perhaps")])
    assert "7,8" not in f.read_text()  # a bad batch writes nothing


def test_concurrent_appends_lose_and_interleave_nothing(tmp_path):
    f = tmp_path / "feedback.csv"
    threads = [
        threading.Thread(
            target=lambda t=t: [
                append_answers(f, [(t, 1000 + i, "same", "x" * 200, f"tab{t}")]) for i in range(50)
            ]
        )
        for t in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = f.read_text().splitlines()
    assert lines[0] == ",".join(HEADER) and lines.count(",".join(HEADER)) == 1
    assert len(lines) == 1 + 8 * 50
    fb = read_feedback(f)
    assert sorted((a.a, a.b) for a in fb.answers) == sorted(
        (t, 1000 + i) for t in range(8) for i in range(50)
    )
    assert all(a.source == f"tab{a.a}" and a.time == "x" * 200 for a in fb.answers)


# ------------------------------------------------------------------ calibration
def test_fit_offset_stays_at_default_without_answers_and_moves_with_them():
    assert fit_offset(np.zeros(0), np.zeros(0, bool), 1.0) == 0.0
    # balanced answers around 0: the maximum a-posteriori shift is 0 by symmetry
    assert fit_offset(np.array([-1.0, 1.0]), np.array([False, True]), 1.0) == pytest.approx(0.0, abs=1e-6)
    # answers say "same" for pairs of cost -1: the costs move up, by less than the evidence alone asks
    d1 = fit_offset(np.array([-1.0]), np.array([True]), 1.0)
    d10 = fit_offset(np.full(10, -1.0), np.ones(10, bool), 1.0)
    assert 0 < d1 < d10
    # stationarity of the posterior: sum y*sigmoid(-y(c+d)) = d (for s = 1)
    c, y = np.full(10, -1.0), 1.0
    assert float((y / (1 + np.exp(y * (c + d10)))).sum()) == pytest.approx(d10, abs=1e-6)
    assert shifted_parameter("similarity", 0.64, 0.1) == pytest.approx(0.54)
    assert shifted_parameter("probability", 0.0, 0.1) == pytest.approx(0.1)
    assert cost_scale(np.array([0.0, 1.0, 2.0, 3.0, 4.0])) == pytest.approx(1.4826)


# ------------------------------------------------------------------ questions
def _planted(seed=0, n=24, k=3, noise=0.6):
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(k), n // k)
    C = np.where(truth[:, None] == truth[None, :], 0.5, -0.5) + rng.normal(scale=noise, size=(n, n))
    C = np.triu(C, 1)
    return truth, C + C.T


@pytest.mark.parametrize("strategy", ["active", "committee", "uncertain", "random"])
def test_questions_never_ask_implied_pairs(strategy):
    truth, C = _planted()
    must = np.array([[0, 1], [1, 2]])
    cannot = np.array([[0, 10]])
    import corrclust

    labels = corrclust.solve(C, must_link=must, cannot_link=cannot).labels
    pairs = select_pairs(C, labels, 30, must, cannot, strategy=strategy, seed=3)
    assert len(pairs) == 30 and len(set(pairs)) == 30
    implied = {(0, 1), (1, 2), (0, 2), (0, 10), (1, 10), (2, 10)}
    assert not implied & {tuple(sorted(p)) for p in pairs}
    assert select_pairs(C, labels, 30, must, cannot, strategy=strategy, seed=3) == pairs  # seeded
    with pytest.raises(ValueError, match="strategy"):
        select_pairs(C, labels, 1, strategy="best")


def _implied(n, must, cannot):
    """Pairs implied by the answers, by brute force: transitive closure of the must-links, and every
    pair between two must-link groups that a cannot-link separates."""
    group = list(range(n))
    changed = True
    while changed:  # relabel until every must-link pair shares the smallest label of its group
        changed = False
        for a, b in must:
            lo = min(group[a], group[b])
            for x in (a, b):
                if group[x] != lo:
                    group = [lo if g == group[x] else g for g in group]
                    changed = True
    out = set()
    for i in range(n):
        for j in range(i + 1, n):
            if group[i] == group[j] or any({group[i], group[j]} == {group[a], group[b]} for a, b in cannot):
                out.add((i, j))
    return out


def test_active_questions_reach_the_planted_clustering_and_never_repeat_themselves():
    """One question at a time, answered from the planted classes, re-clustered exactly: the active
    rule reaches the planted clustering after exactly 3 answers (6 before the split weight and the
    retiring of answered clusters; random questions: 47), asks
    no pair whose answer is implied, and asks the same pairs for the same seed."""
    from corrclust.metrics import compare
    from corrclust.solve import solve

    truth, C = _planted(seed=1, n=24, k=3, noise=1.0)
    steps = {}
    for strategy in ("active", "random"):
        must, cannot = [], []
        for step in range(60):
            m = np.array(must, np.int64).reshape(-1, 2)
            c = np.array(cannot, np.int64).reshape(-1, 2)
            labels = solve(
                C, method="exact", must_link=m if m.size else None, cannot_link=c if c.size else None
            ).labels
            if compare(truth, labels)["vi"] == 0:
                break
            pair = select_pairs(C, labels, 1, m, c, strategy=strategy, seed=step)
            assert pair == select_pairs(C, labels, 1, m, c, strategy=strategy, seed=step)
            i, j = pair[0]
            assert i < j and (i, j) not in _implied(24, must, cannot)
            (must if truth[i] == truth[j] else cannot).append((i, j))
        steps[strategy] = step
    assert steps == {"active": 3, "random": 47}


def test_active_batch_asks_each_candidate_once():
    """A batch of the active rule on two planted clusters of 6: the split of the first cluster, the
    merge, the split of the second (scores 0.900, 0.653, 0.566: a split counts half,
    questions.SPLIT_WEIGHT); the merge is asked about the next most typical image of the first
    cluster (0) because its medoid 5 is already in the batch, and the second split about 8 and 11
    because the medoid 7 is; then the least certain open pairs fill it. All in one cluster, the
    first question is the split into the two planted classes."""
    from corrclust.calibration import cost_scale
    from corrclust.questions import _candidates

    truth, C = _planted(seed=0, n=12, k=2)
    assert [int(i) for i in np.argsort(-C[:6, :6].sum(1))][0] == 5
    assert 6 + [int(i) for i in np.argsort(-C[6:, 6:].sum(1))][0] == 7
    scale = cost_scale(C[np.triu_indices(12, 1)])
    cands = _candidates(C, truth.copy(), np.arange(12), set(), scale)
    assert [round(c[0], 9) for c in cands] == [0.652784736, 0.899630097, 0.566212483]
    assert [c[2].tolist() for c in cands] == [list(range(6, 12)), [1], [8]]
    pairs = select_pairs(C, truth.copy(), 12, strategy="active", seed=0)
    assert pairs[:3] == [(1, 5), (0, 7), (8, 11)]
    assert len(pairs) == 12 and len(set(pairs)) == 12
    assert select_pairs(C, truth.copy(), 12, strategy="active", seed=5) == pairs  # no ties here
    (i, j), *_ = select_pairs(C, np.zeros(12, dtype=int), 1, strategy="active")
    assert truth[i] != truth[j]


def test_split_score_exact_values():
    """A split's score: half its pairs (SPLIT_WEIGHT) times the chance of a ``different``, whose
    odds are halved by every ``same`` already inside the cluster (RETIRE): p(same) = 0.8, 5 x 5
    pairs: 0.5 * 25 * 0.2 = 2.5; one same inside: odds 0.2/0.8 -> 0.1/0.8, chance 1/9, 12.5/9;
    two: 0.05/0.85."""
    from corrclust.questions import RETIRE, SPLIT_WEIGHT, _split_change

    assert (SPLIT_WEIGHT, RETIRE) == (0.5, 0.5)
    assert _split_change(0.8, 25.0, 0) == pytest.approx(2.5, abs=1e-12)
    assert _split_change(0.8, 25.0, 1) == pytest.approx(12.5 / 9, abs=1e-12)
    assert _split_change(0.8, 25.0, 2) == pytest.approx(12.5 * 0.05 / 0.85, abs=1e-12)
    assert _split_change(1.0, 25.0, 0) == 0.0


def test_no_question_left_when_everything_is_answered():
    C = np.array([[0, 1.0, -1.0], [1.0, 0, -1.0], [-1.0, -1.0, 0]])
    assert select_pairs(C, np.array([0, 0, 1]), 5, np.array([[0, 1]]), np.array([[0, 2]])) == []


# ------------------------------------------------------------------ cluster --feedback (matrix mode)
def test_cluster_feedback_matrix_mode(tmp_path, capsys):
    from conftest import require_shared

    m = require_shared(MATCHING)
    truth = require_shared(TRUTH30)
    fb = tmp_path / "feedback.csv"
    fb.write_text("a,b,answer\n1300,1305,same\n1100,1300,different\n1100,4242,same\n")
    assert (
        main(
            [
                "cluster",
                "--similarities",
                str(m),
                "--method",
                "exact",
                "--feedback",
                str(fb),
                "--no-feedback-propagate",  # the answers as constraints only: the optimum under them
                "--truth",
                str(truth),
                "--json",
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert "1 answer(s) naming ids not in the matrix skipped" in captured.err
    assert out["feedback"] == {"same": 1, "different": 1, "skipped": 1}
    assert out["status"] == "optimal" and out["objective"] == pytest.approx(-11.837199, abs=1e-6)
    assert [1300, 1305] in out["clusters"]
    # contradictory answers: one line naming the pairs, exit code 2
    fb.write_text("a,b,answer\n1300,1305,same\n1305,1100,same\n1100,1300,different\n")
    assert main(["cluster", "--similarities", str(m), "--feedback", str(fb)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "cannot-link (1100, 1300)" in err and "(1100, 1305) + (1305, 1300)" in err
    assert main(["cluster", "--similarities", str(m), "--feedback-calibrate"]) == 2
    assert "--feedback-calibrate needs --feedback" in capsys.readouterr().err


@pytest.mark.parametrize(("method", "n"), [("kl", 30), ("exact", 15)])
def test_answers_written_to_the_file_are_never_contradicted_by_the_re_clustering(tmp_path, method, n):
    """The loop of the review page on a noisy planted instance (n images, 3 classes): ask one
    active question, append the simulated expert's answer to a feedback file, re-cluster as
    ``cluster --feedback`` does (``use_feedback``: answers spread to the pairs they imply, then
    solved under the answers as constraints). After every one of 12 answers every ``same`` pair
    shares a cluster and every ``different`` pair is apart, the next question is never one the
    answers imply, and the same seed gives the same questions."""
    from corrclust.constraints import violations
    from corrclust.pipeline import Correlations
    from corrclust.pipeline.answers import use_feedback
    from corrclust.solve import solve

    truth, C = _planted(seed=4, n=n, k=3, noise=1.5)
    P = 1.0 / (1.0 + np.exp(-C))  # a probability matrix whose costs (bias 0) are C
    np.fill_diagonal(P, 0.5)
    corr = Correlations(np.arange(100, 100 + n, dtype=np.int64), P, "probability", 0.0, "mean")
    runs = []
    for _ in range(2):
        path = tmp_path / f"feedback-{len(runs)}.csv"
        asked = []
        labels = solve(corr.problem(), method=method).labels
        must = cannot = np.zeros((0, 2), np.int64)
        costs = corr.problem().to_dense()
        for step in range(12):
            pair = select_pairs(costs, labels, 1, must, cannot, seed=step)
            (i, j), *_ = pair
            assert (i, j) not in _implied(n, must.tolist(), cannot.tolist())
            asked.append((i, j))
            answer = "same" if truth[i] == truth[j] else "different"
            append_answers(path, [(100 + i, 100 + j, answer)])
            use = use_feedback(corr, path)
            must, cannot = use.must_link, use.cannot_link
            problem = use.corr.problem()
            costs = problem.to_dense()
            labels = solve(
                problem,
                method=method,
                must_link=must if must.size else None,
                cannot_link=cannot if cannot.size else None,
            ).labels
            assert use.propagated and len(must) + len(cannot) == step + 1
            assert violations(labels, must, cannot) == []
            assert all(labels[a] == labels[b] for a, b in must)
            assert all(labels[a] != labels[b] for a, b in cannot)
        assert len(must) and len(cannot)  # both kinds of answer were given
        runs.append(asked)
    assert runs[0] == runs[1]
