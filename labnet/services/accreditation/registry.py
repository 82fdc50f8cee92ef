"""The public registry of accreditations and the verification pages.

- **Registry**: every currently valid accreditation and label (``validity.currently_valid``)
  of a published lab, filterable by scheme, level, country, KET area (with its sub-areas)
  and lab kind, searchable by lab name and scope text; one page of rows and the total in
  two queries whatever the registry's size; the same rows as CSV and JSON.
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

from sqlalchemy import ColumnElement, Select, func, or_, select

from labnet.extensions import db
from labnet.models import (
    Accreditation,
    AccreditationScheme,
    AccreditationStatus,
    KetArea,
    Lab,
    LabKet,
)
from labnet.permissions import is_listed_lab, listed_lab_condition
from labnet.services.accreditation.validity import currently_valid, shown_state
from labnet.services.common.text import like_pattern

PER_PAGE = 50
LEVELS = ("bronze", "silver", "gold")
MAX_Q = 200


@dataclass(frozen=True)
class RegistryQuery:
    """The registry's filters, as typed (unknown codes simply match nothing)."""

    scheme: str = ""
    level: str = ""
    country: str = ""
    ket: str = ""
    kind: str = ""
    q: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> RegistryQuery:
        """Read the query string; a bad page number is page 1."""
        def text(name: str) -> str:
            return (args.get(name) or "").strip()[:MAX_Q]
        try:
            page = max(1, min(int(args.get("page") or 1), 10_000))
        except ValueError:
            page = 1
        return cls(scheme=text("scheme"), level=text("level").lower(),
                   country=text("country").upper(), ket=text("ket"), kind=text("kind"),
                   q=text("q"), page=page)

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
    pattern = like_pattern(query.q)
    return [or_(Lab.name.ilike(pattern, escape="\\"),
                Accreditation.scope.ilike(pattern, escape="\\"))]


def _select(query: RegistryQuery, now: datetime) -> Select[Any]:
    return (
        select(Lab.name, Lab.slug, Lab.country, Lab.kind_code, Accreditation.scheme_code,
               AccreditationScheme.name, Accreditation.level, Accreditation.certificate_no,
               Accreditation.issuer, Accreditation.scope, Accreditation.valid_from,
               Accreditation.valid_until, Accreditation.verified_at, Accreditation.code)
        .select_from(Lab)
        .join(Accreditation, Accreditation.lab_id == Lab.id)
        .join(AccreditationScheme, AccreditationScheme.code == Accreditation.scheme_code)
        .where(*_lab_conditions(query), *_acc_conditions(query, now), *_words(query))
        # Labs by name (index ix_lab_published_name walked in order, so a page stops early
        # instead of sorting every valid accreditation), then each lab's by id.
        .order_by(Lab.name, Lab.id, Accreditation.id)
    )


def search(query: RegistryQuery, now: datetime) -> tuple[list[RegistryRow], int]:
    """One page of the registry and the number of matching rows (two queries)."""
    # Counted without a row-by-row join when no word is searched: the labs' conditions as
    # a set of ids (an index), the accreditations' by their (status, ends_at) index.
    if query.q:
        count = (select(func.count()).select_from(Accreditation)
                 .join(Lab, Lab.id == Accreditation.lab_id)
                 .where(*_lab_conditions(query), *_acc_conditions(query, now), *_words(query)))
    else:
        count = (select(func.count()).select_from(Accreditation)
                 .where(*_acc_conditions(query, now),
                        Accreditation.lab_id.in_(select(Lab.id).where(*_lab_conditions(query)))))
    total = db.session.scalar(count) or 0
    rows = db.session.execute(
        _select(query, now).limit(PER_PAGE).offset((query.page - 1) * PER_PAGE)).all()
    return [RegistryRow(*r) for r in rows], total


def all_rows(query: RegistryQuery, now: datetime) -> list[RegistryRow]:
    """Every matching row (the downloads)."""
    return [RegistryRow(*r) for r in db.session.execute(_select(query, now))]


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
