"""What the benchmarks need beside corrclust, and one line (exit 1) when it is missing.

* ``../shared`` beside the checkout, where most of them read their data: a script ends its
  ``__main__`` block with ``raise SystemExit(run_main(main))``; when ``../shared`` is missing, a missing
  file (``FileNotFoundError``, corrclust's ``ImageReadError``) ends it with one line that names the
  folder, instead of a traceback from wherever the first file was opened. With ``../shared`` there, a
  missing file inside it still shows its traceback (something else is wrong).
* PyTorch, for the twin-network, self-supervised and crop-CNN benchmarks: ``require_torch(script)``
  after the arguments are parsed (so that ``--help`` still answers).
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


def require_torch(script: str) -> None:
    """SystemExit with one line when PyTorch is not installed (an ImportError traceback before; audit qa15)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise SystemExit(f"{script}: needs PyTorch: pip install 'corrclust[torch]'") from None
