"""Joining an organisation from the user's side (issue 10, item 5): a request that the
organisation's admins approve or decline on /organisation/members; the e-mail domain never
lets anybody in, and a pending person sees nothing of the organisation."""

from __future__ import annotations

from sqlalchemy import select

from labnet.extensions import db
from labnet.models import User
from tests.fixtures.auth import csrf_token, login_as, post_form
from tests.web.test_auth import GOOD, NEW_PASSWORD, link_in, page

STRANGER = "stranger@gmail.com"


def _user(app, email: str) -> User | None:
    with app.app_context():
        return db.session.scalar(select(User).where(User.email == email))


def ask_to_join(client, email: str = STRANGER, organisation: str = "Acme Instruments"):
    return post_form(client, "/register", {
        **GOOD, "email": email, "organisation_mode": "existing", "organisation": organisation,
        "org_kind": "", "size_class": "", "country": "",
    })


def founded_from_gmail(make_org, make_user):
    """The incident: a company whose founder registered with a free-mail address."""
    org = make_org(name="Acme Instruments", email_domain=None)
    founder = make_user(organisation=org, email="founder@gmail.com", org_role="admin")
    return org, founder


def test_a_stranger_at_the_founders_free_mail_provider_gets_no_membership(
    smtp, client, app, make_org, make_user
):
    _org, founder = founded_from_gmail(make_org, make_user)
    response = ask_to_join(client)
    assert response.status_code == 200
    assert "Check your e-mail" in response.get_data(as_text=True)
    client.get(link_in(smtp.text(smtp.to(STRANGER)[-1])))

    # The founder (organisation admin) is asked; the stranger is not let in.
    [asked] = smtp.to(founder.email)
    assert "asks to join Acme Instruments" in asked["Subject"]
    refused = post_form(client, "/login", {"email": STRANGER, "password": NEW_PASSWORD})
    assert refused.status_code == 422
    assert "waiting for approval" in page(refused).errors["email"][0]
    # No session: the organisation's bookings page sends to the login form.
    assert client.get("/bookings").headers["Location"].startswith("/login")

    # The founder declines: the stranger is told, and is gone.
    admin = app.test_client()
    login_as(admin, founder)
    listing = admin.get("/organisation/members")
    assert listing.status_code == 200
    assert STRANGER in listing.get_data(as_text=True)
    stranger_id = _user(app, STRANGER).id
    done = post_form(admin, f"/organisation/members/{stranger_id}/decline", {},
                     page="/organisation/members")
    assert done.status_code == 302
    assert _user(app, STRANGER) is None
    assert "declined" in smtp.text(smtp.to(STRANGER)[-1])


def test_an_approved_request_logs_in_and_sees_the_organisation(
    smtp, client, app, make_org, make_user
):
    _org, founder = founded_from_gmail(make_org, make_user)
    ask_to_join(client, "ann@acme-instruments.example")
    client.get(link_in(smtp.text(smtp.to("ann@acme-instruments.example")[-1])))
    admin = app.test_client()
    login_as(admin, founder)
    ann = _user(app, "ann@acme-instruments.example")
    approved = post_form(admin, f"/organisation/members/{ann.id}/approve", {},
                         page="/organisation/members", follow_redirects=True)
    assert approved.status_code == 200
    assert "Ann" in approved.get_data(as_text=True) or "Zoë" in approved.get_data(as_text=True)
    assert "approved" in smtp.text(smtp.to("ann@acme-instruments.example")[-1])
    login_as(client, ann, NEW_PASSWORD)
    assert "Acme Instruments" in client.get("/account").get_data(as_text=True)


def test_joining_never_names_the_domain_that_would_let_one_in(client, app, make_org,
                                                              make_user):
    org = make_org(name="Acme Instruments", email_domain="acme.example")
    make_user(organisation=org, org_role="admin")
    response = ask_to_join(client, "eve@evil.example")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "acme.example" not in body
    assert _user(app, "eve@evil.example").membership == "pending"


def test_members_page_grants_and_revokes_org_admin_keeping_one(client, app, make_org,
                                                               make_user):
    org, founder = founded_from_gmail(make_org, make_user)
    colleague = make_user(organisation=org)
    login_as(client, founder)
    url = "/organisation/members"
    last = post_form(client, f"{url}/{founder.id}/revoke-admin", {}, page=url)
    assert last.status_code == 422
    assert "at least one organisation admin" in last.get_data(as_text=True)
    assert _user(app, founder.email).org_role == "admin"
    granted = post_form(client, f"{url}/{colleague.id}/grant-admin", {}, page=url)
    assert granted.status_code == 302
    assert _user(app, colleague.email).org_role == "admin"
    revoked = post_form(client, f"{url}/{founder.id}/revoke-admin", {}, page=url)
    assert revoked.status_code == 302
    # No longer an organisation admin: the page is closed to the founder now.
    assert client.get(url).status_code == 403


def test_members_page_is_for_organisation_admins_only(client, app, make_org, make_user):
    org, _founder = founded_from_gmail(make_org, make_user)
    login_as(client, make_user(organisation=org))
    assert client.get("/organisation/members").status_code == 403
    token = csrf_token(client, "/account")
    other_admin = make_user(org_role="admin")
    assert client.post(f"/organisation/members/{other_admin.id}/grant-admin",
                       data={"csrf_token": token}).status_code == 403
