"""Registration, the waiting list, organisers' pages, certificates and qualifications from
the user's side: real login, forms with CSRF, e-mails followed by their links."""

from __future__ import annotations

import re
from datetime import timedelta

import icalendar
import pytest
from sqlalchemy import func, select

from labnet.extensions import db
from labnet.models import OutboxEmail
from labnet.models.training import Registration
from labnet.services.training import registration as svc
from tests.fixtures.auth import login_as, post_form
from tests.fixtures.berlin import APPROVING, NOW, SPLIT_DAY, berlin

H = timedelta(hours=1)
QUESTIONS = [
    {"key": "diet", "label": "Dietary needs", "kind": "choice", "required": True,
     "choices": ["none", "vegetarian"]},
    {"key": "why", "label": "Motivation", "kind": "text", "required": True},
]


@pytest.fixture
def setting(make_lab, make_user, make_course):
    class S:
        pass

    s = S()
    s.lab = make_lab(**APPROVING, hours=SPLIT_DAY)
    s.manager = make_user(manages=(s.lab,))
    s.course = make_course(s.lab, [(berlin(2026, 3, 10, 9), berlin(2026, 3, 10, 12)),
                                   (berlin(2026, 3, 11, 9), berlin(2026, 3, 11, 12))],
                           capacity=1, questions=QUESTIONS, title="SEM <b>basics</b>",
                           online_url="https://meet.example/room-42", slug="sem-basics")
    s.anna = make_user(full_name="Anna")
    s.ben = make_user(full_name="Ben")
    return s


def _outbox(app, kind: str) -> list[OutboxEmail]:
    with app.app_context():
        return list(db.session.scalars(select(OutboxEmail).where(OutboxEmail.kind == kind)))


