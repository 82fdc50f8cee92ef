"""Requests under concurrency, one process per click, released together: every lab of a
joint project declines at the same moment and the request ends declined (each answer sees
the others through the request's row lock); several members confirm one accepted request
at once and it is confirmed exactly once, the other clicks refused with a message, never a
500 or "database is locked". SQLite by default, PostgreSQL under LABNET_TEST_DATABASE_URL.
"""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime

from sqlalchemy import func, select

from labnet.extensions import db
from labnet.models import AuditEvent, OutboxEmail, User
from labnet.models.request import LabRequest

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LABS = 4


def act(database_url: str, instance_path: str, action: str, user_id: int, request_id: int,
        lab_id: int | None, barrier, results) -> None:
    """One click in its own process (imported by multiprocessing's spawn)."""
    from labnet import create_app
    from labnet.errors import RuleViolation
    from labnet.services.requests import workflow as service
    from tests.concurrency.conftest import WORKER_CONFIG

    app = create_app({**WORKER_CONFIG, "DATABASE_URL": database_url},
                     instance_path=instance_path)
    with app.test_request_context():
        actor = db.session.get(User, user_id)
        db.session.rollback()
        barrier.wait(timeout=60)
        try:
            if action == "decline":
                service.answer(actor, request_id, lab_id, False, "No capacity", now=NOW)
            else:
                service.confirm(actor, request_id, now=NOW)
            db.session.commit()
            results.put("done")
        except RuleViolation:
            db.session.rollback()
            results.put("refused")
        except Exception as exc:
            db.session.rollback()
            results.put(f"error: {type(exc).__name__}: {exc}")
        finally:
            db.engine.dispose()


def _race(app, tmp_path, jobs) -> list[str]:
    with app.app_context():
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        db.engine.dispose()
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(jobs))
    results = ctx.Queue()
    procs = [ctx.Process(target=act, args=(url, str(tmp_path / f"inst{i}"), *job, barrier,
                                           results))
             for i, job in enumerate(jobs)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return outcomes


def _request(app, member, labs) -> int:
    from labnet.services.requests.workflow import NewRequest, create_request

    with app.test_request_context():
        req = create_request(db.session.get(User, member.id), NewRequest(
            kind="joint_project", lab_ids=[lab.id for lab in labs], title="Race",
            summary="Race", ket_code="AMT", duration_months=6, funding_programme="Interreg",
            trl_now=2, trl_target=4), now=NOW)
        db.session.commit()
        return req.id


def test_every_lab_declining_at_once_declines_the_request(app, make_lab, make_user, make_org,
                                                         tmp_path):
    labs = [make_lab() for _ in range(LABS)]
    managers = [make_user(manages=(lab,)) for lab in labs]
    member = make_user(organisation=make_org(kind="company", size_class="small"))
    rid = _request(app, member, labs)
    outcomes = _race(app, tmp_path, [("decline", m.id, rid, lab.id)
                                     for m, lab in zip(managers, labs, strict=True)])
    assert outcomes == ["done"] * LABS, outcomes
    with app.app_context():
        req = db.session.get(LabRequest, rid)
        assert req.status == "declined"
        assert req.decided_at == NOW and req.closed_at == NOW
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "request.declined")) == 1


def test_confirming_one_request_from_many_clicks_confirms_it_once(app, make_lab, make_user,
                                                                  make_org, tmp_path):
    from labnet.services.requests.workflow import answer

    lab = make_lab()
    manager = make_user(manages=(lab,))
    company = make_org(kind="company", size_class="small")
    members = [make_user(organisation=company) for _ in range(6)]
    rid = _request(app, members[0], [lab])
    with app.test_request_context():
        answer(db.session.get(User, manager.id), rid, lab.id, True, "", now=NOW)
        db.session.commit()
        mails_before = db.session.scalar(select(func.count(OutboxEmail.id)))
    outcomes = _race(app, tmp_path, [("confirm", m.id, rid, None) for m in members])
    assert sorted(outcomes) == ["done"] + ["refused"] * 5, outcomes
    with app.app_context():
        assert db.session.get(LabRequest, rid).status == "active"
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "request.active")) == 1
        # One confirmation's e-mails (the requester and the lab's manager), not six.
        assert db.session.scalar(select(func.count(OutboxEmail.id))) - mails_before in (1, 2)
