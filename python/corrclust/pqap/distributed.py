"""All-pairs PQAP similarities on a Dask cluster (dask.distributed).

The ordered pairs are cut into chunks; each chunk is one task that solves its pairs with the same
C++ solver as the local run, so the matrix is bit-identical to :func:`similarity_matrix`. The key
points are scattered to the workers once. Use a running scheduler (``scheduler="tcp://host:8786"``)
or let this module start a ``LocalCluster`` (``local_cluster=N`` workers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from corrclust.pqap.io import KeypointSet, PqapParameters
from corrclust.pqap.similarity import _check_mode, ordered_pairs

__all__ = ["similarity_matrix_dask"]


def _solve_chunk(
    organoids: dict[int, tuple[np.ndarray, np.ndarray]],
    pairs: np.ndarray,
    params: tuple[float, ...],
    mode: str,
    lower_wrap: bool,
    threads: int,
) -> np.ndarray:
    """Similarities of the (id_a, id_b) rows of ``pairs`` (runs on a worker)."""
    from corrclust.pqap.similarity import PairSolver

    ids = sorted({int(i) for i in pairs.ravel()})
    kp = KeypointSet(
        ids=ids, features={i: organoids[i][0] for i in ids}, candidates={i: organoids[i][1] for i in ids}
    )
    solver = PairSolver(kp)
    pos = np.array([[solver.index[int(a)], solver.index[int(b)]] for a, b in pairs], dtype=np.int32)
    sim, _, done, _ = solver.run(
        pos, PqapParameters(*params), mode=mode, lower_wrap=lower_wrap, threads=threads
    )
    if not done.all():  # pragma: no cover - an interrupted worker raises instead
        raise RuntimeError("PQAP chunk did not finish")
    return sim


def similarity_matrix_dask(
    keypoints: KeypointSet,
    params: PqapParameters,
    mode: str = "reference",
    *,
    scheduler: str | None = None,
    local_cluster: int | None = None,
    processes: bool = True,
    client: Any = None,
    chunk_size: int | None = None,
    threads_per_task: int = 1,
    lower_wrap: bool = False,
    progress: bool | Callable[[int, int], Any] = True,
) -> tuple[list[int], np.ndarray]:
    """Like :func:`corrclust.pqap.similarity_matrix`, with the pairs solved as Dask tasks.

    Exactly one of ``client`` (a ``distributed.Client``), ``scheduler`` (an address) or
    ``local_cluster`` (number of local workers; ``processes=False`` runs them as threads) must be
    given. ``chunk_size`` pairs form one task (default: about 8 tasks per worker).
    """
    mode = _check_mode(mode)
    params.validate()
    given = sum(x is not None for x in (client, scheduler, local_cluster))
    if given != 1:
        raise ValueError("give exactly one of client, scheduler or local_cluster")
    if local_cluster is not None and (not isinstance(local_cluster, int) or local_cluster < 1):
        raise ValueError(f"local_cluster must be a positive number of workers, got {local_cluster!r}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")

    from dask.distributed import Client, LocalCluster, as_completed

    keypoints.validate()
    own_cluster = own_client = None
    try:
        if client is None:
            if scheduler is not None:
                client = own_client = Client(scheduler)
            else:
                own_cluster = LocalCluster(
                    n_workers=local_cluster, threads_per_worker=1, processes=processes, dashboard_address=None
                )
                client = own_client = Client(own_cluster)
        ids = list(keypoints.ids)
        n = len(ids)
        pos_pairs = ordered_pairs(n)
        k = pos_pairs.shape[0]
        S = np.full((n, n), np.nan)
        if k == 0:
            return ids, S
        # Largest n*m first, then dealt out in chunks, so the big pairs start early.
        work = np.array(
            [
                keypoints.features[ids[a]].shape[0] * keypoints.candidates[ids[b]].shape[0]
                for a, b in pos_pairs
            ]
        )
        n_workers = max(1, len(client.scheduler_info().get("workers", {})) or 1)
        size = chunk_size or max(1, -(-k // (8 * n_workers)))
        if mode == "improved":
            # (a, b) and (b, a) next to each other and in one chunk where the size allows: the solver
            # then finds each reference matching once for both directions (corrclust.pqap.similarity).
            index = {(int(a), int(b)): t for t, (a, b) in enumerate(pos_pairs)}
            first = [t for t, (a, b) in enumerate(pos_pairs) if a < b]
            both = np.array([[t, index[int(pos_pairs[t, 1]), int(pos_pairs[t, 0])]] for t in first])
            unit_order = np.argsort(-(work[both[:, 0]] + work[both[:, 1]]), kind="stable")
            order = both[unit_order].ravel()
            size += size % 2
        else:
            order = np.argsort(-work, kind="stable")
        chunks = [order[i : i + size] for i in range(0, k, size)]
        organoids = {
            i: (
                np.ascontiguousarray(keypoints.features[i], dtype=np.float64),
                np.ascontiguousarray(keypoints.candidates[i], dtype=np.float64),
            )
            for i in ids
        }
        data = client.scatter([organoids], broadcast=True)[0]
        id_arr = np.asarray(ids, dtype=np.int64)
        futures = {}
        for c in chunks:
            id_pairs = id_arr[pos_pairs[c]]
            fut = client.submit(
                _solve_chunk,
                data,
                id_pairs,
                params.as_tuple(),
                mode,
                bool(lower_wrap),
                int(threads_per_task),
                pure=False,
            )
            futures[fut] = c

        bar = None
        if progress is True:
            from tqdm.auto import tqdm

            bar = tqdm(total=k, desc="PQAP pairs (dask)", unit="pair")
        finished = 0
        try:
            for fut in as_completed(list(futures)):
                c = futures[fut]
                sim = fut.result()
                S[pos_pairs[c, 0], pos_pairs[c, 1]] = sim
                finished += len(c)
                if bar is not None:
                    bar.update(len(c))
                elif callable(progress):
                    progress(finished, k)
        finally:
            if bar is not None:
                bar.close()
        return ids, S
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()
