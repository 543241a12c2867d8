"""The floors of DESIGN §7 that hold today, checked on the import graph (grimp, when installed).

Every import counts, including those inside functions: a lazy import still ties two floors.
"""

from __future__ import annotations

import pytest

grimp = pytest.importorskip("grimp")


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("hysupp", cache_dir=None)


def _strongly_connected(graph) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.find_modules_directly_imported_by(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for m in sorted(graph.modules):
        if m not in index:
            visit(m)
    return out


def test_no_import_cycle_between_modules(graph):
    assert _strongly_connected(graph) == []


@pytest.mark.parametrize("lower, uppers", [
    ("hysupp.nn", ("hysupp.fusion", "hysupp.unmixing", "hysupp.api", "hysupp.runs")),
    ("hysupp.io", ("hysupp.simulate", "hysupp.datasets", "hysupp.nn", "hysupp.fusion", "hysupp.unmixing")),
    ("hysupp.simulate", ("hysupp.datasets", "hysupp.nn", "hysupp.fusion", "hysupp.unmixing", "hysupp.api")),
    ("hysupp.physics", ("hysupp.io", "hysupp.simulate", "hysupp.datasets", "hysupp.metrics", "hysupp.fusion")),
    ("hysupp.libraries", ("hysupp.io", "hysupp.datasets", "hysupp.simulate")),
    ("hysupp.pair", ("hysupp.physics", "hysupp.io", "hysupp.simulate")),
    ("hysupp.scene", ("hysupp.physics", "hysupp.io", "hysupp.simulate")),
])
def test_lower_floor_imports_nothing_above(graph, lower, uppers):
    for upper in uppers:
        chains = graph.find_shortest_chains(importer=lower, imported=upper, as_packages=True)
        assert not chains, f"{lower} reaches {upper}: {sorted(chains)}"
