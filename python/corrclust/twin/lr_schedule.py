"""The learning-rate schedule of the torch trainers (twin networks and self-supervised embeddings):
a linear warm-up, then a cosine decay to 1 % of the base rate.

Progress is the larger of the share of steps done and, under a time budget, the share of the budget
spent, so that a run stopped by its budget has decayed fully by then.
"""

from __future__ import annotations

import math

__all__ = ["warmup_cosine_lr"]


def warmup_cosine_lr(
    base_lr: float,
    step: int,
    total_steps: int,
    warmup_fraction: float,
    elapsed: float = 0.0,
    time_budget: float | None = None,
) -> float:
    """The learning rate for the next step."""
    progress = step / max(1, total_steps)
    if time_budget:
        progress = max(progress, elapsed / time_budget)
    progress = min(progress, 1.0)
    if progress < warmup_fraction:
        factor = (progress + 1.0 / max(1, total_steps)) / warmup_fraction
    else:
        rest = (progress - warmup_fraction) / max(1e-12, 1.0 - warmup_fraction)
        factor = 0.5 * (1.0 + math.cos(math.pi * rest))
    return base_lr * min(1.0, max(factor, 0.01))
