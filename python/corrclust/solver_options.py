"""Settings of the solvers, one class per method, for ``corrclust.solve(..., options=...)``.

They are the C++ settings structs, bound once in ``corrclust._core`` (``def_readwrite``), so a
setting has one name, one default and one range check, in ``cpp/``. Build them with keywords; an
unknown name raises TypeError, a value out of range ValueError when the solver starts::

    from corrclust import ExactOptions, solve
    r = solve(costs, "exact", options=ExactOptions(heuristic="kl", max_nodes=1000))

* :class:`KLOptions` (method ``"kl"``): ``patience``, ``min_improvement`` (relative to the largest
  absolute cost), ``revisit`` (False: sparse graphs skip the second phase, faster, a little worse),
  ``revisit_patience`` (the patience of that second phase, default 4), ``threads`` (complete
  graphs: threads of GAEC, 0 = as many as the hardware has, at most 2), ``sparse_threads`` (sparse
  graphs: threads that evaluate pairs ahead, default 1, 0 = up to 4); the labels depend on neither;
  ``final_split`` (sparse graphs: a last split pass over clusters of 4-256 nodes, default True);
  ``polish_max_nodes`` (sparse graphs, opt-in: after that, the second phase's passes once more over
  pairs of clusters with at most this many nodes together, sequences limited by ``patience``;
  default 0: off; a little better for more time, docs/solvers.md);
* :class:`AnytimeOptions` (``"anytime"``): ``max_rounds_without_improvement``, ``max_rounds``,
  ``until_time_limit``, ``exact_fusion``, ``exact_fusion_share``, ``kl``, ``window_nodes``,
  ``window_seconds``. Without a time limit the two round counts stop the run (deterministic for a
  seed); with one it runs until the limit (``until_time_limit=True``, the default) and adds exact
  fusion once stalled; on sparse graphs of at least 200,000 nodes under a limit its rounds re-solve
  regions of ``window_nodes`` (-1: 10,000) nodes, ``window_seconds`` each (docs/solvers.md);
* :class:`ExactOptions` (``"exact"``): first incumbent, reductions and branch-and-cut settings,
  documented one by one in ``docs/exact.md``;
* :class:`BoundOptions` (the dual lower bound of ``bound=True``, docs/bound.md).

``"gaec"`` has no settings. Each class has ``_fields`` (the names of its settings), a repr that
shows them all, and equality by value.
"""

from __future__ import annotations

from corrclust._native import _core

KLOptions = _core.heuristics.KLOptions
AnytimeOptions = _core.heuristics.AnytimeOptions
ExactOptions = _core.exact.ExactOptions
#: Settings of the dual lower bound (``solve(..., bound=True)``, :func:`corrclust.dual_bound`).
BoundOptions = _core.bound.BoundOptions

#: The options class of each method of :func:`corrclust.solve` (None: the method has no settings).
OPTIONS_OF_METHOD: dict[str, type | None] = {
    "gaec": None,
    "kl": KLOptions,
    "anytime": AnytimeOptions,
    "exact": ExactOptions,
}

__all__ = ["OPTIONS_OF_METHOD", "AnytimeOptions", "BoundOptions", "ExactOptions", "KLOptions"]
