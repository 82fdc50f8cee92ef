"""The public registry of accreditations and the verification pages.

- **Registry**: every currently valid accreditation and label (``validity.currently_valid``)
  of a published lab, filterable by scheme, level, country, KET area (with its sub-areas)
  and lab kind, searchable by the words of lab names and scopes (:mod:`.scope_words`);
  pages follow one another by keyset (after / before a row, in the order lab name, lab
  id, accreditation id) and the total is counted over at most :data:`COUNT_CAP` labs, so
  a page costs three short queries whatever the registry's size; the same rows as CSV and JSON.
- **Verification**: ``/verify/<code>`` shows what a third party needs — lab, scheme, scope,
  valid until, verified by LabNet on which date — or that it expired, was withdrawn,
  suspended or superseded, and when. Codes are random (``new_verification_code``); an
  unknown code or a claim never verified is simply not found.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, false, func, literal, or_, select, tuple_

from labnet.extensions import db
from labnet.i18n import _l
from labnet.models import (
    Accreditation,
    AccreditationScheme,
    AccreditationStatus,
    KetArea,
    Lab,
    LabKet,
)
from labnet.permissions import is_listed_lab, listed_lab_condition
from labnet.services.accreditation import scope_words
from labnet.services.accreditation.validity import currently_valid, shown_state

PER_PAGE = 50
COUNT_CAP = 200  # labs
FEW_LABS = 200
LEVELS = ("bronze", "silver", "gold")
#: The excellence label's levels as the pages name them.
LEVEL_NAMES = {"bronze": _l("Bronze"), "silver": _l("Silver"), "gold": _l("Gold")}
MAX_Q = 200


@dataclass(frozen=True)
class Cursor:
    """A row's place in the registry's order (lab name, lab id, accreditation id), as the
    ``after=`` / ``before=`` parameter ``<lab id>-<accreditation id>`` names it."""

    lab_id: int
    acc_id: int

    @classmethod
    def parse(cls, value: str | None) -> Cursor | None:
        """``"12-345"`` → Cursor; anything else is None (the first page)."""
        lab, _, acc = (value or "").partition("-")
        # ASCII digits only: "²".isdigit() is true, and int("²") raises.
        if not all(p.isascii() and p.isdigit() and len(p) < 12 for p in (lab, acc)):
            return None
        return cls(int(lab), int(acc))

    def __str__(self) -> str:
        return f"{self.lab_id}-{self.acc_id}"


@dataclass(frozen=True)
class RegistryQuery:
    """The registry's filters, as typed (unknown codes simply match nothing), and the page
    asked for: after or before a row, or the first."""

    scheme: str = ""
    level: str = ""
    country: str = ""
    ket: str = ""
    kind: str = ""
    q: str = ""
    after: Cursor | None = None
    before: Cursor | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> RegistryQuery:
        """Read the query string; a malformed cursor is the first page."""
        def text(name: str) -> str:
            return (args.get(name) or "").strip()[:MAX_Q]
        after = Cursor.parse(args.get("after"))
        return cls(scheme=text("scheme"), level=text("level").lower(),
                   country=text("country").upper(), ket=text("ket"), kind=text("kind"),
                   q=text("q"), after=after,
                   before=None if after else Cursor.parse(args.get("before")))

    def params(self) -> dict[str, str]:
        """The non-empty filters (for links to the downloads and pages)."""
        return {k: v for k, v in (("scheme", self.scheme), ("level", self.level),
                                  ("country", self.country), ("ket", self.ket),
                                  ("kind", self.kind), ("q", self.q)) if v}


@dataclass(frozen=True)
class RegistryRow:
    """One accreditation as the registry lists it."""

    lab_name: str
    lab_slug: str
    country: str
    kind_code: str | None
    scheme_code: str
    scheme_name: str
    level: str | None
    certificate_no: str
    issuer: str
    scope: str
    valid_from: date | None
    valid_until: date | None
    verified_at: datetime | None
    code: str | None
    lab_id: int
    acc_id: int

    @property
    def cursor(self) -> Cursor:
        """The row's place, for the links to the next and previous pages."""
        return Cursor(self.lab_id, self.acc_id)


@dataclass(frozen=True)
class RegistryPage:
    """One page of the registry: its rows, the cursors of the neighbouring pages (None at
    either end) and the number of matching rows, exact unless more than :data:`COUNT_CAP`
    labs hold some (``total_capped``: then it counts those labs' rows, shown as "more
    than …")."""

    rows: list[RegistryRow]
    total: int
    total_capped: bool
    next_after: Cursor | None
    prev_before: Cursor | None


