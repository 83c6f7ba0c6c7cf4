"""Does PQAP's improved mode pay off once its parameters are learned for it? Test-30 VI, one run.

    python benchmarks/bench_pqap_learn.py [--per-class 3] [--iterations 10] [--seed 0] [--threads 2]
                                          [--learn improved [reference]] [--cache DIR] [--shared PATH]

The protocol is fixed here, before anything is measured on Test-30:

* **Learning** uses Train-100 only (classes 1-10): ``--per-class`` organoids of every class, drawn
  with ``--seed``, the same organoids for every mode. The reference solver's own learned
  parameters are the paper's (learned for it on Train-100 by the paper's annealing, 3000 steps).
  The improved mode runs the same annealing (``learn_parameters``) with its own solver in the loop,
  ``objective="vi"``: every evaluation solves all ordered pairs of the subset with the improved
  mode, clusters ``min(s_ij, s_ji) - t`` with KL and scores the VI against the classes, minimised
  over t = 0.40 ... 0.90. It starts from the paper's parameters. ``--learn improved reference``
  re-learns the reference mode the same way too (same steps, same seed).
* **Operating point**: the threshold is the one that gave the lowest Train VI for the learned
  vector (learned jointly with it). The rule is the same for every row.
* **Test**: Test-30 (classes 11-13, never seen in learning or in choosing anything) is solved once
  per row and clustered by KL at the row's threshold. Rows:

  1. the paper's recipe: reference solver, the paper's parameters, t = 0.64;
  2. reference / improved with the paper's parameters and the Train-chosen threshold (for the
     reference mode these are its own learned parameters; for the improved mode, what a user had
     before this bench);
  3. the improved mode (and, with ``--learn reference``, the reference mode) with the parameters
     and threshold learned for it here.

  The last column, "oracle", is the best Test-30 VI over the threshold grid: it is tuned on the
  test set and says only how much a perfect threshold would give, never a result.

``--cache DIR`` keeps each mode's learning result (a JSON file per setting), so an interrupted run
resumes at the Test-30 stage. The load average is printed: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from corrclust.metrics import variation_of_information
from corrclust.pqap import PqapParameters, read_keypoints
from corrclust.pqap.learn import VI_THRESHOLDS, learn_parameters, truth_labels
from corrclust.pqap.similarity import PairSolver, ordered_pairs
from corrclust.problem import Problem
from corrclust.solve import solve

TRAIN = "feature_vectors/feature_vectors_organoid_dataset_100_split_1_12_1_16_20.csv"
TRAIN_TRUTH = "clustering_results/clustering_100_split_1_optimal.csv"
TEST = "feature_vectors/feature_vectors_organoid_dataset_unseen_classes_6_2_17_34.csv"
TEST_TRUTH = "clustering_results/clustering_only_unseen_classes_optimal.csv"
PAPER_THRESHOLD = 0.64
MODES = ("reference", "improved")


def start_only(args: argparse.Namespace, kp, truth: Path, mode: str) -> dict:
    """The Train score of the paper's parameters with ``mode`` (no annealing step)."""
    res = learn_parameters(
        kp,
        truth,
        objective="vi",
        start=PqapParameters.paper(),
        iterations=0,
        time_budget=None,
        seed=args.seed,
        organoids=args.per_class,
        mode=mode,
        threads=args.threads,
        progress=False,
    )
    return {"start_vi": res.start.vi, "start_threshold": res.start.vi_threshold, "ids": res.ids}


def learn(args: argparse.Namespace, kp, truth: Path, mode: str) -> dict:
    key = f"{mode}-k{args.per_class}-it{args.iterations}-seed{args.seed}-vi"
    path = args.cache / f"learn-{key}.json" if args.cache else None
    if path is not None and path.exists():
        return json.loads(path.read_text())
    t0 = time.perf_counter()
    res = learn_parameters(
        kp,
        truth,
        objective="vi",
        start=PqapParameters.paper(),
        iterations=args.iterations,
        time_budget=None,
        seed=args.seed,
        organoids=args.per_class,
        mode=mode,
        threads=args.threads,
        progress=False,
    )
    out = {
        "mode": mode,
        "params": list(res.params.as_tuple()),
        "threshold": res.threshold,
        "train_vi": res.vi,
        "start_vi": res.start.vi,
        "start_threshold": res.start.vi_threshold,
        "evaluations": res.evaluations,
        "ids": res.ids,
        "wall_s": time.perf_counter() - t0,
        "load": os.getloadavg()[0],
    }
    print(
        f"learned {mode}: Train VI {res.start.vi:.4f} -> {res.vi:.4f} at t={res.threshold:.2f}, "
        f"{res.evaluations} evaluations of {len(res.ids)} organoids, {out['wall_s']:.0f} s, "
        f"load {out['load']:.1f}",
        flush=True,
    )
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out))
    return out


