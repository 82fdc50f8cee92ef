"""Finds texts a person would read that are not marked for translation.

Templates: the text between tags and the readable attributes (``title``, ``alt``,
``placeholder``, ``aria-label``, a button's ``value``…) outside ``{% trans %}``, and string
constants inside ``{{ … }}``/``{% … %}`` that read as words for people (capitalised, or a
sentence, or passed as a ``label``/``title``/… argument) and are not the argument of
``_``/``gettext``/``ngettext``/``pgettext``. Python: the message of ``RuleViolation``,
``flash``, ``ValidationError``, form field labels and descriptions, validator messages,
e-mail subjects and reasons, and any other string that reads as a sentence for people.

What is meant to stay as it is says so: a template text in ``ALLOWED_WORDS`` (names,
acronyms, units), a Python line ending in ``# i18n: keep`` (log lines, machine text).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from jinja2 import Environment, nodes

ROOT = Path(__file__).resolve().parents[2]
LABNET = ROOT / "labnet"
TEMPLATES = LABNET / "templates"

#: Words that are the same in every language LabNet speaks: names, acronyms, units.
ALLOWED_WORDS = set("""
LabNet KET KETs CSV JSON GeoJSON JSON-LD LD API APIs URL URLs ORCID ISO IEC EN SME SMEs
DCAT-AP DCAT AP
OpenAPI PDF iCalendar ICS ics RSS Atom km kg EUR UTC TRL ID IDs OK CC BY DOI VAT HTTP HTTPS
GDPR EU CET CEST GMT HTML CSS JS SQL SQLite PostgreSQL Redis Flask SMTP IMAP OAuth PAT
http https
WCAG AA EDIH DIH OITB RTO KIBS NDT SEM TEM XRD LabNet’s e.g i.e etc vs h min
Leaflet OpenStreetMap OSM MIT Zenodo Wikidata schema.org GitHub Bearer curl Python JavaScript
Deutsch English Français Italiano Slovenščina Čeština Polski Magyar
""".split())

#: Readable attributes of HTML elements.
READABLE_ATTRS = {"title", "alt", "placeholder", "aria-label", "aria-description",
                  "aria-roledescription", "aria-valuetext", "label", "data-confirm",
                  "data-label", "data-empty", "data-text"}
#: Keyword arguments in templates (macro calls) that carry text for people.
TEXT_KEYWORDS = {"label", "title", "help", "help_text", "text", "placeholder", "caption",
                 "empty", "heading", "legend", "hint", "description", "message", "submit",
                 "button", "summary", "confirm", "aria_label", "note", "lead", "prompt"}
GETTEXT_NAMES = {"_", "gettext", "ngettext", "pgettext", "npgettext", "_l", "_ln", "lazy_gettext",
                 "lazy_ngettext", "lazy_pgettext"}

_WORD = re.compile(r"[^\W\d_][\w’'\-.]*[^\W\d_]|[^\W\d_]{2,}", re.UNICODE)
_PLACEHOLDER = "\x00"


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text!r}"


def needs_translation(text: str) -> bool:
    """Whether ``text`` holds a word a person reads that is not in ``ALLOWED_WORDS``."""
    text = text.replace(_PLACEHOLDER, " ")
    for word in _WORD.findall(text):
        bare = word.strip(".-’'")
        if len(bare) < 2 or bare in ALLOWED_WORDS or bare.rstrip("s") in ALLOWED_WORDS:
            continue
        if re.fullmatch(r"[A-Z0-9.\-/]+", bare) and len(bare) <= 5:  # acronyms, codes
            continue
        return True
    return False


def _reads_as_prose(value: str) -> bool:
    value = value.strip()
    if not value or not needs_translation(value):
        return False
    if re.match(r"^[A-Z][a-z’']+(\W|$)", value):
        return True
    return bool(re.search(r"[a-z]{2,} [a-z]{2,}", value) and re.search(r"[.?!:…]$", value))


# --- templates -----------------------------------------------------------------------

def _env() -> Environment:
    # Only parsed and lexed, never rendered: autoescaping does not apply.
    return Environment(extensions=["jinja2.ext.i18n", "jinja2.ext.do"], autoescape=True)


def _skeleton(source: str, env: Environment) -> list[tuple[int, str]]:
    """(line, text) pieces of the template's literal text with ``{{ … }}`` replaced by a
    placeholder and every tag's text dropped; text inside ``{% trans %}`` is left out."""
    pieces: list[tuple[int, str]] = []
    in_trans = 0
    expect_name = False
    for lineno, kind, value in env.lex(source):
        if kind == "block_begin":
            expect_name = True
            continue
        if expect_name and kind == "name":
            if value in ("trans", "pluralize"):
                in_trans += 1 if value == "trans" else 0
            elif value == "endtrans":
                in_trans = max(0, in_trans - 1)
            expect_name = False
            continue
        if kind == "data" and not in_trans:
            pieces.append((lineno, value))
        elif kind == "variable_begin" and not in_trans:
            pieces.append((lineno, _PLACEHOLDER))
    return pieces


