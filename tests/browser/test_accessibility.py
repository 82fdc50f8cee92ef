"""Accessibility of the main pages in Chromium (issue 18), for every demo role:

- axe-core (axe-playwright-python, which bundles axe) finds no serious or critical
  violation on any page state: the page as loaded, a failed submit, the map and the week
  calendar once their scripts have drawn;
- the Nu HTML Checker (vnu-jar from npm, run with Java; `make vnu` installs it) finds no
  error in the HTML the server sent for the same pages;
- the failed submit's error summary has the focus and links to its fields, and each field
  in error says so (aria-invalid) and points at its message (aria-describedby).

The findings of every page are printed by impact (`pytest -m browser -s` shows them); the
assertions fail on serious or critical ones only, as the issue asks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
VNU_JAR = Path(os.environ.get(
    "LABNET_VNU_JAR", ROOT / ".venv/vnu/node_modules/vnu-jar/build/dist/vnu.jar"))
PASSWORD = "labnet-demo"
BLOCKING = ("serious", "critical")

# The visitor's pages, then each role's own; a logged-in role also sees the pages whose
# content depends on who looks (home, a lab page, the equipment page with its calendar).
# A "{lab}" is the demo lab the manager runs, "{equipment}" its first bookable equipment,
# "{network}" the coordinator's network.
PUBLIC = ["/", "/labs", "/labs?q=laser", "/labs/{lab}", "/equipment/{equipment}",
          "/map", "/events", "/networks", "/accreditations", "/accessibility",
          "/login", "/register", "/open-data"]
ROLE_PAGES = {
    None: PUBLIC,
    "sme@labnet.example": ["/", "/labs/{lab}", "/equipment/{equipment}", "/bookings",
                           "/requests", "/equipment/{equipment}/book", "/account",
                           "/requests/new?lab={lab}"],
    "manager@labnet.example": ["/", "/labs/{lab}", "/equipment/{equipment}", "/manage",
                               "/manage/labs/{lab}", "/manage/labs/{lab}/hours",
                               "/manage/bookings", "/manage/bookings/labs/{lab}/calendar",
                               "/requests/inbox", "/manage/labs/{lab}/accreditations",
                               "/label"],
    "coordinator@labnet.example": ["/", "/dashboard", "/networks/{network}/manage",
                                   "/networks/{network}/gaps", "/networks/{network}"],
    "admin@labnet.example": ["/", "/labs/{lab}", "/admin/users", "/admin/organisations",
                             "/admin/outbox", "/admin/labs", "/dashboard"],
    "verifier@labnet.example": ["/", "/accreditations/queue", "/label/queue"],
}


def _places(app) -> dict[str, str]:
    from sqlalchemy import select

    from labnet.extensions import db
    from labnet.models import Equipment, Lab, Network

    with app.app_context():
        lab = db.session.scalar(select(Lab).where(Lab.slug == "fraunhofer-ilt"))
        equipment = db.session.scalar(
            select(Equipment.id).where(Equipment.lab_id == lab.id,
                                       Equipment.mode == "operator_assisted",
                                       Equipment.status == "active")
            .order_by(Equipment.id).limit(1))
        network = db.session.scalar(select(Network.slug).order_by(Network.id).limit(1))
    return {"lab": lab.slug, "equipment": str(equipment), "network": network or ""}


def _log_in(page, email: str | None) -> None:
    if email is None:
        return
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.locator("nav.navbar form[action$='/logout']").wait_for(state="attached")


def _settle(page, path: str) -> None:
    """Wait for what the page's scripts draw: the map's markers, the week calendar, charts."""
    if path.startswith("/map"):
        page.wait_for_selector("#lab-map[data-state=ready]")
    if page.locator("#booking-calendar").count():
        page.wait_for_selector("#booking-calendar table")
    page.wait_for_load_state("load")


def _axe(page) -> list[dict]:
    from axe_playwright_python.sync_playwright import Axe

    return Axe().run(page).response["violations"]


class Audit:
    """What the pages of one test showed: axe violations and the HTML sent, per page."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.violations: dict[str, list[dict]] = {}
        self.files: dict[Path, str] = {}

    def check(self, page, name: str, html: str) -> None:
        self.violations[name] = _axe(page)
        file = self.folder / f"page-{len(self.files):02d}.html"
        file.write_text(html, encoding="utf-8")
        self.files[file] = name

    def visit(self, page, path: str) -> None:
        response = page.goto(path)
        assert response is not None and response.status == 200, (path, response and
                                                                  response.status)
        _settle(page, path)
        self.check(page, path, response.text())

    def by_impact(self) -> dict[str, Counter]:
        counts: dict[str, Counter] = {}
        for found in self.violations.values():
            for v in found:
                counts.setdefault(v["impact"], Counter())[v["id"]] += len(v["nodes"])
        return counts

    def blocking(self) -> dict[str, list[str]]:
        return {name: [f"{v['id']} ({v['impact']}): "
                       + "; ".join(n["target"][0] if isinstance(n["target"][0], str)
                                   else str(n["target"]) for n in v["nodes"][:5])
                       for v in found if v["impact"] in BLOCKING]
                for name, found in self.violations.items()
                if any(v["impact"] in BLOCKING for v in found)}

    def html_errors(self) -> list[str]:
        """The Nu HTML Checker's errors over every page of the test, in one Java run."""
        java = shutil.which("java")
        if java is None or not VNU_JAR.exists():
            pytest.fail(f"the Nu HTML Checker needs java and {VNU_JAR}: run `make vnu` "
                        "(npm install vnu-jar) and apt-get install openjdk-17-jre-headless")
        done = subprocess.run(  # noqa: S603 (our own jar and files)
            [java, "-jar", str(VNU_JAR), "--errors-only", "--format", "json",
             *map(str, self.files)], capture_output=True, text=True, timeout=300)
        messages = json.loads(done.stderr or "{}").get("messages", [])
        return [f"{self.files.get(Path(m.get('url', '').removeprefix('file:')), m.get('url'))}"
                f" line {m.get('lastLine')}: {m.get('message')}"
                for m in messages if m.get("type") == "error"]


