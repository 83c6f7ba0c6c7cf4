"""The whole run of ``corrclust cluster``: :func:`run` (images -> report) and
:func:`run_on_correlations` (correlations already computed -> report)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corrclust.pipeline.answers import answer_summary, use_feedback
from corrclust.pipeline.clustering import Clustering, cluster
from corrclust.pipeline.correlations import Correlations, align_images, compute_correlations
from corrclust.pipeline.evaluation import Evaluation, evaluate
from corrclust.pipeline.images import ImageSet, load_images
from corrclust.pipeline.messages import say
from corrclust.pipeline.options import SWEEP_AUTO_MAX, ClusterOptions
from corrclust.pipeline.outputs import prepare_out_dir, write_outputs
from corrclust.pipeline.routes import AUTO, default_route, get_route
from corrclust.pipeline.sparse import decide, run_sparse
from corrclust.pipeline.truth import resolve_truth

if TYPE_CHECKING:
    import numpy as np

__all__ = ["PQAP_CHECKPOINT", "PipelineResult", "run", "run_on_correlations"]

#: Finished pairs of an interrupted run (removed when a run completes); a rerun resumes from it.
#: (The PQAP route is the one that uses it today; any route may.)
PQAP_CHECKPOINT = ".pqap-checkpoint.npz"


@dataclass
class PipelineResult:
    """What a run produced: the files (final paths) and the numbers behind them."""

    out_dir: Path
    images: ImageSet
    #: None on the sparse path (:mod:`corrclust.pipeline.sparse`): no matrix was built.
    correlations: Correlations | None
    clustering: Clustering
    evaluation: Evaluation | None
    files: dict[str, Path]
    seconds: float
    #: The route's verdict on whether the clusters say anything (:mod:`corrclust.informativeness`), if it gives one.
    assessment: Any = None

    @property
    def report(self) -> Path:
        return self.files["report"]


def _method_label(corr: Correlations, options: ClusterOptions) -> str:
    """The report's name of the method: the route's, or for a matrix read from a file, its kind's."""
    if options.correlations is None:
        return get_route(options.method).label
    return "PQAP" if corr.kind == "similarity" else "twin network"


def run_on_correlations(
    images: ImageSet,
    corr: Correlations,
    options: ClusterOptions,
    *,
    started: float | None = None,
    title: str = "corrclust report",
    extra_settings: Sequence[tuple[str, Any]] = (),
) -> PipelineResult:
    """Steps 3-5 (cluster, evaluate, write) for correlations already computed."""
    started = time.perf_counter() if started is None else started
    out_dir = Path(options.out_dir)
    prepare_out_dir(out_dir)
    images = align_images(images, corr)
    truth = resolve_truth(options.truth, images)
    if truth is None and options.ids_table is None and all(r.label is not None for r in images.records):
        say("the file names (or folders) give classes; pass --truth auto to compare the clusters with them")
    use = None
    before = _previous_labels(out_dir, corr.ids)
    if options.feedback is not None:
        use = use_feedback(corr, options.feedback, calibrate=options.calibrate, propagate=options.propagate)
        corr = use.corr
        say(
            f"feedback {options.feedback}: {use.must_link.shape[0]} same, {use.cannot_link.shape[0]} different"
            + (f", {use.n_skipped} answer(s) naming ids not in the set skipped" if use.n_skipped else "")
            + (
                f"; {corr.parameter_name} calibrated to {corr.parameter:g}"
                if use.calibration is not None
                else ""
            )
        )
    say(f"clustering {corr.ids.size} images ({options.solver}, {corr.parameter_name} {corr.parameter:g})")
    # KL takes a fraction of a second here; the anytime and exact solvers show their progress.
    clustering = cluster(
        corr,
        options.solver,
        time_limit=options.time_limit,
        seed=options.seed,
        progress=options.progress and options.solver != "kl",
        must_link=None if use is None else use.must_link,
        cannot_link=None if use is None else use.cannot_link,
    )
    assessment = None
    assess = getattr(get_route(options.method), "assess", None) if options.correlations is None else None
    if assess is not None:
        assessment = assess(corr, clustering.labels, options)
        for finding in getattr(assessment, "findings", []):
            say(f"warning: {finding}")
    evaluation = None
    if truth is not None:
        n_known = int(truth.known.sum())
        do_sweep = options.sweep if options.sweep is not None else n_known <= SWEEP_AUTO_MAX
        evaluation = evaluate(
            images,
            corr,
            clustering,
            truth,
            do_sweep=do_sweep,
            solver=options.solver,
            seed=options.seed,
            time_limit=options.time_limit,
            progress=options.progress,
        )
    settings = [
        ("images", str(options.images_dir)),
        ("method", _method_label(corr, options)),
        ("solver", options.solver),
        (corr.parameter_name, f"{corr.parameter:g}"),
        ("symmetrization", corr.symmetrization),
        ("seed", options.seed),
        *extra_settings,
    ]
    review = None
    if use is not None:
        review = answer_summary(use, before, clustering.labels)
        settings.append(("feedback", f"{options.feedback} ({use.n_constraints} answers used)"))
    files = write_outputs(
        out_dir,
        images,
        corr,
        clustering,
        evaluation,
        settings,
        progress=options.progress,
        title=title,
        assessment=assessment,
        review=review,
    )
    return PipelineResult(
        out_dir, images, corr, clustering, evaluation, files, time.perf_counter() - started, assessment
    )


