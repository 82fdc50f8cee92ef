"""Matrix entries for creating labs (issue 12 §1): proposals, their decisions, the admins'
and coordinators' create page, the admins' list of labs and the pickers' suggestions.

In the cast only ``manager`` belongs to a lab-side organisation (Lab Owner Institute, an
RTO without organisation admins): they alone propose labs, and their pending proposal
(``lc_proposal_id``) is decided by LabNet admins; everyone else may not know it exists.
"""

from __future__ import annotations

from labnet import clock
from labnet.extensions import db
from labnet.models import User
from labnet.services.catalogue.labs import creation
from labnet.services.catalogue.labs.profile import LabProfile
from tests.authz.cases.base import ACTORS, ALL_OK, LOGGED_IN, Case, only

PROPOSED = "Matrix Proposed Lab"


def seed(app, people) -> None:
    with app.test_request_context():
        proposal = creation.propose_lab(
            db.session.get(User, people.manager.id),
            LabProfile(name=PROPOSED, kind_code="rto", country="DE", city="Aachen",
                       timezone="Europe/Berlin", lat=50.77, lon=6.08), now=clock.utcnow())
        db.session.commit()
        people.lc_proposal_id = proposal.id


def lab_fields(p, **changes):
    """A new lab placed by its coordinates (no geocoding)."""
    return {"name": "Matrix New Lab", "kind_code": "rto", "country": "DE", "city": "Aachen",
            "timezone": "Europe/Berlin", "lat": "50.77", "lon": "6.08", **changes}


def _proposal_table(ok: int) -> dict[str, int]:
    table = {a: 404 for a in ACTORS}
    table.update(anonymous=302, manager=403, admin=ok)
    return table


def _url(p) -> str:
    return f"/manage/proposals/{p.lc_proposal_id}"


CASES = [
    Case("lab_create.propose", "GET", lambda p: "/manage/propose",
         only(("manager",), 200, 403, anonymous=302)),
    Case("lab_create.propose", "POST", lambda p: "/manage/propose",
         only(("manager",), 302, 403, anonymous=302), data=lab_fields),
    Case("lab_create.proposals", "GET", lambda p: "/manage/proposals", LOGGED_IN,
         shows=lambda p: PROPOSED, seers=("admin",)),
    Case("lab_create.proposal", "GET", _url,
         only(("manager", "admin"), 200, 404, anonymous=302),
         shows=lambda p: PROPOSED, seers=("manager", "admin")),
    Case("lab_create.approve", "POST", lambda p: f"{_url(p)}/approve", _proposal_table(302)),
    Case("lab_create.decline", "POST", lambda p: f"{_url(p)}/decline", _proposal_table(302),
         data=lambda p: {"reason": "Not a lab of ours."}),
    Case("lab_create.create", "GET", lambda p: "/manage/new-lab",
         only(("coordinator", "admin"), 200, 403, anonymous=302)),
    Case("lab_create.create", "POST", lambda p: "/manage/new-lab",
         only(("coordinator", "admin"), 302, 403, anonymous=302),
         data=lambda p: lab_fields(p, organisation="Lab Owner Institute")),
    Case("lab_create.admin_labs", "GET", lambda p: "/admin/labs",
         only(("admin",), 200, 403, anonymous=302)),
    # Published labs only, the same for everyone: the draft never appears.
    Case("lab_create.suggest", "GET", lambda p: "/labs/suggest.json?q=lab", ALL_OK,
         shows=lambda p: "Draft Lab", seers=()),
]
