"""Accounts from the user's side: register, confirm, log in and out, reset and change the
password, log out everywhere; CSRF, throttling, cookies, redirects and bad input."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import quote, unquote, urlsplit

import itsdangerous.timed
import pytest
from sqlalchemy import func, select

from labnet import security
from labnet.extensions import db
from labnet.models import (
    AuditEvent,
    LoginSession,
    Organisation,
    OutboxEmail,
    Role,
    User,
)
from tests.fixtures.auth import csrf_from, csrf_token, login_as, post_form
from tests.fixtures.factories import PASSWORD

NEW_PASSWORD = "violet lantern 42"
HOST = "labnet.test"
# What production needs besides a secret key (the tests never send mail from these).
PRODUCTION = {"ENV_NAME": "production", "BASE_URL": f"https://{HOST}",
              "MAIL_SERVER": "smtp.labnet.test"}
LINK_RE = re.compile(r"http://labnet\.test(/account/(?:confirm|reset)/[A-Za-z0-9._-]+)")


# -- helpers -------------------------------------------------------------------------------


class Page(HTMLParser):
    """What a rendered page shows: input values, checked radios, selected options, the
    errors under each field and the alerts."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.inputs: dict[str, str | None] = {}
        self.radios: dict[str, str | None] = {}
        self.selected: dict[str, str | None] = {}
        self.errors: dict[str, list[str]] = {}
        self.alerts: list[str] = []
        self._select: str | None = None
        self._capture: tuple[str, str] | None = None
        self._buffer: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            if a.get("type") == "radio":
                if "checked" in a:
                    self.radios[a["name"]] = a.get("value")
            elif a["name"] not in self.inputs or a.get("value"):
                self.inputs[a["name"]] = a.get("value")
        elif tag == "select":
            self._select = a.get("name")
            self.selected.setdefault(self._select, None)
        elif tag == "option" and self._select and "selected" in a:
            self.selected[self._select] = a.get("value")
        elif tag == "div" and "data-field" in a:
            self._capture, self._buffer = ("field", a["data-field"]), []
        elif tag == "div" and a.get("role") == "alert":
            self._capture, self._buffer = ("alert", ""), []

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "div" and self._capture:
            text = " ".join("".join(self._buffer).split())
            kind, field = self._capture
            if kind == "field":
                self.errors.setdefault(field, []).append(text)
            else:
                self.alerts.append(text)
            self._capture = None

    def handle_data(self, data):
        if self._capture:
            self._buffer.append(data)


def page(response) -> Page:
    return Page(response.get_data(as_text=True))


COUNTED = (User, Organisation, OutboxEmail, AuditEvent, LoginSession)


def counts(app) -> dict[str, int]:
    with app.app_context():
        return {m.__name__: db.session.scalar(select(func.count()).select_from(m))
                for m in COUNTED}


def get_user(app, email: str) -> User | None:
    with app.app_context():
        return db.session.scalar(select(User).where(User.email == email))


def audit_actions(app, user_id: int) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.subject_id == user_id,
                                            AuditEvent.subject_type == "user")
            .order_by(AuditEvent.id)))


def outbox(app, kind: str | None = None) -> list[OutboxEmail]:
    with app.app_context():
        stmt = select(OutboxEmail).order_by(OutboxEmail.id)
        if kind:
            stmt = stmt.where(OutboxEmail.kind == kind)
        return list(db.session.scalars(stmt))


def link_in(text: str) -> str:
    """The path of the one LabNet link in an e-mail body."""
    links = LINK_RE.findall(text)
    assert len(set(links)) == 1, text
    return links[0]


def session_cookie(client, name: str = "session") -> str:
    cookie = client.get_cookie(name, domain=HOST)
    assert cookie is not None, "no session cookie"
    return cookie.value


def replay(app, cookie: str, name: str = "session"):
    """A second browser holding a copy of ``cookie``."""
    other = app.test_client()
    other.set_cookie(name, cookie, domain=HOST)
    return other


def is_logged_in(client) -> bool:
    response = client.get("/account")
    if response.status_code == 200:
        return True
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    return False


def assert_on_site(location: str) -> None:
    parts = urlsplit(location)
    assert parts.scheme in ("", "http") and parts.netloc in ("", HOST), location
    assert location.startswith("/") and not location.startswith("//"), location
    assert "\\" not in location and "\n" not in location and "\t" not in location


def wrong_login(client, email: str, token: str):
    return client.post("/login", data={"csrf_token": token, "email": email,
                                       "password": "not my password"})


# -- registration ----------------------------------------------------------------------------

GOOD = {
    "full_name": "Zoë O'Brien <b>",
    "email": "zoe@brightoptics.example",
    "password": NEW_PASSWORD,
    "password_confirm": NEW_PASSWORD,
    "organisation_mode": "new",
    "organisation": "Bright Optics & Sons",
    "org_kind": "company",
    "size_class": "small",
    "country": "IT",
    "accept_terms": "y",
}


def register(client, **overrides):
    data = {**GOOD, **overrides}
    return post_form(client, "/register", {k: v for k, v in data.items() if v is not None})


def test_register_page_offers_new_or_existing_organisation_and_eu_size_classes(client):
    response = client.get("/register")
    assert response.status_code == 200
    shown = page(response)
    assert shown.radios == {"organisation_mode": "new"}
    body = response.get_data(as_text=True)
    for value in ("micro", "small", "medium", "large", "company", "rto", "university"):
        assert f'value="{value}"' in body
    assert "Research or technology organisation" in body
    assert 'value="existing"' in body


def test_register_company_without_smtp_lands_in_outbox_and_admin_follows_the_link(
    client, app, make_user, caplog
):
    admin = make_user(roles=(Role.ADMIN,))
    caplog.set_level("INFO", logger="labnet.mail")
    response = register(client)
    assert response.status_code == 200
    assert "We sent a confirmation link to" in response.get_data(as_text=True)
    assert "zoe@brightoptics.example" in response.get_data(as_text=True)

    user = get_user(app, "zoe@brightoptics.example")
    assert user.full_name == "Zoë O'Brien <b>"
    assert user.email_confirmed_at is None
    assert user.password_hash.startswith("$argon2id$")
    assert NEW_PASSWORD not in user.password_hash
    org = user.organisation
    assert (org.name, org.kind, org.size_class, org.country, org.email_domain) == (
        "Bright Optics & Sons", "company", "small", "IT", "brightoptics.example")

    # No MAIL_SERVER in the test config: written to the console, kept with status "logged".
    [mail] = outbox(app)
    assert (mail.kind, mail.to_addr, mail.status) == (
        "confirm_email", "zoe@brightoptics.example", "logged")
    assert mail.sent_at is not None
    console = [r.getMessage() for r in caplog.records if r.name == "labnet.mail"]
    assert len(console) == 1
    # Recipient and subject, never the body with its link (issue 10, item 14).
    assert "zoe@brightoptics.example" in console[0]
    assert "Confirm your LabNet e-mail address" in console[0]
    assert link_in(mail.body_text) not in console[0]

    # Not confirmed yet: no login.
    refused = post_form(client, "/login", {"email": user.email, "password": NEW_PASSWORD})
    assert refused.status_code == 422
    assert "Please confirm your e-mail address first" in page(refused).errors["email"][0]

    # An admin reads the outbox and follows the link from the message page.
    admin_client = app.test_client()
    login_as(admin_client, admin)
    listing = admin_client.get("/admin/outbox")
    assert listing.status_code == 200
    assert "Confirm your LabNet e-mail address" in listing.get_data(as_text=True)
    assert "logged" in listing.get_data(as_text=True)
    message = admin_client.get(f"/admin/outbox/{mail.id}")
    assert message.status_code == 200
    link = link_in(message.get_data(as_text=True))
    assert f'href="http://{HOST}{link}"' in message.get_data(as_text=True)

    confirmed = client.get(link, follow_redirects=True)
    assert confirmed.status_code == 200
    assert "Your e-mail address is confirmed" in confirmed.get_data(as_text=True)
    assert get_user(app, user.email).email_confirmed_at is not None

    welcome = post_form(client, "/login", {"email": user.email, "password": NEW_PASSWORD},
                        follow_redirects=True)
    assert "Welcome, Zoë O&#39;Brien &lt;b&gt;." in welcome.get_data(as_text=True)
    account = client.get("/account").get_data(as_text=True)
    assert "Bright Optics &amp; Sons" in account
    assert "SME rates apply" in account


