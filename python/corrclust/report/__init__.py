"""The clustering report: PNG figures (:mod:`.figures`) and one static HTML page (:mod:`.html`).

:func:`draw_figures` draws every figure of a run and :func:`render` composes the page; the pipeline
(:mod:`corrclust.pipeline`) calls both and writes the page last. The objects passed in are the
pipeline's (an image set, the correlations, the clustering and an optional evaluation).

**Large runs.** Above :data:`DENSE_FIGURES_MAX` images the page holds nothing of size n x n and
nothing that costs k x n: no correlation-matrix figure and no typicality table (both need every
pair), the cluster sizes as a distribution (:func:`corrclust.report.figures.size_distribution`)
with a table of its bins instead of one bar per cluster, each gallery a random sample of
:data:`GALLERY_SIZE` members (seeded, so a rerun draws the same images), and the contingency table
left to ``metrics.json``.
"""

from __future__ import annotations

import functools
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from corrclust.report import figures as fig
from corrclust.report import html as H

__all__ = ["draw_figures", "render", "METRIC_LABELS", "DENSE_FIGURES_MAX", "GALLERY_SIZE", "GALLERY_SEED"]

#: Above this many images the report draws no n x n figure (a 2,000 x 2,000 image is already
#: more pixels than a screen shows) and switches to the large-run layout described above.
DENSE_FIGURES_MAX = 2000
#: Images drawn per cluster in a large run's galleries, and the seed of their sample.
GALLERY_SIZE = 24
GALLERY_SEED = 0

#: Names and units of the metrics of :func:`corrclust.metrics.compare`, in the paper's table order.
METRIC_LABELS: dict[str, tuple[str, str]] = {
    "rand_index": ("Rand index (RI)", "%"),
    "vi": ("variation of information (VI)", "bits"),
    "false_cuts": ("VI false cuts (classes split)", "bits"),
    "false_joins": ("VI false joins (classes merged)", "bits"),
    "precision_cuts": ("precision of cuts (PC)", "%"),
    "recall_cuts": ("recall of cuts (RC)", "%"),
    "f1_cuts": ("F1 of cuts", "%"),
    "precision_joins": ("precision of joins (PJ)", "%"),
    "recall_joins": ("recall of joins (RJ)", "%"),
    "f1_joins": ("F1 of joins", "%"),
}


def _fmt_metric(key: str, value: Any) -> str:
    if value is None:
        return "n/a"
    unit = METRIC_LABELS.get(key, ("", ""))[1]
    if unit == "%":
        return f"{100.0 * float(value):.2f}"
    if unit == "bits":
        return f"{float(value):.4f}"
    return str(value)


