"""Per-person e-mail preference and the daily digest.

A digest reader's mail is held (not sent after commit) unless it needs an action; the
digest job bundles each reader's held mail from before the daily cut-off (07:00 UTC) into
one e-mail, once, even with two runners.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from labnet.extensions import db
from labnet.models import OutboxEmail, User
from labnet.services.notifications import outbox as notifications
from labnet.services.notifications.outbox import deliver_committed, digest_cutoff, enqueue_email

DAY = datetime(2026, 3, 2, tzinfo=UTC)


def at(hour: float, day: int = 0) -> datetime:
    return DAY + timedelta(days=day, hours=hour)


@pytest.fixture
def readers(app, make_user):
    class R:
        pass

    r = R()
    r.digest = make_user(mail_mode="digest")
    r.immediate = make_user()
    return r


def _enqueue(app, to: str, subject: str, when: datetime, *, action: bool = False,
             deliver: bool = False) -> int:
    with app.test_request_context():
        user = db.session.scalar(select(User).where(User.email == to))
        row = enqueue_email("confirm_email", to, subject, {"user": user, "token": "t"},
                            now=when, action_required=action)
        db.session.commit()
        if deliver:
            deliver_committed(app.config, now=when)
        return row.id


def _statuses(app) -> dict[str, str]:
    with app.app_context():
        rows = db.session.execute(select(OutboxEmail.subject, OutboxEmail.status))
        return dict(rows.tuples().all())


def test_digest_reader_mail_is_held_and_not_delivered_after_commit(smtp, app, readers):
    _enqueue(app, readers.digest.email, "news for the digest", at(9), deliver=True)
    _enqueue(app, readers.digest.email, "please approve", at(9), action=True, deliver=True)
    _enqueue(app, readers.immediate.email, "news at once", at(9), deliver=True)
    _enqueue(app, "nobody@elsewhere.example", "to a non-user", at(9), deliver=True)
    assert _statuses(app) == {"news for the digest": "held", "please approve": "sent",
                              "news at once": "sent", "to a non-user": "sent"}
    assert sorted(m["Subject"] for m in smtp.messages) == [
        "news at once", "please approve", "to a non-user"]


@pytest.mark.parametrize(("now", "cutoff"), [
    (at(7), at(7)),
    (at(6, 1), at(7)),
    (at(7.5), at(7)),
    (at(6.99), at(7, -1)),
    (at(23.9), at(7)),
])
def test_digest_cutoff_is_the_latest_0700_utc(now, cutoff):
    assert digest_cutoff(now) == cutoff


def test_send_digests_bundles_held_mail_from_before_the_cutoff_once_a_day(app, readers):
    _enqueue(app, readers.digest.email, "early", at(5))
    _enqueue(app, readers.digest.email, "earlier", at(3))
    _enqueue(app, readers.digest.email, "after the cut-off", at(8))
    with app.test_request_context():
        assert notifications.send_digests(now=at(6)) == {"digests": 0, "messages": 0}
        assert notifications.send_digests(now=at(7.5)) == {"digests": 1, "messages": 2}
        db.session.commit()
        # Hourly runs the same day find nothing new: the 08:00 message waits for tomorrow.
        assert notifications.send_digests(now=at(9)) == {"digests": 0, "messages": 0}
        assert notifications.send_digests(now=at(7.1, 1)) == {"digests": 1, "messages": 1}
        db.session.commit()
        digests = db.session.scalars(select(OutboxEmail).where(OutboxEmail.kind == "digest")
                                     .order_by(OutboxEmail.id)).all()
        assert [(d.to_addr, d.subject, d.status) for d in digests] == [
            (readers.digest.email, "LabNet daily digest: 2 messages", "queued"),
            (readers.digest.email, "LabNet daily digest: 1 message", "queued"),
        ]
        first = digests[0].body_text
        assert first.index("earlier") < first.index("early\n") and "after the cut-off" not in first
    assert _statuses(app)["early"] == "digested"


def test_two_digest_runners_interleaved_send_one_digest(app, readers):
    _enqueue(app, readers.digest.email, "held one", at(5))
    with app.test_request_context():
        with app.test_request_context():  # a second runner finishes first
            assert notifications.send_digests(now=at(8))["digests"] == 1
            db.session.commit()
        assert notifications.send_digests(now=at(8))["digests"] == 0
        db.session.commit()
        count = db.session.scalars(select(OutboxEmail.id).where(OutboxEmail.kind == "digest"))
        assert len(count.all()) == 1


def test_digest_html_escapes_what_users_typed(app, readers):
    _enqueue(app, readers.digest.email, "<script>alert(1)</script> & more", at(5))
    with app.test_request_context():
        notifications.send_digests(now=at(8))
        db.session.commit()
        row = db.session.scalar(select(OutboxEmail).where(OutboxEmail.kind == "digest"))
    assert "<script>" not in row.body_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in row.body_html


def test_send_digests_job_through_the_cli_delivers_one_email(smtp, app, runner, readers,
                                                              frozen_clock):
    _enqueue(app, readers.digest.email, "first news", at(1))
    _enqueue(app, readers.digest.email, "second news", at(2))
    frozen_clock.move_to(at(7.25))
    result = runner.invoke(args=["labnet", "jobs", "run", "send-digests"])
    assert result.exit_code == 0, result.output
    assert "send-digests: done (digests 1, messages 2)" in result.output
    [message] = smtp.to(readers.digest.email)
    assert message["Subject"] == "LabNet daily digest: 2 messages"
    body = smtp.text(message)
    assert "first news" in body and "second news" in body
    again = runner.invoke(args=["labnet", "jobs", "run", "send-digests"])
    assert "nothing to do" in again.output and len(smtp.messages) == 1


def test_a_booking_request_reaches_a_digest_manager_at_once_and_the_requester_later(
        app, make_lab, make_equipment, make_user, make_org):
    from datetime import time

    from labnet.models import OpeningHours
    from labnet.services.booking import engine as booking_service
    from labnet.services.booking.availability import local_to_utc

    lab = make_lab(timezone="Europe/Berlin", requires_approval=True)
    with app.app_context():
        for day in range(5):
            db.session.add(OpeningHours(lab_id=lab.id, weekday=day, opens_at=time(8),
                                        closes_at=time(17)))
        db.session.commit()
    sem = make_equipment(lab, booking_unit="hour")
    manager = make_user(manages=(lab,), mail_mode="digest")
    member = make_user(organisation=make_org(kind="company", size_class="small"),
                       mail_mode="digest")
    start = local_to_utc(datetime(2026, 3, 11, 9), "Europe/Berlin")
    with app.test_request_context():
        booking_service.request_booking(db.session.get(User, member.id), sem.id, start,
                                        start + timedelta(hours=1), "Imaging", now=at(9))
        db.session.commit()
        rows = db.session.execute(select(OutboxEmail.kind, OutboxEmail.to_addr,
                                         OutboxEmail.status)).tuples().all()
    assert sorted(rows) == [("booking_received", member.email, "held"),
                            ("booking_requested", manager.email, "queued")]


def test_a_secret_link_held_for_the_digest_works_in_the_digest_and_is_kept_nowhere(
        smtp, app, readers, client):
    # Issue 10: the held message's confirm link goes out inside the digest; after that
    # neither the bundled row nor the digest row holds it.
    with app.test_request_context():
        user = db.session.get(User, readers.digest.id)
        enqueue_email("confirm_email", user.email, "confirm inside", {"user": user,
                      "token": "SECRET-TOKEN-42"}, now=at(5))
        db.session.commit()
    with app.app_context():
        notifications.send_digests(now=at(8))
        db.session.commit()
        deliver_committed(app.config, now=at(8))
    [digest] = smtp.to(readers.digest.email)
    assert "/account/confirm/SECRET-TOKEN-42" in smtp.text(digest)
    with app.app_context():
        rows = db.session.scalars(select(OutboxEmail)).all()
        assert {r.status for r in rows} == {"digested", "sent"}
        for row in rows:
            stored = f"{row.body_text} {row.body_html} {row.redacted_text} {row.redacted_html}"
            assert "SECRET-TOKEN-42" not in stored
            assert "[link removed after sending]" in row.body_text
