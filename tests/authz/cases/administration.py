"""Matrix entries for issue 12 §1's administration (platform admins only: people,
organisations, the join-request queue), a lab page's contact form (anyone signed in) and
"ask for proof" of an SME size class (the booking lab's managers and admins).

The targets come from the cast: ``member`` (Small Co, a small company), ``outsider``,
``sme_org``, the organisation cases' pending request ``org_pending_id`` and the lab-booking
cases' SME-rated pending booking ``lb_pending``.
"""

from __future__ import annotations

from tests.authz.cases.base import ACTORS, ADMIN_GET, ADMIN_POST, Case
from tests.authz.cases.lab_bookings import booking


def _user(p, action: str) -> str:
    return f"/admin/users/{p.member.id}/{action}"


def _org(p, action: str = "") -> str:
    return f"/admin/organisations/{p.sme_org.id}{'/' + action if action else ''}"


ORGANISATION = {"name": "Small Co", "kind": "company", "country": "DE", "city": "Aachen",
                "size_class": "small", "email_domain": ""}

CASES = [
    Case("admin.move", "POST", lambda p: f"/admin/users/{p.outsider.id}/move", ADMIN_POST,
         data=lambda p: {"organisation": "Small Co"}),
    Case("admin.deactivate", "POST", lambda p: _user(p, "deactivate"), ADMIN_POST),
    Case("admin.reactivate", "POST", lambda p: _user(p, "reactivate"), ADMIN_POST),
    Case("admin.resend_confirmation", "POST", lambda p: _user(p, "resend-confirmation"),
         ADMIN_POST),
    Case("admin.org_admin", "POST", lambda p: _user(p, "org-admin"), ADMIN_POST,
         data=lambda p: {"make_admin": "1"}),
    Case("admin.organisations", "GET", lambda p: "/admin/organisations", ADMIN_GET),
    Case("admin.organisation", "GET", lambda p: _org(p), ADMIN_GET),
    Case("admin.organisation", "POST", lambda p: _org(p), ADMIN_POST,
         data=lambda p: ORGANISATION),
    Case("admin.verify_size", "POST", lambda p: _org(p, "verify-size"), ADMIN_POST,
         data=lambda p: {"verified": "1"}),
    Case("admin.join_requests", "GET", lambda p: "/admin/join-requests", ADMIN_GET),
    Case("admin.approve_join", "POST",
         lambda p: f"/admin/join-requests/{p.org_pending_id}/approve", ADMIN_POST),
    Case("admin.decline_join", "POST",
         lambda p: f"/admin/join-requests/{p.org_pending_id}/decline", ADMIN_POST),
    # Anyone signed in writes to a published lab; visitors are sent to log in.
    Case("catalogue.contact_lab", "POST", lambda p: f"/labs/{p.lab.slug}/contact",
         dict.fromkeys(ACTORS, 302),
         data=lambda p: {"subject": "Matrix question", "message": "Can we visit next week?"}),
    # A draft is no one's to write to but its managers' and admins'.
    Case("catalogue.contact_lab", "POST", lambda p: f"/labs/{p.draft.slug}/contact",
         {a: (302 if a in ("anonymous", "manager", "admin") else 404) for a in ACTORS},
         data=lambda p: {"subject": "Matrix question", "message": "Can we visit next week?"},
         name="draft"),
    Case("lab_bookings.ask_proof", "POST", lambda p: f"/manage/bookings/{p.lb_pending}/ask-proof",
         booking(302)),
]