def _lab_conditions(query: RegistryQuery) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [listed_lab_condition()]
    if query.country:
        conds.append(Lab.country == query.country)
    if query.kind:
        conds.append(Lab.kind_code == query.kind)
    if query.ket:
        kets = select(KetArea.code).where(or_(KetArea.code == query.ket,
                                              KetArea.parent_code == query.ket))
        conds.append(Lab.id.in_(select(LabKet.lab_id).where(LabKet.ket_code.in_(kets))))
    return conds


def _acc_conditions(query: RegistryQuery, now: datetime) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [currently_valid(now)]
    if query.scheme:
        conds.append(Accreditation.scheme_code == query.scheme)
    if query.level:
        conds.append(Accreditation.level == query.level)
    return conds


def _words(query: RegistryQuery) -> list[ColumnElement[bool]]:
    if not query.q:
        return []
    stems = scope_words.query_stems(query.q)
    # Only function words ("the", "of"): nothing to look up, so nothing matches.
    return scope_words.matches(stems) if stems else [false()]


def _matching(query: RegistryQuery, now: datetime) -> Select[Any]:
    return (
        select(Lab.name, Lab.slug, Lab.country, Lab.kind_code, Accreditation.scheme_code,
               AccreditationScheme.name, Accreditation.level, Accreditation.certificate_no,
               Accreditation.issuer, Accreditation.scope, Accreditation.valid_from,
               Accreditation.valid_until, Accreditation.verified_at, Accreditation.code,
               Lab.id, Accreditation.id)
        .select_from(Lab)
        .join(Accreditation, Accreditation.lab_id == Lab.id)
        .join(AccreditationScheme, AccreditationScheme.code == Accreditation.scheme_code)
        .where(*_lab_conditions(query), *_acc_conditions(query, now), *_words(query))
    )


# The registry's order: labs by name, then by id, then each lab's accreditations by id.
_ORDER = (Lab.name, Lab.id, Accreditation.id)


def _key(cursor: Cursor) -> Any:
    # The cursor names the row by ids; the lab's name comes from the row itself, so a link
    # stays short and cannot place the reader anywhere but at a real row.
    name = select(Lab.name).where(Lab.id == cursor.lab_id).scalar_subquery()
    return tuple_(name, literal(cursor.lab_id), literal(cursor.acc_id))


def _labs_holding(query: RegistryQuery, now: datetime, few: list[int] | None
                  ) -> Select[Any]:
    """Listed labs matching the lab filters that hold a matching accreditation. Asked as
    "labs, each with a matching accreditation" (one index probe per lab, so a walk in
    name order stops after a page), never as "every matching accreditation, sorted".
    ``few``: the only labs a rare word can be in (:func:`_few_labs`), read instead."""
    held = (select(Accreditation.id)
            .where(Accreditation.lab_id == Lab.id, *_acc_conditions(query, now),
                   *_words(query)).exists())
    conds = [*_lab_conditions(query), held]
    if few is not None:
        conds.append(Lab.id.in_(bindparam("few_labs", few, expanding=True,
                                           literal_execute=True)))
    return select(Lab.id).where(*conds)


def _few_labs(query: RegistryQuery) -> list[int] | None:
    """For a word search, the labs its first word's index entries name when they are at
    most :data:`FEW_LABS` (a rare word: the page starts from them), else None (a common
    word: walking the labs in name order finds a page sooner). One query either way."""
    stems = scope_words.query_stems(query.q) if query.q else []
    if not stems:
        return None
    ids = list(db.session.scalars(scope_words.candidate_labs(stems[0], FEW_LABS + 1)))
    return ids if len(ids) <= FEW_LABS else None


def _page_labs(query: RegistryQuery, now: datetime, few: list[int] | None,
               cursor: Cursor | None, backwards: bool) -> list[int]:
    """The labs a page's rows can come from: the next PER_PAGE + 2 in name order from
    the cursor's lab on (one more than rows, in case the cursor's lab has none left)."""
    stmt = _labs_holding(query, now, few)
    if cursor is not None:
        here = tuple_(Lab.name, Lab.id)
        mark = tuple_(select(Lab.name).where(Lab.id == cursor.lab_id).scalar_subquery(),
                      literal(cursor.lab_id))
        stmt = stmt.where(here <= mark if backwards else here >= mark)
    order = (Lab.name.desc(), Lab.id.desc()) if backwards else (Lab.name, Lab.id)
    return list(db.session.scalars(stmt.order_by(*order).limit(PER_PAGE + 2)))


def _count(query: RegistryQuery, now: datetime, few: list[int] | None) -> tuple[int, bool]:
    """The matching rows of at most :data:`COUNT_CAP` + 1 labs holding one, and whether
    more than COUNT_CAP labs hold some (then it is a lower bound: "more than …")."""
    # No order: any COUNT_CAP + 1 labs tell "more than", so the walk stops there.
    labs = _labs_holding(query, now, few).limit(COUNT_CAP + 1).subquery()
    rows, held = db.session.execute(
        select(func.count(Accreditation.id), func.count(func.distinct(labs.c.id)))
        .select_from(labs)
        .join(Accreditation, Accreditation.lab_id == labs.c.id)
        .where(*_acc_conditions(query, now), *_words(query))).one()
    return rows, held > COUNT_CAP


