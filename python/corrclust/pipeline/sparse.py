"""The image pipeline above the dense limit: feature vectors -> k-nearest-neighbour graph -> clusters.

A collection of more than :func:`corrclust.memory.dense_max_n` images (``--dense-max-n``), or one
whose n x n matrices would not fit in memory, never gets a dense matrix. A route that turns each
image into a feature vector (``features``, e.g. the ``profile`` route) takes the sparse path of
:func:`corrclust.embedding_clustering.cluster_embeddings` instead: the same label-free cost rule on
the pairs of a kNN graph only. :func:`decide` says which path a run takes (and refuses, before
anything is written, a route that can only score all pairs); :func:`run_sparse` runs steps 2-5 and
writes ``clusters.csv`` (streamed), ``metrics.json`` (with a truth; streamed) and the report in its
large-run layout (no n x n figure, sampled galleries, cluster-size distribution).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from corrclust.pipeline.clustering import Clustering, number_clusters
from corrclust.pipeline.images import ImageSet
from corrclust.pipeline.messages import say
from corrclust.pipeline.options import ClusterOptions

__all__ = ["FeatureVectors", "decide", "run_sparse"]


@dataclass
class FeatureVectors:
    """What a route's ``features`` gives: one row of ``features`` per id, and the rule's settings."""

    ids: np.ndarray
    features: np.ndarray
    granularity: float = 0.0  # added to every pair cost
    neighbours: int = 7  # the cost rule's neighbourhood (feature_costs.K_NEIGHBOURS)
    settings: list[tuple[str, Any]] = field(default_factory=list)
    # informativeness.pixel_correlation per id (the profile route), for the noise check
    pixel_correlations: np.ndarray | None = None


def decide(n: int, options: ClusterOptions, route: Any) -> str | None:
    """``None`` when n images take the dense path, else the one line saying why they go sparse.

    Raises :class:`corrclust.memory.DenseLimitError` (or ``InsufficientMemoryError``) before anything
    is computed when they cannot take the dense path and the run cannot go sparse: the route scores
    every pair (PQAP, twin), or an option needs every pair (``--similarities``, ``--feedback``,
    ``--solver exact``, the route's own, see its ``check_sparse``).
    """
    from corrclust import memory
    from corrclust.embedding_clustering import choose_path

    limit = memory.dense_max_n(options.dense_max_n)
    _, note = choose_path(n, "auto", limit)
    if note is None:
        return None
    need = memory.format_bytes(memory.dense_feature_bytes(n))
    why = f"{n} images are above the dense limit of {limit} (their n x n matrices would need {need})"
    if n <= limit:
        why = f"the n x n matrices of {n} images would need {need}, more than the memory available"
    blocker = None
    if options.correlations is not None:
        blocker = "--similarities holds a dense matrix"
    elif not hasattr(route, "features"):
        blocker = f"--method {route.name} scores every pair"
    elif options.feedback is not None:
        blocker = "--feedback is applied on the dense path only"
    elif options.solver == "exact":
        blocker = "--solver exact does not scale to a collection this size (use kl or anytime)"
    else:
        check = getattr(route, "check_sparse", None)
        blocker = check(options) if check is not None else None
    if blocker is not None:
        if hasattr(route, "features") and options.correlations is None:
            instead = f"leave it out and --method {route.name} takes the sparse path"
        else:
            instead = (
                "use --method profile (sparse path), or save features as an (n, d) array for "
                "'corrclust cluster --embeddings'"
            )
        if n > limit:
            instead += ", or raise --dense-max-n"
        error = memory.DenseLimitError if n > limit else memory.InsufficientMemoryError
        raise error(f"{why}; {blocker}: {instead}")
    return f"{why}: sparse path (k-nearest-neighbour graph of the {route.name} features)"


def run_sparse(
    images: ImageSet,
    options: ClusterOptions,
    route: Any,
    *,
    checkpoint: Path | None,
    title: str,
    settings: list[tuple[str, Any]],
) -> tuple[ImageSet, Clustering, dict[str, Path], Any]:
    """Steps 2-5 on the sparse path: the images clustered (in the order of the clusters' ids), their
    clustering, the files written and the assessment (:mod:`corrclust.informativeness`, without its
    stability check)."""
    from corrclust.embedding_clustering import BACKGROUND_SOLVERS, cluster_embeddings
    from corrclust.pipeline.outputs import write_sparse_outputs
    from corrclust.pipeline.truth import resolve_truth

    out_dir = Path(options.out_dir)
    t0 = time.perf_counter()
    fv: FeatureVectors = route.features(images, options, checkpoint=checkpoint)
    where = {int(i): k for k, i in enumerate(images.ids)}
    images = images.subset([where[int(i)] for i in fv.ids])
    head = [("images", str(options.images_dir)), ("method", route.label), ("solver", options.solver)]
    settings = [*head, *settings, *fv.settings, (route.timing_label, f"{time.perf_counter() - t0:.1f} s")]
    say(f"clustering {fv.ids.size} images on the sparse path ({options.solver})")
    res = cluster_embeddings(
        fv.features,
        ids=fv.ids,
        path="sparse",
        neighbours=fv.neighbours,
        granularity=fv.granularity,
        solver=options.solver,
        seed=options.seed,
        time_limit=options.time_limit,
        threads=options.threads,
        progress=say if options.progress else None,
        # the background model has GAEC and moves only: anytime keeps the graph alone
        background="auto" if options.solver in BACKGROUND_SOLVERS else 0,
    )
    clustering = Clustering(
        labels=number_clusters(res.labels),
        objective=float(res.objective),
        status=str(getattr(res.solve, "status", "")),
        runtime=float(res.seconds.get("solve", 0.0)),
        solver=options.solver,
    )
    settings += [
        ("granularity (added to every cost)", f"{fv.granularity:g}"),
        ("path", f"sparse: {res.graph_k} nearest neighbours ({res.knn}), {res.pairs} pairs scored"),
        (
            "pairs left out",
            f"uniform cost {res.left_out_cost:.4g} in the objective estimate; "
            + (f"{res.background:.4g} in the solve" if res.background else "not in the solve"),
        ),
        ("objective over all pairs (estimate)", f"{res.objective_all_pairs:.6g}"),
        ("seed", options.seed),
    ]
    truth = resolve_truth(options.truth, images)
    # The checks that need no re-solve (one cluster, singletons, a dominant cluster, noise): the
    # sparse path had no assessment at all, so a screen of noise images went without a word (qa16).
    from corrclust.informativeness import assess

    assessment = assess(np.zeros((0, 0)), clustering.labels, pixel_correlations=fv.pixel_correlations)
    for finding in assessment.findings:
        say(f"warning: {finding}")
    files = write_sparse_outputs(
        out_dir,
        images,
        clustering,
        truth,
        settings,
        progress=options.progress,
        title=title,
        assessment=assessment,
    )
    return images, clustering, files, assessment