def _count(app, model) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_bad_answers_are_refused_on_their_question_and_kept(app, client, login, setting,
                                                            frozen_clock):
    login(setting.anna)
    page = client.get("/events/sem-basics/register").get_data(as_text=True)
    assert "SEM &lt;b&gt;basics&lt;/b&gt;" in page and "<b>basics" not in page
    assert "room-42" not in page  # the online link is for registered people
    response = post_form(client, "/events/sem-basics/register",
                         {"q_diet": "meat", "q_why": "For <script>coatings</script>"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choose one of the answers offered for “Dietary needs”" in body
    assert "For &lt;script&gt;coatings&lt;/script&gt;" in body  # kept, never markup
    assert _count(app, Registration) == 0 and not _outbox(app, "event_registered")
    response = post_form(client, "/events/sem-basics/register", {"q_diet": "", "q_why": ""})
    assert response.status_code == 422
    assert "Please answer “Dietary needs”" in response.get_data(as_text=True)


def test_register_wait_cancel_offer_accept_through_the_pages(smtp, app, client, login, setting,
                                                             frozen_clock):
    login(setting.anna)
    response = post_form(client, "/events/sem-basics/register",
                         {"q_diet": "none", "q_why": "Coatings"})
    assert response.status_code == 302
    anna_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Registered" in anna_page and "https://meet.example/room-42" in anna_page
    ics = icalendar.Calendar.from_ical(client.get(
        response.headers["Location"] + ".ics").get_data())
    starts = [e.get("dtstart").dt for e in ics.walk("VEVENT")]
    assert [s.isoformat() for s in starts] == ["2026-03-10T09:00:00+01:00",
                                               "2026-03-11T09:00:00+01:00"]
    anna_url = response.headers["Location"]
    client = app.test_client()
    login_as(client, setting.ben)
    response = post_form(client, "/events/sem-basics/register",
                         {"q_diet": "vegetarian", "q_why": "Fibres"})
    ben_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "On the waiting list" in ben_page and "You are number 1" in ben_page
    assert "meet.example/room-42" not in ben_page  # waiting: no link
    ben_url = response.headers["Location"]
    anna = app.test_client()
    login_as(anna, setting.anna)
    assert post_form(anna, anna_url + "/cancel", {}, page=anna_url).status_code == 302
    assert "Cancelled" in anna.get(anna_url).get_data(as_text=True)
    [offer] = [m for m in smtp.messages if "A seat is free" in m["Subject"]]
    link = re.search(r"http://labnet\.test(/registrations/\d+)", smtp.text(offer)).group(1)
    assert link == ben_url.replace("http://labnet.test", "")
    page = client.get(link).get_data(as_text=True)
    assert "Accept the seat" in page
    response = post_form(client, link + "/accept", {}, page=link)
    assert response.status_code == 302
    page = client.get(link).get_data(as_text=True)
    assert "The seat is yours" in page and "https://meet.example/room-42" in page


def test_organisers_list_export_message_check_in_and_certify(smtp, app, client, login,
                                                             setting, frozen_clock):
    with app.app_context():
        reg = svc.register(db.session.get(type(setting.anna), setting.anna.id),
                           setting.course.id, {"q_diet": "none", "q_why": "=HYPERLINK(1)"},
                           now=NOW)
        db.session.commit()
        reg_id = reg.id
    login(setting.manager)
    page = client.get("/events/sem-basics/registrations").get_data(as_text=True)
    assert setting.anna.email in page
    csv = client.get("/events/sem-basics/registrations.csv")
    text = csv.get_data(as_text=True)
    assert text.startswith("\ufeff") and "'=HYPERLINK(1)" in text
    assert csv.headers["Cache-Control"] == "no-store"
    response = post_form(client, "/events/sem-basics/message", {"subject": "", "body": "x"})
    assert response.status_code == 422 and "Give the message a subject" in \
        response.get_data(as_text=True)
    response = post_form(client, "/events/sem-basics/message",
                         {"subject": "Bring samples", "body": "Up to <5>."})
    assert response.status_code == 302
    [mail] = [m for m in smtp.messages if "Bring samples" in m["Subject"]]
    assert mail["Reply-To"] == setting.manager.email and "Up to <5>." in smtp.text(mail)
    check_in = client.get("/events/sem-basics/check-in").get_data(as_text=True)
    session_id = re.search(r'name="session_id" value="(\d+)"', check_in).group(1)
    response = post_form(client, "/events/sem-basics/check-in",
                         {"registration_id": reg_id, "session_id": session_id, "present": "1"},
                         page="/events/sem-basics/check-in")
    assert response.status_code == 302
    assert "Present ✓" in client.get(response.headers["Location"]).get_data(as_text=True)
    response = post_form(client, "/events/sem-basics/certificates", {},
                         page="/events/sem-basics/registrations")
    assert response.status_code == 302
    [mail] = [m for m in smtp.messages if "certificate" in m["Subject"]]
    url = re.search(r"http://labnet\.test(/certificates/[\w-]+)", smtp.text(mail)).group(1)
    public = app.test_client()
    page = public.get(url).get_data(as_text=True)
    assert "Anna" in page and "SEM &lt;b&gt;basics&lt;/b&gt;" in page and "Verified" in page
    pdf = public.get(url + ".pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_strangers_do_not_see_registrations_or_lists(app, client, login, setting, make_user,
                                                     frozen_clock):
    with app.app_context():
        reg = svc.register(db.session.get(type(setting.anna), setting.anna.id),
                           setting.course.id, {"q_diet": "none", "q_why": "x"}, now=NOW)
        db.session.commit()
        reg_id = reg.id
    login(make_user())
    assert client.get(f"/registrations/{reg_id}").status_code == 404
    assert client.get(f"/registrations/{reg_id}.ics").status_code == 404
    assert client.get("/events/sem-basics/registrations").status_code == 403
    assert client.get("/events/sem-basics/registrations.csv").status_code == 403


def test_qualification_pages_and_the_booking_form_names_the_course(app, client, login,
                                                                   setting, make_equipment,
                                                                   frozen_clock):
    sem = make_equipment(setting.lab, mode="self_service", name="Gemini SEM")
    login(setting.manager)
    response = post_form(client, f"/manage/labs/{setting.lab.slug}/qualifications",
                         {"name": "", "validity_months": "500"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "Name the qualification" in body
    response = post_form(client, f"/manage/labs/{setting.lab.slug}/qualifications",
                         {"name": "SEM operation", "validity_months": "24"})
    assert response.status_code == 302
    q_url = response.headers["Location"]
    response = post_form(client, q_url, {"eq-equipment_ids": [str(sem.id)], "eq-submit": "1"},
                         page=q_url)
    assert response.status_code == 302
    page = client.get("/events/sem-basics/qualifications").get_data(as_text=True)
    q_id = re.search(r'name="qualification_ids"[^>]*value="(\d+)"', page).group(1)
    post_form(client, "/events/sem-basics/qualifications", {"qualification_ids": [q_id]})
    response = post_form(client, q_url, {"grant-email": "nobody@example.org"}, page=q_url)
    assert response.status_code == 422 and "nobody@example.org" in \
        response.get_data(as_text=True)
    client = app.test_client()
    login_as(client, setting.anna)
    response = post_form(client, f"/equipment/{sem.id}/book",
                         {"start_at": "2026-03-12T09:00", "end_at": "2026-03-12T11:00",
                          "purpose": "Imaging"}, page=f"/equipment/{sem.id}/book")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "“SEM operation”" in body and "SEM &lt;b&gt;basics&lt;/b&gt;" in body
    assert "/events/sem-basics" in body or "/register" in body


def test_a_course_on_the_spring_clock_change_keeps_its_local_times(app, client, login,
                                                                   make_lab, make_user,
                                                                   make_course, frozen_clock):
    lab = make_lab()
    make_user(manages=(lab,))
    course = make_course(lab, [(berlin(2026, 3, 28, 9), berlin(2026, 3, 28, 12)),
                               (berlin(2026, 3, 29, 9), berlin(2026, 3, 29, 12))],
                         slug="dst-course")
    person = make_user()
    login(person)
    response = post_form(client, "/events/dst-course/register", {})
    url = response.headers["Location"]
    ics = icalendar.Calendar.from_ical(client.get(url + ".ics").get_data())
    starts = sorted(e.get("dtstart").dt for e in ics.walk("VEVENT"))
    assert [s.isoformat() for s in starts] == ["2026-03-28T09:00:00+01:00",
                                               "2026-03-29T09:00:00+02:00"]
    assert str(ics.walk("VEVENT")[0].get("dtstart").params["TZID"]) == "Europe/Berlin"
    assert "2026-03-28 09:00 – 2026-03-29 12:00 CEST" in client.get(url).get_data(as_text=True)
    del course