def search(query: RegistryQuery, now: datetime) -> RegistryPage:
    """One page of the registry (keyset: after or before a row) and its bounded count:
    three queries (four with words), each reading at most a page's or :data:`COUNT_CAP`
    labs' index entries whatever the registry's size."""
    backwards = query.before is not None
    cursor = query.before if backwards else query.after
    few = _few_labs(query)
    labs = _page_labs(query, now, few, cursor, backwards)
    stmt = _matching(query, now).where(Lab.id.in_(labs))
    if cursor is not None:
        order = tuple_(*_ORDER)
        stmt = stmt.where(order < _key(cursor) if backwards else order > _key(cursor))
    stmt = stmt.order_by(*((c.desc() for c in _ORDER) if backwards else _ORDER))
    found = [RegistryRow(*r) for r in db.session.execute(stmt.limit(PER_PAGE + 1))]
    more = len(found) > PER_PAGE
    rows = list(reversed(found[:PER_PAGE])) if backwards else found[:PER_PAGE]
    more_after, more_before = (True, more) if backwards else (more, cursor is not None)
    total, capped = _count(query, now, few)
    return RegistryPage(
        rows=rows, total=total, total_capped=capped,
        next_after=rows[-1].cursor if rows and more_after else None,
        prev_before=rows[0].cursor if rows and more_before else None)


def all_rows(query: RegistryQuery, now: datetime) -> list[RegistryRow]:
    """Every matching row (the downloads)."""
    return [RegistryRow(*r) for r in db.session.execute(
        _matching(query, now).order_by(*_ORDER))]


# A data set's keys (the CSV's header, the JSON's fields): the same in every language, so
# scripts reading them keep working (docs/TRANSLATING.md, "Not translated").
COLUMNS = ("lab", "country", "lab_kind", "scheme", "scheme_name", "level", "certificate_no",
           "issuer", "scope", "valid_from", "valid_until", "verified_on", "verification_url")


def _record(row: RegistryRow, verify_url: str) -> dict[str, Any]:
    return {
        "lab": row.lab_name, "country": row.country, "lab_kind": row.kind_code or "",
        "scheme": row.scheme_code, "scheme_name": row.scheme_name, "level": row.level or "",
        "certificate_no": row.certificate_no, "issuer": row.issuer,
        "scope": row.scope.splitlines(),
        "valid_from": row.valid_from.isoformat() if row.valid_from else None,
        "valid_until": row.valid_until.isoformat() if row.valid_until else None,
        "verified_on": row.verified_at.date().isoformat() if row.verified_at else None,
        "verification_url": verify_url.replace("CODE", row.code or ""),
    }


def as_json(rows: list[RegistryRow], verify_url: str) -> list[dict[str, Any]]:
    """The rows as JSON records; ``verify_url`` has ``CODE`` where the code goes."""
    return [_record(r, verify_url) for r in rows]


def as_csv(rows: list[RegistryRow], verify_url: str) -> str:
    """The rows as CSV text (scope lines joined by "; ")."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for r in rows:
        rec = _record(r, verify_url)
        rec["scope"] = "; ".join(rec["scope"])
        writer.writerow([rec[c] if rec[c] is not None else "" for c in COLUMNS])
    return out.getvalue()


@dataclass(frozen=True)
class Verification:
    """What the public verification page shows."""

    acc: Accreditation
    lab: Lab
    scheme_name: str
    state: str  # verified, expiring, expired, suspended, withdrawn, superseded
    valid: bool
    ended_on: date | datetime | None  # when it expired / was withdrawn, suspended, replaced


def verification(code: str, now: datetime) -> Verification | None:
    """What ``/verify/<code>`` shows, or None (unknown code, or never verified)."""
    if not code or len(code) > 40:
        return None
    acc = db.session.scalar(select(Accreditation).where(Accreditation.code == code))
    if acc is None or acc.verified_at is None or not is_listed_lab(acc.lab):
        return None
    scheme = db.session.get_one(AccreditationScheme, acc.scheme_code)
    state = shown_state(acc, acc.lab.timezone, now)
    ended: date | datetime | None = None
    if state == AccreditationStatus.EXPIRED:
        ended = acc.valid_until
    elif state in (AccreditationStatus.WITHDRAWN, AccreditationStatus.SUSPENDED,
                   AccreditationStatus.SUPERSEDED):
        ended = acc.decided_at
    return Verification(acc=acc, lab=acc.lab, scheme_name=scheme.name, state=state,
                        valid=state in (AccreditationStatus.VERIFIED, "expiring"),
                        ended_on=ended)