def test_register_research_organisation_without_size_class(client, app):
    response = register(client, organisation="Istituto di Fotonica", org_kind="rto",
                        size_class="", email="ann@ifn.example")
    assert response.status_code == 200
    org = get_user(app, "ann@ifn.example").organisation
    assert (org.kind, org.size_class, org.email_domain) == ("rto", None, "ifn.example")


def test_register_research_organisation_ignores_a_size_class(client, app):
    register(client, organisation="Istituto di Fotonica", org_kind="rto", size_class="large",
             email="ann@ifn.example")
    assert get_user(app, "ann@ifn.example").organisation.size_class is None


@pytest.mark.parametrize("size_class", ["micro", "small", "medium", "large"])
def test_register_company_records_each_eu_size_class(client, app, size_class):
    register(client, size_class=size_class)
    org = get_user(app, GOOD["email"]).organisation
    assert org.size_class == size_class
    assert org.is_sme is (size_class != "large")


def test_register_into_existing_organisation_is_a_request_for_its_admins(
    client, app, make_org, make_user
):
    org = make_org(name="Acme Instruments", email_domain="acme.example")
    make_user(organisation=org, org_role="admin")
    response = register(client, email="Ann@Acme.example", organisation_mode="existing",
                        organisation="acme instruments", org_kind="", size_class="",
                        country="")
    assert response.status_code == 200, page(response).errors
    user = get_user(app, "ann@acme.example")
    assert user.organisation_id == org.id
    assert user.membership == "pending"  # the matching domain admits nobody by itself
    assert counts(app)["Organisation"] == 1
    [mail] = outbox(app)
    assert mail.to_addr == "ann@acme.example"


def test_register_then_confirm_through_the_real_smtp_server(smtp, client, app):
    response = register(client)
    assert response.status_code == 200
    [message] = smtp.to("zoe@brightoptics.example")
    assert message["Subject"] == "Confirm your LabNet e-mail address"
    assert "LabNet" in message["From"]
    [row] = outbox(app)
    assert row.status == "sent"
    # The HTML alternative carries the same link, with the user's name escaped.
    html = message.get_body(preferencelist=("html",)).get_content()
    link = link_in(smtp.text(message))
    assert link in html
    assert "Zoë O&#39;Brien &lt;b&gt;" in html

    confirmed = client.get(link)
    assert confirmed.status_code == 302
    assert confirmed.headers["Location"] == "/login"
    login_as(client, get_user(app, GOOD["email"]), NEW_PASSWORD)
    assert is_logged_in(client)


def test_confirmation_link_expires_after_seven_days(client, app, frozen_clock):
    register(client)
    link = link_in(outbox(app)[0].body_text)
    frozen_clock.move_to(frozen_clock.now + timedelta(days=7, seconds=1))
    response = client.get(link)
    assert response.status_code == 400
    assert "invalid or has expired" in response.get_data(as_text=True)
    assert get_user(app, GOOD["email"]).email_confirmed_at is None


def test_confirmation_link_with_a_mangled_token_offers_a_new_link(client, app):
    register(client)
    link = link_in(outbox(app)[0].body_text)
    response = client.get(link[:-3] + "abc")
    assert response.status_code == 400
    shown = page(response)
    assert any("invalid or has expired" in a for a in shown.alerts)
    assert "email" in shown.inputs  # the resend form
    assert get_user(app, GOOD["email"]).email_confirmed_at is None


def test_resend_confirmation_sends_a_new_link_and_reveals_nothing(smtp, client, app, make_user):
    confirmed = make_user()
    register(client)
    assert len(smtp.messages) == 1
    answers = []
    for email in (GOOD["email"].upper(), confirmed.email, "nobody@nowhere.example"):
        response = post_form(client, "/account/confirm", {"email": email},
                             follow_redirects=True)
        assert response.status_code == 200
        answers.append(
            "If an unconfirmed account uses this address" in response.get_data(as_text=True))
    assert answers == [True, True, True]
    assert [m["To"] for m in smtp.messages] == [GOOD["email"], GOOD["email"]]
    client.get(link_in(smtp.text(smtp.messages[1])))
    assert get_user(app, GOOD["email"]).email_confirmed_at is not None


# -- registration: bad input -------------------------------------------------------------------

BIG = "x" * (10 * 1024 * 1024)
LEAKED = ("This password is too easy to guess: it is on the list of passwords leaked most often "
          "in data breaches, which attackers try first; choose another.")
NO_SIZE = "A company needs its EU size class (it decides the SME rates)."
CONTROL = "Remove the control characters (tabs, line breaks and the like) from this text."

