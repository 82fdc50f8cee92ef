"""The accreditation journey in Chromium (issue 14): a lab manager claims ISO/IEC 17025 with
a PDF certificate (seeing the valid-until date it gets before saving), a verifier opens the
evidence from the queue and verifies it, and the badge appears on the lab page and the lab
in the catalogue's accreditation filter."""

from __future__ import annotations

import pytest

from labnet.models import Role
from labnet.services.accreditation.demo import demo_pdf
from tests.fixtures.browser import log_in, log_out, nav_click
from tests.fixtures.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_manager_claims_with_a_pdf_verifier_verifies_badge_and_filter_follow(
        live_server, page, make_lab, make_user, tmp_path):
    lab = make_lab(name="Aachen Testing Lab", slug="aachen-testing", country="DE")
    manager = make_user(manages=(lab,), full_name="Max Manager")
    verifier = make_user(roles=(Role.VERIFIER,), full_name="Vera Verifier")
    certificate = tmp_path / "certificate.pdf"
    certificate.write_bytes(demo_pdf("D-PL-99999-01-00"))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    log_in(page, manager, PASSWORD)
    page.goto(f"/manage/labs/{lab.slug}")
    page.locator(".nav-tabs").get_by_role("link", name="Accreditations").click()
    page.get_by_role("link", name="Claim an accreditation").click()
    form = page.locator("#claim-form")
    form.get_by_label("Scheme").select_option("iso-iec-17025")
    form.get_by_label("Certificate number").fill("D-PL-99999-01-00")
    form.get_by_label("Scope").fill("DIN EN ISO 6892-1 tensile testing\nISO 14577 nanoindentation")
    form.get_by_label("Issued on").fill("2025-06-01")
    # Shown before saving: the default from the scheme's 60 months.
    assert "2030-05-31" in page.locator("#valid-until-preview").inner_text()
    form.get_by_label("Certificate (PDF, at most 10 MB)").set_input_files(str(certificate))
    form.get_by_role("button", name="Send the claim").click()
    page.locator("#claim-title").wait_for()
    assert "claimed" in page.locator(".acc-state").inner_text()
    assert "DAkkS" in page.locator("#claim-facts").inner_text()
    log_out(page)

    log_in(page, verifier, PASSWORD)
    nav_click(page, "Accreditation claims")
    row = page.locator("#accreditation-queue tr", has_text="Aachen Testing Lab")
    # The evidence link, fetched with the verifier's session (Chromium's PDF viewer is an
    # extension, which the loopback-only check would count as another host).
    evidence = page.request.get(row.get_by_role("link", name="PDF").get_attribute("href"))
    assert evidence.ok and evidence.headers["content-type"] == "application/pdf"
    assert evidence.body().startswith(b"%PDF-")
    row.get_by_role("link", name="Review").click()
    page.locator("#decide-verify").get_by_role("button", name="Verify").click()
    page.locator("#queue-empty").wait_for()
    log_out(page)

    page.goto(f"/labs/{lab.slug}")
    assert "ISO/IEC 17025" in page.locator("#lab-accreditations").inner_text()
    page.goto("/labs")
    page.locator("#facet-accreditation").get_by_role("link", name="ISO/IEC 17025").click()
    page.wait_for_url("**/labs?accreditation=iso-iec-17025*")
    assert "Aachen Testing Lab" in page.locator("#lab-list").inner_text()
    assert errors == []
