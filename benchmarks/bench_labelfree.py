"""Label-free clustering of single-object crops: morphology profiles + correlation clustering vs the
clusterings a user would otherwise pick, on the same features, in one run.

    PYTHONPATH=python python benchmarks/bench_labelfree.py [--half report|dev] [--quick] [--out FILE.md]
                                   [--draws 10] [--draws-large 3] [--ssl [--ssl-budget SECONDS]]
                                   [--ssl-model POOL.pt]

Methods (all on the same standardised profiles, ``corrclust.profiles``):

* ``corrclust profile``: costs by the label-free rule of ``corrclust.feature_costs`` (local scaling
  with the route's default neighbourhood ``scaled_neighbours(n)`` = max(7, n / 15); above k = 7 the
  pairs of the k-nearest-neighbour graph get the offset ``rule_offset(k)`` = 1 + 4 ln(k / 7) and
  the others 1, ``pair_offsets``, since session 11; above k = 7 the repulsion of those others
  weighted by ``FAR_WEIGHT`` = 0.25, ``pair_repulsion``, since session 17; up to 112 images k = 10
  instead of 7 when the partition at 10 has two clusters of 7 or more and cuts at most 0.062 of
  the neighbour pairs that clusters of its sizes would cut by chance, ``separated_neighbours``,
  since session 17b, the share over chance since session 19), GAEC + Kernighan-Lin; the number
  of clusters is an output.
* ``... no separation check (session 17 rule)``: the same without the check (only differs up to
  112 images).
* ``... far pairs at full weight (session 11 rule)``: the rule before session 17 (only differs
  above 112 images).
* ``... singletons joined (session 12, not adopted)``: the same labels, then every image alone in its
  cluster that attracts a member of a cluster joined to the one it attracts most by median cost
  (``join_singletons``); measured, not the route's default (docs/profiles.md).
* ``... offset 1 (session 9 rule)``: the same neighbourhood with the offset fixed at 1, the rule
  until session 10 (only differs above 112 images).
* ``... offset grown on all pairs (session 10 rule)``: the offset 1 + 0.5 ln(k / 7) on every pair,
  the rule of session 10 (only differs above 112 images).
* ``one cluster (reference)``: every crop in one cluster; its VI is the entropy of the classes
  (log2 10 = 3.32 bits on the RBC sets). A method above it has told the classes apart worse than
  not cutting at all.
* ``corrclust profile --neighbours 7``: the same with the fixed neighbourhood of 7, the default
  until session 8 (the scaled default was chosen on the development half, then scored once).
* ``corrclust profile --neighbours auto``: the neighbourhood size chosen by stability
  (``feature_costs.choose_neighbours``; added after the first report run, chosen on the development half).
* ``corrclust profile --calibrate``: 2 labelled images per class (3 random draws of those images;
  mean and range) weight the features, choose the granularity and are pinned
  (``feature_costs.calibrate``). The labelled images are among those clustered and scored.
* ``KMeans (true k)`` and ``Ward (true k)``: scikit-learn, **given the true number of classes**
  (an advantage no label-free user has).
* ``HDBSCAN``: scikit-learn's, default settings (noise points count as singletons).
* ``--ssl`` (needs torch), RBC sets only: ``corrclust ssl``, as ``cluster --method ssl`` runs it: a
  self-supervised network (the defaults of ``corrclust.ssl``) trained for ``--ssl-budget`` seconds
  (default 300, the route's default) on the set's own crops, without labels, then the same label-free
  rule (``ssl.embedding_costs`` = ``feature_costs.costs_from_features``, with the route's
  neighbourhood ``scaled_neighbours(n)``; until session 10 this row used k = 7 while the route had
  moved to the scaled one in session 9) and GAEC + KL; KMeans and
  Ward (true k) and HDBSCAN on the same embeddings beside it. The training time is in the row's
  header, not in the time column.
* ``--ssl-model POOL.pt`` (needs torch), RBC sets only: ``corrclust profile --ssl-model``, the
  profiles joined with equal weight to the embedding of a network trained beforehand, without labels,
  on a large pool of crops (``feature_costs.join_blocks``; docs/ssl.md: the network of session 9 was
  trained on the ~9,800 crops of the development images, so on ``--half report`` it has never seen
  the crops it embeds); KMeans and Ward (true k) on the same joined features beside it.

Sets (the split is fixed in ``labelfree_sets.py``; ``--half report`` gives the figures nothing was
tuned on): RBC 10 classes x 10 and x 50 crops (draw 0, the crops of every earlier report, shown
alone; then the mean over ``--draws`` 10 x 10 and ``--draws-large`` 10 x 50 draws of crops of the
same half, because one draw of 100 crops varies by about 0.3 bits: development draws 2.46-3.36),
synthetic organoids (4 classes x 10, 96 px, one row per seed; ``--synthetic-per N`` for 4 x N,
``--synthetic-seeds A-B`` for other seeds, ``--synthetic-only`` for those rows alone), OrgaQuant brightfield crops (no
classes: stability, the mean adjusted Rand index between the clustering of all crops and of five
random 80 % subsets).

Columns: VI in bits (false cuts, false joins), number of clusters, time in seconds (clustering only;
the feature time of a set is in its header line). The machine is shared: times are indicative.

Session 11 (``docs/profiles.md``), held-out half scored once after the rule was frozen on the
development half: RBC 10 x 50, mean of 3 draws, profiles alone 3.562 (session 10 rule 3.909;
KMeans 3.842, Ward 3.682, HDBSCAN 4.380, one cluster 3.322), joined with a pool network 3.084
(session 10 rule 3.136; Ward 3.215); RBC 10 x 10 unchanged (3.179; Ward 3.267); synthetic 0.048.
Development half (draws 0-2 / 0-9): 10 x 50 3.605 (Ward 3.818), 10 x 10 2.838 (Ward 3.055).

Session 17 (the far pairs' repulsion at ``FAR_WEIGHT`` above k = 7), held-out half scored once
(its seventh look): RBC 10 x 50 3.338 (session 11 rule 3.562), 10 x 10 and synthetic 4 x 10
unchanged; development 10 x 50 3.326. Synthetic 4 x 50 (``--synthetic-per 50``), development seeds
0-9: 0.007 (session 11 rule 0.445); counted once on seeds 600-619: 0.012 (0.491; KMeans 0.004,
Ward 0.000).

Session 17b (up to 112 images k = 10 when its partition stands apart, ``separated_neighbours``):
synthetic 4 x 25 (``--synthetic-per 25``) development seeds 0-9 and 700-719 0.981 -> 0.000,
counted once on seeds 740-759: 0.984 -> 0.000 (KMeans, Ward 0.000); 4 x 10 and RBC unchanged.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import labelfree_sets as sets

from corrclust import feature_costs, profiles
from corrclust.metrics import compare
from corrclust.solve import solve


def features(images, masks=None):
    t0 = time.perf_counter()
    masks = masks or [None] * len(images)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pr = profiles.profile_collection(
            [(str(i), im, m) for i, (im, m) in enumerate(zip(images, masks, strict=False))]
        )
    Z = profiles.standardise(pr.features, pr.groups)
    return Z, pr.kept, len(pr.skipped), time.perf_counter() - t0


def join_singletons(C: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``labels`` with every image that is alone in its cluster moved into the cluster it attracts
    most typically, when it attracts any member of one. Measured as the profile route's last step
    in session 12 and **not adopted** (the route's labels are the solver's); kept here, outside the
    package, so that later rules can be measured against it (its own row below).

    ``C``: the costs the labels were solved on (positive = attract). For each singleton ``i``
    (all judged against the same clustering), the candidates are the clusters of two or more
    images that hold at least one ``j`` with ``C[i, j] > 0``; ``i`` joins the candidate with the
    largest median ``C[i, j]`` over its members (ties: the first cluster). A singleton that
    attracts no member of any cluster stays alone (a true outlier, and what a negative
    ``--granularity`` asks for). Cluster labels are kept (a joined singleton's label disappears).

    Why (session 12, development half only; docs/profiles.md): the solver's own optimum cut
    outlying members of a tight class off as singletons. On synthetic organoids 4 x 10 (seeds 0-4 and
    10-29) 4 of 25 seeds had errors (mean VI 0.032, KMeans given the true k 0.015): two were one
    singleton of class 1 (VI 0.117 each), whose 3 nearest class mates attracted it but whose
    class's far members, of small scale ``sigma_j``, repelled it more in sum (-3.4 and -0.4). This
    step fixes both (mean VI 0.022; the other two seeds are a pair cut off and a class split across
    another, which KMeans makes too). The sum of costs (the objective's own criterion) put one of
    them into the wrong class (VI 0.238); the median cost, the cost to the cluster's typical member,
    does not. RBC development half, mean VI before -> after: 10 x 10 (draws 0-9) 2.838 -> 2.810,
    16.9 -> 14.3 clusters; 10 x 50 (draws 0-2) 3.605 -> 3.603, 7.3 -> 6.3 clusters (within the
    draws' spread; draws 10-19: 2.999 -> 3.017). Moving clusters of two as well (the third seed's
    error) raised RBC 10 x 10 to 2.83-2.89 by the way they join, so only singletons move.

    Why not adopted (counted once after the rule was fixed): fresh synthetic seeds 100-139 gained
    (mean VI 0.019 -> 0.0105, 5 -> 2 seeds with errors; KMeans given k 0.006, Ward 0.000), but the
    held-out RBC 10 x 10 lost (3.179 -> 3.222, worse on 6 of 10 draws; 10 x 50 3.562 -> 3.559). On
    RBC the moved singletons land in a cluster whose majority is their class 23 times of 54
    (development 10 x 10, 20 draws), at about the clusters' ordinary purity: the step moves noise.
    """
    C = np.asarray(C, dtype=np.float64)
    lab = np.asarray(labels).copy()
    n = lab.size
    if C.shape != (n, n):
        raise ValueError(f"costs of shape {C.shape} for {n} labels")
    ids, inverse, counts = np.unique(lab, return_inverse=True, return_counts=True)
    groups = [np.flatnonzero(inverse == c) for c in range(ids.size)]
    big = [c for c in range(ids.size) if counts[c] > 1]
    for i in np.flatnonzero(counts[inverse] == 1):
        best, best_median = None, -np.inf
        for c in big:
            row = C[i, groups[c]]
            if (row > 0).any() and float(np.median(row)) > best_median:
                best, best_median = c, float(np.median(row))
        if best is not None:
            lab[i] = ids[best]
    return lab


