"""Quality count of GAEC + KL against bioimage-cpp's on many generated sparse instances (#17).

bench_cc.py --sparse-only compares 23 fixed instances; this script asks how often corrclust's
GAEC + KL ends above bioimage-cpp 0.10's GAEC + KL (called as bench_cc.py calls it) over many
seeds, and by how much. Instances (all from fixed seeds, fast to solve):

  * supervoxel graphs (corrclust.generators.supervoxel_multicut) of 1000, 2000, 4000, 8000 nodes;
  * 4-connected grids of side 60-120 with N(mean, 1) costs, mean in 0.0, 0.1, 0.3;
  * random geometric graphs (bench_cc.geometric_graph) of 1000-4000 nodes.

Seed s belongs to the development half when s is even and to the counting half when odd
(``--half dev`` / ``--half count`` / ``--half all``). Per instance it prints both objectives,
their difference (ours - theirs; < 0: ours better) and, to find the cause of a loss, the two GAEC
objectives and the two cross starts: corrclust's KL from bioimage-cpp's GAEC labels
(``warm_start``) and bioimage-cpp's KL from corrclust's GAEC labels. The summary counts wins, ties
(|diff| <= 1e-6 (1 + |obj|)) and losses, with the sizes of the losses.

    python benchmarks/bench_kl_quality.py --seeds 12 --half dev    # 54 instances, about 20 s
    python benchmarks/bench_kl_quality.py --first-seed 12 --seeds 36 --no-cross   # 324, about 1 min

docs/solvers.md (Kernighan-Lin) reports the counts.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cc import Bioimage, geometric_graph, grid_graph, require_peer, unique_edges

from corrclust._native import _core
from corrclust.generators import supervoxel_multicut


def instances(seeds: range):
    """(name, seed, n, edges, costs) of the generated set for the given seeds."""
    for seed in seeds:
        for size in (1000, 2000, 4000, 8000):
            edges, costs, truth = supervoxel_multicut(size, seed=1000 + seed)
            yield f"supervoxel-{size}", seed, len(truth), edges, costs
        for side, mean in ((60, 0.0), (90, 0.1), (120, 0.3)):
            n, e, c = grid_graph(side, mean, seed=1000 + seed)
            yield f"grid-{side}-mean{mean}", seed, n, e, c
        for size in (1000, 4000):
            n, e, c = geometric_graph(size, seed=1000 + seed)
            yield f"geometric-{size}", seed, n, e, c


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=8, help="seeds 0..N-1 of every instance kind (default 8)")
    ap.add_argument("--first-seed", type=int, default=0, help="start the seeds here (default 0)")
    ap.add_argument("--half", choices=("dev", "count", "all"), default="all", help="even / odd / all seeds")
    ap.add_argument("--no-cross", action="store_true", help="skip the cross starts (diagnosis)")
    ap.add_argument(
        "--no-final-split",
        action="store_true",
        help="our KL with KLOptions(final_split=False) (the pass is on by default since session 11)",
    )
    ap.add_argument(
        "--polish-max-nodes",
        type=int,
        default=0,
        help="our KL with KLOptions(polish_max_nodes=N) (the opt-in polish phase; default 0: off)",
    )
    args = ap.parse_args(argv)
    require_peer("bench_kl_quality.py")
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    if args.half != "all":
        seeds = seeds[(args.first_seed + (args.half == "count")) % 2 :: 2]
    print("# load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print(
        "| instance | seed | n | ours | bioimage | diff | our GAEC - theirs | our KL from their GAEC "
        "| their KL from our GAEC | ours s | bioimage s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    kl_options = _core.heuristics.KLOptions(
        final_split=not args.no_final_split, polish_max_nodes=args.polish_max_nodes
    )
    diffs, names = [], []
    for name, seed, n, edges, costs in instances(seeds):
        uv, c = unique_edges(n, edges, costs)
        peer = Bioimage(n, uv, c)
        t0 = time.perf_counter()
        ours = _core.heuristics.solve_sparse(n, edges, costs, "kl", options=kl_options)
        t1 = time.perf_counter()
        theirs = peer.gaec_kl()
        t2 = time.perf_counter()
        obj, pobj = ours["objective"], peer.energy(theirs)
        cross = ["", "", ""]
        if not args.no_cross:
            our_gaec = _core.heuristics.solve_sparse(n, edges, costs, "gaec")
            their_gaec = peer.gaec()
            cross[0] = f"{our_gaec['objective'] - peer.energy(their_gaec):+.3f}"
            warm = np.asarray(their_gaec, dtype=np.int64)
            cross[1] = (
                f"{_core.heuristics.solve_sparse(n, edges, costs, 'kl', warm_start=warm)['objective']:.3f}"
            )
            back = peer.core._multicut_kernighan_lin(
                peer.graph, peer.costs, np.asarray(our_gaec["labels"], dtype=np.uint64), 100, 1e-6
            )
            cross[2] = f"{peer.energy(back):.3f}"
        tol = 1e-6 * (1 + abs(pobj))
        diffs.append(0.0 if abs(obj - pobj) <= tol else obj - pobj)
        names.append(f"{name}-{seed}")
        print(
            f"| {name} | {seed} | {n} | {obj:.3f} | {pobj:.3f} | {diffs[-1]:+.3f} | {' | '.join(cross)} "
            f"| {t1 - t0:.3f} | {t2 - t1:.3f} |",
            flush=True,
        )
    d = np.asarray(diffs)
    losses = d[d > 0]
    print(
        f"\n{len(d)} instances: ours better on {int((d < 0).sum())}, tie on {int((d == 0).sum())}, "
        f"worse on {len(losses)}"
    )
    if len(losses):
        worst = sorted(zip(d, names, strict=True), reverse=True)[: min(10, len(losses))]
        print(
            f"losses: median {np.median(losses):.3f}, max {losses.max():.3f}; worst: "
            + ", ".join(f"{nm} {v:+.3f}" for v, nm in worst)
        )
    if (d < 0).any():
        print(f"wins: median {np.median(-d[d < 0]):.3f}, max {(-d).max():.3f}")
    print("# load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
