"""Background jobs: the registry, the runner with its database lease, and the scheduler.

Every job is a service function ``fn(*, now) -> dict`` that finds its due work in the
database, flushes and never commits (STYLE §8, RELIABILITY §2.2). :func:`run_job` is the
boundary: it takes the job's lease in ``job_lock``, runs the function, commits once and
lets the lease go. The lease is a compare-and-set UPDATE committed on its own connection
before the work starts, so a job never runs twice at once, whether two schedulers run on
two hosts or an operator types ``flask labnet jobs run`` while the scheduler is busy; the
loser is told "skipped". A runner that dies holding a lease blocks its job only until the
lease ends (then the next scheduler to tick takes it over), so every job bounds its work
per run well inside its lease.

Once per period: the scheduler asks for a run only if none *started* within the
job's period (:data:`PERIOD_SLACK` short of its interval), so two schedulers on two hosts,
whose timers tick at different moments, still run each job once per interval between
them. ``flask labnet jobs run`` asks without that condition (an operator's explicit run).

No rules live here; the scheduler (``flask labnet scheduler``) is its own process, one per
deployment, never inside gunicorn workers (RELIABILITY §2.2.1).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import and_, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from labnet import clock
from labnet.extensions import db
from labnet.models import JobLock
from labnet.services.accounts.joins import remind_and_expire_join_requests
from labnet.services.accreditation.reminders import run_daily as accreditation_daily
from labnet.services.analytics.digest import send_coordinator_digest
from labnet.services.analytics.summary import summarise_activity
from labnet.services.booking.engine import expire_holds
from labnet.services.booking.reminders import complete_bookings, send_reminders
from labnet.services.catalogue.labs.creation import remind_pending_proposals
from labnet.services.catalogue.open_data import dump_dir, write_dumps
from labnet.services.geo.geocoding import geocode_pending
from labnet.services.notifications.outbox import deliver_committed, send_digests, send_outbox
from labnet.services.ops.backup import scheduled_backup
from labnet.services.requests.workflow import tell_unanswered_requesters
from labnet.services.training.registration import hand_on_offers, send_event_reminders

log = logging.getLogger(__name__)


class Job(NamedTuple):
    func: Callable[..., dict[str, Any] | None]
    interval: timedelta
    lease: timedelta  # longer than any run can take (each job bounds its work per run)
    description: str


def _geocode_pending(*, now: datetime) -> dict[str, Any]:
    return geocode_pending(now=now)


def _expire_holds(*, now: datetime) -> dict[str, Any]:
    return {"expired": expire_holds(now=now)}


def _send_reminders(*, now: datetime) -> dict[str, Any]:
    # Its links (like every e-mailed link) come from BASE_URL: no request needed.
    return send_reminders(now=now)


def _complete_bookings(*, now: datetime) -> dict[str, Any]:
    return complete_bookings(now=now)


def _send_outbox(*, now: datetime) -> dict[str, Any]:
    return send_outbox(current_app.config, now=now)


def _send_digests(*, now: datetime) -> dict[str, Any]:
    return send_digests(now=now)


def _summarise_activity(*, now: datetime) -> dict[str, Any]:
    return summarise_activity(now=now)


def _send_coordinator_digest(*, now: datetime) -> dict[str, Any]:
    return send_coordinator_digest(now=now)


def _join_requests(*, now: datetime) -> dict[str, Any]:
    return remind_and_expire_join_requests(now=now)


def _lab_proposals(*, now: datetime) -> dict[str, Any]:
    return remind_pending_proposals(now=now)


def _write_open_data(*, now: datetime) -> dict[str, Any]:
    directory = dump_dir(current_app.config, current_app.instance_path)
    return write_dumps(directory, base_url=str(current_app.config["BASE_URL"]).rstrip("/"),
                       now=now)


def _tell_unanswered(*, now: datetime) -> dict[str, Any]:
    return {"told": tell_unanswered_requesters(now=now)}


def _backup(*, now: datetime) -> dict[str, Any]:
    # The archive lands on the scheduler's host (BACKUP_DIR: mount shared or off-site storage).
    return scheduled_backup(current_app.config, current_app.instance_path, now=now)


def _accreditations(*, now: datetime) -> dict[str, Any]:
    return accreditation_daily(now=now)
def _hand_on_seats(*, now: datetime) -> dict[str, Any]:
    return hand_on_offers(now=now)


def _remind_event_participants(*, now: datetime) -> dict[str, Any]:
    return send_event_reminders(now=now)

# name -> (service function, interval, lease, description). Every sweeper finds its due
# work in the database, so a run that was missed (scheduler down) is caught up by the next.
JOBS: dict[str, Job] = {
    "geocode-pending": Job(
        _geocode_pending, timedelta(minutes=5), timedelta(minutes=30),
        "answer queued geocoding requests; place labs with an address but no coordinates"),
    "expire-holds": Job(
        _expire_holds, timedelta(minutes=5), timedelta(minutes=15),
        "pending requests whose hold has passed become expired and free their slot"),
    "send-reminders": Job(
        _send_reminders, timedelta(hours=1), timedelta(minutes=30),
        "remind requesters 48 h before a confirmed booking; warn managers 12 h before a "
        "hold ends"),
    "complete-bookings": Job(
        _complete_bookings, timedelta(hours=1), timedelta(minutes=30),
        "confirmed bookings whose end has passed become completed"),
    "send-outbox": Job(
        _send_outbox, timedelta(minutes=2), timedelta(minutes=15),
        "deliver queued e-mail that was not delivered right after its commit"),
    "send-digests": Job(
        _send_digests, timedelta(hours=1), timedelta(minutes=30),
        "once a day (first run after 07:00 UTC) send each digest reader one e-mail"),
    "summarise-activity": Job(
        _summarise_activity, timedelta(minutes=15), timedelta(minutes=30),
        "recompute the dashboard's daily summary for today and every day changed since"),
    "tell-unanswered-requests": Job(
        _tell_unanswered, timedelta(hours=1), timedelta(minutes=30),
        "tell requesters once when no lab has answered their request in 7 days"),
    "send-coordinator-digest": Job(
        _send_coordinator_digest, timedelta(hours=1), timedelta(minutes=30),
        "once a week (first run after Monday 07:00 UTC) send coordinators the week's figures"),
    "join-requests": Job(
        _join_requests, timedelta(hours=1), timedelta(minutes=30),
        "remind approvers of join requests undecided for 3 days; expire them after 14 days "
        "and tell the requester"),
    "lab-proposals": Job(
        _lab_proposals, timedelta(hours=1), timedelta(minutes=30),
        "remind reviewers of lab proposals undecided for 3 days; after 7 days ask LabNet's "
        "admins too"),
    "backup": Job(
        _backup, timedelta(hours=6), timedelta(hours=2),
        "once a day back up the database and instance files; keep BACKUP_KEEP_DAYS days"),
    # Daily work, run hourly: each effect is recorded once (services/accreditation/
    # reminders), so extra runs only catch up sooner after a lab's midnight.
    "accreditations": Job(
        _accreditations, timedelta(hours=1), timedelta(minutes=30),
        "mark accreditations past their end expired; remind managers 90, 30 and 7 days "
        "before the end; tell verifiers of claims waiting more than 5 working days"),
    "write-open-data": Job(
        _write_open_data, timedelta(hours=1), timedelta(minutes=30),
        "once a day (first run of the UTC day) write the open-data files: the public "
        "catalogue as CSV, JSON, GeoJSON and JSON-LD"),
    "hand-on-seats": Job(
        _hand_on_seats, timedelta(minutes=5), timedelta(minutes=15),
        "seat offers not accepted in time lapse and pass to the next person waiting; seats "
        "free behind a waiting list are offered"),
    "remind-event-participants": Job(
        _remind_event_participants, timedelta(hours=1), timedelta(minutes=30),
        "remind registered people 24 h before an event starts, with its calendar file"),
}


@dataclass(frozen=True)
class JobOutcome:
    name: str
    status: str  # "ran" | "skipped"
    result: dict[str, Any] = field(default_factory=dict)
    holder: str = ""  # who holds the lease when skipped
    lease_until: datetime | None = None


def holder_id() -> str:
    """Who runs this job: host, process and a per-run suffix (two threads differ too)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:120]


