"""Costs of the Python layer: metrics against scikit-learn, and the overhead of solve().

Run: python benchmarks/bench_api.py   (prints two tables; ratios are measured in the same run)

* metrics.compare (VI split + all pair ratios) against the scikit-learn calls that give the
  closest subset: pair_confusion_matrix (pair counts) + mutual_info_score and two entropies (VI).
* solve() against a direct call of the C++ binding on the same problem: the price of validation,
  conversion and result wrapping.
"""

from __future__ import annotations

import time

import numpy as np


def best_of(fn, repeat=5):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_metrics():
    from scipy.stats import entropy
    from sklearn.metrics import mutual_info_score
    from sklearn.metrics.cluster import pair_confusion_matrix

    from corrclust import metrics

    print("metrics.compare vs scikit-learn (pair counts + VI), best of 5, seconds")
    print(f"{'N':>9} {'k':>6} {'corrclust':>10} {'sklearn':>10} {'ratio':>7}")
    rng = np.random.default_rng(0)
    for n, k in ((10_000, 10), (1_000_000, 10), (1_000_000, 10_000)):
        t = rng.integers(0, k, n)
        p = rng.integers(0, k, n)

        def ours():
            return metrics.compare(t, p)

        def theirs():
            pair_confusion_matrix(t, p)
            mi = mutual_info_score(t, p) / np.log(2)
            h_t = entropy(np.bincount(t), base=2)
            h_p = entropy(np.bincount(p), base=2)
            return h_t + h_p - 2 * mi

        a, b = best_of(ours), best_of(theirs)
        assert abs(ours()["vi"] - theirs()) < 1e-9
        print(f"{n:>9} {k:>6} {a:>10.4f} {b:>10.4f} {b / a:>6.2f}x")


def bench_solve_overhead():
    from corrclust._native import _core
    from corrclust.problem import Problem
    from corrclust.solve import solve

    print("\nsolve() vs the raw binding (method gaec, dense), best of 3-7 interleaved, seconds")
    print(f"{'n':>6} {'raw _core':>10} {'solve(ndarray)':>15} {'solve(Problem)':>15} {'from_dense':>11}")
    rng = np.random.default_rng(1)
    for n in (50, 500, 2000):
        c = rng.normal(size=(n, n))
        c = (c + c.T) / 2
        np.fill_diagonal(c, 0)
        problem = Problem.from_dense(c)
        # interleaved, so that load on the shared machine hits all three alike
        raw, from_array, from_problem, build = [], [], [], []
        for _ in range(3 if n > 1000 else 7):
            raw.append(best_of(lambda: _core.heuristics.solve_dense(c, "gaec"), 1))
            from_array.append(best_of(lambda: solve(c, method="gaec"), 1))
            from_problem.append(best_of(lambda: solve(problem, method="gaec"), 1))
            build.append(best_of(lambda: Problem.from_dense(c), 1))
        print(
            f"{n:>6} {min(raw):>10.5f} {min(from_array):>15.5f} {min(from_problem):>15.5f} {min(build):>11.5f}"
        )


if __name__ == "__main__":
    import argparse

    # no options; parsed so that --help answers instead of running both tables (audit qa15)
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    bench_metrics()
    bench_solve_overhead()
