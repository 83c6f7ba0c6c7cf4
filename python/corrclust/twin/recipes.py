"""Named training configurations: the paper's three twin networks and the ``fast`` recipe.

``paper-tni``, ``paper-tnia`` and ``paper-tnh`` reproduce §8 of the paper's model: balanced random
pairs (even item: same class, odd item: another class), 64 pairs per batch, 100 batches per epoch,
60 epochs, AdamW (lr 1e-4, weight decay 0.01), BCE, ReduceLROnPlateau(0.5, patience 20) stepped on
the epoch's training loss, and the final model is the one evaluated.

``fast`` trains on every pair inside a class-balanced batch (P classes x K images): one backbone
pass per image gives K(K-1)/2 * P positive and K^2 * P(P-1)/2 negative labelled pairs, weighted so
that positives and negatives count equally (the paper's balance). It uses the order-invariant head,
stronger augmentation (flips, 90-degree rotations, small rotations, intensity jitter), a higher
learning rate with a short warm-up and cosine decay, and a smaller input (128 px).

``cpu`` is ``fast`` sized to train in minutes on a CPU: 64 px, width 32, 600 steps. It is the
default of ``corrclust twin train`` when no GPU is present.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

__all__ = ["Recipe", "RECIPES", "get_recipe", "default_recipe", "budget_hint"]


@dataclass(frozen=True)
class Recipe:
    """Everything that defines a training run, apart from the data and the seed."""

    name: str
    input: str = "image"  # "image" | "histogram"
    head: str = "paper"  # "paper" | "symmetric"
    sampler: str = "pairs"  # "pairs": balanced random pairs | "pk": P classes x K images, all pairs
    image_size: int = 256  # side of the square network input (images only)
    width: int = 64  # ResNet-18 base width (64: the standard network; smaller for tiny data/tests)
    batch_size: int = 64  # pairs per batch ("pairs" sampler)
    classes_per_batch: int = 10  # P ("pk" sampler); capped at the number of classes
    images_per_class: int = 4  # K ("pk" sampler)
    steps_per_epoch: int = 100
    epochs: int = 60
    lr: float = 1e-4
    weight_decay: float = 0.01
    schedule: str = "plateau"  # "plateau": ReduceLROnPlateau on the train loss | "cosine"
    plateau_factor: float = 0.5
    plateau_patience: int = 20
    warmup_fraction: float = 0.05  # "cosine" only
    augmentation: str = "none"  # "none" | "paper" | "strong"
    aug_p: float = 0.0  # probability of each of the paper's augmentations
    small_rotation: float = 15.0  # "strong": largest small-rotation angle (degrees)
    jitter_gain: float = 1.25  # "strong": per-channel gain drawn log-uniformly in [1/g, g]; 1 = off

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    def with_overrides(self, **kwargs: Any) -> Recipe:
        """A copy with the given fields replaced (``None`` values are ignored)."""
        changes = {k: v for k, v in kwargs.items() if v is not None}
        unknown = set(changes) - set(self.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown recipe fields: {sorted(unknown)}")
        out = replace(self, **changes)
        out.validate()
        return out

    def validate(self) -> None:
        if self.input not in ("image", "histogram"):
            raise ValueError(f"recipe input must be 'image' or 'histogram', got {self.input!r}")
        if self.sampler not in ("pairs", "pk"):
            raise ValueError(f"recipe sampler must be 'pairs' or 'pk', got {self.sampler!r}")
        if self.schedule not in ("plateau", "cosine"):
            raise ValueError(f"recipe schedule must be 'plateau' or 'cosine', got {self.schedule!r}")
        if self.augmentation not in ("none", "paper", "strong"):
            raise ValueError(f"unknown augmentation {self.augmentation!r}")
        for field in ("image_size", "width", "batch_size", "steps_per_epoch", "epochs"):
            if int(getattr(self, field)) < 1:
                raise ValueError(f"{field.replace('_', '-')} must be positive, got {getattr(self, field)}")
        if self.image_size < 8:
            raise ValueError(f"image-size must be at least 8, got {self.image_size}")
        if self.classes_per_batch < 2 or self.images_per_class < 2:
            raise ValueError("the pk sampler needs at least 2 classes and 2 images per class per batch")
        if not (self.lr > 0):
            raise ValueError(f"lr must be positive, got {self.lr}")
        if not 0.0 <= self.small_rotation <= 180.0:
            raise ValueError(f"small_rotation must lie in [0, 180], got {self.small_rotation}")
        if not self.jitter_gain >= 1.0:
            raise ValueError(f"jitter_gain must be at least 1, got {self.jitter_gain}")
        if not 0.0 <= self.aug_p <= 1.0:
            raise ValueError(f"aug_p must lie in [0, 1], got {self.aug_p}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recipe:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        out = cls(**known)
        out.validate()
        return out


RECIPES: dict[str, Recipe] = {
    "paper-tni": Recipe(name="paper-tni"),
    "paper-tnia": Recipe(name="paper-tnia", augmentation="paper", aug_p=0.2),
    "paper-tnh": Recipe(name="paper-tnh", input="histogram"),
    "fast": Recipe(
        name="fast",
        head="symmetric",
        sampler="pk",
        image_size=128,
        classes_per_batch=10,
        images_per_class=4,
        steps_per_epoch=50,
        epochs=40,
        lr=1e-3,
        weight_decay=1e-4,
        schedule="cosine",
        augmentation="strong",
    ),
    # ``fast`` sized for a CPU: 64 px input, ResNet-18 at a quarter width (32), 600 steps. One step
    # (40 images) took about 0.4 s on one core, so the recipe ends in about 4 minutes; ``fast`` at
    # 128 px and width 64 reached 12 of its 2000 steps in 60 s. At this size and 700-760 steps
    # ``fast`` reached VI 2.65-2.89 on the RBC test crops (docs/twin.md).
    "cpu": Recipe(
        name="cpu",
        head="symmetric",
        sampler="pk",
        image_size=64,
        width=32,
        classes_per_batch=10,
        images_per_class=4,
        steps_per_epoch=50,
        epochs=12,
        lr=1e-3,
        weight_decay=1e-4,
        schedule="cosine",
        augmentation="strong",
    ),
}


def default_recipe(device_type: str) -> str:
    """The recipe ``corrclust twin train`` uses when none is named: ``cpu`` on a CPU, ``fast`` on a GPU."""
    return "fast" if device_type == "cuda" else "cpu"


def budget_hint(recipe: str) -> str:
    """The "barely trained" warning's advice after a run of ``recipe``, in the words of ``corrclust
    twin train``: the cpu recipe is suggested only when another one ran (it told users of the cpu
    recipe, the default on a CPU, to use the cpu recipe; audit qa15)."""
    more = "give a larger --time-budget (the run resumes)"
    return more if recipe == "cpu" else f"{more} or use the cpu recipe (--recipe cpu)"


def get_recipe(name: str) -> Recipe:
    """The named recipe; a clear ValueError lists the known names."""
    try:
        return RECIPES[name]
    except KeyError:
        raise ValueError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}") from None
