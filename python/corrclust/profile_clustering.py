"""The ``profile`` similarity route without the pipeline: image records -> ids, costs and evidence.

:func:`profile_costs` reads every image (and its ``<stem>_mask.tif`` when there is one), computes
its morphology profile (:mod:`corrclust.profiles`), standardises the profiles of the collection,
optionally fits the granularity from a calibration file, and returns the costs of the label-free
rule (:mod:`corrclust.feature_costs`) with everything a report needs. :func:`assess_clustering`
then says whether the clustering found on those costs is informative
(:mod:`corrclust.informativeness`).

Images that cannot be profiled are skipped and listed: unreadable files, constant images and
images without a central object (``skipped`` holds ``(path, reason)``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from corrclust import feature_costs
from corrclust.images.io import ImageReadError, ImageRecord, ReadOptions, read_mask, read_record

__all__ = ["ProfileCosts", "ProfileFeatures", "profile_costs", "profile_features", "assess_clustering"]


@dataclass
class ProfileCosts:
    """Costs at granularity 0 (``costs``; the run's cut adds ``granularity``) of the images ``ids``."""

    ids: np.ndarray
    records: list[ImageRecord]
    costs: np.ndarray
    granularity: float
    features: np.ndarray  # standardised profiles, one row per id
    info: dict[str, Any]
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    k: int = feature_costs.K_NEIGHBOURS  # the neighbourhood of the cost rule
    # informativeness.pixel_correlation of each image (the noise check), one per id
    pixel_correlations: np.ndarray | None = None


@dataclass
class ProfileFeatures:
    """Standardised profiles (one row per kept record) and the records that could not be profiled."""

    records: list[ImageRecord]
    features: np.ndarray
    n_profile_features: int  # before PCA
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    ssl: dict[str, Any] = field(default_factory=dict)  # model, dimensions, training record (--ssl-model)
    pixel_correlations: np.ndarray | None = None  # informativeness.pixel_correlation, one per record

    @property
    def ids(self) -> np.ndarray:
        return np.array([r.id for r in self.records], dtype=np.int64)


def _load(records: Sequence[ImageRecord], progress: bool, read: ReadOptions | None = None):
    items, kept, skipped = [], [], []
    iterable: Any = records
    if progress:
        from tqdm.auto import tqdm

        iterable = tqdm(records, desc="profiles: reading", unit="img", file=sys.stderr)
    for rec in iterable:
        try:
            img = read_record(rec, read).pixels
            mask = read_mask(rec.mask, (read or ReadOptions()).at_time(rec.t)) if rec.mask.is_file() else None
            if mask is not None and mask.shape != img.shape[:2]:
                raise ImageReadError(
                    rec.mask,
                    f"mask of {mask.shape[0]} x {mask.shape[1]} pixels for an image of "
                    f"{img.shape[0]} x {img.shape[1]}",
                )
        except (ImageReadError, ValueError) as exc:
            skipped.append((rec.path, getattr(exc, "reason", str(exc))))
            continue
        items.append((rec.path.name if rec.t is None else rec.name, img, mask))
        kept.append(rec)
    return items, kept, skipped


#: Seconds between two saves of the profile checkpoint.
SAVE_EVERY = 30.0


def _cache_key(rec: ImageRecord) -> str:
    st = Path(rec.path).stat()
    key = f"{Path(rec.path).resolve()}|{st.st_size}|{st.st_mtime_ns}"
    return key if rec.t is None else f"{key}|t{rec.t}"  # the time points of one file differ


def _read_cache(path: str | Path) -> dict[str, np.ndarray | str]:
    """The profiles of an interrupted run (empty when there is none or it cannot be read)."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as z:
            keys, rows, reasons = z["profile_keys"].tolist(), z["profile_rows"], z["profile_reasons"].tolist()
    except Exception:  # a foreign or damaged file: start afresh (it is overwritten at the next save)
        return {}
    return {
        k: (reason if reason else rows[i]) for i, (k, reason) in enumerate(zip(keys, reasons, strict=False))
    }


def checkpoint_done(path: str | Path, records: Sequence[ImageRecord]) -> int:
    """How many of ``records`` the checkpoint ``path`` of an interrupted run already holds."""
    cache = _read_cache(path)
    if not cache:
        return 0
    done = 0
    for rec in records:
        try:
            done += _cache_key(rec) in cache
        except OSError:  # a file gone since the listing: it is reported when it is read
            pass
    return done


class _Saver:
    def __init__(self, path: str | Path, cache: dict[str, np.ndarray | str]) -> None:
        import time

        self.path, self.cache, self.clock = Path(path), cache, time.monotonic
        self.last = self.clock()

    def maybe_save(self) -> None:
        if self.clock() - self.last >= SAVE_EVERY:
            self.save()

    def save(self) -> None:
        from corrclust.atomic import atomic_path

        keys = list(self.cache)
        rows = [v for v in self.cache.values() if not isinstance(v, str)]
        width = rows[0].size if rows else 0
        table = np.zeros((len(keys), width))
        reasons = []
        for i, k in enumerate(keys):
            v = self.cache[k]
            if isinstance(v, str):
                reasons.append(v)
            else:
                table[i] = v
                reasons.append("")
        with atomic_path(self.path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(
                    fh,
                    profile_keys=np.array(keys, dtype=str),
                    profile_rows=table,
                    profile_reasons=np.array(reasons, dtype=str),
                )
        self.last = self.clock()


def profile_features(
    records: Sequence[ImageRecord],
    *,
    pca: int | float | None = None,
    progress: bool = False,
    checkpoint: str | Path | None = None,
    read: ReadOptions | None = None,
    ssl_model: str | Path | None = None,
) -> ProfileFeatures:
    """The standardised profiles of ``records`` (no costs): what both the dense costs of
    :func:`profile_costs` and the sparse path of a large collection start from. ``read``: how the
    files become images (channels, Z projection, time point, pixel size; defaults when ``None``).

    ``ssl_model``: a model file of ``corrclust ssl train`` (trained, without labels, on a large pool
    of the lab's crops): its embeddings of the profiled images, standardised like the profiles
    (robustly, per column), are joined to them with equal weight (:func:`join_embedding`).
    Measured on the development half in docs/ssl.md; needs PyTorch."""
    from corrclust import profiles

    items, kept, skipped = _load(records, progress, read)
    it = None
    if progress:
        from tqdm.auto import tqdm

        it = lambda x: tqdm(list(x), desc="profiles", unit="img", file=sys.stderr)  # noqa: E731
    keys = [_cache_key(r) for r in kept]
    cache = _read_cache(checkpoint) if checkpoint is not None else None
    saver = _Saver(checkpoint, cache) if checkpoint is not None and cache is not None else None
    try:
        prof = profiles.profile_collection(
            items,
            progress=it,
            cache=cache,
            keys=keys if cache is not None else None,
            on_item=saver.maybe_save if saver is not None else None,
        )
    except KeyboardInterrupt:
        # Ctrl-C before the first save (30 s) lost every profile: 10 s into 500 RBC crops the rerun
        # started from 0 (qa19). What is done is kept now; the rerun says how many it takes.
        if saver is not None and cache:
            saver.save()
        raise
    if saver is not None:
        saver.save()
    for k, reason in prof.skipped:
        skipped.append((kept[k].path, reason))
    recs = [kept[k] for k in prof.kept]
    Z = profiles.standardise(prof.features, prof.groups, pca=pca)
    ssl_info: dict[str, Any] = {}
    if ssl_model is not None and recs:
        try:
            from corrclust.ssl import embed_records
        except ImportError as exc:
            raise ValueError(f"--ssl-model needs PyTorch: pip install 'corrclust[torch]' ({exc})") from None
        # the pixels _load read for the profiles: each file is read once
        E, training = embed_records(ssl_model, recs, read, pixels=[items[k][1] for k in prof.kept])
        ssl_info = {
            "model": str(ssl_model),
            "dimensions": int(E.shape[1]),
            "steps": training.get("steps"),
            "images": training.get("n_images"),
            "warnings": [str(w) for w in training.get("warnings", [])],
        }
        Z = join_embedding(Z, E)
    from corrclust.informativeness import pixel_correlation

    corr = np.array([pixel_correlation(items[k][1]) for k in prof.kept], dtype=np.float64)
    return ProfileFeatures(recs, Z, int(prof.features.shape[1]), skipped, ssl_info, corr)


def join_embedding(Z: np.ndarray, E: np.ndarray) -> np.ndarray:
    """Standardised profiles ``Z`` joined with an embedding ``E`` of the same rows, as ``cluster
    --ssl-model`` joins them: ``E`` standardised like the profiles (robustly, per column), the two
    blocks with equal weight (:func:`corrclust.feature_costs.join_blocks`)."""
    from corrclust import profiles

    return feature_costs.join_blocks([Z, profiles.standardise(E)])


def _calibration_key(record: Any) -> str:
    """The names a calibration file may use for an image: file name, id or path."""
    return f"{record.path.name}|{record.id}|{record.path}"


def profile_costs(
    records: Sequence[ImageRecord],
    *,
    granularity: float = 0.0,
    calibrate: str | Path | None = None,
    pca: int | float | None = None,
    solver: str = "kl",
    seed: int = 0,
    progress: bool = False,
    checkpoint: str | Path | None = None,
    neighbours: int | str = "scaled",
    read: ReadOptions | None = None,
    ssl_model: str | Path | None = None,
) -> ProfileCosts:
    """Profiles and label-free costs of ``records`` (see the module doc).

    ``calibrate``: a CSV of labelled images or marked pairs (:func:`corrclust.feature_costs.read_calibration`);
    :func:`corrclust.feature_costs.calibrate` fits feature weights and the granularity (which replaces
    ``granularity``) from them, and the labelled pairs are pinned. ``checkpoint``: a file where the profiles
    computed so far are saved every ``SAVE_EVERY`` seconds; a rerun takes them from it (an image
    counts as the same when its path, size and modification time are). ``neighbours``: the
    rule's ``k``; ``"scaled"`` (the default) for :func:`corrclust.feature_costs.separated_neighbours`
    (:func:`corrclust.feature_costs.scaled_neighbours` of the number of profiled images, 10 instead of
    7 where the clusters at 10 stand apart), ``"auto"`` for :func:`corrclust.feature_costs.choose_neighbours`.
    ``ssl_model``: join a self-supervised embedding to the profiles (:func:`profile_features`).
    """
    if calibrate is not None:
        # A typo or a file of one class was found only after every profile had been computed (audit
        # qa15); the names are known now. An image the profiles then skip is named again below.
        feature_costs.check_calibration(calibrate, [_calibration_key(r) for r in records])
    pf = profile_features(
        records, pca=pca, progress=progress, checkpoint=checkpoint, read=read, ssl_model=ssl_model
    )
    recs, Z, skipped = pf.records, pf.features, pf.skipped
    k_scores = None
    separation: dict[str, Any] = {}
    if neighbours == "auto":
        k, k_scores = feature_costs.choose_neighbours(Z, granularity=granularity, solver=solver, seed=seed)
    elif neighbours == "scaled":
        # up to 112 images: k = 10 where its clusters stand apart (the separation check)
        k, separation = feature_costs.separated_neighbours(
            Z, granularity=granularity, solver=solver, seed=seed
        )
    else:
        k = int(neighbours)
        if k < 1:
            raise ValueError(f"the neighbourhood size must be at least 1, got {k}")
    calibration = None
    if calibrate is not None:
        pairs = feature_costs.read_calibration(calibrate, [_calibration_key(r) for r in recs])
        calibration = feature_costs.calibrate(Z, pairs, k=k, solver=solver, seed=seed, source=str(calibrate))
        granularity = calibration.granularity
        Z = calibration.weighted(Z)  # the report's stability checks see the calibrated metric too
    # at granularity 0: the pipeline adds the granularity as the bias of every pair
    C, info = feature_costs.costs_from_features(Z, k=k, granularity=0.0)
    if calibration is not None:
        feature_costs.pin_pairs(C, calibration.pairs)
    if separation:
        info["separation"] = separation
    if k_scores is not None:
        info["neighbours_stability"] = {str(key): v for key, v in k_scores.items()}
    if calibration is not None:
        info["calibration"] = {
            "file": str(calibrate),
            "granularity": calibration.granularity,
            "pair_score": calibration.score,
            "pair_score_at_zero": calibration.score_at_zero,
            "pairs": calibration.n_pairs,
            "same_pairs": calibration.n_same,
            "features_weighted": int(np.sum(calibration.weights > 0))
            if calibration.weights is not None
            else None,
        }
    info.update(
        {
            "features": pf.n_profile_features,
            "features_used": int(Z.shape[1]),
            "granularity": float(granularity),
        }
    )
    if pf.ssl:
        info["ssl"] = pf.ssl
    ids = np.array([r.id for r in recs], dtype=np.int64)
    return ProfileCosts(
        ids, recs, C, float(granularity), Z, info, skipped, int(info["k"]), pf.pixel_correlations
    )


def assess_clustering(pc: ProfileCosts, labels: np.ndarray, *, solver: str = "kl", seed: int = 0):
    """:func:`corrclust.informativeness.assess` for a clustering of ``pc`` at its granularity."""
    from corrclust.informativeness import assess

    g = pc.granularity
    n = pc.features.shape[0]

    def rule(X: np.ndarray) -> np.ndarray:
        # a subset of m of the n images holds about k * m / n of each image's k nearest neighbours:
        # scale k with it, so that the subset's costs have the same neighbourhood scale
        k = max(1, int(round(pc.k * X.shape[0] / n)))
        return feature_costs.costs_from_features(X, k=k, granularity=g)[0]

    costs = pc.costs + g
    np.fill_diagonal(costs, 0.0)
    return assess(
        costs,
        labels,
        features=pc.features,
        cost_rule=rule,
        solver=solver,
        seed=seed,
        pixel_correlations=pc.pixel_correlations,
    )
