"""The daily accreditation job: expirations, reminders before the end, waiting claims.

Rules owned here (RELIABILITY, "effects exactly once, whatever runs"):

- **Expiry.** A verified accreditation whose end (``ends_at``: the lab's midnight after
  ``valid_until``) has passed becomes ``expired`` (compare-and-set on status and version;
  audited; the lab's managers are told). Search stopped counting it at that midnight
  already (``validity.currently_valid``); the job records it.
- **Reminders** 90, 30 and 7 days before the end, counted on the lab's calendar: the
  most pressing one due is sent (a job that missed weeks does not send three at once).
  Each is recorded in ``accreditation_reminder`` whose (accreditation, kind) is unique;
  the row is inserted before the mail in the same transaction, so two runners — two runs
  in a row, two schedulers at once — send it once: the second insert finds the row (or
  waits for the first transaction and then conflicts) and sends nothing.
- **Waiting claims.** Claims open more than :data:`WAITING_WORKING_DAYS` working days
  (Monday to Friday) are told to the verifiers once per claim, the same way.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from labnet.extensions import db
from labnet.i18n import _l, _ln
from labnet.models import Accreditation, AccreditationReminder, AccreditationStatus, Lab
from labnet.services.accreditation.claims import VERIFIER_WHY, _mail_managers, verifier_addresses
from labnet.services.accreditation.validity import local_today
from labnet.services.catalogue.search.index import LAB_IDS_OPTION
from labnet.services.common import audit
from labnet.services.notifications.outbox import enqueue_email

REMINDER_DAYS = (90, 30, 7)
WAITING_WORKING_DAYS = 5
BATCH = 1000


def working_days_between(start: date, end: date) -> int:
    """Monday-to-Friday days after ``start`` up to and including ``end``."""
    days, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days += 1
    return days


def record_once(acc_id: int, kind: str, now: datetime) -> bool:
    """Insert the reminder row unless it exists; True when this caller inserted it."""
    table = AccreditationReminder.__table__
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (insert(table).values(accreditation_id=acc_id, kind=kind, sent_at=now)
            .on_conflict_do_nothing(index_elements=["accreditation_id", "kind"])
            .returning(table.c.id))
    # RETURNING, not rowcount: the driver's rowcount is not reliable for this statement.
    return db.session.execute(stmt).scalar() is not None


def due_reminder(days_left: int) -> int | None:
    """The most pressing reminder due with ``days_left`` days left (None: none yet)."""
    due = [d for d in REMINDER_DAYS if days_left <= d]
    return min(due) if due and days_left >= 0 else None


def expire(now: datetime) -> int:
    """Mark verified accreditations past their end as expired (module docstring)."""
    done = 0
    rows = db.session.execute(
        select(Accreditation.id, Accreditation.version, Accreditation.lab_id)
        .where(Accreditation.status == AccreditationStatus.VERIFIED,
               Accreditation.ends_at.is_not(None), Accreditation.ends_at <= now)
        .order_by(Accreditation.id).limit(BATCH)).all()
    for acc_id, version, lab_id in rows:
        changed = cast(CursorResult[Any], db.session.execute(
            update(Accreditation)
            .where(Accreditation.id == acc_id, Accreditation.version == version,
                   Accreditation.status == AccreditationStatus.VERIFIED)
            .values(status=AccreditationStatus.EXPIRED, version=version + 1,
                    decided_at=now, decided_by_id=None, updated_at=now)
            .execution_options(synchronize_session=False, **{LAB_IDS_OPTION: [lab_id]})))
        if changed.rowcount != 1:
            continue
        acc = db.session.get_one(Accreditation, acc_id)
        db.session.refresh(acc)
        audit.record(None, "accreditation.expired", "accreditation", acc_id, now=now)
        _mail_managers("accreditation_expired", acc,
                       _l("Accreditation expired: %(lab)s", lab=acc.lab.name), now)
        done += 1
    return done


def remind(now: datetime) -> int:
    """E-mail the managers 90, 30 and 7 days before the end, each reminder once."""
    sent = 0
    horizon = now + timedelta(days=max(REMINDER_DAYS) + 2)
    rows = db.session.execute(
        select(Accreditation.id, Accreditation.valid_until, Lab.timezone)
        .join(Lab, Lab.id == Accreditation.lab_id)
        .where(Accreditation.status == AccreditationStatus.VERIFIED,
               Accreditation.ends_at.is_not(None), Accreditation.ends_at > now,
               Accreditation.ends_at <= horizon)
        .order_by(Accreditation.id)).all()
    for acc_id, valid_until, zone in rows:
        days_left = (valid_until - local_today(zone, now)).days
        kind = due_reminder(days_left)
        if kind is None or not record_once(acc_id, f"expiring-{kind}", now):
            continue
        acc = db.session.get_one(Accreditation, acc_id)
        _mail_managers("accreditation_expiring", acc,
                       _ln("Accreditation ends in %(num)d day: %(lab)s",
                           "Accreditation ends in %(num)d days: %(lab)s", days_left,
                           lab=acc.lab.name), now,
                       days_left=days_left)
        sent += 1
    return sent


def tell_waiting(now: datetime) -> int:
    """Tell verifiers once of each claim waiting more than 5 working days."""
    told = 0
    rows = db.session.scalars(
        select(Accreditation).where(Accreditation.status == AccreditationStatus.CLAIMED,
                                    Accreditation.created_at <= now - timedelta(days=5))
        .order_by(Accreditation.created_at, Accreditation.id).limit(BATCH)).all()
    for acc in rows:
        if working_days_between(acc.created_at.date(), now.date()) <= WAITING_WORKING_DAYS:
            continue
        if not record_once(acc.id, "waiting", now):
            continue
        for address in verifier_addresses(exclude_lab_id=acc.lab_id):
            enqueue_email("accreditation_waiting", address,
                          _l("Claim waiting for a verifier: %(lab)s", lab=acc.lab.name),
                          {"acc": acc, "lab": acc.lab}, now=now, why=VERIFIER_WHY)
        told += 1
    return told


def run_daily(*, now: datetime) -> dict[str, int]:
    """Job ``accreditations``: expire, remind, tell verifiers. Flushes; the runner commits
    (and the catalogue snapshot is rebuilt with that commit when anything expired)."""
    result = {"expired": expire(now), "reminders": remind(now), "waiting": tell_waiting(now)}
    db.session.flush()
    return result