def route_neighbours(Z):
    """The profile route's default neighbourhood: ``feature_costs.separated_neighbours`` (session
    17b: ``scaled_neighbours(n)``, or 10 instead of 7 where the clusters at 10 stand apart)."""
    return feature_costs.separated_neighbours(Z)[0]


def ours(Z, granularity=0.0, calibration=None, k=None, join=False):
    """The profile route's default: neighbourhood ``route_neighbours(Z)`` unless ``k``;
    ``join``: then the singletons that attract a cluster joined to it (``join_singletons``,
    measured in session 12, not the route's default)."""
    k = route_neighbours(Z) if k is None else k
    C, _ = feature_costs.costs_from_features(Z, k=k, granularity=granularity, calibration=calibration)
    if not join:
        return solve(C, method="kl", seed=0).labels
    return join_singletons(C, solve(C, method="kl", seed=0).labels)


def ours_fixed_offset(Z):
    """The rule until session 10: the scaled neighbourhood with the offset 1 at every k."""
    s, _ = feature_costs.scaled_distances(Z, feature_costs.scaled_neighbours(len(Z)))
    C = feature_costs.costs_of_scaled(s)
    np.fill_diagonal(C, 0.0)
    return solve(C, method="kl", seed=0).labels


def ours_session11(Z):
    """Session 11's rule: the grown offset on the neighbour pairs, every repulsion at full weight
    (session 17 weights the far pairs' repulsion by ``feature_costs.FAR_WEIGHT`` above k = 7)."""
    k = feature_costs.scaled_neighbours(len(Z))
    s, sigma = feature_costs.scaled_distances(Z, k)
    D = np.sqrt(s * np.outer(sigma, sigma))
    offsets = feature_costs.pair_offsets(D, sigma[:, None], sigma[None, :], feature_costs.rule_offset(k))
    C = feature_costs.costs_of_scaled(s, 0.0, offsets)
    np.fill_diagonal(C, 0.0)
    return solve(C, method="kl", seed=0).labels


