"""Every route × every kind of user: the expected status, and nothing written on refusal.

DESIGN rule 6 / STYLE §10. ``test_route_coverage.py`` fails when a route of the URL map is
missing here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
from sqlalchemy import func, select

from labnet import clock
from labnet.extensions import db
from labnet.models import (
    AuditEvent,
    Equipment,
    Lab,
    LabManager,
    OutboxEmail,
    Organisation,
    User,
    UserRole,
)
from labnet.services.notifications import enqueue_email

ACTORS = ("anonymous", "member", "outsider", "other_manager", "manager", "coordinator", "admin")
ALL_OK = dict.fromkeys(ACTORS, 200)


def _only(allowed: tuple[str, ...], ok: int, refused: int, anonymous: int | None = None):
    table = {a: (ok if a in allowed else refused) for a in ACTORS}
    if anonymous is not None and "anonymous" not in allowed:
        table["anonymous"] = anonymous
    return table


ADMIN_GET = _only(("admin",), 200, 403, anonymous=302)
ADMIN_POST = _only(("admin",), 302, 403, anonymous=302)
LOGGED_IN = {a: (302 if a == "anonymous" else 200) for a in ACTORS}
MANAGERS_ONLY_404 = _only(("manager", "admin"), 200, 404)


@dataclass
class Case:
    endpoint: str
    method: str
    url: Callable[[Any], str]
    expected: dict[str, int]
    data: Callable[[Any], dict[str, Any]] = field(default=lambda p: {})
    name: str = ""

    @property
    def id(self) -> str:
        return f"{self.endpoint}-{self.method}{'-' + self.name if self.name else ''}"


CASES = [
    Case("main.index", "GET", lambda p: "/", ALL_OK),
    Case("main.health", "GET", lambda p: "/health", ALL_OK),
    Case("main.ping", "GET", lambda p: "/ping", ALL_OK),
    Case("catalogue.labs", "GET", lambda p: "/labs", ALL_OK),
    Case("catalogue.lab", "GET", lambda p: f"/labs/{p.lab.slug}", ALL_OK, name="published"),
    Case("catalogue.lab", "GET", lambda p: f"/labs/{p.draft.slug}", MANAGERS_ONLY_404,
         name="draft"),
    Case("catalogue.equipment", "GET", lambda p: f"/equipment/{p.equipment.id}", ALL_OK,
         name="published"),
    Case("catalogue.equipment", "GET", lambda p: f"/equipment/{p.draft_equipment.id}",
         MANAGERS_ONLY_404, name="draft-lab"),
    Case("catalogue.equipment", "GET", lambda p: f"/equipment/{p.retired.id}",
         MANAGERS_ONLY_404, name="retired"),
    # Accounts: pages anybody may open; their POSTs with bad input answer with the form.
    Case("auth.login", "GET", lambda p: "/login",
         {a: (200 if a == "anonymous" else 302) for a in ACTORS}),
    Case("auth.login", "POST", lambda p: "/login", dict.fromkeys(ACTORS, 422),
         data=lambda p: {"email": p.member.email, "password": "wrong password here"}),
    Case("auth.logout_page", "GET", lambda p: "/logout",
         {a: (302 if a == "anonymous" else 200) for a in ACTORS}),
    Case("auth.logout", "POST", lambda p: "/logout", dict.fromkeys(ACTORS, 302)),
    Case("auth.register", "GET", lambda p: "/register", ALL_OK),
    Case("auth.register", "POST", lambda p: "/register", dict.fromkeys(ACTORS, 422),
         data=lambda p: {"email": "not-an-address"}),
    Case("auth.confirm", "GET", lambda p: "/account/confirm/forged-token",
         dict.fromkeys(ACTORS, 400)),
    Case("auth.resend_confirmation", "GET", lambda p: "/account/confirm", ALL_OK),
    Case("auth.resend_confirmation", "POST", lambda p: "/account/confirm",
         dict.fromkeys(ACTORS, 302), data=lambda p: {"email": "nobody@example.org"}),
    Case("auth.reset_request", "GET", lambda p: "/account/reset", ALL_OK),
    Case("auth.reset_request", "POST", lambda p: "/account/reset", dict.fromkeys(ACTORS, 302),
         data=lambda p: {"email": "nobody@example.org"}),
    Case("auth.reset", "GET", lambda p: "/account/reset/forged-token",
         dict.fromkeys(ACTORS, 400)),
    Case("auth.reset", "POST", lambda p: "/account/reset/forged-token",
         dict.fromkeys(ACTORS, 400), data=lambda p: {"password": "x" * 12}),
    Case("auth.account", "GET", lambda p: "/account", LOGGED_IN),
    Case("auth.change_password", "GET", lambda p: "/account/password", LOGGED_IN),
    Case("auth.change_password", "POST", lambda p: "/account/password",
         {a: (302 if a == "anonymous" else 422) for a in ACTORS},
         data=lambda p: {"current_password": "not the password", "password": "new password 1",
                         "password_confirm": "new password 1"}),
    Case("auth.logout_everywhere", "POST", lambda p: "/account/logout-everywhere",
         dict.fromkeys(ACTORS, 302)),
    # Admin pages: admins only; everyone else is refused and nothing changes.
    Case("admin.users", "GET", lambda p: "/admin/users", ADMIN_GET),
    Case("admin.user", "GET", lambda p: f"/admin/users/{p.member.id}", ADMIN_GET),
    Case("admin.grant", "POST", lambda p: f"/admin/users/{p.member.id}/roles", ADMIN_POST,
         data=lambda p: {"role": "coordinator"}),
    Case("admin.grant", "POST", lambda p: f"/admin/users/{p.outsider.id}/roles", ADMIN_POST,
         data=lambda p: {"role": "lab_manager", "lab": p.lab.slug}, name="lab-manager"),
    Case("admin.revoke", "POST", lambda p: f"/admin/users/{p.coordinator.id}/roles/revoke",
         ADMIN_POST, data=lambda p: {"role": "coordinator"}),
    Case("admin.outbox", "GET", lambda p: "/admin/outbox", ADMIN_GET),
    Case("admin.outbox_message", "GET", lambda p: f"/admin/outbox/{p.message_id}", ADMIN_GET),
]

META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def fingerprint() -> tuple[int, ...]:
    """Row counts of every table a refused request must not touch."""
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (User, UserRole, LabManager, Organisation, Lab, Equipment, OutboxEmail)
    ) + (db.session.scalar(select(func.count()).select_from(AuditEvent)
                           .where(AuditEvent.action != "user.login")),)


@pytest.fixture
def cast(app, people, make_equipment):
    people.equipment = make_equipment(people.lab)
    people.draft_equipment = make_equipment(people.draft)
    people.retired = make_equipment(people.lab, status="retired", name="Old microscope")
    with app.test_request_context():
        row = enqueue_email("confirm_email", "someone@example.org", "Hello",
                            {"user": db.session.get(User, people.member.id), "token": "t"},
                            now=clock.utcnow())
        people.message_id = row.id
        db.session.commit()
    return people


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_route_answers_each_kind_of_user(app, client, quick_login, cast, case: Case, actor):
    quick_login(client, None if actor == "anonymous" else getattr(cast, actor))
    page = client.get("/labs").get_data(as_text=True)
    token = META_CSRF.search(page).group(1)
    with app.app_context():
        before = fingerprint()
    kwargs: dict[str, Any] = {}
    if case.method == "POST":
        kwargs["data"] = {"csrf_token": token, **case.data(cast)}
    response = client.open(case.url(cast), method=case.method, **kwargs)
    expected = case.expected[actor]
    assert response.status_code == expected, (case.id, actor, response.status_code)
    if expected in (401, 403, 404) or (expected == 302 and actor == "anonymous"
                                       and case.endpoint.startswith("admin.")):
        with app.app_context():
            assert fingerprint() == before, "a refused request changed the database"
    if expected == 302 and actor == "anonymous" and case.endpoint.startswith(("admin.",
                                                                            "auth.account",
                                                                            "auth.change")):
        assert "/login" in response.headers["Location"]
