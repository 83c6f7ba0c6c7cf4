"""The pipeline's one-line notes to the user (stderr, prefixed ``corrclust:``)."""

from __future__ import annotations

import sys

__all__ = ["say"]


def say(message: str) -> None:
    print(f"corrclust: {message}", file=sys.stderr, flush=True)
