"""The blockwise stages of the sparse route on a Dask cluster (dask.distributed), resumable by block.

Three stages scale with n and are cut into blocks that run as Dask tasks:

* :func:`features`: feature vectors (profiles, embeddings) of blocks of items (e.g. image files);
* :func:`knn`: k nearest neighbours, one block of query rows per task: exact, against all rows
  (:func:`corrclust.candidates.exact_knn_block`), or approximate, in a faiss HNSW index built once
  and sent to every worker once;
* :func:`score_pairs`: the costs of blocks of candidate pairs (any picklable scorer).

:func:`cluster_embeddings` chains the kNN graph, the pair scores and the solve. The solve stays in
this process: GAEC + Kernighan-Lin on the m ~ n k candidate edges takes seconds at n = 10^5 and is
bounded by the memory of the edge list (docs/distributed.md).

**Same result.** Each block is computed by the same function on the same rows whether it runs here
(``client=None``), on a thread or on a remote worker, and the blocks are put together in block
order, so the result does not depend on the number of workers or on which block finished first.

**Resumable.** With ``run_dir`` every finished block is saved as ``<run_dir>/<stage>/<start>-<stop>.npz``
(atomically, by this process as the results arrive, so the workers need no shared folder) next to
``inputs.json``, the fingerprint of the stage's inputs and settings. A rerun with the same inputs
loads the saved blocks and computes only the others; a folder holding another input's blocks is
refused with one line rather than mixed in.

**Failures.** A task that raises is retried (``retries``); a worker that dies (killed, out of
memory) has its tasks moved to another worker by the scheduler, so the block is computed again and
the result is the same. A scheduler address that does not answer within ``timeout`` seconds, or a
scheduler without workers, is a :class:`SchedulerError` (one line), never a hang.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from corrclust import candidates, cluster_refinement
from corrclust.atomic import atomic_path, write_text
from corrclust.feature_costs import LocalScalingCost
from corrclust.fingerprint import of_arrays

__all__ = [
    "SchedulerError",
    "connect",
    "features",
    "knn",
    "score_pairs",
    "ImageProfiles",
    "DistanceCost",
    "LocalScalingCost",
    "DistributedResult",
    "cluster_embeddings",
    "DEFAULT_WORKERS",
    "CONNECT_TIMEOUT",
]

#: Workers of the LocalCluster started when no scheduler address is given (one thread each).
DEFAULT_WORKERS = 2
#: Seconds to wait for a scheduler (and for its first worker) before giving up.
CONNECT_TIMEOUT = 5.0
#: Candidate pairs scored per task by default.
_PAIR_BLOCK = 200_000
#: Times a block whose task raised is tried again before the run stops.
RETRIES = 2
#: Times the shared inputs are sent again after the workers lost them (a worker died with them).
LOST_DATA_ROUNDS = 3


class SchedulerError(ConnectionError):
    """The scheduler cannot be used: it did not answer, or it has no workers."""


# ----------------------------------------------------------------------------- the cluster
def _ignore_sigint() -> None:
    """Run in each worker process of a LocalCluster: Ctrl-C in a terminal reaches the whole process
    group, and each worker printed a 35-line KeyboardInterrupt traceback before the command's
    'interrupted' (found by qa14). The calling process owns the cluster and closes it on its way out."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def connect(
    scheduler: str | None = None,
    *,
    workers: int | None = None,
    processes: bool = True,
    timeout: float = CONNECT_TIMEOUT,
) -> Iterator[Any]:
    """A ``distributed.Client`` for the duration of the block: on ``scheduler`` (an address such as
    ``tcp://host:8786``) or, without one, on a LocalCluster of ``workers`` (default
    :data:`DEFAULT_WORKERS`) single-threaded workers, processes unless ``processes=False``, which is
    closed again on exit.

    A scheduler that does not answer within ``timeout`` seconds, or that has no worker after that
    long, raises :class:`SchedulerError`.
    """
    if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    from dask.distributed import Client, LocalCluster

    if scheduler is None:
        try:
            cluster = LocalCluster(
                n_workers=workers or DEFAULT_WORKERS,
                threads_per_worker=1,
                processes=processes,
                dashboard_address=None,
                # No dashboard, and its HTTP routes on a free port: the default 8787 may be taken by
                # another cluster on the machine, which dask reports with a warning.
                scheduler_kwargs={"dashboard": False, "dashboard_address": ":0"},
            )
        except RuntimeError as exc:
            # The worker processes are spawned, which imports the calling script again: a script
            # that calls this at its top level (as docs/distributed.md's example reads when pasted
            # into a file) gets dask's bare "Nanny failed to start." (found by qa14).
            if "failed to start" not in str(exc):
                raise
            raise RuntimeError(
                f"the local Dask cluster could not start its worker processes ({exc}); Dask starts "
                "them by importing the main script again, so in a script call this under "
                "'if __name__ == \"__main__\":', or pass local=True to run every block in this process"
            ) from exc
        try:
            with Client(cluster) as client:
                client.run(_ignore_sigint)
                yield client
        finally:
            cluster.close()
        return
    if workers is not None:
        raise ValueError("workers applies to the local cluster; a scheduler brings its own workers")
    if not isinstance(scheduler, str) or not scheduler.strip():
        raise ValueError(f"scheduler must be an address such as tcp://host:8786, got {scheduler!r}")
    try:
        client = Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SchedulerError(
            f"scheduler {scheduler} did not answer within {timeout:g} s ({reason[:120]})"
        ) from None
    try:
        try:
            client.wait_for_workers(1, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise SchedulerError(f"scheduler {scheduler} has no workers after {timeout:g} s") from exc
        yield client
    finally:
        client.close()


# ----------------------------------------------------------------------------- blocks on disk
def _differing(held: Any, inputs: dict[str, Any]) -> list[str]:
    """The names of the settings in which a saved fingerprint ``held`` differs from ``inputs``."""
    if not isinstance(held, dict):
        return ["all"]
    return [k for k in [*inputs, *(k for k in held if k not in inputs)] if held.get(k) != inputs.get(k)]


class _Store:
    """Finished blocks of one stage under ``run_dir/stage`` (nothing is kept when ``run_dir`` is None)."""

    def __init__(self, run_dir: str | Path | None, stage: str, inputs: dict[str, Any]) -> None:
        self.folder = None if run_dir is None else Path(run_dir) / stage
        self.reused = 0
        if self.folder is None:
            return
        manifest = self.folder / "inputs.json"
        if manifest.is_file():
            try:
                held = json.loads(manifest.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                held = None
            if held != inputs:
                differ = _differing(held, inputs)
                raise ValueError(
                    f"{self.folder} holds the {stage} blocks of another run (differs in: "
                    f"{', '.join(differ)}); use a new run folder or delete this one"
                )
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_text(manifest, json.dumps(inputs, indent=1, sort_keys=True) + "\n")

    def _path(self, start: int, stop: int) -> Path:
        assert self.folder is not None
        return self.folder / f"{start}-{stop}.npz"

    def load(self, start: int, stop: int) -> tuple[np.ndarray, ...] | None:
        if self.folder is None:
            return None
        path = self._path(start, stop)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                out = tuple(z[f"arr_{i}"] for i in range(len(z.files)))
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            return None  # unreadable (e.g. a disk error): computed again and overwritten
        self.reused += 1
        return out

    def save(self, start: int, stop: int, arrays: tuple[np.ndarray, ...]) -> None:
        if self.folder is None:
            return
        with atomic_path(self._path(start, stop)) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, *arrays)  # arr_0, arr_1, ...


def _item_key(item: Any) -> str:
    """An item as the run folder's fingerprint sees it: a file also by its size and time of change,
    so that blocks of a file replaced since are not reused."""
    text = str(item)
    if isinstance(item, (str, os.PathLike)):
        with contextlib.suppress(OSError):
            st = os.stat(item)
            text += f"|{st.st_size}|{st.st_mtime_ns}"
    return text


def _spans(n: int, size: int) -> list[tuple[int, int]]:
    return [(s, min(n, s + size)) for s in range(0, n, size)]


def _run_blocks(
    client: Any,
    task: Callable[..., tuple[np.ndarray, ...]],
    shared: tuple[Any, ...],
    spans: list[tuple[int, int]],
    store: _Store,
    *,
    desc: str,
    progress: bool,
    retries: int = RETRIES,
) -> list[tuple[np.ndarray, ...]]:
    """``task(*shared, start, stop)`` for every span not already in ``store``; results in span order."""
    results: list[tuple[np.ndarray, ...] | None] = [store.load(s, e) for s, e in spans]
    todo = [i for i, r in enumerate(results) if r is None]
    bar = None
    if progress and todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(spans), initial=len(spans) - len(todo), desc=desc, unit="block", file=sys.stderr)
    try:
        if client is None:
            for i in todo:
                s, e = spans[i]
                results[i] = task(*shared, s, e)
                store.save(s, e, results[i])  # type: ignore[arg-type]
                if bar is not None:
                    bar.update(1)
        else:
            for _ in range(LOST_DATA_ROUNDS):
                todo = [i for i, r in enumerate(results) if r is None]
                if not todo or not _submit_round(
                    client, task, shared, spans, todo, results, store, bar, retries
                ):
                    break
            if any(r is None for r in results):
                raise RuntimeError(
                    f"{desc}: the workers lost the shared input {LOST_DATA_ROUNDS} times (workers dying?); "
                    "the finished blocks are kept, rerun to go on"
                )
    finally:
        if bar is not None:
            bar.close()
    return results  # type: ignore[return-value]


