"""``corrclust evaluate``: compare a predicted clustering with the truth.

    corrclust evaluate PRED TRUTH [--json]

Both files are clustering CSVs in the paper's format (one cluster of comma-separated ids per line,
optional ``key:value`` metadata lines) or ``clusters.csv`` tables as written by ``corrclust cluster``
(header ``id,cluster,file``). The metrics are over the ids both files hold; a truth that covers only
some of PRED's ids is handled as in ``corrclust cluster`` (:mod:`corrclust.pipeline.truth`: the
others are left out with a note on stderr; fewer than two ids in common is an error). Prints the
paper-style table (VI and its parts in bits, the pair ratios in %) or, with ``--json``, one JSON
object holding every metric of ``corrclust.metrics.compare`` (non-finite values as ``null``).
"""

from __future__ import annotations

import argparse
import json
import sys

from corrclust.jsonable import jsonable

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
        description=(
            "Compare two clusterings: paper-format CSVs (one cluster of ids per line) or clusters.csv "
            "tables written by 'corrclust cluster'. Metrics are over the ids both files hold."
        ),
    )
    p.add_argument("pred", metavar="PRED", help="predicted clustering (paper CSV or clusters.csv)")
    p.add_argument("truth", metavar="TRUTH", help="true clustering (paper CSV or clusters.csv)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from corrclust.formats.clusterings import labels_from_clusters, read_clustering
    from corrclust.metrics import compare
    from corrclust.pipeline.truth import truth_from_clusters

    pred_clusters = read_clustering(args.pred)
    truth = read_clustering(args.truth)
    ids = sorted(i for c in pred_clusters for i in c)
    known = truth_from_clusters(truth, ids, str(args.truth)).known
    ids = [i for i, k in zip(ids, known, strict=False) if k]
    common = set(ids)
    metrics = compare(
        labels_from_clusters([[i for i in c if i in common] for c in truth], ids),
        labels_from_clusters([[i for i in c if i in common] for c in pred_clusters], ids),
    )
    if args.json:
        json.dump(jsonable(metrics), sys.stdout)
        sys.stdout.write("\n")
        return 0
    print(
        f"items {metrics['n']}, clusters: truth {metrics['n_clusters_true']}, predicted {metrics['n_clusters_pred']}"
    )
    for key, label, unit in _ROWS:
        value = metrics[key]
        shown = f"{100 * value:8.2f} %" if unit == "%" else f"{value:8.4f} bits"
        print(f"{label:<32} {shown}")
    print(
        "pairs: true joins {pairs_true_joins}, false joins {pairs_false_joins}, "
        "false cuts {pairs_false_cuts}, true cuts {pairs_true_cuts} (of {pairs_total})".format(**metrics)
    )
    return 0
