"""One booking attempt in its own process, through the HTML form or the API (imported by
multiprocessing's spawn)."""

from __future__ import annotations

import json
import re
from datetime import datetime


def attempt_via(channel: str, database_url: str, instance_path: str, user_id: int,
                secret: str, equipment_id: int, start: datetime, end: datetime, now: datetime,
                barrier, results) -> None:
    from labnet import clock, create_app
    from labnet.extensions import db
    from labnet.models import User
    from labnet.services.accounts import rules as accounts
    from tests.concurrency.conftest import WORKER_CONFIG

    clock.freeze(now)
    app = create_app({**WORKER_CONFIG, "DATABASE_URL": database_url},
                     instance_path=instance_path)
    client = app.test_client()
    try:
        if channel == "api":
            send = lambda: client.post(  # noqa: E731
                "/api/v1/bookings", headers={"Authorization": f"Bearer {secret}"},
                content_type="application/json",
                data=json.dumps({"equipment_id": equipment_id, "start_at": start.isoformat(),
                                 "end_at": end.isoformat(), "purpose": "race"}))
        else:
            with app.app_context():
                token = accounts.start_session(db.session.get(User, user_id), now=now)
                db.session.commit()
            with client.session_transaction() as sess:
                sess["_user_id"] = token
                sess["_fresh"] = True
            url = f"/equipment/{equipment_id}/book"
            page = client.get(url).get_data(as_text=True)
            csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
            form = {"csrf_token": csrf, "start_at": start.strftime("%Y-%m-%dT%H:%M"),
                    "end_at": end.strftime("%Y-%m-%dT%H:%M"), "purpose": "race",
                    "confirm": "1"}
            send = lambda: client.post(url, data=form)  # noqa: E731
        barrier.wait(timeout=60)
        status = send().status_code
        results.put({201: "booked", 302: "booked", 409: "taken"}.get(status, f"status {status}"))
    except Exception as exc:
        results.put(f"error: {type(exc).__name__}: {exc}")
    finally:
        with app.app_context():
            db.engine.dispose()
