"""The database or Redis away for a moment (a restart, a failover; issue 16's fault run):
the visitor gets 503 with Retry-After and a plain explanation, never a 500 page or a
traceback, and a write that failed then was not made, so sending it again works."""

from __future__ import annotations

import pytest
from flask import Flask
from redis.exceptions import ConnectionError as RedisDown
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from labnet import config as labnet_config
from labnet.extensions import db
from labnet.models.booking import Booking
from labnet.services.catalogue import search
from tests.fixtures.auth import post_form
from tests.web.test_lab_bookings import desk  # noqa: F401 (fixture)


def _db_gone(*_args, **_kwargs):
    raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))


def _redis_gone(*_args, **_kwargs):
    raise RedisDown("Error 111 connecting to 127.0.0.1:6399. Connection refused.")


def _assert_clean_503(response) -> str:
    body = response.get_data(as_text=True)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "Traceback" not in body and "OperationalError" not in body
    assert "Nothing was saved" in body
    return body


@pytest.mark.parametrize("failure", [_db_gone, _redis_gone], ids=["database", "redis"])
def test_a_page_during_an_outage_answers_503_with_retry_after(client, monkeypatch, failure):
    monkeypatch.setattr(search, "search_labs", failure)
    body = _assert_clean_503(client.get("/labs?q=laser"))
    assert "try again in a few seconds" in body
    monkeypatch.undo()
    assert client.get("/labs?q=laser").status_code == 200


def test_json_clients_get_the_503_as_json(client, monkeypatch):
    monkeypatch.setattr(search, "search_labs", _db_gone)
    response = client.get("/labs?q=laser", headers={"Accept": "application/json"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.get_json()["error"] == "Temporarily unavailable"


def test_when_the_error_page_itself_needs_the_database_a_plain_page_answers(
        client, monkeypatch):
    import labnet.errors

    monkeypatch.setattr(search, "search_labs", _db_gone)
    monkeypatch.setattr(labnet.errors, "render_error", _db_gone)
    body = _assert_clean_503(client.get("/labs?q=laser"))
    assert "<h1>Temporarily unavailable</h1>" in body


def test_a_booking_whose_commit_fails_is_not_made_and_can_be_sent_again(
        app, client, login, desk, monkeypatch):  # noqa: F811
    login(desk.member)
    url = f"/equipment/{desk.sem.id}/book"
    form = {"start_at": "2026-03-11T09:00", "end_at": "2026-03-11T10:00", "purpose": "Imaging",
            "confirm": "1"}
    monkeypatch.setattr(db.session, "commit", _db_gone)
    _assert_clean_503(post_form(client, url, form))
    monkeypatch.undo()
    with app.app_context():
        assert db.session.scalar(select(func.count(Booking.id))) == 0
    # Nothing half-written holds the slot: the same request now books it.
    response = post_form(client, url, form)
    assert response.status_code == 302 and "/bookings/" in response.headers["Location"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Booking.id))) == 1


@pytest.mark.parametrize(("url", "pre_ping"), [
    ("postgresql://u@db.internal/labnet", True),
    ("sqlite:////tmp/labnet.sqlite", None),
])
def test_server_databases_check_a_pooled_connection_before_use(url, pre_ping):
    app = Flask(__name__)
    app.config.update(DATABASE_URL=url, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 3})
    labnet_config._database_uri(app)
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options.get("pool_pre_ping") is pre_ping
    assert options["pool_size"] == 3


@pytest.mark.parametrize("app_config", [{"PROPAGATE_EXCEPTIONS": False}])  # as in production
def test_an_outage_inside_another_error_handler_is_still_a_503(app, client, monkeypatch):
    """Measured under `make load`: a form whose GET met the restart posts without its token;
    the CSRF handler's page then needs the database too, and that was a 500 traceback."""
    import labnet.errors

    monkeypatch.setattr(labnet.errors, "resubmission", _db_gone)
    response = client.post("/login", data={"email": "a@example.org", "password": "x"})
    _assert_clean_503(response)


@pytest.mark.parametrize("app_config", [{"PROPAGATE_EXCEPTIONS": False}])
def test_a_connection_lost_while_closing_the_session_does_not_spoil_the_answer(
        client, monkeypatch):
    """Measured under `make load`: PostgreSQL restarted while a page was answered; the
    session's closing rollback failed after the view and gunicorn answered a bare 500."""
    from sqlalchemy.orm import Session

    real_close = Session.close
    calls = []

    def close_once_failing(self):
        calls.append(1)
        if len(calls) == 1:
            _db_gone()
        return real_close(self)

    monkeypatch.setattr(Session, "close", close_once_failing)
    assert client.get("/labs?q=laser").status_code == 200
    assert calls  # the failing close did run
