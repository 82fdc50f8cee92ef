"""Matrix entries for the value-chain networks (``networks.*``, issue 6).

``seed`` gives the matrix coordinator two networks: ``mx-public`` (the matrix lab accepted
on stage 1, the other lab invited to stage 2) and ``mx-hidden``, members-only (the matrix
lab accepted). Rules: everyone sees a public network; a members-only one is seen only by
its coordinators, the managers of its member labs and admins — everyone else gets 404.
Running a network (manage, edit, stages, invitations, gaps) is for its coordinators and
admins: 403 on a network one sees, 404 on one one does not; visitors are sent to log in.
Invitations are answered by the invited lab's managers and admins (404 for everyone else).
"""

from __future__ import annotations

from labnet import clock
from labnet.extensions import db
from labnet.models import Lab, User
from labnet.services.networks import rules as nw
from tests.authz.cases.base import ACTORS, ALL_OK, HIDDEN_SEERS, LOGGED_IN, Case

RUNNERS = ("coordinator", "admin")


def seed(app, p) -> None:
    with app.test_request_context():
        now = clock.utcnow()
        db.session.add(Lab(organisation_id=p.other_lab.organisation_id, slug="matrix-extra-lab",
                           name="Matrix Extra Lab", kind_code="rto", country="FR",
                           city="Lyon", lat=45.76, lon=4.84, is_published=True,
                           # unmanaged: invitations reach it at its public address (rule 8)
                           contact_email="info@matrix-extra.example"))
        coordinator = db.session.get(User, p.coordinator.id)
        admin = db.session.get(User, p.admin.id)
        lab = db.session.get(Lab, p.lab.id)
        other = db.session.get(Lab, p.other_lab.id)
        public = nw.create_network(coordinator, nw.NetworkFields(
            name="Matrix public", slug="mx-public", ecosystem="digital"), now=now)
        s1 = nw.add_stage(coordinator, public, nw.StageFields(name="One", ket_codes=("AMT",)),
                          now=now)
        s2 = nw.add_stage(coordinator, public, nw.StageFields(name="Two", ket_codes=("AMN",)),
                          now=now)
        accepted = nw.invite(coordinator, public, s1.id, lab.slug, "", now=now)
        nw.answer_invitation(admin, accepted.id, True, "", now=now)
        pending = nw.invite(coordinator, public, s2.id, other.slug, "", now=now)
        hidden = nw.create_network(coordinator, nw.NetworkFields(
            name="Matrix hidden", slug="mx-hidden", ecosystem="digital",
            visibility="members"), now=now)
        h1 = nw.add_stage(coordinator, hidden, nw.StageFields(name="Hidden one"), now=now)
        h_member = nw.invite(coordinator, hidden, h1.id, lab.slug, "", now=now)
        nw.answer_invitation(admin, h_member.id, True, "", now=now)
        db.session.commit()
        p.nw_s1, p.nw_s2, p.nw_h1 = s1.id, s2.id, h1.id
        p.nw_accepted, p.nw_pending = accepted.id, pending.id


def run(ok: int, *, hidden: bool = False) -> dict[str, int]:
    """A coordinators' page: ``ok`` for runners, 302 for visitors; on the public network
    403 for everyone else; on the hidden one 403 for those who see it, 404 for the rest."""
    table = {}
    for a in ACTORS:
        if a in RUNNERS:
            table[a] = ok
        elif hidden and a not in HIDDEN_SEERS:
            table[a] = 404
        else:
            table[a] = 403
    table["anonymous"] = 302
    return table


HIDDEN_VIEW = {a: (200 if a in HIDDEN_SEERS else 404) for a in ACTORS}
CREATE = {a: (200 if a in RUNNERS else 403) for a in ACTORS} | {"anonymous": 302}


def answerers(ok: int, *, lab: str) -> dict[str, int]:
    table = {a: (ok if a in (lab, "admin") else 404) for a in ACTORS}
    table["anonymous"] = 302
    return table


def _net(slug: str, rest: str = "") -> str:
    return f"/networks/{slug}{rest}"


NETWORK_FORM = {"name": "Matrix public", "slug": "mx-public", "description": "",
                "ket_code": "", "ecosystem": "digital", "visibility": "public"}

