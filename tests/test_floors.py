"""The floors of DESIGN §7 as tests: the import-linter contracts of ``setup.cfg`` (layers, no
cycle between sibling modules), no module import cycle at all (grimp), and no private name imported
from another module (AST).

Every import counts, including those inside functions: a lazy import still ties two floors.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def graph():
    grimp = pytest.importorskip("grimp")
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


def test_import_contracts_hold():
    """``lint-imports`` over the contracts in ``setup.cfg`` (the floors as layers, acyclic siblings)."""
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    done = subprocess.run([str(lint), str(ROOT / "setup.cfg"), "--no-cache"], cwd=ROOT, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def private_imports(root: Path, package: str = "hysupp") -> list[str]:
    """``path:line: name from module`` for every ``from hysupp... import _name`` whose module is
    another module (relative imports resolved); dunder names are not private."""
    found = []
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        here = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        base = here if path.name == "__init__.py" else here.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                anchor = base.split(".")[:len(base.split(".")) - node.level + 1]
                source = ".".join(anchor + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != package or source == here:
                continue
            found += [f"{path.relative_to(root)}:{node.lineno}: {a.name} from {source}" for a in node.names
                      if a.name.startswith("_") and not a.name.startswith("__")]
    return found


def test_no_private_name_imported_from_another_module():
    found = private_imports(ROOT)
    assert not found, "private names imported across modules:\n" + "\n".join(found)


def test_private_import_scan_finds_one(tmp_path):
    pkg = tmp_path / "hysupp" / "sub"
    pkg.mkdir(parents=True)
    (tmp_path / "hysupp" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("from .a import _own  # a private name of a sibling module\n")
    (pkg / "a.py").write_text("_own = 1\n")
    (pkg / "b.py").write_text("from hysupp.sub.a import __all__, _own\nfrom . import a\n")
    assert [line.split(": ", 1)[1] for line in private_imports(tmp_path)] == [
        "_own from hysupp.sub.a", "_own from hysupp.sub.a"]
