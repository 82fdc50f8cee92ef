"""Calendar feeds: the account page, the secret ``.ics`` URLs, and what clients read back.

Feeds are parsed back with icalendar: stable UIDs, SEQUENCE bumps, CANCELLED entries,
TZID; a regenerated URL revokes the old one; other organisations' bookings never appear.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import icalendar
import pytest
from sqlalchemy import delete

from labnet.extensions import db
from labnet.models import LabManager, User
from labnet.models.booking import Booking
from labnet.services.booking import engine as booking_service
from tests.fixtures.auth import csrf_from

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
URL_RE = re.compile(r'value="http://labnet\.test(/feeds/[0-9a-f]+\.ics)"')


@pytest.fixture
def world(app, make_lab, make_equipment, make_user, make_org, frozen_clock):
    frozen_clock.move_to(NOW)
    lab = make_lab(timezone="Europe/Berlin")
    w = type("W", (), {})()
    w.lab = lab
    w.sem = make_equipment(lab, name="SEM one")
    w.xrd = make_equipment(lab, name="XRD two")
    w.manager = make_user(manages=(lab,))
    w.org = make_org(kind="company", size_class="small", name="Small Co")
    w.member = make_user(organisation=w.org)
    w.colleague = make_user(organisation=w.org)
    w.outsider = make_user()
    w.n = 0
    return w


def book(app, w, user, start, *, status="confirmed", equipment=None, purpose="Imaging"):
    w.n += 1
    equipment = equipment or w.sem
    with app.app_context():
        b = Booking(reference=f"LN-2026-{w.n:06d}", equipment_id=equipment.id, lab_id=w.lab.id,
                    requester_id=user.id, organisation_id=user.organisation_id, purpose=purpose,
                    start_at=start, end_at=start + 2 * H, blocked_start=start, status=status,
                    hold_until=start if status == "pending" else None, unit="hour", units=2,
                    rate_kind="sme", rate_applied=Decimal("120"), price_estimate=Decimal("240"),
                    currency="EUR", created_at=NOW, updated_at=NOW)
        db.session.add(b)
        db.session.commit()
        return b.id


def feed_urls(client) -> list[str]:
    page = client.get("/account/calendar")
    assert page.status_code == 200
    return URL_RE.findall(page.text)


def events(client, url: str) -> dict[str, icalendar.Event]:
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    cal = icalendar.Calendar.from_ical(response.data)
    found = {str(e["uid"]): e for e in cal.walk("VEVENT")}
    assert len(found) == len(cal.walk("VEVENT")), "duplicate UIDs"
    return found


def test_member_feed_lists_own_organisation_bookings_with_status_and_zone(app, client, login,
                                                                          world):
    mine = book(app, world, world.member, NOW + 48 * H, purpose="Etch; polish, image\nagain")
    colleague = book(app, world, world.colleague, NOW + 72 * H, status="pending")
    cancelled = book(app, world, world.member, NOW + 96 * H, status="cancelled")
    expired = book(app, world, world.member, NOW - 5 * 24 * H, status="expired")
    old = book(app, world, world.member, NOW - 40 * 24 * H, status="completed")
    theirs = book(app, world, world.outsider, NOW + 120 * H)
    login(world.member)
    [url] = feed_urls(client)
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/logout").text)})
    found = events(client, url)  # no login needed: the token is the credential
    assert set(found) == {f"booking-{i}@labnet" for i in (mine, colleague, cancelled, expired)}
    assert f"booking-{theirs}@labnet" not in found and f"booking-{old}@labnet" not in found
    status = {uid: str(e["status"]) for uid, e in found.items()}
    assert status == {f"booking-{mine}@labnet": "CONFIRMED",
                      f"booking-{colleague}@labnet": "TENTATIVE",
                      f"booking-{cancelled}@labnet": "CANCELLED",
                      f"booking-{expired}@labnet": "CANCELLED"}
    event = found[f"booking-{mine}@labnet"]
    assert event["dtstart"].params["TZID"] == "Europe/Berlin"
    start, end = event.DTSTART, event.DTEND
    assert start.replace(tzinfo=None) == datetime(2026, 3, 4, 10, 0)  # 09:00 UTC, lab time
    assert start.utcoffset() == timedelta(hours=1)
    assert end - start == 2 * H
    assert "Etch; polish, image\nagain" in str(event["description"])
    assert str(event["summary"]) == f"SEM one at {world.lab.name}"
    assert int(event["sequence"]) == 0
    body = client.get(url).text
    assert "BEGIN:VTIMEZONE" in body and "TZID:Europe/Berlin" in body


def test_a_change_updates_the_entry_with_a_higher_sequence(app, client, login, world):
    booking_id = book(app, world, world.member, NOW + 48 * H)
    login(world.member)
    [url] = feed_urls(client)
    uid = f"booking-{booking_id}@labnet"
    before = events(client, url)[uid]
    with app.test_request_context():
        booking_service.cancel_booking(db.session.get(User, world.member.id), booking_id,
                                       "plans changed", now=NOW)
        db.session.commit()
    after = events(client, url)
    assert list(after) == [uid]  # same UID: updated, not duplicated
    assert int(after[uid]["sequence"]) == int(before["sequence"]) + 1
    assert str(after[uid]["status"]) == "CANCELLED"


def test_manager_gets_one_feed_per_equipment_with_every_organisation(app, client, login, world):
    on_sem = book(app, world, world.member, NOW + 48 * H)
    on_sem_other_org = book(app, world, world.outsider, NOW + 52 * H)
    on_xrd = book(app, world, world.outsider, NOW + 48 * H, equipment=world.xrd)
    login(world.manager)
    urls = feed_urls(client)
    assert len(urls) == 3  # the manager's organisation, then SEM one and XRD two
    assert urls == feed_urls(client)  # shown again, not made again
    sem = events(client, urls[1])
    assert set(sem) == {f"booking-{on_sem}@labnet", f"booking-{on_sem_other_org}@labnet"}
    assert str(sem[f"booking-{on_sem}@labnet"]["summary"]) == "SEM one: Small Co"
    assert set(events(client, urls[2])) == {f"booking-{on_xrd}@labnet"}
    assert events(client, urls[0]) == {}  # the manager's own organisation books nothing
    # A manager who loses the lab loses its feeds at once.
    with app.app_context():
        db.session.execute(delete(LabManager).where(LabManager.user_id == world.manager.id))
        db.session.commit()
    assert client.get(urls[1]).status_code == 404
    assert client.get(urls[0]).status_code == 200


def test_regenerate_revokes_the_old_url(app, client, login, world):
    login(world.member)
    [old] = feed_urls(client)
    page = client.get("/account/calendar").text
    feed_id = re.search(r'name="feed" value="(\d+)"', page).group(1)
    response = client.post("/account/calendar/regenerate",
                           data={"csrf_token": csrf_from(page), "feed": feed_id})
    assert response.status_code == 302
    [new] = feed_urls(client)
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200


def test_regenerate_someone_elses_feed_is_404_and_changes_nothing(app, client, login, world):
    login(world.colleague)
    page = client.get("/account/calendar").text
    [theirs] = URL_RE.findall(page)
    their_id = re.search(r'name="feed" value="(\d+)"', page).group(1)
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/logout").text)})
    login(world.member)
    page = client.get("/account/calendar").text
    response = client.post("/account/calendar/regenerate",
                           data={"csrf_token": csrf_from(page), "feed": their_id})
    assert response.status_code == 404
    assert client.get(theirs).status_code == 200


@pytest.mark.parametrize("token", ["0" * 64, "not-a-token", "a" * 300])
def test_unknown_token_is_404(client, world, token):
    assert client.get(f"/feeds/{token}.ics").status_code == 404


def test_calendar_page_needs_login(client, world):
    response = client.get("/account/calendar")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
