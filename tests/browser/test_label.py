"""The excellence label in Chromium, on the demo data: a manager applies for Fraunhofer ISE
(answers, a PDF, a refusal for an unanswered criterion, then submit); the demo verifier
finds Fraunhofer IPT's application in the Label queue, scores it, and the manager sees the
label on the lab's label page."""

from __future__ import annotations

import re

import pytest

from labnet.services.accreditation.demo import demo_pdf
from labnet.services.accreditation.label_framework import framework
from labnet.services.seed import DEMO_PASSWORD
from tests.fixtures.browser import nav_click

pytestmark = pytest.mark.browser

HOSTILE = "<img src=x onerror=alert(1)><script>window.__xss=1</script>"


def _login(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def _logout(page) -> None:
    nav_click(page, "Log out", role="button")
    page.wait_for_load_state()


def test_a_manager_applies_and_the_verifier_scores_from_the_queue(live_server, demo_data,
                                                                   page, tmp_path):
    codes = framework().codes
    _login(page, "manager@labnet.example")
    nav_click(page, "Excellence label")
    page.get_by_role("link", name=re.compile("Solar Energy Systems ISE")).click()
    page.get_by_role("button", name="Apply for the label").click()
    page.locator("#application-form").wait_for()
    assert page.locator("[data-figure=bookings_served]").inner_text() != ""
    for code in codes[:-1]:
        page.locator(f"#answer_{code}").fill(f"ISE on {code}: {HOSTILE}")
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(demo_pdf("ISE quality certificate"))
    page.locator(f"#file_{codes[0]}").set_input_files(str(pdf))
    page.get_by_role("button", name="Submit for scoring").click()
    error = page.locator(f"[data-field=answer_{codes[-1]}]")
    error.wait_for()
    assert "before submitting" in error.inner_text()
    assert HOSTILE in page.locator(f"#answer_{codes[0]}").input_value()
    page.locator(f"#answer_{codes[-1]}").fill("Indicators reviewed yearly.")
    page.locator(f"#file_{codes[0]}").set_input_files(str(pdf))
    page.get_by_role("button", name="Submit for scoring").click()
    page.get_by_text("Submitted: two LabNet verifiers will score it.").wait_for()
    assert page.get_by_role("link", name="certificate.pdf").count() == 1
    assert page.evaluate("window.__xss") is None
    _logout(page)

    _login(page, "verifier@labnet.example")
    nav_click(page, "Label queue")
    row = page.locator("#label-queue tr", has_text="Production Technology IPT")
    row.get_by_role("link", name="Score").click()
    page.locator("#score-form").wait_for()
    assert page.locator("#figures").inner_text().count("—") < 7  # frozen demo figures
    for code in codes:
        page.locator(f"#score_{code}").fill("3")
    page.get_by_role("button", name="Record my scores").click()
    page.get_by_text("Your scores are recorded.").wait_for()
    assert "Awarded: level Silver" in page.locator("#decision").inner_text()
    _logout(page)

    _login(page, "manager@labnet.example")
    page.goto("/label/labs/fraunhofer-ipt")
    assert "level Silver" in page.locator("#current-label").inner_text()