def draw_figures(
    out_dir: Path,
    figdir: str,
    images: Any,
    corr: Any,
    clustering: Any,
    evaluation: Any,
    save: Callable[[Path, Callable[[Path], None]], None],
    *,
    progress: bool = True,
    montage_max: int = 48,
    montages_max: int = 60,
    dense_max: int = DENSE_FIGURES_MAX,
    gallery: int = GALLERY_SIZE,
    seed: int = GALLERY_SEED,
) -> dict[str, Path]:
    """Draw every figure into ``out_dir/figdir``; ``save(path, draw)`` writes one file (atomically).

    Returns a mapping of figure names to final paths: ``similarity``, ``sizes``, ``vi_split`` and
    ``sweep`` (with a truth), and ``cluster_<k>`` for the montages. Above ``dense_max`` images:
    ``size_distribution`` instead of ``similarity`` and ``sizes``, and montages of ``gallery``
    members per cluster drawn at random (``seed``).
    """
    root = Path(out_dir) / figdir
    root.mkdir(parents=True, exist_ok=True)
    labels = np.asarray(clustering.labels)
    truth_classes = evaluation.truth.classes if evaluation is not None else None
    truth_codes = None
    if truth_classes is not None:
        names = evaluation.classes
        index = {c: k for k, c in enumerate(names)}
        truth_codes = np.array([index[c] if c is not None else -1 for c in truth_classes])
    files: dict[str, Path] = {}

    def one(name: str, draw: Callable[[Path], None]) -> None:
        path = root / f"{name}.png"
        save(path, draw)
        files[name] = path

    large = labels.size > dense_max
    if large:
        one("size_distribution", lambda p: fig.size_distribution(labels, p))
    else:
        matrix = corr.symmetric()
        if corr.kind == "similarity":
            value_label, vmin, vmax = f"similarity {corr.symmetrization}(s_ij, s_ji)", None, None
        else:
            value_label, vmin, vmax = f"probability of the same class ({corr.symmetrization})", 0.0, 1.0
        strip = truth_codes  # -1 (unknown class) is drawn light grey
        one(
            "similarity",
            lambda p: fig.similarity_matrix(
                matrix,
                labels,
                p,
                value_label=value_label,
                truth=strip,
                vmin=vmin,
                vmax=vmax,
                title=f"{value_label}, ordered by cluster",
            ),
        )
        sizes_truth = None
        if truth_codes is not None and (truth_codes >= 0).all():
            sizes_truth = truth_codes
        one(
            "sizes",
            lambda p: fig.cluster_sizes(
                labels,
                p,
                truth=sizes_truth,
                truth_names=evaluation.classes if sizes_truth is not None else None,
            ),
        )
    if evaluation is not None:
        rows = [("all", float(evaluation.metrics["false_cuts"]), float(evaluation.metrics["false_joins"]))]
        for r in evaluation.subsets or []:
            if "false_cuts" in r:
                rows.append((str(r["block"]), float(r["false_cuts"]), float(r["false_joins"])))
        one("vi_split", lambda p: fig.vi_split(rows, p))
        if evaluation.sweep is not None:
            sw = evaluation.sweep
            pname = corr.parameter_name
            series = {k: sw[k] for k in ("vi", "false_cuts", "false_joins")}
            one(
                "sweep",
                lambda p: fig.sweep(
                    sw[pname], series, p, xlabel=pname, chosen=corr.parameter, clusters=sw["n_clusters"]
                ),
            )

    clusters = list(range(1, int(labels.max()) + 1))
    shown = clusters[:montages_max]
    members_of = _members(labels, shown)
    majority = {}
    if truth_classes is not None:  # the shown clusters only: O(n), not O(k n)
        for k in shown:
            names = [truth_classes[i] for i in members_of[k] if truth_classes[i] is not None]
            if names:
                majority[k] = Counter(names).most_common(1)[0][0]
    it: Any = shown
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(shown, desc="drawing montages", unit="cluster", file=sys.stderr)
    for k in it:
        members = members_of[k]
        if large and members.size > gallery:
            rng = np.random.default_rng([seed, k])  # one stream per cluster: the same draw on a rerun
            take = np.sort(rng.choice(members, gallery, replace=False))
        else:
            take = members[:montage_max]
        caps, colours = [], []
        for i in take:
            rec = images.records[i]
            cls = truth_classes[i] if truth_classes is not None else None
            caps.append(f"{rec.id}" + (f" ({cls})" if cls is not None else ""))
            colours.append("red" if cls is not None and k in majority and cls != majority[k] else "black")
        title = f"cluster {k}: {members.size} image{'s' if members.size != 1 else ''}"
        if truth_classes is not None:
            counts = Counter(truth_classes[i] for i in members if truth_classes[i] is not None)
            if counts:
                title += "; classes " + ", ".join(f"{c}\u00d7{m}" for c, m in counts.most_common(6))
                if len(counts) > 6:
                    title += ", ..."
        if members.size > take.size:
            how = f"a random sample of {take.size}, seed {seed}" if large else f"first {take.size}"
            title += f" ({how} shown)"
        thumbs = [images.thumbs[i] for i in take]
        one(
            f"cluster_{k:03d}",
            functools.partial(fig.montage, thumbs, caps, title=title, caption_colours=colours),
        )
    return files


def _members(labels: np.ndarray, clusters: Sequence[int]) -> dict[int, np.ndarray]:
    """Indices of the members of each of ``clusters`` (ascending), from one stable sort of the labels."""
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    out = {}
    for k in clusters:
        lo, hi = np.searchsorted(sorted_labels, [k, k + 1])
        out[k] = order[lo:hi]
    return out


