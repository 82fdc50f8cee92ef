"""The one rule of which accreditations count, and how each one reads to a person.

**Currently valid** (:func:`currently_valid`): verified, and its end (``ends_at``, the
lab's local midnight after ``valid_until``) still ahead of ``now``. Every reader — the
catalogue filter, facet counts, the map filter, badges on cards and pages, the registry,
exports, the verification page — asks this predicate, so an accreditation drops out
everywhere at the lab's midnight, before the daily job marks it ``expired``.

The *shown* state (:func:`shown_state`) adds ``expiring`` (verified, at most
:data:`EXPIRING_DAYS` days left on the lab's calendar) and ``expired`` (verified but past its
end, the job not run yet) to the stored ones.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    bindparam,
    event,
    inspect,
    or_,
    select,
    update,
)

from labnet import clock
from labnet.extensions import db
from labnet.i18n import data_name
from labnet.models import Accreditation, AccreditationScheme, AccreditationStatus, Lab

EXPIRING_DAYS = 90


def ends_at(valid_until: date | None, zone: str) -> datetime | None:
    """The instant an accreditation valid until ``valid_until`` (inclusive) ends: the start
    of the next day in the lab's zone, in UTC."""
    if valid_until is None:
        return None
    local = datetime.combine(valid_until + timedelta(days=1), time(0), ZoneInfo(zone))
    return local.astimezone(ZoneInfo("UTC"))


def currently_valid(now: datetime | ColumnElement[Any]) -> ColumnElement[bool]:
    """SQL condition on ``accreditation``: the row counts at ``now`` (module docstring; a
    bound parameter in a statement built once)."""
    return and_(
        Accreditation.status == AccreditationStatus.VERIFIED,
        or_(Accreditation.ends_at.is_(None), Accreditation.ends_at > now),
    )


def is_currently_valid(acc: Accreditation, now: datetime) -> bool:
    """The same rule as :func:`currently_valid`, for a loaded row."""
    return acc.status == AccreditationStatus.VERIFIED and (
        acc.ends_at is None or acc.ends_at > now)


def local_today(zone: str, now: datetime) -> date:
    """The date on the lab's calendar at ``now``."""
    return clock.to_zone(now, zone).date()


def shown_state(acc: Accreditation, zone: str, now: datetime) -> str:
    """claimed, verified, expiring, expired, rejected, suspended, withdrawn, superseded."""
    if acc.status != AccreditationStatus.VERIFIED:
        return acc.status
    if not is_currently_valid(acc, now):
        return AccreditationStatus.EXPIRED
    if acc.valid_until is not None and (
            acc.valid_until - local_today(zone, now)).days < EXPIRING_DAYS:
        return "expiring"
    return AccreditationStatus.VERIFIED


def next_change(now: datetime) -> datetime | None:
    """The next instant a currently valid accreditation ends (the catalogue's snapshot of
    counts holds until then)."""
    return db.session.scalar(
        select(Accreditation.ends_at).where(currently_valid(now),
                                            Accreditation.ends_at.is_not(None))
        .order_by(Accreditation.ends_at).limit(1))


def badges_by_lab(lab_ids: list[int], now: datetime) -> dict[int, list[tuple[str, str | None]]]:
    """For each lab, its currently valid accreditations as (scheme name, level), by name:
    the badges of lab cards and pages (one query)."""
    if not lab_ids:
        return {}
    rows = db.session.execute(_badges_statement(), {"lab_ids": lab_ids, "now": now})
    out: dict[int, list[tuple[str, str | None]]] = {}
    for lab_id, code, name, level in rows:  # the scheme's name in the reader's language
        out.setdefault(lab_id, []).append((data_name("accreditation_schemes", code, name),
                                           level))
    return out


@cache
def _badges_statement() -> Any:
    # Built once: every page of /labs and every lab page asks it, and building it cost
    # more than running it.
    return (select(Accreditation.lab_id, AccreditationScheme.code, AccreditationScheme.name,
                   Accreditation.level)
            .join(AccreditationScheme, AccreditationScheme.code == Accreditation.scheme_code)
            .where(Accreditation.lab_id.in_(bindparam("lab_ids", expanding=True)),
                   currently_valid(bindparam("now", type_=Accreditation.ends_at.type)))
            .order_by(AccreditationScheme.name))


# ``ends_at`` follows ``valid_until`` and the lab's zone whoever writes the row (claims,
# the excellence label, seeds, imports): set on insert and update of an accreditation, and
# for every accreditation of a lab whose zone changes.


@event.listens_for(Accreditation, "before_insert")
@event.listens_for(Accreditation, "before_update")
def _keep_ends_at(_mapper: Any, connection: Connection, target: Accreditation) -> None:
    zone = connection.scalar(select(Lab.timezone).where(Lab.id == target.lab_id))
    target.ends_at = ends_at(target.valid_until, zone or "Europe/Brussels")


@event.listens_for(Lab, "after_update")
def _lab_zone_changed(_mapper: Any, connection: Connection, target: Lab) -> None:
    history = inspect(target).attrs.timezone.history
    if not history.has_changes():
        return
    rows = connection.execute(select(Accreditation.id, Accreditation.valid_until)
                              .where(Accreditation.lab_id == target.id)).all()
    for acc_id, valid_until in rows:
        connection.execute(update(Accreditation).where(Accreditation.id == acc_id)
                           .values(ends_at=ends_at(valid_until, target.timezone)))
