"""What the navigation bar shows a signed-in user: whether they manage a lab and the badges
(open network invitations, requests waiting in the inbox), read in one query so a page
that shows a badge several times still asks the database once (templating caches the
answer for the request)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, func, select

from labnet.extensions import db
from labnet.models import LabManager, User
from labnet.services.accounts.rules import list_join_requests
from labnet.services.booking.engine import count_pending_for_manager
from labnet.services.networks.rules import count_pending_invitations
from labnet.services.requests.workflow import count_open_inbox


@dataclass(frozen=True)
class NavCounts:
    """Whether the user manages a lab (or is an admin), and the navigation's badges:
    pending network invitations and open requests in the inbox."""

    manages: bool = False
    invitations: int = 0
    inbox: int = 0


def nav_counts(user: User | None) -> NavCounts:
    """The navigation's flags and badge counts for ``user`` (all zero for a visitor)."""
    if user is None or not user.is_active:
        return NavCounts()
    manages, invitations, inbox = db.session.execute(select(
        exists().where(LabManager.user_id == user.id),
        count_pending_invitations(user.id).scalar_subquery(),
        count_open_inbox(user.id).scalar_subquery(),
    )).one()
    return NavCounts(manages=bool(manages) or user.is_admin, invitations=int(invitations or 0),
                     inbox=int(inbox or 0))


def landing_endpoint(user: User) -> str:
    """Where ``user`` lands after logging in when no page asked for them (``next``): where
    their work waits (DESIGN rule 8: what was sent to them reaches them), else home.

    In this order: a lab manager with bookings waiting for a decision lands on the queue;
    then on open network invitations of their labs; then on requests waiting in their
    inbox; an organisation admin with join requests on the members page; anyone else on
    the home page.
    """
    if db.session.scalar(select(exists().where(LabManager.user_id == user.id))):
        if count_pending_for_manager(user):
            return "lab_bookings.queue"
        counts = nav_counts(user)
        if counts.invitations:
            return "networks.invitations"
        if counts.inbox:
            return "requests.inbox"
    if user.is_org_admin and db.session.scalar(
            select(func.count()).select_from(list_join_requests(user).subquery())):
        return "auth.members"
    return "main.index"
