"""Memory checks made before a large allocation.

A request that cannot fit should fail at once, saying what it would need, rather than after
minutes of swapping or with a ``std::bad_alloc`` traceback. :func:`require` compares an estimate
with the memory the operating system reports as available (``MemAvailable`` in
``/proc/meminfo``, else the free physical pages); where neither can be read, nothing is refused.

The estimates are the sizes of the arrays a step allocates, not guesses at overhead: a dense
problem holds one ``float64`` ``n x n`` matrix; a sparse solve holds per-node and per-edge arrays
whose size was measured (:data:`SPARSE_BYTES_PER_NODE`, :data:`SPARSE_BYTES_PER_EDGE`).
"""

from __future__ import annotations

import os

__all__ = [
    "InsufficientMemoryError",
    "SPARSE_BYTES_PER_NODE",
    "SPARSE_BYTES_PER_EDGE",
    "available_bytes",
    "dense_problem_bytes",
    "EXACT_DENSE_BYTES_PER_PAIR",
    "exact_dense_bytes",
    "sparse_problem_bytes",
    "format_bytes",
    "require",
    "DENSE_MAX_N",
    "DENSE_FEATURE_MATRICES",
    "dense_max_n",
    "dense_feature_bytes",
    "DenseLimitError",
]

# Peak RSS growth of a sparse solve on 5 million nodes and one edge (Linux, numpy 2.4): GAEC 89,
# Kernighan-Lin 203, anytime 307 bytes per node. The largest, rounded up, so that no method is let
# through that would not fit.
SPARSE_BYTES_PER_NODE = 320
# Per edge: the (m, 2) int64 edge array and float64 costs in Python (24 B), their copy and the
# CSR adjacency in both directions in the core (about 40 B).
SPARSE_BYTES_PER_EDGE = 64
# The exact solver on a complete graph: peak RSS growth per node pair (n(n-1)/2 pairs) by the time
# the first LP is built, before any cut (the edge list, its adjacency, the first incumbent's
# matrices and the LP's columns): 170 bytes at n = 1000 and 144 at n = 2000 (random normal costs,
# 0.5 s time limit, Linux). Rounded down, so that nothing that would start is refused; the cuts
# then add far more (2.6 to 4 KB per pair after 10 s at n = 300 to 1000).
EXACT_DENSE_BYTES_PER_PAIR = 128


#: Largest n for which a dense n x n matrix is built (``--dense-max-n``, or the environment variable
#: ``CORRCLUST_DENSE_MAX_N``); above it feature vectors take the sparse path (a kNN graph).
DENSE_MAX_N = 20_000
#: n x n float64 matrices alive at once while the dense cost rule of feature vectors runs
#: (distances, sorted copy, scaled distances, costs): peak RSS growth measured at n = 4,000 was
#: 4.01 x 8 n^2 bytes.
DENSE_FEATURE_MATRICES = 4


class DenseLimitError(ValueError):
    """A dense n x n matrix was asked for above the configured limit on n."""


def dense_max_n(value: int | None = None) -> int:
    """The limit on n of dense matrices: ``value``, else ``CORRCLUST_DENSE_MAX_N``, else :data:`DENSE_MAX_N`."""
    if value is None:
        env = os.environ.get("CORRCLUST_DENSE_MAX_N", "").strip()
        if not env:
            return DENSE_MAX_N
        try:
            value = int(env)
        except ValueError:
            raise ValueError(f"CORRCLUST_DENSE_MAX_N must be a whole number, got {env!r}") from None
    if int(value) < 2:
        raise ValueError(f"the dense limit on n must be at least 2, got {value}")
    return int(value)


def dense_feature_bytes(n: int) -> int:
    """Peak bytes of the dense cost rule of ``n`` feature vectors (:data:`DENSE_FEATURE_MATRICES` matrices)."""
    return DENSE_FEATURE_MATRICES * dense_problem_bytes(n)


class InsufficientMemoryError(MemoryError):
    """A step would need more memory than is available; raised before anything is allocated."""


def available_bytes() -> int | None:
    """Memory available to a new allocation, in bytes, or None where it cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


def dense_problem_bytes(n: int) -> int:
    """Bytes of the ``float64`` ``n x n`` cost matrix of a dense problem."""
    return 8 * int(n) * int(n)


def exact_dense_bytes(n: int) -> int:
    """Bytes the exact solver needs at least to start on a complete graph of ``n`` nodes."""
    return EXACT_DENSE_BYTES_PER_PAIR * (int(n) * (int(n) - 1) // 2)


def sparse_problem_bytes(n: int, m: int) -> int:
    """Bytes a sparse problem on ``n`` nodes and ``m`` edges needs to be built and solved."""
    return SPARSE_BYTES_PER_NODE * int(n) + SPARSE_BYTES_PER_EDGE * int(m)


def format_bytes(nbytes: float) -> str:
    """``nbytes`` in the largest binary unit that keeps the number at least 1 (``'80.0 GiB'``)."""
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def require(nbytes: int, what: str) -> None:
    """Raise :class:`InsufficientMemoryError` if ``what`` (needing ``nbytes``) cannot fit."""
    available = available_bytes()
    if available is not None and nbytes > available:
        raise InsufficientMemoryError(
            f"{what} needs {format_bytes(nbytes)} of memory and {format_bytes(available)} is available"
        )