def _read_settings(options: ClusterOptions) -> list[tuple[str, Any]]:
    """The report's lines for the reading options that differ from the defaults."""
    r = options.read
    out: list[tuple[str, Any]] = []
    if r.channels is not None:
        out.append(("channels", ",".join("-" if c is None else str(c) for c in r.channels)))
    out.append(("Z projection", r.z_project))
    if r.t is not None:
        out.append(("time point", r.t))
    if r.pixel_size is not None:
        out.append(("pixel size (resampled to)", f"{r.pixel_size:g} µm"))
    if options.name_pattern is not None:
        out.append(("name pattern", options.name_pattern))
    return out


def _previous_labels(out_dir: Path, ids) -> np.ndarray | None:
    """The cluster of every id in OUT/clusters.csv of an earlier run, when it covers exactly these ids."""
    import csv

    import numpy as np

    path = out_dir / "clusters.csv"
    if not path.is_file():
        return None
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = {int(r["id"]): int(r["cluster"]) for r in csv.DictReader(fh)}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if set(rows) != {int(i) for i in ids}:
        return None
    return np.array([rows[int(i)] for i in ids], dtype=np.int64)


def run(
    options: ClusterOptions,
    *,
    title: str = "corrclust report",
    extra_settings: Sequence[tuple[str, Any]] = (),
) -> PipelineResult:
    """The whole pipeline of ``corrclust cluster``."""
    started = time.perf_counter()
    options.validate()
    out_dir = Path(options.out_dir)
    images_dir = Path(options.images_dir)
    settings = list(extra_settings)
    if options.crop:
        prepare_out_dir(out_dir)
        try:
            from corrclust.images.detection import crop_fields
        except ImportError as exc:  # pragma: no cover - only while the images area lacks detection
            raise ValueError(f"--crop is not available in this build ({exc})") from None
        crops = out_dir / "crops"
        say(f"detecting and cropping organoids into {crops}")
        # The crops keep every plane; --channels applies when they are read (below).
        cropped = crop_fields(
            images_dir,
            crops,
            progress=options.progress,
            read=options.read.without_channels(),
            name_pattern=options.name_pattern,
        )
        for path, message in cropped.failures:
            say(f"skipping field {path}: {message}")
        if not cropped.rows:
            raise ValueError(f"no organoid was detected in the fields of {images_dir}")
        settings.append(
            (
                "cropped fields from",
                f"{images_dir} ({len(cropped.rows)} organoids, table {cropped.table.name})",
            )
        )
        images_dir = crops
    images = load_images(
        images_dir,
        options.ids_table,
        progress=options.progress,
        read=options.read,
        name_pattern=options.name_pattern,
    )
    if options.method == AUTO:
        options.method = (
            "pqap" if options.correlations is not None else default_route(images.records, options.read)
        )
        if options.correlations is None:  # else the stored matrix is used, whatever the channels
            say(
                f"method: {options.method} ({'the images have' if options.method == 'pqap' else 'the images lack'} "
                f"the key-point channels; choose with --method)"
            )
        get_route(options.method).check(options)
    # above the dense limit: the sparse path when the route gives feature vectors, else a refusal
    going_sparse = decide(len(images.records), options, get_route(options.method))
    prepare_out_dir(out_dir)
    checkpoint = out_dir / PQAP_CHECKPOINT
    if going_sparse is not None:
        say(going_sparse)
        settings.extend(_read_settings(options))
        images, clustering, files, assessment = run_sparse(
            images, options, get_route(options.method), checkpoint=checkpoint, title=title, settings=settings
        )
        checkpoint.unlink(missing_ok=True)
        seconds = time.perf_counter() - started
        return PipelineResult(out_dir, images, None, clustering, None, files, seconds, assessment)
    t0 = time.perf_counter()
    images, corr = compute_correlations(images, options, checkpoint=checkpoint)
    correlation_seconds = time.perf_counter() - t0
    if options.correlations is not None:
        settings.append(("correlations from", str(options.correlations)))
    else:
        route = get_route(options.method)
        settings.extend(route.settings(options))
        settings_of = getattr(route, "settings_of", None)
        if settings_of is not None:
            settings.extend(settings_of(corr))
        settings.append((route.timing_label, f"{correlation_seconds:.1f} s"))
    settings.extend(_read_settings(options))
    if images.failures:
        settings.append(("unreadable files skipped", len(images.failures)))
    result = run_on_correlations(images, corr, options, started=started, title=title, extra_settings=settings)
    checkpoint.unlink(missing_ok=True)  # the matrix is in similarities.npz now
    return result
