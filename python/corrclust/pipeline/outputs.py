"""Step 5: every output file of a run, each written atomically (:mod:`corrclust.atomic`), ``report.html`` last.

``clusters.csv`` (id, cluster, file), ``clustering.csv`` (the paper's format), ``similarities.npz``,
``metrics.json`` and ``sweep.csv`` (with a truth), ``assessment.json`` (the route's informativeness
verdict, when it gives one), the PNG figures under ``figures/``, and the report.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from corrclust.atomic import atomic_path, write_text
from corrclust.jsonable import jsonable
from corrclust.pipeline.clustering import Clustering
from corrclust.pipeline.correlations import Correlations
from corrclust.pipeline.evaluation import Evaluation
from corrclust.pipeline.images import ImageSet

__all__ = ["FIGURES", "THUMBNAILS", "write_outputs", "write_sparse_outputs", "prepare_out_dir"]

FIGURES = "figures"
#: One small PNG per image, ``<id>.png`` (the review page's gallery).
THUMBNAILS = "thumbnails"


#: From this many images on, writing the thumbnails shows a progress bar: at 2.4 ms of CPU per PNG
#: (measured here) 1,000 take 2-3 s, and the sparse path's 10^5 took minutes without a word.
THUMBNAILS_BAR_MIN = 1000


def _write_thumbnails(folder: Path, images: ImageSet, progress: bool = False) -> None:
    """``folder/<id>.png`` for every image (96 x 96 RGB; skipped when the file is already current)."""
    from matplotlib.image import imsave  # matplotlib is a dependency already (it writes PNGs via pillow)

    folder.mkdir(parents=True, exist_ok=True)
    pairs: Any = zip(images.records, images.thumbs, strict=False)
    if progress and len(images.records) >= THUMBNAILS_BAR_MIN:
        from tqdm.auto import tqdm

        pairs = tqdm(pairs, total=len(images.records), desc="thumbnails", unit="img", file=sys.stderr)
    for rec, thumb in pairs:
        path = folder / f"{int(rec.id)}.png"
        buf = io.BytesIO()
        imsave(buf, np.asarray(thumb, dtype=np.uint8), format="png")
        data = buf.getvalue()
        if path.is_file() and path.read_bytes() == data:
            continue
        with atomic_path(path) as tmp:
            Path(tmp).write_bytes(data)


#: Files a run may write at the top of OUT. Those this run does not write are removed before its
#: report: a rerun into the folder of an earlier run (say with a truth, now without) otherwise left
#: that run's metrics.json, sweep.csv and figures beside the new clusters, looking current.
_RUN_FILES = (
    "clustering.csv",
    "similarities.npz",
    "metrics.json",
    "sweep.csv",
    "assessment.json",
    "review.json",
)
_FIGURE_NAME = re.compile(r"(similarity|sizes|vi_split|sweep|size_distribution|cluster_\d+)\.png")
_THUMBNAIL_NAME = re.compile(r"\d+\.png")


#: The files derived from a clustering that no run reads: removed before this run writes anything, so
#: that a run stopped half-way leaves no file of the earlier clustering beside one of its own.
_DESCRIBE_A_CLUSTERING = (
    "clusters.csv",
    "clustering.csv",
    "metrics.json",
    "sweep.csv",
    "assessment.json",
    "review.json",
    "report.html",
)


def _remove_stale(out_dir: Path, files: dict[str, Path], ids: Sequence[int]) -> None:
    """Remove the outputs of an earlier run in ``out_dir`` that this run (``files``) did not write."""
    written = {Path(p).resolve() for p in files.values()}
    candidates = [out_dir / name for name in _RUN_FILES]
    if (out_dir / FIGURES).is_dir():
        candidates += [p for p in (out_dir / FIGURES).iterdir() if _FIGURE_NAME.fullmatch(p.name)]
    if (out_dir / THUMBNAILS).is_dir():
        current = {f"{int(i)}.png" for i in ids}
        candidates += [
            p
            for p in (out_dir / THUMBNAILS).iterdir()
            if _THUMBNAIL_NAME.fullmatch(p.name) and p.name not in current
        ]
    for path in candidates:
        if path.is_file() and path.resolve() not in written:
            path.unlink()


def _write_clusters_csv(path: Path, images: ImageSet, clustering: Clustering) -> None:
    """``id,cluster,file`` per image, streamed (:func:`corrclust.formats.cluster_table.write_cluster_table`)."""
    from corrclust.formats.cluster_table import write_cluster_table

    records = images.records

    def relative(p: Path) -> str:
        try:
            return p.relative_to(images.root).as_posix()
        except ValueError:
            return str(p)

    columns: dict[str, list[Any]] = {"file": [relative(r.path) for r in records]}
    # Plate, well and site (from the names or the ids table) when any image has a well, so the
    # clusters can be grouped by well; a crop's field is its source.
    if any(r.well is not None for r in records):
        columns["plate"] = [r.plate or "" for r in records]
        columns["well"] = [r.well or "" for r in records]
        columns["site"] = [r.site or "" for r in records]
    if any(r.source is not None for r in records):
        columns["source"] = [r.source or "" for r in records]
    if any(r.t is not None for r in records):  # --t split: <stem>__t<k> and the time point (0-based)
        columns["name"] = [r.name for r in records]
        columns["t"] = ["" if r.t is None else r.t for r in records]
    ids = np.array([r.id for r in records], dtype=np.int64)
    write_cluster_table(path, ids, np.asarray(clustering.labels, dtype=np.int64), columns)


def _write_paper_clustering(path: Path, images: ImageSet, corr: Correlations, clustering: Clustering) -> None:
    """The clusters in the paper's format (one line of ids per cluster, 1..K), for ``corrclust evaluate``."""
    from corrclust.formats.clusterings import write_clustering

    ids = images.ids
    groups = [ids[clustering.labels == k].tolist() for k in range(1, clustering.n_clusters + 1)]
    if corr.kind == "similarity":
        meta = {"matching_results_file": "similarities.npz", "clustering_threshold": f"{corr.parameter:g}"}
    else:
        meta = {"probabilities_file": "similarities.npz", "bias": f"{corr.parameter:g}"}
    write_clustering(path, groups, metadata=meta)  # atomic