def _submit_round(
    client: Any,
    task: Callable[..., tuple[np.ndarray, ...]],
    shared: tuple[Any, ...],
    spans: list[tuple[int, int]],
    todo: list[int],
    results: list[tuple[np.ndarray, ...] | None],
    store: _Store,
    bar: Any,
    retries: int,
) -> bool:
    """Send the shared inputs, submit the blocks ``todo`` and collect them as they finish.

    Returns True when some blocks were cancelled because the shared inputs were lost (scattered
    data lives only on workers: a worker that dies can take the last copy with it, and the scheduler
    cannot recompute it), so the caller sends them again and submits what is left. A task that
    raised (after ``retries``) raises here.
    """
    from dask.distributed import as_completed

    # One future per shared input, under a fresh key (hash=False): a list is sent whole, and a key
    # shared with an earlier stage's scatter could be released under this stage's tasks.
    remote = tuple(client.scatter([x], broadcast=True, hash=False)[0] for x in shared)
    futures = {
        client.submit(task, *remote, spans[i][0], spans[i][1], retries=retries, pure=False): i for i in todo
    }
    lost = False
    try:
        for fut in as_completed(list(futures)):
            if fut.status == "cancelled":  # its input went with a dead worker
                lost = True
                continue
            i = futures[fut]
            out = fut.result()  # a task that failed after its retries raises here
            store.save(*spans[i], out)
            results[i] = out
            if bar is not None:
                bar.update(1)
    finally:
        client.cancel(list(futures) + list(remote))
    return lost


