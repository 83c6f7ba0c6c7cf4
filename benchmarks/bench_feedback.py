"""The expert in the loop: VI after 0, 5, 10, 20 and 50 answers, active versus random questions,
with and without calibration, with a simulated expert who answers from the true classes.

Run: python benchmarks/bench_feedback.py [--sets test30,synthetic] [--random-seeds 10] [--active-seeds 5]

Protocol (fixed before the first run; nothing below was tuned on these sets):

* The simulated expert answers ``same`` when the two ids have the same true class, else
  ``different``; it is never unsure and never wrong.
* One question at a time: the package proposes the next pair (``corrclust.questions.select_pairs``,
  ``k=1``) given the answers so far, the expert answers, the clustering is recomputed with all
  answers as must-links/cannot-links (``corrclust.solve(..., must_link, cannot_link)``) and, with
  calibration, with the offset fitted to the answers (``corrclust.calibration``).
* Budgets 0, 5, 10, 20, 50 answers. Strategies: ``active`` (the committee; seeds 0..4),
  ``uncertain`` (seed 0) and ``random`` (seeds 0..9); for several seeds the mean and the range
  (min-max) are reported.
* Solver of the clustering: exact for n <= 60 (the paper's choice on Test-30), GAEC + KL above.
* Sets: ``test30``: the paper's stored Test-30 PQAP matrix (min-symmetrised, t = 0.64; VI 0.788
  without answers, paper-model.md F9). ``synthetic``: the demo's synthetic organoids
  (corrclust.images.synthetic, 4 classes x 8, seed 0), PQAP similarities at t = 0.64.
* Re-clustering time: the mean wall time of one re-cluster after an answer is printed per set
  (n <= 1000 target: under 1 s).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

BUDGETS = (0, 5, 10, 20, 50)
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
TEST30 = SHARED / "data/paper-keypoints/matching_results/matching_results_organoid_dataset_unseen_classes.csv"


def recluster(corr, must, cannot, calibrate: bool, solver: str, seed: int = 0):
    """Labels and the parameter used, given the answers as index pairs (what `cluster --feedback` does)."""
    from corrclust.calibration import calibrate as fit
    from corrclust.solve import solve

    parameter = corr.parameter
    if calibrate and (len(must) or len(cannot)):
        parameter = fit(corr, must, cannot).parameter
    problem = corr.problem(parameter)
    res = solve(
        problem,
        method=solver,
        seed=seed,
        must_link=must if len(must) else None,
        cannot_link=cannot if len(cannot) else None,
    )
    return res.labels, problem


def simulate(corr, truth: np.ndarray, strategy: str, calibrate: bool, seed: int, budgets=BUDGETS):
    """VI at every budget, and the mean seconds of a re-cluster."""
    from corrclust.metrics import compare
    from corrclust.questions import select_pairs

    solver = "exact" if truth.size <= 60 else "kl"
    must: list = []
    cannot: list = []
    out = {}
    times = []
    for step in range(max(budgets) + 1):
        t0 = time.perf_counter()
        labels, problem = recluster(
            corr,
            np.array(must, dtype=np.int64).reshape(-1, 2),
            np.array(cannot, dtype=np.int64).reshape(-1, 2),
            calibrate,
            solver,
            seed,
        )
        times.append(time.perf_counter() - t0)
        if step in budgets:
            out[step] = compare(truth, labels)["vi"]
        if step == max(budgets):
            break
        pair = select_pairs(
            problem.to_dense(),
            labels,
            1,
            np.array(must, dtype=np.int64).reshape(-1, 2),
            np.array(cannot, dtype=np.int64).reshape(-1, 2),
            strategy=strategy,
            seed=seed + 1000 * step,
        )
        if not pair:  # everything is implied: the clustering is fixed
            for b in budgets:
                if b > step:
                    out[b] = compare(truth, labels)["vi"]
            break
        i, j = pair[0]
        (must if truth[i] == truth[j] else cannot).append((i, j))
    return out, float(np.mean(times[1:])) if len(times) > 1 else float("nan")


def load_set(name: str):
    from corrclust.pipeline import Correlations, load_correlations

    if name == "test30":
        if not TEST30.is_file():
            raise SystemExit(f"shared data not found: {TEST30}")
        corr = load_correlations(TEST30)
        return corr, corr.ids // 100
    if name == "synthetic":
        import tempfile

        from corrclust import pipeline, pqap
        from corrclust.images import synthetic
        from corrclust.images.keypoints import extract_keypoint_set

        work = Path(tempfile.mkdtemp(prefix="bench-feedback-"))
        synthetic.generate(work / "images", classes=4, per_class=8, seed=0)
        images = pipeline.load_images(work / "images", progress=False)
        kp = extract_keypoint_set(images.records)
        ids, S = pqap.similarity_matrix(kp, pqap.PqapParameters.paper(), progress=False)
        corr = Correlations(np.asarray(ids), S, "similarity", 0.64)
        return corr, np.asarray(ids) // 100
    raise SystemExit(f"unknown set {name!r}")


def timing(sizes=(250, 500, 1000), answers: int = 20, repeats: int = 3) -> None:
    """Seconds of one re-cluster after an answer (KL with all answers as constraints), planted costs."""
    from corrclust.solve import solve

    print(f"\nre-cluster after an answer (GAEC + KL under {answers} answers), median of {repeats}")
    print("    n   plain KL s   with answers s")
    for n in sizes:
        rng = np.random.default_rng(n)
        truth = rng.integers(0, max(2, n // 25), size=n)
        C = np.where(truth[:, None] == truth[None, :], 0.5, -0.5) + rng.normal(scale=1.0, size=(n, n))
        C = np.triu(C, 1)
        C = C + C.T
        pairs = rng.choice(n, size=(4 * answers, 2))
        pairs = pairs[pairs[:, 0] != pairs[:, 1]][:answers]
        same = truth[pairs[:, 0]] == truth[pairs[:, 1]]
        plain, constrained = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            solve(C, method="kl")
            plain.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            solve(C, method="kl", must_link=pairs[same], cannot_link=pairs[~same])
            constrained.append(time.perf_counter() - t0)
        print(f"{n:5d}   {np.median(plain):10.3f}   {np.median(constrained):14.3f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="test30,synthetic")
    ap.add_argument("--random-seeds", type=int, default=10)
    ap.add_argument("--active-seeds", type=int, default=5, help="seeds of the committee (active)")
    ap.add_argument("--timing", action=argparse.BooleanOptionalAction, default=True)
    args = ap.parse_args()
    head = (
        "set        n  strategy   calib "
        + " ".join(f"{'VI@' + str(b):>13}" for b in BUDGETS)
        + "  recluster s"
    )
    print(head)
    print("-" * len(head))
    for name in [s for s in args.sets.split(",") if s]:
        corr, truth = load_set(name)
        for calibrate in (False, True):
            for strategy in ("active", "uncertain", "random"):
                seeds = {"random": range(args.random_seeds), "active": range(args.active_seeds)}.get(
                    strategy, [0]
                )
                runs, secs = [], []
                for s in seeds:
                    vi, t = simulate(corr, truth, strategy, calibrate, s)
                    runs.append([vi[b] for b in BUDGETS])
                    secs.append(t)
                runs = np.array(runs)
                cells = []
                for k in range(len(BUDGETS)):
                    col = runs[:, k]
                    cells.append(
                        f"{col.mean():.3f}"
                        if col.size == 1
                        else f"{col.mean():.3f}({col.min():.2f}-{col.max():.2f})"
                    )
                print(
                    f"{name:9s} {truth.size:3d}  {strategy:9s} {'yes' if calibrate else 'no':5s} "
                    + " ".join(f"{c:>13}" for c in cells)
                    + f"  {np.mean(secs):.3f}",
                    flush=True,
                )
    if args.timing:
        timing()


if __name__ == "__main__":
    main()
