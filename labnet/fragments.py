"""Pieces of pages kept rendered, per process, keyed by everything they show.

A fragment's key is what it is drawn from (the values, the query, the language), never a
version number or a time: the same key always renders the same HTML, so a kept fragment can
never be stale, only unused, and a write needs to invalidate nothing. What a viewer may see
is decided before the key is built (the values come from a search run for that viewer), so
two viewers share a fragment only when it shows both of them the same thing.

Used where a page draws the same piece again and again from small inputs: the catalogue's
filter lists (about a hundred links with counts, the same for every visitor of a search
until its counts change) and the heads of its lab cards.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from flask import current_app, has_request_context, render_template, request
from markupsafe import Markup

from labnet.i18n import current_language

#: How many fragments an application keeps (least recently used go first). A filter list
#: is 10–30 KB, a card's head about 1 KB: under 15 MB even if all were filter lists.
MAX_FRAGMENTS = 512

_lock = threading.Lock()
_EXTENSION = "labnet.fragments"


def _kept() -> OrderedDict[Hashable, Markup]:
    # Per application (its URL map and configuration shape the links a fragment holds).
    return current_app.extensions.setdefault(_EXTENSION, OrderedDict())


def rendered(template: str, key: Hashable, **context: Any) -> Markup:
    """``template`` rendered with ``context``, kept under (``template``, the language, the
    path the application is mounted at, ``key``). ``key`` must hold everything the template
    shows that ``context`` gives it."""
    root = request.script_root if has_request_context() else ""
    full = (template, current_language(), root, key)
    kept = _kept()
    with _lock:
        hit = kept.get(full)
        if hit is not None:
            kept.move_to_end(full)
            return hit
    # A rendered template is HTML its autoescaping already made safe.
    html = Markup(render_template(template, **context))  # noqa: S704
    with _lock:
        kept[full] = html
        kept.move_to_end(full)
        while len(kept) > MAX_FRAGMENTS:
            kept.popitem(last=False)
    return html
