"""The JSON API from a client's side: reads, writes through the booking and request
services, problem+json refusals naming fields, nothing written on bad input, tokens."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from labnet.extensions import db
from labnet.models import ApiToken, Booking
from tests.api.helpers import bearer, make_token
from tests.fixtures.berlin import APPROVING, SPLIT_DAY, berlin

PROBLEM = "application/problem+json"


@pytest.fixture
def setup(app, frozen_clock, make_lab, make_equipment, make_user, make_org):
    lab = make_lab(**APPROVING, hold_hours=48, hours=SPLIT_DAY, name="Berlin Imaging Lab")
    sem = make_equipment(lab, booking_unit="hour", min_units=1, max_units=4)

    class S:
        pass

    s = S()
    s.lab, s.sem = lab, sem
    s.draft = make_lab(name="Hidden Draft Lab", is_published=False)
    s.manager = make_user(manages=(lab,))
    s.member = make_user(organisation=make_org(kind="company", size_class="small"))
    s.outsider = make_user(organisation=make_org(kind="company", size_class="large"))
    return s


def bookings(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Booking.id)))


def post(client, url, body, secret, **kw):
    return client.post(url, data=json.dumps(body), headers=bearer(secret),
                       content_type="application/json", **kw)


def test_labs_list_is_public_paginated_and_hides_drafts(client, setup):
    r = client.get("/api/v1/labs")
    assert r.status_code == 200
    names = [lab["name"] for lab in r.get_json()["items"]]
    assert "Berlin Imaging Lab" in names
    assert "Hidden Draft Lab" not in names
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "contact_email" not in r.get_json()["items"][0]


def test_labs_list_refuses_bad_filters_naming_them(client, setup):
    r = client.get("/api/v1/labs?ket=NOPE&radius_km=abc")
    assert r.status_code == 422
    assert r.mimetype == PROBLEM
    assert set(r.get_json()["errors"]) >= {"ket"}
    r = client.get("/api/v1/labs?colour=blue")
    assert r.status_code == 422
    assert r.get_json()["errors"]["colour"] == ["This field is not known."]


def test_etag_answers_304_on_if_none_match(client, setup):
    r = client.get("/api/v1/ket-areas")
    etag = r.headers["ETag"]
    again = client.get("/api/v1/ket-areas", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_cursor_pagination_walks_every_lab_once(client, setup, make_lab):
    for i in range(25):
        make_lab(name=f"Extra Lab {i:02d}")
    seen: list[str] = []
    url = "/api/v1/labs?sort=name"
    while url:
        r = client.get(url)
        assert r.status_code == 200
        body = r.get_json()
        seen += [lab["slug"] for lab in body["items"]]
        url = body["next"]
        if url:
            assert r.headers["Link"] == f'<{url}>; rel="next"'
            url = url.replace("http://localhost", "")
    assert len(seen) == len(set(seen)) == body["total"] == 26


def test_draft_lab_is_404_for_others_and_seen_by_its_manager(app, client, setup, make_user):
    assert client.get(f"/api/v1/labs/{setup.draft.slug}").status_code == 404
    lab_manager = make_user(manages=(setup.draft,))
    secret = make_token(app, lab_manager)
    assert client.get(f"/api/v1/labs/{setup.draft.slug}",
                      headers=bearer(secret)).status_code == 200


def test_availability_for_a_period(client, setup):
    r = client.get(f"/api/v1/equipment/{setup.sem.id}/availability?from=2026-03-04&to=2026-03-05")
    assert r.status_code == 200
    slots = r.get_json()["slots"]
    assert slots and {s["state"] for s in slots} <= {"open", "busy", "closed", "blackout"}
    too_long = client.get(f"/api/v1/equipment/{setup.sem.id}/availability"
                          "?from=2026-03-04&to=2026-06-05")
    assert too_long.status_code == 422
    assert "to" in too_long.get_json()["errors"]


def test_booking_through_the_api_uses_the_booking_rules(app, client, setup):
    secret = make_token(app, setup.member, scopes=("read", "book"))
    body = {"equipment_id": setup.sem.id, "start_at": berlin(2026, 3, 4, 9).isoformat(),
            "end_at": berlin(2026, 3, 4, 11).isoformat(), "purpose": "Imaging"}
    r = post(client, "/api/v1/bookings", body, secret)
    assert r.status_code == 201, r.get_data(as_text=True)
    assert r.get_json()["status"] == "pending"
    # The same slot again: the booking engine's refusal, as the form shows it (409).
    again = post(client, "/api/v1/bookings", body, secret)
    assert again.status_code == 409
    assert again.mimetype == PROBLEM
    assert "start_at" in again.get_json()["errors"]
    # Outside opening hours: the rule is named on its field.
    night = {**body, "start_at": berlin(2026, 3, 4, 20).isoformat(),
             "end_at": berlin(2026, 3, 4, 21).isoformat()}
    refused = post(client, "/api/v1/bookings", night, secret)
    assert refused.status_code == 422
    assert "opening hours" in json.dumps(refused.get_json()["errors"])
    assert bookings(app) == 1
    listed = client.get("/api/v1/bookings", headers=bearer(secret)).get_json()["items"]
    assert [b["id"] for b in listed] == [r.get_json()["id"]]
    # The lab's manager approves with a manage token; the member's token cannot.
    booking_id = r.get_json()["id"]
    assert post(client, f"/api/v1/bookings/{booking_id}/approve", {}, secret).status_code == 403
    manage = make_token(app, setup.manager, scopes=("manage",))
    ok = post(client, f"/api/v1/bookings/{booking_id}/approve", {}, manage)
    assert ok.status_code == 200
    assert ok.get_json()["status"] == "confirmed"


@pytest.mark.parametrize(("body", "field"), [
    ({"equipment_id": "x", "start_at": "2026-03-04T09:00:00+01:00",
      "end_at": "2026-03-04T10:00:00+01:00", "purpose": "p"}, "equipment_id"),
    ({"start_at": "2026-03-04T09:00:00+01:00", "end_at": "2026-03-04T10:00:00+01:00",
      "purpose": "p"}, "equipment_id"),
    ({"equipment_id": 1, "start_at": "2026-03-04T09:00:00", "end_at": "2026-03-04T10:00:00Z",
      "purpose": "p"}, "start_at"),
    ({"equipment_id": 1, "start_at": "2026-03-04T09:00:00Z", "end_at": "2026-03-04T10:00:00Z",
      "purpose": "p", "admin": True}, "admin"),
])
def test_bad_bodies_are_refused_naming_the_field_and_write_nothing(app, client, setup, body,
                                                                      field):
    secret = make_token(app, setup.member, scopes=("book",))
    r = post(client, "/api/v1/bookings", body, secret)
    assert r.status_code == 422
    assert r.mimetype == PROBLEM
    assert field in r.get_json()["errors"]
    assert bookings(app) == 0


def test_malformed_json_huge_bodies_and_wrong_media_type(app, client, setup):
    secret = make_token(app, setup.member, scopes=("book",))
    bad = client.post("/api/v1/bookings", data="{nope", headers=bearer(secret),
                      content_type="application/json")
    assert (bad.status_code, bad.mimetype) == (400, PROBLEM)
    huge = client.post("/api/v1/bookings", data="[" + "1," * 100_000 + "1]",
                       headers=bearer(secret), content_type="application/json")
    assert huge.status_code == 413
    form = client.post("/api/v1/bookings", data={"equipment_id": "1"}, headers=bearer(secret))
    assert form.status_code == 415
    assert bookings(app) == 0


def test_cookies_are_not_accepted_on_write_endpoints(app, client, setup, login):
    from tests.fixtures.auth import csrf_from

    login(setup.member)
    # Without a bearer token a write is a form post: no CSRF token, 400 ...
    r = client.post("/api/v1/bookings", data=json.dumps({}), content_type="application/json")
    assert (r.status_code, r.mimetype) == (400, PROBLEM)
    # ... and with one, the session cookie still opens nothing: 401.
    token = csrf_from(client.get("/account/tokens").get_data(as_text=True))
    r = client.post("/api/v1/bookings", data=json.dumps({}), content_type="application/json",
                    headers={"X-CSRFToken": token})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert bookings(app) == 0


def test_revoked_expired_and_unknown_tokens_open_nothing(app, client, setup, frozen_clock):
    from datetime import timedelta

    secret = make_token(app, setup.member, days=1)
    assert client.get("/api/v1/bookings", headers=bearer(secret)).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(ApiToken.last_used_at)) is not None
    frozen_clock.move_to(frozen_clock.now + timedelta(days=3))
    assert client.get("/api/v1/bookings", headers=bearer(secret)).status_code == 401
    assert client.get("/api/v1/bookings",
                      headers=bearer("lnpat_unknown")).status_code == 401
    assert client.get("/api/v1/bookings", headers={"Authorization": "Basic x"}).status_code == 401


def test_token_page_shows_the_token_once_and_revokes_it(app, client, setup, login):
    from tests.fixtures.auth import csrf_from

    login(setup.member)
    page = client.get("/account/tokens")
    token = csrf_from(page.get_data(as_text=True))
    r = client.post("/account/tokens", data={"csrf_token": token, "name": "My script",
                                              "scopes": ["read", "book"],
                                              "expires_on": "2026-04-01"})
    assert r.status_code == 201
    secret = r.get_data(as_text=True).split('value="lnpat_')[1].split('"')[0]
    assert client.get("/api/v1/bookings",
                      headers=bearer("lnpat_" + secret)).status_code == 200
    assert ("lnpat_" + secret) not in client.get("/account/tokens").get_data(as_text=True)
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": token})
    assert client.get("/api/v1/bookings",
                      headers=bearer("lnpat_" + secret)).status_code == 401


def test_a_token_never_grants_more_than_its_user_has(app, client, setup, login):
    from tests.fixtures.auth import csrf_from

    login(setup.member)
    token = csrf_from(client.get("/account/tokens").get_data(as_text=True))
    r = client.post("/account/tokens", data={"csrf_token": token, "name": "Too much",
                                              "scopes": ["manage"], "expires_on": "2026-04-01"})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "never grants more than its user has" in page
    assert 'value="Too much"' in page
    with app.app_context():
        assert db.session.scalar(select(func.count(ApiToken.id))) == 0




@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True,
                                         "API_RATE_LIMIT": "3/minute"}], ids=["limited"])
def test_per_token_limit_answers_429_with_retry_after(app, client, setup, app_config):
    mine = make_token(app, setup.member)
    theirs = make_token(app, setup.outsider)
    for _ in range(3):
        assert client.get("/api/v1/bookings", headers=bearer(mine)).status_code == 200
    limited = client.get("/api/v1/bookings", headers=bearer(mine))
    assert limited.status_code == 429
    assert limited.mimetype == PROBLEM
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # Another token has its own allowance.
    assert client.get("/api/v1/bookings", headers=bearer(theirs)).status_code == 200


def test_company_cancels_with_a_book_token_and_a_message_needs_request(app, client, setup):
    book_only = make_token(app, setup.member, scopes=("book",))
    body = {"equipment_id": setup.sem.id, "start_at": berlin(2026, 3, 5, 9).isoformat(),
            "end_at": berlin(2026, 3, 5, 10).isoformat(), "purpose": "Imaging"}
    booking_id = post(client, "/api/v1/bookings", body, book_only).get_json()["id"]
    r = post(client, f"/api/v1/bookings/{booking_id}/cancel", {"reason": "Plans changed"},
             book_only)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["status"] == "cancelled"
    again = post(client, f"/api/v1/bookings/{booking_id}/cancel", {"reason": "Again"},
                 book_only)
    assert again.status_code == 422
    assert "status" in again.get_json()["errors"]
    message = post(client, "/api/v1/requests/RQ-2026-000001/messages", {"body": "Hi"},
                   book_only)
    assert message.status_code == 403
    assert "'request' or 'manage'" in message.get_json()["detail"]


def test_request_and_message_through_the_api_use_the_request_rules(app, client, setup):
    secret = make_token(app, setup.member, scopes=("read", "request"))
    body = {"kind": "access", "labs": [setup.lab.slug], "title": "SEM time for coatings",
            "summary": "We would like two afternoons of SEM imaging for coated samples."}
    r = post(client, "/api/v1/requests", body, secret)
    assert r.status_code == 201, r.get_data(as_text=True)
    ref = r.get_json()["reference"]
    listed = client.get("/api/v1/requests", headers=bearer(secret)).get_json()["items"]
    assert [item["reference"] for item in listed] == [ref]
    said = post(client, f"/api/v1/requests/{ref}/messages", {"body": "Any news?"}, secret)
    assert said.status_code == 201, said.get_data(as_text=True)
    # Refusals name the form's field: an unknown lab, an empty title.
    unknown = post(client, "/api/v1/requests", {**body, "labs": ["no-such-lab"]}, secret)
    assert unknown.status_code == 422
    assert "lab" in unknown.get_json()["errors"]
    empty = post(client, "/api/v1/requests", {**body, "title": ""}, secret)
    assert empty.status_code == 422
    assert "title" in empty.get_json()["errors"]
    # Another organisation's token does not learn the request exists.
    other = make_token(app, setup.outsider, scopes=("request",))
    assert post(client, f"/api/v1/requests/{ref}/messages", {"body": "Hi"},
                other).status_code == 404
    # The lab's manager declines without a reason: the form's rule; then with one.
    manage = make_token(app, setup.manager, scopes=("manage",))
    answer = {"lab": setup.lab.slug, "accept": False}
    no_reason = post(client, f"/api/v1/requests/{ref}/answer", answer, manage)
    assert no_reason.status_code == 422
    assert "answer_message" in no_reason.get_json()["errors"]
    declined = post(client, f"/api/v1/requests/{ref}/answer",
                    {**answer, "message": "Fully booked until summer."}, manage)
    assert declined.status_code == 200, declined.get_data(as_text=True)
    assert declined.get_json()["status"] == "declined"


def test_manager_updates_equipment_through_the_equipment_rules(app, client, setup):
    manage = make_token(app, setup.manager, scopes=("manage",))
    url = f"/api/v1/equipment/{setup.sem.id}"

    def patch(body, secret=manage):
        return client.patch(url, data=json.dumps(body), headers=bearer(secret),
                            content_type="application/json")

    r = patch({"name": "SEM (field emission)", "rate_sme": "99.50"})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert (r.get_json()["name"], r.get_json()["rate_sme"]) == ("SEM (field emission)", "99.50")
    refused = patch({"min_units": 5, "max_units": 2})
    assert refused.status_code == 422
    assert set(refused.get_json()["errors"]) & {"min_units", "max_units"}
    assert patch({"colour": "red"}).status_code == 422
    other = make_token(app, setup.member, scopes=("read",))
    assert patch({"name": "Mine now"}, other).status_code == 403
    assert client.get(url).get_json()["name"] == "SEM (field emission)"
