"""The ``pqap`` route: key points of every image, PQAP matching of every ordered pair (the paper).

Gives similarities S (``s(a -> b) = E(x) / E_opt``); the costs are ``min(s_ij, s_ji) - threshold``.
Images without key points are left out (reported). Finished pairs go to the checkpoint, so an
interrupted run resumes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from corrclust.pipeline.correlations import Correlations
from corrclust.pipeline.images import ImageSet
from corrclust.pipeline.messages import say
from corrclust.pipeline.options import ClusterOptions

__all__ = ["ROUTE", "PqapRoute"]


class PqapRoute:
    name = "pqap"
    label = "PQAP"
    timing_label = "PQAP matching time"

    def check(self, options: ClusterOptions) -> None:
        # --params and --pqap-mode are checked where they are read.
        channels = options.read.channels
        if channels is not None and len(channels) != 3 and options.correlations is None:
            raise ValueError(
                f"--channels for PQAP names the blue, green and red planes of the key points "
                f"(three entries, '-' for none), got {len(channels)}"
            )

    def correlate(
        self, images: ImageSet, options: ClusterOptions, *, checkpoint: Path | None
    ) -> Correlations:
        from corrclust import pqap

        try:
            from corrclust.images.keypoints import extract_keypoint_set
        except ImportError as exc:  # pragma: no cover - only while the images area lacks key points
            raise ValueError(f"--method pqap is not available in this build ({exc})") from None
        if options.params is not None:
            params = pqap.read_parameters(options.params)
        else:
            params = pqap.PqapParameters.paper()
        params.validate()
        say(f"extracting key points from {len(images.records)} images")
        failures: list[tuple[Path, str]] = []
        if options.read.channels is None:
            keypoints = extract_keypoint_set(
                images.records, failures=failures, progress=options.progress, read=options.read
            )
        else:
            blue, green, red = options.read.channels  # three entries: checked in validate()
            keypoints = extract_keypoint_set(
                images.records,
                failures=failures,
                progress=options.progress,
                read=options.read,
                channels=(blue, green, red),
            )
        if len(keypoints.ids) < 2:
            example = f" (e.g. {failures[0][0].name}: {failures[0][1]})" if failures else ""
            raise ValueError(
                f"key points were found in {len(keypoints.ids)} of {len(images.records)} images{example}; "
                "clustering needs at least 2. PQAP key points need the paper's multi-channel crops (nuclei in "
                "planes 0 and 1, membranes in plane 3; --channels B,G,R names other planes); for other images "
                "use --method profile (no labels needed) or --method twin with a trained model"
            )
        for path, message in failures:
            say(f"no key points for {path}: {message}")
            images.failures.append((path, f"no key points: {message}"))
        ids, S = pqap.similarity_matrix(
            keypoints,
            params,
            mode=options.pqap_mode,
            threads=options.threads,
            checkpoint=checkpoint,
            progress=options.progress,
        )
        return Correlations(
            np.asarray(ids, dtype=np.int64),
            np.asarray(S, dtype=np.float64),
            "similarity",
            options.threshold,
            options.symmetrize,
        )

    def settings(self, options: ClusterOptions) -> list[tuple[str, Any]]:
        return [
            ("PQAP parameters", str(options.params) if options.params else "the paper's learned ones"),
            ("PQAP solver mode", options.pqap_mode),
        ]


ROUTE = PqapRoute()
