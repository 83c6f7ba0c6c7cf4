"""PQAP matching speed: pairs per second of both modes, 1 and 2 threads, Test-30 and Train-100.

    python benchmarks/bench_pqap.py [--train-organoids K] [--test-organoids K] [--threads 1 2]
                                    [--modes reference improved] [--shared PATH]

Prints one table. The peer is the paper's own C++ matching code (g++ 12 -O3, one thread, same
class of 2-core machine): 0.566 s per ordered pair on Test-30 (paper-model.md §11), i.e. 1.77
pairs/s; it was not re-run here (its repository has no licence), so its column is that anchor.
The targets of the project are all 870 Test-30 pairs in <= 30 s and Train-100's 9,900 pairs in
<= 6 min on 2 cores (reference mode). The system load is printed with the table: on a shared
machine the wall times are only comparable within one run.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from corrclust.pqap import PqapParameters, read_keypoints
from corrclust.pqap.similarity import PairSolver, ordered_pairs

PAPER_S_PER_PAIR = 0.566  # the paper's C++ on Test-30, one core
FILES = {
    "Test-30": "feature_vectors/feature_vectors_organoid_dataset_unseen_classes_6_2_17_34.csv",
    "Train-100": "feature_vectors/feature_vectors_organoid_dataset_100_split_1_12_1_16_20.csv",
}


def subset_ids(ids: list[int], per_class: int | None) -> list[int]:
    if per_class is None:
        return ids
    out, count = [], {}
    for i in sorted(ids):
        c = i // 100
        if count.get(c, 0) < per_class:
            out.append(i)
            count[c] = count.get(c, 0) + 1
    return [i for i in ids if i in set(out)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_shared = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "paper-keypoints"
    ap.add_argument("--shared", type=Path, default=default_shared)
    ap.add_argument(
        "--train-organoids",
        type=int,
        default=3,
        metavar="K",
        help="Train-100 organoids per class (default 3: 870 pairs; 10 = all 9,900)",
    )
    ap.add_argument(
        "--test-organoids", type=int, default=None, metavar="K", help="Test-30 per class (default all)"
    )
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument(
        "--modes", nargs="+", default=["reference", "improved"], choices=["reference", "improved"]
    )
    ap.add_argument("--sets", nargs="+", default=list(FILES), choices=list(FILES))
    args = ap.parse_args()

    params = PqapParameters.paper()
    rows = []
    for name in args.sets:
        kp = read_keypoints(args.shared / FILES[name])
        per_class = args.train_organoids if name == "Train-100" else args.test_organoids
        ids = subset_ids(kp.ids, per_class)
        solver = PairSolver(kp.subset(ids))
        pairs = ordered_pairs(len(ids))
        ref_sim = None
        for mode in args.modes:
            for threads in args.threads:
                load = os.getloadavg()[0]
                t0 = time.perf_counter()
                c0 = time.process_time()
                sim, _, done, _ = solver.run(pairs, params, mode=mode, threads=threads)
                wall = time.perf_counter() - t0
                cpu = time.process_time() - c0
                assert done.all()
                gain = ""
                if mode == "reference":
                    if ref_sim is not None:
                        assert np.array_equal(sim, ref_sim), "thread count changed the result"
                    ref_sim = sim
                elif ref_sim is not None:
                    d = sim - ref_sim
                    gain = f"{d.mean():+.4f}/{np.median(d):+.4f}"
                k = len(pairs)
                full = len(kp.ids) * (len(kp.ids) - 1)
                rows.append(
                    (name, len(ids), k, mode, threads, wall, cpu, k / wall, full * wall / k, load, gain)
                )
    hdr = (
        f"{'set':<10}{'orgs':>5}{'pairs':>7}  {'mode':<10}{'thr':>4}{'wall s':>9}{'cpu s':>8}{'pairs/s':>9}"
        f"{'x paper':>9}{'full set s':>11}{'load':>6}  {'s gain mean/median':>19}"
    )
    print(hdr)
    print("-" * len(hdr))
    for name, n, k, mode, thr, wall, cpu, pps, full_s, load, gain in rows:
        print(
            f"{name:<10}{n:>5}{k:>7}  {mode:<10}{thr:>4}{wall:>9.2f}{cpu:>8.2f}{pps:>9.2f}"
            f"{pps * PAPER_S_PER_PAIR:>9.1f}{full_s:>11.1f}{load:>6.1f}  {gain:>19}"
        )
    print(
        f"paper's C++ (anchor, not re-run): {1 / PAPER_S_PER_PAIR:.2f} pairs/s on one core "
        f"(492 s for Test-30). 'full set s' extrapolates the wall time to all ordered pairs of the set."
    )


if __name__ == "__main__":
    from needs import run_main

    raise SystemExit(run_main(main))
