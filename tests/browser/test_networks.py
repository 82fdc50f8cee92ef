"""Value-chain networks in Chromium (issue 6): a coordinator builds a three-stage network
from the demo centres through the forms, invites labs, the demo manager accepts, and the
public page shows the chain on the map (markers and lines). Hostile names stay text on the
diagram and the map. Tiles point at a 404 path of the live server: nothing leaves
127.0.0.1."""

from __future__ import annotations

import pytest

from labnet import clock
from labnet.extensions import db
from labnet.models import Lab, User
from labnet.services.networks import rules as nw
from labnet.services.seed import DEMO_PASSWORD
from tests.fixtures.browser import nav_click

pytestmark = pytest.mark.browser

TILES = "/test-tiles/"
HOSTILE = '<img src=x onerror=alert(1)><script>window.__xss=1</script>'
SCREENSHOT = "/tmp/labnet-network.png"


@pytest.fixture
def app_config():
    return {"TILE_URL": TILES + "{z}/{x}/{y}.png", "TILE_ATTRIBUTION": "No tiles in tests"}


def _watch(page) -> tuple[list[str], list[str]]:
    errors: list[str] = []
    dialogs: list[str] = []

    def on_console(message) -> None:
        if message.type == "error" and TILES not in (message.location.get("url") or ""):
            errors.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    return errors, dialogs


def _login(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    # People land where their work is (a manager on waiting invitations), not always home.
    page.wait_for_url(lambda url: "/login" not in url)


def _logout(page) -> None:
    nav_click(page, "Log out", role="button")
    page.wait_for_load_state()


def _add_stage(page, name: str, ket: str) -> None:
    details = page.locator("#add-stage")
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    form = page.locator("#stage-form")
    form.get_by_label("Stage name").fill(name)
    form.get_by_label("KET areas it needs").select_option(ket)
    form.get_by_role("button", name="Add the stage").click()
    page.get_by_text("The stage was added.").wait_for()


def _invite(page, stage_label: str, lab: str) -> None:
    form = page.locator("#invite-form")
    form.get_by_label("Stage", exact=True).select_option(label=stage_label)
    form.get_by_label("Lab (its name, or its address name").fill(lab)
    form.get_by_label("Message to the lab's managers").fill("Join our chain")
    form.get_by_role("button", name="Send the invitation").click()
    page.get_by_text("was invited").wait_for()


def test_coordinator_builds_a_chain_a_manager_accepts_and_the_map_shows_it(
        live_server, demo_data, page, page_requests):
    errors, dialogs = _watch(page)
    _login(page, "coordinator@labnet.example")
    page.locator("nav.navbar").get_by_role("link", name="Networks", exact=True).click()
    page.get_by_role("link", name="New network").click()
    page.get_by_label("Name", exact=True).fill("Laser-based production chain")
    page.get_by_label("Description").fill("Laser sources to production lines")
    page.get_by_label("KET focus").select_option("AMT")
    page.get_by_label("Industrial ecosystem").select_option("mobility-transport-automotive")
    page.get_by_role("button", name="Create the network").click()
    page.wait_for_url("**/networks/laser-based-production-chain/manage")

    _add_stage(page, "Laser sources", "MNEP.LAS")
    _add_stage(page, "Process development", "AMT.LAS")
    _add_stage(page, "Solar module pilot", "MNEP.PV")
    assert page.locator("#stages tbody tr").count() == 3
    _invite(page, "1. Laser sources", "fraunhofer-ilt")
    _invite(page, "2. Process development", "fraunhofer-ipt")
    _invite(page, "3. Solar module pilot", "fraunhofer-ise")
    assert page.locator("#members-invited tbody tr").count() == 3
    _logout(page)

    _login(page, "manager@labnet.example")
    nav_click(page, "#nav-network-invitations")
    page.wait_for_url("**/networks/invitations")
    for _ in range(3):
        card = page.locator("section.invitation", has_text="Laser-based production chain").filter(
            has=page.get_by_role("button", name="Accept")).first
        card.get_by_label("Message to the coordinators").fill("Gladly")
        card.get_by_role("button", name="Accept").click()
        page.get_by_text("You accepted the invitation").wait_for()
    _logout(page)

    page.goto("/networks/laser-based-production-chain")
    stages = page.locator("#chain .network-stage")
    assert stages.count() == 3
    assert stages.nth(0).locator(".stage-member").inner_text().startswith(
        "Fraunhofer Institute for Laser Technology ILT")
    page.locator('#network-map[data-state="ready"]').wait_for()
    assert page.locator("#network-map").get_attribute("data-markers") == "3"
    assert page.locator("#network-map").get_attribute("data-lines") == "2"
    assert page.locator("#network-map path.network-marker").count() == 3
    assert page.locator("#network-map path.network-chain-line").count() == 2
    assert page.locator("#network-map-legend li").count() == 3
    href = page.locator("#propose-joint-project").get_attribute("href")
    assert href.startswith("/requests/new?kind=joint_project&lab=fraunhofer-ilt")
    page.screenshot(path=SCREENSHOT, full_page=True)
    assert errors == [] and dialogs == []
    assert page_requests.off_loopback() == []


def test_hostile_names_stay_text_on_the_diagram_and_the_map(live_server, make_user,
                                                            make_lab, page):
    from labnet.models import Role

    coordinator = make_user(roles=(Role.COORDINATOR,))
    admin = make_user(roles=(Role.ADMIN,))
    lab = make_lab(name=HOSTILE, slug="hostile-lab", lat=48.2, lon=16.37)
    other = make_lab(name="Plain Lab", slug="plain-lab", lat=50.0, lon=8.0)
    make_user(manages=(lab, other))  # invitations need a receiver (rule 8)
    app = live_server.app
    with app.test_request_context():
        now = clock.utcnow()
        actor = db.session.get(User, coordinator.id)
        network = nw.create_network(actor, nw.NetworkFields(
            name=HOSTILE, slug="hostile", ecosystem="digital", description=HOSTILE), now=now)
        s1 = nw.add_stage(actor, network, nw.StageFields(name=HOSTILE), now=now)
        s2 = nw.add_stage(actor, network, nw.StageFields(name="Second"), now=now)
        for stage, target in ((s1, lab), (s2, other)):
            member = nw.invite(actor, network, stage.id, db.session.get(Lab, target.id).slug,
                               "", now=now)
            nw.answer_invitation(db.session.get(User, admin.id), member.id, True, "", now=now)
        db.session.commit()
    errors, dialogs = _watch(page)

    page.goto("/networks/hostile")
    assert page.locator("#network-name").inner_text().startswith(HOSTILE)
    assert page.locator("#chain .stage-name").first.inner_text() == HOSTILE
    assert page.locator("#chain .stage-member a").first.inner_text() == HOSTILE
    page.locator('#network-map[data-state="ready"]').wait_for()
    assert page.locator("#network-map").get_attribute("data-markers") == "2"
    assert page.locator("#network-map path.network-chain-line").count() == 1
    assert HOSTILE in page.locator("#network-map-legend").inner_text()
    page.locator("#network-map path.network-marker").first.click(force=True)
    popup = page.locator(".leaflet-popup-content .lab-popup")
    popup.wait_for()
    assert HOSTILE in popup.inner_text()
    assert page.locator("main img[src='x'], main script:not([src])").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert dialogs == [] and errors == []
