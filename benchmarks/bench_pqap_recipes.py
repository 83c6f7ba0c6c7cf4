"""Which PQAP cost recipe generalises to unseen classes? Class-wise CV on Train-100, then Test-30 once.

    python benchmarks/bench_pqap_recipes.py cv   [--cache DIR] [--threads 2] [--shared PATH]
    python benchmarks/bench_pqap_recipes.py test [--cache DIR] [--threads 2] [--shared PATH]

Both PQAP modes use the paper's parameters; a recipe turns the similarity matrix S of a set into
correlation-clustering costs and is *learned* on labelled organoids (a threshold, or a logistic
rule plus its bias). The protocol is fixed here, before anything is measured on Test-30:

* **cv** (Train-100 only, classes 1-10): every one of the C(10, 3) = 120 triples of classes is
  held out in turn, like Test-30 (3 unseen classes x 10 organoids). The recipe is learned on the
  other 7 classes: its free parts (logistic coefficients) on their pairs, its threshold as the one
  with the lowest mean VI over all C(7, 3) = 35 triples of those classes (KL; on a plateau of equal
  means, its middle grid point; a seeded sample of 10 of the 35 for recipes with fitted parts).
  The held-out triple is then clustered (KL) and scored. The table gives the mean VI over the 120
  held-out triples (and its standard error), per mode and recipe.
* **test**: the recipes ``TEST_RECIPES`` are learned on all of Train-100 (threshold over all 120
  triples) for both modes, and Test-30 (classes 11-13) is scored once, next to the paper's recipe
  (reference mode, min, t = 0.64). The pre-declared comparison (``CV_BEST``, committed before this
  stage ever ran): the improved mode with its CV-best recipe ``FROZEN`` against the paper's recipe
  and against the reference mode with its own CV-best recipe. Result (2026-12-06): 1.453 against
  0.788 and 0.667; the improved mode loses (docs/pqap.md).

Similarity matrices are cached in ``--cache`` (one .npz per set and mode); computing Train-100
takes about 250 CPU-s (reference) and 410 CPU-s (improved). The load average is printed: the
machine is shared.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corrclust.metrics import variation_of_information
from corrclust.pqap import PqapParameters, read_keypoints
from corrclust.pqap.recipe import recipe_scores
from corrclust.pqap.similarity import PairSolver, ordered_pairs
from corrclust.problem import Problem
from corrclust.solve import solve

TRAIN = "feature_vectors/feature_vectors_organoid_dataset_100_split_1_12_1_16_20.csv"
TEST = "feature_vectors/feature_vectors_organoid_dataset_unseen_classes_6_2_17_34.csv"
MODES = ("reference", "improved")
PAPER_THRESHOLD = 0.64
#: The recipe scored on Test-30 by the ``test`` stage (set from the cv table, never from Test-30).
FROZEN = "mean-centred"
#: Each mode's recipe of lowest CV VI (the cv table, 2026-12-06): the pre-declared comparison on
#: Test-30 is improved + its recipe against the paper's recipe and against reference + its recipe.
CV_BEST = {"reference": "mean", "improved": FROZEN}
#: Recipes scored on Test-30 for both modes (one table; the other rows only show where a gain comes from).
TEST_RECIPES = ("min", "mean", "mean-centred")
#: Inner triples per fold for recipes with fitted parts (a seeded sample of the 35; all 35 took
#: 7 minutes per recipe at load 18 on the shared 2 cores).
INNER_FITTED = 10


# ------------------------------------------------------------------------------------ matrices
@dataclass
class PairSet:
    """The PQAP matrix of one organoid set: S[a, b] = s(a -> b), NaN diagonal, and key-point counts."""

    ids: np.ndarray
    S: np.ndarray
    n_features: np.ndarray
    n_candidates: np.ndarray

    @property
    def labels(self) -> np.ndarray:
        return self.ids // 100

    def take(self, idx: np.ndarray) -> PairSet:
        return PairSet(self.ids[idx], self.S[np.ix_(idx, idx)], self.n_features[idx], self.n_candidates[idx])


def pair_set(path: Path, mode: str, threads: int, cache: Path | None) -> PairSet:
    out = cache / f"{path.stem}-{mode}-paper.npz" if cache is not None else None
    if out is not None and out.exists():
        z = np.load(out)
        return PairSet(z["ids"], z["S"], z["n_features"], z["n_candidates"])
    kp = read_keypoints(path)
    solver = PairSolver(kp)
    n = len(solver.ids)
    pairs = ordered_pairs(n)
    t0 = time.process_time()
    sim, _, done, _ = solver.run(pairs, PqapParameters.paper(), mode=mode, threads=threads)
    assert done.all()
    S = np.full((n, n), np.nan)
    S[pairs[:, 0], pairs[:, 1]] = sim
    ps = PairSet(
        np.asarray(solver.ids, dtype=np.int64),
        S,
        np.array([kp.features[i].shape[0] for i in solver.ids]),
        np.array([kp.candidates[i].shape[0] for i in solver.ids]),
    )
    print(
        f"{path.stem[:40]} {mode}: {len(pairs)} pairs, {time.process_time() - t0:.0f} CPU-s, "
        f"load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        np.savez(out, ids=ps.ids, S=ps.S, n_features=ps.n_features, n_candidates=ps.n_candidates)
    return ps


# ------------------------------------------------------------------------------------- recipes
def symmetric(S: np.ndarray, how: str) -> np.ndarray:
    return recipe_scores(S, how)


def pair_features(ps: PairSet) -> np.ndarray:
    """(n, n, 4): min s, max s, |log nf_a - log nf_b|, mean log nf."""
    A = np.array(ps.S, dtype=np.float64)
    np.fill_diagonal(A, np.nan)
    lo, hi = np.fmin(A, A.T), np.fmax(A, A.T)
    lf = np.log(ps.n_features.astype(np.float64))
    return np.stack([lo, hi, np.abs(lf[:, None] - lf[None, :]), (lf[:, None] + lf[None, :]) / 2], axis=-1)


class Recipe:
    """Scores Z (symmetric, zero diagonal) of a set; the costs are Z - t with t learned on a grid."""

    name = ""
    grid = np.arange(40, 91) / 100.0

    def fit(self, ps: PairSet) -> None:  # the learned parts other than the threshold
        pass

    def scores(self, ps: PairSet) -> np.ndarray:
        raise NotImplementedError


class Sym(Recipe):
    def __init__(self, how: str):
        self.how = how
        self.name = how

    def scores(self, ps: PairSet) -> np.ndarray:
        return symmetric(ps.S, self.how)


class RowCentred(Recipe):
    grid = np.arange(-30, 31) / 100.0

    def __init__(self, how: str):
        self.how = how
        self.name = f"{how}-centred"

    def scores(self, ps: PairSet) -> np.ndarray:
        return recipe_scores(ps.S, self.how, centred=True)


class Logistic(Recipe):
    """logit P(same class | pair features), fitted on the learning pairs (class-balanced)."""

    name = "logistic"
    grid = np.arange(-15, 16) / 5.0

    def fit(self, ps: PairSet) -> None:
        from sklearn.linear_model import LogisticRegression

        X = pair_features(ps)
        iu = np.triu_indices(len(ps.ids), 1)
        y = (ps.labels[:, None] == ps.labels[None, :])[iu]
        self.model = LogisticRegression(max_iter=1000, class_weight="balanced").fit(X[iu], y)

    def scores(self, ps: PairSet) -> np.ndarray:
        X = pair_features(ps)
        n = len(ps.ids)
        iu = np.triu_indices(n, 1)
        Z = np.zeros((n, n))
        Z[iu] = self.model.decision_function(X[iu])
        return Z + Z.T


RECIPES: dict[str, Callable[[], Recipe]] = {
    "min": lambda: Sym("min"),
    "mean": lambda: Sym("mean"),
    "min-centred": lambda: RowCentred("min"),
    "mean-centred": lambda: RowCentred("mean"),
    "logistic": Logistic,
}


# ------------------------------------------------------------------------------ learning, CV
def kl_labels(C: np.ndarray) -> np.ndarray:
    """KL (corrclust's default solver) on a small dense cost matrix.

    The same core call as ``solve(Problem(...), method="kl")`` without its per-call checks, which
    took 2/3 of the time at n = 30 (the CV solves about 10^5 such problems).
    """
    from corrclust._native import _core

    raw = _core.heuristics.solve_dense(
        np.ascontiguousarray(C), "kl", time_limit=None, seed=0, warm_start=None, progress=None, options=None
    )
    return np.asarray(raw["labels"], dtype=np.int64)


def small_vi(truth: np.ndarray, pred: np.ndarray) -> float:
    """VI in bits from a dense contingency table (same value as metrics.variation_of_information)."""
    _, t = np.unique(truth, return_inverse=True)
    _, p = np.unique(pred, return_inverse=True)
    table = np.zeros((t.max() + 1, p.max() + 1))
    np.add.at(table, (t, p), 1.0)
    pt = table / table.sum()
    a, b = pt.sum(axis=1), pt.sum(axis=0)
    nz = pt > 0
    mi = float((pt[nz] * np.log2(pt[nz] / np.outer(a, b)[nz])).sum())
    h = float(-(a * np.log2(a)).sum() - (b * np.log2(b)).sum())
    return max(h - 2 * mi, 0.0)


def cluster_vi(Z: np.ndarray, labels: np.ndarray, t: float) -> float:
    C = Z - t
    np.fill_diagonal(C, 0.0)
    return small_vi(labels, kl_labels(C))


def check_fast_path() -> None:
    """The fast KL and VI above agree with corrclust's public solve and metrics (checked per run)."""
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1, 2], 10)
    Z = 0.08 * (labels[:, None] == labels[None, :]) + rng.normal(0, 0.05, (30, 30))
    Z = (Z + Z.T) / 2
    for t in (-0.02, 0.0, 0.03):
        C = Z - t
        np.fill_diagonal(C, 0.0)
        ref = solve(Problem(30, C), method="kl").labels
        assert abs(variation_of_information(labels, ref)[0] - cluster_vi(Z, labels, t)) < 1e-12


