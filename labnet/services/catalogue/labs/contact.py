"""A lab's public contact: who a message from its page reaches, and sending it.

Rules owned here (DESIGN rule 8, "nothing goes to nobody"):
- a message written on a lab's page reaches the lab's active managers
  (team.manager_addresses) or, for a lab without managers, its public e-mail address if
  the profile has one; with neither, the page says "this lab cannot be contacted through
  LabNet yet" before anyone writes and a message sent anyway is refused;
- only signed-in, active people write (permissions.can_contact_lab); the subject is one
  line of at most :data:`SUBJECT_MAX` characters, the message plain text of
  :data:`MESSAGE_MIN` to :data:`MESSAGE_MAX` characters; the route limits how many
  messages one account sends (``LAB_CONTACT_LIMIT_PER_USER``);
- answers go to the sender: their address is in the message and is its Reply-To; the
  sender receives a copy of what was sent and to whom (managers or public address, never
  the managers' addresses themselves).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from labnet.errors import RuleViolation
from labnet.extensions import db
from labnet.i18n import _, _l
from labnet.models import Lab, User
from labnet.permissions import can_contact_lab, require
from labnet.services.catalogue.labs import team
from labnet.services.common import audit
from labnet.services.common.text import clean_text
from labnet.services.notifications.outbox import enqueue_email

SUBJECT_MAX = 150
MESSAGE_MIN = 10
MESSAGE_MAX = 5000
NOBODY = _l("This lab cannot be contacted through LabNet yet: it has no manager on LabNet "
            "and no public e-mail address.")
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class ContactRoute:
    """Where a message to a lab goes: ``"managers"``, ``"public"`` (its public address)
    or ``"nobody"``; ``addresses`` are the receivers (never shown on a page)."""

    kind: str
    addresses: tuple[str, ...]

    @property
    def reachable(self) -> bool:
        """Whether anyone receives a message."""
        return bool(self.addresses)


def contact_route(lab: Lab) -> ContactRoute:
    """Who a message to ``lab`` reaches (one query)."""
    managers = team.manager_addresses(lab.id)
    if managers:
        return ContactRoute("managers", tuple(managers))
    public = (lab.contact_email or "").strip().lower()
    if public and _ADDRESS.match(public):
        return ContactRoute("public", (public,))
    return ContactRoute("nobody", ())


def send_contact_message(actor: User, lab: Lab, subject: str | None, message: str | None, *,
                         now: datetime) -> ContactRoute:
    """Send a message from ``lab``'s page to whoever receives its mail, and the sender a
    copy; returns the route taken.

    :raises PermissionDenied: for anonymous or inactive people, or a lab they cannot see.
    :raises RuleViolation: ``subject`` or ``message`` (empty, too long, control
        characters); field ``None`` when the lab cannot be contacted.
    """
    require(can_contact_lab, actor, lab)
    subject = clean_text(subject, "subject", label=_("The subject"), limit=SUBJECT_MAX,
                         required=_("Enter a subject."))
    text = clean_text(message, "message", label=_("The message"), limit=MESSAGE_MAX,
                      required=_("Write your message."), one_line=False)
    if len(text) < MESSAGE_MIN:
        raise RuleViolation("message", _("Write at least %(min)s characters, so the lab "
                                         "knows what you need.", min=MESSAGE_MIN))
    route = contact_route(lab)
    if not route.reachable:
        raise RuleViolation(None, str(NOBODY))
    context = {"lab": lab, "sender": actor, "organisation": actor.organisation,
               "topic": subject, "message": text, "route": route.kind}
    for address in route.addresses:
        enqueue_email("lab_contact", address, f"[LabNet] {subject}", context, now=now,
                      action_required=True, reply_to=actor.email,
                      why=_l("You receive this because you manage %(lab)s on LabNet.",
                             lab=lab.name)
                      if route.kind == "managers" else
                      _l("You receive this because %(email)s is %(lab)s's public contact on "
                         "LabNet; the lab has no manager on LabNet yet.", email=address,
                         lab=lab.name))
    enqueue_email("lab_contact_copy", actor.email,
                  _l("Your message to %(lab)s: %(subject)s", lab=lab.name, subject=subject),
                  context, now=now, action_required=True,
                  why=_l("You receive this because you wrote to %(lab)s through LabNet.",
                         lab=lab.name))
    audit.record(actor, "lab.contacted", "lab", lab.id, now=now, route=route.kind,
                 receivers=len(route.addresses), subject=subject)
    db.session.flush()
    return route
