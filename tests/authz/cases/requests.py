"""Matrix entries for requests (``requests.*``).

``cast.request_ref`` is a submitted joint-project request of the member's organisation to
``cast.lab`` (managed by ``manager``), made through the service by :func:`seed`. Only the
parties see it — the member's organisation and the lab's managers — and admins (read
only: they are no party, so their actions get 403); ``outsider``, ``other_manager`` (of a
lab the request does not address) and ``coordinator`` (the dashboard shows aggregates
only) get 404 and nothing changes. Visitors are sent to log in.

Sending: members of company and academic organisations (``manager`` belongs to the lab's
research organisation, and sends as a customer too); the POST's empty title is refused.
"""

from __future__ import annotations

from labnet import clock
from labnet.extensions import db
from labnet.models import User
from tests.authz.cases.base import ACTORS, Case


def seed(app, people) -> None:
    from labnet.services.requests.workflow import NewRequest, create_request

    with app.test_request_context():
        req = create_request(
            db.session.get(User, people.member.id), NewRequest(
                kind="joint_project", lab_ids=[people.lab.id], title="Matrix project",
                summary="Matrix summary", ket_code="AMT", duration_months=12,
                funding_programme="Interreg", trl_now=3, trl_target=5),
            now=clock.utcnow())
        db.session.commit()
        people.request_ref = req.reference
        people.request_id = req.id


def _table(member: int, manager: int, admin: int) -> dict[str, int]:
    table = dict.fromkeys(ACTORS, 404)
    table.update(anonymous=302, member=member, manager=manager, admin=admin)
    return table


_SENDERS = dict.fromkeys(ACTORS, 200)
_SENDERS["anonymous"] = 302
_SEND_POST = dict.fromkeys(ACTORS, 422)
_SEND_POST["anonymous"] = 302
_INBOX = {a: (200 if a in ("manager", "other_manager", "admin") else 403) for a in ACTORS}
_INBOX["anonymous"] = 302
_LOGGED_IN = {a: (302 if a == "anonymous" else 200) for a in ACTORS}

CASES = [
    Case("requests.create", "GET", lambda p: f"/requests/new?kind=joint_project&lab={p.lab.slug}",
         _SENDERS),
    Case("requests.create", "GET", lambda p: f"/requests/new?lab={p.lab.slug}", _SENDERS,
         name="choose-kind"),
    Case("requests.create", "POST", lambda p: "/requests/new", _SEND_POST,
         data=lambda p: {"kind": "joint_project", "lab": p.lab.slug, "title": ""}),
    Case("requests.index", "GET", lambda p: "/requests", _LOGGED_IN),
    Case("requests.inbox", "GET", lambda p: "/requests/inbox", _INBOX),
    Case("requests.detail", "GET", lambda p: f"/requests/{p.request_ref}", _table(200, 200, 200)),
    Case("requests.detail", "GET", lambda p: f"/requests/{p.request_id}", _table(200, 200, 200),
         name="by-id"),
    Case("requests.detail", "GET", lambda p: "/requests/RQ-2026-999999",
         _table(404, 404, 404), name="missing"),
    Case("requests.post_message", "POST", lambda p: f"/requests/{p.request_ref}/messages",
         _table(302, 302, 403), data=lambda p: {"body": "Matrix message"}),
    Case("requests.answer", "POST", lambda p: f"/requests/{p.request_ref}/answer",
         _table(403, 302, 403), data=lambda p: {"lab": str(p.lab.id), "decision": "accept"}),
    Case("requests.review", "POST", lambda p: f"/requests/{p.request_ref}/review",
         _table(403, 302, 403)),
    Case("requests.confirm", "POST", lambda p: f"/requests/{p.request_ref}/confirm",
         _table(422, 403, 403)),
    Case("requests.withdraw", "POST", lambda p: f"/requests/{p.request_ref}/withdraw",
         _table(302, 403, 403)),
    Case("requests.complete", "POST", lambda p: f"/requests/{p.request_ref}/complete",
         _table(422, 422, 403)),
]