@pytest.mark.parametrize("email", list(ROLE_PAGES), ids=lambda e: (e or "visitor").split("@")[0])
def test_main_pages_have_no_serious_axe_finding_and_valid_html_in_each_role(
        live_server, demo_data, page, tmp_path, email):
    places = _places(live_server.app)
    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, email)
    audit = Audit(tmp_path)
    for path in ROLE_PAGES[email]:
        audit.visit(page, path.format(**places))
    print(f"\naxe findings for {email or 'visitor'} over {len(audit.violations)} page "
          f"states, by impact: {dict(audit.by_impact())}")
    assert audit.blocking() == {}
    assert audit.html_errors() == []


def test_a_failed_submit_focuses_an_error_summary_that_links_to_each_field(
        live_server, demo_data, page, tmp_path):
    places = _places(live_server.app)
    _log_in(page, "sme@labnet.example")
    page.goto(f"/equipment/{places['equipment']}/book")
    page.get_by_label("Start (lab time)").fill("not a time")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Check availability and price").click()
    summary = page.locator("[data-error-summary]")
    summary.wait_for()
    # The summary has the focus, is announced (role=alert), and links to the field.
    assert page.evaluate("document.activeElement.hasAttribute('data-error-summary')")
    assert summary.get_attribute("role") == "alert"
    link = summary.get_by_role("link", name="Start (lab time)", exact=False)
    field = page.get_by_label("Start (lab time)")
    assert field.get_attribute("aria-invalid") == "true"
    message_id = field.get_attribute("aria-describedby").split()[0]
    assert page.locator(f"#{message_id}").inner_text() in link.inner_text()
    link.press("Enter")
    assert page.evaluate("document.activeElement.name") == "start_at"
    # The state passes axe and the HTML checker too.
    audit = Audit(tmp_path)
    audit.check(page, "booking form after a failed submit", answer.value.text())
    assert audit.blocking() == {}
    assert audit.html_errors() == []


# Hand-built forms after a refused submit (filters read by the server, a grid of inputs):
# (role, path to open, what to do there or None when the path itself is refused). Dates a
# date input can send (a typed "2027-13-01" only comes from an edited address, and is kept
# in the value, which the HTML checker refuses for type=date).
REFUSED = [
    (None, "/events?ket=XYZ&from=2027-05-01&to=2027-04-01", None),
    ("coordinator@labnet.example", "/dashboard?from=2026-03-01&to=2026-01-01&kind=castle",
     None),
    ("manager@labnet.example", "/manage/labs/{lab}/hours", "hours"),
]


def test_refused_hand_built_forms_focus_their_summary_and_pass_axe_and_the_html_checker(
        live_server, demo_data, page, tmp_path):
    places = _places(live_server.app)
    page.set_viewport_size({"width": 1280, "height": 900})
    audit = Audit(tmp_path)
    for email, path, action in REFUSED:
        page.context.clear_cookies()
        _log_in(page, email)
        response = page.goto(path.format(**places))
        if action == "hours":  # an opening time without its closing time
            page.locator("input[name=thu_1_opens]").fill("08:00")
            page.locator("input[name=thu_1_closes]").fill("")
            with page.expect_response(lambda r: r.request.method == "POST") as answer:
                page.locator("#hours-form button[type=submit]").click()
            response = answer.value
        page.wait_for_load_state("load")
        assert response.status == 422, (path, response.status)
        assert page.evaluate("document.activeElement.hasAttribute('data-error-summary')"), path
        invalid = page.locator("[aria-invalid=true]")
        assert invalid.count() >= 1, path
        for n in range(invalid.count()):
            message = invalid.nth(n).get_attribute("aria-describedby").split()[0]
            assert page.locator(f"#{message}").inner_text().strip(), (path, message)
        audit.check(page, f"{path} refused", response.text())
    assert audit.blocking() == {}
    assert audit.html_errors() == []