# (id, overrides of GOOD, field, error text, what exists beforehand)
BAD_REGISTRATIONS = [
    # A taken address is not a refusal (issue 10, item 10: no account enumeration), but
    # every other refusal is given the same whether or not the address has an account.
    ("password-common-address-taken", {"password": "Password123",
                                       "password_confirm": "Password123"},
     "password", LEAKED, "user"),
    ("organisation-name-taken-address-taken", {"organisation": "Zoe Existing Co"},
     "organisation", "An organisation named “Zoe Existing Co” is already registered; choose "
     "“join an existing organisation”.", "user_and_org"),
    ("email-malformed", {"email": "zoe-at-brightoptics"}, "email",
     "Enter a valid e-mail address, like name@example.org.", None),
    ("email-two-ats", {"email": "zoe@@brightoptics.example"}, "email",
     "Enter a valid e-mail address, like name@example.org.", None),
    ("password-short", {"password": "short1", "password_confirm": "short1"}, "password",
     "Use at least 10 characters.", None),
    ("password-common", {"password": "Password123", "password_confirm": "Password123"},
     "password", LEAKED, None),
    ("password-breached", {"password": "qwerty1234", "password_confirm": "qwerty1234"},
     "password", LEAKED, None),
    ("password-is-address", {"email": "annabelle@brightoptics.example",
                             "password": "annabelle2026", "password_confirm": "annabelle2026"},
     "password", "The password must not contain your e-mail address.", None),
    ("passwords-differ", {"password_confirm": NEW_PASSWORD + "!"}, "password_confirm",
     "The two passwords do not match.", None),
    ("organisation-unknown", {"organisation_mode": "existing", "organisation": "Nowhere Labs"},
     "organisation", "No organisation named “Nowhere Labs” is registered. Check the spelling "
     "or register a new organisation.", None),
    ("organisation-name-taken", {"organisation": "acme  INSTRUMENTS"}, "organisation",
     "An organisation named “acme INSTRUMENTS” is already registered; choose “join an "
     "existing organisation”.", "org"),
    ("company-without-size", {"size_class": ""}, "size_class", NO_SIZE, None),
    ("size-class-unknown", {"size_class": "huge"}, "size_class", "Not a valid choice.", None),
    ("kind-unknown", {"org_kind": "pirate"}, "org_kind", "Not a valid choice.", None),
    ("country-outside-europe", {"country": "US"}, "country", "Not a valid choice.", None),
    ("mode-unknown", {"organisation_mode": "both"}, "organisation_mode", "Not a valid choice.",
     None),
    ("missing-full-name", {"full_name": None}, "full_name", "Enter your name.", None),
    ("blank-full-name", {"full_name": "   "}, "full_name", "Enter your name.", None),
    ("missing-email", {"email": None}, "email", "Enter your e-mail address.", None),
    ("missing-password", {"password": None}, "password", "Choose a password.", None),
    ("missing-password-confirm", {"password_confirm": None}, "password_confirm",
     "Repeat the password.", None),
    ("missing-organisation", {"organisation": None}, "organisation",
     "Enter your organisation's name.", None),
    ("missing-org-kind", {"org_kind": None}, "org_kind", "Choose the kind of organisation.",
     None),
    ("missing-country", {"country": None}, "country", "Choose the country.", None),
    ("missing-mode", {"organisation_mode": None}, "organisation_mode",
     "Choose whether your organisation is new here.", None),
    ("nul-in-full-name", {"full_name": "Zo\x00ë"}, "full_name", CONTROL, None),
    ("escape-in-full-name", {"full_name": "Zoë\x1b[31m"}, "full_name", CONTROL, None),
    ("nul-in-organisation", {"organisation": "Bright\x00 Optics"}, "organisation", CONTROL,
     None),
    ("nul-in-organisation-to-join", {"organisation_mode": "existing",
                                     "organisation": "Acme\x00 Instruments"},
     "organisation", CONTROL, "org"),
    ("tab-in-organisation", {"organisation": "Bright\tOptics"}, "organisation", CONTROL, None),
    ("huge-full-name", {"full_name": BIG}, "full_name",
     "Field cannot be longer than 120 characters.", None),
    ("huge-email", {"email": BIG}, "email", "Field cannot be longer than 254 characters.", None),
    ("huge-organisation", {"organisation": BIG}, "organisation",
     "Field cannot be longer than 200 characters.", None),
    ("huge-password", {"password": BIG, "password_confirm": NEW_PASSWORD}, "password",
     "Field cannot be longer than 128 characters.", None),
]


@pytest.fixture
def existing(make_org, make_user):
    def make(what: str | None) -> None:
        if what == "user":
            make_user(email="zoe@brightoptics.example")
        elif what == "user_and_org":
            make_user(email="zoe@brightoptics.example",
                      organisation=make_org(name="Zoe Existing Co"))
        elif what == "org":
            make_org(name="Acme Instruments", email_domain="acme.example")
    return make


@pytest.mark.parametrize(("overrides", "field", "message", "setup"),
                         [c[1:] for c in BAD_REGISTRATIONS],
                         ids=[c[0] for c in BAD_REGISTRATIONS])
def test_bad_registration_names_the_field_keeps_the_input_and_writes_nothing(
    client, app, existing, overrides, field, message, setup
):
    existing(setup)
    before = counts(app)
    data = {**GOOD, **overrides}
    response = register(client, **overrides)

    assert response.status_code == 422
    shown = page(response)
    body = response.get_data(as_text=True)
    if field == "organisation_mode":
        # The radio group's errors carry no data-field marker (templates/_macros/forms.html).
        assert f'<div class="invalid-feedback d-block">{message}</div>' in body
    else:
        assert message in shown.errors.get(field, []), shown.errors
    # What the user typed is back in the form, escaped; the passwords are not.
    for name in ("full_name", "email", "organisation"):
        assert shown.inputs.get(name) == (data[name] or ""), name
    for name in ("org_kind", "size_class", "country"):
        valid = {"org_kind": {"company", "rto"}, "size_class": {"small", ""},
                 "country": {"IT"}}[name]
        if data[name] in valid:
            assert shown.selected[name] == data[name], name
    if data["organisation_mode"] in ("new", "existing"):
        assert shown.radios["organisation_mode"] == data["organisation_mode"]
    assert shown.inputs.get("password") in (None, "")
    assert shown.inputs.get("password_confirm") in (None, "")
    if data["password"]:
        assert data["password"] not in body
    assert "<b>" not in body.split("<main", 1)[1]  # the typed "<b>" is text, not markup
    assert counts(app) == before


def test_register_and_log_in_with_spaces_around_the_address(client, app):
    response = register(client, email="  zoe@brightoptics.example ")
    assert response.status_code == 200, page(response).errors
    user = get_user(app, "zoe@brightoptics.example")
    client.get(link_in(outbox(app)[0].body_text))
    login = post_form(client, "/login", {"email": " zoe@brightoptics.example\t",
                                         "password": NEW_PASSWORD})
    assert login.status_code == 302
    assert is_logged_in(client)
    assert user.email == "zoe@brightoptics.example"


def test_confirmation_mail_states_the_configured_lifetime(client, app):
    register(client)
    assert "The link works for 7 days." in outbox(app)[0].body_text
    assert "The link works for 7 days." in outbox(app)[0].body_html


@pytest.mark.parametrize("app_config", [{"CONFIRM_TOKEN_MAX_AGE": 2 * 86400}])
def test_confirmation_link_lifetime_follows_the_setting(client, app, frozen_clock, app_config):
    start = frozen_clock.now
    register(client)
    mail = outbox(app)[0]
    assert "The link works for 2 days." in mail.body_text
    frozen_clock.move_to(start + timedelta(days=2, seconds=1))
    assert client.get(link_in(mail.body_text)).status_code == 400


def test_bad_registration_resubmitted_correctly_succeeds(client, app):
    refused = register(client, password_confirm="something else entirely")
    assert refused.status_code == 422
    # The re-rendered page carries a working CSRF token for the corrected submission.
    data = {**GOOD, "csrf_token": csrf_from(refused.get_data(as_text=True))}
    assert client.post("/register", data=data).status_code == 200
    assert get_user(app, GOOD["email"]) is not None


def test_registration_shows_every_shape_error_at_once(client, app):
    response = post_form(client, "/register", {"organisation_mode": "new"})
    assert response.status_code == 422
    errors = page(response).errors
    assert set(errors) >= {"full_name", "email", "password", "password_confirm", "organisation",
                           "org_kind", "country"}
    assert counts(app)["User"] == 0


# -- login and logout ----------------------------------------------------------------------------


