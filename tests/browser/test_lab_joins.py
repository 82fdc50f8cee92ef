"""A lab joins LabNet in Chromium (issue 12, DESIGN rules 8 and 10), the whole loop:

a company sends a request to a listed lab nobody manages (the form says it goes to the
lab's public address); that address receives it with a link to claim the lab; a person at
the lab claims it by registering with an address at its web domain; she invites a colleague
as second manager; she answers the request that arrived while the lab was unmanaged; the
colleague, a member of the same university, proposes a new lab, which she approves as the
organisation's admin.
"""

from __future__ import annotations

import re

import pytest

from tests.fixtures.browser import nav_click
from tests.fixtures.factories import PASSWORD as MEMBER_PASSWORD

pytestmark = pytest.mark.browser

PASSWORD = "delta-works-zeeland-1986"
LINKS = re.compile(r"https?://\S+/(?:claims/confirm|team/invitation)/[A-Za-z0-9._-]+")
LAB_PUBLIC = "info@nano.uni-example.eu"


def _mail_to(smtp, address: str) -> str:
    """The newest message to ``address``; mail that leaves after the page's answer
    (registration) may take a moment."""
    return smtp.text(smtp.wait_for(address)[-1])


def _log_in(page, email: str, password: str = PASSWORD) -> None:
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def _log_out(page) -> None:
    nav_click(page, "Log out", role="button")
    page.locator("nav.navbar").get_by_role("link", name="Log in").wait_for()


def test_a_listed_lab_is_claimed_staffed_answers_its_waiting_request_and_grows(
        smtp, live_server, page, make_org, make_lab, make_user):
    uni = make_org(name="Uni Example", kind="university", size_class=None, country="NL",
                   email_domain=None)
    make_lab(organisation_id=uni.id, name="Nano Lab", slug="nano-lab", country="NL",
             city="Eindhoven", website="https://www.nano.uni-example.eu/",
             contact_email=LAB_PUBLIC)
    customer = make_user(organisation=make_org(kind="company", size_class="small",
                                               name="Small Parts BV"),
                         full_name="Sam Customer")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # 1. The company asks for a service; the form says who receives it before sending.
    page.goto("/login")
    _log_in(page, customer.email, MEMBER_PASSWORD)
    page.locator("nav.navbar").get_by_role("button", name="Sam Customer").wait_for()
    page.goto("/labs/nano-lab")
    assert "Booking opens when the lab is managed on LabNet" in page.locator("main").inner_text()
    page.get_by_role("link", name="Request a service").click()
    assert LAB_PUBLIC in page.locator("#receiver-nano-lab").inner_text()
    page.get_by_label("Title").fill("AFM roughness of 12 coated wafers")
    page.get_by_label("Summary").fill("Twelve wafers, roughness Ra below 1 nm expected.")
    page.get_by_label("Quantity").fill("12 wafers")
    page.get_by_label("Deadline").fill("2027-06-30")
    page.get_by_role("button", name="Send the request").click()
    page.locator("#status").wait_for()
    reference = page.locator("h1 + p").inner_text().split(" · ")[0]
    _log_out(page)

    # 2. The lab's public address has it, with the way to claim the lab and answer.
    public_mail = _mail_to(smtp, LAB_PUBLIC)
    assert "AFM roughness of 12 coated wafers" in public_mail
    claim_link = re.search(r"https?://\S+/labs/nano-lab#claim", public_mail).group(0)

    # 3. Ada, at the lab, claims it with an address at its web domain.
    page.goto(claim_link)
    page.locator("#claim").get_by_role("link", name="Claim this lab").click()
    form = page.locator("#claim-register-form")
    form.get_by_label("Your name").fill("Ada Achterberg")
    form.get_by_label("Your work address at the lab's domain").fill("ada@uni-example.eu")
    form.get_by_label("Password", exact=True).fill(PASSWORD)
    form.get_by_label("Repeat the password").fill(PASSWORD)
    form.get_by_label("I accept the terms of use").check()
    form.get_by_role("button", name="Register and claim").click()
    page.get_by_role("heading", name="Check your e-mail").wait_for()
    page.goto(LINKS.search(_mail_to(smtp, "ada@uni-example.eu")).group(0))
    page.wait_for_url(re.compile(r".*/login\?next=.*"))
    _log_in(page, "ada@uni-example.eu")
    page.wait_for_url("**/manage/labs/nano-lab/managers")

    # 4. She invites a colleague as second manager, who registers from the invitation.
    invite = page.locator("#invite-form")
    invite.get_by_label("E-mail address").fill("bram@uni-example.eu")
    invite.get_by_role("button", name="Send the invitation").click()
    page.locator("#open-invitations").wait_for()

    # 5. The request that arrived while nobody managed the lab waits in her inbox: she accepts.
    nav_click(page, "Request inbox")
    page.get_by_role("link", name=reference).click()
    page.get_by_label("Your lab's answer").select_option("accept")
    page.get_by_label("Message to the company").fill("We can measure them in May.")
    page.get_by_role("button", name="Send the answer").click()
    page.locator('#status[data-status="accepted"]').wait_for()
    assert any(reference in m["Subject"] for m in smtp.to(customer.email))
    _log_out(page)

    page.goto(LINKS.search(_mail_to(smtp, "bram@uni-example.eu")).group(0))
    form = page.locator("#invitation-register-form")
    form.get_by_label("Your name").fill("Bram Bakker")
    form.get_by_label("Password", exact=True).fill(PASSWORD)
    form.get_by_label("Repeat the password").fill(PASSWORD)
    form.get_by_label("I accept the terms of use").check()
    form.get_by_role("button", name="Register and accept").click()
    page.wait_for_url(re.compile(r".*/login\?next=.*"))
    _log_in(page, "bram@uni-example.eu")
    page.wait_for_url("**/manage/labs/nano-lab/managers")
    managers = page.locator("#managers").inner_text()
    assert "Ada Achterberg" in managers and "Bram Bakker" in managers

    # 6. Bram, a member of the university, proposes a new lab of it; Ada decides.
    page.goto("/manage/propose")
    assert "Ada Achterberg" in page.locator("#who-reviews").inner_text()
    proposal = page.locator("#propose-form")
    proposal.get_by_label("Name").fill("Uni Example Cleanroom")
    proposal.get_by_label("City").fill("Eindhoven")
    proposal.get_by_label("Country").select_option("NL")
    proposal.get_by_role("button", name="Propose this lab").click()
    page.locator("#own-proposals").wait_for()
    _log_out(page)

    proposal_link = re.search(r"https?://\S+/manage/proposals/\d+",
                              _mail_to(smtp, "ada@uni-example.eu")).group(0)
    page.goto(proposal_link)
    page.wait_for_url(re.compile(r".*/login.*"))
    _log_in(page, "ada@uni-example.eu")
    page.wait_for_url("**/manage/proposals/*")
    page.get_by_role("button", name="Approve").click()
    assert any("Uni Example Cleanroom" in m["Subject"] and "approved" in m["Subject"]
               for m in smtp.to("bram@uni-example.eu"))
    assert errors == []
