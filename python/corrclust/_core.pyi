"""Types of the compiled core ``corrclust._core`` (cpp/bindings/*.cpp), one submodule per area.

Arrays: float64 inputs are borrowed without a copy when C-contiguous, other dtypes are converted;
edges are int64 (m, 2). Every solver raises KeyboardInterrupt on Ctrl-C and ValueError (one line)
on bad input; a time limit is None or a number of seconds >= 0.
"""

from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

__version__: str

_Progress: TypeAlias = Callable[[dict[str, Any]], Any] | None
_Labels: TypeAlias = npt.ArrayLike | None

class problem:
    @staticmethod
    def objective_dense(costs: npt.ArrayLike, labels: npt.ArrayLike) -> float: ...
    @staticmethod
    def objective_sparse(
        n: int, edges: npt.ArrayLike, costs: npt.ArrayLike, labels: npt.ArrayLike
    ) -> float: ...
    @staticmethod
    def canonical_edges(
        n: int, edges: npt.ArrayLike, costs: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]: ...

class heuristics:
    class KLOptions:
        _fields: tuple[str, ...]
        patience: int
        min_improvement: float
        revisit: bool
        revisit_patience: int
        threads: int
        sparse_threads: int
        final_split: bool
        polish_max_nodes: int
        def __init__(self, **kwargs: Any) -> None: ...

    class AnytimeOptions:
        _fields: tuple[str, ...]
        max_rounds_without_improvement: int
        max_rounds: int
        until_time_limit: bool
        exact_fusion: bool
        exact_fusion_share: float
        kl: heuristics.KLOptions
        window_nodes: int
        window_seconds: float
        def __init__(self, **kwargs: Any) -> None: ...

    @staticmethod
    def solve_dense(
        costs: npt.ArrayLike,
        method: str,
        time_limit: float | None = None,
        seed: int = 0,
        warm_start: _Labels = None,
        progress: _Progress = None,
        options: heuristics.KLOptions | heuristics.AnytimeOptions | None = None,
    ) -> dict[str, Any]: ...
    @staticmethod
    def solve_sparse(
        n: int,
        edges: npt.ArrayLike,
        costs: npt.ArrayLike,
        method: str,
        time_limit: float | None = None,
        seed: int = 0,
        warm_start: _Labels = None,
        progress: _Progress = None,
        options: heuristics.KLOptions | heuristics.AnytimeOptions | None = None,
    ) -> dict[str, Any]: ...
    @staticmethod
    def solve_background(
        n: int,
        edges: npt.ArrayLike,
        costs: npt.ArrayLike,
        background: float,
        method: str = "moves",
        time_limit: float | None = None,
        warm_start: _Labels = None,
        progress: _Progress = None,
    ) -> dict[str, Any]: ...

class exact:
    class ExactOptions:
        _fields: tuple[str, ...]
        heuristic: str
        heuristic_time: float
        kl: heuristics.KLOptions
        reduce: bool
        reduce_edges: bool
        reduce_subsets: bool
        reduce_components: bool
        max_subset_size: int
        triangle_cuts: bool
        cycle_cuts: bool
        contract_cycles: bool
        star_cuts: bool
        max_star_size: int
        odd_wheel_cuts: bool
        sparse_wheel_cuts: bool
        odd_wheels_per_hub: int
        local_cuts: bool
        tree_local_cuts: bool
        local_cut_min_size: int
        local_cut_max_size: int
        local_cut_sets: int
        local_cut_row_generation: bool
        local_cut_growth: int
        star_ipm: bool
        star_ipm_min_edges: int
        max_cuts_per_round: int
        root_cuts_per_round: int
        root_method: str
        ipm_switch_fraction: float
        tree_method: str
        purge_age: int
        tree_purge_age: int
        reduced_cost_fixing: bool
        node_rounds: int
        min_violation: float
        abs_gap: float
        max_nodes: int | None
        verbose: bool
        def __init__(self, **kwargs: Any) -> None: ...

    @staticmethod
    def solve_dense(
        costs: npt.ArrayLike,
        time_limit: float | None = None,
        seed: int = 0,
        warm_start: _Labels = None,
        progress: _Progress = None,
        options: exact.ExactOptions | None = None,
    ) -> dict[str, Any]: ...
    @staticmethod
    def solve_sparse(
        n: int,
        edges: npt.ArrayLike,
        costs: npt.ArrayLike,
        time_limit: float | None = None,
        seed: int = 0,
        warm_start: _Labels = None,
        progress: _Progress = None,
        options: exact.ExactOptions | None = None,
    ) -> dict[str, Any]: ...
    @staticmethod
    def local_cut(
        n: int,
        edges: npt.ArrayLike,
        y: npt.ArrayLike,
        nodes: Sequence[int],
        tol: float = 1e-6,
        row_generation: bool = True,
    ) -> dict[str, Any] | None: ...
    @staticmethod
    def reduce_multicut(
        n: int,
        edges: npt.ArrayLike,
        costs: npt.ArrayLike,
        clusters: _Labels = None,
        edge_joins: bool = True,
        subset_joins: bool = True,
        components: bool = True,
    ) -> dict[str, Any]: ...
    @staticmethod
    def highs_version() -> str: ...

class bound:
    class BoundOptions:
        _fields: tuple[str, ...]
        max_cycle_length: int
        max_rounds: int
        passes_per_round: int
        min_relative_gain: float
        patience: int
        threads: int
        parts: int
        def __init__(self, **kwargs: Any) -> None: ...

    @staticmethod
    def lower_bound_sparse(
        n: int,
        edges: npt.ArrayLike,
        costs: npt.ArrayLike,
        time_limit: float | None = None,
        progress: _Progress = None,
        options: bound.BoundOptions | None = None,
    ) -> dict[str, Any]: ...
    @staticmethod
    def lower_bound_dense(
        costs: npt.ArrayLike,
        time_limit: float | None = None,
        progress: _Progress = None,
        options: bound.BoundOptions | None = None,
    ) -> dict[str, Any]: ...

class pqap:
    @staticmethod
    def e_opt(params: Sequence[float]) -> float: ...

    class OrganoidSet:
        def __init__(
            self, features: Sequence[npt.ArrayLike], candidates: Sequence[npt.ArrayLike]
        ) -> None: ...
        def __len__(self) -> int: ...
        def sizes(self) -> list[tuple[int, int]]: ...
        def energy(
            self, a: int, b: int, params: Sequence[float], lower_wrap: bool, assignment: npt.ArrayLike
        ) -> dict[str, Any]: ...
        def match(
            self, a: int, b: int, params: Sequence[float], lower_wrap: bool = False, mode: str = "reference"
        ) -> dict[str, Any]: ...
        def heuristic(
            self, a: int, b: int, params: Sequence[float], lower_wrap: bool, which: str, best_angle: int = 0
        ) -> tuple[npt.NDArray[np.int32], int]: ...
        def run_pairs(
            self,
            pairs: npt.ArrayLike,
            params: Sequence[float],
            lower_wrap: bool,
            mode: str,
            threads: int,
            similarity: npt.NDArray[np.float64],
            energy: npt.NDArray[np.float64],
            done: npt.NDArray[np.uint8],
            want_assignments: bool = False,
            progress: Callable[[int], Any] | None = None,
            tick_interval: float = 0.1,
        ) -> list[npt.NDArray[np.int32] | None]: ...
