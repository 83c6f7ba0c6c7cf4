"""Which torch build and device a twin command runs on, in one line.

A default ``pip install torch`` on Linux brings a multi-gigabyte CUDA build even on a machine
without a GPU; the CPU-only build (``--index-url https://download.pytorch.org/whl/cpu``) does the
same work there. The commands print this line at start so that a user sees both facts before a
long run.
"""

from __future__ import annotations

import torch

from corrclust.twin.train import resolve_device


def build_kind() -> str:
    """'CPU-only', 'CUDA 12.8' or 'ROCm 6.3': what the installed torch was built for."""
    if torch.version.cuda:
        return f"CUDA {torch.version.cuda}"
    hip = getattr(torch.version, "hip", None)
    if hip:
        return f"ROCm {hip}"
    return "CPU-only"


def describe(device: str | None) -> str:
    """One line naming the torch version and build and the device ``device`` resolves to.

    ``device`` is what the user asked for (None/"auto", "cpu", "cuda", "cuda:N"); an unknown or
    unavailable device raises the same ValueError as training would.
    """
    dev = resolve_device(device)
    kind = build_kind()
    line = f"torch {torch.__version__} ({kind} build); device {dev}"
    if dev.type == "cuda":
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        line += f" ({torch.cuda.get_device_name(index)})"
    else:
        line += f" ({torch.get_num_threads()} threads)"
        if kind != "CPU-only":
            line += f"; this {kind} build sees no GPU: the CPU-only build is smaller (see README)"
    return line
