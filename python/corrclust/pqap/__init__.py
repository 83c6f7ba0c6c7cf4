"""PQAP similarities between organoids (paper-model.md §2-§6).

Key points of two organoids are matched by a partial quadratic assignment problem (PQAP); the
similarity s(A -> B) = E(x) / E_opt of the matching x found by the solver. This package reads and
writes the paper's files (:mod:`corrclust.pqap.io`), evaluates the cost model and solves single
pairs (:mod:`corrclust.pqap.similarity`), computes all-pairs similarity matrices with threads,
checkpoints or Dask, and learns the five cost parameters (:mod:`corrclust.pqap.learn`).
"""

from __future__ import annotations

import importlib
from typing import Any

from corrclust.pqap.io import (
    FIELDS,
    KeypointSet,
    MatchingResults,
    PqapParameters,
    read_keypoints,
    read_matching_results,
    read_parameters,
    write_keypoints,
    write_matching_results,
    write_parameters,
)

# Names that need the C++ extension (or dask) are loaded on first use.
_LAZY = {
    "similarity_matrix": "corrclust.pqap.similarity",
    "match_pair": "corrclust.pqap.similarity",
    "assignment_cost": "corrclust.pqap.similarity",
    "e_opt": "corrclust.pqap.similarity",
    "PairMatch": "corrclust.pqap.similarity",
    "learn_parameters": "corrclust.pqap.learn",
    "LearnResult": "corrclust.pqap.learn",
    "evaluate_parameters": "corrclust.pqap.learn",
    "similarity_matrix_dask": "corrclust.pqap.distributed",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'corrclust.pqap' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "FIELDS",
    "KeypointSet",
    "MatchingResults",
    "PqapParameters",
    "read_keypoints",
    "read_matching_results",
    "read_parameters",
    "write_keypoints",
    "write_matching_results",
    "write_parameters",
    *_LAZY,
]
