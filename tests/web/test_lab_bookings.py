"""The lab manager's booking pages: the queue, decisions with reasons, another lab's manager
refused with nothing changed, blackouts that ask before touching bookings, shortening,
no-shows, the week calendar and the e-mail preference."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from labnet.extensions import db
from labnet.models import AuditEvent, User
from labnet.models.booking import Blackout, Booking
from labnet.services.booking import engine as service
from tests.fixtures.a11y import assert_refused_input
from tests.fixtures.auth import post_form
from tests.fixtures.berlin import APPROVING, BERLIN, berlin


@pytest.fixture
def desk(app, frozen_clock, make_lab, make_equipment, make_user, make_org):
    """A Berlin lab open Mon–Fri 08–17 needing approval, an hourly SEM, its manager, another
    lab's manager and two bookers of different companies."""
    lab = make_lab(**APPROVING, hold_hours=48, name="Queue Lab", hours=((8, 17),))
    other = make_lab(timezone=BERLIN, requires_approval=True, name="Elsewhere Lab",
                     hours=((8, 17),))

    class D:
        pass

    d = D()
    d.lab, d.other = lab, other
    d.sem = make_equipment(lab, booking_unit="hour", min_units=1, max_units=8,
                           name="Queue SEM")
    d.foreign = make_equipment(other, booking_unit="hour", name="Elsewhere CT")
    d.manager = make_user(manages=(lab,))
    d.other_manager = make_user(manages=(other,))
    d.member = make_user(organisation=make_org(kind="company", size_class="small"))
    d.large = make_user(organisation=make_org(kind="company", size_class="large"))
    d.now = frozen_clock.now
    return d


def book(app, d, user, equipment, start, end, *, now=None, approve=False) -> int:
    with app.test_request_context():
        b = service.request_booking(db.session.get(User, user.id), equipment.id, start, end,
                                    "Imaging of coated samples", now=now or d.now)
        if approve:
            service.approve_booking(db.session.get(User, d.manager.id), b.id, now=d.now)
        db.session.commit()
        return b.id


def status_of(app, booking_id) -> str:
    with app.app_context():
        return db.session.get(Booking, booking_id).status


def test_queue_lists_my_labs_pending_requests_oldest_first_with_the_hold(app, client, login,
                                                                        desk):
    second = book(app, desk, desk.large, desk.sem, berlin(2026, 3, 10, 9),
                  berlin(2026, 3, 10, 10), now=desk.now + timedelta(minutes=10))
    first = book(app, desk, desk.member, desk.sem, berlin(2026, 3, 11, 9),
                 berlin(2026, 3, 11, 11))
    book(app, desk, desk.member, desk.foreign, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 10))
    login(desk.manager)
    html = client.get("/manage/bookings").get_data(as_text=True)
    pending = html.split('id="pending"')[1].split("</table>")[0]
    assert re.findall(r'id="booking-(\d+)"', pending) == [str(first), str(second)]
    assert "Elsewhere CT" not in html
    # Hold: 48 h after 2026-03-02 09:00 UTC, shown in Berlin time.
    assert "2026-03-04 10:00" in pending
    # The home page shows the count.
    home = client.get("/").get_data(as_text=True)
    assert "2 booking requests waiting for your decision" in home


def test_approve_confirms_and_mails_the_requester(smtp, app, client, login, desk):
    bid = book(app, desk, desk.member, desk.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 11))
    login(desk.manager)
    response = post_form(client, f"/manage/bookings/{bid}/approve", {},
                         page="/manage/bookings")
    assert response.status_code == 302
    assert status_of(app, bid) == "confirmed"
    assert any("confirmed" in m["Subject"] for m in smtp.to(desk.member.email))


def test_reject_needs_a_reason_shown_on_the_field_with_nothing_changed(app, client, login,
                                                                       desk):
    bid = book(app, desk, desk.member, desk.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 11))
    login(desk.manager)
    response = post_form(client, f"/manage/bookings/{bid}/reject", {"reason": "   "},
                         page="/manage/bookings")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Give the requester a reason." in html
    assert status_of(app, bid) == "pending"
    long = "Too long " * 250
    response = post_form(client, f"/manage/bookings/{bid}/reject", {"reason": long},
                         page="/manage/bookings")
    assert response.status_code == 422
    assert long.strip() in response.get_data(as_text=True)  # what was typed is kept
    response = post_form(client, f"/manage/bookings/{bid}/reject",
                         {"reason": "The SEM is booked for a service job."},
                         page="/manage/bookings")
    assert response.status_code == 302
    with app.app_context():
        b = db.session.get(Booking, bid)
        assert (b.status, b.decision_reason) == ("rejected", "The SEM is booked for a "
                                                             "service job.")


