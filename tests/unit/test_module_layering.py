"""Import layering: shared modules do not reach into blueprints, and no module of labnet
imports itself back through others (imports inside functions count too)."""

from __future__ import annotations

import ast
from pathlib import Path

import labnet


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_errors_module_imports_no_blueprint():
    errors = Path(labnet.__file__).parent / "errors.py"
    assert not {n for n in _imports(errors) if n.startswith("labnet.blueprints")}


def _module_graph() -> dict[str, set[str]]:
    """labnet's modules and the labnet modules each imports (anywhere in the file). An
    import of a name from a package counts as one of its submodule when the name is one;
    importing one's own ancestor package is how Python imports a submodule, not a cycle."""
    root = Path(labnet.__file__).parent
    modules = {}
    for path in root.rglob("*.py"):
        name = ".".join(("labnet", *path.relative_to(root).with_suffix("").parts))
        modules[name.removesuffix(".__init__")] = path

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules
                           else owner(node.module) for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [owner(a.name) for a in node.names]
            else:
                continue
            graph[module].update(t for t in targets if t and t != module
                                 and t.startswith("labnet")
                                 and not module.startswith(t + "."))
    return graph


def test_the_import_graph_has_no_cycle():
    graph = _module_graph()
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        if module in path:
            return [*path[path.index(module):], module]
        if module in done:
            return None
        path.append(module)
        for target in sorted(graph[module]):
            cycle = visit(target)
            if cycle:
                return cycle
        path.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        cycle = visit(module)
        assert cycle is None, " -> ".join(cycle)
