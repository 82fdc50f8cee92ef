"""The API with a token of each kind of user, no token, the wrong scope, an expired and a
revoked token: the status each gets, and nothing written on refusal."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from labnet import clock
from labnet.extensions import db
from labnet.models import Role, User
from labnet.models.training import Registration
from labnet.services.accounts import tokens
from labnet.services.booking import engine
from labnet.services.training import registration
from tests.api.helpers import bearer, make_token
from tests.api.test_api_events import make_event
from tests.authz.test_matrix import fingerprint
from tests.fixtures.berlin import APPROVING, SPLIT_DAY, berlin


@pytest.fixture
def world(app, frozen_clock, make_lab, make_equipment, make_user, make_org):
    lab = make_lab(**APPROVING, hold_hours=48, hours=SPLIT_DAY)
    sem = make_equipment(lab, booking_unit="hour", min_units=1, max_units=4)

    class W:
        pass

    w = W()
    w.sem = sem
    company = make_org(kind="company", size_class="small")
    w.users = {
        "member": make_user(organisation=company),
        "outsider": make_user(organisation=make_org(kind="company", size_class="large")),
        "manager": make_user(manages=(lab,)),
        "other_manager": make_user(manages=(make_lab(),)),
        "admin": make_user(roles=(Role.ADMIN,)),
    }
    with app.test_request_context():
        b = engine.request_booking(db.session.get(User, w.users["member"].id), sem.id,
                                   berlin(2026, 3, 4, 9), berlin(2026, 3, 4, 10), "Imaging",
                                   now=clock.utcnow())
        db.session.commit()
        w.booking_id = b.id
        event = make_event(lab.id, slug="lab-day", starts_at=berlin(2026, 3, 20, 9),
                           ends_at=berlin(2026, 3, 20, 17))
        make_event(lab.id, slug="lab-draft", status="draft")
        db.session.commit()
        reg = registration.register(db.session.get(User, w.users["member"].id), event.id, {},
                                    now=clock.utcnow())
        db.session.commit()
        w.registration_id = reg.id
    all_scopes = {"member": ("read", "book", "request"), "outsider": ("read", "book", "request"),
                  "manager": ("read", "book", "manage"), "other_manager": ("read", "manage"),
                  "admin": ("read", "book", "manage")}
    w.tokens = {name: make_token(app, user, all_scopes[name]) for name, user in w.users.items()}
    w.tokens["read_only"] = make_token(app, w.users["member"], ("read",))
    return w


# (method, url, body, {actor: status}); actors are token holders plus "none" (a write
# without a bearer token is checked as a form post: 400 without its CSRF token). The scope is
# checked before anything is loaded (a token without it learns nothing: 403), then the
# user's own loaders decide (404 for another organisation's booking).
def _cases(w):
    booking = f"/api/v1/bookings/{w.booking_id}"
    registration = f"/api/v1/registrations/{w.registration_id}"
    return [
        ("GET", "/api/v1/events/lab-draft", None,
         {"none": 404, "member": 404, "other_manager": 404, "manager": 200, "admin": 200}),
        ("GET", "/api/v1/registrations", None, {"none": 401, "member": 200,
                                                "read_only": 200}),
        ("POST", f"{registration}/cancel", {},
         {"none": 400, "outsider": 404, "other_manager": 404, "read_only": 403}),
        ("POST", f"{registration}/accept", {},
         {"none": 400, "outsider": 404, "manager": 404, "read_only": 403,
          "member": 422}),  # the member's own, but no seat was offered
        ("POST", "/api/v1/events/lab-draft/registrations", {},
         {"none": 400, "member": 404, "read_only": 403}),
        ("POST", "/api/v1/events/lab-day/registrations", {},
         {"none": 400, "read_only": 403, "other_manager": 403, "member": 422,
          "outsider": 201}),
        ("GET", "/api/v1/bookings", None, {"none": 401, "member": 200, "outsider": 200,
                                           "manager": 200, "read_only": 200}),
        ("POST", f"{booking}/cancel", {"reason": "No longer needed"},
         {"none": 400, "outsider": 404, "other_manager": 404, "read_only": 403}),
        ("POST", f"{booking}/approve", {},
         {"none": 400, "member": 403, "outsider": 403, "other_manager": 404, "read_only": 403,
          "manager": 200}),
        ("POST", f"{booking}/reject", {"reason": "Closed"},
         {"none": 400, "member": 403, "outsider": 403, "other_manager": 404}),
        ("POST", "/api/v1/bookings", {"equipment_id": w.sem.id,
                                      "start_at": berlin(2026, 3, 5, 9).isoformat(),
                                      "end_at": berlin(2026, 3, 5, 10).isoformat(),
                                      "purpose": "Imaging"},
         {"none": 400, "read_only": 403, "other_manager": 403, "member": 201}),
    ]


def test_each_token_gets_what_its_user_may_do(app, client, world):
    # A token's first use stamps its last use (once a minute at most, the clock is frozen):
    # done here, so the fingerprint below sees only what a refused request might write.
    for secret in world.tokens.values():
        client.get("/api/v1/bookings", headers=bearer(secret))
    for method, url, body, table in _cases(world):
        for actor, expected in table.items():
            headers = bearer(world.tokens[actor]) if actor != "none" else {}
            with app.app_context():
                before = fingerprint()
            r = client.open(url, method=method, headers=headers,
                            data=None if body is None else json.dumps(body),
                            content_type="application/json")
            assert r.status_code == expected, (method, url, actor, r.get_data(as_text=True))
            if expected >= 400:
                assert r.mimetype == "application/problem+json"
                with app.app_context():
                    assert fingerprint() == before, (method, url, actor)


def test_expired_and_revoked_tokens_are_401_and_write_nothing(app, client, world,
                                                              frozen_clock):
    url = f"/api/v1/bookings/{world.booking_id}/cancel"
    body = json.dumps({"reason": "x"})
    member = world.users["member"]
    with app.test_request_context():
        tokens.revoke_token(db.session.get(User, member.id), _token_id(world.tokens["member"]),
                            now=clock.utcnow())
        db.session.commit()
    others = (f"/api/v1/registrations/{world.registration_id}/cancel",
              "/api/v1/events/lab-day/registrations")
    for target in (url, *others):
        r = client.post(target, data=body, headers=bearer(world.tokens["member"]),
                        content_type="application/json")
        assert r.status_code == 401, target
    frozen_clock.move_to(frozen_clock.now + timedelta(days=400))
    for target in (url, *others):
        r = client.post(target, data=body, headers=bearer(world.tokens["read_only"]),
                        content_type="application/json")
        assert r.status_code == 401, target
    with app.app_context():
        assert db.session.get(engine.Booking, world.booking_id).status == "pending"
        assert db.session.get(Registration, world.registration_id).status == "registered"


def _token_id(secret: str) -> int:
    from sqlalchemy import select

    from labnet import security
    from labnet.models import ApiToken

    return db.session.scalar(select(ApiToken.id).where(
        ApiToken.token_hash == security.token_hash(secret)))