@pytest.mark.parametrize("action", ["approve", "reject", "cancel", "no-show"])
def test_another_labs_manager_gets_404_and_nothing_changes(app, client, login, desk, action):
    bid = book(app, desk, desk.member, desk.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 11))
    login(desk.other_manager)
    response = post_form(client, f"/manage/bookings/{bid}/{action}", {"reason": "No"},
                         page="/manage/bookings")
    assert response.status_code == 404
    assert client.get(f"/manage/bookings/{bid}/shorten").status_code == 404
    assert status_of(app, bid) == "pending"
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.subject_type == "booking")) == 1


def test_the_requesters_own_colleague_sees_the_booking_but_gets_403(app, client, login,
                                                                  make_user, desk):
    bid = book(app, desk, desk.member, desk.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 11))
    with app.app_context():
        org_id = db.session.get(User, desk.member.id).organisation_id
    from labnet.models import Organisation

    with app.app_context():
        org = db.session.get(Organisation, org_id)
        db.session.expunge(org)
    login(make_user(organisation=org))
    response = post_form(client, f"/manage/bookings/{bid}/approve", {},
                         page="/manage/bookings")
    assert response.status_code == 403
    assert status_of(app, bid) == "pending"


def test_another_labs_manager_gets_403_on_the_labs_calendar_and_blackouts(client, login, desk):
    login(desk.other_manager)
    assert client.get(f"/manage/bookings/labs/{desk.lab.slug}/calendar").status_code == 403
    assert client.get(f"/manage/bookings/labs/{desk.lab.slug}/blackouts").status_code == 403


def test_cancel_a_confirmed_booking_needs_a_reason(app, client, login, desk):
    bid = book(app, desk, desk.member, desk.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 11),
               approve=True)
    login(desk.manager)
    response = post_form(client, f"/manage/bookings/{bid}/cancel", {"reason": ""},
                         page="/manage/bookings")
    assert response.status_code == 422
    assert "Tell the requester why" in response.get_data(as_text=True)
    assert status_of(app, bid) == "confirmed"
    response = post_form(client, f"/manage/bookings/{bid}/cancel",
                         {"reason": "The machine broke down."}, page="/manage/bookings")
    assert response.status_code == 302 and status_of(app, bid) == "cancelled"


def test_shorten_form_in_lab_time(app, client, login, desk):
    bid = book(app, desk, desk.member, desk.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 13),
               approve=True)
    login(desk.manager)
    page = client.get(f"/manage/bookings/{bid}/shorten").get_data(as_text=True)
    assert 'value="2026-03-11T09:00"' in page and 'value="2026-03-11T13:00"' in page
    url = f"/manage/bookings/{bid}/shorten"
    response = post_form(client, url, {"start_at": "2026-03-11T08:00",
                                       "end_at": "2026-03-11T12:00"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "not be before" in html
    assert 'value="2026-03-11T08:00"' in html
    response = post_form(client, url, {"start_at": "2026-03-11T10:00",
                                       "end_at": "2026-03-11T12:00"})
    assert response.status_code == 302
    with app.app_context():
        b = db.session.get(Booking, bid)
        assert (b.start_at, b.end_at, b.units, b.status) == (
            berlin(2026, 3, 11, 10), berlin(2026, 3, 11, 12), 2, "confirmed")


def test_no_show_after_the_end(app, client, login, desk, frozen_clock):
    bid = book(app, desk, desk.member, desk.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 11),
               approve=True)
    login(desk.manager)
    response = post_form(client, f"/manage/bookings/{bid}/no-show", {},
                         page="/manage/bookings")
    assert response.status_code == 302 and status_of(app, bid) == "confirmed"
    frozen_clock.move_to(berlin(2026, 3, 11, 12))
    login(desk.manager)  # sessions last 12 hours
    html = client.get("/manage/bookings").get_data(as_text=True)
    assert f'id="booking-{bid}"' in html.split('id="ended"')[1]
    response = post_form(client, f"/manage/bookings/{bid}/no-show", {},
                         page="/manage/bookings")
    assert response.status_code == 302 and status_of(app, bid) == "no_show"


def test_blackout_over_bookings_lists_them_then_cancel_mails_the_bookers(smtp, app, client,
                                                                        login, desk):
    first = book(app, desk, desk.member, desk.sem, berlin(2026, 3, 11, 9),
                 berlin(2026, 3, 11, 11))
    second = book(app, desk, desk.large, desk.sem, berlin(2026, 3, 11, 13),
                  berlin(2026, 3, 11, 14), approve=True)
    login(desk.manager)
    url = f"/manage/bookings/labs/{desk.lab.slug}/blackouts"
    form = {"equipment_id": "", "start_at": "2026-03-11T00:00", "end_at": "2026-03-12T00:00",
            "reason": "Vacuum pump overhaul"}
    response = post_form(client, url, form)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    conflict = html.split('id="conflict"')[1]
    with app.app_context():
        refs = [db.session.get(Booking, i).reference for i in (first, second)]
        assert db.session.scalar(select(func.count(Blackout.id))) == 0
    assert all(ref in conflict for ref in refs)
    assert 'value="Vacuum pump overhaul"' in html and 'value="keep"' in html
    assert f'name="seen_ids" type="hidden" value="{first},{second}"' in html
    smtp.messages.clear()
    response = post_form(client, url, {**form, "affected_action": "cancel",
                                       "seen_ids": f"{first},{second}"})
    assert response.status_code == 302
    assert status_of(app, first) == status_of(app, second) == "cancelled"
    for user in (desk.member, desk.large):
        [mail] = [m for m in smtp.to(user.email) if "unavailable" in m["Subject"]]
        assert "Vacuum pump overhaul" in smtp.text(mail)
    html = client.get(url).get_data(as_text=True)
    assert "Vacuum pump overhaul" in html
    # Removing the blackout.
    with app.app_context():
        bo_id = db.session.scalar(select(Blackout.id))
    response = post_form(client, f"/manage/bookings/blackouts/{bo_id}/delete", {}, page=url)
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count(Blackout.id))) == 0


