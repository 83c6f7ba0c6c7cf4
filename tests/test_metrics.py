"""Metrics against hand-computed values, brute force over pairs, and the paper fixtures F8, F9, F14."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from test_problem import load_test30_similarities

from corrclust import metrics
from corrclust.formats.clusterings import labels_from_clusters, read_clustering

TEST30_IDS = [c * 100 + i for c in (11, 12, 13) for i in range(10)]
TEST30_TRUTH = [i // 100 for i in TEST30_IDS]
# F9: the exact / GAEC partition of the Test-30 PQAP problem at t = 0.64.
F9_PRED = [0 if (i // 100 in (11, 13) and i != 1305) else (1 if i // 100 == 12 else 2) for i in TEST30_IDS]


def brute_force_pairs(truth, pred):
    tj = fj = fc = tc = 0
    for i, j in itertools.combinations(range(len(truth)), 2):
        same_t, same_p = truth[i] == truth[j], pred[i] == pred[j]
        tj += same_t and same_p
        fj += (not same_t) and same_p
        fc += same_t and not same_p
        tc += (not same_t) and not same_p
    return tj, fj, fc, tc


def brute_force_vi(truth, pred):
    n = len(truth)

    def h(labels):
        _, counts = np.unique(labels, return_counts=True)
        q = counts / n
        return -(q * np.log2(q)).sum()

    joint = [f"{a}|{b}" for a, b in zip(truth, pred, strict=False)]
    h_t, h_p, h_tp = h(truth), h(pred), h(joint)
    return h_tp - h_p, h_tp - h_t  # H(T|P) = false joins, H(P|T) = false cuts


def test_f8_one_cluster_test30():
    out = metrics.compare(TEST30_TRUTH, [0] * 30)
    assert out["vi"] == pytest.approx(math.log2(3), abs=1e-12)
    assert out["false_joins"] == pytest.approx(math.log2(3), abs=1e-12)
    assert out["false_cuts"] == 0.0 and math.copysign(1.0, out["false_cuts"]) == 1.0  # no -0.0
    assert out["rand_index"] == pytest.approx(135 / 435)
    assert out["precision_cuts"] == 1.0  # 0/0 guarded to 1
    assert out["recall_cuts"] == 0.0
    assert out["f1_cuts"] == 0.0  # P = 1, R = 0 -> F1 = 0
    assert out["precision_joins"] == pytest.approx(0.3103, abs=5e-5)
    assert out["recall_joins"] == 1.0
    assert out["n_clusters_true"] == 3 and out["n_clusters_pred"] == 1


def test_f8_ten_by_ten_all_in_one():
    vi, fc, fj = metrics.variation_of_information([i // 10 for i in range(100)], np.zeros(100, int))
    assert vi == pytest.approx(math.log2(10), abs=1e-12)
    assert fc == 0.0 and fj == pytest.approx(3.3219281, abs=1e-7)


def test_f9_partition_metrics():
    out = metrics.compare(TEST30_TRUTH, F9_PRED)
    assert out["vi"] == pytest.approx(0.7884, abs=5e-5)
    assert out["false_cuts"] == pytest.approx(0.156, abs=5e-4)
    assert out["false_joins"] == pytest.approx(0.632, abs=5e-4)
    assert out["rand_index"] == pytest.approx(0.7724, abs=5e-5)
    assert out["precision_cuts"] == pytest.approx(0.959, abs=5e-4)
    assert out["recall_cuts"] == pytest.approx(0.700, abs=5e-4)
    assert out["precision_joins"] == pytest.approx(0.583, abs=5e-4)
    assert out["recall_joins"] == pytest.approx(0.933, abs=5e-4)
    assert out["pairs_total"] == 435
    assert (
        out["pairs_true_joins"],
        out["pairs_false_joins"],
        out["pairs_false_cuts"],
        out["pairs_true_cuts"],
    ) == (brute_force_pairs(TEST30_TRUTH, F9_PRED))


def test_identical_partitions_are_perfect():
    truth = ["a", "a", "b", "c", "c", "c"]
    out = metrics.compare(truth, [7, 7, 1, 2, 2, 2])
    assert out["vi"] == 0.0 and out["rand_index"] == 1.0
    for key in ("precision_cuts", "recall_cuts", "f1_cuts", "precision_joins", "recall_joins", "f1_joins"):
        assert out[key] == 1.0


def test_all_singletons_against_all_singletons_guards_zero_denominators():
    out = metrics.compare([1, 2, 3], [3, 2, 1])
    # No pair is joined anywhere: PJ = 0/0 and RJ = 0/0 are 1, so F1 of joins is 1.
    assert out["precision_joins"] == 1.0 and out["recall_joins"] == 1.0 and out["f1_joins"] == 1.0
    assert out["vi"] == 0.0


def test_single_element():
    out = metrics.compare(["x"], ["y"])
    assert out["pairs_total"] == 0 and out["rand_index"] == 1.0 and out["vi"] == 0.0


@pytest.mark.parametrize("seed", range(6))
def test_random_labelings_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 40))
    truth = rng.integers(0, rng.integers(1, 6), size=n)
    pred = rng.integers(0, rng.integers(1, 8), size=n)
    out = metrics.compare(truth, pred)
    tj, fj, fc, tc = brute_force_pairs(truth.tolist(), pred.tolist())
    assert (
        out["pairs_true_joins"],
        out["pairs_false_joins"],
        out["pairs_false_cuts"],
        out["pairs_true_cuts"],
    ) == (tj, fj, fc, tc)
    fj_bits, fc_bits = brute_force_vi(truth, pred)
    assert out["false_joins"] == pytest.approx(max(fj_bits, 0), abs=1e-12)
    assert out["false_cuts"] == pytest.approx(max(fc_bits, 0), abs=1e-12)
    from sklearn.metrics import rand_score

    assert out["rand_index"] == pytest.approx(rand_score(truth, pred))
    # VI is symmetric and its parts swap when truth and prediction swap.
    swapped = metrics.compare(pred, truth)
    assert swapped["vi"] == pytest.approx(out["vi"])
    assert swapped["false_cuts"] == pytest.approx(out["false_joins"])


def test_contingency_table_counts_and_label_types():
    table = metrics.contingency_table(["b", "a", "a", "c"], [2, 2, 5, 5])
    # rows a, b, c; columns 2, 5
    np.testing.assert_array_equal(table, [[1, 1], [1, 0], [0, 1]])
    sparse = metrics.contingency_table(["b", "a", "a", "c"], [2, 2, 5, 5], sparse=True)
    np.testing.assert_array_equal(sparse.toarray(), table)
    # Mixed hashable ids that cannot be sorted still work.
    out = metrics.compare([1, "one", 1, (2,)], ["x", "y", "x", "z"])
    assert out["vi"] == 0.0


def test_large_many_singletons_is_linear():
    # 200 000 singletons each side: a dense contingency table would have 4e10 cells.
    n = 200_000
    out = metrics.compare(np.arange(n), np.arange(n)[::-1])
    assert out["vi"] == 0.0 and out["pairs_true_cuts"] == n * (n - 1) // 2


@pytest.mark.parametrize(
    "truth, pred, match",
    [
        ([0, 1], [0, 1, 2], "different lengths"),
        ([], [], "empty"),
        ([[0, 1]], [[0, 1]], "1-D"),
        ([0.0, np.nan], [0, 1], "NaN"),
        ([[0], {1}], [0, 1], "1-D|unhashable"),
    ],
)
def test_bad_inputs(truth, pred, match):
    with pytest.raises(ValueError, match=match):
        metrics.compare(truth, pred)


def test_f9_truth_from_the_shared_clustering_file(paper_keypoints_dir):
    clusters = read_clustering(
        paper_keypoints_dir / "clustering_results/clustering_only_unseen_classes_optimal.csv"
    )
    truth = labels_from_clusters(clusters, TEST30_IDS)
    assert metrics.compare(truth, F9_PRED)["vi"] == pytest.approx(0.7884, abs=5e-5)


def test_f14_pairwise_f1_sweep():
    ids, sim = load_test30_similarities()
    truth = [i // 100 for i in ids]
    thresholds = np.round(np.arange(101) * 0.01, 2)
    sweep = metrics.pairwise_f1_sweep(sim, truth, thresholds)
    assert sweep.best_f1 == pytest.approx(0.660436, abs=5e-7)
    assert sweep.best_threshold == pytest.approx(0.66)
    # Cross-check one threshold by brute force over the pairs.
    k = 64
    t = thresholds[k]
    tp = fp = fn = 0
    for i, j in itertools.combinations(range(len(ids)), 2):
        joined = min(sim[i, j], sim[j, i]) - t >= 0
        same = truth[i] == truth[j]
        tp += joined and same
        fp += joined and not same
        fn += (not joined) and same
    assert sweep.f1[k] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    # t = 0 joins everything: precision 135/435, recall 1.
    assert sweep.f1[0] == pytest.approx(2 * 135 / (2 * 135 + 300))


def test_pairwise_f1_sweep_validates():
    with pytest.raises(ValueError, match="square"):
        metrics.pairwise_f1_sweep(np.zeros((2, 3)), [0, 1], [0.5])
    with pytest.raises(ValueError, match="labels"):
        metrics.pairwise_f1_sweep(np.zeros((3, 3)), [0, 1], [0.5])
    with pytest.raises(ValueError, match="not finite"):
        metrics.pairwise_f1_sweep(np.array([[0, np.nan], [0.2, 0]]), [0, 1], [0.5])
    with pytest.raises(ValueError, match="thresholds"):
        metrics.pairwise_f1_sweep(np.zeros((2, 2)), [0, 1], [])


def test_rounding_baseline_counts_edges_without_transitivity():
    # 0-1 attract, 1-2 attract, 0-2 repel: not a partition, counted edge by edge.
    costs = np.array([[0, 1.0, -1.0], [1.0, 0, 2.0], [-1.0, 2.0, 0]])
    out = metrics.rounding_baseline(costs, ["a", "a", "b"])
    assert (
        out["pairs_true_joins"],
        out["pairs_false_joins"],
        out["pairs_false_cuts"],
        out["pairs_true_cuts"],
    ) == (1, 1, 0, 1)
    assert out["precision_joins"] == 0.5 and out["recall_joins"] == 1.0


def test_pairwise_auc_equals_sklearn_with_ties_and_string_labels():
    # the one rank-sum AUC of the package (PQAP's "triples" learning and the twin's training check)
    from sklearn.metrics import roc_auc_score

    from corrclust.metrics import pairwise_auc

    rng = np.random.default_rng(3)
    n = 23
    S = np.round(rng.random((n, n)), 1)  # coarse values: many ties
    truth = np.array(list("abcab") * 4 + ["c", "a", "b"])
    iu, ju = np.triu_indices(n, 1)
    same = truth[iu] == truth[ju]
    for how, sym in (("mean", (S + S.T) / 2), ("min", np.minimum(S, S.T))):
        want = roc_auc_score(same, sym[iu, ju])
        assert pairwise_auc(S, truth, symmetrize=how) == pytest.approx(want, abs=1e-12)
    assert np.isnan(pairwise_auc(S[:3, :3], ["x", "x", "x"]))  # no different-class pair
    with pytest.raises(ValueError, match="truth has 2 labels"):
        pairwise_auc(S[:3, :3], ["x", "y"])
