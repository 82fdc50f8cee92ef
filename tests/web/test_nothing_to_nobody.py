"""DESIGN rule 8 from the user's side: a lab without managers takes no bookings, "tell me
when" brings one e-mail when it gets its first manager, a lab whose last manager goes away
tells the requesters of its pending bookings, and people land where their work waits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from labnet.extensions import db
from labnet.models import (
    AuditEvent,
    Booking,
    BookingStatus,
    LabManager,
    LabWatch,
    OutboxEmail,
    User,
)
from labnet.services.booking import engine
from tests.fixtures.auth import csrf_from, post_form
from tests.fixtures.berlin import APPROVING, NOW, SPLIT_DAY

SLOT = {"start_at": "2026-03-11T09:00", "end_at": "2026-03-11T11:00",
        "purpose": "Imaging of coated samples"}


@pytest.fixture
def world(app, frozen_clock, make_lab, make_equipment, make_user, make_org):
    class W:
        pass

    w = W()
    w.lab = make_lab(**APPROVING, hours=SPLIT_DAY, name="Nobody's Lab")
    w.sem = make_equipment(w.lab, booking_unit="hour", min_units=1, max_units=4)
    w.member = make_user(organisation=make_org(kind="company", size_class="small"),
                         full_name="Mia Member")
    w.admin = make_user(roles=("admin",))
    w.colleague = make_user(organisation=make_org(kind="rto", size_class=None),
                            full_name="Rita Researcher")
    return w


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_unmanaged_lab_shows_no_booking_box_but_tell_me_when(client, login, world):
    page = client.get(f"/equipment/{world.sem.id}").get_data(as_text=True)
    assert "Booking opens when the lab is managed on LabNet" in page
    assert 'id="book-link"' not in page and "Availability" not in page
    assert "Log in to be told when it opens" in page  # visitors are asked to log in
    login(world.member)
    for url in (f"/equipment/{world.sem.id}", f"/labs/{world.lab.slug}"):
        page = client.get(url).get_data(as_text=True)
        assert "Booking opens when the lab is managed on LabNet" in page
        assert 'id="tell-me-when"' in page


def test_booking_at_an_unmanaged_lab_is_refused_by_the_form_and_a_direct_post(
        app, client, login, world):
    login(world.member)
    url = f"/equipment/{world.sem.id}/book"
    step1 = post_form(client, url, SLOT, page=url)
    html = step1.get_data(as_text=True)
    assert step1.status_code == 422
    assert "Booking opens when the lab is managed on LabNet" in html
    assert 'value="Imaging of coated samples"' in html or "Imaging of coated samples" in html
    direct = post_form(client, url, {**SLOT, "confirm": "1"}, page=url)
    assert direct.status_code == 422
    assert "Booking opens when the lab is managed on LabNet" in direct.get_data(as_text=True)
    assert _count(app, Booking) == 0
    assert _count(app, OutboxEmail) == 0


def test_the_engine_refuses_every_path_with_its_own_words(app, world):
    with app.test_request_context():
        member = db.session.get(User, world.member.id)
        start = NOW + timedelta(days=9)
        with pytest.raises(engine.RuleViolation) as refused:
            engine.request_booking(member, world.sem.id, start, start + timedelta(hours=2),
                                   "Imaging", now=NOW)
        assert refused.value.field == "equipment"
        assert "Tell me when" in refused.value.message
        with pytest.raises(engine.RuleViolation):
            engine.preview_booking(member, world.sem.id, start, start + timedelta(hours=2),
                                   now=NOW)


def test_tell_me_when_end_to_end(smtp, app, client, login, world):
    login(world.member)
    lab_url = f"/labs/{world.lab.slug}"
    response = post_form(client, f"{lab_url}/watch", {"next": lab_url}, page=lab_url)
    assert response.status_code == 302 and response.headers["Location"] == lab_url
    page = client.get(lab_url).get_data(as_text=True)
    assert "We will send you one e-mail when Nobody&#39;s Lab gets its first manager" in page
    account = client.get("/account").get_data(as_text=True)
    assert "Labs you wait for" in account and "Nobody&#39;s Lab" in account
    # Asking twice keeps one wish.
    post_form(client, f"{lab_url}/watch", {}, page=lab_url)
    assert _count(app, LabWatch) == 1
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/logout").get_data(
        as_text=True))})

    # An admin makes the researcher the lab's first manager.
    login(world.admin)
    admin_page = f"/admin/users/{world.colleague.id}"
    granted = post_form(client, f"{admin_page}/roles",
                        {"role": "lab_manager", "lab": world.lab.slug}, page=admin_page)
    assert granted.status_code == 302
    mails = smtp.to(world.member.email)
    assert len(mails) == 1
    assert mails[0]["Subject"] == "Nobody's Lab now takes bookings on LabNet"
    body = smtp.text(mails[0])
    assert body.startswith("Hello Mia Member,")
    assert "you asked LabNet to tell you when Nobody's Lab opens for bookings" in body
    assert f"http://labnet.test/labs/{world.lab.slug}" in body
    assert _count(app, LabWatch) == 0  # the wish is gone
    # A second manager sends nothing more.
    other = f"/admin/users/{world.admin.id}"
    post_form(client, f"{other}/roles", {"role": "lab_manager", "lab": world.lab.slug},
              page=other)
    assert len(smtp.to(world.member.email)) == 1
    # The lab now takes bookings: the box is back.
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/logout").get_data(
        as_text=True))})
    login(world.member)
    page = client.get(f"/equipment/{world.sem.id}").get_data(as_text=True)
    assert 'id="book-link"' in page and "Booking opens" not in page


def test_a_wish_can_be_withdrawn_from_the_account_page(app, client, login, world):
    login(world.member)
    lab_url = f"/labs/{world.lab.slug}"
    post_form(client, f"{lab_url}/watch", {}, page=lab_url)
    response = post_form(client, f"{lab_url}/unwatch", {"next": "/account"}, page="/account")
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert _count(app, LabWatch) == 0
    assert "Labs you wait for" not in client.get("/account").get_data(as_text=True)
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"lab.watched", "lab.unwatched"} <= actions


def test_a_managed_lab_takes_no_wish(app, client, login, world, make_user):
    make_user(manages=(world.lab,))
    login(world.member)
    lab_url = f"/labs/{world.lab.slug}"
    response = post_form(client, f"{lab_url}/watch", {}, page=lab_url)
    assert response.status_code == 302
    assert "is managed on LabNet already" in client.get(lab_url).get_data(as_text=True)
    assert _count(app, LabWatch) == 0


def test_visitors_cannot_leave_a_wish(app, client, world):
    response = client.post(f"/labs/{world.lab.slug}/watch",
                           data={"csrf_token": csrf_from(client.get("/login").get_data(
                               as_text=True))})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert _count(app, LabWatch) == 0


def test_a_pending_booking_never_loses_its_decider(smtp, app, client, login, world, make_user):
    """The last manager of a lab cannot be revoked (rule 10), so a pending booking always
    has someone to decide it (rule 8)."""
    manager = make_user(manages=(world.lab,))
    with app.test_request_context():
        start = NOW + timedelta(days=9)
        booking = engine.request_booking(db.session.get(User, world.member.id), world.sem.id,
                                         start, start + timedelta(hours=2), "Imaging", now=NOW)
        db.session.commit()
        booking_id = booking.id
    login(world.admin)
    page = f"/admin/users/{manager.id}"
    response = post_form(client, f"{page}/roles/revoke",
                         {"role": "lab_manager", "lab": world.lab.slug}, page=page)
    assert "A lab keeps at least one manager" in response.get_data(as_text=True) or (
        "A lab keeps at least one manager" in client.get(page).get_data(as_text=True))
    with app.app_context():
        assert db.session.get(Booking, booking_id).status == BookingStatus.PENDING
        assert manager.id in {m.user_id for m in db.session.scalars(
            select(LabManager).where(LabManager.lab_id == world.lab.id))}


# --- landing after login ------------------------------------------------------------------


def _login_location(client, user, next_url: str = "") -> str:
    url = f"/login?next={next_url}" if next_url else "/login"
    response = post_form(client, "/login", {"email": user.email,
                                            "password": "correct horse battery",
                                            "next": next_url}, page=url)
    assert response.status_code == 302
    return response.headers["Location"]


def test_a_manager_with_a_booking_waiting_lands_on_the_queue(app, client, world, make_user):
    manager = make_user(manages=(world.lab,))
    assert _login_location(client, manager) == "/"  # nothing waits yet
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/logout").get_data(
        as_text=True))})
    with app.test_request_context():
        start = NOW + timedelta(days=9)
        engine.request_booking(db.session.get(User, world.member.id), world.sem.id, start,
                               start + timedelta(hours=2), "Imaging", now=NOW)
        db.session.commit()
    assert _login_location(client, manager) == "/manage/bookings"


def test_next_wins_and_stays_safe(app, client, world, make_user):
    manager = make_user(manages=(world.lab,))
    with app.test_request_context():
        start = NOW + timedelta(days=9)
        engine.request_booking(db.session.get(User, world.member.id), world.sem.id, start,
                               start + timedelta(hours=2), "Imaging", now=NOW)
        db.session.commit()
    assert _login_location(client, manager, "/account") == "/account"
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/logout").get_data(
        as_text=True))})
    # An address off the site is ignored: the work landing instead.
    assert _login_location(client, manager, "https://evil.example/") == "/manage/bookings"


def test_a_member_without_work_lands_home(client, world):
    assert _login_location(client, world.member) == "/"