class _TextCollector(HTMLParser):
    def __init__(self, line_of):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._skip = 0
        self._line_of = line_of

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        attrs_d = dict(attrs)
        for name, value in attrs:
            if value is None:
                continue
            readable = name in READABLE_ATTRS or (
                # an <input type=submit>'s value is its caption; a <button>'s is not shown
                name == "value" and tag == "input"
                and attrs_d.get("type") in ("submit", "button", "reset")
            ) or (name == "content" and attrs_d.get("name") == "description")
            if readable and needs_translation(value):
                self.found.append((self._line_of(self.getpos()[0]), f"{name}={value}"))

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and needs_translation(data):
            self.found.append((self._line_of(self.getpos()[0]), data.strip()))


def _const_findings(tree: nodes.Node) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []

    def walk(node: nodes.Node, parent: nodes.Node | None, key: str | None) -> None:
        if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) \
                and node.node.name in GETTEXT_NAMES:
            for kw in node.kwargs:  # the values filled in may hold words themselves
                walk(kw.value, node, kw.key)
            return
        if isinstance(node, nodes.Const) and isinstance(node.value, str):
            exempt = isinstance(parent, (nodes.Compare, nodes.Operand, nodes.Getitem,
                                         nodes.Getattr, nodes.Test))
            if isinstance(parent, nodes.Call) and isinstance(parent.node, nodes.Name) \
                    and parent.node.name in ("url_for", "config", "csrf_token"):
                exempt = True
            if not exempt and ((key in TEXT_KEYWORDS and needs_translation(node.value))
                               or _reads_as_prose(node.value)):
                found.append((node.lineno, node.value))
            return
        for field, value in node.iter_fields():
            children = value if isinstance(value, list) else [value]
            for child in children:
                if isinstance(child, nodes.Keyword):
                    walk(child.value, node, child.key)
                elif isinstance(child, nodes.Node):
                    if isinstance(node, (nodes.Include, nodes.Extends, nodes.Import,
                                         nodes.FromImport)) and field == "template":
                        continue
                    walk(child, node, None)

    walk(tree, None, None)
    return found


def template_findings(path: Path) -> list[Finding]:
    """The unmarked texts of one template (.html: HTML text and attributes; .txt: all
    text)."""
    env = _env()
    source = path.read_text(encoding="utf-8")
    rel = str(path.relative_to(ROOT))
    found: list[tuple[int, str]] = []
    pieces = _skeleton(source, env)
    if path.suffix == ".html":
        # One HTML document with placeholders, so attributes split by tags still parse;
        # the collector maps its line numbers back through a table of piece starts.
        joined, starts, line = [], [], 1
        for lineno, text in pieces:
            starts.append((line, lineno))
            joined.append(text)
            line += text.count("\n")

        def line_of(html_line: int) -> int:
            best = 1
            for html_start, tpl_line in starts:
                if html_start <= html_line:
                    best = tpl_line + (html_line - html_start)
                else:
                    break
            return best

        collector = _TextCollector(line_of)
        collector.feed("".join(joined))
        collector.close()
        found.extend(collector.found)
    else:
        text = "".join(t for _, t in pieces)
        for offset, row in enumerate(text.splitlines()):
            if needs_translation(row):
                found.append((offset + 1, row.strip()))
    found.extend(_const_findings(env.parse(source)))
    return [Finding(rel, line, text) for line, text in sorted(found)]


