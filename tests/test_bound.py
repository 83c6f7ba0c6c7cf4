"""The dual lower bound (``corrclust.dual_bound``, ``solve(..., bound=True)``, ``corrclust solve --bound``):
never above the optimum (brute force, proven optima), never above any primal, exact on cases whose
bound is known, and reported by every method only when asked."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from conftest import require_shared

import corrclust
from corrclust import BoundOptions, Problem, dual_bound, solve
from corrclust.cli import main
from corrclust.generators import supervoxel_multicut

METHODS = ("gaec", "kl", "anytime", "exact")


def all_partitions(n: int) -> np.ndarray:
    """Every partition of n nodes as a row of labels (restricted growth strings; Bell(9) = 21147)."""
    rows = [[0]]
    for _ in range(1, n):
        rows = [r + [k] for r in rows for k in range(max(r) + 2)]
    return np.array(rows, dtype=np.int64)


def brute_force(n: int, edges: np.ndarray, costs: np.ndarray) -> float:
    parts = all_partitions(n)
    cut = parts[:, edges[:, 0]] != parts[:, edges[:, 1]]
    return float((cut @ costs).min())


def random_instance(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    pairs = np.array(list(itertools.combinations(range(n), 2)), dtype=np.int64)
    keep = rng.random(len(pairs)) < rng.uniform(0.4, 1.0)
    edges = pairs[keep] if keep.any() else pairs[:1]
    costs = rng.normal(0.3, 1.0, size=len(edges))
    if rng.random() < 0.5:
        costs = np.round(costs * 2) / 2  # ties and zeros, as in +-1 instances
    return edges, costs


def test_bound_never_above_brute_force_optimum():
    rng = np.random.default_rng(17)
    tight = 0
    for trial in range(60):
        n = int(rng.integers(3, 10))
        edges, costs = random_instance(rng, n)
        opt = brute_force(n, edges, costs)
        b = dual_bound(Problem(n, costs, edges))
        assert b["lower_bound"] <= opt + 1e-9, (trial, n, b["lower_bound"], opt)
        assert b["lower_bound"] >= b["trivial_bound"] - 1e-12
        assert b["trivial_bound"] == pytest.approx(np.minimum(costs, 0).sum())
        tight += abs(b["lower_bound"] - opt) <= 1e-9
        # the same problem as a dense matrix: the bound runs on the graph of its nonzero costs
        dense = np.zeros((n, n))
        dense[edges[:, 0], edges[:, 1]] = costs
        dense += dense.T
        bd = dual_bound(dense)
        assert bd["lower_bound"] <= opt + 1e-9
    # the cycle relaxation is exact on most small graphs: a bound that only returned the trivial
    # value would reach the optimum on far fewer (it does on 9 of these 60)
    assert tight >= 40


def test_two_parts_never_above_brute_force_optimum_and_independent_of_threads():
    # the path of large grids (two parts searched and swept side by side), forced on small graphs
    rng = np.random.default_rng(23)
    for trial in range(40):
        n = int(rng.integers(3, 10))
        edges, costs = random_instance(rng, n)
        opt = brute_force(n, edges, costs)
        one = dual_bound(Problem(n, costs, edges), options=BoundOptions(parts=2, threads=1))
        two = dual_bound(Problem(n, costs, edges), options=BoundOptions(parts=2, threads=2))
        assert one["parts"] == 2
        assert one["lower_bound"] <= opt + 1e-9, (trial, n, one["lower_bound"], opt)
        assert one["lower_bound"] >= one["trivial_bound"] - 1e-12
        assert two["lower_bound"] == one["lower_bound"] and two["cycles"] == one["cycles"]


def grid_problem(side: int, seed: int) -> Problem:
    """A side x side 4-connected grid numbered row by row with noisy +-1 costs (16 % of signs flipped)."""
    rng = np.random.default_rng(seed)
    idx = np.arange(side * side).reshape(side, side)
    edges = np.concatenate(
        [
            np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], axis=1),
            np.stack([idx[:-1, :].ravel(), idx[1:, :].ravel()], axis=1),
        ]
    )
    same = np.where(
        (idx.ravel() % side)[edges[:, 0]] // 20 == (idx.ravel() % side)[edges[:, 1]] // 20, 1.0, -1.0
    )
    return Problem(side * side, same + rng.normal(size=len(edges)), edges)


def test_large_grid_splits_in_two_parts_and_the_bound_is_the_same_for_any_thread_count():
    problem = grid_problem(320, seed=3)  # 204,160 edges, 320 of them across the middle: two parts
    kl = solve(problem, "kl")
    bounds = {t: dual_bound(problem, options=BoundOptions(max_rounds=12, threads=t)) for t in (1, 2)}
    assert bounds[1]["parts"] == 2
    assert bounds[1]["lower_bound"] == bounds[2]["lower_bound"]
    assert bounds[1]["triangles"] == bounds[2]["triangles"]
    assert bounds[1]["trivial_bound"] < bounds[1]["lower_bound"] <= kl.objective
    # 12 rounds close most of the gap between the trivial bound and kl (measured: 0.93 of it)
    closed = (bounds[1]["lower_bound"] - bounds[1]["trivial_bound"]) / (
        kl.objective - bounds[1]["trivial_bound"]
    )
    assert closed > 0.8
    single = dual_bound(problem, options=BoundOptions(max_rounds=12, parts=1))
    assert single["parts"] == 1 and single["lower_bound"] <= kl.objective
    # cycles of at most 4 edges reach their full length within a few rounds, after which each
    # round sweeps twice as often: the same for any thread count there too
    short = [
        dual_bound(problem, options=BoundOptions(max_rounds=10, max_cycle_length=4, threads=t))
        for t in (1, 2)
    ]
    assert (
        short[0]["lower_bound"] == short[1]["lower_bound"] and short[0]["triangles"] == short[1]["triangles"]
    )
    assert short[0]["trivial_bound"] < short[0]["lower_bound"] <= kl.objective


def test_all_attractive_bound_is_zero():
    edges, costs, _ = supervoxel_multicut(200, seed=3)
    b = dual_bound(Problem(int(edges.max()) + 1, np.abs(costs) + 0.1, edges))
    assert b["lower_bound"] == 0.0 and b["trivial_bound"] == 0.0


@pytest.mark.parametrize(("w", "expected"), [(1.5, 0.0), (5.0, -3.0)])
def test_single_negative_cycle_is_exact(w, expected):
    # a 6-cycle with attractive costs 2..6 and one repulsive edge -w: the optimum is min(0, -w + 2)
    edges = np.array([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [0, 5]], dtype=np.int64)
    costs = np.array([2.0, 3.0, 4.0, 5.0, 6.0, -w])
    assert brute_force(6, edges, costs) == expected
    b = dual_bound(Problem(6, costs, edges))
    assert b["lower_bound"] == pytest.approx(expected, abs=1e-12)
    assert b["cycles"] >= 1 and b["triangles"] == 4 and b["chords"] == 3


def test_cycle_of_the_longest_length_is_found_and_no_longer_one():
    # One repulsive edge closing a ring of L nodes, at every place of the node numbering: the
    # search from both ends of the repulsive edge must find the path of L - 1 edges when
    # max_cycle_length >= L, whichever side meets the other, and none when it is L - 1.
    # (At L >= 11 the triangles and chords outgrow the hash maps' first size: a rehash is tested.)
    for length in range(3, 13):
        for at in range(length):
            ring = np.array([[i, (i + 1) % length] for i in range(length)], dtype=np.int64)
            ring = np.sort(np.roll(ring, -at, axis=0), axis=1)
            costs = np.full(length, 2.0)
            costs[0] = -5.0  # the repulsive edge: the optimum cuts it and one attractive edge
            problem = Problem(length, costs, ring)
            fits = dual_bound(problem, options=BoundOptions(max_cycle_length=max(3, length)))
            assert fits["lower_bound"] == pytest.approx(-3.0, abs=1e-12), (length, at)
            assert fits["triangles"] == length - 2 and fits["chords"] == length - 3
            if length > 3:
                short = dual_bound(problem, options=BoundOptions(max_cycle_length=length - 1))
                assert short["lower_bound"] == -5.0 and short["cycles"] == 0, (length, at)
            # Two parts forced: a ring always crosses the split, so only a repulsive edge across
            # it (0 - L-1) is searched over the whole graph and finds its cycle; a repulsive edge
            # inside a part finds none there (as before this search: the parts are for grids).
            two = [
                dual_bound(problem, options=BoundOptions(max_cycle_length=max(3, length), parts=2, threads=t))
                for t in (1, 2)
            ]
            assert two[0]["lower_bound"] == two[1]["lower_bound"] <= -3.0
            if at == length - 1:
                assert two[0]["lower_bound"] == pytest.approx(-3.0, abs=1e-12), length


@pytest.mark.parametrize(
    ("rel", "opt"),
    [
        ("opengm-multicut/gm_knott_3d_032.txt", -5811.467771),
        ("opengm-multicut/gm_knott_3d_034.txt", -4064.865759),
        ("opengm-multicut/3096.txt", -638.289934),
        ("pace2021/exact001.gr", -31.0),
        ("pace2021/exact013.gr", -302.0),
    ],
)
def test_bound_below_proven_optimum_of_shared_instances(rel, opt):
    problem = corrclust.read_instance(require_shared(f"cc-instances/{rel}"))
    b = dual_bound(problem)
    assert b["trivial_bound"] < b["lower_bound"] <= opt + 1e-6
    if rel.startswith("opengm"):  # on these sparse segmentation graphs the bound is within 1 %
        assert (opt - b["lower_bound"]) / abs(opt) < 0.01


def test_bound_below_exact_solver_optimum():
    edges, costs, truth = supervoxel_multicut(300, seed=5)
    problem = Problem(len(truth), costs, edges)
    exact = solve(problem, "exact")
    assert exact.status == "optimal"
    assert dual_bound(problem)["lower_bound"] <= exact.objective + 1e-7
    two = dual_bound(problem, options=BoundOptions(parts=2))
    assert two["parts"] == 2 and two["trivial_bound"] < two["lower_bound"] <= exact.objective + 1e-7


@pytest.mark.parametrize("method", METHODS)
def test_bound_fields_for_every_method(method):
    edges, costs, truth = supervoxel_multicut(250, seed=7)
    problem = Problem(len(truth), costs, edges)
    r = solve(problem, method, bound=True)
    assert r.lower_bound is not None and r.gap is not None
    assert r.lower_bound <= r.objective and r.gap >= 0
    assert r.gap == pytest.approx((r.objective - r.lower_bound) / abs(r.objective))
    for key in ("dual_bound", "trivial_bound", "bound_runtime", "bound_status", "bound_cycles"):
        assert key in r.extra
    assert r.extra["dual_bound"] <= r.objective + 1e-9
    assert r.to_dict()["stats"]["bound_status"] == "converged"
    plain = solve(problem, method)
    assert "dual_bound" not in plain.extra
    if method == "exact":  # its own bound, always; with bound=True the larger of the two
        assert plain.lower_bound is not None
        assert r.lower_bound == pytest.approx(max(plain.lower_bound, r.extra["dual_bound"]))
    else:
        assert plain.lower_bound is None and plain.gap is None


def test_bound_on_dense_problem_and_with_constraints():
    costs = corrclust.generators.planted_partition(40, k=4, sigma=1.0, seed=2)[0]
    costs[np.abs(costs) < 0.5] = 0.0  # the bound's graph: the nonzero costs only
    r = solve(costs, "kl", bound=True)
    assert r.extra["trivial_bound"] == pytest.approx(np.minimum(np.triu(costs, 1), 0).sum())
    assert r.extra["trivial_bound"] < r.lower_bound <= r.objective
    c = solve(costs, "kl", bound=True, must_link=[(0, 1)], cannot_link=[(2, 3)])
    assert c.lower_bound is not None and c.lower_bound <= c.objective


def test_time_limit_zero_gives_trivial_bound_and_bad_arguments_fail():
    edges, costs, truth = supervoxel_multicut(200, seed=1)
    problem = Problem(len(truth), costs, edges)
    b = dual_bound(problem, time_limit=0)
    assert b["status"] == "time_limit" and b["lower_bound"] == pytest.approx(np.minimum(costs, 0).sum())
    r = solve(problem, "kl", bound=0.0)
    assert r.extra["bound_status"] == "time_limit" and r.lower_bound == pytest.approx(b["lower_bound"])
    with pytest.raises(ValueError, match="bound"):
        solve(problem, "kl", bound="yes")
    with pytest.raises(ValueError, match="bound"):
        solve(problem, "kl", bound=-1)
    with pytest.raises(ValueError, match="max_cycle_length"):
        dual_bound(problem, options=BoundOptions(max_cycle_length=2))
    with pytest.raises(ValueError, match="parts"):
        dual_bound(problem, options=BoundOptions(parts=3))
    with pytest.raises(ValueError, match="threads"):
        dual_bound(problem, options=BoundOptions(threads=-1))
    with pytest.raises(TypeError, match="BoundOptions"):
        dual_bound(problem, options=corrclust.KLOptions())


def test_cli_solve_bound(tmp_path, capsys):
    path = tmp_path / "g.txt"
    edges, costs, truth = supervoxel_multicut(200, seed=2)
    path.write_text(
        "MULTICUT\n"
        + "".join(f"{u} {v} {c:.17g}\n" for (u, v), c in zip(edges.tolist(), costs.tolist(), strict=True))
    )
    assert main(["solve", str(path), "--json", "--bound"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["lower_bound"] <= data["objective"] and data["gap"] >= 0
    assert data["stats"]["bound_status"] == "converged"
    assert main(["solve", str(path), "--bound", "--method", "gaec"]) == 0
    out = capsys.readouterr().out
    assert "lower bound" in out and "gap" in out and "bound       converged" in out
    assert main(["solve", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["lower_bound"] is None


def test_progress_reports_the_bound_and_an_exception_in_it_stops_the_bound():
    edges, costs, truth = supervoxel_multicut(300, seed=4)
    problem = Problem(len(truth), costs, edges)
    seen: list[dict] = []
    final = dual_bound(problem, progress=seen.append)
    assert seen and all(d["phase"] == "bound" for d in seen)
    bounds = [d["lower_bound"] for d in seen]
    assert bounds == sorted(bounds) and bounds[-1] == pytest.approx(final["lower_bound"])

    def fail(d: dict) -> None:
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        dual_bound(problem, progress=fail)


def test_ctrl_c_raises_keyboard_interrupt():
    import _thread

    edges, costs, truth = supervoxel_multicut(300, seed=4)
    problem = Problem(len(truth), costs, edges)

    def interrupt_now(_: dict) -> None:
        _thread.interrupt_main()

    with pytest.raises(KeyboardInterrupt):
        dual_bound(problem, progress=interrupt_now)
    with pytest.raises(KeyboardInterrupt):
        solve(problem, "gaec", bound=True, progress=interrupt_now)