# ----------------------------------------------------------------------------- stages
def _feature_task(items: Sequence[Any], featurize: Callable, start: int, stop: int) -> tuple[np.ndarray]:
    rows = np.asarray(featurize(list(items[start:stop])), dtype=np.float64)
    if rows.ndim != 2 or rows.shape[0] != stop - start:
        raise ValueError(
            f"{getattr(featurize, '__name__', featurize)!s} returned shape {rows.shape} for "
            f"{stop - start} items (expected one row per item)"
        )
    return (rows,)


def features(
    items: Sequence[Any],
    featurize: Callable[[list[Any]], np.ndarray],
    *,
    client: Any = None,
    block: int = 256,
    run_dir: str | Path | None = None,
    progress: bool = False,
) -> np.ndarray:
    """``(n, d)`` float64 feature rows of ``items`` (e.g. image paths): ``featurize`` maps a list of
    items to one row each and runs on the workers, ``block`` items per task.

    ``featurize`` must be picklable (a module-level function or an instance of a module-level
    class) and deterministic. ``client=None`` runs the blocks here, one after the other.
    """
    items = list(items)
    if not items:
        raise ValueError("features: no items")
    block = _positive_int(block, "block")
    name = f"{getattr(featurize, '__module__', '')}.{getattr(featurize, '__qualname__', repr(featurize))}"
    inputs = {
        "stage": "features",
        "items": hashlib.sha1(json.dumps([_item_key(x) for x in items]).encode()).hexdigest(),
        "n": len(items),
        "featurize": name,
        "block": block,
    }
    store = _Store(run_dir, "features", inputs)
    parts = _run_blocks(
        client,
        _feature_task,
        (items, featurize),
        _spans(len(items), block),
        store,
        desc="features",
        progress=progress,
    )
    widths = {p[0].shape[1] for p in parts}
    if len(widths) != 1:
        raise ValueError(f"features: blocks returned different numbers of features {sorted(widths)}")
    return np.vstack([p[0] for p in parts])


