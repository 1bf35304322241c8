"""The package's imports flow one way (issue 13): no package-level cycle, lazy imports
inside functions included (only ``if TYPE_CHECKING:`` blocks are left out: they never run).

A "package" is a sub-package of convscope (``description``, ``pytorch``, ...) or a module
at its root (``sources``, ``cli``, ...). The walk reads the source with ``ast``; nothing is
imported.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import convscope

ROOT = Path(convscope.__file__).parent


def _unit(parts: list[str]) -> str:
    """convscope.description.load -> 'description'; convscope.sources -> 'sources';
    convscope -> '(root)'."""
    return parts[1] if len(parts) > 1 else "(root)"


def _skipped(tree: ast.AST) -> set[int]:
    """ids of the nodes under ``if TYPE_CHECKING:``."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and \
                node.test.id == "TYPE_CHECKING":
            skipped.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skipped


def import_graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for path in ROOT.rglob("*.py"):
        parts = ["convscope", *path.relative_to(ROOT).with_suffix("").parts]
        package = parts[:-1] if parts[-1] == "__init__" else parts
        here = parts[:-1]  # the package the module sits in
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _skipped(tree)
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            targets: list[list[str]] = []
            if isinstance(node, ast.ImportFrom) and node.level:
                base = here[:len(here) - node.level + 1]
                if node.module:
                    targets.append([*base, *node.module.split(".")])
                else:
                    targets += [[*base, alias.name] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("convscope"):
                targets.append(node.module.split("."))
            elif isinstance(node, ast.Import):
                targets += [a.name.split(".") for a in node.names
                            if a.name.startswith("convscope.")]
            for target in targets:
                if _unit(target) != _unit(package):
                    edges[_unit(package)].add(_unit(target))
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


# The package's layers, bottom first (README, "Architecture"). A package may import the
# packages of its own layer and of the layers below, never one above.
LAYERS: list[set[str]] = [
    {"errors", "limits", "version", "names", "files", "units", "gc_pause", "frozen"},  # leaves
    {"layers"},                                          # one file per layer kind
    {"ir"},                                              # the frozen graph
    {"description", "zoo"},                              # YAML / JSON / one-line -> Graph
    {"analysis"},                                        # pure passes -> frozen values
    {"pytorch", "keras", "onnx"},                        # bridges
    {"sources"},                                         # the one router
    {"render"},                                          # frozen reports -> text / SVG / HTML
    {"api", "display", "calc", "help", "teach", "trainer", "zoo_listing", "web", "cli_parsers",
     "cli_output", "cli_train", "cli", "(root)", "__main__"},  # what users touch
]
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}


def test_the_walk_sees_lazy_imports():
    edges = import_graph()
    assert "pytorch" in edges["sources"]  # imported inside load(): lazily
    assert "description" in edges["pytorch"]


def test_no_package_level_import_cycle():
    edges = import_graph()
    found = cycles(edges)
    assert not found, "import cycles between packages: " + "; ".join(
        " <-> ".join(c) for c in found)


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_every_package_sits_in_a_layer():
    edges = import_graph()
    units = set(edges) | {u for targets in edges.values() for u in targets}
    assert units <= set(RANK), sorted(units - set(RANK))


def upward_imports(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    return sorted((unit, target) for unit, targets in edges.items()
                  for target in targets if RANK[target] > RANK[unit])


def test_imports_only_go_down():
    upward = upward_imports(import_graph())
    assert not upward, "imports that go up a layer: " + ", ".join(
        f"{a} -> {b}" for a, b in upward)


def test_the_layer_check_catches_an_upward_import():
    assert upward_imports({"layers": {"errors", "render"}, "cli": {"layers"}}) == \
        [("layers", "render")]
    assert RANK["layers"] < RANK["description"] < RANK["analysis"] < RANK["pytorch"] \
        < RANK["sources"] < RANK["render"] < RANK["cli"]
