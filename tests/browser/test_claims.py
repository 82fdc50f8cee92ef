"""Claiming a demo lab in Chromium (DESIGN rule 10): a visitor opens an unmanaged lab,
registers with an address at its web domain, follows the one e-mailed link, manages the
lab, and invites a colleague who registers from the invitation and becomes the second
manager."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

LINK_RE = re.compile(r"https?://\S+/(?:claims/confirm|team/invitation)/[A-Za-z0-9._-]+")
PASSWORD = "north-sea-dykes-1953"


def _link(smtp, address: str) -> str:
    return LINK_RE.search(smtp.text(smtp.to(address)[-1])).group(0)


def _log_in(page, email: str) -> None:
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_a_visitor_claims_a_demo_lab_at_its_domain_and_adds_a_colleague(
        smtp, live_server, demo_data, page):
    page.goto("/labs/tno")
    box = page.locator("#claim")
    assert "Not yet managed on LabNet — is this your lab?" in box.inner_text()
    box.get_by_role("link", name="Claim this lab").click()
    page.wait_for_url("**/labs/tno/claim")

    form = page.locator("#claim-register-form")
    form.get_by_label("Your name").fill("Jan de Vries")
    form.get_by_label("Your work address at the lab's domain").fill("jan.devries@tno.nl")
    form.get_by_label("Password", exact=True).fill(PASSWORD)
    form.get_by_label("Repeat the password").fill(PASSWORD)
    form.get_by_label("I accept the terms of use").check()
    form.get_by_role("button", name="Register and claim").click()
    page.get_by_role("heading", name="Check your e-mail").wait_for()

    page.goto(_link(smtp, "jan.devries@tno.nl"))
    page.wait_for_url(re.compile(r".*/login\?next=.*"))
    assert "you manage TNO on LabNet now" in page.locator("main").inner_text()
    _log_in(page, "jan.devries@tno.nl")
    page.wait_for_url("**/manage/labs/tno/managers")
    assert "jan.devries@tno.nl" in page.locator("#managers").inner_text()

    invite = page.locator("#invite-form")
    invite.get_by_label("E-mail address").fill("els.jansen@tno.nl")
    invite.get_by_label("Message (optional)").fill("Please co-manage our lab page.")
    invite.get_by_role("button", name="Send the invitation").click()
    page.locator("#open-invitations").wait_for()
    assert "els.jansen@tno.nl" in page.locator("#open-invitations").inner_text()

    # The colleague opens the invitation in a browser without a session.
    # Leave the app first: a request still in flight could set the session cookie again.
    page.goto("about:blank")
    page.context.clear_cookies()
    page.goto(_link(smtp, "els.jansen@tno.nl"))
    assert "Please co-manage our lab page." in page.locator("#invitation-message").inner_text()
    form = page.locator("#invitation-register-form")
    form.get_by_label("Your name").fill("Els Jansen")
    form.get_by_label("Password", exact=True).fill(PASSWORD)
    form.get_by_label("Repeat the password").fill(PASSWORD)
    form.get_by_label("I accept the terms of use").check()
    form.get_by_role("button", name="Register and accept").click()
    page.wait_for_url(re.compile(r".*/login\?next=.*"))
    _log_in(page, "els.jansen@tno.nl")
    page.wait_for_url("**/manage/labs/tno/managers")
    managers = page.locator("#managers").inner_text()
    assert "Jan de Vries" in managers and "Els Jansen" in managers
    # The first manager heard of the second by e-mail.
    assert any("Els Jansen is now a manager of TNO" in m["Subject"]
               for m in smtp.to("jan.devries@tno.nl"))