def test_blackout_form_errors_keep_the_input(app, client, login, desk):
    login(desk.manager)
    url = f"/manage/bookings/labs/{desk.lab.slug}/blackouts"
    response = post_form(client, url, {"equipment_id": str(desk.sem.id),
                                       "start_at": "2026-03-12T00:00",
                                       "end_at": "2026-03-11T00:00", "reason": "Holidays"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "The end must be after the start." in html
    assert 'value="Holidays"' in html and 'value="2026-03-12T00:00"' in html
    with app.app_context():
        assert db.session.scalar(select(func.count(Blackout.id))) == 0


def test_calendar_shows_the_weeks_bookings_per_equipment(app, client, login, desk):
    bid = book(app, desk, desk.member, desk.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 11))
    login(desk.manager)
    html = client.get(f"/manage/bookings/labs/{desk.lab.slug}/calendar?week=2026-03-11"
                      ).get_data(as_text=True)
    with app.app_context():
        ref = db.session.get(Booking, bid).reference
    assert "week of 2026-03-09" in html
    row = html.split(f'data-equipment="{desk.sem.id}"')[1].split("</tr>")[0]
    cells = row.split("<td>")
    assert ref in cells[3] and "09:00–11:00" in cells[3]  # Wednesday
    empty = client.get(f"/manage/bookings/labs/{desk.lab.slug}/calendar?week=2026-03-16")
    assert ref not in empty.get_data(as_text=True)
    bad = client.get(f"/manage/bookings/labs/{desk.lab.slug}/calendar?week=soon")
    assert bad.status_code == 400


def test_mail_preference_is_saved(app, client, login, desk):
    login(desk.member)
    page = client.get("/account/notifications").get_data(as_text=True)
    assert "always come at once" in page
    response = post_form(client, "/account/notifications", {"mail_mode": "digest"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(User, desk.member.id).mail_mode == "digest"
    response = post_form(client, "/account/notifications", {"mail_mode": "hourly"})
    assert response.status_code == 422
    assert "daily digest" in response.get_data(as_text=True)


def test_visitors_are_sent_to_log_in(client, desk):
    assert "/login" in client.get("/manage/bookings").headers["Location"]
    assert "/login" in client.get("/account/notifications").headers["Location"]


def test_a_refused_reason_is_tied_to_its_box_and_summed_up(app, client, login, desk):
    bid = book(app, desk, desk.member, desk.sem, berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 11))
    login(desk.manager)
    response = post_form(client, f"/manage/bookings/{bid}/reject", {"reason": " "},
                         page="/manage/bookings")
    assert response.status_code == 422
    assert_refused_input(response.get_data(as_text=True), f"reject-reason-{bid}",
                         "Give the requester a reason.")
