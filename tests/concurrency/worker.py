"""One booking attempt in its own process (imported by multiprocessing's spawn)."""

from __future__ import annotations

from datetime import datetime


def attempt(database_url: str, instance_path: str, user_id: int, equipment_id: int,
            start: datetime, end: datetime, now: datetime, barrier, results) -> None:
    from labnet import create_app
    from labnet.errors import SlotTaken
    from labnet.extensions import db
    from labnet.models import User
    from labnet.services.booking.engine import request_booking
    from tests.concurrency.conftest import WORKER_CONFIG

    app = create_app({**WORKER_CONFIG, "DATABASE_URL": database_url},
                     instance_path=instance_path)
    with app.test_request_context():
        actor = db.session.get(User, user_id)
        db.session.rollback()  # start the race from a clean transaction
        barrier.wait(timeout=60)
        try:
            request_booking(actor, equipment_id, start, end, "race", now=now)
            db.session.commit()
            results.put("booked")
        except SlotTaken:
            db.session.rollback()
            results.put("taken")
        except Exception as exc:
            db.session.rollback()
            results.put(f"error: {type(exc).__name__}: {exc}")
        finally:
            db.engine.dispose()