def test_login_then_logout_and_the_copied_cookie_stops_working(client, app, make_user):
    user = make_user(full_name="Ann Example")
    assert not is_logged_in(client)
    response = login_as(client, user)
    assert response.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert "Welcome, Ann Example." in home
    assert is_logged_in(client)

    copied = session_cookie(client)
    thief = replay(app, copied)
    assert is_logged_in(thief)  # the copy is a working session before logout

    assert client.get("/logout").status_code == 200
    logout = post_form(client, "/logout", {}, page="/logout")
    assert logout.status_code == 302 and logout.headers["Location"] == "/"
    assert "You are logged out." in client.get("/").get_data(as_text=True)
    assert not is_logged_in(client)
    assert not is_logged_in(replay(app, copied))


def test_logging_in_again_ends_the_session_the_browser_had(client, app, make_user):
    first, second = make_user(), make_user()
    login_as(client, first)
    copied = session_cookie(client)
    # A login form left open in another tab: the next person at a shared computer logs in.
    response = post_form(client, "/login", {"email": second.email, "password": PASSWORD},
                         page="/labs")
    assert response.status_code == 302
    assert not is_logged_in(replay(app, copied))
    assert f">{second.full_name}<" in client.get("/account").get_data(as_text=True)
    with app.app_context():
        live = db.session.scalars(select(LoginSession.user_id)
                                  .where(LoginSession.revoked_at.is_(None))).all()
    assert live == [second.id]


def test_logout_from_the_navigation_bar(client, make_user):
    login_as(client, make_user())
    token = csrf_from(client.get("/labs").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert not is_logged_in(client)


def test_logout_page_for_a_visitor_goes_home(client):
    response = client.get("/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_session_cookie_holds_only_a_random_token(client, app, make_user):
    user = make_user()
    login_as(client, user)
    with client.session_transaction() as sess:
        token = sess["_user_id"]
    assert token != str(user.id) and len(token) >= 40
    with app.app_context():
        row = db.session.get(LoginSession, security.token_hash(token))
        assert row.user_id == user.id and row.revoked_at is None


def test_login_session_ends_after_twelve_hours(client, app, frozen_clock, make_user):
    login_as(client, make_user())
    frozen_clock.move_to(frozen_clock.now + timedelta(hours=11, minutes=59))
    assert is_logged_in(client)
    frozen_clock.move_to(frozen_clock.now + timedelta(minutes=1))
    assert not is_logged_in(client)


def test_login_cookie_is_httponly_and_samesite_lax(client, make_user):
    response = login_as(client, make_user())
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP in development and tests


@pytest.mark.parametrize("app_config", [PRODUCTION])
def test_production_session_cookie_is_secure_host_prefixed_httponly_lax(app, app_config):
    client = app.test_client()
    response = client.get("/login", base_url=f"https://{HOST}")
    assert response.status_code == 200
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    for part in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert part in cookie
    assert "Domain=" not in cookie  # the __Host- prefix forbids it
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize("app_config", [PRODUCTION])
def test_production_login_and_logout_over_https(app, make_user, app_config):
    user = make_user()
    https = {"base_url": f"https://{HOST}", "headers": {"Referer": f"https://{HOST}/login"}}
    client = app.test_client()
    token = csrf_from(client.get("/login", **https).get_data(as_text=True))
    response = client.post("/login", data={"csrf_token": token, "email": user.email,
                                           "password": PASSWORD}, **https)
    assert response.status_code == 302
    assert response.headers["Set-Cookie"].startswith("__Host-session=")
    copied = session_cookie(client, "__Host-session")
    assert client.get("/account", **https).status_code == 200
    assert replay(app, copied, "__Host-session").get("/account", **https).status_code == 200
    token = csrf_from(client.get("/logout", **https).get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}, **https).status_code == 302
    assert client.get("/account", **https).status_code == 302
    assert replay(app, copied, "__Host-session").get("/account", **https).status_code == 302


def test_login_with_a_wrong_password_keeps_the_address_and_not_the_password(client, make_user):
    user = make_user()
    response = post_form(client, "/login", {"email": user.email, "password": "wrong one here"})
    assert response.status_code == 422
    shown = page(response)
    assert shown.errors["password"] == ["Wrong e-mail address or password."]
    assert shown.inputs["email"] == user.email
    assert shown.inputs["password"] in (None, "")
    assert "wrong one here" not in response.get_data(as_text=True)
    assert not is_logged_in(client)


def test_login_gives_the_same_answer_for_an_unknown_address(client, make_user):
    user = make_user()
    known = post_form(client, "/login", {"email": user.email, "password": "wrong one here"})
    unknown = post_form(client, "/login", {"email": "nobody@nowhere.example",
                                           "password": "wrong one here"})
    assert known.status_code == unknown.status_code == 422
    assert page(known).errors == page(unknown).errors


def test_login_is_case_insensitive_on_the_address(client, make_user):
    user = make_user()
    response = post_form(client, "/login", {"email": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 302
    assert is_logged_in(client)


def test_login_of_a_deactivated_account_is_refused(client, make_user):
    user = make_user(is_active=False)
    response = post_form(client, "/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 422
    assert page(response).errors["password"] == ["Wrong e-mail address or password."]


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"password": PASSWORD}, "email", "Enter your e-mail address."),
    ({"email": "user@example.org"}, "password", "Enter your password."),
    ({"email": "not an address", "password": PASSWORD}, "email",
     "Enter a valid e-mail address, like name@example.org."),
    ({"email": "user@example.org", "password": BIG}, "password",
     "Field cannot be longer than 256 characters."),
    ({"email": BIG, "password": PASSWORD}, "email", "Field cannot be longer than 254 characters."),
], ids=["no-email", "no-password", "bad-email", "huge-password", "huge-email"])
def test_login_bad_input_names_the_field(client, app, data, field, message):
    before = counts(app)
    response = post_form(client, "/login", data)
    assert response.status_code == 422
    shown = page(response)
    assert message in shown.errors[field]
    assert shown.inputs["email"] == data.get("email", "")
    assert counts(app) == before


def test_logged_in_user_opening_the_login_page_goes_home(client, make_user):
    login_as(client, make_user())
    response = client.get("/login")
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_login_required_page_sends_back_after_login(client, make_user):
    user = make_user()
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Faccount"
    form = page(client.get(response.headers["Location"]))
    assert form.inputs["next"] == "/account"
    done = post_form(client, "/login", {"email": user.email, "password": PASSWORD,
                                        "next": "/account"})
    assert done.headers["Location"] == "/account"


# RELIABILITY §4.2: where a naive redirect took the browser off-site, or answered 500.
NEXT_BAD = ["/\\evil.example", "/%09/evil.example", "//evil.example", "https:evil.example",
            "https://evil.example", "/%0A/x"]


def _query_value(raw: str) -> str:
    """The value as a browser would put it in the query string (``%09`` stays an escape)."""
    return quote(raw, safe="/%:?=&")


def _decoded(raw: str) -> str:
    return unquote(raw)


