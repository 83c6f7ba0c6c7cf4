"""Where corrclust's GAEC + KL and bioimage-cpp 0.10's differ, region by region (issue 17, item 2).

For each named instance of benchmarks/bench_kl_quality.py (``KIND-SEED``, e.g.
``supervoxel-8000-310``; ``bench_cc:supervoxel-8000-1`` names bench_cc.py's generated row) both
solvers run as bench_kl_quality.py calls them. Clusters that are identical in both results are
dropped; the nodes left fall into regions (connected through shared membership: a node of our
cluster A and their cluster X joins A and X). Per region it prints our cluster sizes, theirs, how
many nodes change cluster (the region less the best one-to-one matching of the clusters), and
our objective minus theirs on the region's edges (edges leaving a region are cut in both, so the
region differences add up to the total difference). With ``--nodes`` it also lists the nodes that
the larger overlap does not explain, with their edges. With ``--starts`` it says whether the two GAEC
results are the same partition and where each KL ends from the other's start: from the other's GAEC
labels and from the other's final labels (a result that the other KL keeps, and vice versa, is a
separate local optimum, reached by a different visiting order rather than a missing move).

    python benchmarks/bench_kl_regions.py supervoxel-8000-310 bench_cc:supervoxel-8000-1
    python benchmarks/bench_kl_regions.py --starts supervoxel-8000-461

docs/solvers.md (session 12) describes what the losses look like.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cc import Bioimage, geometric_graph, grid_graph, require_peer, unique_edges

from corrclust._native import _core
from corrclust.generators import supervoxel_multicut


def make(spec: str):
    """(n, edges, costs) of an instance named as in bench_kl_quality.py's output."""
    bench_cc = spec.startswith("bench_cc:")
    name, seed_text = spec.removeprefix("bench_cc:").rsplit("-", 1)
    seed = int(seed_text) if bench_cc else 1000 + int(seed_text)
    kind = name.split("-")
    if kind[0] == "supervoxel":
        edges, costs, truth = supervoxel_multicut(int(kind[1]), seed=seed)
        return len(truth), edges, costs
    if kind[0] == "grid" and not bench_cc:
        return grid_graph(int(kind[1]), float(kind[2].removeprefix("mean")), seed=seed)
    if kind[0] == "geometric":
        return geometric_graph(int(kind[1]), seed=seed)
    raise SystemExit(f"unknown instance {spec}")


def regions(ours: np.ndarray, theirs: np.ndarray):
    """Lists of nodes where the two clusterings differ, one per connected region."""
    members_ours, members_theirs = defaultdict(set), defaultdict(set)
    for v, (a, x) in enumerate(zip(ours, theirs, strict=True)):
        members_ours[a].add(v)
        members_theirs[x].add(v)
    parent: dict = {}

    def find(key):
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    differ = [v for v in range(len(ours)) if members_ours[ours[v]] != members_theirs[theirs[v]]]
    for v in differ:
        a, x = find(("ours", ours[v])), find(("theirs", theirs[v]))
        if a != x:
            parent[a] = x
    found = defaultdict(list)
    for v in differ:
        found[find(("ours", ours[v]))].append(v)
    return list(found.values()), members_ours, members_theirs


def cut_inside(adj, nodes, labels) -> float:
    inside = set(nodes)
    return sum(
        c for v in nodes for u, c in adj[v].items() if u in inside and u > v and labels[u] != labels[v]
    )


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def print_starts(n, edges, costs, peer, ours, theirs) -> None:
    """GAEC of both, and each KL started from the other's GAEC and final labels (objectives minus
    bioimage-cpp's GAEC + KL)."""
    target = peer.energy(theirs)
    our_gaec = np.asarray(_core.heuristics.solve_sparse(n, edges, costs, "gaec")["labels"], dtype=np.int64)
    their_gaec = np.asarray(peer.gaec(), dtype=np.int64)

    def ours_from(start):
        return _core.heuristics.solve_sparse(n, edges, costs, "kl", warm_start=start)["objective"] - target

    def theirs_from(start):
        labels = peer.core._multicut_kernighan_lin(
            peer.graph, peer.costs, np.asarray(start, dtype=np.uint64), 100, 1e-6
        )
        return peer.energy(labels) - target

    gaec_diff = _core.problem.objective_sparse(n, edges, costs, our_gaec) - peer.energy(their_gaec)
    print(
        f"  GAEC: ours - theirs {gaec_diff:+.3f}, same partition {same_partition(our_gaec, their_gaec)}; "
        f"our KL from their GAEC {ours_from(their_gaec):+.3f}, their KL from our GAEC "
        f"{theirs_from(our_gaec):+.3f}; our KL from their result {ours_from(theirs):+.3f}, "
        f"their KL from ours {theirs_from(ours):+.3f}"
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("instances", nargs="+", help="KIND-SEED as bench_kl_quality.py prints, or bench_cc:NAME")
    ap.add_argument(
        "--nodes", action="store_true", help="list the nodes that changed cluster, with their edges"
    )
    ap.add_argument(
        "--starts",
        action="store_true",
        help="compare the GAEC results and run each KL from the other's GAEC and final labels",
    )
    args = ap.parse_args(argv)
    require_peer("bench_kl_regions.py")
    for spec in args.instances:
        n, edges, costs = make(spec)
        uv, c = unique_edges(n, edges, costs)
        peer = Bioimage(n, uv, c)
        ours = np.asarray(_core.heuristics.solve_sparse(n, edges, costs, "kl")["labels"], dtype=np.int64)
        theirs = np.asarray(peer.gaec_kl(), dtype=np.int64)
        adj: list[dict[int, float]] = [{} for _ in range(n)]
        for (u, v), w in zip(uv.tolist(), c.tolist(), strict=True):
            adj[u][v] = adj[u].get(v, 0.0) + w
            adj[v][u] = adj[v].get(u, 0.0) + w
        total = _core.problem.objective_sparse(n, edges, costs, ours) - peer.energy(theirs)
        print(f"## {spec}: ours - bioimage-cpp {total:+.3f}")
        if args.starts:
            print_starts(n, edges, costs, peer, ours, theirs)
        found, members_ours, members_theirs = regions(ours, theirs)
        for nodes in sorted(found, key=len):
            mine = sorted({ours[v] for v in nodes})
            other = sorted({theirs[v] for v in nodes})
            diff = cut_inside(adj, nodes, ours) - cut_inside(adj, nodes, theirs)
            # the fewest nodes that change cluster: the region less the best one-to-one matching
            # of our clusters to theirs by overlap
            table = np.zeros((len(mine), len(other)))
            for v in nodes:
                table[mine.index(ours[v]), other.index(theirs[v])] += 1
            rows, cols = linear_sum_assignment(-table)
            moved = len(nodes) - int(table[rows, cols].sum())
            print(
                f"  region of {len(nodes)} nodes: ours {[len(members_ours[a]) for a in mine]}, "
                f"bioimage-cpp {[len(members_theirs[x]) for x in other]}, {moved} change cluster, "
                f"ours - theirs {diff:+.3f}"
            )
            if args.nodes:
                overlap = defaultdict(int)
                for v in nodes:
                    overlap[(ours[v], theirs[v])] += 1
                for v in nodes:
                    main_x = max(other, key=lambda x, a=ours[v]: overlap[(a, x)])
                    if theirs[v] != main_x:
                        near = {u: (round(w, 3), int(ours[u]), int(theirs[u])) for u, w in adj[v].items()}
                        print(
                            f"    node {v}: ours {ours[v]}, theirs {theirs[v]}; (cost, ours, theirs) {near}"
                        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