def ours_session10(Z):
    """Session 10's rule: the scaled neighbourhood with the offset 1 + 0.5 ln(k / 7) on every pair."""
    k = feature_costs.scaled_neighbours(len(Z))
    s, _ = feature_costs.scaled_distances(Z, k)
    C = feature_costs.costs_of_scaled(s, 0.0, feature_costs.OFFSET + 0.5 * np.log(max(k, 7) / 7))
    np.fill_diagonal(C, 0.0)
    return solve(C, method="kl", seed=0).labels


def ours_auto(Z):
    k, _ = feature_costs.choose_neighbours(Z)
    C, _ = feature_costs.costs_from_features(Z, k=k)
    return solve(C, method="kl", seed=0).labels


def hdbscan(Z):
    from sklearn.cluster import HDBSCAN

    lab = HDBSCAN(copy=True).fit_predict(Z)
    noise = lab < 0
    lab = lab.copy()
    lab[noise] = lab.max() + 1 + np.arange(noise.sum())  # noise: singletons
    return lab


def baselines(X, k, on=""):
    """(name, labelling function) of what a user would pick instead, on the features ``X``:
    KMeans and Ward given the true ``k``, HDBSCAN (``on`` names the features in the row names)."""
    from sklearn.cluster import AgglomerativeClustering, KMeans

    return (
        (f"KMeans{on} (true k)", lambda: KMeans(k, n_init=10, random_state=0).fit_predict(X)),
        (f"Ward{on} (true k)", lambda: AgglomerativeClustering(k).fit_predict(X)),
        (f"HDBSCAN{on}", lambda: hdbscan(X)),
    )