CASES = [
    Case("networks.index", "GET", lambda p: "/networks", ALL_OK,
         shows=lambda p: "Matrix hidden", seers=HIDDEN_SEERS),
    Case("networks.create", "GET", lambda p: "/networks/new", CREATE),
    Case("networks.create", "POST", lambda p: "/networks/new",
         {a: (302 if a in RUNNERS else 403) for a in ACTORS} | {"anonymous": 302},
         data=lambda p: {**NETWORK_FORM, "name": "Matrix new", "slug": ""}),
    Case("networks.create", "POST", lambda p: "/networks/new",
         {a: (422 if a in RUNNERS else 403) for a in ACTORS} | {"anonymous": 302},
         data=lambda p: {**NETWORK_FORM, "name": ""}, name="invalid"),
    Case("networks.show", "GET", lambda p: _net("mx-public"), ALL_OK, name="public",
         shows=lambda p: "Matrix Lab", seers=ACTORS),
    Case("networks.show", "GET", lambda p: _net("mx-hidden"), HIDDEN_VIEW, name="hidden",
         shows=lambda p: "Matrix Lab", seers=HIDDEN_SEERS),
    Case("networks.show", "GET", lambda p: _net("no-such-network"),
         dict.fromkeys(ACTORS, 404), name="missing"),
    Case("networks.map_json", "GET", lambda p: _net("mx-public", "/map.json"), ALL_OK,
         name="public"),
    Case("networks.map_json", "GET", lambda p: _net("mx-hidden", "/map.json"), HIDDEN_VIEW,
         name="hidden", shows=lambda p: "Matrix Lab", seers=HIDDEN_SEERS),
    Case("networks.manage", "GET", lambda p: _net("mx-public", "/manage"), run(200),
         name="public"),
    Case("networks.manage", "GET", lambda p: _net("mx-hidden", "/manage"),
         run(200, hidden=True), name="hidden"),
    Case("networks.edit", "GET", lambda p: _net("mx-public", "/edit"), run(200)),
    Case("networks.edit", "POST", lambda p: _net("mx-public", "/edit"), run(302),
         data=lambda p: NETWORK_FORM),
    Case("networks.edit", "POST", lambda p: _net("mx-hidden", "/edit"),
         run(422, hidden=True), data=lambda p: {**NETWORK_FORM, "name": "", "slug": ""},
         name="hidden-invalid"),
    Case("networks.add_stage", "POST", lambda p: _net("mx-public", "/stages"), run(302),
         data=lambda p: {"name": "Three", "keywords": "testing"}),
    Case("networks.add_stage", "POST", lambda p: _net("mx-public", "/stages"), run(422),
         data=lambda p: {"name": ""}, name="invalid"),
    Case("networks.edit_stage", "GET",
         lambda p: _net("mx-public", f"/stages/{p.nw_s1}/edit"), run(200)),
    Case("networks.edit_stage", "POST",
         lambda p: _net("mx-public", f"/stages/{p.nw_s1}/edit"), run(302),
         data=lambda p: {"name": "One", "ket_codes": ["AMT"]}),
    Case("networks.edit_stage", "GET",
         lambda p: _net("mx-public", f"/stages/{p.nw_h1}/edit"), run(404),
         name="other-network"),
    Case("networks.move_stage", "POST",
         lambda p: _net("mx-public", f"/stages/{p.nw_s1}/move"), run(302),
         data=lambda p: {"direction": "down"}),
    Case("networks.retire_stage", "POST",
         lambda p: _net("mx-public", f"/stages/{p.nw_s2}/retire"), run(302)),
    Case("networks.invite", "POST", lambda p: _net("mx-public", "/invite"), run(302),
         data=lambda p: {"stage_id": str(p.nw_s2), "lab": "matrix-extra-lab",
                         "message": "Join us"}),
    Case("networks.invite", "POST", lambda p: _net("mx-public", "/invite"), run(409),
         data=lambda p: {"stage_id": str(p.nw_s2), "lab": p.lab.slug, "message": ""},
         name="already-member"),
    Case("networks.invite", "POST", lambda p: _net("mx-hidden", "/invite"),
         run(302, hidden=True),
         data=lambda p: {"stage_id": str(p.nw_h1), "lab": "matrix-extra-lab",
                         "message": ""}, name="hidden"),
    Case("networks.remove_member", "POST",
         lambda p: _net("mx-public", f"/members/{p.nw_pending}/remove"), run(302)),
    Case("networks.add_coordinator", "POST", lambda p: _net("mx-public", "/coordinators"),
         run(302), data=lambda p: {"email": p.admin.email}),
    Case("networks.add_coordinator", "POST", lambda p: _net("mx-public", "/coordinators"),
         run(422), data=lambda p: {"email": p.member.email}, name="not-a-coordinator"),
    Case("networks.gaps", "GET", lambda p: _net("mx-public", "/gaps"), run(200),
         name="public"),
    Case("networks.gaps", "GET", lambda p: _net("mx-hidden", "/gaps"), run(200, hidden=True),
         name="hidden"),
    Case("networks.invitations", "GET", lambda p: "/networks/invitations", LOGGED_IN),
    Case("networks.answer", "POST",
         lambda p: f"/networks/invitations/{p.nw_pending}/answer",
         answerers(302, lab="other_manager"),
         data=lambda p: {"answer": "accept", "answer_message": "Yes"}),
    Case("networks.answer", "POST",
         lambda p: f"/networks/invitations/{p.nw_accepted}/answer",
         answerers(409, lab="manager"),
         data=lambda p: {"answer": "decline", "answer_message": ""}, name="answered"),
    Case("networks.leave", "POST",
         lambda p: f"/networks/memberships/{p.nw_accepted}/leave",
         answerers(302, lab="manager")),
]
