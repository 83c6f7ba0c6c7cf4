"""From microscopy images to organoids: IO, detection and cropping, key points, histograms,
a synthetic organoid generator and real single-cell crops (RBC).

Submodules: ``io``, ``detection`` (with its candidate score ``organoid_score``; fitting that
score is ``detection_model``), ``nuclei``, ``keypoints``, ``histograms``, ``synthetic``, ``rbc``.
The most used functions are also available here, loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "read_image": "io",
    "read_image_data": "io",
    "ReadOptions": "io",
    "parse_name": "io",
    "read_mask": "io",
    "read_time_points": "io",
    "split_time_points": "io",
    "list_images": "io",
    "scan_images": "io",
    "ImageRecord": "io",
    "ImageReadError": "io",
    "detect_organoids": "detection",
    "crop_fields": "detection",
    "extract_keypoints": "keypoints",
    "extract_keypoint_set": "keypoints",
    "channel_histograms": "histograms",
    "generate_synthetic": "synthetic",
    "make_rbc_crops": "rbc",
}
_RENAMED = {"generate_synthetic": "generate", "make_rbc_crops": "make_crops"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f"corrclust.images.{_LAZY[name]}")
        return getattr(module, _RENAMED.get(name, name))
    raise AttributeError(f"module 'corrclust.images' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
