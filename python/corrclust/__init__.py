"""corrclust: find the morphological classes in a collection of organoid images.

Correlate every pair of images (label-free morphology profiles, PQAP key-point matching, a twin
network or a self-supervised embedding), cluster by correlation clustering (minimum-cost multicut;
GAEC, Kernighan-Lin, an anytime solver and an exact branch-and-cut solver), and evaluate against a
manual classification.

Convention: minimise the sum of the costs of the cut edges; a positive cost is attractive.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from typing import Any

# The installed distribution's version (set from the git tag at build time), so that
# ``corrclust --version`` names the wheel that is installed; a bare source tree on sys.path that
# was never installed has none.
try:
    __version__ = importlib.metadata.version("corrclust")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - uninstalled source tree
    __version__ = "0+unknown"

# ``solve`` is imported eagerly: the function shares its name with the module ``corrclust.solve``,
# and importing it here fixes the package attribute to the function once and for all.
from corrclust.solve import SolveResult, dual_bound, solve

# Other public names, loaded on first use so that optional parts (torch, dask) are imported only by
# the code that needs them.
_LAZY = {
    "Problem": "corrclust.problem",
    "CorrelationClustering": "corrclust.estimator",
    "read_instance": "corrclust.formats.instances",
    "cluster_embeddings": "corrclust.embedding_clustering",
    "KLOptions": "corrclust.solver_options",
    "AnytimeOptions": "corrclust.solver_options",
    "ExactOptions": "corrclust.solver_options",
    "BoundOptions": "corrclust.solver_options",
}
_SUBMODULES = {
    "metrics",
    "pqap",
    "images",
    "twin",
    "report",
    "formats",
    "problem",
    "estimator",
    "generators",
    "segmentation_graphs",
    "pipeline",
    "solver_options",
    "candidates",
    "embedding_clustering",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"corrclust.{name}")
    raise AttributeError(f"module 'corrclust' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)


__all__ = ["__version__", "solve", "dual_bound", "SolveResult", *_LAZY]
