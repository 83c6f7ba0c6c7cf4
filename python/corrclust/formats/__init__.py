"""Readers and writers for the file formats corrclust meets.

* :mod:`corrclust.formats.clusterings`: the paper's clustering CSV (one cluster per line).
* :mod:`corrclust.formats.instances`: correlation-clustering instances (PACE ``.gr``, MULTICUT
  text, ``.npy``/``.npz`` cost matrices), read into a :class:`corrclust.Problem`; MULTICUT text
  written by :func:`corrclust.formats.instances.write_multicut`.
"""

from __future__ import annotations

from corrclust.formats.clusterings import (
    clusters_from_labels,
    labels_from_clusters,
    read_clustering,
    write_clustering,
)
from corrclust.formats.instances import read_instance, write_multicut

__all__ = [
    "read_clustering",
    "write_clustering",
    "labels_from_clusters",
    "clusters_from_labels",
    "read_instance",
    "write_multicut",
]
