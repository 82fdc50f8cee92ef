"""Operating LabNet (issue 16): /health, /ready, /metrics, request ids and JSON logs,
shared cache versions, the scheduler's once-per-period lease, mail backoff and dead letters."""

from __future__ import annotations

import json
import logging
import socket
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from labnet import caches, clock, jobs
from labnet.extensions import db
from labnet.logs import JsonFormatter, RequestIdFilter
from labnet.models import JobLock, OutboxEmail, Role
from labnet.services.notifications import outbox
from tests.fixtures.auth import csrf_from, login_as

TOKEN = "scrape-me-" + "x" * 20


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_health_answers_without_asking_the_database(client):
    response = client.get("/health")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_ready_checks_the_database_and_the_migrations(client):
    response = client.get("/ready")
    assert response.status_code == 200
    body = response.get_json()
    assert body["ready"] is True
    assert body["checks"] == {"database": "ok", "migrations": "ok"}


def test_ready_refuses_when_the_migrations_are_behind(app, client):
    with app.app_context():
        [current] = db.session.scalars(text("SELECT version_num FROM alembic_version")).all()
        db.session.execute(text("UPDATE alembic_version SET version_num = 'older'"))
        db.session.commit()
    try:
        response = client.get("/ready")
        assert response.status_code == 503 and response.headers["Retry-After"] == "5"
        assert "flask db upgrade" in response.get_json()["checks"]["migrations"]
    finally:
        with app.app_context():
            db.session.execute(text("UPDATE alembic_version SET version_num = :v"),
                               {"v": current})
            db.session.commit()


@pytest.mark.parametrize("app_config", [{"REDIS_URL": f"redis://127.0.0.1:{_closed_port()}/5"}])
def test_ready_refuses_when_redis_does_not_answer_and_pages_still_work(client):
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.get_json()["checks"]["redis"].startswith("unavailable")
    # The caches lose their server: pages are built afresh, never a 500.
    assert client.get("/map/labs.geojson?q=laser").status_code == 200
    assert client.get("/labs").status_code == 200


def test_metrics_are_off_without_a_token(client):
    assert client.get("/metrics").status_code == 404


@pytest.mark.parametrize("app_config", [{"METRICS_TOKEN": TOKEN}])
def test_metrics_need_the_token_and_report_the_figures(app, client, make_lab, make_user):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/labs").status_code == 200
    with app.app_context():
        db.session.add(OutboxEmail(created_at=clock.utcnow() - timedelta(minutes=30),
                                   kind="confirm_email", to_addr="a@example.org", subject="S",
                                   body_text="t", body_html="h", status="queued"))
        db.session.commit()
        jobs.run_job("expire-holds", now=clock.utcnow())
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'labnet_http_request_duration_seconds_count{endpoint="catalogue.labs"' in body
    assert 'labnet_job_runs_total{job="expire-holds"} 1.0' in body
    assert 'labnet_job_failures_total{job="expire-holds"} 0.0' in body
    assert 'labnet_job_lag_seconds{job="send-outbox"}' in body
    assert "labnet_outbox_queued 1.0" in body
    oldest = next(line for line in body.splitlines()
                  if line.startswith("labnet_outbox_oldest_age_seconds "))
    assert float(oldest.split()[1]) >= 29 * 60
    assert "labnet_bookings" in body and "labnet_outbox_bounced 0.0" in body
    assert "labnet_database_up 1.0" in body


@pytest.mark.parametrize("app_config", [{"METRICS_TOKEN": TOKEN}])
def test_metrics_say_when_the_database_is_down_instead_of_failing(app, client, monkeypatch):
    from labnet.blueprints.ops import routes

    def down(**_kw):
        raise ConnectionError("database gone")

    monkeypatch.setattr(routes, "database_metrics", down)
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "labnet_database_up 0.0" in body and "labnet_http_request_duration" in body


def test_every_response_carries_a_request_id(client):
    first = client.get("/ping").headers["X-Request-ID"]
    second = client.get("/ping").headers["X-Request-ID"]
    assert first and second and first != second
    kept = client.get("/ping", headers={"X-Request-ID": "proxy-id-12345"})
    assert kept.headers["X-Request-ID"] == "proxy-id-12345"
    forged = client.get("/ping", headers={"X-Request-ID": '"}, "level": "forged'})
    assert forged.headers["X-Request-ID"] != '"}, "level": "forged'
    assert len(forged.headers["X-Request-ID"]) == 32


def test_json_log_lines_carry_the_request_id(app):
    record = logging.makeLogRecord({"name": "labnet.access", "msg": "request",
                                    "levelno": logging.INFO, "levelname": "INFO",
                                    "status": 200})
    with app.test_request_context("/labs"):
        from flask import g

        g.request_id = "abc123def456"
        RequestIdFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "abc123def456" and line["status"] == 200
    assert line["message"] == "request" and line["logger"] == "labnet.access"


def test_a_catalogue_write_bumps_the_shared_version(app, make_lab):
    with app.app_context():
        before = caches.generation()
        dashboard = caches.version("dashboard")
    lab = make_lab(name="Versioned Lab")
    with app.app_context():
        after = caches.generation()
        assert after > before
        assert caches.version("dashboard") == dashboard  # not a dashboard write
        lab_row = db.session.get(type(lab), lab.id)
        lab_row.name = "Versioned Lab 2"
        db.session.commit()
        assert caches.generation() > after


