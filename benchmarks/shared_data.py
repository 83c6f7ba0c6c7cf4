"""``../shared`` beside the checkout, where most benchmarks read their data, and one line when it is absent.

A script ends its ``__main__`` block with ``raise SystemExit(run_main(main))``: when ``../shared`` is
missing, a missing file (``FileNotFoundError``, corrclust's ``ImageReadError``) ends it with one line
that names the folder, instead of a traceback from wherever the first file was opened. With
``../shared`` there, a missing file inside it still shows its traceback (something else is wrong).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def run_main(main: Callable[[], Any]) -> Any:
    """``main()``'s result; SystemExit with one line when it misses a file and ``../shared`` is absent."""
    from corrclust.images.io import ImageReadError

    try:
        return main()
    except (FileNotFoundError, ImageReadError):
        if SHARED.is_dir():
            raise
        raise SystemExit(
            f"{Path(sys.argv[0]).name}: {SHARED} not found: this benchmark reads its data from ../shared "
            "beside the checkout (a copy of the project's shared folder)"
        ) from None
