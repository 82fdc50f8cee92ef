"""Security review, issue 10: e-mailed links, the outbox and mail delivery.

- Links that leave the site are built from the configured ``BASE_URL``, never from the
  request's Host header (a forged Host must not poison a reset e-mail), and production
  answers 400 to any other Host.
- Production refuses to start without ``BASE_URL`` or ``MAIL_SERVER``.
- The admin outbox never shows a working secret link once the mail is sent (nor, in
  production, before), and the log never holds a mail body.
- One message that cannot be delivered blocks nothing; CR/LF never reaches a header.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from labnet import clock, create_app
from labnet.extensions import db
from labnet.models import OutboxEmail, Role, User
from labnet.models.booking import Booking
from tests.fixtures.app import TEST_CONFIG
from tests.fixtures.auth import csrf_from, login_as
from tests.fixtures.factories import PASSWORD

BASE = "https://labnet.example.org"
RESET_LINK = re.compile(r"https?://[^\s\"'<>]+/account/reset/([A-Za-z0-9._-]+)")
REDACTED = "[link removed after sending]"


def _reset_from(client, email: str, *, base_url: str = "http://labnet.test"):
    form = client.get("/account/reset", base_url=base_url)
    # Buffered, as a server sends it: the reset mail goes out once the response is closed.
    return client.post("/account/reset", base_url=base_url, buffered=True,
                       data={"csrf_token": csrf_from(form.get_data(as_text=True)),
                             "email": email})


def _rows(app, kind: str | None = None) -> list[OutboxEmail]:
    with app.app_context():
        stmt = select(OutboxEmail).order_by(OutboxEmail.id)
        if kind:
            stmt = stmt.where(OutboxEmail.kind == kind)
        rows = list(db.session.scalars(stmt))
        for row in rows:
            db.session.expunge(row)
        return rows


# -- 1. links from the configured base URL -------------------------------------------------


@pytest.mark.parametrize("app_config", [{"BASE_URL": BASE, "SERVER_NAME": None}])
def test_reset_requested_with_a_forged_host_mails_a_link_to_the_configured_base(
        smtp, app, client, make_user):
    user = make_user()
    response = _reset_from(client, user.email, base_url="http://evil.example")
    assert response.status_code == 302
    [message] = smtp.to(user.email)
    text = smtp.text(message)
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "evil.example" not in text and "evil.example" not in html
    assert f"{BASE}/account/reset/" in text and f"{BASE}/account/reset/" in html
    # The link works on the real site.
    path = text[text.index(BASE) + len(BASE):].split()[0]
    assert client.get(path, base_url=BASE).status_code == 200


def _confirmed_booking_in_30_hours(app, make_lab, make_equipment, make_user, make_org,
                                   **equipment) -> User:
    lab = make_lab(timezone="Europe/Berlin")
    sem = make_equipment(lab, **equipment)
    member = make_user(organisation=make_org(kind="company", size_class="small"))
    start = clock.utcnow().replace(microsecond=0) + timedelta(hours=30)
    with app.app_context():
        db.session.add(Booking(
            reference="LN-2026-900001", equipment_id=sem.id, lab_id=lab.id,
            requester_id=member.id, organisation_id=member.organisation_id, purpose="Imaging",
            start_at=start, end_at=start + timedelta(hours=1), blocked_start=start,
            status="confirmed", unit="hour", units=1, rate_kind="sme",
            rate_applied=Decimal("120"), price_estimate=Decimal("120"), currency="EUR",
            created_at=start - timedelta(days=5), updated_at=start - timedelta(days=5)))
        db.session.commit()
    return member


@pytest.mark.parametrize("app_config", [{"BASE_URL": BASE, "SERVER_NAME": None}])
def test_a_booking_reminder_sent_by_the_scheduler_links_to_the_base_url(
        app, runner, make_lab, make_equipment, make_user, make_org):
    _confirmed_booking_in_30_hours(app, make_lab, make_equipment, make_user, make_org)
    result = runner.invoke(args=["labnet", "jobs", "run", "send-reminders"])
    assert result.exit_code == 0, result.output
    [row] = _rows(app, "booking_reminder")
    assert f"{BASE}/bookings/cancel/" in row.body_text
    assert "127.0.0.1" not in row.body_text + row.body_html


def _production(tmp_path, **settings):
    config = {**TEST_CONFIG, "ENV_NAME": "production", "TESTING": False,
              "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite'}", **settings}
    return create_app(config, instance_path=str(tmp_path / "instance"))


@pytest.mark.parametrize(("missing", "setting"), [
    ("BASE_URL", "LABNET_BASE_URL"),
    ("MAIL_SERVER", "LABNET_MAIL_SERVER"),
    ("SECRET_KEY", "LABNET_SECRET_KEY"),
    ("OPERATOR_NAME", "LABNET_OPERATOR_NAME"),
    ("OPERATOR_ADDRESS", "LABNET_OPERATOR_ADDRESS"),
    ("OPERATOR_EMAIL", "LABNET_OPERATOR_EMAIL"),
    ("REDIS_URL", "LABNET_REDIS_URL"),
])
def test_production_refuses_to_start_without_a_required_setting(tmp_path, missing, setting):
    settings = {"BASE_URL": BASE, "MAIL_SERVER": "smtp.example.org",
                "SECRET_KEY": "k" * 40, "REDIS_URL": "redis://127.0.0.1:6379/5",
                "ALLOW_NO_REDIS": False, missing: None}
    with pytest.raises(RuntimeError, match=setting):
        _production(tmp_path, **settings)


def test_production_base_url_must_be_https_and_a_plain_origin(tmp_path):
    for wrong in ("http://labnet.example.org", "labnet.example.org", "https://x.org/?a=1"):
        with pytest.raises(RuntimeError, match="BASE_URL"):
            _production(tmp_path, BASE_URL=wrong, MAIL_SERVER="smtp.example.org")


def test_production_answers_400_to_a_foreign_host(tmp_path):
    app = _production(tmp_path, BASE_URL=BASE, MAIL_SERVER="smtp.example.org")
    client = app.test_client()
    assert client.get("/ping", base_url=BASE).status_code == 200
    assert client.get("/ping", base_url="https://evil.example").status_code == 400
    assert client.get("/ping", base_url=BASE, headers={"Host": "evil.example"}).status_code == 400


def test_development_defaults_to_the_local_server_as_base_url(tmp_path):
    config = {**TEST_CONFIG, "ENV_NAME": "development", "TESTING": False, "BASE_URL": None,
              "DATABASE_URL": f"sqlite:///{tmp_path / 'dev.sqlite'}"}
    app = create_app(config, instance_path=str(tmp_path / "instance"))
    assert app.config["BASE_URL"] == "http://127.0.0.1:5000"
    from labnet.links import external_url

    with app.app_context():
        assert external_url("auth.reset", token="t") == "http://127.0.0.1:5000/account/reset/t"


# -- 7. the outbox shows no working secret ---------------------------------------------------


def test_after_delivery_the_outbox_shows_no_working_reset_link(smtp, app, client, make_user):
    user = make_user()
    admin = make_user(roles=(Role.ADMIN,))
    _reset_from(client, user.email)
    [message] = smtp.to(user.email)
    token = RESET_LINK.search(smtp.text(message)).group(1)
    assert client.get(f"/account/reset/{token}").status_code == 200  # the mailed link works

    [row] = _rows(app, "reset_password")
    assert row.status == "sent"
    stored = " ".join(str(getattr(row, c.key)) for c in OutboxEmail.__table__.columns)
    assert token not in stored
    assert REDACTED in row.body_text and REDACTED in row.body_html
    admin_client = app.test_client()
    login_as(admin_client, admin)
    shown = admin_client.get(f"/admin/outbox/{row.id}").get_data(as_text=True)
    assert token not in shown and REDACTED in shown
    assert "/account/reset/" not in shown


def test_unsent_mail_in_development_stays_readable_for_the_admin(client, app, make_user):
    # Without an SMTP server (development) the outbox is how a developer follows links.
    user = make_user()
    admin = make_user(roles=(Role.ADMIN,))
    _reset_from(client, user.email)
    [row] = _rows(app, "reset_password")
    assert row.status == "logged"
    admin_client = app.test_client()
    login_as(admin_client, admin)
    shown = admin_client.get(f"/admin/outbox/{row.id}").get_data(as_text=True)
    assert RESET_LINK.search(shown)


@pytest.mark.parametrize("app_config", [{
    "ENV_NAME": "production", "TESTING": False, "BASE_URL": BASE,
    "MAIL_SERVER": "smtp.example.org"}])
def test_production_outbox_hides_the_secrets_of_unsent_mail(app, make_user):
    from labnet.services.notifications import outbox as notifications

    victim = make_user()
    admin = make_user(roles=(Role.ADMIN,))
    with app.app_context():
        row = notifications.enqueue_email(
            "reset_password", victim.email, "Reset your LabNet password",
            {"user": db.session.get(User, victim.id), "token": "TOKEN-abc123", "minutes": 60},
            now=clock.utcnow())
        db.session.commit()  # queued, not delivered (no request, no job ran)
        row_id = row.id
        assert "TOKEN-abc123" in row.body_text  # what will be sent
    https = {"base_url": BASE, "headers": {"Referer": f"{BASE}/login"}}
    client = app.test_client()
    token = csrf_from(client.get("/login", **https).get_data(as_text=True))
    assert client.post("/login", data={"csrf_token": token, "email": admin.email,
                                       "password": PASSWORD}, **https).status_code == 302
    shown = client.get(f"/admin/outbox/{row_id}", **https)
    assert shown.status_code == 200
    assert "TOKEN-abc123" not in shown.text and REDACTED in shown.text


# -- 14. no mail bodies in the log -----------------------------------------------------------


def test_without_smtp_the_log_names_recipient_and_subject_but_not_the_body(
        client, app, make_user, caplog):
    user = make_user()
    with caplog.at_level(logging.INFO, logger="labnet.mail"):
        _reset_from(client, user.email)
    [row] = _rows(app, "reset_password")
    token = RESET_LINK.search(row.body_text).group(1)
    assert user.email in caplog.text and "Reset your LabNet password" in caplog.text
    assert token not in caplog.text and "/account/reset/" not in caplog.text


# -- 6. one bad message blocks nothing; headers are safe ---------------------------------------


def _queue(app, to: str, subject: str, *, minutes_ago: int = 10) -> int:
    with app.app_context():
        row = OutboxEmail(created_at=clock.utcnow() - timedelta(minutes=minutes_ago),
                          kind="confirm_email", to_addr=to, subject=subject,
                          body_text="Hello", body_html="<p>Hello</p>", status="queued")
        db.session.add(row)
        db.session.commit()
        return row.id


def test_a_subject_with_crlf_is_delivered_on_one_line_and_blocks_nothing(smtp, app, runner):
    _queue(app, "first@example.org", "First")
    _queue(app, "second@example.org", "Microscope\r\nBcc: attacker@evil.example")
    _queue(app, "third@example.org", "Third")
    for _ in range(2):
        result = runner.invoke(args=["labnet", "jobs", "run", "send-outbox"])
        assert result.exit_code == 0, result.output
    assert sorted(m["To"] for m in smtp.messages) == [
        "first@example.org", "second@example.org", "third@example.org"]
    [second] = smtp.to("second@example.org")
    assert second["Bcc"] is None and "\n" not in second["Subject"]
    assert {r.status for r in _rows(app)} == {"sent"}


def test_a_legacy_equipment_name_with_crlf_cannot_forge_a_header_of_the_booking_mail(
        smtp, app, runner, make_lab, make_equipment, make_user, make_org):
    # Written before the single-line rule (the factory bypasses the services).
    member = _confirmed_booking_in_30_hours(
        app, make_lab, make_equipment, make_user, make_org,
        name="Microscope\r\nBcc: attacker@evil.example")
    result = runner.invoke(args=["labnet", "jobs", "run", "send-reminders"])
    assert result.exit_code == 0, result.output
    [message] = smtp.messages
    assert message["To"] == member.email and message["Bcc"] is None
    assert " ".join(message["Subject"].split()).startswith(
        "Reminder: Microscope Bcc: attacker@evil.example")
    [row] = _rows(app, "booking_reminder")
    assert row.status == "sent" and "\n" not in row.subject


def test_an_undeliverable_message_is_marked_failed_once_and_the_others_go(
        smtp, app, runner, make_user, client):
    _queue(app, "first@example.org", "First")
    bad = _queue(app, "", "No recipient")  # the SMTP server refuses every recipient
    _queue(app, "third@example.org", "Third")
    for _ in range(3):
        result = runner.invoke(args=["labnet", "jobs", "run", "send-outbox"])
        assert result.exit_code == 0, result.output
    assert sorted(m["To"] for m in smtp.messages) == ["first@example.org", "third@example.org"]
    rows = {r.id: r for r in _rows(app)}
    assert rows[bad].status == "failed" and rows[bad].last_error
    assert rows[bad].attempts == 1  # a permanent refusal is not tried again
    admin = make_user(roles=(Role.ADMIN,))
    login_as(client, admin)
    listing = client.get("/admin/outbox").get_data(as_text=True)
    assert "failed" in listing and "No recipient" in listing