def typical_members(costs: np.ndarray, labels: np.ndarray, k: int, show: int = 3) -> tuple[list, list]:
    """The ``show`` most and least typical members of cluster ``k`` as (index, mean cost) lists."""
    members = np.flatnonzero(labels == k)
    if members.size < 2:
        return [(int(members[0]), 0.0)] if members.size else [], []
    sub = costs[np.ix_(members, members)]
    mean = (sub.sum(axis=1) - np.diagonal(sub)) / (members.size - 1)
    order = np.argsort(-mean, kind="stable")
    most = [(int(members[o]), float(mean[o])) for o in order[:show]]
    rest = order[show:] if members.size > show else order[1:]
    least = [(int(members[o]), float(mean[o])) for o in rest[::-1][:show]]
    return most, least


def typical_rows(
    costs: np.ndarray, labels: np.ndarray, ids: Sequence[int], limit: int = 60
) -> list[list[str]]:
    rows = []
    for k in range(1, int(labels.max()) + 1 if labels.size else 1):
        if k > limit:
            break
        most, least = typical_members(costs, labels, k)
        fmt = lambda pairs: ", ".join(f"{ids[i]} ({v:+.3g})" for i, v in pairs) or "-"  # noqa: E731
        rows.append([str(k), str(int((labels == k).sum())), fmt(most), fmt(least)])
    return rows


def _review_section(review: dict) -> H.Section:
    sec = H.Section("Review by the expert", anchor="review")
    pct = lambda v: "n/a" if v is None else f"{100 * v:.1f} %"  # noqa: E731
    facts: list[tuple[str, Any]] = [
        ("feedback file", review.get("feedback_file")),
        ("answers read", review.get("answers_read")),
        ("used: same / different", f"{review.get('same')} / {review.get('different')}"),
        ("skipped (ids not in this set)", review.get("answers_skipped_unknown_ids")),
        ("agreement with the answers before", pct(review.get("agreement_before"))),
        ("agreement with the answers now", pct(review.get("agreement_after"))),
    ]
    if review.get("pairs_changed") is not None:
        facts += [
            ("image pairs joined or cut differently", review["pairs_changed"]),
            ("images moved to another cluster", review["images_moved"]),
        ]
    if review.get("answers_spread") is not None:
        facts.append(("answers spread to the pairs they imply", "yes" if review["answers_spread"] else "no"))
    cal = review.get("calibration")
    if cal:
        facts.append((f"{cal['parameter']} calibrated", f"{cal['default']:g} -> {cal['fitted']:.4g}"))
    sec.add(
        H.paragraph(
            "The expert's answers are hard constraints: 'same' pairs share a cluster, 'different' "
            "pairs are apart; spread (the default), each also moves the pairs between the images like "
            "its two ends; 'before' is the previous run's clusters.csv in this folder."
        )
    )
    sec.add(H.definition_list(facts))
    return sec


def _rel(out_dir: Path, path: Path) -> str:
    return Path(path).relative_to(out_dir).as_posix()


def _wells_section(images: Any, labels: np.ndarray) -> H.Section | None:
    """Images of each plate well (rows) in each cluster (columns), when the names or the ids table give wells."""
    records = images.records
    if not any(getattr(r, "well", None) for r in records):
        return None
    keys = [(r.plate or "", r.well or "(none)") for r in records]
    rows = sorted(set(keys))
    clusters = sorted({int(k) for k in labels})
    count = {(k, c): 0 for k in rows for c in clusters}
    for k, c in zip(keys, labels, strict=False):
        count[(k, int(c))] += 1
    plates = any(p for p, _ in rows)
    header = (["plate"] if plates else []) + ["well", "images"] + [str(c) for c in clusters]
    body = [
        ([p] if plates else [])
        + [w, sum(count[((p, w), c)] for c in clusters)]
        + [count[((p, w), c)] for c in clusters]
        for p, w in rows
    ]
    sec = H.Section("Clusters by well", anchor="wells")
    sec.add(
        H.paragraph(
            "Images of each well (rows) in each cluster (columns, 1 = largest); the wells come from "
            "the file names (--name-pattern) or the ids table, and are in clusters.csv."
        )
    )
    sec.add('<div style="overflow-x:auto">' + H.table(header, body) + "</div>")
    return sec