@pytest.mark.parametrize("target", NEXT_BAD)
def test_login_next_never_leaves_the_site(client, make_user, target):
    user = make_user()
    form = client.get(f"/login?next={_query_value(target)}")
    assert form.status_code == 200
    assert page(form).inputs["next"] in ("", None)
    # Even a tampered hidden field (the decoded payload) is not followed.
    response = post_form(client, "/login", {"email": user.email, "password": PASSWORD,
                                            "next": _decoded(target)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    # Already logged in, the login page's redirect ignores it too.
    again = client.get(f"/login?next={_query_value(target)}")
    assert again.status_code == 302
    assert again.headers["Location"] == "/"
    assert_on_site(again.headers["Location"])


def test_login_next_to_a_page_of_this_app_keeps_its_query(client, make_user):
    user = make_user()
    form = client.get("/login?next=%2Flabs%3Fpage%3D2")
    assert page(form).inputs["next"] == "/labs?page=2"
    response = post_form(client, "/login", {"email": user.email, "password": PASSWORD,
                                            "next": "/labs?page=2"})
    assert response.headers["Location"] == "/labs?page=2"
    assert client.get("/login?next=/labs?page=2").headers["Location"] == "/labs?page=2"


# -- log out everywhere ------------------------------------------------------------------------


def test_log_out_everywhere_ends_every_session_of_the_account(client, app, make_user):
    user = make_user()
    colleague = make_user()
    phone = app.test_client()
    colleague_client = app.test_client()
    login_as(client, user)
    login_as(phone, user)
    login_as(colleague_client, colleague)
    copied = session_cookie(client)
    assert is_logged_in(replay(app, copied))

    response = post_form(client, "/account/logout-everywhere", {}, page="/account",
                         follow_redirects=True)
    assert response.status_code == 200
    assert response.request.path == "/login"
    assert "Logged out of 2 sessions on every device." in response.get_data(as_text=True)
    assert not is_logged_in(client)
    assert not is_logged_in(phone)
    assert not is_logged_in(replay(app, copied))
    assert is_logged_in(colleague_client)  # other accounts are untouched
    assert "user.logout_everywhere" in audit_actions(app, user.id)


def test_log_out_everywhere_needs_a_login(client):
    token = csrf_token(client, "/login")
    response = client.post("/account/logout-everywhere", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


# -- change password -----------------------------------------------------------------------------


def change(client, current=PASSWORD, new=NEW_PASSWORD, confirm=None, **kw):
    return post_form(client, "/account/password",
                     {"current_password": current, "password": new,
                      "password_confirm": new if confirm is None else confirm}, **kw)


def test_change_password_keeps_this_browser_and_ends_other_sessions(client, app, make_user):
    user = make_user()
    phone = app.test_client()
    login_as(client, user)
    login_as(phone, user)
    copied = session_cookie(client)
    assert client.get("/account/password").status_code == 200

    response = change(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    account = client.get("/account")
    assert account.status_code == 200
    assert "Your password is changed. Other devices are logged out." in account.get_data(
        as_text=True)
    assert not is_logged_in(phone)
    assert not is_logged_in(replay(app, copied))
    assert session_cookie(client) != copied

    stored = get_user(app, user.email).password_hash
    assert stored.startswith("$argon2id$")
    assert "user.password_changed" in audit_actions(app, user.id)

    other = app.test_client()
    old = post_form(other, "/login", {"email": user.email, "password": PASSWORD})
    assert old.status_code == 422
    login_as(other, user, NEW_PASSWORD)


@pytest.mark.parametrize(("current", "new", "confirm", "field", "message"), [
    ("not my password", NEW_PASSWORD, None, "current_password",
     "This is not your current password."),
    (PASSWORD, PASSWORD, None, "password", "Choose a password different from the current one."),
    (PASSWORD, "short", None, "password", "Use at least 10 characters."),
    (PASSWORD, "qwertyuiop", None, "password",
     LEAKED),
    (PASSWORD, "qwerty1234", None, "password", LEAKED),
    (PASSWORD, NEW_PASSWORD, "something else", "password_confirm",
     "The two passwords do not match."),
    ("", NEW_PASSWORD, None, "current_password", "Enter your current password."),
    (PASSWORD, "", "", "password", "Choose a password."),
    (PASSWORD, BIG, NEW_PASSWORD, "password", "Field cannot be longer than 128 characters."),
], ids=["wrong-current", "unchanged", "short", "common", "breached", "differ", "no-current",
        "no-new", "huge"])
def test_change_password_refusal_names_the_field_and_changes_nothing(
    client, app, make_user, current, new, confirm, field, message
):
    user = make_user()
    login_as(client, user)
    copied = session_cookie(client)
    before = counts(app)
    response = change(client, current, new, confirm)
    assert response.status_code == 422
    shown = page(response)
    assert message in shown.errors[field]
    assert all(shown.inputs.get(n) in (None, "") for n in
               ("current_password", "password", "password_confirm"))
    assert counts(app) == before
    assert get_user(app, user.email).password_hash == user.password_hash
    assert is_logged_in(replay(app, copied))


def test_change_password_needs_a_login(client):
    response = client.get("/account/password")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Faccount%2Fpassword"


# -- password reset ------------------------------------------------------------------------------


def request_reset(client, email: str):
    return post_form(client, "/account/reset", {"email": email}, page="/account/reset")


def test_reset_through_the_real_smtp_server_works_once(smtp, client, app, make_user):
    user = make_user()
    device = app.test_client()
    login_as(device, user)
    copied = session_cookie(device)

    response = request_reset(client, user.email)
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "It works for 60 minutes." in client.get("/login").get_data(as_text=True)
    [message] = smtp.to(user.email)
    assert message["Subject"] == "Reset your LabNet password"
    text = smtp.text(message)
    assert "60 minutes and only once" in text
    link = link_in(text)

    form = client.get(link)
    assert form.status_code == 200
    assert "password_confirm" in page(form).inputs
    done = post_form(client, link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert "Your password is changed" in client.get("/login").get_data(as_text=True)

    # The link is spent; sessions that existed are gone; only the new password works.
    again = client.get(link)
    assert again.status_code == 400
    assert "This reset link is invalid, expired or already used." in " ".join(
        page(again).alerts)
    reuse = post_form(client, link, {"password": "another fine passphrase",
                                     "password_confirm": "another fine passphrase"},
                      page="/account/reset")
    assert reuse.status_code == 400
    assert not is_logged_in(device)
    assert not is_logged_in(replay(app, copied))
    assert post_form(client, "/login", {"email": user.email,
                                        "password": PASSWORD}).status_code == 422
    login_as(client, user, NEW_PASSWORD)
    assert "user.password_reset" in audit_actions(app, user.id)


def test_reset_link_expires_after_reset_token_max_age(smtp, client, app, frozen_clock,
                                                      make_user):
    user = make_user()
    start = frozen_clock.now
    request_reset(client, user.email)
    link = link_in(smtp.text(smtp.to(user.email)[0]))
    max_age = app.config["RESET_TOKEN_MAX_AGE"]

    frozen_clock.move_to(start + timedelta(seconds=max_age - 1))
    assert client.get(link).status_code == 200  # still fresh a second before

    frozen_clock.move_to(start + timedelta(seconds=max_age + 1))
    expired = client.get(link)
    assert expired.status_code == 400
    shown = page(expired)
    assert "This reset link is invalid, expired or already used. Ask for a new one." in (
        shown.alerts)
    assert "email" in shown.inputs  # the form to ask for a new link
    posted = post_form(client, link, {"password": NEW_PASSWORD,
                                      "password_confirm": NEW_PASSWORD}, page="/account/reset")
    assert posted.status_code == 400
    assert get_user(app, user.email).password_hash == user.password_hash


def test_reset_without_smtp_is_kept_in_the_outbox_for_an_admin(client, app, make_user):
    user = make_user()
    admin = make_user(roles=(Role.ADMIN,))
    request_reset(client, user.email)
    [mail] = outbox(app, "reset_password")
    assert (mail.to_addr, mail.status) == (user.email, "logged")
    admin_client = app.test_client()
    login_as(admin_client, admin)
    listing = admin_client.get(f"/admin/outbox?to={user.email}").get_data(as_text=True)
    assert "Reset your LabNet password" in listing
    link = link_in(admin_client.get(f"/admin/outbox/{mail.id}").get_data(as_text=True))
    assert post_form(client, link, {"password": NEW_PASSWORD,
                                    "password_confirm": NEW_PASSWORD}).status_code == 302
    login_as(client, user, NEW_PASSWORD)


def test_member_cannot_read_the_outbox(client, make_user):
    login_as(client, make_user())
    assert client.get("/admin/outbox").status_code == 403


def test_reset_request_for_an_unknown_address_answers_the_same_and_sends_nothing(
    smtp, client, app, make_user
):
    user = make_user()
    before = counts(app)
    unknown = request_reset(client, "nobody@nowhere.example")
    assert counts(app) == before
    known = request_reset(client, user.email)
    assert unknown.status_code == known.status_code == 302
    assert unknown.headers["Location"] == known.headers["Location"]
    assert [m["To"] for m in smtp.messages] == [user.email]


@pytest.mark.parametrize(("new", "confirm", "field", "message"), [
    ("short", "short", "password", "Use at least 10 characters."),
    ("1234567890", "1234567890", "password",
     LEAKED),
    ("qwerty1234", "qwerty1234", "password", LEAKED),
    (NEW_PASSWORD, "something else", "password_confirm", "The two passwords do not match."),
    ("", "", "password", "Choose a password."),
])
def test_reset_with_bad_password_names_the_field_and_keeps_the_link(
    client, app, make_user, new, confirm, field, message
):
    user = make_user()
    request_reset(client, user.email)
    link = link_in(outbox(app)[0].body_text)
    response = post_form(client, link, {"password": new, "password_confirm": confirm})
    assert response.status_code == 422
    assert message in page(response).errors[field]
    assert get_user(app, user.email).password_hash == user.password_hash
    assert client.get(link).status_code == 200


def test_reset_request_with_a_malformed_address_names_the_field(client, app):
    before = counts(app)
    response = request_reset(client, "not-an-address")
    assert response.status_code == 422
    shown = page(response)
    assert shown.errors["email"] == ["Enter a valid e-mail address, like name@example.org."]
    assert shown.inputs["email"] == "not-an-address"
    assert counts(app) == before


# -- CSRF ----------------------------------------------------------------------------------------


def _logged_in(client, make_user):
    user = make_user()
    login_as(client, user)
    return user


CSRF_FORMS = [
    ("/login", {"email": "a@b.example", "password": PASSWORD}, False),
    ("/register", GOOD, False),
    ("/account/confirm", {"email": "a@b.example"}, False),
    ("/account/reset", {"email": "a@b.example"}, False),
    ("/logout", {}, True),
    ("/account/password", {"current_password": PASSWORD, "password": NEW_PASSWORD,
                           "password_confirm": NEW_PASSWORD}, True),
    ("/account/logout-everywhere", {}, True),
]


@pytest.mark.parametrize("token", ["", "forged-token"], ids=["missing", "forged"])
@pytest.mark.parametrize(("url", "data", "needs_login"), CSRF_FORMS,
                         ids=[c[0] for c in CSRF_FORMS])
def test_form_without_a_valid_csrf_token_does_nothing(
    client, app, make_user, url, data, needs_login, token
):
    user = _logged_in(client, make_user) if needs_login else None
    copied = session_cookie(client) if needs_login else None
    before = counts(app)
    payload = {**data, "csrf_token": token} if token else dict(data)
    response = client.post(url, data=payload)
    assert response.status_code == 400
    assert "This form had expired" in response.get_data(as_text=True)
    assert counts(app) == before
    if user is not None:
        assert is_logged_in(client)
        assert is_logged_in(replay(app, copied))
        assert get_user(app, user.email).password_hash == user.password_hash


def test_reset_form_without_csrf_token_does_nothing(client, app, make_user):
    user = make_user()
    request_reset(client, user.email)
    link = link_in(outbox(app)[0].body_text)
    response = client.post(link, data={"password": NEW_PASSWORD,
                                       "password_confirm": NEW_PASSWORD})
    assert response.status_code == 400
    assert "This form had expired" in response.get_data(as_text=True)
    assert get_user(app, user.email).password_hash == user.password_hash


@pytest.fixture
def later_csrf_clock(monkeypatch):
    """``shift(seconds)``: Flask-WTF and Flask's session cookie read itsdangerous's clock
    (real time); LabNet's own tokens use labnet.clock and are not affected."""

    def shift(seconds: int) -> None:
        original = itsdangerous.timed.TimestampSigner.get_timestamp
        monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp",
                            lambda self: original(self) + seconds)

    return shift


EXPIRY_FORMS = [
    ("/register", {k: v for k, v in GOOD.items()}, ("full_name", "email", "organisation")),
    ("/login", {"email": "ann@example.org", "password": PASSWORD}, ("email",)),
    ("/account/reset", {"email": "ann@example.org"}, ("email",)),
    ("/account/confirm", {"email": "ann@example.org"}, ("email",)),
]


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_TIME_LIMIT": 3600}])
@pytest.mark.parametrize(("url", "data", "kept"), EXPIRY_FORMS, ids=[f[0] for f in EXPIRY_FORMS])
def test_expired_csrf_token_re_renders_the_form_with_the_input_and_a_message(
    client, app, later_csrf_clock, url, data, kept
):
    token = csrf_token(client, url)
    later_csrf_clock(3601)
    before = counts(app)
    response = client.post(url, data={**data, "csrf_token": token})
    assert response.status_code == 400
    shown = page(response)
    assert "This form had expired. Your input is kept — please submit it again." in shown.alerts
    for name in kept:
        assert shown.inputs[name] == data[name]
    assert counts(app) == before
    # The page carries a fresh token: submitting again goes through.
    again = client.post(url, data={**data, "csrf_token": shown.inputs["csrf_token"]})
    assert again.status_code in (200, 302, 422)
    assert "This form had expired" not in again.get_data(as_text=True)


def test_form_left_open_past_the_session_lifetime_keeps_the_input(client, app,
                                                                  later_csrf_clock):
    # With the default (no CSRF time limit) the token lives as long as the session cookie:
    # after 12 hours the cookie is gone, and the form comes back with the text and a message.
    token = csrf_token(client, "/register")
    later_csrf_clock(13 * 3600)
    response = client.post("/register", data={**GOOD, "csrf_token": token})
    assert response.status_code == 400
    shown = page(response)
    assert any("This form had expired" in a for a in shown.alerts)
    assert shown.inputs["full_name"] == GOOD["full_name"]
    assert shown.inputs["organisation"] == GOOD["organisation"]
    assert counts(app)["User"] == 0
    again = client.post("/register", data={**GOOD, "csrf_token": shown.inputs["csrf_token"]})
    assert again.status_code == 200
    assert get_user(app, GOOD["email"]) is not None


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_TIME_LIMIT": 3600}])
def test_expired_csrf_token_on_change_password_changes_nothing(
    client, app, make_user, later_csrf_clock
):
    user = _logged_in(client, make_user)
    token = csrf_token(client, "/account/password")
    later_csrf_clock(3601)
    response = client.post("/account/password", data={
        "csrf_token": token, "current_password": PASSWORD, "password": NEW_PASSWORD,
        "password_confirm": NEW_PASSWORD})
    assert response.status_code == 400
    assert "This form had expired" in response.get_data(as_text=True)
    assert get_user(app, user.email).password_hash == user.password_hash
    assert is_logged_in(client)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_TIME_LIMIT": 3600}])
def test_expired_csrf_token_on_log_out_everywhere_shows_the_account_page_again(
    client, app, make_user, later_csrf_clock
):
    _logged_in(client, make_user)
    token = csrf_token(client, "/account")
    later_csrf_clock(3601)
    response = client.post("/account/logout-everywhere", data={"csrf_token": token})
    assert response.status_code == 400
    assert "Location" not in response.headers
    shown = page(response)
    assert any("This form had expired" in a for a in shown.alerts)
    assert is_logged_in(client)
    again = client.post("/account/logout-everywhere",
                        data={"csrf_token": shown.inputs["csrf_token"]})
    assert again.status_code == 302
    assert not is_logged_in(client)


# -- login throttling -------------------------------------------------------------------------


class TestLoginRateLimits:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True}

    def test_account_is_throttled_after_five_attempts_a_minute(self, client, app, make_user):
        user = make_user()
        token = csrf_token(client)
        for _ in range(5):
            assert wrong_login(client, user.email, token).status_code == 422
        # The sixth try is refused even with the right password, on any capitalisation.
        limited = client.post("/login", data={"csrf_token": token,
                                              "email": user.email.upper(),
                                              "password": PASSWORD})
        assert limited.status_code == 429
        shown = page(limited)
        assert "Too many login attempts. Please wait a minute before trying again." in (
            shown.alerts)
        assert shown.inputs["email"] == user.email.upper()
        assert not is_logged_in(client)
        # Another account from the same address still logs in; the form still shows.
        assert client.get("/login").status_code == 200
        login_as(client, make_user())

    def test_address_is_throttled_after_twenty_attempts_a_minute(self, client, app, make_user):
        user = make_user()
        token = csrf_token(client)
        for n in range(20):
            assert wrong_login(client, f"guess{n}@example.org", token).status_code == 422
        limited = client.post("/login", data={"csrf_token": token, "email": user.email,
                                              "password": PASSWORD})
        assert limited.status_code == 429
        assert not is_logged_in(client)
        # A client at another address is not affected.
        elsewhere = app.test_client()
        elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.7"
        login_as(elsewhere, user)

    @staticmethod
    def _from(app, ip: str):
        browser = app.test_client()
        browser.environ_base["REMOTE_ADDR"] = ip
        return browser

    def test_an_attackers_failures_do_not_lock_the_owner_out(self, app, make_user):
        # Issue 10, item 12: five wrong passwords from one client used to refuse the right
        # one from everywhere. The limit is per account *and* client.
        owner = make_user()
        attacker = self._from(app, "203.0.113.66")
        token = csrf_token(attacker)
        for _ in range(5):
            assert wrong_login(attacker, owner.email, token).status_code == 422
        assert wrong_login(attacker, owner.email, token).status_code == 429
        right = attacker.post("/login", data={"csrf_token": token, "email": owner.email,
                                              "password": PASSWORD})
        assert right.status_code == 429  # the attacker's client stays throttled
        login_as(self._from(app, "198.51.100.7"), owner)  # the owner, elsewhere, gets in

    def test_successful_logins_are_never_counted(self, client, app, make_user):
        user = make_user()
        for _ in range(7):
            login_as(client, user)
            post_form(client, "/logout", {}, page="/logout")
        # Failures since the last success still count, up to the limit.
        token = csrf_token(client)
        for _ in range(5):
            assert wrong_login(client, user.email, token).status_code == 422
        assert wrong_login(client, user.email, token).status_code == 429

    def test_an_account_alone_has_a_higher_ceiling_over_every_client(self, app, make_user):
        user = make_user()
        for n in range(50):
            browser = self._from(app, f"192.0.2.{n + 1}")
            assert wrong_login(browser, user.email, csrf_token(browser)).status_code == 422
        fresh = self._from(app, "198.51.100.99")
        limited = fresh.post("/login", data={"csrf_token": csrf_token(fresh),
                                             "email": user.email, "password": "still wrong"})
        assert limited.status_code == 429
        assert "Too many login attempts" in limited.get_data(as_text=True)

    def test_the_limits_count_only_login_attempts(self, client, app, make_user):
        user = make_user()
        for _ in range(25):
            assert client.get("/login").status_code == 200
        login_as(client, user)


# -- audit ---------------------------------------------------------------------------------------


def test_registration_confirmation_login_and_password_change_are_audited(client, app):
    register(client)
    user = get_user(app, GOOD["email"])
    assert audit_actions(app, user.id) == ["user.registered"]
    client.get(link_in(outbox(app)[0].body_text))
    assert audit_actions(app, user.id) == ["user.registered", "user.email_confirmed"]
    login_as(client, user, NEW_PASSWORD)
    assert audit_actions(app, user.id)[-1] == "user.login"
    change(client, NEW_PASSWORD, "another fine passphrase")
    actions = audit_actions(app, user.id)
    assert "user.password_changed" in actions
    assert actions.count("user.login") == 2  # this browser's new session
    with app.app_context():
        events = list(db.session.scalars(
            select(AuditEvent).where(AuditEvent.subject_id == user.id)))
    assert {e.actor_id for e in events} == {user.id}


def test_failed_registration_and_login_write_no_audit_rows(client, app, make_user):
    user = make_user()
    register(client, password="short", password_confirm="short")
    post_form(client, "/login", {"email": user.email, "password": "wrong one here"})
    assert audit_actions(app, user.id) == []
    assert counts(app)["AuditEvent"] == 0


def test_register_racing_another_registration_of_the_same_address_names_the_email_field(
    client, app, make_org, monkeypatch
):
    """Both registrations pass the "address free" check; the other one commits first. The
    unique index refuses this one: the form answers on ``email``, keeps what was typed,
    and nothing of this attempt (organisation, user, mail) stays."""
    from labnet.services.accounts import rules as accounts

    other_org = make_org(name="Other Optics")
    checked = accounts.join_domain

    def other_registration_commits_meanwhile(email):
        with db.engine.begin() as conn:  # another request's connection
            conn.execute(User.__table__.insert().values(
                email=GOOD["email"], full_name="Quicker", password_hash="x",
                organisation_id=other_org.id, is_active=True, mail_mode="immediate"))
        return checked(email)

    # After this registration found the address free (join_domain is asked next).
    monkeypatch.setattr(accounts, "join_domain", other_registration_commits_meanwhile)
    with app.app_context():
        orgs_before = db.session.scalar(select(func.count()).select_from(Organisation))
    response = register(client)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "registered a moment ago" in body
    assert 'value="Bright Optics &amp; Sons"' in body
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Organisation)) == orgs_before
        assert db.session.scalars(select(User.full_name)
                                  .where(User.email == GOOD["email"])).all() == ["Quicker"]
        assert db.session.scalar(select(func.count()).select_from(OutboxEmail)) == 0


@pytest.mark.parametrize("password", ["Password1!", "Summer2024!"])
def test_registration_refuses_a_guessable_password_saying_why(client, app, password):
    before = counts(app)
    response = register(client, password=password, password_confirm=password)
    assert response.status_code == 422
    [error] = page(response).errors["password"]
    assert error.startswith("This password is too easy to guess (")
    assert "choose another" in error
    assert counts(app) == before


def test_reset_refuses_a_guessable_password_and_the_link_still_works(client, app, make_user):
    user = make_user()
    request_reset(client, user.email)
    link = link_in(outbox(app, "reset_password")[-1].body_text)
    refused = post_form(client, link, {"password": "Password1!", "password_confirm": "Password1!"})
    assert refused.status_code == 422
    assert page(refused).errors["password"][0].startswith("This password is too easy to guess")
    assert post_form(client, link, {"password": NEW_PASSWORD,
                                    "password_confirm": NEW_PASSWORD}).status_code == 302


# -- account enumeration (issue 10, item 10) ----------------------------------------------------

CSRF_VALUE = re.compile(r'(name="csrf_token" type="hidden" value=|<meta name="csrf-token" '
                        r'content=)"[^"]+"')


def _same_page(response, address: str) -> tuple[int, str]:
    """Status and body, with the CSRF token and the typed address blanked out."""
    body = CSRF_VALUE.sub(r'\1"TOKEN"', response.get_data(as_text=True))
    return response.status_code, body.replace(address, "ADDRESS")


def test_registration_answers_alike_for_a_known_address_and_tells_its_owner(
    smtp, client, app, make_user
):
    owner = make_user(email="owner@brightoptics.example")
    before = counts(app)
    known = register(client, email="Owner@BrightOptics.example", organisation="Known Co")
    unknown = register(app.test_client(), email="new@brightoptics.example",
                       organisation="Unknown Co")
    assert _same_page(known, "owner@brightoptics.example") == _same_page(
        unknown, "new@brightoptics.example")
    assert known.status_code == 200
    # The owner hears of it; nothing was created for the known address.
    [notice] = smtp.to(owner.email)
    assert notice["Subject"] == "Someone tried to register with your LabNet address"
    text = smtp.text(notice)
    assert "http://labnet.test/account/reset" in text
    after = counts(app)
    assert after["User"] == before["User"] + 1  # only the unknown address's account
    assert after["Organisation"] == before["Organisation"] + 1
    assert get_user(app, owner.email).password_hash == owner.password_hash


def test_registration_hashes_a_password_on_both_branches(client, app, make_user, monkeypatch):
    # The same Argon2 work whether or not the address has an account (no timing oracle).
    calls = []
    real = security.hash_password
    monkeypatch.setattr(security, "hash_password", lambda pw: calls.append(pw) or real(pw))
    make_user(email="owner@brightoptics.example")
    calls.clear()
    register(client, email="owner@brightoptics.example", organisation="Known Co")
    assert len(calls) == 1
    register(app.test_client(), email="new@brightoptics.example", organisation="Unknown Co")
    assert len(calls) == 2


def test_reset_answers_alike_and_mails_only_after_the_response(smtp, client, app, make_user):
    user = make_user()
    answers = []
    for address in (user.email, "nobody@nowhere.example"):
        browser = app.test_client()
        token = csrf_token(browser, "/account/reset")
        # Not buffered: the response is complete before the body is closed, as a server
        # hands it to the client; no SMTP work has happened by then.
        sent = len(smtp.messages)
        response = browser.post("/account/reset", data={"csrf_token": token, "email": address})
        assert len(smtp.messages) == sent
        response.close()
        answers.append((response.status_code, response.headers["Location"],
                        _same_page(browser.get("/login"), address)))
    assert answers[0] == answers[1]
    [message] = smtp.to(user.email)
    assert message["Subject"] == "Reset your LabNet password"
    [row] = outbox(app, "reset_password")
    assert row.status == "sent"


def test_resend_confirmation_mails_only_after_the_response(smtp, client, app):
    register(client)
    smtp.messages.clear()
    token = csrf_token(client, "/account/confirm")
    response = client.post("/account/confirm", data={"csrf_token": token,
                                                     "email": GOOD["email"]})
    assert response.status_code == 302
    assert smtp.messages == []
    response.close()
    assert [m["To"] for m in smtp.messages] == [GOOD["email"]]


# -- throttling of registration, reset and confirmation (issue 10, item 11) ----------------------


class TestAccountMailLimits:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True}

    @staticmethod
    def _from(app, ip: str):
        browser = app.test_client()
        browser.environ_base["REMOTE_ADDR"] = ip
        return browser

    def test_reset_mails_to_one_address_are_limited_from_any_client(self, smtp, app,
                                                                    make_user):
        user = make_user()
        for n in range(3):
            assert request_reset(self._from(app, f"192.0.2.{n + 1}"), user.email
                                 ).status_code == 302
        limited = request_reset(self._from(app, "198.51.100.9"), user.email.upper())
        assert limited.status_code == 429
        shown = page(limited)
        assert any("Too many requests" in a for a in shown.alerts), shown.alerts
        assert shown.inputs["email"] == user.email.upper()
        assert len(smtp.to(user.email)) == 3

    def test_reset_requests_from_one_client_are_limited(self, app):
        browser = self._from(app, "203.0.113.20")
        for n in range(10):
            assert request_reset(browser, f"someone{n}@example.org").status_code == 302
        assert request_reset(browser, "someone-else@example.org").status_code == 429

    def test_confirmation_resends_are_limited_per_address(self, smtp, client, app):
        register(client)
        for n in range(3):
            browser = self._from(app, f"192.0.2.{n + 1}")
            assert post_form(browser, "/account/confirm", {"email": GOOD["email"]}
                             ).status_code == 302
        limited = post_form(self._from(app, "198.51.100.9"), "/account/confirm",
                            {"email": GOOD["email"]})
        assert limited.status_code == 429
        assert "Too many requests" in limited.get_data(as_text=True)

    def test_registrations_from_one_client_are_limited_and_keep_the_input(self, app):
        browser = self._from(app, "203.0.113.30")
        for n in range(5):
            done = register(browser, email=f"person{n}@squat.example",
                            organisation=f"Squatted Name {n}")
            assert done.status_code == 200
        limited = register(browser, email="person9@squat.example", organisation="Squat Nine")
        assert limited.status_code == 429
        shown = page(limited)
        assert shown.inputs["organisation"] == "Squat Nine"
        assert any("Too many requests" in a for a in shown.alerts)
        assert get_user(app, "person9@squat.example") is None

    def test_refused_registrations_do_not_use_up_the_limit(self, app):
        browser = self._from(app, "203.0.113.31")
        for _ in range(8):
            assert register(browser, password="short1", password_confirm="short1"
                            ).status_code == 422
        assert register(browser).status_code == 200
