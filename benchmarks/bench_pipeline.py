"""Where the time of ``corrclust cluster`` goes, stage by stage.

Run: python benchmarks/bench_pipeline.py [--quick]

Table 1: the demo's synthetic set through every stage (reading + thumbnails, key points, PQAP
matching, clustering, sweep, figures + report), in one process, so the share of each stage is
measured in the same run: the report should cost little next to the matching.

Table 2: the stages after the correlations (clustering, sweep, figures and report) for larger
sets with a made-up similarity matrix, to show how the report side scales with the number of images.

Each row checks what it timed (:func:`check_row`, a small share of the row's time): one label per
image, clusters numbered 1..K, the objective recomputed from the labels and the costs, the same seed
giving the same labels, the sweep's row at the chosen threshold equal to the clustering, and
clusters.csv holding the labels. A failed check is one line on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from checks import Checks, cut_cost


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def check_row(checks: Checks, row: str, corr, clustering, ev, files, record_ids) -> None:
    """What a row timed is right: labels, objective, determinism, sweep and clusters.csv agree."""
    from corrclust import pipeline

    ids = np.asarray(corr.ids)
    n = len(record_ids)
    checks.expect(sorted(ids.tolist()) == sorted(record_ids), row, "the matrix's ids are not the images' ids")
    S = np.asarray(corr.matrix, dtype=float)
    off = ~np.eye(n, dtype=bool)
    checks.expect(S.shape == (n, n) and np.isfinite(S[off]).all(), row, f"similarities {S.shape}, not finite")
    lab = clustering.labels
    if not checks.labels(lab, n, row):
        return
    k = clustering.n_clusters
    checks.expect(set(lab.tolist()) == set(range(1, k + 1)), row, f"clusters not numbered 1..{k}")
    costs = np.minimum(S, S.T) - corr.parameter  # the paper's costs, without the library's Problem
    np.fill_diagonal(costs, 0.0)
    checks.close(clustering.objective, cut_cost(costs, lab), row, "objective", rtol=1e-9, atol=1e-9)
    again = pipeline.cluster(corr, "kl")
    checks.expect(np.array_equal(again.labels, lab), row, "the same seed gave other labels")
    sw = ev.sweep
    checks.expect(all(np.isfinite(v).all() for v in sw.values()), row, "a sweep value is not finite")
    grid = sw[corr.parameter_name]
    at = np.flatnonzero(grid == corr.parameter)
    if checks.expect(at.size >= 1, row, f"the sweep has no row at the chosen {corr.parameter_name}"):
        i = int(at[0])
        checks.close(sw["objective"][i], clustering.objective, row, "sweep objective at the chosen value")
        checks.expect(
            sw["n_clusters"][i] == k,
            row,
            f"sweep: {sw['n_clusters'][i]} clusters at the chosen value, not {k}",
        )
    with open(files["clusters"], newline="") as fh:
        table = {int(r["id"]): int(r["cluster"]) for r in csv.DictReader(fh)}
    checks.expect(
        table == {int(i): int(c) for i, c in zip(ids, lab, strict=True)},
        row,
        "clusters.csv is not the labels",
    )


def table1(checks: Checks, work: Path, classes: int, per_class: int, size: int) -> None:
    from corrclust import pipeline, pqap
    from corrclust.images import synthetic
    from corrclust.images.keypoints import extract_keypoint_set

    images_dir = work / "images"
    _, t_gen = _timed(
        lambda: synthetic.generate(images_dir, classes=classes, per_class=per_class, seed=0, size=size)
    )
    images, t_read = _timed(lambda: pipeline.load_images(images_dir, progress=False))
    kp, t_kp = _timed(lambda: extract_keypoint_set(images.records))
    (ids, S), t_pqap = _timed(lambda: pqap.similarity_matrix(kp, pqap.PqapParameters.paper(), progress=False))
    corr = pipeline.Correlations(np.asarray(ids), S, "similarity", 0.64)
    options = pipeline.ClusterOptions(
        images_dir, work / "out", truth=str(images_dir / "truth.csv"), progress=False
    )
    images = pipeline.align_images(images, corr)
    clustering, t_cc = _timed(lambda: pipeline.cluster(corr, "kl"))
    truth = pipeline.resolve_truth(options.truth, images)
    ev, t_ev = _timed(
        lambda: pipeline.evaluate(images, corr, clustering, truth, do_sweep=True, solver="kl", progress=False)
    )
    files, t_out = _timed(
        lambda: pipeline.write_outputs(work / "out", images, corr, clustering, ev, [], progress=False)
    )
    n = len(ids)
    checks.expect(n == classes * per_class, "table 1", f"{n} images matched, not {classes * per_class}")
    check_row(checks, "table 1", corr, clustering, ev, files, [int(r.id) for r in images.records])
    rows = [
        ("synthetic images (not part of cluster)", t_gen),
        ("read images + thumbnails", t_read),
        ("key points", t_kp),
        (f"PQAP matching ({n * (n - 1)} ordered pairs)", t_pqap),
        ("clustering (kl)", t_cc),
        ("metrics + sweep (42 kl solves)", t_ev),
        ("figures + report + data files", t_out),
    ]
    total = sum(t for name, t in rows[1:])
    print(f"\nTable 1: {classes} classes x {per_class} images, {size} px ({n} images)")
    print(f"{'stage':<44} {'seconds':>9} {'share of cluster':>17}")
    for name, t in rows:
        share = "" if name.startswith("synthetic") else f"{100 * t / total:16.1f}%"
        print(f"{name:<44} {t:9.3f} {share:>17}")
    print(f"{'total of cluster':<44} {total:9.3f}")


def table2(checks: Checks, work: Path, sizes: list[int]) -> None:
    from corrclust import pipeline
    from corrclust.images.io import ImageRecord

    print("\nTable 2: after the correlations (made-up similarities, 10 classes, thumbnails in memory)")
    print(f"{'images':>7} {'clustering s':>13} {'sweep s':>9} {'figures+report s':>17} {'montages':>9}")
    rng = np.random.default_rng(0)
    for n in sizes:
        ids = np.array([(k % 10 + 1) * 1000 + k for k in range(n)])
        cls = ids // 1000
        S = np.where(cls[:, None] == cls[None, :], 0.72, 0.58) + rng.normal(0, 0.05, (n, n))
        thumbs = [np.full((96, 96, 3), 40 * (c % 6), np.uint8) for c in cls]
        records = [ImageRecord(work / f"img_{i}.tif", int(i), str(c)) for i, c in zip(ids, cls, strict=False)]
        images = pipeline.ImageSet(work, records, thumbs)
        corr = pipeline.Correlations(ids, S, "similarity", 0.64)
        clustering, t_cc = _timed(lambda: pipeline.cluster(corr, "kl"))
        truth = pipeline.Truth([r.label for r in records], "classes")
        ev, t_ev = _timed(
            lambda: pipeline.evaluate(
                images, corr, clustering, truth, do_sweep=True, solver="kl", progress=False
            )
        )
        out = work / f"out{n}"
        files, t_out = _timed(
            lambda: pipeline.write_outputs(out, images, corr, clustering, ev, [], progress=False)
        )
        montages = sum(1 for k in files if k.startswith("cluster_"))
        check_row(checks, f"table 2, {n} images", corr, clustering, ev, files, ids.tolist())
        print(f"{n:7d} {t_cc:13.3f} {t_ev:9.3f} {t_out:17.3f} {montages:9d}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sets")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="corrclust-bench-pipeline-"))
    checks = Checks("bench_pipeline.py")
    try:
        if args.quick:
            table1(checks, work / "t1", 3, 4, 96)
            table2(checks, work, [50, 100])
        else:
            table1(checks, work / "t1", 4, 6, 96)
            table2(checks, work, [50, 100, 200, 400])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return checks.exit_code()


if __name__ == "__main__":
    raise SystemExit(main())