def template_paths() -> list[Path]:
    return sorted(p for p in TEMPLATES.rglob("*") if p.suffix in (".html", ".txt", ".ics"))


# --- Python --------------------------------------------------------------------------

#: Modules whose texts are for operators and developers (English by design), or data.
PYTHON_EXEMPT = ("labnet/cli", "labnet/services/seed", "labnet/data/", "labnet/logs.py",
                 "labnet/config.py", "labnet/metrics.py", "labnet/services/ops/",
                 "labnet/blueprints/api/", "labnet/blueprints/ops/", "labnet/jobs.py")
_PROGRAMMER_ERRORS = {"ValueError", "TypeError", "RuntimeError", "KeyError",
                      "AssertionError", "NotImplementedError", "LookupError", "OSError",
                      "SystemExit", "AttributeError", "BackupError", "GeocoderConfigError",
                      "PermissionDenied", "NotFound", "ApiProblem", "click.UsageError",
                      "UsageError", "ClickException"}
_LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "log"}
_VALIDATORS = {"DataRequired", "InputRequired", "Length", "NumberRange", "Email",
               "EqualTo", "Regexp", "Optional", "AnyOf", "NoneOf", "URL"}


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def python_findings(path: Path) -> list[Finding]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    rel = str(path.relative_to(ROOT))
    found: list[tuple[int, int, Finding]] = []
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(body[0].value)

    def kept(node: ast.AST) -> bool:
        line = lines[node.lineno - 1] if 0 < node.lineno <= len(lines) else ""
        end = getattr(node, "end_lineno", node.lineno)
        tail = lines[end - 1] if 0 < end <= len(lines) else ""
        return "i18n: keep" in line or "i18n: keep" in tail

    def inside(node: ast.AST) -> tuple[ast.Call | None, str | None, int | None]:
        """The call this string is an argument of, the keyword, the position."""
        child, parent = node, parents.get(node)
        while isinstance(parent, (ast.JoinedStr, ast.FormattedValue, ast.BinOp, ast.IfExp,
                                  ast.BoolOp, ast.Tuple, ast.List)):
            child, parent = parent, parents.get(parent)
        if isinstance(parent, ast.keyword):
            call = parents.get(parent)
            return (call if isinstance(call, ast.Call) else None), parent.arg, None
        if isinstance(parent, ast.Call) and child in parent.args:
            return parent, None, parent.args.index(child)
        return None, None, None

    def user_facing(call: ast.Call | None, key: str | None, pos: int | None) -> bool | None:
        """True: a text people read; False: certainly not; None: judge by its look."""
        if call is None:
            return None
        name = _name(call.func)
        if name in GETTEXT_NAMES:
            return False
        if name in _LOG_METHODS and isinstance(call.func, ast.Attribute):
            return False
        if name in ("RuleViolation",):
            return pos == 1 or key == "message"
        if name in ("flash", "ValidationError"):
            return pos == 0 or key == "message"
        if name.endswith("Field"):
            return pos == 0 or key in ("label", "description")
        if name in _VALIDATORS:
            return key == "message"
        if name in ("enqueue_email", "notify", "send_email"):
            return key in ("subject", "why") or pos == 2
        if name in ("text", "execute", "getenv", "get", "startswith", "endswith",
                    "replace", "split", "strip", "join", "format", "strftime",
                    "strptime", "compile", "match", "search", "sub", "fullmatch"):
            return False
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node in docstrings or kept(node):
                continue
            call, key, pos = inside(node)
            # raise ValueError("...") and friends: messages for programmers
            raised = call is not None and _name(call.func) in _PROGRAMMER_ERRORS
            if raised:
                continue
            verdict = user_facing(call, key, pos)
            text = node.value
            if verdict is False:
                continue
            if (verdict is True and needs_translation(text)) or (
                    verdict is None and _reads_as_prose(text) and " " in text.strip()):
                found.append((node.lineno, node.col_offset, Finding(rel, node.lineno, text)))
    return [finding for _, _, finding in sorted(found, key=lambda item: item[:2])]


def python_paths() -> list[Path]:
    out = []
    for path in sorted(LABNET.rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        if any(rel.startswith(prefix) for prefix in PYTHON_EXEMPT):
            continue
        out.append(path)
    return out
