"""Values made fit for JSON: the one conversion every JSON output of corrclust goes through.

JSON has no NaN or infinity and knows no numpy types: :func:`jsonable` turns numpy scalars and
arrays into Python numbers and lists, non-finite floats into ``None`` (``null``), tuples into lists
and mapping keys into strings, recursively.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["jsonable"]


def jsonable(x: Any) -> Any:
    """``x`` with every value JSON can represent as is; see the module docstring."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        return v if math.isfinite(v) else None
    return x
