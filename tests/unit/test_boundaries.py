"""One shape for the boundaries, read off the source: views parse, call one service, commit
once through the shared boundary helpers and render; rules, scopes and tables have one home.

These tests read the code (no app): each names the file and line that breaks the shape."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from labnet import permissions

LABNET = Path(__file__).resolve().parents[2] / "labnet"
BLUEPRINTS = LABNET / "blueprints"
# Areas whose views go through the shared boundary (maps, dashboard, lab_bookings, auth and
# admin are outside this clean-up).
THIN_AREAS = ("networks", "requests", "bookings", "manage", "catalogue")


def _py_files(*roots: Path) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*.py"))


def _tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(LABNET.parent)}:{getattr(node, 'lineno', '?')}"


def _calls(path: Path, name: str) -> list[str]:
    """Places where ``name(...)`` or ``x.name(...)`` is called."""
    found = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if called == name:
                found.append(_where(path, node))
    return found


@pytest.mark.parametrize("area", ["networks", "requests"])
def test_views_refuse_through_the_shared_boundary(area):
    """No hand-written ``except RuleViolation`` / ``rollback()`` in the views: the one
    boundary (``commit_or_show`` and its variants) commits or rolls back."""
    offenders = []
    for path in _py_files(BLUEPRINTS / area):
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ExceptHandler) and "RuleViolation" in ast.unparse(
                    node.type or ast.Constant(None)):
                offenders.append(_where(path, node))
        offenders += _calls(path, "rollback")
    assert offenders == []


@pytest.mark.parametrize("area", THIN_AREAS)
def test_views_build_no_queries(area):
    offenders = []
    for path in _py_files(BLUEPRINTS / area):
        offenders += _calls(path, "select")
    assert offenders == []


def test_jinja_globals_are_registered_in_one_place():
    offenders = []
    for path in _py_files(LABNET):
        if path.name == "templating.py":
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in ("app_template_global", "app_context_processor", "context_processor",
                        "add_app_template_global", "jinja_env.globals",
                        "add_template_global"):
            offenders += [f"{path.relative_to(LABNET.parent)}: {pattern}"
                          for _ in re.finditer(re.escape(pattern), text)]
    assert offenders == []


def test_no_ticket_markers_in_the_code():
    marker = re.compile(r"\bissues? \d+\b|--- end\b", re.IGNORECASE)
    offenders = []
    for path in sorted(LABNET.rglob("*")):
        if path.suffix not in (".py", ".html", ".css", ".js") or "vendor" in path.parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if marker.search(line):
                offenders.append(f"{path.relative_to(LABNET.parent)}:{number}")
    assert offenders == []


def test_one_distance_function_and_one_earth_radius():
    offenders = []
    for path in _py_files(LABNET):
        if path == LABNET / "services" / "geo" / "geocoding.py":
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in (r"\b63[0-9]{2}(\.\d+)?\b", r"def \w*haversine", r"def \w*distance"):
            offenders += [f"{path.relative_to(LABNET.parent)}: {m.group(0)}"
                          for m in re.finditer(pattern, text)]
    assert offenders == []


def test_one_csv_formula_guard():
    guard = re.compile(r"""\(\s*["']=["']\s*,\s*["']\+["']\s*,\s*["']-["']\s*,\s*["']@""")
    places = [str(p.relative_to(LABNET.parent)) for p in _py_files(LABNET)
              if guard.search(p.read_text(encoding="utf-8"))]
    assert len(places) == 1, places


def test_one_definition_of_europe():
    """The list of European countries lives in one module; the rest import it."""
    code_list = re.compile(r"\bAT\b.{0,12}\bBE\b.{0,12}\bBG\b", re.S)
    places = [str(p.relative_to(LABNET.parent)) for p in _py_files(LABNET)
              if code_list.search(p.read_text(encoding="utf-8"))]
    assert places == ["labnet/services/geo/geocoding.py"], places


def test_published_scope_is_stated_once():
    """"Published labs only" is a permissions scope, not restated in services or views."""
    offenders = []
    for path in _py_files(LABNET / "services", BLUEPRINTS):
        if path.name == "seed.py":  # demo data chooses which rows it writes
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"(?<!form)\.is_published\b", line):
                offenders.append(f"{path.relative_to(LABNET.parent)}:{number}")
    assert offenders == []


def test_action_predicates_live_in_permissions():
    offenders = []
    for path in _py_files(BLUEPRINTS, LABNET / "services"):
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.FunctionDef) and re.fullmatch(
                    r"_?may_(cancel|confirm|complete|review|withdraw)\w*", node.name):
                offenders.append(_where(path, node))
    assert offenders == []
    for name in ("can_cancel_booking", "can_confirm_request", "can_complete_request"):
        assert callable(getattr(permissions, name, None)), name


def test_permissions_are_typed():
    """Loaders return their model, and ``actor`` is an :data:`permissions.Actor`."""
    untyped = []
    for name, func in inspect.getmembers(permissions, inspect.isfunction):
        if func.__module__ != permissions.__name__:
            continue
        signature = inspect.signature(func)
        untyped_return = signature.return_annotation in ("Any", inspect.Signature.empty)
        if name.endswith("_for") and untyped_return:
            untyped.append(f"{name} -> {signature.return_annotation}")
        actor = signature.parameters.get("actor")
        if actor is not None and actor.annotation != "Actor":
            untyped.append(f"{name}(actor: {actor.annotation})")
    assert untyped == []
