"""The ``twin`` route: a trained twin network scores every pair of images (needs PyTorch).

Gives probabilities P (p(same class)); the costs are ``logit(mean(p_ij, p_ji)) + bias``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from corrclust.images.io import read_record
from corrclust.pipeline.correlations import Correlations
from corrclust.pipeline.images import ImageSet
from corrclust.pipeline.messages import say
from corrclust.pipeline.options import ClusterOptions
from corrclust.pipeline.routes import require_torch

__all__ = ["ROUTE", "TwinRoute"]


class TwinRoute:
    name = "twin"
    label = "twin network"
    timing_label = "twin prediction time"

    def check(self, options: ClusterOptions) -> None:
        self.warnings: list[str] = []  # filled by correlate; a fresh run starts without
        if options.model is None and options.correlations is None:
            raise ValueError(
                "--method twin needs a trained model: pass --model MODEL.pt (see 'corrclust twin')"
            )
        if options.params is not None:
            raise ValueError("--params is a PQAP parameter file; it does not apply to --method twin")
        if options.correlations is None:  # a stored matrix needs no network
            require_torch("--method twin")

    def correlate(
        self, images: ImageSet, options: ClusterOptions, *, checkpoint: Path | None
    ) -> Correlations:
        try:
            from corrclust.twin import from_arrays, load_model, predict
        except ImportError as exc:
            raise ValueError(f"--method twin needs PyTorch and the twin-network module ({exc})") from None
        if options.model is None:
            raise ValueError("--method twin needs --model (a trained twin network)")
        model = load_model(options.model)
        self.warnings = list(model.warnings)  # stored at training time ("barely trained")
        for w in self.warnings:
            say(f"warning: twin model {options.model}: {w}")
        cfg = model.config
        say(f"computing twin-network probabilities for {len(images.records)} images")
        # The readable images only (unreadable files were skipped when the folder was loaded).
        arrays = [read_record(r, options.read).pixels for r in images.records]
        data = from_arrays(
            arrays,
            None,
            [str(r.id) for r in images.records],
            cfg.input,
            cfg.input_size,
            [str(r.path) for r in images.records],
        )
        pred = predict(model, data)
        ids = np.array([int(i) for i in pred.ids], dtype=np.int64)
        return Correlations(
            ids, np.asarray(pred.P, dtype=np.float64), "probability", options.bias, options.symmetrize
        )

    def settings(self, options: ClusterOptions) -> list[tuple[str, Any]]:
        return [("twin model", str(options.model))] + [("warning", w) for w in getattr(self, "warnings", [])]


ROUTE = TwinRoute()
