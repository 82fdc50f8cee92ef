"""The booking jobs: expire holds, reminders (and hold warnings), completion, outbox.

Table-driven data with a frozen clock (STYLE §10), the same jobs through
``flask labnet jobs run``, two runners at once (interleaved sessions, and two CLI processes
on one SQLite file), and a scheduler that was down for hours.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from labnet import clock
from labnet.extensions import db
from labnet.models import AuditEvent, Lab, OutboxEmail
from labnet.models.booking import Booking
from labnet.services.booking import engine as booking_service
from labnet.services.booking import reminders

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday
H = timedelta(hours=1)


@pytest.fixture
def world(app, make_lab, make_equipment, make_user, make_org):
    lab = make_lab(timezone="Europe/Berlin", hold_hours=24, min_lead_hours=0)
    sem = make_equipment(lab, booking_unit="hour")
    sem2 = make_equipment(lab, booking_unit="hour")

    class W:
        pass

    w = W()
    w.lab, w.sem, w.sem2 = lab, sem, sem2
    w.manager = make_user(manages=(lab,))
    w.member = make_user(organisation=make_org(kind="company", size_class="small"))
    return w


_seq = iter(range(1, 10**6))


def raw_booking(app, w, start: datetime, *, status: str = "confirmed", hours: int = 1,
                created: datetime | None = None, hold_until: datetime | None = None,
                purpose: str = "Imaging of coated samples", second: bool = False) -> int:
    """Insert a booking directly (any state, any time: the rules are not under test)."""
    n = next(_seq)
    created = created or start - timedelta(days=5)
    with app.app_context():
        equipment = w.sem2 if second else w.sem
        b = Booking(reference=f"LN-2026-{n:06d}", equipment_id=equipment.id, lab_id=w.lab.id,
                    requester_id=w.member.id, organisation_id=w.member.organisation_id,
                    purpose=purpose, start_at=start, end_at=start + hours * H,
                    blocked_start=start, status=status, hold_until=hold_until, unit="hour",
                    units=hours, rate_kind="sme", rate_applied=Decimal("120"),
                    price_estimate=Decimal(120 * hours), currency="EUR", created_at=created,
                    updated_at=created)
        db.session.add(b)
        db.session.commit()
        return b.id


def _booking(app, booking_id: int) -> Booking:
    with app.app_context():
        b = db.session.get(Booking, booking_id)
        db.session.expunge(b)
        return b


def _mails(app, kind: str) -> list[tuple[str, str]]:
    with app.app_context():
        return list(db.session.execute(
            select(OutboxEmail.to_addr, OutboxEmail.subject).where(OutboxEmail.kind == kind)
            .order_by(OutboxEmail.id)).tuples())


# --- reminders ---------------------------------------------------------------------------

REMINDER_TABLE = [
    # (name, status, start relative to NOW, reminded?)
    ("47h ahead: inside the 48 h lead", "confirmed", 47 * H, True),
    ("exactly 48h ahead: the window's edge", "confirmed", 48 * H, True),
    ("49h ahead: too early", "confirmed", 49 * H, False),
    ("2h ahead: confirmed late, caught up", "confirmed", 2 * H, True),
    ("started an hour ago: too late", "confirmed", -H, False),
    ("pending: nothing to remind yet", "pending", 30 * H, False),
    ("cancelled", "cancelled", 30 * H, False),
]


def test_send_reminders_reminds_each_due_confirmed_booking_once(app, world):
    ids = {name: raw_booking(app, world, NOW + offset, status=status,
                             hold_until=NOW + 20 * H if status == "pending" else None)
           for name, status, offset, _ in REMINDER_TABLE}
    with app.app_context():
        result = reminders.send_reminders(now=NOW)
        db.session.commit()
    assert result["reminders"] == sum(1 for row in REMINDER_TABLE if row[3])
    for name, _status, _offset, reminded in REMINDER_TABLE:
        sent_at = _booking(app, ids[name]).reminder_sent_at
        assert (sent_at == NOW) if reminded else (sent_at is None), name
    mails = _mails(app, "booking_reminder")
    assert len(mails) == result["reminders"]
    assert {to for to, _ in mails} == {world.member.email}
    with app.app_context():
        again = reminders.send_reminders(now=NOW + 10 * timedelta(minutes=1))
        db.session.commit()
    assert again["reminders"] == 0 and len(_mails(app, "booking_reminder")) == len(mails)


def test_reminder_carries_a_signed_cancel_link_and_escapes_the_purpose(app, client, world,
                                                                       frozen_clock):
    frozen_clock.move_to(NOW)
    booking_id = raw_booking(app, world, NOW + 30 * H, purpose="<b>etch</b> & polish")
    with app.app_context():
        reminders.send_reminders(now=NOW)
        db.session.commit()
        row = db.session.scalar(select(OutboxEmail).where(OutboxEmail.kind == "booking_reminder"))
        text_body, html_body = row.body_text, row.body_html
    assert "&lt;b&gt;etch&lt;/b&gt; &amp; polish" in html_body and "<b>etch" not in html_body
    assert "<b>etch</b> & polish" in text_body
    assert "http://labnet.test/bookings/cancel/" in text_body
    token = text_body.split("/bookings/cancel/")[1].split()[0]
    with app.app_context():
        from labnet import security

        payload = security.read_token(reminders.CANCEL_SALT, token, 3600, now=NOW)
    assert payload == {"b": booking_id}
    page = client.get(f"/bookings/cancel/{token}")  # the link works (GET only asks)
    assert page.status_code == 200 and _booking(app, booking_id).reference in page.text


def test_two_reminder_runners_interleaved_send_one_email_per_booking(app, world):
    booking_id = raw_booking(app, world, NOW + 30 * H)
    with app.app_context():
        seen_by_first = reminders._due_reminders(NOW, 0)  # the first runner found it...
        with app.app_context():  # ...then a second runner (its own session) does it all
            assert reminders.send_reminders(now=NOW)["reminders"] == 1
            db.session.commit()
        assert seen_by_first == [booking_id]
        # The first runner's compare-and-set finds reminder_sent_at already set.
        assert sum(reminders._remind(i, NOW) for i in seen_by_first) == 0
        db.session.commit()
    assert len(_mails(app, "booking_reminder")) == 1


# --- hold warnings -----------------------------------------------------------------------

HOLD_TABLE = [
    # (name, hold_until relative to NOW, warned?)
    ("hold ends in 10h", 10 * H, True),
    ("hold ends in exactly 12h", 12 * H, True),
    ("hold ends in 18h: too early", 18 * H, False),
    ("hold already ended: expire-holds' business", -H, False),
    ("a 6h hold made 1h ago: the request mail said it", 5 * H, False),
]


def test_hold_warnings_go_to_the_managers_once_per_booking(app, world, make_user):
    second_manager = make_user(manages=(world.lab,))
    ids = {name: raw_booking(app, world, NOW + (40 + 2 * i) * H, status="pending",
                             hold_until=NOW + hold,
                             created=NOW - H if "made 1h ago" in name else None)
           for i, (name, hold, _) in enumerate(HOLD_TABLE)}
    with app.app_context():
        assert reminders.send_reminders(now=NOW)["hold warnings"] == 2
        db.session.commit()
        assert reminders.send_reminders(now=NOW + H)["hold warnings"] == 0  # once only
        db.session.commit()
    mails = _mails(app, "hold_expiring")
    assert sorted(to for to, _ in mails) == sorted([world.manager.email, second_manager.email] * 2)
    for name, _hold, warned in HOLD_TABLE:
        reference = _booking(app, ids[name]).reference
        assert any(reference in subject for _, subject in mails) == warned, name


def test_hold_warning_ignores_digest_preference_because_it_needs_a_decision(app, world):
    with app.app_context():
        from labnet.models import User

        db.session.get(User, world.manager.id).mail_mode = "digest"
        db.session.commit()
    raw_booking(app, world, NOW + 40 * H, status="pending", hold_until=NOW + 5 * H)
    with app.app_context():
        reminders.send_reminders(now=NOW)
        db.session.commit()
        status = db.session.scalar(select(OutboxEmail.status)
                                   .where(OutboxEmail.kind == "hold_expiring"))
    assert status == "queued"


# --- completion and expiry ---------------------------------------------------------------

COMPLETE_TABLE = [
    ("ended yesterday", "confirmed", -26 * H, "completed"),
    ("ends exactly now", "confirmed", -H, "completed"),
    ("still running (other equipment)", "confirmed", -H / 2, "confirmed"),
    ("in the future", "confirmed", 5 * H, "confirmed"),
    ("cancelled in the past stays cancelled", "cancelled", -30 * H, "cancelled"),
    ("pending in the past is expire-holds' business", "pending", -50 * H, "pending"),
]


def test_complete_bookings_completes_confirmed_bookings_that_have_ended(app, world):
    ids = {name: raw_booking(app, world, NOW + offset, status=status,
                             hold_until=NOW + offset if status == "pending" else None,
                             second="other equipment" in name)
           for name, status, offset, _ in COMPLETE_TABLE}
    with app.app_context():
        assert reminders.complete_bookings(now=NOW) == {"completed": 2}
        db.session.commit()
        assert reminders.complete_bookings(now=NOW) == {"completed": 0}
        audits = db.session.scalar(select(func.count(AuditEvent.id))
                                   .where(AuditEvent.action == "booking.completed"))
    assert audits == 2
    for name, _status, _offset, expected in COMPLETE_TABLE:
        b = _booking(app, ids[name])
        assert b.status == expected, name
        if expected == "completed":
            assert b.sequence == 0  # the calendar entry does not change
    assert _mails(app, "booking_completed") == []


def test_jobs_run_each_booking_job_through_the_cli(app, runner, world, frozen_clock):
    frozen_clock.move_to(NOW)
    expiring = raw_booking(app, world, NOW + 30 * H, status="pending", hold_until=NOW - H)
    reminded = raw_booking(app, world, NOW + 20 * H)
    ended = raw_booking(app, world, NOW - 3 * H)
    out = {name: runner.invoke(args=["labnet", "jobs", "run", name])
           for name in ("expire-holds", "send-reminders", "complete-bookings", "send-outbox",
                        "send-digests")}
    for name, result in out.items():
        assert result.exit_code == 0, (name, result.output)
    assert "expire-holds: done (expired 1)" in out["expire-holds"].output
    assert "send-reminders: done (reminders 1)" in out["send-reminders"].output
    assert "complete-bookings: done (completed 1)" in out["complete-bookings"].output
    assert "send-digests: done (nothing to do)" in out["send-digests"].output
    assert _booking(app, expiring).status == "expired"
    assert _booking(app, reminded).reminder_sent_at == NOW
    assert _booking(app, ended).status == "completed"
    again = runner.invoke(args=["labnet", "jobs", "run", "expire-holds"])
    assert "nothing to do" in again.output


def test_send_outbox_job_delivers_what_was_left_queued(smtp, app, runner, world, frozen_clock):
    frozen_clock.move_to(NOW)
    raw_booking(app, world, NOW + 30 * H)
    with app.app_context():
        reminders.send_reminders(now=NOW - 5 * timedelta(minutes=1))  # queued, never delivered
        db.session.commit()
        db.session.info.clear()
    result = runner.invoke(args=["labnet", "jobs", "run", "send-outbox"])
    assert "send-outbox: done (delivered 1)" in result.output
    [message] = smtp.to(world.member.email)
    assert message["Subject"].startswith("Reminder:")
    again = runner.invoke(args=["labnet", "jobs", "run", "send-outbox"])
    assert "nothing to do" in again.output and len(smtp.messages) == 1


def test_send_outbox_leaves_messages_just_committed_to_the_web_process(app, world):
    raw_booking(app, world, NOW + 30 * H)
    with app.app_context():
        reminders.send_reminders(now=NOW)
        db.session.commit()
        from labnet.services.notifications.outbox import send_outbox

        assert send_outbox(app.config, now=NOW + timedelta(seconds=30)) == {"delivered": 0}
        assert send_outbox(app.config, now=NOW + timedelta(minutes=3)) == {"delivered": 1}
        db.session.commit()


def test_a_scheduler_down_for_hours_catches_up_in_one_run_per_job(app, runner, world,
                                                                  frozen_clock):
    # The scheduler stopped at NOW; it comes back six hours later.
    back = NOW + 6 * H
    frozen_clock.move_to(back)
    holds = [raw_booking(app, world, NOW + (30 + i) * H, status="pending",
                         hold_until=NOW + i * H) for i in range(4)]  # ended 6h..3h ago
    ended = [raw_booking(app, world, NOW - (10 + i) * H) for i in range(0, 8, 2)]
    due = [raw_booking(app, world, NOW + (50 + i) * H) for i in range(3)]  # now ≤ 48h ahead
    for name in ("expire-holds", "send-reminders", "complete-bookings"):
        assert runner.invoke(args=["labnet", "jobs", "run", name]).exit_code == 0
    assert {_booking(app, i).status for i in holds} == {"expired"}
    assert {_booking(app, i).status for i in ended} == {"completed"}
    assert {_booking(app, i).reminder_sent_at for i in due} == {back}
    assert len(_mails(app, "booking_expired")) == 4
    assert len(_mails(app, "booking_reminder")) == 3


def test_two_expiry_runners_interleaved_expire_each_booking_once(app, world):
    booking_id = raw_booking(app, world, NOW + 30 * H, status="pending", hold_until=NOW - H)
    with app.app_context():
        # The second runner read the due rows before the first one committed...
        stale = db.session.scalars(select(Booking.id).where(Booking.status == "pending")).all()
        with app.app_context():
            assert booking_service.expire_holds(now=NOW) == 1
            db.session.commit()
        # ...and its compare-and-set then finds the booking no longer pending.
        assert stale == [booking_id]
        assert booking_service.expire_holds(now=NOW) == 0
        db.session.commit()
    assert _booking(app, booking_id).status == "expired"
    assert len(_mails(app, "booking_expired")) == 1


# --- two real processes ------------------------------------------------------------------


def _cli_env(app, tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "FLASK_APP": "labnet:create_app",
        "LABNET_DATABASE_URL": app.config["DATABASE_URL"],
        "LABNET_SECRET_KEY": "test-secret-key-not-for-production",
        "LABNET_BASE_URL": "http://labnet.test",
        "LABNET_ENV_NAME": "testing",
    })
    return env


@pytest.mark.slow
@pytest.mark.skipif(bool(os.environ.get("LABNET_TEST_DATABASE_URL")),
                    reason="the SQLite file variant; PostgreSQL runs the in-process tests")
@pytest.mark.parametrize("app_config", [{"SQLITE_TEST_PRAGMAS": False}])
def test_two_cli_processes_at_once_act_once_per_booking(app, world, tmp_path):
    # Real time: the processes read the system clock.
    now = clock.utcnow().replace(minute=0, second=0, microsecond=0)
    pending = [raw_booking(app, world, now + (30 + i) * H, status="pending",
                           hold_until=now - H) for i in range(5)]
    confirmed = [raw_booking(app, world, now + (36 + i) * H) for i in range(5)]
    env = _cli_env(app, tmp_path)
    flask = str(Path(sys.executable).with_name("flask"))
    procs = [subprocess.Popen([flask, "labnet", "jobs", "run", job], env=env,  # noqa: S603
                              cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
             for job in ("expire-holds", "send-reminders") * 2]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outputs
    assert {_booking(app, i).status for i in pending} == {"expired"}
    assert all(_booking(app, i).reminder_sent_at is not None for i in confirmed)
    expired, reminded = _mails(app, "booking_expired"), _mails(app, "booking_reminder")
    assert len(expired) == 5 and len({s for _, s in expired}) == 5
    assert len(reminded) == 5 and len({s for _, s in reminded}) == 5


def test_scheduler_runs_every_booking_job_on_a_utc_interval_with_catch_up(app):
    from labnet import jobs

    scheduler = jobs.build_scheduler(app)
    assert scheduler._jobstores == {}  # none configured: APScheduler's MemoryJobStore
    assert str(scheduler.timezone) == "UTC"
    registered = {job.id: job for job in scheduler.get_jobs()}
    for name in ("expire-holds", "send-reminders", "complete-bookings", "send-outbox",
                 "send-digests"):
        job, seconds = registered[name], int(jobs.JOBS[name].interval.total_seconds())
        assert job.trigger.interval == jobs.JOBS[name].interval
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, seconds)
        assert jobs.JOBS[name].lease > timedelta(minutes=5)


# --- the reminder leaves early enough for its cancel link (DESIGN rule 8) -----------------


@pytest.mark.parametrize(("deadline_hours", "lead_hours"), [(0, 48), (24, 48), (48, 72), (96, 120)])
def test_the_reminder_leaves_a_day_before_the_labs_cancellation_deadline(
        app, world, deadline_hours, lead_hours):
    with app.app_context():
        db.session.get(Lab, world.lab.id).cancel_deadline_hours = deadline_hours
        db.session.commit()
    assert reminders.reminder_lead(deadline_hours) == lead_hours * H
    due = raw_booking(app, world, NOW + lead_hours * H)
    early = raw_booking(app, world, NOW + (lead_hours + 1) * H, second=True)
    with app.app_context():
        assert reminders.send_reminders(now=NOW)["reminders"] == 1
        db.session.commit()
        row = db.session.scalar(select(OutboxEmail).where(OutboxEmail.kind == "booking_reminder"))
        body = row.body_text
    assert _booking(app, due).reminder_sent_at == NOW
    assert _booking(app, early).reminder_sent_at is None
    # The link works at least a day longer, and the mail says until when.
    cancel_until = NOW + (lead_hours - deadline_hours) * H
    assert cancel_until - NOW >= 24 * H
    local = clock.to_zone(cancel_until, "Europe/Berlin")
    assert f"cancel it with one click until {local:%Y-%m-%d %H:%M}" in body
    assert "/bookings/cancel/" in body
    assert f"http://labnet.test/bookings/{due}" in body  # and the booking itself


def test_a_reminder_after_the_deadline_offers_no_cancel_link(app, world):
    booking_id = raw_booking(app, world, NOW + 2 * H)  # confirmed late: past the 24 h deadline
    with app.app_context():
        reminders.send_reminders(now=NOW)
        db.session.commit()
        row = db.session.scalar(select(OutboxEmail).where(OutboxEmail.kind == "booking_reminder"))
    assert _booking(app, booking_id).reminder_sent_at == NOW
    assert "/bookings/cancel/" not in row.body_text and "/bookings/cancel/" not in row.body_html
    assert "can no longer be cancelled online" in row.body_text
    assert f"http://labnet.test/bookings/{booking_id}" in row.body_text
