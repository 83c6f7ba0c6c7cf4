"""PQAP matching of organoid pairs and all-pairs similarity matrices.

``s(A -> B) = E(x) / E_opt`` where x is the matching of A's features to B's candidates found by the
solver (paper-model.md §4-§5):

* ``mode="reference"`` runs the paper's heuristics A, B and C exactly as the paper's code does
  (it reproduces the stored Test-30 results);
* ``mode="improved"`` also solves B -> A with the reference solver, reads that matching backwards
  as A -> B (key points named by channel, column and row) and keeps it when its energy is strictly
  lower, so its similarity is never lower (on the paper's organoids it is the same: docs/pqap.md).

The matrices are computed by C++ threads over the ordered pairs (the GIL released, largest pairs
first, results independent of the thread count), with a tqdm progress bar, Ctrl-C, and an optional
checkpoint file that makes an interrupted run resumable.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from corrclust.atomic import atomic_path
from corrclust.pqap.io import KeypointSet, PqapParameters

__all__ = [
    "MODES",
    "PairMatch",
    "e_opt",
    "match_pair",
    "assignment_cost",
    "similarity_matrix",
    "pair_similarities",
    "ordered_pairs",
    "PairSolver",
]

MODES = ("reference", "improved")
_WINNERS = {0: "empty", 1: "A", 2: "B", 3: "C", 4: "local_search", 5: "reversed"}


@dataclass(frozen=True)
class PairMatch:
    """The matching of features(a) -> candidates(b) and its scores."""

    a: int
    b: int
    assignment: np.ndarray  # int, candidate index per feature of a, -1 = unassigned
    energy: float
    similarity: float
    linear_by_feature: float
    linear_by_candidate: float
    winner: str  # which stage produced it: "A", "B", "C", "reversed" or "empty" ("local_search": the
    # improved mode before 2026-12-07)


def _params_list(params: PqapParameters) -> list[float]:
    if not isinstance(params, PqapParameters):
        raise TypeError(f"params must be a PqapParameters, got {type(params).__name__}")
    params.validate()
    return list(params.as_tuple())


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}, got {mode!r}")
    return mode


def e_opt(params: PqapParameters) -> float:
    """E_opt = -(1 - lambda)(theta gamma_c + (1 - theta) gamma_d) - lambda gamma_a."""
    from corrclust._native import _core

    return float(_core.pqap.e_opt(_params_list(params)))


class PairSolver:
    """The key points of one :class:`KeypointSet`, converted once for the C++ solver.

    Reuse one instance for many sweeps (parameter learning does); ``index[id]`` is the position of
    an organoid in ``keypoints.ids``.
    """

    def __init__(self, keypoints: KeypointSet):
        from corrclust._native import _core

        keypoints.validate()
        self.keypoints = keypoints
        self.ids = list(keypoints.ids)
        self.index = {i: k for k, i in enumerate(self.ids)}
        self._set = _core.pqap.OrganoidSet(
            [np.ascontiguousarray(keypoints.features[i], dtype=np.float64) for i in self.ids],
            [np.ascontiguousarray(keypoints.candidates[i], dtype=np.float64) for i in self.ids],
        )

    def _pos(self, organoid_id: int) -> int:
        try:
            return self.index[int(organoid_id)]
        except KeyError:
            raise ValueError(f"organoid {organoid_id} is not in the key-point set") from None

    def match(
        self, a: int, b: int, params: PqapParameters, mode: str = "reference", lower_wrap: bool = False
    ) -> PairMatch:
        r = self._set.match(
            self._pos(a), self._pos(b), _params_list(params), bool(lower_wrap), _check_mode(mode)
        )
        return _to_match(a, b, r)

    def cost(
        self, a: int, b: int, params: PqapParameters, assignment: Any, lower_wrap: bool = False
    ) -> PairMatch:
        x = np.asarray(assignment)
        if x.ndim != 1 or not np.issubdtype(x.dtype, np.integer):
            raise ValueError("assignment must be a 1-D integer array")
        n = self.keypoints.features[int(a)].shape[0]
        m = self.keypoints.candidates[int(b)].shape[0]
        if x.shape[0] != n:
            raise ValueError(
                f"assignment of {a} -> {b} must have {n} entries (features of {a}), got {x.shape[0]}"
            )
        if x.size and (x.min() < -1 or x.max() >= m):
            raise ValueError(f"assignment entries must lie in [-1, {m - 1}] (candidates of {b})")
        used = x[x >= 0]
        if np.unique(used).size != used.size:
            raise ValueError("assignment uses a candidate twice")
        r = self._set.energy(
            self._pos(a), self._pos(b), _params_list(params), bool(lower_wrap), x.astype(np.int32)
        )
        return _to_match(a, b, r)

    def run(
        self,
        pairs: np.ndarray,
        params: PqapParameters,
        *,
        mode: str = "reference",
        lower_wrap: bool = False,
        threads: int | None = None,
        similarity: np.ndarray | None = None,
        energy: np.ndarray | None = None,
        done: np.ndarray | None = None,
        want_assignments: bool = False,
        progress: Callable[[int], Any] | None = None,
        tick_interval: float = 0.1,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
        """Solve the given (k, 2) positions (into ``ids``); returns (similarity, energy, done, assignments).

        Entries with ``done != 0`` on entry are kept. ``progress(finished_in_this_call)`` is called
        from this thread about every ``tick_interval`` seconds.
        """
        pairs = np.ascontiguousarray(pairs, dtype=np.int32).reshape(-1, 2)
        k = pairs.shape[0]
        similarity = np.full(k, np.nan) if similarity is None else similarity
        energy = np.full(k, np.nan) if energy is None else energy
        done = np.zeros(k, np.uint8) if done is None else done
        assignments = self._set.run_pairs(
            pairs,
            _params_list(params),
            bool(lower_wrap),
            _check_mode(mode),
            _check_threads(threads),
            similarity,
            energy,
            done,
            bool(want_assignments),
            progress,
            float(tick_interval),
        )
        return similarity, energy, done, list(assignments)


def _to_match(a: int, b: int, r: dict) -> PairMatch:
    return PairMatch(
        a=int(a),
        b=int(b),
        assignment=np.asarray(r["assignment"], dtype=np.int64),
        energy=float(r["energy"]),
        similarity=float(r["similarity"]),
        linear_by_feature=float(r["linear_by_feature"]),
        linear_by_candidate=float(r["linear_by_candidate"]),
        winner=_WINNERS.get(int(r["winner"]), "?"),
    )


def _check_threads(threads: int | None) -> int:
    if threads is None:
        return 0  # all hardware threads
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
    return int(threads)


def match_pair(
    keypoints: KeypointSet,
    a: int,
    b: int,
    params: PqapParameters,
    mode: str = "reference",
    lower_wrap: bool = False,
) -> PairMatch:
    """Match features(a) -> candidates(b) (organoid ids) and return the matching and its similarity."""
    return PairSolver(keypoints.subset([a] if a == b else [a, b])).match(a, b, params, mode, lower_wrap)


def assignment_cost(
    keypoints: KeypointSet, a: int, b: int, params: PqapParameters, assignment: Any, lower_wrap: bool = False
) -> PairMatch:
    """E, s and the linear ratios of a given assignment of features(a) -> candidates(b)."""
    return PairSolver(keypoints.subset([a] if a == b else [a, b])).cost(a, b, params, assignment, lower_wrap)


def ordered_pairs(n: int) -> np.ndarray:
    """All n(n-1) ordered pairs (a, b), a != b, of positions 0..n-1, row-major."""
    a, b = np.nonzero(~np.eye(n, dtype=bool))
    return np.stack([a, b], axis=1).astype(np.int32)


# ------------------------------------------------------------------------------------------------
# All-pairs matrices


def _fingerprint(keypoints: KeypointSet, params: PqapParameters, mode: str, lower_wrap: bool) -> str:
    """A hash of everything a similarity matrix depends on (checks that a checkpoint fits the run)."""
    h = hashlib.sha256()
    h.update(repr((params.as_tuple(), mode, bool(lower_wrap), list(keypoints.ids))).encode())
    for i in keypoints.ids:
        h.update(np.ascontiguousarray(keypoints.features[i], dtype=np.float64).tobytes())
        h.update(np.ascontiguousarray(keypoints.candidates[i], dtype=np.float64).tobytes())
    return h.hexdigest()


def _save_checkpoint(
    path: Path, fingerprint: str, ids: list[int], sim: np.ndarray, en: np.ndarray, done: np.ndarray
) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(
            fh,
            fingerprint=np.array(fingerprint),
            ids=np.asarray(ids, dtype=np.int64),
            similarity=sim,
            energy=en,
            done=done.copy(),
        )


def _load_checkpoint(
    path: Path, fingerprint: str, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            fp = str(z["fingerprint"])
            sim, en, done = z["similarity"], z["energy"], z["done"]
    except Exception as exc:  # any unreadable file is reported the same way
        raise ValueError(f"checkpoint {path} is not a readable PQAP checkpoint: {exc}") from None
    if fp != fingerprint or sim.shape != (k,) or done.shape != (k,):
        raise ValueError(
            f"checkpoint {path} belongs to another run (different key points, parameters, mode or "
            "lower_wrap); delete it or choose another path"
        )
    return sim.astype(np.float64), en.astype(np.float64), done.astype(np.uint8)


def pair_similarities(
    keypoints: KeypointSet,
    uv: np.ndarray,
    params: PqapParameters,
    mode: str = "reference",
    threads: int | None = None,
    *,
    lower_wrap: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """PQAP on a pair list only (the sparse path): ``(s_uv, s_vu)``, both ``(m,)``.

    ``uv`` (m, 2) holds positions into ``keypoints.ids`` (e.g. a kNN graph's candidate pairs);
    both orders are matched, as :func:`similarity_matrix` does for every pair, so the entries equal
    its ``S[u, v]`` and ``S[v, u]`` and the usual symmetrisation (min) applies. The C++ sweep
    already takes any list of ordered pairs; work and memory are linear in m.
    """
    uv = np.asarray(uv, dtype=np.int64).reshape(-1, 2)
    n = len(keypoints.ids)
    if uv.size and (uv.min() < 0 or uv.max() >= n or (uv[:, 0] == uv[:, 1]).any()):
        raise ValueError(f"pairs must be two different positions in 0..{n - 1}")
    solver = PairSolver(keypoints)
    ordered = np.concatenate([uv, uv[:, ::-1]])
    sim, _, done, _ = solver.run(ordered, params, mode=mode, lower_wrap=lower_wrap, threads=threads)
    if not done.all():  # pragma: no cover - only an interrupt stops the sweep early
        raise KeyboardInterrupt
    m = uv.shape[0]
    return sim[:m], sim[m:]


def similarity_matrix(
    keypoints: KeypointSet,
    params: PqapParameters,
    mode: str = "reference",
    threads: int | None = None,
    *,
    lower_wrap: bool = False,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_interval: float = 30.0,
    progress: bool | Callable[[int, int], Any] = True,
    ids: Sequence[int] | None = None,
    foreign_checkpoint: str = "error",
) -> tuple[list[int], np.ndarray]:
    """All ordered-pair similarities: returns ``(ids, S)`` with ``S[a, b] = s(ids[a] -> ids[b])``.

    The ids are in file order (or the given ``ids``, a subset of ``keypoints.ids``); the diagonal
    is NaN (an organoid is never matched with itself; the paper's files hold 'S' there).

    Parameters
    ----------
    keypoints
        The organoids' key points (:func:`corrclust.pqap.read_keypoints`).
    params
        The cost parameters (:class:`PqapParameters`, e.g. :func:`corrclust.pqap.read_parameters`).
    mode
        ``"reference"`` (the paper's solver, bit-exact) or ``"improved"`` (the better of each
        direction's reference matching and the other direction's, read backwards).
    threads
        Worker threads (None: all cores). The result does not depend on it.
    lower_wrap
        Use the corrected pair term with the lower angle wrap (False reproduces the paper's data).
    checkpoint, checkpoint_interval
        Path of an ``.npz`` file: finished pairs are saved there every ``checkpoint_interval``
        seconds and when the run ends or is interrupted; a later call with the same inputs resumes.
    progress
        True: a tqdm bar on stderr; False: silent; or a callable ``progress(done, total)``.
    ids
        Only these organoids (a subset of ``keypoints.ids``), in this order.
    foreign_checkpoint
        What a ``checkpoint`` file of another run (other inputs) or an unreadable one does:
        ``"error"`` raises ValueError; ``"restart"`` replaces it, starting afresh (for a default
        checkpoint the user never named).
    """
    if foreign_checkpoint not in ("error", "restart"):
        raise ValueError(f"foreign_checkpoint must be 'error' or 'restart', got {foreign_checkpoint!r}")
    mode = _check_mode(mode)
    threads_arg = _check_threads(threads)
    if ids is not None:
        keypoints = keypoints.subset(ids)
    solver = PairSolver(keypoints)
    n = len(solver.ids)
    pairs = ordered_pairs(n)
    k = pairs.shape[0]
    sim = np.full(k, np.nan)
    en = np.full(k, np.nan)
    done = np.zeros(k, np.uint8)
    ck_path = Path(checkpoint) if checkpoint is not None else None
    fingerprint = ""
    if ck_path is not None:
        fingerprint = _fingerprint(keypoints, params, mode, lower_wrap)
        try:
            loaded = _load_checkpoint(ck_path, fingerprint, k)
        except ValueError:
            if foreign_checkpoint == "error":
                raise
            loaded = None
        if loaded is not None:
            sim, en, done = loaded
    already = int(done.sum())

    bar = None
    report: Callable[[int, int], Any] | None = None
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(total=k, initial=already, desc="PQAP pairs", unit="pair", smoothing=0.05)
    elif callable(progress):
        report = progress
    last_save = [time.monotonic()]

    def tick(finished: int) -> None:
        if bar is not None:
            bar.update(already + finished - bar.n)
        if report is not None:
            report(already + finished, k)
        if ck_path is not None and time.monotonic() - last_save[0] >= checkpoint_interval:
            _save_checkpoint(ck_path, fingerprint, solver.ids, sim, en, done)
            last_save[0] = time.monotonic()

    try:
        if already < k:
            solver.run(
                pairs,
                params,
                mode=mode,
                lower_wrap=lower_wrap,
                threads=threads_arg or None,
                similarity=sim,
                energy=en,
                done=done,
                progress=tick,
            )
    finally:
        if bar is not None:
            bar.close()
        if ck_path is not None:
            _save_checkpoint(ck_path, fingerprint, solver.ids, sim, en, done)
    S = np.full((n, n), np.nan)
    S[pairs[:, 0], pairs[:, 1]] = sim
    return list(solver.ids), S
