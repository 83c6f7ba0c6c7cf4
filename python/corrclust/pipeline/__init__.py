"""From a folder of organoid images to clusters, metrics and a report (``corrclust cluster``).

The steps, one module each:

==========================  ===================================================================
module                      what it holds
==========================  ===================================================================
``pipeline.options``        :class:`ClusterOptions` (everything ``corrclust cluster`` takes),
                            :data:`SOLVERS`, the sweep rule
``pipeline.images``         step 1, :func:`load_images`: list the folder
                            (:func:`corrclust.images.io.list_images`), read every image once, keep
                            a thumbnail for the report, set unreadable files aside (reported)
``pipeline.routes``         step 2, the similarity *routes* behind one interface (:class:`Route`):
                            ``profile`` (label-free morphology profiles), ``pqap`` (key points +
                            PQAP matching), ``twin`` (a twin network) and ``ssl`` (a
                            self-supervised embedding); :data:`METHODS` lists them
``pipeline.correlations``   :class:`Correlations` (ids and an n x n matrix S or P),
                            :func:`compute_correlations` (runs the route, or reads a saved matrix
                            with :func:`load_correlations`), :func:`align_images`
``pipeline.clustering``     step 3, :func:`cluster`: the correlation-clustering problem, solved;
                            clusters renumbered 1..K by decreasing size (:func:`number_clusters`)
``pipeline.truth``          :class:`Truth`, :func:`resolve_truth` and the one rule for a truth that
                            covers only some ids (used by ``cluster`` and ``evaluate`` alike)
``pipeline.evaluation``     step 4, :func:`evaluate`: the metrics of :func:`corrclust.metrics.compare`,
                            per subset (:func:`corrclust.metrics.subset_metrics`), and a
                            :func:`sweep` of the threshold (similarities) or bias (probabilities)
``pipeline.outputs``        step 5, :func:`write_outputs`: ``clusters.csv``, ``clustering.csv``,
                            ``similarities.npz``, ``metrics.json``, ``sweep.csv``, the figures and
                            ``report.html`` last
``pipeline.runner``         :func:`run` (all steps) and :func:`run_on_correlations` (steps 3-5)
==========================  ===================================================================

Every file is written to a temporary name in its final folder and renamed into place
(:mod:`corrclust.atomic`), and a previous run's ``report.html`` is removed when a run starts, so an
interrupted or failed run never leaves a report that looks complete.

**Adding a similarity route** (e.g. ``profile``, added this way): write
``pipeline/routes/profile.py`` with a class that has the members of
:class:`~corrclust.pipeline.routes.Route` (``name``, ``label``, ``timing_label``,
``check(options)``, ``correlate(images, options, *, checkpoint)`` returning :class:`Correlations`,
``settings(options)``) and ``ROUTE = ProfileRoute()``, then add the line
``"profile": "corrclust.pipeline.routes.profile"`` to ``ROUTES`` in ``pipeline/routes/__init__.py``.
``--method profile`` then works. A route with options of its own adds them to ``corrclust cluster``
in an optional ``add_arguments(group)`` and reads them from ``options.route_options``; see
:mod:`corrclust.pipeline.routes` for the details.
"""

from __future__ import annotations

from corrclust.metrics import subset_metrics
from corrclust.pipeline.clustering import Clustering, cluster, number_clusters
from corrclust.pipeline.correlations import (
    Correlations,
    align_images,
    compute_correlations,
    load_correlations,
)
from corrclust.pipeline.evaluation import Evaluation, evaluate, sweep
from corrclust.pipeline.images import ImageSet, load_images, subset_folder_records
from corrclust.pipeline.options import SOLVERS, SWEEP_AUTO_MAX, ClusterOptions
from corrclust.pipeline.outputs import write_outputs
from corrclust.pipeline.routes import METHODS, ROUTES, Route, get_route
from corrclust.pipeline.runner import PipelineResult, run, run_on_correlations
from corrclust.pipeline.truth import Truth, resolve_truth, truth_from_clusters

__all__ = [
    "METHODS",
    "SOLVERS",
    "ClusterOptions",
    "ImageSet",
    "Correlations",
    "Clustering",
    "Evaluation",
    "PipelineResult",
    "load_images",
    "compute_correlations",
    "cluster",
    "number_clusters",
    "resolve_truth",
    "evaluate",
    "subset_metrics",
    "sweep",
    "write_outputs",
    "run",
    "run_on_correlations",
    # also public (used by the CLI, benchmarks and tests)
    "ROUTES",
    "Route",
    "get_route",
    "SWEEP_AUTO_MAX",
    "Truth",
    "truth_from_clusters",
    "load_correlations",
    "align_images",
    "subset_folder_records",
]
