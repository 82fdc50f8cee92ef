"""Import layering: shared modules do not reach into blueprints (the architecture issue)."""

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
