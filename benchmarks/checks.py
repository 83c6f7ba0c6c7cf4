"""What a benchmark checks about the results it timed, and its exit code.

A timing table of wrong answers is worse than none (audit qa15: seven scripts printed tables without
checking what they timed). A script makes one :class:`Checks`, calls :meth:`Checks.expect` for each
fact about a row (labels one per input, an objective recomputed from the labels, the same seed giving
the same labels, ...), and ends with ``return checks.exit_code()``: each failed fact is one line on
stderr, ``SCRIPT: ROW: WHAT``, said when it is found (so an exception later does not hide it), and
the exit code is 1 when there was one.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np


class Checks:
    def __init__(self, script: str) -> None:
        self.script = script
        self.failures: list[str] = []
        self.passed = 0

    def expect(self, ok: Any, row: str, what: str) -> bool:
        """Record ``row: what`` as a failure unless ``ok``; ``ok`` back, so a caller can skip what follows."""
        if ok:
            self.passed += 1
            return True
        self.failures.append(f"{row}: {what}")
        print(f"{self.script}: {row}: {what}", file=sys.stderr, flush=True)
        return False

    def close(self, a: float, b: float, row: str, what: str, rtol: float = 1e-9, atol: float = 1e-9) -> bool:
        """``a`` (reported) equal to ``b`` (recomputed) within the tolerance, both finite."""
        ok = bool(np.isfinite(a) and np.isfinite(b) and abs(a - b) <= atol + rtol * abs(b))
        return self.expect(ok, row, f"{what}: reported {float(a)!r}, recomputed {float(b)!r}")

    def labels(self, labels: Any, n: int, row: str) -> bool:
        """One integer label per input, none negative."""
        lab = np.asarray(labels)
        if not self.expect(lab.shape == (n,), row, f"labels of shape {lab.shape}, not one per input ({n})"):
            return False
        if not self.expect(
            np.issubdtype(lab.dtype, np.integer), row, f"labels of dtype {lab.dtype}, not integers"
        ):
            return False
        return self.expect(n == 0 or lab.min() >= 0, row, f"a negative label ({lab.min()})")

    def exit_code(self) -> int:
        return 1 if self.failures else 0


def cut_cost(costs: np.ndarray, labels: np.ndarray) -> float:
    """Sum of the dense ``costs`` over the pairs i < j that ``labels`` put apart (numpy, not the core)."""
    lab = np.asarray(labels)
    cut = lab[:, None] != lab[None, :]
    return float(np.triu(np.where(cut, costs, 0.0), k=1).sum())
