"""Matrix entries for claiming labs, the claims queue, the managers page and invitations.

The cast adds an approval claim by ``outsider`` of ``matrix-extra-lab`` (unmanaged, in no
network: only admins decide it; cases/networks makes the lab) and an open invitation to
the matrix lab's team. The matrix lab is managed, so every claim of it is refused (422)
with nothing written; the managers page refuses the last manager's leaving (a flash, 302).
"""

from __future__ import annotations

from sqlalchemy import select

from labnet import clock
from labnet.extensions import db
from labnet.models import Lab, User
from labnet.services.catalogue.labs import claims, invitations
from tests.authz.cases.base import ACTORS, ALL_OK, MANAGERS_ONLY_404, Case, only
from tests.authz.cases.manage import managed

PASSWORD = "violet lantern 42"
LOGGED_IN_422 = {a: (302 if a == "anonymous" else 422) for a in ACTORS}


def seed(app, people) -> None:
    with app.test_request_context():
        now = clock.utcnow()
        extra = db.session.scalar(select(Lab).where(Lab.slug == "matrix-extra-lab"))
        claim = claims.ask_approval(db.session.get(User, people.outsider.id), extra,
                                    "I run this lab.", now=now)
        invitation = invitations.invite_manager(
            db.session.get(User, people.manager.id), db.session.get(Lab, people.lab.id),
            "invited@labowner.example", "", handover=False, now=now)
        db.session.commit()
        people.team_claim_id, people.team_invitation_id = claim.id, invitation.id


def _claim(p) -> str:
    return f"/labs/{p.lab.slug}/claim"


def _team(p) -> str:
    return f"/manage/labs/{p.lab.slug}/managers"


REGISTER = {"full_name": "Anna Weber", "email": "anna@matrix.example", "password": PASSWORD,
            "password_confirm": PASSWORD}

CASES = [
    Case("team.claim", "GET", _claim, ALL_OK),
    Case("team.claim", "GET", lambda p: f"/labs/{p.draft.slug}/claim", MANAGERS_ONLY_404,
         name="draft"),
    Case("team.claim_domain", "POST", lambda p: f"{_claim(p)}/domain", LOGGED_IN_422,
         data=lambda p: {"email": "someone@matrix.example"}),
    Case("team.claim_register", "POST", lambda p: f"{_claim(p)}/register",
         {a: (422 if a == "anonymous" else 302) for a in ACTORS}, data=lambda p: REGISTER),
    Case("team.claim_approval", "POST", lambda p: f"{_claim(p)}/approval", LOGGED_IN_422,
         data=lambda p: {"reason": "I work there."}),
    Case("team.confirm_claim", "GET", lambda p: "/claims/confirm/not-a-token",
         dict.fromkeys(ACTORS, 400)),
    Case("team.claims_queue", "GET", lambda p: "/claims",
         only(("coordinator", "admin"), 200, 403, anonymous=302),
         shows=lambda p: "I run this lab.", seers=("admin",)),
    Case("team.decide_claim", "POST", lambda p: f"/claims/{p.team_claim_id}/decide",
         {**only(("admin",), 302, 403, anonymous=302), "coordinator": 404},
         data=lambda p: {"decision": "decline", "reason": "Unknown to us."}),
    Case("team.managers", "GET", _team, managed(200),
         shows=lambda p: "invited@labowner.example", seers=("manager", "admin")),
    Case("team.managers", "GET", lambda p: f"/manage/labs/{p.draft.slug}/managers",
         managed(200, hidden=True), name="draft"),
    Case("team.invite", "POST", lambda p: f"{_team(p)}/invite", managed(302),
         data=lambda p: {"email": "new@labowner.example"}),
    Case("team.remove", "POST", lambda p: f"{_team(p)}/{p.manager.id}/remove", managed(302)),
    Case("team.leave", "POST", lambda p: f"{_team(p)}/leave", {**managed(302), "admin": 403}),
    Case("team.cancel_invitation", "POST",
         lambda p: f"{_team(p)}/invitations/{p.team_invitation_id}/cancel", managed(302)),
    Case("team.invitation", "GET", lambda p: "/team/invitation/not-a-token",
         dict.fromkeys(ACTORS, 400)),
    Case("team.accept_invitation", "POST", lambda p: "/team/invitation/not-a-token/accept",
         {a: (302 if a == "anonymous" else 400) for a in ACTORS}),
    Case("team.register_invitation", "POST",
         lambda p: "/team/invitation/not-a-token/register",
         {a: (400 if a == "anonymous" else 302) for a in ACTORS},
         data=lambda p: {k: v for k, v in REGISTER.items() if k != "email"}),
]