class ImageProfiles:
    """A featurizer for :func:`features`: the morphology profile (:func:`corrclust.profiles.profile`)
    of each image file, read on the worker. A file whose image holds no object gets a row of NaN,
    which the caller drops (and lists) before the rows are standardised and searched."""

    def __init__(self, options: Any = None) -> None:
        self.options = options  # corrclust.images.io.ReadOptions, or None for the defaults

    def __call__(self, paths: list[Any]) -> np.ndarray:
        from corrclust.images.io import read_image
        from corrclust.profiles import NoObjectError, feature_names, profile

        rows: list[np.ndarray | None] = []
        width = None
        for path in paths:
            image = read_image(path, self.options)
            try:
                row = profile(image)
            except NoObjectError:
                rows.append(None)
                if width is None:
                    width = len(feature_names(1 if image.ndim == 2 else image.shape[2])[0])
                continue
            width = row.size
            rows.append(row)
        assert width is not None
        return np.vstack([np.full(width, np.nan) if r is None else r for r in rows])

    def __repr__(self) -> str:
        return f"ImageProfiles({self.options!r})"


def _knn_task(X: np.ndarray, k: int, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    idx, dist = candidates.exact_knn_block(X[start:stop], X, k, start)
    return np.asarray(idx, dtype=np.int64), np.asarray(dist, dtype=np.float64)


#: Query rows per task of the approximate (faiss) search: a few seconds of graph walks per task at
#: d = 64, and 100 tasks at n = 10^6.
ANN_BLOCK_ROWS = 10_000
# The deserialized index of the current run, per process, by the SHA-1 of its bytes: every task of
# a worker searches the one copy. A lock, as the workers of a threaded cluster share the module.
_INDEXES: dict[str, Any] = {}
_INDEX_LOCK = threading.Lock()


def _searchable(blob: np.ndarray, key: str) -> Any:
    with _INDEX_LOCK:
        index = _INDEXES.get(key)
        if index is None:
            import faiss

            _INDEXES.clear()  # one run's index at a time
            index = _INDEXES[key] = faiss.deserialize_index(blob)
    return index


def _faiss_knn_task(
    X: np.ndarray, blob: np.ndarray, key: str, k: int, threads: int | None, start: int, stop: int
) -> tuple[np.ndarray, np.ndarray]:
    cand = candidates.faiss_candidates(_searchable(blob, key), X[start:stop], k, threads)
    idx, dist = candidates.refine_candidates(X, cand, k, start)
    return np.asarray(idx, dtype=np.int64), np.asarray(dist, dtype=np.float64)


def _faiss_index_blob(
    X: np.ndarray, inputs: dict[str, Any], store: _Store, threads: int | None, progress: bool
) -> np.ndarray:
    """The serialized HNSW index the query blocks search: built here and, with a run folder, kept
    there as ``knn/index.npz`` (the index bytes and the fingerprint of the inputs it was built for),
    part of the resume state. A saved index is checked against ``inputs`` and reused (a rebuild with
    several threads may give another graph, which the saved blocks were not searched in); one of
    other inputs, or a folder with blocks but no index, is refused in one line."""
    path = None if store.folder is None else store.folder / "index.npz"
    if path is not None and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                held = json.loads(str(z["inputs"]))
                blob = np.asarray(z["index"], dtype=np.uint8)
        except (OSError, ValueError, KeyError, TypeError, AttributeError, zipfile.BadZipFile):
            raise ValueError(
                f"{path}: not a readable kNN index of this package; use a new run folder or delete this one"
            ) from None
        if held != inputs:
            raise ValueError(
                f"{path} is the kNN index of another run (differs in: {', '.join(_differing(held, inputs))}); "
                "use a new run folder or delete this one"
            )
        return blob
    if store.folder is not None and any(p.name != "index.npz" for p in store.folder.glob("*.npz")):
        raise ValueError(
            f"{store.folder} holds kNN blocks but not the index they were searched in (index.npz); "
            "use a new run folder or delete this one"
        )
    import faiss

    if progress:
        print(f"kNN: building the HNSW index of {X.shape[0]} rows here", file=sys.stderr, flush=True)
    blob = np.asarray(faiss.serialize_index(candidates.faiss_index(X, threads)), dtype=np.uint8)
    if path is not None:
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, index=blob, inputs=np.array(json.dumps(inputs, sort_keys=True)))
    return blob