def timed_rows(y, methods):
    """``(name, compare(y, labels), seconds)`` for each ``(name, labelling function)``."""
    rows = []
    for name, fn in methods:
        t0 = time.perf_counter()
        lab = fn()
        rows.append((name, compare(y, lab), time.perf_counter() - t0))
    return rows


def labelled_methods(Z, y, k, seed_draws=3):
    rows = timed_rows(
        y,
        (
            ("corrclust profile (label-free)", lambda: ours(Z)),
            ("corrclust profile, singletons joined (session 12, not adopted)", lambda: ours(Z, join=True)),
            (
                "corrclust profile, no separation check (session 17 rule)",
                lambda: ours(Z, k=feature_costs.scaled_neighbours(len(Z))),
            ),
            ("corrclust profile, far pairs at full weight (session 11 rule)", lambda: ours_session11(Z)),
            ("corrclust profile, offset 1 (session 9 rule)", lambda: ours_fixed_offset(Z)),
            ("corrclust profile, offset grown on all pairs (session 10 rule)", lambda: ours_session10(Z)),
            ("corrclust profile --neighbours 7 (session 7 default)", lambda: ours(Z, k=7)),
            ("corrclust profile --neighbours auto", lambda: ours_auto(Z)),
            *baselines(Z, k),
            ("one cluster (reference)", lambda: np.zeros(len(Z), dtype=np.int64)),
        ),
    )
    # few-shot: 2 labelled images per class weight the features, choose the granularity, are pinned
    cal = []
    t0 = time.perf_counter()
    for draw in range(seed_draws):
        rng = np.random.default_rng(draw)
        picked = [
            int(i) for c in sorted(set(y)) for i in rng.choice(np.flatnonzero(y == c), 2, replace=False)
        ]
        pairs = [(a, b, y[a] == y[b]) for n, a in enumerate(picked) for b in picked[n + 1 :]]
        c = feature_costs.calibrate(Z, pairs, k=route_neighbours(Z))
        cal.append((c.granularity, compare(y, ours(Z, calibration=c))))
    dt = (time.perf_counter() - t0) / seed_draws
    mean = {
        key: float(np.mean([m[key] for _, m in cal]))
        for key in ("vi", "false_cuts", "false_joins", "n_clusters_pred")
    }
    mean["range"] = (min(m["vi"] for _, m in cal), max(m["vi"] for _, m in cal))
    mean["granularities"] = [g for g, _ in cal]
    rows.insert(1, ("corrclust profile --calibrate (2/class)", mean, dt))
    return rows


def fmt_row(set_name, name, m, dt):
    extra = ""
    if "range" in m:
        grains = ", ".join(f"{g:g}" for g in m["granularities"])
        extra = f" (VI {m['range'][0]:.2f}-{m['range'][1]:.2f}; granularity {grains})"
    return (
        f"| {set_name} | {name} | {m['vi']:.3f} ({m['false_cuts']:.2f}, {m['false_joins']:.2f}) | "
        f"{m['n_clusters_pred']:.1f} | {dt:.2f} |{extra}"
    )


