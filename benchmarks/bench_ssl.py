"""Self-supervised embeddings on real red-blood-cell crops, against the embeddings a user has without it.

Data (fixed before measuring): 64 x 64 crops around the labelled cell centres of
``shared/data/rbc-morphology`` (Chula RBC-12), with the eligibility rule of
``corrclust.images.rbc`` (whole crop inside the image, no other labelled centre within 16 px),
class 10 (uncategorised) left out and the 10 classes with the most eligible cells kept. The images
are split by their number: **even-numbered images train** the network (50 crops per class, 500
crops, labels never used for training), **odd-numbered images are the test sets** (different cells,
different smears): 10 classes x 10 and 10 classes x 50 crops (the x 10 set is the first 10 of each
class of the x 50 set).

Compared in one run, on the same test crops, with the same distance-to-cost rule and solver
(GAEC + Kernighan-Lin), the number of classes unknown to them:

* ``ssl``: the network trained for ``--budget`` seconds on the even-image crops;
* ``untrained``: the same network with its initial (seeded random) weights;
* ``raw pixels``: the crops themselves as vectors (mean crop subtracted);

and, given the true number of classes (an oracle advantage), KMeans and Ward on the same features,
plus HDBSCAN (no k). "one cluster" is the VI of putting everything together.

``--select`` instead compares training settings on a validation set drawn from the even images
(the first 10 crops per class of the training pool), so the test images play no part in choosing.

    python benchmarks/bench_ssl.py --budget 300 --threads 1
    python benchmarks/bench_ssl.py --select simclr,byol,simclr:batch_size=64 --budget 150 --threads 1
    python benchmarks/bench_ssl.py --select "simclr,simclr:aug.gamma=1.1;aug.contrast=1.1" --budget 150 --threads 1

Checks (a failure is one line on stderr and exit code 1): every training loss finite, and with 20
steps or more the mean of the last 10 below the mean of the first 10; every embedding one finite
row per crop; the same seed giving the same numbers (3 steps of the same training twice: the same
losses and embeddings; the untrained network built twice: the same embeddings); each table row's
VI finite and >= 0, its clusters between 1 and n; "one cluster" at VI log2(10) (10 balanced classes).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from checks import Checks

ROOT = Path(__file__).resolve().parents[1]
RBC = ROOT.parent / "shared" / "data" / "rbc-morphology"
SIZE = 64


def rbc_split(per_class_train: int = 50, per_class_test: int = 50, seed: int = 0):
    """(train crops, train labels, test crops, test labels) as described in the module docstring."""
    from PIL import Image
    from scipy.spatial import cKDTree

    from corrclust.images.io import read_image
    from corrclust.images.rbc import read_points

    points = read_points(RBC / "points.csv")
    half = SIZE // 2
    by_image: dict[str, list[int]] = {}
    for i, p in enumerate(points):
        by_image.setdefault(p.image, []).append(i)
    eligible = np.zeros(len(points), bool)
    for name, idx in by_image.items():
        with Image.open(RBC / "images" / name) as im:
            h, w = im.height, im.width
        xy = np.array([[points[i].x, points[i].y] for i in idx], float)
        inside = (xy[:, 0] >= half) & (xy[:, 0] + half <= w) & (xy[:, 1] >= half) & (xy[:, 1] + half <= h)
        iso = cKDTree(xy).query(xy, k=2)[0][:, 1] >= 16 if len(idx) > 1 else np.ones(len(idx), bool)
        eligible[idx] = inside & iso
    counts: dict[int, int] = {}
    for i, p in enumerate(points):
        if p.class_id != 10 and eligible[i]:
            counts[p.class_id] = counts.get(p.class_id, 0) + 1
    classes = sorted(sorted(counts, key=lambda c: (-counts[c], c))[:10])
    parts = {"train": ([], []), "test": ([], [])}
    for cid in classes:
        for part, parity, need in (("train", 0, per_class_train), ("test", 1, per_class_test)):
            idx = [
                i
                for i, p in enumerate(points)
                if p.class_id == cid and eligible[i] and int(Path(p.image).stem) % 2 == parity
            ]
            rng = np.random.default_rng([seed, cid, parity])
            idx = [idx[k] for k in rng.permutation(len(idx))[:need]]
            if len(idx) < need:
                raise SystemExit(f"class {cid}: only {len(idx)} eligible crops in the {part} images")
            parts[part][0].extend(idx)
            parts[part][1].extend([points[idx[0]].class_name] * need)
    cache: dict[str, np.ndarray] = {}

    def crop(i: int) -> np.ndarray:
        p = points[i]
        if p.image not in cache:
            cache[p.image] = read_image(RBC / "images" / p.image)
        return np.ascontiguousarray(cache[p.image][p.y - half : p.y + half, p.x - half : p.x + half])

    out = []
    for part in ("train", "test"):
        idx, lab = parts[part]
        out += [[crop(i) for i in idx], lab]
    return out


def cluster_costs(features: np.ndarray) -> np.ndarray:
    from corrclust.ssl import embedding_costs

    return embedding_costs(features)[0]


def evaluate(name, features, labels, k, rows, extra_s=0.0, baselines=True):
    from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans

    from corrclust.metrics import compare
    from corrclust.problem import Problem
    from corrclust.solve import solve

    def add(method, pred, seconds):
        m = compare(labels, pred)
        rows.append(
            {
                "features": name,
                "method": method,
                "n": len(labels),
                "vi": m["vi"],
                "fc": m["false_cuts"],
                "fj": m["false_joins"],
                "clusters": m["n_clusters_pred"],
                "seconds": seconds + extra_s,
            }
        )

    t = time.perf_counter()
    sol = solve(Problem.from_dense(cluster_costs(features)), method="kl")
    add("CC (GAEC+KL), rule", sol.labels, time.perf_counter() - t)
    if not baselines:
        return
    for method, make in (
        ("KMeans, true k", lambda: KMeans(k, n_init=10, random_state=0)),
        ("Ward, true k", lambda: AgglomerativeClustering(k, linkage="ward")),
        ("HDBSCAN", lambda: HDBSCAN(min_cluster_size=5)),
    ):
        t = time.perf_counter()
        pred = make().fit_predict(features)
        if method == "HDBSCAN":  # noise points (-1) become singletons, as a user would read them
            pred = np.where(pred < 0, pred.max() + 1 + np.arange(len(pred)), pred)
        add(method, pred, time.perf_counter() - t)


def check_training(checks: Checks, row: str, res) -> None:
    losses = np.asarray(res.losses, float)
    if not checks.expect(losses.size == res.steps and np.isfinite(losses).all(), row, "a loss not finite"):
        return
    if res.steps >= 20:
        start, end = losses[:10].mean(), losses[-10:].mean()
        checks.expect(end < start, row, f"loss {start:.4f} -> {end:.4f}: not lower at the end")


def check_embedding(checks: Checks, row: str, f: np.ndarray, n: int) -> None:
    f = np.asarray(f)
    checks.expect(
        f.ndim == 2 and f.shape[0] == n, row, f"embeddings of shape {f.shape}, not one row per crop ({n})"
    )
    checks.expect(np.isfinite(f).all(), row, "an embedding not finite")


def check_same_seed(checks: Checks, cfg, inputs, ids, seed: int) -> None:
    """The same seed gives the same numbers: 3 steps of the training twice, the untrained network twice."""
    import dataclasses

    import torch

    from corrclust.ssl import SSLNet, embed, train

    short = dataclasses.replace(cfg, steps=3)
    a, b = (train(inputs, ids, short, seed=seed, progress=False) for _ in range(2))
    x = inputs[:8]
    row = "same seed, 3 training steps"
    checks.expect(a.losses == b.losses, row, f"losses {a.losses} then {b.losses}")
    checks.expect(np.array_equal(embed(a.model, x), embed(b.model, x)), row, "other embeddings")
    nets = []
    for _ in range(2):
        torch.manual_seed(seed)
        net = SSLNet(3, cfg)
        net.set_normalisation(inputs)
        nets.append(embed(net, x))
    checks.expect(np.array_equal(*nets), "same seed, untrained network", "other embeddings")


def check_rows(checks: Checks, rows: list[dict]) -> None:
    for r in rows:
        row = f"{r['features']}, {r['method']}, n={r['n']}"
        checks.expect(np.isfinite(r["vi"]) and r["vi"] >= 0, row, f"VI {r['vi']!r}")
        checks.expect(1 <= r["clusters"] <= r["n"], row, f"{r['clusters']} clusters of {r['n']} crops")
        if r["method"] == "one cluster":
            checks.close(r["vi"], np.log2(10), row, "VI of one cluster, log2(10 classes)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=float, default=300.0, help="training seconds (default 300)")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--select",
        default=None,
        help="compare settings on even-image validation crops: comma-separated method[:field=value...]",
    )
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    from needs import require_torch

    require_torch("bench_ssl.py")

    import os

    import torch

    from corrclust.ssl import Augmentation, SSLConfig, SSLNet, embed, train
    from corrclust.twin.data import from_arrays

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    # exit 1 with needs.py's line, as every other benchmark does (it said "RBC data not found", exit 2)
    if not RBC.is_dir():
        raise FileNotFoundError(RBC)
    t0 = time.perf_counter()
    tr_x, tr_y, te_x, te_y = rbc_split()
    train_data = from_arrays(tr_x, None, image_size=SIZE)
    test_data = from_arrays(te_x, None, image_size=SIZE)
    print(
        f"crops cut in {time.perf_counter() - t0:.0f} s: {len(tr_x)} training (even images), "
        f"{len(te_x)} test (odd images)",
        file=sys.stderr,
    )
    load = os.getloadavg()
    rows: list[dict] = []
    info: list[str] = []
    checks = Checks("bench_ssl.py")

    if args.select:
        val = np.concatenate([np.arange(c * 50, c * 50 + 10) for c in range(10)])
        val_y = [tr_y[i] for i in val]
        for spec in args.select.split(","):
            method, *kv = spec.split(":")
            fields, aug = {}, {}
            for item in kv:
                for pair in item.split(";"):
                    key, value = pair.split("=")
                    if key.startswith("aug."):  # an augmentation field, e.g. aug.gamma=1.1
                        key = key[4:]
                        aug[key] = type(getattr(Augmentation(), key))(value)
                    else:
                        fields[key] = type(getattr(SSLConfig(), key))(value)
            cfg = SSLConfig(method=method, augmentation=Augmentation(**aug), **fields)
            res = train(
                train_data.inputs,
                train_data.ids,
                cfg,
                seed=args.seed,
                time_budget=args.budget,
                progress=False,
            )
            f = embed(res.model, train_data.inputs[val])
            check_training(checks, f"{spec}, training", res)
            check_embedding(checks, f"{spec}, validation", f, len(val))
            evaluate(spec, f, val_y, 10, rows, baselines=False)
            rows[-1]["method"] = "CC, rule"
            from sklearn.cluster import KMeans

            from corrclust.metrics import compare

            m = compare(val_y, KMeans(10, n_init=10, random_state=0).fit_predict(f))
            rows.append(
                {
                    "features": spec,
                    "method": "KMeans, true k",
                    "n": len(val),
                    "vi": m["vi"],
                    "fc": m["false_cuts"],
                    "fj": m["false_joins"],
                    "clusters": m["n_clusters_pred"],
                    "seconds": 0.0,
                }
            )
            info.append(
                f"{spec}: {res.steps} steps in {res.elapsed_s:.0f} s, loss "
                f"{np.mean(res.losses[:10]):.3f} -> {np.mean(res.losses[-10:]):.3f}"
            )
            print(info[-1], file=sys.stderr)
        torch.manual_seed(args.seed)
        ref = SSLNet(3, SSLConfig())
        ref.set_normalisation(train_data.inputs)
        f = embed(ref, train_data.inputs[val])
        evaluate("untrained network", f, val_y, 10, rows, baselines=False)
        rows[-1]["method"] = "CC, rule"
        from sklearn.cluster import KMeans

        from corrclust.metrics import compare

        m = compare(val_y, KMeans(10, n_init=10, random_state=0).fit_predict(f))
        rows.append(
            {
                "features": "untrained network",
                "method": "KMeans, true k",
                "n": len(val),
                "vi": m["vi"],
                "fc": m["false_cuts"],
                "fj": m["false_joins"],
                "clusters": m["n_clusters_pred"],
                "seconds": 0.0,
            }
        )
    else:
        cfg = SSLConfig()
        t = time.perf_counter()
        res = train(
            train_data.inputs, train_data.ids, cfg, seed=args.seed, time_budget=args.budget, progress=True
        )
        train_s = time.perf_counter() - t
        check_training(checks, "ssl training", res)
        check_same_seed(checks, cfg, train_data.inputs, train_data.ids, args.seed)
        info.append(
            f"ssl ({cfg.method}, width {cfg.width}, batch {cfg.batch_size}): {res.steps} steps in "
            f"{res.elapsed_s:.0f} s, loss {np.mean(res.losses[:10]):.3f} -> {np.mean(res.losses[-10:]):.3f}; "
            f"warnings: {res.warnings or 'none'}"
        )
        print(info[-1], file=sys.stderr)
        torch.manual_seed(args.seed)
        untrained = SSLNet(3, cfg)
        untrained.set_normalisation(train_data.inputs)
        for per in (10, 50):
            sel = np.concatenate([np.arange(c * 50, c * 50 + per) for c in range(10)])
            labels = [te_y[i] for i in sel]
            x = test_data.inputs[torch.from_numpy(sel)]
            t = time.perf_counter()
            f_ssl = embed(res.model, x)
            emb_s = time.perf_counter() - t
            check_embedding(checks, f"ssl, test x {per}", f_ssl, len(sel))
            evaluate(f"ssl ({res.steps} steps)", f_ssl, labels, 10, rows, extra_s=train_s + emb_s)
            f_un = embed(untrained, x)
            check_embedding(checks, f"untrained network, test x {per}", f_un, len(sel))
            evaluate("untrained network", f_un, labels, 10, rows)
            raw = x.reshape(len(sel), -1).numpy().astype(np.float64)
            evaluate("raw pixels", raw - raw.mean(0), labels, 10, rows)
            from corrclust.metrics import compare

            m = compare(labels, np.zeros(len(labels), int))
            rows.append(
                {
                    "features": "-",
                    "method": "one cluster",
                    "n": len(labels),
                    "vi": m["vi"],
                    "fc": m["false_cuts"],
                    "fj": m["false_joins"],
                    "clusters": 1,
                    "seconds": 0.0,
                }
            )

    print()
    print(
        f"Self-supervised embeddings on RBC crops (torch threads {torch.get_num_threads()}, training budget "
        f"{args.budget:.0f} s, seed {args.seed}, load average at start {load[0]:.1f} on {os.cpu_count()} cores)"
    )
    for line in info:
        print(f"- {line}")
    print()
    print("| set (n) | features | clustering | VI | false cuts | false joins | clusters | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['n']} | {r['features']} | {r['method']} | {r['vi']:.3f} | {r['fc']:.3f} | {r['fj']:.3f} "
            f"| {r['clusters']} | {r['seconds']:.1f} |"
        )
    if args.json:
        args.json.write_text(json.dumps({"info": info, "rows": rows, "load": load}, indent=1))
    check_rows(checks, rows)
    return checks.exit_code()


if __name__ == "__main__":
    from needs import run_main

    raise SystemExit(run_main(main))
