"""Does PQAP's improved mode (the reversed matching competes) pay off on fresh organoids? One scored run.

    python benchmarks/bench_pqap_reversed.py [--seeds 3000-3019] [--classes 4] [--per-class 6]
                                             [--size 160] [--threads 2]

Issue 13 item 9, fourth attempt. Three earlier attempts showed that a better QAP optimum per
direction (the local search) cannot pay off: it raises almost every similarity by the same amount
and separates classes no better. So the improved mode was redefined as a different *similarity*,
chosen on development data only (the protocol below was written, amended as the dev numbers came
in, and committed with this script before any report seed was generated):

* **Candidates** (all with the paper's parameters; a full annealing run with the solver in the loop
  did not fit the session, so only the threshold is learned per mode): the local search, with and
  without the corrected circular angle distance; and on top of the reference or the local-search
  solution: ``s`` the better (lower E(a->b)) of x(a->b) and x(b->a) read backwards; ``c`` one
  matching for both directions (the one of larger s(a->b) + s(b->a)); ``x`` only the assignments
  both directions agree on. Recipes ``min`` and ``mean`` of s(i->j), s(j->i).
* **Operating point**: t = ``pqap.recipe.learn_threshold`` on all of Train-100 (lowest mean KL VI
  over the 120 class triples, grid 0.40 ... 0.90), per mode and recipe.
* **Development**: synthetic seeds 900-909 (4 x 6) at the Train-learned t. Selection: the lowest
  dev mean VI among rows below the reference mode with the same recipe. Chosen: ``s`` on the
  reference solution with the ``mean`` recipe (dev 0.657 against 0.673; one seed better, nine
  tied; t = 0.66 for both modes). It is now ``mode="improved"``.
* **Report**: fresh seeds 3000-3019, never used before, scored once: the improved mode against the
  reference mode, both with the mean recipe at their Train-learned t. **It pays off iff its mean
  VI over the 20 seeds is lower.** Reported with it: paired wins / ties / losses and a two-sided
  exact sign test; information only: both modes with the paper's ``min`` symmetrisation at their
  Train-learned t (0.60), and the share of ordered pairs where the reversed matching won.

Result, scored once (2026-12-07 17:02-17:24 UTC, ``--seeds 3000-3019 --threads 2``, load 4.0-6.9
from other jobs): **by the rule it pays off, by one seed.**

=====================  =========  ==========================================================
                       mean VI    per seed (3000 ... 3019)
=====================  =========  ==========================================================
reference, mean, 0.66  0.857      identical to the improved row except seed 3003: 1.201
improved, mean, 0.66   **0.844**  seed 3003: 0.939
min recipe, 0.60       1.091 / 1.084   reference / improved (info; seed 3004 1.532 / 1.400)
=====================  =========  ==========================================================

Improved - reference: mean -0.013 bits; 1 win (seed 3003, -0.263), 19 ties, 0 losses; sign test
p = 1.000, so the gain is one seed and not significant. The reversed matching won on 3.3 % of the
ordered pairs (1.1-4.7 % per set); an improved all-pairs run took 40.0 s wall against 19.9 s (two
reference solves per pair). No check failed.

Checks on each seed (one stderr line each and exit code 1 on a failure): as
``bench_pqap_synthetic.py`` (shape, finite similarities in [0, 1], single-pair solves equal the
matrix and the cost of their assignments); the improved similarity is never below the reference
one (the reversed matching is taken only when its energy is strictly lower); each VI in [0, log2 n].
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pqap_learn import test_similarity
from bench_pqap_synthetic import check_matrix, paired_verdict, parse_seeds, synthetic_keypoints
from checks import Checks

from corrclust.metrics import variation_of_information
from corrclust.pqap import PqapParameters
from corrclust.pqap.recipe import PqapRecipe
from corrclust.pqap.similarity import PairSolver
from corrclust.solve import solve

#: Thresholds learned on all of Train-100 (learn_threshold, 120 class triples, 2026-12-07).
LEARNED_T = {
    ("reference", "mean"): 0.66,
    ("improved", "mean"): 0.66,
    ("reference", "min"): 0.60,
    ("improved", "min"): 0.60,
}
SCORED = "mean"


def recipe_vi(S: np.ndarray, labels: np.ndarray, mode: str, symmetrize: str) -> float:
    recipe = PqapRecipe(mode, symmetrize, False, LEARNED_T[(mode, symmetrize)])
    res = solve(recipe.problem(S), method="kl")
    return float(variation_of_information(labels, res.labels)[0])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="3000-3019", help="generator seeds; 900-909 are the dev seeds")
    ap.add_argument("--classes", type=int, default=4)
    ap.add_argument("--per-class", type=int, default=6, help="the scored shape is 4 x 6")
    ap.add_argument("--size", type=int, default=160)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    p = PqapParameters.paper()
    print(
        f"both modes: paper's parameters; scored recipe {SCORED}, t = {LEARNED_T[('reference', SCORED)]:.2f} "
        f"(reference) / {LEARNED_T[('improved', SCORED)]:.2f} (improved); {args.classes} classes x "
        f"{args.per_class}, {args.size} px",
        flush=True,
    )
    print(
        f"{'seed':>6}{'ref VI':>9}{'imp VI':>9}{'diff':>8}{'ref min':>9}{'imp min':>9}{'rev %':>7}"
        f"{'ref s':>7}{'imp s':>7}{'load':>6}"
    )
    rows = []
    checks = Checks("bench_pqap_reversed.py")
    for seed in parse_seeds(args.seeds):
        kp, labels, row = synthetic_keypoints(seed, args.classes, args.per_class, args.size, checks)
        solver = PairSolver(kp)
        r: dict = {"seed": seed}
        mats = {}
        for mode in ("reference", "improved"):
            t0 = time.perf_counter()
            S = test_similarity(solver, p, mode, args.threads)
            r[mode + "_s"] = time.perf_counter() - t0
            mats[mode] = S
            check_matrix(checks, f"{row}, {mode}", solver, S, p, mode)
            r[mode] = recipe_vi(S, labels, mode, SCORED)
            r[mode + "_min"] = recipe_vi(S, labels, mode, "min")
        off = ~np.eye(len(labels), dtype=bool)
        checks.expect(
            (mats["improved"][off] >= mats["reference"][off]).all(),
            row,
            "an improved similarity below the reference",
        )
        r["reversed"] = float((mats["improved"][off] != mats["reference"][off]).mean())
        for k in ("reference", "improved", "reference_min", "improved_min"):
            checks.expect(
                0 <= r[k] <= np.log2(len(labels)) + 1e-9, row, f"{k} VI {r[k]!r} outside [0, log2 n]"
            )
        rows.append(r)
        print(
            f"{seed:>6}{r['reference']:>9.4f}{r['improved']:>9.4f}{r['improved'] - r['reference']:>8.4f}"
            f"{r['reference_min']:>9.4f}{r['improved_min']:>9.4f}{100 * r['reversed']:>7.1f}"
            f"{r['reference_s']:>7.1f}{r['improved_s']:>7.1f}{os.getloadavg()[0]:>6.1f}",
            flush=True,
        )
    ref = np.array([r["reference"] for r in rows])
    imp = np.array([r["improved"] for r in rows])
    print(
        f"mean VI ({SCORED}): reference {ref.mean():.4f}, improved {imp.mean():.4f}; {paired_verdict(ref, imp)}"
    )
    print(
        f"info, min recipe: reference {np.mean([r['reference_min'] for r in rows]):.4f}, improved "
        f"{np.mean([r['improved_min'] for r in rows]):.4f}; reversed matching won on "
        f"{100 * np.mean([r['reversed'] for r in rows]):.1f}% of ordered pairs; all-pairs wall s (mean per "
        f"set): reference {np.mean([r['reference_s'] for r in rows]):.1f}, improved "
        f"{np.mean([r['improved_s'] for r in rows]):.1f}; {args.threads} threads; load {os.getloadavg()[0]:.1f}"
    )
    return checks.exit_code()


if __name__ == "__main__":
    raise SystemExit(main())