def ssl_rows(images, y, k, budget, seed=0):
    """(header, rows) for the ssl route on these crops: train without labels, embed, cluster."""
    import corrclust.ssl as ssl
    from corrclust.twin.data import from_arrays

    config = ssl.SSLConfig()
    ids = [str(i) for i in range(len(images))]
    data = from_arrays(images, None, ids, "image", config.image_size)
    t0 = time.perf_counter()
    res = ssl.train(data.inputs, ids, config, seed=seed, time_budget=budget, progress=False)
    E = ssl.embed(res.model, data.inputs)
    dt = time.perf_counter() - t0
    loss = f"loss {res.losses[0]:.2f} -> {res.losses[-1]:.2f}" if res.losses else "no step"
    import torch

    header = (
        f"ssl: {res.steps} steps in {res.elapsed_s:.0f} s ({torch.get_num_threads()} torch threads), {loss}; "
        f"train + embed {dt:.0f} s"
    )
    if res.warnings:
        header += "; warning: " + "; ".join(res.warnings)

    def ours_ssl():
        # the ssl route's neighbourhood (pipeline.routes.ssl): 7 up to 112 crops, n / 15 above
        C, _ = ssl.embedding_costs(E, k=feature_costs.scaled_neighbours(len(E)))
        return solve(C, method="kl", seed=0).labels

    return header, timed_rows(y, (("corrclust ssl (label-free)", ours_ssl), *baselines(E, k, " on ssl")))


def joined_rows(Z, images, y, k, net):
    """Rows of ``corrclust profile --ssl-model``: profiles and the network's embedding, equal weight."""
    import corrclust.ssl as ssl
    from corrclust.profile_clustering import join_embedding

    X = join_embedding(Z, ssl.embed_arrays(net, images))
    return timed_rows(
        y,
        (
            ("corrclust profile --ssl-model (label-free)", lambda: ours(X)),
            ("corrclust profile --ssl-model, offset 1 (session 9 rule)", lambda: ours_fixed_offset(X)),
            ("corrclust profile --ssl-model, session 10 rule", lambda: ours_session10(X)),
            *baselines(X, k, " on profile+ssl"),
        ),
    )


