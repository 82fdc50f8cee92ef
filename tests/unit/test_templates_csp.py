"""Templates served to browsers carry nothing the strict CSP blocks (issue 10, item 15).

The Content-Security-Policy has no 'unsafe-inline': an inline ``style="…"`` attribute, an
inline ``<script>`` with code or an inline event handler (``onclick=`` …) is silently
ignored by the browser, so the page looks or works differently than written. Styles live
in labnet/static/css as classes, code in labnet/static/js.

E-mail templates (templates/email/) are exempt: no CSP applies in a mail client, and mail
clients drop linked stylesheets, so inline styles are how an e-mail is styled.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import labnet

ROOT = Path(labnet.__file__).parent
TEMPLATES = sorted(p for p in ROOT.rglob("templates/**/*.html")
                   if "email" not in p.relative_to(ROOT).parts)

INLINE_STYLE = re.compile(r"<[^>]*\sstyle\s*=", re.IGNORECASE | re.DOTALL)
EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE | re.DOTALL)
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script>",
                           re.IGNORECASE | re.DOTALL)


def test_the_walk_finds_the_templates():
    assert len(TEMPLATES) > 30
    assert any(p.name == "base.html" for p in TEMPLATES)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_template_has_no_inline_style_script_or_event_handler(path: Path):
    text = path.read_text()
    problems = [f"inline style: {m.group(0)[-80:]!r}" for m in INLINE_STYLE.finditer(text)]
    problems += [f"event handler: {m.group(0)[-80:]!r}" for m in EVENT_HANDLER.finditer(text)]
    # A JSON-LD block (schema.org data for search engines) is data the browser never runs:
    # the CSP's script rules do not apply to it.
    problems += [f"inline script: {m.group(0)[:80]!r}" for m in INLINE_SCRIPT.finditer(text)
                 if m.group(1).strip() and 'type="application/ld+json"' not in m.group(0)[:80]]
    assert not problems, "\n".join(problems)


def test_pre_wrap_class_is_in_the_stylesheet():
    css = (ROOT / "static" / "css" / "labnet.css").read_text()
    assert re.search(r"\.pre-wrap\s*\{[^}]*white-space:\s*pre-wrap", css)