def _write_npz(path: Path, **arrays: Any) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)


def _write_sweep_csv(path: Path, cols: dict[str, np.ndarray]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    names = list(cols)
    w.writerow(names)
    for row in zip(*(cols[k] for k in names), strict=False):
        w.writerow(
            [int(v) if k == "n_clusters" else repr(float(v)) for k, v in zip(names, row, strict=False)]
        )
    write_text(path, buf.getvalue())


def _figure(path: Path, draw: Callable[[Path], None]) -> None:
    with atomic_path(path) as tmp:
        draw(tmp)


def write_outputs(
    out_dir: Path,
    images: ImageSet,
    corr: Correlations,
    clustering: Clustering,
    evaluation: Evaluation | None,
    settings: Sequence[tuple[str, Any]],
    *,
    progress: bool = True,
    title: str = "corrclust report",
    review: dict | None = None,
    assessment: Any = None,
) -> dict[str, Path]:
    """Write every output file (each atomically), ``report.html`` last. Returns name -> path."""
    from corrclust import report

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}

    # What describes an earlier run's clustering goes before this run writes anything: a rerun stopped
    # by Ctrl-C after it left the new clusters.csv (19 clusters) beside the earlier metrics.json (4),
    # assessment.json and report.html (qa19, RBC 10 x 50), or beside the earlier similarities.npz
    # (whose labels and costs are the earlier run's). similarities.npz is not removed, as it may be
    # this run's input (--similarities OUT/similarities.npz); it is replaced (atomically) first, then
    # clusters.csv follows, so a stopped run leaves a folder without clusters.csv, which the review page
    # refuses, never two runs mixed.
    for name in _DESCRIBE_A_CLUSTERING:
        (out_dir / name).unlink(missing_ok=True)

    files["similarities"] = out_dir / "similarities.npz"
    key = "S" if corr.kind == "similarity" else "P"
    _write_npz(
        files["similarities"],
        ids=corr.ids,
        **{key: corr.matrix},
        costs=corr.problem().costs,
        labels=clustering.labels,
        kind=np.array(corr.kind),
        **{corr.parameter_name: np.array(corr.parameter)},
    )

    files["clusters"] = out_dir / "clusters.csv"
    _write_clusters_csv(files["clusters"], images, clustering)

    files["clustering"] = out_dir / "clustering.csv"
    _write_paper_clustering(files["clustering"], images, corr, clustering)

    if evaluation is not None:
        payload = dict(evaluation.metrics)
        payload["truth"] = evaluation.truth.source
        payload["classes"] = evaluation.classes
        payload["contingency"] = evaluation.contingency
        payload["contingency_clusters"] = evaluation.contingency_clusters
        if evaluation.subsets is not None:
            payload["subsets"] = evaluation.subsets
        files["metrics"] = out_dir / "metrics.json"
        write_text(files["metrics"], json.dumps(jsonable(payload), indent=2) + "\n")
        if evaluation.sweep is not None:
            files["sweep_csv"] = out_dir / "sweep.csv"
            _write_sweep_csv(files["sweep_csv"], evaluation.sweep)

    _write_thumbnails(out_dir / THUMBNAILS, images, progress)

    if review is not None:
        files["review"] = out_dir / "review.json"
        write_text(files["review"], json.dumps(jsonable(review), indent=2) + "\n")

    if assessment is not None:
        files["assessment"] = out_dir / "assessment.json"
        write_text(files["assessment"], json.dumps(jsonable(assessment.to_dict()), indent=2) + "\n")

    figures = report.draw_figures(
        out_dir, FIGURES, images, corr, clustering, evaluation, _figure, progress=progress
    )
    files.update(figures)
    _remove_stale(out_dir, files, [r.id for r in images.records])
    files["report"] = out_dir / "report.html"
    page = report.render(
        title,
        out_dir,
        images,
        corr,
        clustering,
        evaluation,
        settings,
        files,
        assessment=assessment,
        review=review,
    )
    write_text(files["report"], page)
    return files


