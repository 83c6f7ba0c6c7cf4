"""Similarity routes: how a set of images becomes pair correlations.

A *route* turns an :class:`~corrclust.pipeline.images.ImageSet` into the ids it could correlate
and an n x n matrix (:class:`~corrclust.pipeline.correlations.Correlations`): similarities S
(costs ``sym(s_ij, s_ji) - threshold``) or probabilities P (costs ``logit(sym(p_ij, p_ji)) + bias``).
``corrclust cluster --method NAME`` picks the route called NAME; every route satisfies
:class:`Route`.

Adding a route (e.g. ``profile``) is one new file and one line here:

1. ``python/corrclust/pipeline/routes/profile.py`` defines a class with the members of
   :class:`Route` (``name``, ``label``, ``timing_label``, ``check``, ``correlate``, ``settings``)
   and a module-level ``ROUTE = ProfileRoute()``. Import heavy or optional libraries inside
   ``correlate``, so that listing the routes stays cheap. ``correlate`` may drop images it cannot
   correlate (return fewer ids; append ``(path, reason)`` to ``images.failures``); the pipeline
   aligns the image set to the returned ids.
2. Add ``"profile": "corrclust.pipeline.routes.profile"`` to :data:`ROUTES` below.

The name then appears in ``--method``'s choices, in :data:`METHODS` and in the run's settings.

Options of its own: a route may also define ``add_arguments(group)``, which adds its options to
``corrclust cluster`` (``group`` is an argparse argument group titled after the route; give every
option a ``dest`` that starts with the route's name, e.g. ``--profile-bins`` -> ``profile_bins``).
When ``--method`` names the route, the parsed values arrive in ``options.route_options`` (a dict
keyed by ``dest``); check them in ``check``. Options that several routes share (``--model``,
``--threshold``, ``--bias``, ``--symmetrize``, ``--threads``) are fields of
:class:`~corrclust.pipeline.options.ClusterOptions`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # types only: the route modules import the options, not the other way round
    from corrclust.pipeline.correlations import Correlations
    from corrclust.pipeline.images import ImageSet
    from corrclust.pipeline.options import ClusterOptions

__all__ = [
    "AUTO",
    "ROUTES",
    "METHODS",
    "KEYPOINT_CHANNELS",
    "Route",
    "get_route",
    "default_route",
    "require_torch",
]

#: Route name -> the module that defines its ``ROUTE`` object (imported on first use).
ROUTES: dict[str, str] = {
    "pqap": "corrclust.pipeline.routes.pqap",
    "twin": "corrclust.pipeline.routes.twin",
    "profile": "corrclust.pipeline.routes.profile",
    "ssl": "corrclust.pipeline.routes.ssl",
}
#: The route names, in the order of ``--method``'s choices (none is the default: :data:`AUTO`).
METHODS: tuple[str, ...] = tuple(ROUTES)


#: ``ClusterOptions(method=AUTO)``, what ``corrclust cluster`` runs without ``--method`` (there is no
#: ``--method auto``): :func:`default_route` picks the route from the images.
AUTO = "auto"
#: The paper's key points need planes 0 (nuclei), 1 (PDX1-GFP) and 3 (membranes): at least 4 channels.
KEYPOINT_CHANNELS = 4


def default_route(images, read=None) -> str:
    """``pqap`` when every image has the paper's key-point channels (at least ``KEYPOINT_CHANNELS``),
    else ``profile`` (brightfield, RGB and other fluorescence crops: morphology profiles, no labels).
    Unreadable files do not vote (the pipeline has set them aside already). ``images``: paths or
    :class:`corrclust.images.io.ImageRecord` s (a record of one time point is read at it), read with
    ``read`` (ReadOptions) but all their planes (``--channels`` picks the key points' planes, not
    whether they exist)."""
    from corrclust.images.io import ImageRecord, ReadOptions, read_image_data, read_record

    options = (read or ReadOptions()).without_channels()
    channels = []
    for item in images:
        try:
            if isinstance(item, ImageRecord):
                img = read_record(item, options).pixels
            else:
                img = read_image_data(item, options).pixels
        except ValueError:
            continue
        channels.append(1 if img.ndim == 2 else img.shape[2])
    return "pqap" if channels and min(channels) >= KEYPOINT_CHANNELS else "profile"


class Route(Protocol):
    """The interface of a similarity route."""

    #: The ``--method`` name, e.g. ``"pqap"``.
    name: str
    #: How the report names the method, e.g. ``"PQAP"``.
    label: str
    #: The report's name for the time the route took, e.g. ``"PQAP matching time"``.
    timing_label: str

    def check(self, options: ClusterOptions) -> None:
        """Reject options that do not fit this route (ValueError), before any work is done."""

    def correlate(
        self, images: ImageSet, options: ClusterOptions, *, checkpoint: Path | None
    ) -> Correlations:
        """The correlations of ``images`` (ids in any order, a subset of ``images.ids``).

        ``checkpoint``: a file in the output folder where a long route may save finished work so
        that a rerun resumes (removed by the pipeline when the run completes); may be ignored.
        """

    def settings(self, options: ClusterOptions) -> list[tuple[str, Any]]:
        """Lines of the report's settings table that describe this route's inputs."""

    # Optional: ``def settings_of(self, corr: Correlations) -> list[tuple[str, Any]]``: lines of the
    # settings table that only the computed correlations know (what the run chose and fitted).
    # Optional: ``def add_arguments(self, group: argparse._ArgumentGroup) -> None`` (see above).
    # Optional: ``def features(self, images, options, *, checkpoint) -> FeatureVectors`` (one feature
    # vector per image, :mod:`corrclust.pipeline.sparse`): a route that has it takes the sparse path
    # above the dense limit instead of being refused; ``def check_sparse(self, options) -> str | None``
    # says why its options need every pair (None: they do not).


def require_torch(what: str) -> None:
    """ValueError naming the extra when PyTorch is not installed, for a route's ``check``: without it
    ``--method ssl`` ended in a traceback, and ``--method twin`` and ``--ssl-model`` failed only
    after every image had been read (and profiled). Looks torch up without importing it."""
    import importlib.util

    try:
        found = importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):  # ValueError: a None entry in sys.modules
        found = False
    if not found:
        raise ValueError(f"{what} needs PyTorch: pip install 'corrclust[torch]'")


def get_route(name: str) -> Route:
    """The route called ``name``; ValueError naming the choices for an unknown name."""
    if name not in ROUTES:  # ROUTES, not METHODS: a route registered at run time counts too
        raise ValueError(f"unknown method {name!r} (choose one of {', '.join(METHODS)})")
    route: Route = importlib.import_module(ROUTES[name]).ROUTE
    return route
