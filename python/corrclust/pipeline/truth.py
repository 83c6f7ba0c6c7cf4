"""The truth a clustering is compared with, and the one rule for a truth that covers only some ids.

**Partial truths.** The metrics are computed over the ids that both the clustering and the truth
hold. Clustered ids the truth does not name are left out of the metrics (a note on stderr says how
many are left); ids only the truth names are ignored; fewer than two ids in common is an error.
``corrclust cluster`` (with images or with a matrix only) and ``corrclust evaluate`` all apply this
rule through :func:`truth_from_clusters` / :func:`check_coverage`.

**Class names.** A truth line whose ids all share ``id // 100`` is named by that class (the paper's
files), provided the lines get distinct names that way; otherwise classes are named by line number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from corrclust.pipeline.images import ImageSet
from corrclust.pipeline.messages import say

__all__ = ["Truth", "truth_from_clusters", "check_coverage", "resolve_truth"]


@dataclass
class Truth:
    """True classes (strings) of some of the images; ``None`` where unknown."""

    classes: list[str | None]
    source: str

    @property
    def known(self) -> np.ndarray:
        return np.array([c is not None for c in self.classes], dtype=bool)


def truth_from_clusters(
    groups: Sequence[Sequence[int]], ids: Sequence[int] | np.ndarray, source: str
) -> Truth:
    """The classes of ``ids`` given by the truth ``groups`` (one list of ids per class), checked by
    :func:`check_coverage`. ``source`` names the truth in messages."""
    paper = [{int(i) // 100 for i in g} for g in groups]
    if all(len(c) == 1 for c in paper) and len({next(iter(c)) for c in paper}) == len(groups):
        names = [str(next(iter(c))) for c in paper]
    else:
        names = [f"line {k + 1}" for k in range(len(groups))]
    where = {int(i): names[k] for k, g in enumerate(groups) for i in g}
    truth = Truth([where.get(int(i)) for i in ids], str(source))
    check_coverage(truth, ids)
    return truth


def check_coverage(truth: Truth, ids: Sequence[int] | np.ndarray) -> None:
    """Apply the partial-truth rule: ValueError below two known ids, a note when some are unknown."""
    arr = np.asarray(ids)
    k = int(truth.known.sum())
    if k < 2:
        raise ValueError(
            f"the truth ({truth.source}) names {k} of the {arr.size} clustered image ids; "
            f"image ids are e.g. {', '.join(str(int(i)) for i in arr[:5])}"
        )
    if k < arr.size:
        say(f"truth covers {k} of {arr.size} images; metrics are over those {k}")


def resolve_truth(spec: str | None, images: ImageSet) -> Truth | None:
    """The truth for ``images``: from a paper-format clustering CSV, from the images' own classes
    (``"auto"``), or none. A CSV may cover only some images (see the partial-truth rule above)."""
    if spec is None:
        return None
    ids = images.ids
    if spec == "auto":
        classes = [r.label for r in images.records]
        if all(c is None for c in classes):
            raise ValueError(
                "--truth auto: the images carry no classes (name them <name>_<id>.tif with class = id // 100, "
                "put them in class folders, or pass an ids table with a class column)"
            )
        truth = Truth(classes, "the images' classes (--truth auto)")
        check_coverage(truth, ids)
        return truth
    from corrclust.formats.clusterings import read_clustering

    return truth_from_clusters(read_clustering(spec), ids, str(spec))