def render(
    title: str,
    out_dir: Path,
    images: Any,
    corr: Any,
    clustering: Any,
    evaluation: Any,
    settings: Sequence[tuple[str, Any]],
    files: dict[str, Path],
    *,
    assessment: Any = None,
    review: dict | None = None,
    dense_max: int = DENSE_FIGURES_MAX,
    gallery: int = GALLERY_SIZE,
    seed: int = GALLERY_SEED,
) -> str:
    """The report page for a run whose figures and data files are ``files`` (final paths).

    Above ``dense_max`` images the page takes the large-run layout (module docstring); ``gallery``
    and ``seed`` are those given to :func:`draw_figures`, for the text.

    ``assessment``: the route's informativeness verdict (:class:`corrclust.informativeness.Assessment`);
    its findings head the summary as a warning, its evidence is listed. ``review``: the summary of the
    expert's answers (:func:`corrclust.pipeline.answers.answer_summary`).
    """
    out_dir = Path(out_dir)
    labels = np.asarray(clustering.labels)
    n = labels.size
    large = n > dense_max
    sizes = np.bincount(labels.astype(np.int64)) if n else np.zeros(0, np.int64)
    sections: list[H.Section] = []

    summary = H.Section("Summary", anchor="summary")
    facts: list[tuple[str, Any]] = [
        ("images clustered", n),
        ("clusters", clustering.n_clusters),
        ("singletons", int((sizes == 1).sum())),
        ("objective", f"{clustering.objective:.6g}"),
    ]
    if clustering.lower_bound is not None:
        facts.append(("lower bound", f"{clustering.lower_bound:.6g}"))
    rt = clustering.runtime
    facts += [
        ("solver status", clustering.status),
        ("solver time", f"{rt:.2f} s" if rt >= 1.0 else f"{1000 * rt:.1f} ms"),
    ]
    if evaluation is not None:
        m = evaluation.metrics
        facts += [
            ("truth", evaluation.truth.source),
            ("true classes", len(evaluation.classes)),
            (
                "VI (false cuts + false joins)",
                f"{m['vi']:.4f} = {m['false_cuts']:.4f} + {m['false_joins']:.4f} bits",
            ),
            ("Rand index", f"{100 * m['rand_index']:.2f} %"),
        ]
    summary.add(H.definition_list(facts))
    if assessment is not None:
        ev = assessment.evidence
        evidence = ", ".join(
            f"{k.replace('_', ' ')} {v:.2f}" if isinstance(v, float) else f"{k.replace('_', ' ')} {v}"
            for k, v in ev.items()
        )
        if assessment.findings:
            items = "".join(f"<li>{H._esc(f)}</li>" for f in assessment.findings)
            summary.add(
                f'<div class="warn"><strong>These clusters say little:</strong><ul>{items}</ul>'
                f"<p>Evidence: {H._esc(evidence)}</p></div>"
            )
        else:
            summary.add(f"<p>Informative: no warning (evidence: {H._esc(evidence)}).</p>")
    summary.add("<h3>Settings</h3>")
    summary.add(H.definition_list(settings))
    data_links = [
        f'<li><a href="{H._esc(_rel(out_dir, files[k]))}">{H._esc(_rel(out_dir, files[k]))}</a>: {H._esc(what)}</li>'
        for k, what in (
            (
                "clusters",
                "image id, cluster (1 = largest), file (and plate, well, site, source field where known)",
            ),
            (
                "clustering",
                "the clusters in the paper's format, one line of ids per cluster (for corrclust evaluate)",
            ),
            ("similarities", "ids, the correlation matrix, costs and labels (numpy .npz)"),
            ("metrics", "all metrics as JSON"),
            ("assessment", "whether the clusters are informative: findings and evidence (JSON)"),
            ("sweep_csv", f"metrics against the {getattr(corr, 'parameter_name', 'parameter')}"),
        )
        if k in files
    ]
    summary.add("<h3>Data files</h3><ul>" + "".join(data_links) + "</ul>")
    if images.failures:
        items = "".join(f"<li>{H._esc(p)}: {H._esc(msg)}</li>" for p, msg in images.failures)
        summary.add(
            f'<div class="warn"><strong>{len(images.failures)} unreadable file(s) skipped</strong>'
            f"<ul>{items}</ul></div>"
        )
    sections.append(summary)

    if evaluation is not None:
        ev = H.Section("Agreement with the truth", anchor="metrics")
        m = evaluation.metrics
        ev.add(
            H.paragraph(
                f"Over the {m['n']} images with a known class ({len(evaluation.classes)} classes, "
                f"{m['n_clusters_pred']} clusters among them). VI and its parts are in bits (lower is "
                "better); the pair ratios are in % over all pairs of images."
            )
        )
        rows = [
            (label, _fmt_metric(k, m.get(k)), unit) for k, (label, unit) in METRIC_LABELS.items() if k in m
        ]
        ev.add(H.table(["metric", "value", "unit"], rows))
        if "vi_split" in files:
            ev.add(
                H.figure(
                    _rel(out_dir, files["vi_split"]),
                    "VI split into false cuts and false joins",
                    "False cuts: true classes split over several clusters. False joins: several classes "
                    "merged into one cluster.",
                )
            )
        if large:
            ev.add(
                H.paragraph(
                    f"The contingency table ({len(evaluation.classes)} classes x {m['n_clusters_pred']} "
                    "clusters) is too large for this page; it is in metrics.json."
                )
            )
        table = np.asarray(evaluation.contingency if not large else np.zeros((0, 0)))
        header = ["true class \\ cluster"] + [str(k) for k in evaluation.contingency_clusters]
        body = [
            [f"class {c}"] + [int(v) for v in row] for c, row in zip(evaluation.classes, table, strict=False)
        ]
        hi = [
            [False] + list(row == row.max()) if row.max() > 0 else [False] * (len(row) + 1) for row in table
        ]
        if not large:
            ev.add("<h3>Contingency table</h3>")
            ev.add(
                H.paragraph(
                    "Images of each true class (rows) in each cluster (columns); the largest entry of "
                    "each row is shaded."
                )
            )
            ev.add('<div style="overflow-x:auto">' + H.table(header, body, highlight=hi) + "</div>")
        if evaluation.subsets:
            ev.add("<h3>Subsets</h3>")
            ev.add(
                H.paragraph(
                    "Within a subset A: the metrics over the images of A only. Across A-B: the pair "
                    "metrics over the pairs with one image in A and one in B (VI is not defined "
                    "there)."
                )
            )
            keys = [
                "rand_index",
                "vi",
                "false_cuts",
                "false_joins",
                "precision_cuts",
                "recall_cuts",
                "precision_joins",
                "recall_joins",
            ]
            hdr = ["block", "images / pairs"] + [METRIC_LABELS[k][0] for k in keys]
            srows = []
            for r in evaluation.subsets:
                within = "n" in r
                size = f"{r['n']} images" if within else f"{r['pairs_total']} pairs"
                name = f"{r['block']} (within)" if within else f"{r['block']} (across)"
                srows.append([name, size] + [_fmt_metric(k, r.get(k)) if k in r else "" for k in keys])
            ev.add(H.table(hdr, srows))
        sections.append(ev)
        if evaluation.sweep is not None and "sweep" in files:
            sw = H.Section(f"Sweep of the {corr.parameter_name}", anchor="sweep")
            sw.add(
                H.paragraph(
                    f"The clustering solved again at {len(evaluation.sweep['vi'])} values of the "
                    f"{corr.parameter_name}, from everything joined to everything cut; the dotted line is the value "
                    "used above. The green line is the number of clusters."
                )
            )
            sw.add(H.figure(_rel(out_dir, files["sweep"]), f"VI against the {corr.parameter_name}"))
            vi = np.asarray(evaluation.sweep["vi"])
            grid = np.asarray(evaluation.sweep[corr.parameter_name])
            best = np.flatnonzero(vi <= vi.min() + 1e-12)
            where = (
                f"{grid[best[0]]:.4g}" if best.size == 1 else f"{grid[best[0]]:.4g} to {grid[best[-1]]:.4g}"
            )
            sw.add(
                H.paragraph(
                    f"Lowest VI {vi.min():.4f} bits at {corr.parameter_name} {where} "
                    f"({', '.join(sorted({str(int(evaluation.sweep['n_clusters'][b])) for b in best}, key=int))} "
                    "clusters). A parameter chosen by this plot is chosen with the truth: report it as such."
                )
            )
            sections.append(sw)

    if large:
        overview = H.Section("Cluster sizes", anchor="overview")
        overview.add(
            H.paragraph(
                f"{n} images: no figure of all pairs is drawn above {dense_max} images. How many clusters "
                "(left) and how many images (right) there are of each size, in bins that double."
            )
        )
        overview.add(H.figure(_rel(out_dir, files["size_distribution"]), "distribution of the cluster sizes"))
        overview.add(
            H.table(
                ["cluster size", "clusters", "images"],
                [(f"{lo}" if lo == hi else f"{lo}-{hi}", c, i) for lo, hi, c, i in fig.size_bins(labels)],
            )
        )
    else:
        overview = H.Section("Similarities and cluster sizes", anchor="overview")
        overview.add(
            H.figure(
                _rel(out_dir, files["similarity"]),
                "correlation matrix ordered by cluster",
                "Rows and columns ordered by cluster (1 = largest); white lines separate clusters."
                + (" The coloured strips show the true classes." if evaluation is not None else ""),
            )
        )
        overview.add(
            H.figure(
                _rel(out_dir, files["sizes"]),
                "cluster sizes",
                "Images per cluster" + (", coloured by true class." if evaluation is not None else "."),
            )
        )
    sections.append(overview)

    wells = _wells_section(images, labels)
    if wells is not None:
        sections.append(wells)
    if review is not None:
        sections.append(_review_section(review))

    cl = H.Section("Clusters", anchor="clusters")
    if large:
        cl.add(
            H.paragraph(
                f"Each gallery shows at most {gallery} members of its cluster, drawn at random "
                f"(seed {seed}, the same on every run); every member is in clusters.csv. "
                "The typicality table is left out: it needs every pair within a cluster."
            )
        )
    else:
        cl.add("<h3>Most and least typical members</h3>")
        cl.add(
            H.paragraph(
                "Typicality of an image: its mean cost to the other members of its cluster (positive: "
                "it attracts them). A cluster whose least typical members are far below its most typical "
                "ones, or below 0, deserves a look in the review page (corrclust review OUT)."
            )
        )
        cl.add(
            '<div style="overflow-x:auto">'
            + H.table(
                ["cluster", "images", "most typical (mean cost)", "least typical (mean cost)"],
                typical_rows(corr.problem().to_dense(), labels, images.ids),
            )
            + "</div>"
        )
    if evaluation is not None:
        cl.add(
            H.paragraph(
                "Each image is captioned with its id and (true class); a red caption marks an image "
                "whose class is not the cluster's most frequent class."
            )
        )
    montages = sorted(k for k in files if k.startswith("cluster_"))
    for k in montages:
        num = int(k.split("_")[1])
        cl.add(H.figure(_rel(out_dir, files[k]), f"images of cluster {num}"))
    hidden = clustering.n_clusters - len(montages)
    if hidden > 0:
        cl.add(H.paragraph(f"{hidden} smaller cluster(s) are not drawn; see clusters.csv.", cls="muted"))
    sections.append(cl)

    from corrclust import __version__

    if corr is None:  # the sparse path (corrclust.pipeline.sparse): no matrix
        source = "feature vectors on a k-nearest-neighbour graph"
    else:
        source = "PQAP similarities" if corr.kind == "similarity" else "twin-network probabilities"
    subtitle = (
        f"{n} images, {clustering.n_clusters} clusters; corrclust {__version__}; "
        f"{source}, solver {clustering.solver}"
    )
    return H.page(title, subtitle, sections)
