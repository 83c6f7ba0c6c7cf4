"""The ``ssl`` route: an embedding network trained, without labels, on the folder's own crops
(needs PyTorch; ``corrclust.ssl``, docs/ssl.md).

The network trains for ``--time-budget`` seconds (default 300) and is kept in ``OUT/ssl/model.pt``;
its checkpoint ``OUT/ssl/model.pt.ckpt`` lets a rerun continue (a larger budget trains on), and a
finished model trained on the same images is reused. ``--model MODEL.pt`` (from ``corrclust ssl
train``) skips the training. Embedding distances become costs c_ij by the package's label-free rule
(``corrclust.ssl.embedding_costs``, i.e. ``feature_costs.costs_from_features``, as the profile route:
local scaling with the profile route's neighbourhood ``feature_costs.scaled_neighbours(n)``, i.e. 7 up
to 112 images and n / 15 above, log-odds + the rule's offset); the route hands the pipeline
``P = sigmoid(c_ij)``, so its costs ``logit(P) + bias`` are the rule's costs shifted by ``--bias``.
The embeddings (n x d) go to ``OUT/ssl/embeddings.npz``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from corrclust.atomic import atomic_path
from corrclust.images.io import read_record
from corrclust.pipeline.correlations import Correlations
from corrclust.pipeline.images import ImageSet
from corrclust.pipeline.messages import say
from corrclust.pipeline.options import ClusterOptions
from corrclust.pipeline.routes import require_torch

__all__ = ["ROUTE", "SslRoute", "DEFAULT_TIME_BUDGET"]

DEFAULT_TIME_BUDGET = 300.0


class SslRoute:
    name = "ssl"
    label = "self-supervised embedding"
    timing_label = "self-supervised training and embedding time"

    def __init__(self) -> None:
        self.last_training: dict[str, Any] = {}

    def add_arguments(self, group: argparse._ArgumentGroup) -> None:
        group.add_argument(
            "--time-budget",
            dest="ssl_time_budget",
            type=float,
            default=DEFAULT_TIME_BUDGET,
            metavar="SECONDS",
            help="seconds of self-supervised training on the folder's own crops (default 300; "
            "a rerun continues from OUT/ssl/model.pt.ckpt)",
        )

    def _budget(self, options: ClusterOptions) -> float:
        value = options.route_options.get("ssl_time_budget", DEFAULT_TIME_BUDGET)
        return DEFAULT_TIME_BUDGET if value is None else float(value)

    def check(self, options: ClusterOptions) -> None:
        self.last_training = {}  # filled by correlate; a fresh run starts without
        if options.params is not None:
            raise ValueError("--params is a PQAP parameter file; it does not apply to --method ssl")
        budget = self._budget(options)
        if not (budget > 0) or budget == float("inf"):
            raise ValueError(f"--time-budget must be a positive number of seconds, got {budget}")
        if options.model is not None and budget != DEFAULT_TIME_BUDGET:
            # the given network only embeds: a budget would have been dropped without a word (audit qa15)
            raise ValueError(
                f"--time-budget trains a network on the folder; --model {options.model} is used as it is "
                "(leave out one of them)"
            )
        if options.correlations is None:  # a stored matrix needs no network
            require_torch("--method ssl")

    def _embed(self, images: ImageSet, options: ClusterOptions) -> tuple[list[str], np.ndarray]:
        """Train (or reuse) the network and embed the images: their ids and ``(n, d)`` embeddings."""
        try:
            import corrclust.ssl as ssl
            from corrclust.twin.data import from_arrays
        except ImportError as exc:
            raise ValueError(f"--method ssl needs PyTorch: pip install 'corrclust[torch]' ({exc})") from None
        ids = [str(r.id) for r in images.records]
        model_path = (
            Path(options.model) if options.model is not None else Path(options.out_dir) / "ssl" / "model.pt"
        )
        reuse = options.model is not None
        if not reuse and model_path.is_file() and not Path(str(model_path) + ".ckpt").exists():
            try:
                _, record = ssl.load_model(model_path)
                reuse = record.get("ids") == ids
            except ValueError:
                reuse = False
        config = ssl.SSLConfig()
        if reuse:
            net, training = ssl.load_model(model_path)
            config = net.config
        arrays = [read_record(r, options.read).pixels for r in images.records]
        data = from_arrays(
            arrays, None, ids, "image", config.image_size, [str(r.path) for r in images.records]
        )
        if reuse:
            if data.in_channels != net.in_channels:
                raise ValueError(
                    f"the model {model_path} was trained on {net.in_channels}-channel crops, "
                    f"these have {data.in_channels}"
                )
            say(
                f"self-supervised model {model_path} ({training.get('steps', '?')} steps) embeds {len(ids)} images"
            )
            warnings = [str(w) for w in training.get("warnings", [])]
        else:
            budget = self._budget(options)
            ckpt = Path(f"{model_path}.ckpt")
            # the rerun said the same as the first run, so whether it resumed was not told (audit qa15)
            how = f"resuming from {ckpt}" if ckpt.is_file() else f"checkpoint {ckpt}; a rerun continues"
            say(
                f"training a self-supervised embedding on {len(ids)} images for up to {budget:g} s in all ({how})"
            )
            res = ssl.train(
                data.inputs,
                ids,
                config,
                seed=options.seed,
                output=model_path,
                time_budget=budget,
                progress=options.progress,
            )
            if res.stopped == "interrupted":
                raise KeyboardInterrupt
            net = res.model
            training = {"steps": res.steps, "stopped": res.stopped, "elapsed_s": res.elapsed_s}
            warnings = list(res.warnings)
        for w in warnings:
            say(f"warning: self-supervised model: {w}")
        self.last_training = {"model": str(model_path), "steps": training.get("steps"), "warnings": warnings}
        features = ssl.embed(net, data.inputs)
        emb_path = Path(options.out_dir) / "ssl" / "embeddings.npz"
        with atomic_path(emb_path) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(fh, ids=np.array(ids), features=features)
        return ids, features

    def correlate(
        self, images: ImageSet, options: ClusterOptions, *, checkpoint: Path | None
    ) -> Correlations:
        import corrclust.ssl as ssl
        from corrclust.feature_costs import K_NEIGHBOURS, scaled_neighbours

        ids, features = self._embed(images, options)
        # the profile route's neighbourhood: k = 7 split the development 10 x 50 folders into about 93
        # clusters (VI 4.91 against 3.95 at k = n / 15, six draws; docs/ssl.md)
        k = scaled_neighbours(len(ids)) if len(ids) >= 2 else K_NEIGHBOURS
        costs, _ = ssl.embedding_costs(features, k=k)
        # P = sigmoid(costs) so that the pipeline's logit(P) + bias gives back costs + bias
        P = 1.0 / (1.0 + np.exp(-costs))
        np.fill_diagonal(P, 0.5)
        return Correlations(
            np.array([int(i) for i in ids], dtype=np.int64),
            P,
            "probability",
            options.bias,
            "mean",
        )

    def features(self, images: ImageSet, options: ClusterOptions, *, checkpoint: Path | None):
        """The embeddings, scaled to unit length as ``embedding_costs`` scales them, for the sparse path
        (:mod:`corrclust.pipeline.sparse`; the rule's granularity is ``--bias``)."""
        from corrclust.pipeline.sparse import FeatureVectors

        ids, x = self._embed(images, options)
        x = np.asarray(x, dtype=np.float64)
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        ids_arr = np.array([int(i) for i in ids], dtype=np.int64)
        return FeatureVectors(ids_arr, x, granularity=options.bias, settings=self.settings(options))

    def settings(self, options: ClusterOptions) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = [
            (
                "self-supervised model",
                str(options.model) if options.model else "trained on these images (OUT/ssl/model.pt)",
            ),
            (
                "costs",
                "local scaling (k = max(7, n / 15) dense, 7 sparse) on embedding distances, "
                "log-odds + the profile route's offset (1 up to k = 7; above, grown on the neighbour "
                "pairs, the others' repulsion x 0.25); + bias",
            ),
        ]
        if options.model is None:
            out.append(("training budget", f"{self._budget(options):g} s"))
        if self.last_training.get("steps") is not None:
            out.append(("training steps", str(self.last_training["steps"])))
        for w in self.last_training.get("warnings", []):
            out.append(("warning", w))
        return out


ROUTE = SslRoute()
