"""Twin networks on real data: the paper's recipe against the ``fast`` recipe, same time budget.

Data: real 64 x 64 red-blood-cell crops from ``shared/data/rbc-morphology`` (Chula RBC-12), cut by
``corrclust.images.rbc.make_crops``: 10 seen classes x 10 training crops, 10 x 10 test crops, and
2 unseen classes x 10 crops. Every recipe trains on the training crops for the same wall-clock
budget (same machine, same run, same threads), then the test sets are embedded once per image,
all pairs are scored, costs are logit(mean p) (``Problem.from_probabilities``) and the problem is
solved with GAEC+KL and with the exact solver. The table reports VI (false cuts / false joins, in
bits) and the Rand index against the classes, per set, plus the pair AUC.

On a CPU the sizes are reduced (input 64 px instead of the paper's 256, a narrower ResNet-18 and a
budget of minutes instead of the paper's 6000 steps); full-size figures need a GPU:

    python benchmarks/bench_twin.py --budget 120 --width 32           # CPU, a few minutes per recipe
    python benchmarks/bench_twin.py --budget 900 --width 64 --image-size 256 --device cuda  # GPU

Checks (a failure is one line on stderr and exit code 1): each recipe's epoch losses finite, the
last below the first where two epochs or more completed; every P (n, n), finite, in [0, 1] (the
unseen crops' the same when predicted twice); each solution one label per crop, its objective
recomputed in numpy from the problem's costs, the exact solver's (where it proved optimality) no
higher than GAEC+KL's; VI finite and >= 0; the same seed gives the same numbers (2 training steps
twice: the same P on the unseen crops).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from checks import Checks, cut_cost

ROOT = Path(__file__).resolve().parents[1]
RBC = ROOT.parent / "shared" / "data" / "rbc-morphology"


def pair_auc(P: np.ndarray, labels: list[str]) -> tuple[float, float]:
    """AUC of the mean-symmetrised p for same-class pairs, and the pair accuracy at p = 0.5."""
    from sklearn.metrics import roc_auc_score

    lab = np.asarray(labels)
    iu = np.triu_indices(len(lab), 1)
    p = ((P.astype(np.float64) + P.T) / 2)[iu]
    same = (lab[:, None] == lab[None, :])[iu]
    auc = float(roc_auc_score(same, p)) if 0 < same.sum() < same.size else float("nan")
    acc = float(((p > 0.5) == same).mean())
    return auc, acc


def check_same_seed(checks: Checks, recipe, train_data, data, seed: int, device) -> None:
    """Two training steps twice with the same seed predict the same P (a small share of the budget)."""
    from corrclust.twin import predict, train

    short = recipe.with_overrides(epochs=1, steps_per_epoch=2)
    a, b = (
        predict(train(train_data, short, seed=seed, device=device, progress=False).model, data).P
        for _ in range(2)
    )
    checks.expect(
        np.array_equal(a, b), f"{recipe.name}, same seed", "two runs of 2 training steps gave other P"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipes", default="paper-tni,paper-tnia,fast")
    ap.add_argument("--budget", type=float, default=120.0, help="training seconds per recipe")
    ap.add_argument(
        "--image-size",
        type=int,
        default=None,
        help="input side (default: 64, or the recipe's with --as-shipped)",
    )
    ap.add_argument(
        "--width",
        type=int,
        default=None,
        help="ResNet-18 base width (default: 32, or the recipe's with --as-shipped)",
    )
    ap.add_argument(
        "--as-shipped", action="store_true", help="train the recipes with their own sizes (no overrides)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--device", default=None)
    ap.add_argument("--exact-time-limit", type=float, default=60.0)
    ap.add_argument(
        "--crops", type=Path, default=None, help="existing crops folder (default: cut into a temp dir)"
    )
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args(argv)
    from needs import require_torch

    require_torch("bench_twin.py")

    import torch

    from corrclust.images.rbc import make_crops
    from corrclust.metrics import compare
    from corrclust.solve import solve
    from corrclust.twin import TwinData, get_recipe, load_folder, predict, to_problem, train
    from corrclust.twin.train import resolve_device

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    # exit 1 with needs.py's line, as every other benchmark does (it said "RBC data not found", exit 2)
    if not RBC.is_dir():
        raise FileNotFoundError(RBC)

    tmp = tempfile.TemporaryDirectory()
    crops = args.crops or Path(tmp.name) / "rbc"
    if args.crops is None:
        make_crops(RBC, crops, size=64, seed=args.seed)

    if not args.as_shipped:
        args.image_size = args.image_size or 64
        args.width = args.width or 32
    device = str(resolve_device(args.device))
    names = [r.strip() for r in args.recipes.split(",") if r.strip()]
    sizes = {get_recipe(n).with_overrides(image_size=args.image_size).image_size for n in names}
    if len(sizes) != 1:
        raise SystemExit("recipes with different input sizes: run them one per invocation")
    size = sizes.pop()
    train_data = load_folder(crops / "train", image_size=size)
    test = load_folder(crops / "test", image_size=size)
    unseen = load_folder(crops / "unseen", image_size=size)
    # the paper's 100/30 set: unseen first, then test (unseen classes get their own label range)
    both = TwinData(
        inputs=torch.cat([unseen.inputs, test.inputs]),
        labels=np.concatenate([unseen.labels + 1000, test.labels]),
        ids=unseen.ids + test.ids,
        classes=[],
    )
    sets = {
        "test": (test, [test.classes[k] for k in test.labels]),
        "unseen": (unseen, [unseen.classes[k] for k in unseen.labels]),
        "test+unseen": (
            both,
            [unseen.classes[k] for k in unseen.labels] + [test.classes[k] for k in test.labels],
        ),
    }

    rows = []
    warnings: dict[str, tuple] = {}
    checks = Checks("bench_twin.py")
    for name in names:
        recipe = get_recipe(name).with_overrides(image_size=args.image_size, width=args.width)
        t0 = time.perf_counter()
        res = train(
            train_data, recipe, seed=args.seed, time_budget=args.budget, device=args.device, progress=True
        )
        warnings[name] = (res.steps, recipe.total_steps, res.check, res.warnings)
        wall = time.perf_counter() - t0
        hist = np.asarray(res.history, float)
        if checks.expect(np.isfinite(hist).all(), f"{name}, training", f"epoch losses {hist.tolist()}"):
            if hist.size >= 2:
                checks.expect(
                    hist[-1] < hist[0], f"{name}, training", f"loss {hist[0]:.4f} -> {hist[-1]:.4f}"
                )
        check_same_seed(checks, recipe, train_data, unseen, args.seed, args.device)
        if recipe.sampler == "pairs":
            images_seen, pairs_seen = 2 * recipe.batch_size * res.steps, recipe.batch_size * res.steps
        else:
            b = recipe.classes_per_batch * recipe.images_per_class
            images_seen, pairs_seen = b * res.steps, b * (b - 1) // 2 * res.steps
        for set_name, (data, labels) in sets.items():
            pred = predict(res.model, data)
            row = f"{name}, {set_name}"
            n = len(labels)
            P = np.asarray(pred.P)
            checks.expect(
                P.shape == (n, n) and np.isfinite(P).all() and ((P >= 0) & (P <= 1)).all(),
                row,
                f"P of shape {P.shape} not finite in [0, 1]",
            )
            if set_name == "unseen":  # the smallest set (20 crops): a second prediction costs little
                checks.expect(np.array_equal(P, predict(res.model, data).P), row, "P predicted twice differs")
            auc, acc = pair_auc(pred.P, labels)
            problem = to_problem(pred.P)
            objectives = {}
            for method in ("kl", "exact"):
                kw = {"time_limit": args.exact_time_limit} if method == "exact" else {}
                sol = solve(problem, method=method, **kw)
                if checks.labels(sol.labels, n, f"{row}, {method}"):
                    lab = np.asarray(sol.labels)
                    checks.close(
                        sol.objective, cut_cost(problem.to_dense(), lab), f"{row}, {method}", "objective"
                    )
                objectives[method] = (sol.objective, sol.status)
                m = compare(labels, sol.labels)
                checks.expect(np.isfinite(m["vi"]) and m["vi"] >= 0, f"{row}, {method}", f"VI {m['vi']!r}")
                rows.append(
                    {
                        "recipe": name,
                        "set": set_name,
                        "n": len(labels),
                        "solver": method,
                        "status": sol.status,
                        "vi": m["vi"],
                        "vi_fc": m["false_cuts"],
                        "vi_fj": m["false_joins"],
                        "ri": m["rand_index"],
                        "clusters": m["n_clusters_pred"],
                        "classes": m["n_clusters_true"],
                        "auc": auc,
                        "pair_acc": acc,
                        "steps": res.steps,
                        "train_s": res.elapsed_s,
                        "images_seen": images_seen,
                        "pairs_seen": pairs_seen,
                        "wall_s": wall,
                    }
                )
            (kl, _), (ex, status) = objectives["kl"], objectives["exact"]
            if status == "optimal":
                checks.expect(ex <= kl + 1e-9 * max(1.0, abs(kl)), row, f"exact (optimal) {ex} above kl {kl}")
        print(
            f"{name}: {res.steps} steps in {res.elapsed_s:.0f} s ({res.stopped}); "
            f"{images_seen} backbone images, {pairs_seen} labelled pairs",
            file=sys.stderr,
        )

    print()
    import os

    print(
        f"Twin networks on RBC crops (device {device}, torch threads {torch.get_num_threads()}, load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end, input "
        f"{size} px, ResNet-18 width {args.width or 'of the recipe'}, "
        f"training budget {args.budget:.0f} s per recipe, "
        f"seed {args.seed})"
    )
    for name, (steps, planned, check, warns) in warnings.items():
        print(
            f"- {name}: {steps} of {planned} planned steps; "
            f"training pair AUC {check.get('train_pair_auc', float('nan')):.3f}, "
            f"pairs called same {100 * check.get('same_fraction', float('nan')):.0f}%; warnings: {warns or 'none'}"
        )
    print()
    head = (
        "| recipe | set | n | solver | VI | VI_FC | VI_FJ | RI | clusters/classes | pair AUC | pair acc "
        "| steps | backbone imgs | pairs |"
    )
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in rows:
        status = "" if r["status"] in ("optimal", "heuristic") else f" ({r['status']})"
        print(
            f"| {r['recipe']} | {r['set']} | {r['n']} | {r['solver']}{status} | {r['vi']:.3f} | {r['vi_fc']:.3f} "
            f"| {r['vi_fj']:.3f} | {100 * r['ri']:.1f}% | {r['clusters']}/{r['classes']} | {r['auc']:.3f} "
            f"| {100 * r['pair_acc']:.1f}% | {r['steps']} | {r['images_seen']} | {r['pairs_seen']} |"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "rows": rows}, indent=1)
        )
    tmp.cleanup()
    return checks.exit_code()


if __name__ == "__main__":
    from needs import run_main

    raise SystemExit(run_main(main))
