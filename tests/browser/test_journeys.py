"""Chromium through Playwright against the real app on 127.0.0.1 (``make test-browser``).

Account journey with a real SMTP server, rule 7 (user text is never markup) in a real
browser, and the login form's error path. Every request a page makes must stay on
127.0.0.1 (the ``page`` fixture checks it after each test; the journey asserts it too).
"""

from __future__ import annotations

import re

import pytest

from tests.fixtures.factories import PASSWORD

pytestmark = pytest.mark.browser

LINK_RE = re.compile(r"https?://\S+/account/confirm/\S+")
# A fixed place for a person to look at the rendered page after a run.
SCREENSHOT = "/tmp/labnet-lab.png"
HOSTILE = '<img src=x onerror=alert(1)><script>window.__xss=1</script>'


def _watch_for_errors(page) -> list[str]:
    """Console errors (CSP violations, failed loads) and uncaught exceptions on the page."""
    errors: list[str] = []

    def on_console(message) -> None:
        if message.type == "error":
            errors.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def test_new_company_registers_confirms_by_email_logs_in_and_opens_a_lab_on_loopback_only(
    smtp, live_server, demo_data, page, page_requests
):
    errors = _watch_for_errors(page)
    email = "ada@newco.example"

    page.goto("/register")
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Work e-mail address").fill(email)
    page.get_by_label("Password", exact=True).fill("analytical-engine-1843")
    page.get_by_label("Repeat the password").fill("analytical-engine-1843")
    page.get_by_label("Register a new organisation").check()
    page.get_by_label("Organisation name").fill("NewCo Engines GmbH")
    page.get_by_label("Kind of organisation").select_option("company")
    page.get_by_label("Company size (EU definition)").select_option("small")
    page.get_by_label("Country").select_option("DE")
    page.get_by_label("I accept the terms of use").check()
    page.get_by_role("button", name="Create my account").click()

    page.get_by_role("heading", name="Check your e-mail").wait_for()
    assert email in page.locator("#registered").inner_text()

    # The message left through the app's SMTP client before the page was answered.
    [message] = smtp.wait_for(email)
    link = LINK_RE.search(smtp.text(message)).group(0)
    assert link.startswith(live_server.url + "/"), link
    page.goto(link)

    assert page.url == live_server.url + "/login"
    assert "Your e-mail address is confirmed" in page.locator("main").inner_text()
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill("analytical-engine-1843")
    page.get_by_role("button", name="Log in").click()

    nav = page.locator("nav.navbar")
    nav.get_by_role("button", name="Ada Lovelace").wait_for()
    assert page.url == live_server.url + "/"

    nav.get_by_role("link", name="Labs", exact=True).click()
    page.wait_for_url("**/labs")
    first = page.locator("a.lab-link").first
    lab_name = first.inner_text()
    first.click()

    page.locator("#equipment-table").wait_for()
    assert page.locator("#lab-name").inner_text() == lab_name
    assert page.locator("#equipment-table tbody tr").count() >= 3
    # Bootstrap's own style sheet is applied (served by Bootstrap-Flask from this host).
    assert page.locator("nav.navbar").evaluate("e => getComputedStyle(e).display") == "flex"
    page.screenshot(path=SCREENSHOT, full_page=True)

    assert errors == []
    assert page_requests.urls, "no request was recorded"
    assert page_requests.off_loopback() == []


def test_hostile_lab_name_shows_as_text_and_runs_no_script(live_server, make_lab,
                                                            make_equipment, page):
    lab = make_lab(name=HOSTILE, description=HOSTILE, slug="hostile-lab")
    make_equipment(lab, name=HOSTILE)
    errors = _watch_for_errors(page)  # a blocked inline script would log a CSP error
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    page.goto("/labs")
    link = page.locator("a.lab-link", has_text="<img src=x")
    assert link.inner_text() == HOSTILE
    link.click()
    page.wait_for_url("**/labs/hostile-lab")

    assert page.locator("#lab-name").inner_text() == HOSTILE
    assert page.get_by_role("link", name=HOSTILE).count() == 1  # the equipment row
    assert page.title() == f"{HOSTILE} · LabNet"
    # Nothing the lab typed became an element, and nothing ran.
    assert page.locator("main img[src='x'], main script:not([src])").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert dialogs == []
    assert errors == []


def test_wrong_password_shows_the_error_on_the_form_and_keeps_the_email(live_server,
                                                                        make_user, page):
    user = make_user(full_name="Grace Hopper")

    page.goto("/login")
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password").fill("not-" + PASSWORD)
    page.get_by_role("button", name="Log in").click()

    error = page.locator('.invalid-feedback[data-field="password"]')
    assert error.inner_text() == "Wrong e-mail address or password."
    assert page.get_by_label("E-mail address").input_value() == user.email
    assert page.get_by_label("Password").input_value() == ""
    assert page.url == live_server.url + "/login"
    assert "Grace Hopper" not in page.locator("nav.navbar").inner_text()