def triples_of(classes: list[int]) -> list[tuple[int, ...]]:
    return list(itertools.combinations(classes, 3))


def vi_table(recipe: Recipe, ps: PairSet, triples: list[tuple[int, ...]]) -> np.ndarray:
    """VI of every triple's clustering at every grid threshold (the recipe already fitted)."""
    V = np.empty((len(triples), recipe.grid.size))
    for a, tri in enumerate(triples):
        sub = ps.take(np.flatnonzero(np.isin(ps.labels, tri)))
        Z = recipe.scores(sub)
        V[a] = [cluster_vi(Z, sub.labels, float(t)) for t in recipe.grid]
    return V


def choose_threshold(grid: np.ndarray, mean_vi: np.ndarray) -> float:
    """The grid point of lowest mean VI; on a plateau of equal minima, its middle point."""
    best = np.flatnonzero(mean_vi <= mean_vi.min() + 1e-12)
    return float(grid[best[len(best) // 2]])


def learn(name: str, ps: PairSet) -> tuple[Recipe, float]:
    """Fit the recipe on all of ``ps`` and choose its threshold over all triples of its classes."""
    recipe = RECIPES[name]()
    recipe.fit(ps)
    V = vi_table(recipe, ps, triples_of(sorted(set(ps.labels.tolist()))))
    return recipe, choose_threshold(recipe.grid, V.mean(axis=0))


def cross_validate(name: str, ps: PairSet) -> tuple[np.ndarray, np.ndarray]:
    """Leave-3-classes-out: (held-out VI, chosen threshold) per held-out triple."""
    classes = sorted(set(ps.labels.tolist()))
    outer = triples_of(classes)
    vis, ts = np.empty(len(outer)), np.empty(len(outer))
    fixed_table = None
    for a, held in enumerate(outer):
        learn_idx = np.flatnonzero(~np.isin(ps.labels, held))
        recipe = RECIPES[name]()
        recipe.fit(ps.take(learn_idx))
        if type(recipe).fit is Recipe.fit:  # nothing fitted: one table serves every fold
            if fixed_table is None:
                fixed_table = vi_table(recipe, ps, outer)
            inner = [b for b, tri in enumerate(outer) if not set(tri) & set(held)]
            t = choose_threshold(recipe.grid, fixed_table[inner].mean(axis=0))
        else:
            learn_set = ps.take(learn_idx)
            inner_triples = triples_of([c for c in classes if c not in held])
            pick = np.random.default_rng(a).choice(len(inner_triples), INNER_FITTED, replace=False)
            V = vi_table(recipe, learn_set, [inner_triples[i] for i in sorted(pick)])
            t = choose_threshold(recipe.grid, V.mean(axis=0))
        sub = ps.take(np.flatnonzero(np.isin(ps.labels, held)))
        vis[a], ts[a] = cluster_vi(recipe.scores(sub), sub.labels, t), t
    return vis, ts


def compare_modes(ref: PairSet, imp: PairSet) -> None:
    """How the improved similarities differ from the reference ones (all ordered Train-100 pairs)."""
    from sklearn.metrics import roc_auc_score

    off = ~np.eye(len(ref.ids), dtype=bool)
    gain = imp.S[off] - ref.S[off]
    r = np.corrcoef(imp.S[off], ref.S[off])[0, 1]
    print(
        f"improved - reference s: mean {gain.mean():+.4f}, median {np.median(gain):+.4f}, correlation {r:.4f}"
    )
    iu = np.triu_indices(len(ref.ids), 1)
    same = (ref.labels[:, None] == ref.labels[None, :])[iu]
    for name, ps in (("reference", ref), ("improved", imp)):
        auc = {how: roc_auc_score(same, symmetric(ps.S, how)[iu]) for how in ("min", "mean")}
        print(f"{name}: pairwise ROC AUC of same class, min s {auc['min']:.4f}, mean s {auc['mean']:.4f}")


def cv_stage(args: argparse.Namespace) -> None:
    check_fast_path()
    compare_modes(*(pair_set(args.shared / TRAIN, m, args.threads, args.cache) for m in MODES))
    print(f"{'mode':<11}{'recipe':<14}{'CV VI':>8}{'+-se':>8}{'t (median)':>12}{'s':>6}{'load':>6}")
    for mode in MODES:
        ps = pair_set(args.shared / TRAIN, mode, args.threads, args.cache)
        paper = vi_table(Sym("min"), ps, triples_of(list(range(1, 11))))
        k = int(np.argmin(np.abs(Sym("min").grid - PAPER_THRESHOLD)))
        se = paper[:, k].std(ddof=1) / np.sqrt(paper.shape[0])
        print(f"{mode:<11}{'min, t=0.64':<14}{paper[:, k].mean():>8.4f}{se:>8.4f}{0.64:>12.2f}")
        for name in args.recipes:
            t0 = time.perf_counter()
            vis, ts = cross_validate(name, ps)
            se = vis.std(ddof=1) / np.sqrt(vis.size)
            print(
                f"{mode:<11}{name:<14}{vis.mean():>8.4f}{se:>8.4f}{np.median(ts):>12.2f}"
                f"{time.perf_counter() - t0:>6.0f}{os.getloadavg()[0]:>6.1f}",
                flush=True,
            )
    print(
        "Train-100, leave-3-classes-out over the 120 triples; recipe learned on the other 7 "
        "classes (threshold by mean VI over their 35 triples, KL); PQAP with the paper's parameters."
    )


def test_stage(args: argparse.Namespace) -> None:
    check_fast_path()
    rows: list[tuple[str, str, Recipe | None, float]] = [("reference", "min, t=0.64 (paper) *", None, 0.64)]
    for mode in MODES:
        train = pair_set(args.shared / TRAIN, mode, args.threads, args.cache)
        for name in TEST_RECIPES:
            recipe, t = learn(name, train)
            mark = " *" if name == CV_BEST[mode] else ""
            rows.append((mode, f"{name} (learned){mark}", recipe, t))
    print(f"{'mode':<11}{'recipe':<28}{'t':>7}{'Test-30 VI':>12}{'FC':>7}{'FJ':>7}{'k':>4}")
    for mode, label, recipe, t in rows:
        test = pair_set(args.shared / TEST, mode, args.threads, args.cache)
        Z = symmetric(test.S, "min") if recipe is None else recipe.scores(test)
        C = Z - t
        np.fill_diagonal(C, 0.0)
        res = solve(Problem(C.shape[0], C), method="kl")
        vi, fc, fj = variation_of_information(test.labels, res.labels)
        k = np.unique(res.labels).size
        print(f"{mode:<11}{label:<28}{t:>7.2f}{vi:>12.4f}{fc:>7.3f}{fj:>7.3f}{k:>4}", flush=True)
    print(
        f"Recipes learned on all of Train-100 (threshold by mean VI over its 120 class triples); "
        f"Test-30 (classes 11-13, never used for a choice) scored once, KL; load {os.getloadavg()[0]:.1f}. "
        "* = the pre-declared rows: the paper's recipe and each mode's CV-best recipe."
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_shared = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "paper-keypoints"
    ap.add_argument("stage", choices=("cv", "test"))
    ap.add_argument("--shared", type=Path, default=default_shared)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=None, metavar="DIR")
    ap.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    args = ap.parse_args()
    cv_stage(args) if args.stage == "cv" else test_stage(args)


if __name__ == "__main__":
    from needs import run_main

    raise SystemExit(run_main(main))
