"""Events in the API from a client's side: the public list with the /events filters,
cursors, ETag and CORS; one event with its sessions, seats and registration state;
registering, the waiting list and cancelling with a token, through the registration
service (the same refusals as the form, nothing written on refusal)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from labnet.extensions import db
from labnet.models import Event, EventKet, EventOrganiser, EventSession
from labnet.models.training import Registration
from tests.api.helpers import bearer, make_token
from tests.fixtures.meetings import NOW

PROBLEM = "application/problem+json"


def make_event(lab_id: int, *, slug: str, **kw) -> Event:
    """An event of one lab, 10-11 March 2026 in Vienna (09:00 local is 08:00 UTC)."""
    values = {"title": "Vienna cluster meet-up", "kind": "workshop", "capacity": 4,
              "timezone": "Europe/Vienna", "city": "Vienna", "country": "AT",
              "status": "published", "starts_at": datetime(2026, 3, 10, 8, tzinfo=UTC),
              "ends_at": datetime(2026, 3, 11, 16, tzinfo=UTC), **kw}
    event = Event(slug=slug, **values)
    db.session.add(event)
    db.session.flush()
    db.session.add(EventOrganiser(event_id=event.id, lab_id=lab_id))
    return event


@pytest.fixture
def ev(app, frozen_clock, make_lab, make_user, make_org):
    """Vienna (published, 2 seats, a required question, priced, two sessions), Graz
    (published, online, later), a draft, a cancelled one and one that has ended."""
    frozen_clock.move_to(NOW)
    lab = make_lab(name="Vienna Lab", country="AT")
    other_lab = make_lab(name="Graz Lab", country="AT")

    class W:
        pass

    w = W()
    w.lab = lab
    w.organiser = make_user(manages=(lab,))
    w.anna = make_user(organisation=make_org(kind="company", size_class="small"))
    w.ben = make_user(organisation=make_org(kind="company", size_class="small"))
    w.carl = make_user(organisation=make_org(kind="company", size_class="small"))
    with app.app_context():
        vienna = make_event(lab.id, slug="vienna-meetup", capacity=2, price_sme_cents=5000,
                            online_url="https://meet.example/secret-room",
                            questions=[{"key": "diet", "label": "Diet", "kind": "choice",
                                        "required": True, "choices": ["any", "vegan"]}])
        db.session.add_all([
            EventSession(event_id=vienna.id, title="Day one",
                         starts_at=datetime(2026, 3, 10, 8, tzinfo=UTC),
                         ends_at=datetime(2026, 3, 10, 16, tzinfo=UTC)),
            EventSession(event_id=vienna.id, title="Day two",
                         starts_at=datetime(2026, 3, 11, 8, tzinfo=UTC),
                         ends_at=datetime(2026, 3, 11, 16, tzinfo=UTC)),
            EventKet(event_id=vienna.id, ket_code="AMT")])
        make_event(other_lab.id, slug="graz-webinar", title="Graz webinar",
                          capacity=None, city="", online_url="https://meet.example/graz",
                          kind="webinar", starts_at=datetime(2026, 4, 1, 8, tzinfo=UTC),
                          ends_at=datetime(2026, 4, 1, 10, tzinfo=UTC))
        make_event(lab.id, slug="secret-draft", title="Secret draft", status="draft")
        make_event(lab.id, slug="called-off", title="Called off", status="cancelled")
        make_event(lab.id, slug="long-gone", title="Long gone",
                   starts_at=datetime(2026, 2, 1, 8, tzinfo=UTC),
                   ends_at=datetime(2026, 2, 1, 10, tzinfo=UTC))
        db.session.commit()
        w.vienna_id = vienna.id
    w.tokens = {"anna": make_token(app, w.anna, ("read", "book")),
                "ben": make_token(app, w.ben, ("read", "book")),
                "carl": make_token(app, w.carl, ("read", "book")),
                "anna_read": make_token(app, w.anna, ("read",)),
                "organiser_book": make_token(app, w.organiser, ("read", "book")),
                "organiser_manage": make_token(app, w.organiser, ("read", "manage"))}
    return w


def post(client, url, body, secret):
    return client.post(url, data=json.dumps(body), headers=bearer(secret),
                       content_type="application/json")


def _seats(app, event_id: int) -> int:
    with app.app_context():
        return db.session.get_one(Event, event_id).seats_taken


def _registrations(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Registration.id)))


def test_list_shows_upcoming_published_events_only_to_anyone(client, ev):
    r = client.get("/api/v1/events")
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    items = r.get_json()["items"]
    assert [e["slug"] for e in items] == ["vienna-meetup", "graz-webinar"]
    vienna = items[0]
    assert vienna["starts_at"] == "2026-03-10T09:00:00+01:00"  # Vienna time, with its offset
    assert vienna["seats_left"] == 2 and vienna["price_sme"] == "50.00"
    assert vienna["organisers"] == [{"kind": "lab", "slug": ev.lab.slug, "name": "Vienna Lab"}]
    assert vienna["ket_areas"] == ["AMT"] and vienna["online"] is True
    body = r.get_data(as_text=True)
    assert "secret-room" not in body and "diet" not in body.lower()


def test_list_takes_the_events_page_filters(client, ev):
    def slugs(query):
        r = client.get("/api/v1/events?" + query)
        assert r.status_code == 200, r.get_data(as_text=True)
        return [e["slug"] for e in r.get_json()["items"]]

    assert slugs("kind=webinar") == ["graz-webinar"]
    assert slugs("ket=AMT") == ["vienna-meetup"]
    assert slugs(f"organiser=lab:{ev.lab.slug}") == ["vienna-meetup"]
    assert slugs("from=2026-03-20&to=2026-04-30") == ["graz-webinar"]
    assert slugs("from=2026-01-01&to=2026-02-28") == ["long-gone"]  # a range shows the past
    assert slugs("country=DE") == []
    assert slugs("mode=onsite") == ["vienna-meetup"]


def test_list_refuses_bad_filters_naming_them(client, ev):
    r = client.get("/api/v1/events?ket=NOPE&country=XX&from=2026-05-01&to=2026-04-01")
    assert r.status_code == 422 and r.mimetype == PROBLEM
    assert set(r.get_json()["errors"]) == {"ket", "country", "to"}
    r = client.get("/api/v1/events?colour=red")
    assert r.status_code == 422 and "colour" in r.get_json()["errors"]
    r = client.get("/api/v1/events?cursor=not-ours")
    assert r.status_code == 422 and "cursor" in r.get_json()["errors"]


def test_list_pages_with_cursors_and_etags(client, ev):
    first = client.get("/api/v1/events?limit=1")
    assert [e["slug"] for e in first.get_json()["items"]] == ["vienna-meetup"]
    link = first.headers["Link"]
    assert link.endswith('rel="next"') and link == f'<{first.get_json()["next"]}>; rel="next"'
    second = client.get(first.get_json()["next"])
    assert [e["slug"] for e in second.get_json()["items"]] == ["graz-webinar"]
    assert second.get_json()["next"] is None and "Link" not in second.headers
    again = client.get("/api/v1/events?limit=1", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_one_event_with_sessions_seats_and_registration_state(client, ev):
    r = client.get("/api/v1/events/vienna-meetup")
    assert r.status_code == 200
    data = r.get_json()
    assert [s["title"] for s in data["sessions"]] == ["Day one", "Day two"]
    assert data["sessions"][0]["starts_at"] == "2026-03-10T09:00:00+01:00"
    assert data["questions"][0]["key"] == "diet" and data["questions"][0]["required"]
    assert data["registration"] == {"open": True, "closed_reason": None, "full": False,
                                    "mine": None}
    assert "secret-room" not in r.get_data(as_text=True)
    assert client.get("/api/v1/events/secret-draft").status_code == 404
    assert client.get("/api/v1/events/nope").status_code == 404
    called_off = client.get("/api/v1/events/called-off").get_json()["registration"]
    assert not called_off["open"] and "cancelled" in called_off["closed_reason"]


def test_register_wait_and_cancel_with_tokens(app, client, ev):
    url = "/api/v1/events/vienna-meetup/registrations"
    # The organiser's required question, refused on its field as the form does; nothing kept.
    r = post(client, url, {"answers": {}}, ev.tokens["anna"])
    assert r.status_code == 422 and "q_diet" in r.get_json()["errors"]
    r = post(client, url, {"answers": {"diet": "meat only"}}, ev.tokens["anna"])
    assert r.status_code == 422 and "q_diet" in r.get_json()["errors"]
    assert _registrations(app) == 0
    r = post(client, url, {"answers": {"diet": "vegan"}}, ev.tokens["anna"])
    assert r.status_code == 201, r.get_data(as_text=True)
    anna = r.get_json()
    assert anna["status"] == "registered" and anna["event"] == "vienna-meetup"
    again = post(client, url, {"answers": {"diet": "vegan"}}, ev.tokens["anna"])
    assert again.status_code == 422 and "already" in again.get_json()["errors"]["event"][0]
    assert post(client, url, {"answers": {"diet": "any"}}, ev.tokens["ben"]).status_code == 201
    carl = post(client, url, {"answers": {"diet": "any"}}, ev.tokens["carl"]).get_json()
    assert carl["status"] == "waiting" and carl["waiting_position"] == 1
    # The list gives the same place, counted for the whole page in one query.
    listed = client.get("/api/v1/registrations", headers=bearer(ev.tokens["carl"]))
    assert listed.get_json()["items"][0]["waiting_position"] == 1
    assert _seats(app, ev.vienna_id) == 2
    seen = client.get("/api/v1/events/vienna-meetup", headers=bearer(ev.tokens["anna"]))
    assert seen.get_json()["registration"]["mine"]["id"] == anna["id"]
    assert seen.get_json()["registration"]["full"] is True
    assert seen.headers["Cache-Control"].startswith("private")
    mine = client.get("/api/v1/registrations", headers=bearer(ev.tokens["anna"])).get_json()
    assert [x["id"] for x in mine["items"]] == [anna["id"]]

    cancel = f"/api/v1/registrations/{anna['id']}/cancel"
    # Others: not theirs to know (404); a read-only token: wrong scope (403); nothing changes.
    assert post(client, cancel, {}, ev.tokens["ben"]).status_code == 404
    assert post(client, cancel, {}, ev.tokens["anna_read"]).status_code == 403
    # The organiser may cancel it on the event's behalf, with manage, not with book.
    assert post(client, cancel, {}, ev.tokens["organiser_book"]).status_code == 403
    r = post(client, cancel, {}, ev.tokens["anna"])
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"
    assert post(client, cancel, {}, ev.tokens["anna"]).status_code == 422
    # The freed seat is offered to Carl, who accepts it through the API.
    carl_now = client.get("/api/v1/registrations", headers=bearer(ev.tokens["carl"]))
    assert carl_now.get_json()["items"][0]["status"] == "offered"
    assert post(client, f"/api/v1/registrations/{carl['id']}/accept", {},
                ev.tokens["ben"]).status_code == 404
    r = post(client, f"/api/v1/registrations/{carl['id']}/accept", {}, ev.tokens["carl"])
    assert r.status_code == 200 and r.get_json()["status"] == "registered"
    ben_id = client.get("/api/v1/registrations",
                        headers=bearer(ev.tokens["ben"])).get_json()["items"][0]["id"]
    r = post(client, f"/api/v1/registrations/{ben_id}/cancel", {},
             ev.tokens["organiser_manage"])
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"


def test_registration_refusals_write_nothing(app, client, ev):
    url = "/api/v1/events/vienna-meetup/registrations"
    body = {"answers": {"diet": "any"}}
    assert post(client, url, body, ev.tokens["anna_read"]).status_code == 403
    assert post(client, "/api/v1/events/secret-draft/registrations", body,
                ev.tokens["anna"]).status_code == 404
    r = post(client, "/api/v1/events/called-off/registrations", {}, ev.tokens["anna"])
    assert r.status_code == 422 and "cancelled" in r.get_json()["errors"]["event"][0]
    r = client.post(url, data=json.dumps(body), content_type="application/json")
    assert r.status_code == 400  # no bearer token: a form post without its CSRF token
    r = post(client, url, {"answers": {"diet": "any"}, "seat": 1}, ev.tokens["anna"])
    assert r.status_code == 422 and "seat" in r.get_json()["errors"]
    assert _registrations(app) == 0 and _seats(app, ev.vienna_id) == 0
