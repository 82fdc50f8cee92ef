"""A joint-project request in Chromium: a company member proposes a project to two labs
from a lab's page, a manager of one lab accepts and writes, and the member sees the
request accepted with the thread showing both sides."""

from __future__ import annotations

import pytest

from tests.fixtures.browser import nav_click
from tests.fixtures.factories import PASSWORD

pytestmark = pytest.mark.browser


def _log_in(page, user) -> None:
    page.goto("/login")
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.locator("nav.navbar").get_by_role("button", name=user.full_name).wait_for()


def _log_out(page) -> None:
    nav_click(page, "Log out", role="button")
    page.locator("nav.navbar").get_by_role("link", name="Log in").wait_for()


def test_company_sends_joint_project_to_two_labs_one_accepts_thread_shows_both_sides(
    smtp, live_server, page, app, make_lab, make_user, make_org
):
    lab_a = make_lab(name="Photonics Lab", slug="photonics-lab")
    lab_b = make_lab(name="Coatings Lab", slug="coatings-lab")
    manager = make_user(manages=(lab_a,), full_name="Marie Manager",
                        organisation=make_org(kind="rto", size_class=None))
    make_user(manages=(lab_b,), full_name="Other Manager")
    member = make_user(organisation=make_org(kind="company", size_class="small",
                                             name="Laser Parts SME"),
                       full_name="Sam Member")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # The member proposes a joint project from the first lab's page and adds the second.
    _log_in(page, member)
    page.goto("/labs/photonics-lab")
    page.get_by_role("link", name="Propose a joint project").click()
    page.get_by_label("Add a lab").fill("coatings-lab")
    page.get_by_role("button", name="Add this lab").click()
    page.get_by_label("Coatings Lab").wait_for()
    page.get_by_label("Title").fill("Laser-textured <coatings>")
    page.get_by_label("Summary").fill("Two labs, one pilot line.")
    page.get_by_label("Key Enabling Technology").select_option("AMT")
    page.get_by_label("Budget from (EUR)").fill("100000")
    page.get_by_label("Budget up to (EUR)").fill("400000")
    page.get_by_label("Duration (months)").fill("24")
    page.get_by_label("Funding programme").select_option("Horizon Europe")
    page.get_by_label("TRL now").select_option("4")
    page.get_by_label("TRL targeted").select_option("7")
    page.get_by_role("button", name="Send the request").click()
    status = page.locator("#status")
    status.wait_for()
    assert status.inner_text() == "Submitted"
    assert page.locator("#lab-answers tbody tr").count() == 2
    page.get_by_label("Message").fill("We can start in spring.")
    page.get_by_role("button", name="Send message").click()
    page.locator(".message").first.wait_for()
    reference = page.locator("h1 + p").inner_text().split(" · ")[0]
    _log_out(page)

    # The photonics lab's manager finds it in the inbox, accepts, and writes.
    _log_in(page, manager)
    nav_click(page, "Request inbox")
    page.get_by_role("link", name=reference).click()
    page.get_by_label("Your lab's answer").select_option("accept")
    page.get_by_label("Message to the company").fill("Happy to join.")
    page.get_by_role("button", name="Send the answer").click()
    page.locator('#status[data-status="accepted"]').wait_for()
    page.get_by_label("Message", exact=True).fill("Let's meet <next week>.")
    page.get_by_role("button", name="Send message").click()
    page.locator('.message[data-side="lab"]').wait_for()
    _log_out(page)

    # The member sees it accepted, and both sides in the thread.
    _log_in(page, member)
    page.locator("nav.navbar").get_by_role("link", name="My requests").click()
    page.get_by_role("link", name=reference).click()
    assert page.locator("#status").inner_text() == "Accepted"
    messages = page.locator(".message")
    assert messages.count() == 2
    assert messages.nth(0).get_attribute("data-side") == "company"
    assert "Laser Parts SME" in messages.nth(0).locator(".side").inner_text()
    assert messages.nth(1).get_attribute("data-side") == "lab"
    assert messages.nth(1).locator(".side").inner_text() == "Photonics Lab"
    assert messages.nth(1).locator(".body").inner_text() == "Let's meet <next week>."
    answers = page.locator("#lab-answers")
    assert answers.locator('tr[data-lab="photonics-lab"] .answer').inner_text() == "accepted"
    assert answers.locator('tr[data-lab="coatings-lab"] .answer').inner_text() == "pending"
    assert page.get_by_role("button", name="Confirm and start").is_visible()
    assert page.locator("h1").inner_text() == "Laser-textured <coatings>"
    # E-mails went out on the real SMTP server: the new request to both labs' managers,
    # the answer and the lab's message to the member.
    assert [m["Subject"] for m in smtp.to(member.email)][:1] == [
        f"Request {reference}: Photonics Lab accepted"]
    assert errors == []
