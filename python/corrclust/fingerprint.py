"""Fingerprints of arrays: which input a stage or a scorer saw.

A distributed run folder stores the fingerprint of every input of a stage and reuses the stage's
results only when they match (:mod:`corrclust.distributed`); a pair scorer names its local scales
by one in its ``repr`` (:class:`corrclust.feature_costs.LocalScalingCost`), which enters that
fingerprint in turn. One function, so both hash the same bytes the same way.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["of_arrays"]


def of_arrays(*arrays: np.ndarray) -> str:
    """SHA-1 (hex) of the arrays' shapes, types and bytes, in order."""
    h = hashlib.sha1()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.shape}{a.dtype.str}".encode())
        h.update(a.data.cast("B") if a.size else b"")
    return h.hexdigest()
