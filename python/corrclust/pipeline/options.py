"""What ``corrclust cluster`` takes: :class:`ClusterOptions`, the solver names and the sweep rule."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corrclust.images.io import ReadOptions
from corrclust.pipeline.routes import AUTO, METHODS, ROUTES, get_route

__all__ = ["AUTO", "METHODS", "SOLVERS", "SWEEP_AUTO_MAX", "ClusterOptions"]

SOLVERS = ("kl", "anytime", "exact")
#: With a truth and no explicit choice, the sweep runs when there are at most this many images.
SWEEP_AUTO_MAX = 200


@dataclass
class ClusterOptions:
    """Everything ``corrclust cluster`` takes (see ``docs/cli.md``)."""

    images_dir: Path
    out_dir: Path
    # A similarity route (corrclust.pipeline.routes), or AUTO: the images choose, as `corrclust cluster`
    # without --method does. The default was "pqap", so the API refused RGB crops the CLI clustered.
    method: str = AUTO
    model: Path | None = None
    solver: str = "kl"
    params: Path | None = None
    threshold: float = 0.64
    bias: float = 0.0
    symmetrize: str | None = None  # None: "min" for similarities (the paper), "mean" for probabilities
    crop: bool = False
    truth: str | None = None  # a clustering CSV path, "auto", or None
    ids_table: Path | None = None
    sweep: bool | None = None  # None: automatic (truth given and n <= SWEEP_AUTO_MAX)
    seed: int = 0
    time_limit: float | None = None
    threads: int | None = None
    pqap_mode: str = "reference"
    correlations: Path | None = None  # a previous run's similarities.npz: skip the matching
    progress: bool = True
    feedback: Path | None = None  # the expert's answers (corrclust.feedback): must-/cannot-links
    calibrate: bool = False  # with feedback: fit the threshold/bias to the answers (corrclust.calibration)
    #: With feedback: spread the answers to the pairs they imply (corrclust.propagation).
    propagate: bool = True
    route_options: dict[str, Any] = field(default_factory=dict)  # the route's own options (routes docstring)
    #: How files become images (Z projection, time point, pixel size, channels): corrclust.images.io.
    #: For PQAP the channels are the key points' blue, green and red planes; for the twin network
    #: the planes fed to it, in order.
    read: ReadOptions = field(default_factory=ReadOptions)
    #: Regex for plate/well/site in the file names (None: the default schemes); see images.io.parse_name.
    name_pattern: str | None = None
    # no dense n x n matrix above this many images (None: corrclust.memory.dense_max_n())
    dense_max_n: int | None = None

    def validate(self) -> None:
        if self.method not in ROUTES and self.method != AUTO:
            raise ValueError(f"unknown method {self.method!r} (choose one of {', '.join(ROUTES)} or {AUTO})")
        if self.solver not in SOLVERS:
            raise ValueError(f"unknown solver {self.solver!r} (choose one of {', '.join(SOLVERS)})")
        if self.method != AUTO:  # "auto" is checked once the images have chosen the route
            get_route(self.method).check(self)
        if self.symmetrize not in (None, "min", "mean", "max"):
            raise ValueError(f"unknown symmetrization {self.symmetrize!r} (choose min, mean or max)")
        for name in ("threshold", "bias"):
            value = getattr(self, name)
            # a notebook's ClusterOptions(threshold="0.6") stopped with "TypeError: must be real
            # number, not str", naming nothing (qa19)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ValueError(f"--{name} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"--{name} must be a finite number, got {getattr(self, name)}")
        from corrclust.solve import check_time_limit

        self.time_limit = check_time_limit(self.time_limit, "--time-limit")  # the one rule of corrclust
        if self.crop and self.truth == "auto" and self.ids_table is None:
            # found only after detection and profiles before, minutes on a folder of fields
            raise ValueError(
                "--truth auto with --crop: the crops carry no classes; pass a truth file of crop ids "
                "(one line of ids per class) instead"
            )
        if self.truth is not None and self.truth != "auto" and not Path(self.truth).is_file():
            raise FileNotFoundError(f"truth file not found: {self.truth}")
        if self.params is not None and not Path(self.params).is_file():
            raise FileNotFoundError(f"parameter file not found: {self.params}")
        if self.correlations is not None and not Path(self.correlations).is_file():
            raise FileNotFoundError(f"correlations file not found: {self.correlations}")
        if self.feedback is not None and not Path(self.feedback).is_file():
            raise FileNotFoundError(f"feedback file not found: {self.feedback}")
        if self.model is not None and not Path(self.model).is_file():
            raise FileNotFoundError(f"model file not found: {self.model}")
        if not Path(self.images_dir).is_dir():
            from corrclust.images.io import missing_folder_message

            raise NotADirectoryError(missing_folder_message(self.images_dir))
        if self.name_pattern is not None:
            from corrclust.images.io import compile_name_pattern

            compile_name_pattern(self.name_pattern)
        out = Path(self.out_dir)
        if out.exists() and not out.is_dir():
            raise NotADirectoryError(f"output path exists and is not a folder: {out}")