# A scheduler's own next tick comes one interval after its last; timers drift a little.
PERIOD_SLACK = 0.1


def acquire_lease(name: str, holder: str, *, now: datetime, lease: timedelta,
                  period: timedelta | None = None) -> bool:
    """Take the job's lease if it is free or ended (and, with ``period``, no run started
    within it); committed at once on a connection of its own, so other runners see it
    before this one starts working."""
    table = JobLock.__table__
    with db.engine.begin() as conn:
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        # The row appears on first use, so a new job needs no migration.
        conn.execute(insert(table).values(name=name, last_status="")
                     .on_conflict_do_nothing(index_elements=["name"]))
        due = [or_(table.c.lease_until.is_(None), table.c.lease_until <= now)]
        if period is not None:
            due.append(or_(table.c.last_started_at.is_(None),
                           table.c.last_started_at <= now - period))
        taken = conn.execute(
            update(table)
            .where(table.c.name == name, and_(*due))
            .values(holder=holder, lease_until=now + lease, last_started_at=now))
        return taken.rowcount == 1


def release_lease(name: str, holder: str, *, finished_at: datetime, status: str) -> None:
    table = JobLock.__table__
    with db.engine.begin() as conn:
        conn.execute(update(table)
                     .where(table.c.name == name, table.c.holder == holder)
                     .values(holder=None, lease_until=None, last_finished_at=finished_at,
                             last_status=status, run_count=table.c.run_count + 1,
                             failure_count=table.c.failure_count
                             + (0 if status == "ok" else 1)))