def knn(
    X: Any,
    k: int,
    *,
    method: str = "auto",
    client: Any = None,
    block_rows: int | None = None,
    threads: int | None = None,
    run_dir: str | Path | None = None,
    progress: bool = False,
    reused: dict[str, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest neighbours of every row of ``X`` among the others: ``(indices, distances)``,
    both ``(n, k)``, each block of ``block_rows`` query rows one task.

    ``method`` as :func:`corrclust.candidates.knn_graph`'s: ``"exact"``: each block against all
    rows (:func:`corrclust.candidates.exact_knn_block`); the rows of a block are compared with the
    full ``X`` by the same function whatever the worker, so the graph equals the one-process result
    (``client=None``) bit for bit. ``"faiss"``: an HNSW index (the ``ann`` extra) built once here
    with ``threads`` threads (default all cores: the build is one step every block waits for, and
    here it can use the whole machine while the single-threaded workers would give it one core),
    sent to every worker once (serialized) and kept in the run folder; each task searches its rows
    in it (:data:`ANN_BLOCK_ROWS` by default) and re-measures the candidates in float64, so the graph
    equals :func:`corrclust.candidates.knn_graph` ``(method="faiss")`` on the same index (with
    ``threads=1`` the index, and so the graph, is the same on every run). ``"auto"``: exact up to
    :data:`corrclust.candidates.EXACT_MAX_N` rows or without faiss, else faiss.

    ``reused["knn"]`` is set to the number of blocks loaded from ``run_dir`` when a dict is passed.
    """
    from corrclust.embedding_clustering import check_features

    X = np.ascontiguousarray(check_features(X))
    n = X.shape[0]
    k = _positive_int(k, "k")
    if k >= n:
        raise ValueError(f"k = {k} neighbours need more than {k} rows; the input has {n}")
    method = _knn_method(method, n)
    if method == "faiss":
        rows = _positive_int(ANN_BLOCK_ROWS if block_rows is None else block_rows, "block_rows")
        return _faiss_knn(X, k, client, rows, threads, run_dir, progress, reused)
    # Default block: the one-process search's (candidates.block_rows, a 64 MiB distance block).
    rows = candidates.block_rows(n) if block_rows is None else _positive_int(block_rows, "block_rows")
    inputs = {"stage": "knn", "input": of_arrays(X), "k": k, "block_rows": rows}
    store = _Store(run_dir, "knn", inputs)
    parts = _run_blocks(client, _knn_task, (X, k), _spans(n, rows), store, desc="kNN", progress=progress)
    if reused is not None:
        reused["knn"] = store.reused
    return np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])


def _knn_method(method: str, n: int) -> str:
    if method not in candidates.KNN_METHODS:
        raise ValueError(f"knn method must be one of {', '.join(candidates.KNN_METHODS)}, got {method!r}")
    if method == "auto":
        return "faiss" if n > candidates.EXACT_MAX_N and candidates.ann_available() else "exact"
    if method == "faiss" and not candidates.ann_available():
        raise ImportError(candidates.ANN_MISSING)
    return method


def _faiss_knn(
    X: np.ndarray,
    k: int,
    client: Any,
    rows: int,
    threads: int | None,
    run_dir: str | Path | None,
    progress: bool,
    reused: dict[str, int] | None,
) -> tuple[np.ndarray, np.ndarray]:
    import faiss

    n = X.shape[0]
    inputs = {
        "stage": "knn",
        "method": "faiss",
        "input": of_arrays(X),
        "k": k,
        "block_rows": rows,
        "hnsw": [candidates.FAISS_M, candidates.FAISS_EF_CONSTRUCTION, candidates.faiss_ef_search(k)],
        "faiss": faiss.__version__,
    }
    store = _Store(run_dir, "knn", inputs)
    blob = _faiss_index_blob(X, inputs, store, threads, progress)
    key = of_arrays(blob)
    # Workers are single-threaded: one faiss thread per task; here, the caller's threads.
    shared = (X, blob, key, k, threads if client is None else 1)
    try:
        parts = _run_blocks(
            client, _faiss_knn_task, shared, _spans(n, rows), store, desc="kNN", progress=progress
        )
    finally:
        with _INDEX_LOCK:
            _INDEXES.clear()  # this process's copy (client=None); the workers drop theirs with the next run
    if reused is not None:
        reused["knn"] = store.reused
    return np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])


def _score_task(
    data: Any, uv: np.ndarray, values: np.ndarray | None, score: Callable, start: int, stop: int
) -> tuple[np.ndarray]:
    part = uv[start:stop]
    if values is None:
        costs = score(data, part)
    else:
        costs = score(data, part, values[start:stop])
    costs = np.asarray(costs, dtype=np.float64)
    if costs.shape != (part.shape[0],):
        raise ValueError(f"the pair scorer returned shape {costs.shape} for {part.shape[0]} pairs")
    return (costs,)


def score_pairs(
    data: Any,
    uv: np.ndarray,
    score: Callable[..., np.ndarray],
    *,
    values: np.ndarray | None = None,
    client: Any = None,
    block: int = _PAIR_BLOCK,
    run_dir: str | Path | None = None,
    progress: bool = False,
    reused: dict[str, int] | None = None,
) -> np.ndarray:
    """The cost of every candidate pair ``uv`` (``(m, 2)``): ``score(data, uv_block)`` returns one
    float per pair and runs on the workers, ``block`` pairs per task; with ``values`` (one row per
    pair, e.g. the pairs' kNN distances) it is ``score(data, uv_block, values_block)``. ``data``
    (e.g. the embeddings, or the key points) is sent to every worker once. ``score`` must be
    picklable and deterministic; ``reused["pairs"]`` counts the blocks loaded from ``run_dir``."""
    uv = np.ascontiguousarray(uv, dtype=np.int64)
    if uv.ndim != 2 or uv.shape[1] != 2:
        raise ValueError(f"pairs must have shape (m, 2), got {uv.shape}")
    if values is not None:
        values = np.ascontiguousarray(values)
        if values.shape[:1] != uv.shape[:1]:
            raise ValueError(f"values must have one row per pair ({uv.shape[0]}), got shape {values.shape}")
    block = _positive_int(block, "block")
    data_key = of_arrays(data) if isinstance(data, np.ndarray) else repr(type(data))
    inputs = {
        "stage": "pairs",
        "pairs": of_arrays(uv),
        "values": None if values is None else of_arrays(values),
        "data": data_key,
        "score": repr(score),
        "block": block,
    }
    store = _Store(run_dir, "pairs", inputs)
    parts = _run_blocks(
        client,
        _score_task,
        (data, uv, values, score),
        _spans(uv.shape[0], block),
        store,
        desc="pair scores",
        progress=progress,
    )
    if reused is not None:
        reused["pairs"] = store.reused
    return np.concatenate([p[0] for p in parts]) if parts else np.zeros(0)


@dataclass(frozen=True)
class DistanceCost:
    """Cost of a pair of feature rows: ``threshold - ||x_u - x_v||`` (positive joins, negative cuts),
    the distance given (``d``) or computed pair by pair from the rows of ``X``."""

    threshold: float

    def __call__(self, X: np.ndarray, uv: np.ndarray, d: np.ndarray | None = None) -> np.ndarray:
        if d is None:
            diff = X[uv[:, 0]] - X[uv[:, 1]]
            d = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        return self.threshold - d


# ----------------------------------------------------------------------------- the whole route
@dataclass
class DistributedResult:
    """The outcome of :func:`cluster_embeddings`.

    ``labels`` (n,) int64 numbered 0..K-1 in order of first appearance; ``edges`` (m, 2) the
    candidate pairs (u < v, sorted) and ``costs`` their costs; ``seconds`` per stage; ``reused``
    the number of blocks loaded from ``run_dir`` instead of computed; ``knn`` the search used.
    """

    labels: np.ndarray
    edges: np.ndarray
    costs: np.ndarray
    objective: float
    status: str
    seconds: dict[str, float] = field(default_factory=dict)
    reused: int = 0
    knn: str = "exact"  # the kNN search used: "exact" or "faiss"
    background: float = 0.0
    refinement: Any = None  # corrclust.cluster_refinement.Refinement when the solve was refined

    @property
    def n_clusters(self) -> int:
        return int(self.labels.max()) + 1 if self.labels.size else 0


def cluster_embeddings(
    X: Any,
    *,
    k: int | None = None,
    neighbours: int | None = None,
    granularity: float = 0.0,
    score: Callable[..., np.ndarray] | None = None,
    method: str = "kl",
    seed: int = 0,
    client: Any = None,
    scheduler: str | None = None,
    workers: int | None = None,
    processes: bool = True,
    local: bool = False,
    run_dir: str | Path | None = None,
    block_rows: int | None = None,
    timeout: float = CONNECT_TIMEOUT,
    progress: bool = False,
    knn: str = "auto",
    threads: int | None = None,
    background: str | float = "auto",
    refine: bool = True,
) -> DistributedResult:
    """Cluster the rows of ``X`` (n x d feature vectors) on the kNN candidate graph, the kNN blocks
    and the pair scores computed on a Dask cluster, the solve here.

    The settings and the result are those of the one-process sparse path,
    :func:`corrclust.embedding_clustering.cluster_embeddings` with ``path="sparse"`` and the same
    ``knn``:
    ``k`` neighbours per row (default its ``GRAPH_K``, at least ``neighbours``), the label-free rule
    at ``neighbours`` (default :data:`corrclust.feature_costs.K_NEIGHBOURS`) and ``granularity``;
    ``method`` and ``seed`` go to :func:`corrclust.solve`. ``score(X, uv, d)`` replaces the rule
    (``d``: the pairs' kNN distances). ``knn`` (``"auto"``, ``"exact"``, ``"faiss"``) and
    ``threads`` (of the faiss index build, here) choose the search as in :func:`knn`; with
    ``"faiss"`` the result is that of the one-process path with ``knn="faiss"`` on the same index.
    ``background``: the cost of the pairs outside the graph in
    the solve, as there (``"auto"``: the mean score of the same seeded two-hop pairs; ``0``: none;
    a number <= 0), here with ``method`` ``"kl"`` or ``"gaec"``. ``refine``: as there, the
    refinement on the exact pairs around the clusters (:mod:`corrclust.cluster_refinement`), run
    here after the solve, which calls ``score(X, pairs, None)`` for those pairs.

    The cluster: ``client`` when given, else ``scheduler`` (an address), else a LocalCluster of
    ``workers`` (worker processes, threads with ``processes=False``); ``local=True`` runs every
    block in this process instead; a scheduler that does not answer within ``timeout`` seconds
    raises :class:`SchedulerError` (:func:`connect`). ``run_dir`` keeps the finished blocks, which a
    rerun skips; ``block_rows``: rows per kNN task (default as in :func:`knn`); ``progress``: a
    progress bar per stage on stderr.
    """
    from corrclust.background import parse_background
    from corrclust.embedding_clustering import BACKGROUND_SOLVERS, GRAPH_K, check_features
    from corrclust.feature_costs import K_NEIGHBOURS

    X = np.ascontiguousarray(check_features(X))
    n = X.shape[0]
    if local and (client is not None or scheduler is not None or workers is not None):
        raise ValueError("local=True runs in this process: give no client, scheduler or workers")
    if not math.isfinite(granularity):
        raise ValueError(f"granularity must be finite, got {granularity}")
    wanted = parse_background(background)
    if wanted != 0 and method not in BACKGROUND_SOLVERS:
        raise ValueError(
            f"method {method!r} cannot solve with a background cost: use "
            f"{' or '.join(map(repr, BACKGROUND_SOLVERS))}, or background=0"
        )
    neighbours = max(
        1, min(_positive_int(K_NEIGHBOURS if neighbours is None else neighbours, "neighbours"), n - 1)
    )
    k = min(max(_positive_int(GRAPH_K if k is None else k, "k"), neighbours), n - 1)
    with contextlib.ExitStack() as stack:
        if client is None and not local:
            client = stack.enter_context(
                connect(scheduler, workers=workers, processes=processes, timeout=timeout)
            )
        knn_options = {"method": _knn_method(knn, n), "threads": threads}
        return _cluster(
            X,
            k,
            neighbours,
            granularity,
            score,
            method,
            seed,
            client,
            run_dir,
            block_rows,
            progress,
            wanted,
            knn_options,
            refine,
        )
    raise AssertionError("unreachable")  # pragma: no cover - ExitStack does not swallow exceptions


def _cluster(
    X: np.ndarray,
    k: int,
    neighbours: int,
    granularity: float,
    score: Callable | None,
    method: str,
    seed: int,
    client: Any,
    run_dir: str | Path | None,
    block_rows: int | None,
    progress: bool,
    background: str | float,
    knn_options: dict[str, Any],
    refine: bool = True,
) -> DistributedResult:
    from corrclust.background import solve_background
    from corrclust.embedding_clustering import BACKGROUND_SOLVERS, REPULSION_SAMPLES, two_hop_sample
    from corrclust.problem import Problem
    from corrclust.solve import solve

    seconds: dict[str, float] = {}
    t = time.perf_counter()
    reused: dict[str, int] = {}
    idx, dist = knn(
        X,
        k,
        client=client,
        block_rows=block_rows,
        run_dir=run_dir,
        progress=progress,
        reused=reused,
        **knn_options,
    )
    seconds["knn"] = time.perf_counter() - t
    t = time.perf_counter()
    uv, d = candidates.candidate_edges(idx, dist)
    if score is None:  # the rule's scales come from the kNN distances
        score = LocalScalingCost.from_knn(dist, neighbours, granularity)
    del idx, dist
    costs = score_pairs(
        X, uv, score, values=d, client=client, run_dir=run_dir, progress=progress, reused=reused
    )
    seconds["pairs"] = time.perf_counter() - t
    t = time.perf_counter()
    b = 0.0
    if background == "auto":  # the mean score of the one-process path's two-hop pairs
        pairs, d_out = two_hop_sample(X, uv, REPULSION_SAMPLES, seed)
        b = min(float(np.mean(score(X, pairs, d_out))), 0.0) if pairs.size else 0.0
    elif background != 0:
        b = float(background)
    problem = Problem.from_edges(X.shape[0], uv, costs)
    if progress:  # the solve and the refinement ran silently after the bars (175 s at n = 10^5; qa16)
        print(f"solving {uv.shape[0]} pairs here ({method}, background {b:.4g})", file=sys.stderr, flush=True)
    if b == 0:
        res = solve(problem, method=method, seed=seed)
    else:
        res = solve_background(problem.n, problem.edges, problem.costs, b, method=BACKGROUND_SOLVERS[method])
    seconds["solve"] = time.perf_counter() - t
    labels, objective, refined = res.labels, res.objective, None
    if refine and b != 0 and method == "kl":  # as the one-process path, in this process
        t = time.perf_counter()
        assert problem.edges is not None and problem.costs is not None  # a sparse problem
        if progress:
            print(
                f"refining the {int(labels.max(initial=-1)) + 1} clusters on the exact pairs inside and "
                f"between them (up to {cluster_refinement.REFINE_ROUNDS} rounds)",
                file=sys.stderr,
                flush=True,
            )
        refined = cluster_refinement.refine(
            problem.n,
            problem.edges,
            problem.costs,
            labels,
            b,
            lambda pairs: np.asarray(score(X, pairs, None), dtype=np.float64),
            chunk=cluster_refinement.score_chunk(X.shape[1]),
            restart=True,
        )
        labels, objective = refined.labels, refined.objective
        seconds["refine"] = time.perf_counter() - t
    return DistributedResult(
        labels=labels,
        edges=problem.edges,  # type: ignore[arg-type]
        costs=problem.costs,
        objective=objective,
        status=res.status,
        seconds=seconds,
        reused=sum(reused.values()),
        knn=knn_options["method"],
        background=b,
        refinement=refined,
    )


# ----------------------------------------------------------------------------- checks
def _positive_int(x: Any, name: str) -> int:
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 1:
        raise ValueError(f"{name} must be a positive integer, got {x!r}")
    return int(x)
