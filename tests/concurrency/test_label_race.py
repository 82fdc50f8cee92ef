"""Excellence-label scoring under concurrency, one process per verifier, released together:
only two verifiers get the two initial seats and the label is decided once; the others
are refused with a message, never a 500 or "database is locked". SQLite by default,
PostgreSQL under LABNET_TEST_DATABASE_URL."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime

from sqlalchemy import func, select

from labnet.extensions import db
from labnet.models import Accreditation, AuditEvent, LabelApplication, LabelScore, Role, User

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
VERIFIERS = 5


def score(database_url: str, instance_path: str, user_id: int, application_id: int, barrier,
          results) -> None:
    """One verifier's click in its own process (imported by multiprocessing's spawn)."""
    from labnet import create_app
    from labnet.errors import RuleViolation
    from labnet.services.accreditation import label
    from labnet.services.accreditation.label_framework import framework
    from tests.concurrency.conftest import WORKER_CONFIG

    app = create_app({**WORKER_CONFIG, "DATABASE_URL": database_url},
                     instance_path=instance_path)
    with app.test_request_context():
        actor = db.session.get(User, user_id)
        db.session.rollback()
        barrier.wait(timeout=60)
        try:
            label.score_application(actor, application_id,
                                    dict.fromkeys(framework().codes, "3"), "", now=NOW)
            db.session.commit()
            results.put("done")
        except RuleViolation as exc:
            db.session.rollback()
            results.put(f"refused: {exc.message}")
        except Exception as exc:
            db.session.rollback()
            results.put(f"error: {type(exc).__name__}: {exc}")
        finally:
            db.engine.dispose()


def test_five_verifiers_at_once_fill_two_seats_and_decide_once(app, make_lab, make_user,
                                                               tmp_path):
    from labnet.services.accreditation import label
    from labnet.services.accreditation.label_framework import framework

    lab = make_lab()
    manager = make_user(manages=(lab,))
    verifiers = [make_user(roles=(Role.VERIFIER,)) for _ in range(VERIFIERS)]
    with app.test_request_context():
        application = label.start_application(db.session.get(User, manager.id), lab, now=NOW)
        label.save_answers(db.session.get(User, manager.id), application,
                           {c: label.AnswerInput(text="Answer") for c in framework().codes},
                           submit=True, now=NOW)
        db.session.commit()
        app_id = application.id
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        db.engine.dispose()
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(VERIFIERS)
    results = ctx.Queue()
    procs = [ctx.Process(target=score, args=(url, str(tmp_path / f"inst{i}"), v.id, app_id,
                                             barrier, results))
             for i, v in enumerate(verifiers)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert sorted(o.split(":")[0] for o in outcomes) == ["done"] * 2 + ["refused"] * 3, outcomes
    with app.app_context():
        assert db.session.get(LabelApplication, app_id).status == "awarded"
        assert db.session.scalar(select(func.count(func.distinct(LabelScore.verifier_id)))) == 2
        assert db.session.scalar(select(func.count()).select_from(Accreditation)) == 1
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "label.decided")) == 1
