"""``corrclust evaluate``: compare a predicted clustering with the truth.

    corrclust evaluate PRED TRUTH [--json]

Both files are clustering CSVs in the paper's format (one cluster of comma-separated ids per line,
optional ``key:value`` metadata lines). Both must cover the same ids. Prints the paper-style table
(VI and its parts in bits, the pair ratios in %) or, with ``--json``, one JSON object holding every
metric of ``corrclust.metrics.compare``.
"""

from __future__ import annotations

import argparse
import json
import sys

from corrclust.cli import CliError

# (key, label, unit) in the order of the paper's table.
_ROWS = (
    ("rand_index", "RI   Rand index", "%"),
    ("vi", "VI   variation of information", "bits"),
    ("false_cuts", "VI_FC false cuts", "bits"),
    ("false_joins", "VI_FJ false joins", "bits"),
    ("precision_cuts", "PC   precision of cuts", "%"),
    ("recall_cuts", "RC   recall of cuts", "%"),
    ("f1_cuts", "F1C  F1 of cuts", "%"),
    ("precision_joins", "PJ   precision of joins", "%"),
    ("recall_joins", "RJ   recall of joins", "%"),
    ("f1_joins", "F1J  F1 of joins", "%"),
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="compare a predicted clustering with the truth (VI, Rand index, cut/join P/R/F1)",
        description="Compare two clustering CSVs (one cluster of ids per line).",
    )
    p.add_argument("pred", metavar="PRED", help="predicted clustering CSV")
    p.add_argument("truth", metavar="TRUTH", help="true clustering CSV")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from corrclust.formats.clusterings import labels_from_clusters, read_clustering
    from corrclust.metrics import compare

    pred_clusters = read_clustering(args.pred)
    truth_clusters = read_clustering(args.truth)
    pred_ids = {i for c in pred_clusters for i in c}
    truth_ids = {i for c in truth_clusters for i in c}
    if pred_ids != truth_ids:
        only_pred = sorted(pred_ids - truth_ids)
        only_truth = sorted(truth_ids - pred_ids)
        raise CliError(
            f"the clusterings cover different ids: {len(only_pred)} only in PRED (e.g. {only_pred[:5]}), "
            f"{len(only_truth)} only in TRUTH (e.g. {only_truth[:5]})"
        )
    ids = sorted(truth_ids)
    metrics = compare(labels_from_clusters(truth_clusters, ids), labels_from_clusters(pred_clusters, ids))
    if args.json:
        json.dump(metrics, sys.stdout)
        sys.stdout.write("\n")
        return 0
    print(f"items {metrics['n']}, clusters: truth {metrics['n_clusters_true']}, predicted {metrics['n_clusters_pred']}")
    for key, label, unit in _ROWS:
        value = metrics[key]
        shown = f"{100 * value:8.2f} %" if unit == "%" else f"{value:8.4f} bits"
        print(f"{label:<32} {shown}")
    print(
        "pairs: true joins {pairs_true_joins}, false joins {pairs_false_joins}, "
        "false cuts {pairs_false_cuts}, true cuts {pairs_true_cuts} (of {pairs_total})".format(**metrics)
    )
    return 0
