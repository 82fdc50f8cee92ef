"""Who receives what is sent to a lab, said before it is sent (DESIGN rule 8).

Rules owned here:

- a *managed* lab (services.catalogue.labs.team) receives through its active managers,
  who answer on LabNet;
- an unmanaged lab with a public contact e-mail (``Lab.contact_email``) receives a request
  or an invitation at that address, with the text and a link to claim the lab on LabNet
  (:func:`claim_url`, the lab page's ``#claim`` box); once claimed, its new managers find
  the request in their inbox (the inbox is read by lab, not by recipient);
- a lab with neither is refused before sending (:func:`require_reachable`), in words that
  say why and what to do instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from labnet.errors import RuleViolation
from labnet.i18n import _, ngettext
from labnet.links import external_url
from labnet.models import Lab
from labnet.services.catalogue.labs.team import managed_lab_ids

MANAGERS, CONTACT, NOBODY = "managers", "contact", "nobody"


@dataclass(frozen=True)
class Reach:
    """How a lab receives what is sent to it: ``kind`` is managers, contact or nobody;
    ``address`` the public contact e-mail for ``contact``."""

    lab: Lab
    kind: str
    address: str = ""

    @property
    def words(self) -> str:
        """For the page, before sending."""
        if self.kind == MANAGERS:
            return _("Goes to the lab's managers, who answer on LabNet.")
        if self.kind == CONTACT:
            return _("Not yet managed on LabNet: goes to the lab's public e-mail %(email)s, "
                     "asking them to claim the lab on LabNet to answer.", email=self.address)
        return _("Not yet managed on LabNet and no public e-mail: nobody would receive it, so "
                 "it cannot be sent.")


def reach_of(labs: Iterable[Lab]) -> dict[int, Reach]:
    """Each lab's :class:`Reach` by id (one query)."""
    labs = list(labs)
    managed = managed_lab_ids(lab.id for lab in labs)
    out: dict[int, Reach] = {}
    for lab in labs:
        if lab.id in managed:
            out[lab.id] = Reach(lab, MANAGERS)
        elif (lab.contact_email or "").strip():
            out[lab.id] = Reach(lab, CONTACT, lab.contact_email.strip())
        else:
            out[lab.id] = Reach(lab, NOBODY)
    return out


def require_reachable(reach: Iterable[Reach], *, field: str, what: str) -> None:
    """:raises RuleViolation: on ``field`` naming each lab nobody would receive ``what``
    at (the request or invitation is not sent, nothing is written)."""
    nobody = [r.lab.name for r in reach if r.kind == NOBODY]
    if nobody:
        names = ", ".join(nobody)
        if what == "request":
            message = ngettext(
                "Nobody would receive this request: %(names)s is not managed on LabNet and "
                "publishes no e-mail address. Use “Tell me when” on the lab's page to hear "
                "when it can be reached.",
                "Nobody would receive this request: %(names)s are not managed on LabNet and "
                "publish no e-mail address. Use “Tell me when” on the lab's page to hear "
                "when it can be reached.", len(nobody), names=names)
        elif what == "invitation":
            message = ngettext(
                "Nobody would receive this invitation: %(names)s is not managed on LabNet and "
                "publishes no e-mail address. Use “Tell me when” on the lab's page to hear "
                "when it can be reached.",
                "Nobody would receive this invitation: %(names)s are not managed on LabNet "
                "and publish no e-mail address. Use “Tell me when” on the lab's page to hear "
                "when it can be reached.", len(nobody), names=names)
        else:
            message = ngettext(
                "Nobody would receive this %(what)s: %(names)s is not managed on LabNet and "
                "publishes no e-mail address. Use “Tell me when” on the lab's page to hear "
                "when it can be reached.",
                "Nobody would receive this %(what)s: %(names)s are not managed on LabNet and "
                "publish no e-mail address. Use “Tell me when” on the lab's page to hear "
                "when it can be reached.", len(nobody), names=names, what=what)
        raise RuleViolation(field, message)


def claim_url(lab: Lab) -> str:
    """The lab page's claim box, for mail to a lab's public address."""
    return external_url("catalogue.lab", slug=lab.slug, _anchor="claim")