def run_job(name: str, *, now: datetime, once_per_period: bool = False) -> JobOutcome:
    """Run job ``name`` once if no other runner holds it (and, with ``once_per_period``, no
    run started within its interval, less :data:`PERIOD_SLACK`); commit its work.

    Call it with no uncommitted writes in the session (on SQLite the lease's own
    connection would wait for them).

    :raises KeyError: for an unknown job name.
    """
    job = JOBS[name]
    holder = holder_id()
    period = job.interval * (1 - PERIOD_SLACK) if once_per_period else None
    if not acquire_lease(name, holder, now=now, lease=job.lease, period=period):
        row = db.session.get(JobLock, name, populate_existing=True)
        db.session.rollback()
        return JobOutcome(name, "skipped", holder=(row.holder or "") if row else "",
                          lease_until=row.lease_until if row else None)
    status = "failed"
    try:
        result = job.func(now=now) or {}
        db.session.commit()
        status = "ok"
        # The job's e-mail goes now, like a request's after its commit; what fails stays
        # queued for send-outbox.

        deliver_committed(current_app.config, now=clock.utcnow())
    except BaseException:
        db.session.rollback()
        log.exception("job %s failed", name)
        raise
    finally:
        release_lease(name, holder, finished_at=clock.utcnow(), status=status)
    return JobOutcome(name, "ran", result)


def build_scheduler(app: Any) -> Any:
    """An APScheduler BlockingScheduler running every job in :data:`JOBS` (memory job
    store, UTC interval triggers, a missed run coalesced into one; RELIABILITY §2.2.2)."""
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    scheduler = BlockingScheduler(timezone="UTC")
    for name, job in JOBS.items():
        seconds = int(job.interval.total_seconds())
        scheduler.add_job(_scheduled_run, IntervalTrigger(seconds=seconds, timezone="UTC"),
                          args=(app, name), id=name, name=name, coalesce=True,
                          max_instances=1, misfire_grace_time=seconds,
                          next_run_time=clock.utcnow())
    return scheduler


def _scheduled_run(app: Any, name: str) -> None:
    with app.app_context():
        try:
            outcome = run_job(name, now=clock.utcnow(), once_per_period=True)
            log.info("job %s: %s %s", name, outcome.status, outcome.result or outcome.holder)
        except Exception:
            # run_job logged the traceback; a failed run must not stop the scheduler.
            log.warning("job %s will be tried again at its next interval", name)
        finally:
            db.session.remove()
