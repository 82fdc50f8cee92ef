"""Matrix entries for the organisation members page (issue 10, item 5).

The cast's ``member`` is the organisation admin of Small Co, ``outsider`` the organisation
admin of their own organisation (so "another organisation's admin"); everyone else is no
organisation admin. Small Co has a confirmed pending request (``org_pending_id``), a plain
member (``org_plain_id``) and a second admin (``colleague``).
"""

from __future__ import annotations

from sqlalchemy import update

from labnet import clock, security
from labnet.extensions import db
from labnet.models import User
from tests.authz.cases.base import ACTORS, Case

ORG_ADMINS = ("member", "outsider")


def seed(app, people) -> None:
    with app.app_context():
        db.session.execute(update(User).where(User.id.in_(
            [people.member.id, people.colleague.id, people.outsider.id])).values(org_role="admin"))
        plain = User(email="plain@small-co.example", full_name="Plain Member",
                     password_hash=security.hash_password("unused password 1"),
                     organisation_id=people.sme_org.id, email_confirmed_at=clock.utcnow())
        pending = User(email="asker@gmail.com", full_name="Asking Person",
                       password_hash=plain.password_hash, organisation_id=people.sme_org.id,
                       email_confirmed_at=clock.utcnow(), membership="pending")
        db.session.add_all([plain, pending])
        db.session.commit()
        people.org_plain_id, people.org_pending_id = plain.id, pending.id


def _table(ok: int, other_admin: int) -> dict[str, int]:
    table = {a: 403 for a in ACTORS}
    table.update(anonymous=302, member=ok, outsider=other_admin)
    return table


BASE = "/organisation/members"

CASES = [
    Case("auth.members", "GET", lambda p: BASE, _table(200, 200)),
    Case("auth.approve_member", "POST", lambda p: f"{BASE}/{p.org_pending_id}/approve",
         _table(302, 404)),
    Case("auth.decline_member", "POST", lambda p: f"{BASE}/{p.org_pending_id}/decline",
         _table(302, 404)),
    Case("auth.grant_org_admin", "POST", lambda p: f"{BASE}/{p.org_plain_id}/grant-admin",
         _table(302, 404)),
    Case("auth.revoke_org_admin", "POST", lambda p: f"{BASE}/{p.colleague.id}/revoke-admin",
         _table(302, 404)),
    # Another organisation's member, by id: not the actor's to know, even for its admin.
    Case("auth.grant_org_admin", "POST", lambda p: f"{BASE}/{p.manager.id}/grant-admin",
         _table(404, 404), name="foreign"),
]