def test_remember_rebuilds_after_a_version_bump_and_counts_hits(app):
    built: list[int] = []
    with app.app_context():
        def value():
            built.append(1)
            return len(built)

        key = ("k", caches.generation())
        assert caches.remember("test", key, 60, value) == 1
        assert caches.remember("test", key, 60, value) == 1  # a hit
        caches.bump()
        assert caches.remember("test", ("k", caches.generation()), 60, value) == 2


# --- the scheduler: once per period, across schedulers ------------------------------------

def test_two_schedulers_run_each_job_once_per_period(app, monkeypatch):
    runs: list[str] = []
    monkeypatch.setitem(jobs.JOBS, "tick", jobs.Job(
        lambda *, now: runs.append(now.isoformat()) or {}, timedelta(minutes=2),
        timedelta(minutes=10), "test job"))
    start = clock.utcnow()
    with app.app_context():
        # Scheduler A ticks at 0, 2, 4 min; scheduler B at 0:40, 2:40, 4:40.
        outcomes = []
        for minute in range(3):
            for offset in (timedelta(0), timedelta(seconds=40)):
                at = start + timedelta(minutes=2 * minute) + offset
                outcomes.append(jobs.run_job("tick", now=at, once_per_period=True).status)
        assert outcomes == ["ran", "skipped"] * 3
        assert len(runs) == 3
        row = db.session.get(JobLock, "tick", populate_existing=True)
        assert row.run_count == 3 and row.failure_count == 0


def test_another_scheduler_takes_over_once_a_dead_hosts_lease_ends(app, monkeypatch):
    runs: list[str] = []
    monkeypatch.setitem(jobs.JOBS, "tick", jobs.Job(
        lambda *, now: runs.append("ran") or {}, timedelta(minutes=2),
        timedelta(minutes=10), "test job"))
    start = clock.utcnow()
    with app.app_context():
        # Host A took the lease and died mid-job (it never let go).
        assert jobs.acquire_lease("tick", "host-a:1:dead", now=start,
                                  lease=timedelta(minutes=10))
        later = start + timedelta(minutes=5)
        assert jobs.run_job("tick", now=later, once_per_period=True).status == "skipped"
        ended = start + timedelta(minutes=10)
        assert jobs.run_job("tick", now=ended, once_per_period=True).status == "ran"
    assert runs == ["ran"]


# --- mail: backoff, bounces, dead letters ----------------------------------------------------

def _queue(app, to: str) -> int:
    with app.app_context():
        row = OutboxEmail(created_at=clock.utcnow() - timedelta(minutes=10),
                          kind="confirm_email", to_addr=to, subject=f"To {to}",
                          body_text="Hello", body_html="<p>Hello</p>", status="queued")
        db.session.add(row)
        db.session.commit()
        return row.id


CLOSED_SMTP_PORT = _closed_port()


@pytest.mark.parametrize("app_config", [{"MAIL_SERVER": "127.0.0.1",
                                         "MAIL_PORT": CLOSED_SMTP_PORT}])
def test_a_temporary_failure_waits_longer_each_time_then_becomes_a_dead_letter(app, monkeypatch):
    from tests.fixtures import mail

    # A real connection to a port nobody listens on (refused: a temporary failure).
    monkeypatch.setattr(mail, "_allowed", {("127.0.0.1", CLOSED_SMTP_PORT)})
    message_id = _queue(app, "later@example.org")
    now = clock.utcnow()
    with app.app_context():
        waits = []
        for _ in range(outbox.MAX_ATTEMPTS):
            outbox.send_outbox(app.config, now=now)
            row = db.session.get(OutboxEmail, message_id, populate_existing=True)
            if row.status == "failed":
                break
            waits.append(row.next_attempt_at - now)
            # Before the wait is over the job leaves it alone.
            outbox.send_outbox(app.config, now=row.next_attempt_at - timedelta(seconds=1))
            assert db.session.get(OutboxEmail, message_id,
                                  populate_existing=True).attempts == len(waits)
            now = row.next_attempt_at
        assert waits == [timedelta(minutes=m) for m in (2, 4, 8, 16)]
        assert row.status == "failed" and row.attempts == outbox.MAX_ATTEMPTS
        assert not row.bounced  # never refused by a server: not a bounce


def test_a_refused_recipient_counts_as_a_bounce_and_admins_send_it_again(
        smtp, app, client, runner, make_user):
    bad = _queue(app, "")  # the SMTP server refuses every recipient: a 5xx
    good = _queue(app, "fine@example.org")
    assert runner.invoke(args=["labnet", "jobs", "run", "send-outbox"]).exit_code == 0
    with app.app_context():
        assert db.session.get(OutboxEmail, bad).bounced is True
        assert outbox.outbox_health(now=clock.utcnow())["bounced"] == 1
    admin = make_user(roles=(Role.ADMIN,))
    login_as(client, admin)
    page = client.get("/admin/outbox?status=failed").get_data(as_text=True)
    assert "(bounced)" in page and "fine@example.org" not in page and "Send again" in page
    # A message that is not a dead letter cannot be queued again.
    refused = client.post(f"/admin/outbox/{good}/requeue", data={"csrf_token": csrf_from(page)},
                          follow_redirects=True)
    assert "Only a message that was given up" in refused.get_data(as_text=True)
    client.post(f"/admin/outbox/{bad}/requeue", data={"csrf_token": csrf_from(page)})
    with app.app_context():
        row = db.session.get(OutboxEmail, bad)
        assert (row.status, row.attempts, row.bounced) == ("queued", 0, False)
        assert db.session.scalars(select(OutboxEmail.status).where(
            OutboxEmail.id == good)).one() == "sent"
    # Nonsense in the status filter shows every message, never an error.
    assert client.get("/admin/outbox?status=<b>").status_code == 200
