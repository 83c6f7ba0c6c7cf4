"""A self-supervised embedding trained on a lab-sized unlabelled pool, against the morphology profiles.

    PYTHONPATH=python python benchmarks/bench_ssl_pool.py [--half dev|report] [--budget 720] [--threads 1]
                                   [--model FILE.pt] [--draws 10] [--draws-large 3] [--out FILE.md]

The question: session 8 found an ``ssl`` network trained on the 100 crops of one folder worse than the
profiles alone. A lab has thousands of unlabelled crops. Here the network (``corrclust.ssl`` with its
defaults, as ``corrclust ssl train POOL -o FILE.pt --time-budget S`` trains it) learns from a crop
around **every annotated cell of the development images** (even-numbered smears, all classes,
uncategorised included; about 9,800 crops; labels never used). The report images (odd-numbered) are
never in the pool, whatever ``--half`` says. ``--model`` keeps the network: an existing finished
model is reused, a checkpoint continues.

Then the 10 x 10 and 10 x 50 folders of ``labelfree_sets.rbc_set`` (draws 0.. of the ``--half``) are
embedded (``ssl.embed``: mean over the 8 exact rotations and flips, unit length) and clustered with
the label-free rule of the profile route (``feature_costs.costs_from_features`` with
``scaled_neighbours(n)``, GAEC + KL), on four feature sets:

* ``profile``: the standardised morphology profiles (the route's default, the baseline);
* ``ssl``: the embeddings alone (unit length);
* ``profile + ssl (one group)``: the embeddings robustly standardised and scaled like one more
  feature group of the profiles (``profiles.standardise`` divides each of its 6 groups by the
  square root of its size);
* ``profile + ssl (half each)``: both blocks scaled to a unit mean squared row norm.

KMeans and Ward given the true number of classes run on the same features beside them. Crops without
an object mask (no profile) are left out of every row. VI in bits, mean over the draws, standard
deviation, per-draw values.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import labelfree_sets as sets
from bench_labelfree import features

from corrclust import feature_costs, profiles
from corrclust.metrics import compare
from corrclust.profile_clustering import join_embedding
from corrclust.solve import solve


def dev_pool() -> list[np.ndarray]:
    """64 x 64 crops around every annotated cell of the even-numbered (development) images, in the
    order of ``points.csv`` (a point listed twice once), whole crops only."""
    from corrclust.images.io import read_image
    from corrclust.images.rbc import read_points

    seen: set[tuple[str, int, int]] = set()
    images: dict[str, np.ndarray] = {}
    crops = []
    for p in read_points(sets.RBC / "points.csv"):
        if sets._number(p.image) % 2 != 0 or (p.image, p.x, p.y) in seen:
            continue
        seen.add((p.image, p.x, p.y))
        if p.image not in images:
            images = {p.image: read_image(sets.RBC / "images" / p.image)}
        img = images[p.image]
        if 32 <= p.y <= img.shape[0] - 32 and 32 <= p.x <= img.shape[1] - 32:
            crops.append(np.ascontiguousarray(img[p.y - 32 : p.y + 32, p.x - 32 : p.x + 32]))
    return crops


def train_on_pool(model: Path, budget: float, seed: int):
    """The trained network (reused when ``model`` is a finished model file) and a one-line summary."""
    import corrclust.ssl as ssl
    from corrclust.twin.data import from_arrays

    if model.is_file() and not Path(str(model) + ".ckpt").exists():
        net, rec = ssl.load_model(model)
        return net, f"model {model} reused: {rec.get('steps')} steps in {rec.get('elapsed_s', 0):.0f} s"
    crops = dev_pool()
    ids = [str(i) for i in range(len(crops))]
    data = from_arrays(crops, None, ids, "image", ssl.SSLConfig().image_size)
    res = ssl.train(data.inputs, ids, seed=seed, output=model, time_budget=budget, progress=False)
    loss = f"loss {np.mean(res.losses[:10]):.2f} -> {np.mean(res.losses[-10:]):.2f}" if res.losses else ""
    return res.model, f"trained on {len(crops)} dev crops: {res.steps} steps in {res.elapsed_s:.0f} s, {loss}"


def feature_sets(Z: np.ndarray, E: np.ndarray) -> dict[str, np.ndarray]:
    """The four feature sets of the module docstring, rows aligned."""
    E = E / np.maximum(np.linalg.norm(E, axis=1, keepdims=True), 1e-12)
    Es = profiles.standardise(E)
    return {
        "profile": Z,
        "ssl": E,
        "profile + ssl (one group)": np.hstack([Z, Es / np.sqrt(Es.shape[1])]),
        "profile + ssl (half each)": join_embedding(Z, E),  # = cluster --ssl-model
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--half", choices=("dev", "report"), default="dev", help="the folders clustered (dev)")
    ap.add_argument("--budget", type=float, default=720.0, help="training seconds on the pool (720)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (1)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", type=Path, default=Path("ssl-dev-pool.pt"), help="the network file")
    ap.add_argument("--draws", type=int, default=10, help="RBC 10 x 10 draws (10)")
    ap.add_argument("--draws-large", type=int, default=3, help="RBC 10 x 50 draws (3)")
    ap.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    args = ap.parse_args(argv)
    from needs import require_torch

    require_torch("bench_ssl_pool.py")
    import torch
    from sklearn.cluster import AgglomerativeClustering, KMeans

    import corrclust.ssl as ssl

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    net, summary = train_on_pool(args.model, args.budget, args.seed)
    lines = [
        f"half: {args.half}; {summary} ({time.perf_counter() - t0:.0f} s wall, "
        f"{args.threads} torch thread(s), load {os.getloadavg()[0]:.1f})",
        "",
        "| set | features | method | VI mean (sd) | cuts / joins | clusters | VI per draw |",
        "|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    for per, n_draws in ((10, args.draws), (50, args.draws_large)):
        results: dict[tuple[str, str], list[dict]] = {}
        for draw in range(n_draws):
            images, classes, _ = sets.rbc_set(args.half, per, seed=draw)
            Z, kept, _, _ = features(images)
            y = np.array(classes)[kept]
            E = ssl.embed_arrays(net, [images[i] for i in kept]).astype(np.float64)
            k = feature_costs.scaled_neighbours(len(y))
            for name, M in feature_sets(Z, E).items():
                C, _ = feature_costs.costs_from_features(M, k=k)
                for method, lab in (
                    ("corrclust (label-free)", solve(C, method="kl", seed=0).labels),
                    ("KMeans (true k)", KMeans(10, n_init=10, random_state=0).fit_predict(M)),
                    ("Ward (true k)", AgglomerativeClustering(10).fit_predict(M)),
                ):
                    results.setdefault((name, method), []).append(compare(y, lab))
        for (name, method), ms in results.items():
            vi = np.array([m["vi"] for m in ms])
            line = (
                f"| RBC 10x{per}, {n_draws} draws | {name} | {method} | {vi.mean():.3f} ({vi.std():.2f}) | "
                f"{np.mean([m['false_cuts'] for m in ms]):.2f} / {np.mean([m['false_joins'] for m in ms]):.2f} | "
                f"{np.mean([m['n_clusters_pred'] for m in ms]):.1f} | {' '.join(f'{v:.2f}' for v in vi)} |"
            )
            lines.append(line)
            print(line, flush=True)
    lines.append(f"\ntotal {time.perf_counter() - t0:.0f} s, load {os.getloadavg()[0]:.1f}")
    print(lines[-1])
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    from needs import run_main

    raise SystemExit(run_main(main))
