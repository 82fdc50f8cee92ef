"""Lab pickers: a lab named in a form by its name or its address name (slug), and the
suggestions a picker shows as people type.

Rules owned here:
- a picker's text names a lab when it is the lab's address name, or the name of exactly
  one lab (spaces and capitals ignored); a name several labs share is refused naming the
  candidates with their address names, so the form works without JavaScript (DESIGN rule 5);
- which labs a picker offers is the caller's scope: published labs
  (``permissions.listed_lab_condition``) everywhere, every lab for the admins' role form;
- suggestions are published labs only, the same for everyone (drafts never leak, DESIGN
  rule 6), matched on the name's words or the address name's start, at most
  :data:`MAX_SUGGESTIONS`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select, true

from labnet.errors import RuleViolation
from labnet.extensions import db
from labnet.i18n import _
from labnet.models import Lab
from labnet.permissions import listed_lab_condition

MAX_SUGGESTIONS = 10
MAX_QUERY = 120
_CANDIDATES_SHOWN = 5


def _folded(text: str) -> str:
    return " ".join((text or "").split()).lower()


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _place(lab: Lab) -> str:
    return ", ".join(p for p in (lab.city, lab.country) if p)


def resolve_lab(text: str, *, field: str = "lab", listed_only: bool = True,
                what: str = "published lab") -> Lab:
    """The lab ``text`` names: its address name, or the name of exactly one lab.

    :raises RuleViolation: on ``field`` when the text is empty, names no lab, or a name
        several labs share (the message lists them with their address names).
    """
    wanted = " ".join((text or "").split())[:MAX_QUERY]
    if not wanted:
        raise RuleViolation(field, _("Enter the lab's name or its address name "
                                     "(e.g. fraunhofer-ipt)."))
    scope: ColumnElement[bool] = listed_lab_condition() if listed_only else true()
    by_slug = db.session.scalar(select(Lab).where(Lab.slug == wanted.lower(), scope))
    if by_slug is not None:
        return by_slug
    named = list(db.session.scalars(
        # Python folds every letter, SQLite's lower() only ASCII ones: either matches.
        select(Lab).where(or_(func.lower(Lab.name) == _folded(wanted), Lab.name == wanted),
                          scope)
        .order_by(Lab.slug).limit(_CANDIDATES_SHOWN + 1)))
    if len(named) == 1:
        return named[0]
    if not named:
        if what == "published lab":
            message = _("There is no published lab “%(name)s”: enter a lab's name or its "
                        "address name, or choose a suggestion.", name=wanted[:80])
        elif what == "lab":
            message = _("There is no lab “%(name)s”: enter a lab's name or its address name, "
                        "or choose a suggestion.", name=wanted[:80])
        else:
            message = _("There is no %(what)s “%(name)s”: enter a lab's name or its address "
                        "name, or choose a suggestion.", what=what, name=wanted[:80])
        raise RuleViolation(field, message)
    shown = "; ".join(f"{lab.name} ({_place(lab)}): {lab.slug}"
                      for lab in named[:_CANDIDATES_SHOWN])
    more = " …" if len(named) > _CANDIDATES_SHOWN else ""
    raise RuleViolation(field, _("Several labs are called “%(name)s”: %(labs)s. Enter the "
                                 "address name of the one you mean.", name=wanted[:80],
                                 labs=shown + more))


@dataclass(frozen=True)
class Suggestion:
    """One lab a picker offers: ``value`` is what the field receives (the name, or the
    address name when the name is shared), ``label`` what the list shows."""

    value: str
    label: str
    slug: str


def suggest_labs(query: str, *, limit: int = MAX_SUGGESTIONS) -> list[Suggestion]:
    """Published labs whose name contains ``query`` or whose address name starts with it,
    by name (two queries: the labs, and which of their names are shared)."""
    words = _folded(query)[:MAX_QUERY]
    if len(words) < 2:
        return []
    pattern = f"%{_escape_like(words)}%"
    labs = list(db.session.scalars(
        select(Lab).where(listed_lab_condition(),
                          or_(func.lower(Lab.name).like(pattern, escape="\\"),
                              Lab.slug.like(f"{_escape_like(words)}%", escape="\\")))
        .order_by(Lab.name, Lab.id).limit(max(1, min(limit, MAX_SUGGESTIONS)))))
    names = {lab.name.lower() for lab in labs}
    shared = set(db.session.scalars(
        select(func.lower(Lab.name)).where(listed_lab_condition(),
                                           func.lower(Lab.name).in_(names))
        .group_by(func.lower(Lab.name)).having(func.count() > 1))) if names else set()
    return [Suggestion(value=lab.slug if lab.name.lower() in shared else lab.name,
                       label=f"{lab.name} — {_place(lab)} ({lab.slug})", slug=lab.slug)
            for lab in labs]