def test_similarity(solver: PairSolver, params: PqapParameters, mode: str, threads: int) -> np.ndarray:
    n = len(solver.ids)
    pairs = ordered_pairs(n)
    sim, _, done, _ = solver.run(pairs, params, mode=mode, threads=threads)
    assert done.all()
    S = np.full((n, n), np.nan)
    S[pairs[:, 0], pairs[:, 1]] = sim
    return S


def cluster_vi(S: np.ndarray, labels: np.ndarray, t: float) -> tuple[float, float, float, int]:
    res = solve(Problem.from_similarities(S, threshold=float(t), symmetrize="min"), method="kl")
    vi, fc, fj = variation_of_information(labels, res.labels)
    return vi, fc, fj, int(np.unique(res.labels).size)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_shared = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "paper-keypoints"
    ap.add_argument("--shared", type=Path, default=default_shared)
    ap.add_argument("--per-class", type=int, default=3, metavar="K", help="Train-100 organoids per class")
    ap.add_argument("--iterations", type=int, default=10, metavar="N", help="annealing steps per mode")
    ap.add_argument("--learn", nargs="+", default=["improved"], choices=MODES, help="modes to learn for")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=None, metavar="DIR")
    args = ap.parse_args()

    train_kp = read_keypoints(args.shared / TRAIN)
    train_truth = args.shared / TRAIN_TRUTH
    learned = {m: learn(args, train_kp, train_truth, m) for m in MODES if m in args.learn}
    start = {m: learned[m] if m in learned else start_only(args, train_kp, train_truth, m) for m in MODES}
    print(
        "Train, paper's parameters: "
        + ", ".join(
            f"{m} VI {start[m]['start_vi']:.4f} at t={start[m]['start_threshold']:.2f}" for m in MODES
        ),
        flush=True,
    )

    test_kp = read_keypoints(args.shared / TEST)
    test_labels = truth_labels(args.shared / TEST_TRUTH, test_kp.ids)
    solver = PairSolver(test_kp)
    paper = PqapParameters.paper()
    rows: list[tuple[str, str, PqapParameters, float, float | None]] = [
        ("paper recipe", "reference", paper, PAPER_THRESHOLD, None)
    ]
    for m in MODES:
        rows.append(("paper params", m, paper, start[m]["start_threshold"], start[m]["start_vi"]))
    for m in learned:
        p = PqapParameters(*learned[m]["params"])
        rows.append((f"learned for {m}", m, p, learned[m]["threshold"], learned[m]["train_vi"]))

    cache: dict[tuple, np.ndarray] = {}
    print(
        f"{'parameters':<22}{'mode':<11}{'t':>6}{'Train VI':>10}{'Test-30 VI':>12}{'FC':>7}{'FJ':>7}"
        f"{'k':>4}{'oracle':>8}{'s':>7}{'load':>6}"
    )
    for name, mode, p, t, train_vi in rows:
        key = (mode, p.as_tuple())
        t0 = time.perf_counter()
        if key not in cache:
            cache[key] = test_similarity(solver, p, mode, args.threads)
        S = cache[key]
        vi, fc, fj, k = cluster_vi(S, test_labels, t)
        oracle = min(cluster_vi(S, test_labels, float(u))[0] for u in VI_THRESHOLDS)
        tv = "-" if train_vi is None else f"{train_vi:.4f}"
        print(
            f"{name:<22}{mode:<11}{t:>6.2f}{tv:>10}{vi:>12.4f}{fc:>7.3f}{fj:>7.3f}{k:>4}{oracle:>8.4f}"
            f"{time.perf_counter() - t0:>7.1f}{os.getloadavg()[0]:>6.1f}",
            flush=True,
        )
    for m in learned:
        names = PqapParameters.names()
        print(
            f"learned for {m}: "
            + ", ".join(f"{a}={v:.6g}" for a, v in zip(names, learned[m]["params"], strict=True))
        )
    print(
        f"Train: {len(start['improved']['ids'])} organoids ({args.per_class} per class, seed {args.seed}), "
        f"{args.iterations} annealing steps per learned mode, objective VI (KL), t in 0.40..0.90. "
        "Test-30: 30 organoids of 3 unseen classes, KL at the row's t."
    )


if __name__ == "__main__":
    from needs import run_main

    raise SystemExit(run_main(main))
