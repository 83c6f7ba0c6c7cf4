"""The package's import graph has no cycles (issue 12, item 4).

Built with grimp (the library behind import-linter) from the source, so function-level imports
count as well as module-level ones; imports under ``if TYPE_CHECKING:`` are left out, since they
never run. Run on its own with ``python -m pytest tests/test_import_graph.py``.
"""

from __future__ import annotations

import grimp  # in the test extra (pip install 'corrclust[test]')

#: Cycles known and owned elsewhere. Each entry is a set of modules whose cycle is tolerated until
#: its owner removes it; delete the entry in the same change (the test then guards it).
# No exceptions: the last one (detection <-> detection_model) went when inference moved its model
# file code to corrclust.images.organoid_score.
KNOWN_CYCLES: list[frozenset[str]] = []


def _graph():
    graph = grimp.build_graph("corrclust", exclude_type_checking_imports=True)
    # ``from . import _core`` in corrclust._native imports the compiled extension, which grimp cannot
    # see and records as an import of the package itself; it is not an import of corrclust/__init__.
    for details in graph.get_import_details(importer="corrclust._native", imported="corrclust"):
        assert "_core" in details["line_contents"], details
    if graph.direct_import_exists(importer="corrclust._native", imported="corrclust"):
        graph.remove_import(importer="corrclust._native", imported="corrclust")
    # corrclust.cli loads the commands with importlib (grimp sees only import statements): add those edges.
    from corrclust.cli import COMMAND_MODULES

    for name in COMMAND_MODULES:
        graph.add_import(importer="corrclust.cli", imported=f"corrclust.commands.{name}")
    return graph


def _strongly_connected(graph) -> list[set[str]]:
    """Tarjan's algorithm over the module graph: the groups of modules that import each other."""
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    counter = 0
    for root in modules:
        if root in index:
            continue
        work = [(root, 0)]
        while work:  # iterative, so a deep chain cannot hit the recursion limit
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            recurse = False
            for j in range(i, len(edges[node])):
                nxt = edges[node][j]
                if nxt not in index:
                    work.append((node, j + 1))
                    work.append((nxt, 0))
                    recurse = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if recurse:
                continue
            if low[node] == index[node]:
                group = set()
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    group.add(m)
                    if m == node:
                        break
                if len(group) > 1:
                    groups.append(group)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return groups


def test_no_import_cycles():
    graph = _graph()
    cycles = [g for g in _strongly_connected(graph) if frozenset(g) not in KNOWN_CYCLES]
    described = []
    for group in cycles:
        a = sorted(group)[0]
        b = next(m for m in sorted(group) if m != a and graph.chain_exists(importer=a, imported=m))
        there = " -> ".join(graph.find_shortest_chain(importer=a, imported=b))
        back = " -> ".join(graph.find_shortest_chain(importer=b, imported=a))
        described.append(f"{there} and back: {back}")
    assert not described, "import cycles:\n" + "\n".join(described)


def test_the_cycle_finder_finds_a_cycle():
    """The check is not vacuous: a planted import back from cli_support to cli is reported."""
    graph = _graph()
    graph.add_import(importer="corrclust.cli_support", imported="corrclust.cli")
    groups = _strongly_connected(graph)
    assert any({"corrclust.cli", "corrclust.cli_support", "corrclust.commands.cluster"} <= g for g in groups)