def stability(Z, method, rng, subsets=5):
    from sklearn.metrics import adjusted_rand_score

    full = method(Z)
    scores = []
    for _ in range(subsets):
        sub = np.sort(rng.choice(len(Z), int(0.8 * len(Z)), replace=False))
        scores.append(adjusted_rand_score(full[sub], method(Z[sub])))
    return float(np.mean(scores)), len(set(full.tolist()))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--half", choices=("report", "dev"), default="report")
    ap.add_argument("--quick", action="store_true", help="RBC 10 x 10 and two synthetic seeds only")
    ap.add_argument(
        "--synthetic-per",
        type=int,
        default=10,
        metavar="N",
        help="synthetic organoids per class (10, the demo's size; 50 is issue 13's over-cut case)",
    )
    ap.add_argument(
        "--synthetic-seeds",
        metavar="A-B",
        help="synthetic seeds, first-last (default: the half's, 0-4 dev / 5-9 report; --quick two)",
    )
    ap.add_argument(
        "--synthetic-only", action="store_true", help="the synthetic rows only (no RBC, no OrgaQuant)"
    )
    ap.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    ap.add_argument(
        "--draws",
        type=int,
        default=10,
        metavar="N",
        help="RBC 10 x 10 draws of crops (10; draw 0 shown alone too)",
    )
    ap.add_argument("--draws-large", type=int, default=3, metavar="N", help="RBC 10 x 50 draws of crops (3)")
    ap.add_argument("--ssl", action="store_true", help="also the ssl route on the RBC sets (needs torch)")
    ap.add_argument("--ssl-budget", type=float, default=300.0, metavar="S", help="ssl training seconds (300)")
    ap.add_argument(
        "--ssl-threads", type=int, default=0, metavar="N", help="torch CPU threads (0: torch's default)"
    )
    ap.add_argument(
        "--ssl-model",
        type=Path,
        metavar="POOL.pt",
        help="also profiles joined with this network's embedding on the RBC sets (needs torch)",
    )
    args = ap.parse_args(argv)
    import os

    net = None
    if args.ssl_model is not None:
        import torch

        import corrclust.ssl as ssl

        torch.set_num_threads(max(1, args.ssl_threads))
        net, record = ssl.load_model(args.ssl_model)
        print(
            f"ssl model {args.ssl_model}: {record.get('steps')} steps, {record.get('elapsed_s', 0):.0f} s, "
            f"on {record.get('n_images')} crops",
            flush=True,
        )

    lines = [
        f"half: {args.half}; load average at start {os.getloadavg()[0]:.1f}",
        "",
        "| set | method | VI (false cuts, false joins) | clusters | time s |",
        "|---|---|---|---|---|",
    ]

    def emit(line):
        lines.append(line)
        print(line, flush=True)

    for line in lines:
        print(line)

    def emit_mean(name: str, per_method: dict[str, list], unit: str) -> None:
        """One row per method: the mean over draws (or seeds), its standard deviation and every VI."""
        for method, ms in per_method.items():
            mean = {
                k: float(np.mean([m[k] for m, _ in ms]))
                for k in ("vi", "false_cuts", "false_joins", "n_clusters_pred")
            }
            vis = [m["vi"] for m, _ in ms]
            emit(
                fmt_row(name, method, mean, float(np.mean([dt for _, dt in ms])))
                + f" sd {np.std(vis):.2f}; per {unit} VI "
                + " ".join(f"{v:.2f}" for v in vis)
            )

    rbc_sizes = ((10, 1),) if args.quick else ((10, args.draws), (50, args.draws_large))
    if args.synthetic_only:
        rbc_sizes = ()
    for per, n_draws in rbc_sizes:
        per_draw: dict[str, list] = {}
        for draw in range(n_draws):
            images, classes, _ = sets.rbc_set(args.half, per, seed=draw)
            Z, kept, skipped, ft = features(images)
            y = np.array(classes)[kept]
            rows = labelled_methods(Z, y, 10)
            if net is not None:
                rows += joined_rows(Z, [images[i] for i in kept], y, 10, net)
            for method, m, dt in rows:
                per_draw.setdefault(method, []).append((m, dt))
            if draw > 0:
                continue
            name = f"RBC 10x{per} draw 0 ({len(y)} crops, {skipped} without object; features {ft:.0f} s)"
            for method, m, dt in rows:
                emit(fmt_row(name, method, m, dt))
            if args.ssl:
                if args.ssl_threads > 0:
                    import torch

                    torch.set_num_threads(args.ssl_threads)
                header, srows = ssl_rows(images, np.array(classes), 10, args.ssl_budget)
                sname = f"RBC 10x{per} draw 0 ({len(images)} crops; {header}; load {os.getloadavg()[0]:.1f})"
                for method, m, dt in srows:
                    emit(fmt_row(sname, method, m, dt))
        if n_draws > 1:
            emit_mean(f"RBC 10x{per}, draws 0-{n_draws - 1} (mean of {n_draws})", per_draw, "draw")
    seeds = (5, 6) if args.half == "report" else (0, 1)
    if not args.quick:
        seeds = tuple(range(5, 10)) if args.half == "report" else tuple(range(5))
    if args.synthetic_seeds:
        first, _, last = args.synthetic_seeds.partition("-")
        seeds = tuple(range(int(first), int(last or first) + 1))
    per_method: dict[str, list] = {}
    for seed in seeds:
        images, classes, masks = sets.synthetic_set(seed, per_class=args.synthetic_per)
        Z, kept, skipped, ft = features(images, masks)
        y = np.array(classes)[kept]
        for method, m, dt in labelled_methods(Z, y, 4):
            per_method.setdefault(method, []).append((m, dt))
    emit_mean(
        f"synthetic 4x{args.synthetic_per}, seeds {seeds[0]}-{seeds[-1]} (mean of {len(seeds)})",
        per_method,
        "seed",
    )
    if not args.quick and not args.synthetic_only:
        images, _ = sets.orgaquant_crops(args.half, 150)
        Z, kept, skipped, ft = features(images)
        from sklearn.cluster import KMeans

        emit("")
        emit(
            f"OrgaQuant crops ({len(kept)} of {len(images)} with an object; features {ft:.0f} s): stability "
            "= mean ARI, all crops vs 5 random 80 % subsets"
        )
        s, k = stability(Z, ours, np.random.default_rng(0))
        emit(f"| OrgaQuant | corrclust profile | stability {s:.2f} | {k} | |")
        s7, k7 = stability(Z, lambda X: ours(X, k=7), np.random.default_rng(0))
        emit(f"| OrgaQuant | corrclust profile --neighbours 7 | stability {s7:.2f} | {k7} | |")
        sa, ka = stability(Z, ours_auto, np.random.default_rng(0))
        emit(f"| OrgaQuant | corrclust profile --neighbours auto | stability {sa:.2f} | {ka} | |")
        s2, k2 = stability(Z, hdbscan, np.random.default_rng(0))
        emit(f"| OrgaQuant | HDBSCAN | stability {s2:.2f} | {k2} | |")
        s3, _ = stability(
            Z, lambda X: KMeans(k, n_init=10, random_state=0).fit_predict(X), np.random.default_rng(0)
        )
        emit(f"| OrgaQuant | KMeans (k = {k}, ours) | stability {s3:.2f} | {k} | |")
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    from needs import run_main

    raise SystemExit(run_main(main))