def write_sparse_outputs(
    out_dir: Path,
    images: ImageSet,
    clustering: Clustering,
    truth: Any,
    settings: list[tuple[str, Any]],
    *,
    progress: bool = True,
    title: str = "corrclust report",
    assessment: Any = None,
) -> dict[str, Path]:
    """The files of a sparse-path run (:mod:`corrclust.pipeline.sparse`), each streamed or atomic:
    ``clusters.csv``, ``metrics.json`` (with a ``truth``; its VI joins ``settings``), the thumbnails
    and the report in its large-run layout whatever n is (there is no matrix to draw)."""
    from corrclust import report

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {"clusters": out_dir / "clusters.csv"}
    _write_clusters_csv(files["clusters"], images, clustering)
    if truth is not None:
        from corrclust.formats.metrics_file import write_metrics

        files["metrics"] = out_dir / "metrics.json"
        known = [c for c in truth.classes if c is not None]
        m = write_metrics(files["metrics"], known, clustering.labels[truth.known], {"truth": truth.source})
        settings = [*settings, ("truth", truth.source), ("VI against the truth", f"{m['vi']:.4f} bits")]
    if assessment is not None:
        files["assessment"] = out_dir / "assessment.json"
        write_text(files["assessment"], json.dumps(jsonable(assessment.to_dict()), indent=2) + "\n")
    _write_thumbnails(out_dir / THUMBNAILS, images, progress)
    files.update(
        report.draw_figures(
            out_dir, FIGURES, images, None, clustering, None, _figure, progress=progress, dense_max=0
        )
    )
    _remove_stale(out_dir, files, [r.id for r in images.records])
    files["report"] = out_dir / "report.html"
    page = report.render(
        title, out_dir, images, None, clustering, None, settings, files, dense_max=0, assessment=assessment
    )
    write_text(files["report"], page)
    return files


def prepare_out_dir(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    stale = out_dir / "report.html"
    if stale.exists():
        stale.unlink()  # a run that fails must not leave the previous run's report looking current
