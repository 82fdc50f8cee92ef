"""Public contact on every lab page (issue 12 §1): the profile's address, phone, website and
public e-mail, and a contact form that reaches the lab's managers, or its public address
when it has no manager, answered to the sender (Reply-To) with a copy to them; a lab with
neither says so before anyone writes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from labnet.extensions import db
from labnet.models import AuditEvent, OutboxEmail
from tests.fixtures.auth import login_as, post_form

MESSAGE = {"subject": "Coating trials in May", "message": "Could we test 40 samples?\nThanks."}


def _sent(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutboxEmail))


def _audits(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "lab.contacted"))


def test_the_lab_page_shows_its_public_contact(client, make_lab):
    lab = make_lab(name="Shown Lab", contact_email="info@shown.example",
                   contact_phone="+49 30 1234", website="https://shown.example/lab",
                   address="Hauptstr. 1", postal_code="10115", city="Berlin")
    html = client.get(f"/labs/{lab.slug}").get_data(as_text=True)
    assert 'href="mailto:info@shown.example"' in html
    assert "+49 30 1234" in html and "Hauptstr. 1, 10115 Berlin" in html
    assert 'href="https://shown.example/lab"' in html
    # Anonymous visitors are asked to log in before writing.
    assert 'id="contact-login"' in html and 'id="contact-form"' not in html


def test_a_message_reaches_the_managers_answered_to_the_sender_with_a_copy(
        smtp, app, client, login, people):
    login(people.member)
    page = f"/labs/{people.lab.slug}"
    html = client.get(page).get_data(as_text=True)
    assert "reaches the lab’s managers" in html and 'id="contact-form"' in html
    response = post_form(client, f"{page}/contact", MESSAGE, page=page, follow_redirects=True)
    assert response.status_code == 200
    assert "Your message was sent to Matrix Lab" in response.get_data(as_text=True)
    [mail] = smtp.to(people.manager.email)
    assert mail["Subject"] == "[LabNet] Coating trials in May"
    assert mail["Reply-To"] == people.member.email
    body = smtp.text(mail).replace("\r\n", "\n")
    assert "Subject: Coating trials in May\n" in body
    assert "Could we test 40 samples?\nThanks." in body
    assert people.member.email in body and "Small Co" in body
    assert "you manage Matrix Lab" in body
    [copy] = smtp.to(people.member.email)
    assert "Could we test 40 samples?" in smtp.text(copy)
    assert people.manager.email not in smtp.text(copy)  # the managers' addresses stay private
    assert len(smtp.messages) == 2


def test_a_lab_without_managers_is_reached_at_its_public_address(smtp, app, client, login,
                                                                 people, make_lab):
    lab = make_lab(name="Listed Lab", contact_email="Info@Listed.example")
    login(people.member)
    page = f"/labs/{lab.slug}"
    assert "goes to its public e-mail address" in client.get(page).get_data(as_text=True)
    post_form(client, f"{page}/contact", MESSAGE, page=page)
    [mail] = smtp.to("info@listed.example")
    assert mail["Reply-To"] == people.member.email
    assert "the lab has no manager on LabNet yet" in smtp.text(mail)


def test_a_lab_nobody_receives_mail_for_says_so_and_refuses_a_message(app, client, login,
                                                                      people, make_lab):
    lab = make_lab(name="Silent Lab", contact_email="")
    login(people.member)
    page = f"/labs/{lab.slug}"
    html = client.get(page).get_data(as_text=True)
    assert "This lab cannot be contacted through LabNet yet" in html
    assert 'id="contact-form"' not in html
    response = post_form(client, f"{page}/contact", MESSAGE, page=page)
    assert response.status_code == 422
    assert "cannot be contacted through LabNet yet" in response.get_data(as_text=True)
    assert _sent(app) == 0 and _audits(app) == 0


def test_anonymous_posts_go_to_the_login_page_and_send_nothing(app, client, people):
    page = f"/labs/{people.lab.slug}"
    token_page = client.get(page)
    assert token_page.status_code == 200
    response = client.post(f"{page}/contact", data=MESSAGE)
    assert response.status_code in (302, 400)
    assert _sent(app) == 0


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"subject": ""}, "subject", "Enter a subject."),
    ({"subject": "x" * 151}, "subject", "150"),
    ({"subject": "Hi\r\nBcc: all@example.org"}, "subject", "Remove the control characters"),
    ({"message": ""}, "message", "Write your message."),
    ({"message": "Hi"}, "message", "Write at least 10 characters"),
    ({"message": "y" * 5001}, "message", "at most 5,000 characters"),
    ({"message": "bad \x00 byte in here"}, "message", "Remove the control characters"),
])
def test_bad_messages_name_the_field_keep_the_input_and_send_nothing(
        app, client, login, people, change, field, message):
    login(people.member)
    page = f"/labs/{people.lab.slug}"
    response = post_form(client, f"{page}/contact", {**MESSAGE, **change}, page=page)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    errors = html.split(f'data-field="{field}"')
    assert len(errors) > 1 and message in errors[1].split("</div>")[0]
    if field == "message":
        assert 'value="Coating trials in May"' in html
    else:
        assert "Could we test 40 samples?" in html
    assert _sent(app) == 0 and _audits(app) == 0


def test_message_text_is_never_markup(smtp, app, client, login, people):
    login(people.member)
    page = f"/labs/{people.lab.slug}"
    post_form(client, f"{page}/contact",
              {"subject": "<b>bold</b>", "message": "<script>alert(1)</script> please"},
              page=page)
    [mail] = smtp.to(people.manager.email)
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html


class TestContactRateLimit:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True, "LAB_CONTACT_LIMIT_PER_USER": "2/hour"}

    def test_one_account_sends_only_so_many_messages(self, app, client, people):
        login_as(client, people.member)
        page = f"/labs/{people.lab.slug}"
        # A refused form does not count.
        assert post_form(client, f"{page}/contact", {**MESSAGE, "subject": ""},
                         page=page).status_code == 422
        for _ in range(2):
            assert post_form(client, f"{page}/contact", MESSAGE, page=page).status_code == 302
        limited = post_form(client, f"{page}/contact", MESSAGE, page=page)
        assert limited.status_code == 429
        assert _audits(app) == 2
        # Another account is not held back by the first.
        other = app.test_client()
        login_as(other, people.outsider)
        assert post_form(other, f"{page}/contact", MESSAGE, page=page).status_code == 302
