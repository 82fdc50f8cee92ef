"""Calendar feeds (iCalendar, RFC 5545): who gets which secret URL, and what it contains.

Rules owned here:
- DESIGN rule 6: an organisation feed lists only that organisation's bookings; an
  equipment feed exists only for managers of its lab (and admins). The right is checked
  again on every fetch, so a member who left or a manager who lost the lab gets 404.
- A feed URL is a secret its owner can regenerate: the old row is revoked (compare-and-set
  on ``revoked_at``) and a new one made. The token is ``HMAC(SECRET_KEY, feed id)``: only
  its sha256 is stored (a leaked table opens no feed), yet the account page can show the
  URL again on every visit. A changed SECRET_KEY changes the token, so the page makes a
  fresh feed (old URLs then keep working until regenerated).
- Entries: ``UID booking-<id>@labnet`` and ``SEQUENCE`` = ``booking.sequence`` (bumped by
  every booking change), so a client updates an entry instead of duplicating it; times in
  the lab's zone with ``TZID`` and a ``VTIMEZONE``; pending is TENTATIVE, confirmed and
  completed CONFIRMED, everything else CANCELLED so clients remove it (DESIGN rule 3).
- DESIGN rule 7: text values are escaped by the icalendar library, never markup.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import joinedload

from labnet import security
from labnet.errors import NotFound
from labnet.extensions import db
from labnet.i18n import _, force_locale, language_of
from labnet.models import Equipment, EquipmentStatus, Lab, LabManager, User
from labnet.models.booking import BOOKING_STATUS_LABELS, Booking, BookingStatus
from labnet.models.user import CalendarFeed
from labnet.permissions import can_manage_lab
from labnet.services.training.calendar import add_registered_events

PAST_DAYS = 30
MAX_ENTRIES = 5000
ICAL_STATUS: dict[str, str] = {
    BookingStatus.PENDING: "TENTATIVE",
    BookingStatus.CONFIRMED: "CONFIRMED",
    BookingStatus.COMPLETED: "CONFIRMED",
    BookingStatus.NO_SHOW: "CONFIRMED",
}


@dataclass(frozen=True)
class FeedLink:
    """A feed with its secret URL token and the label the page shows for it."""

    feed: CalendarFeed
    token: str
    label: str


def feed_token(feed: CalendarFeed, secret: str) -> str:
    """The feed's secret URL token (reproducible from the row and the secret key)."""
    mac = hmac.new(secret.encode(), f"labnet.calendar-feed:{feed.id}".encode(), hashlib.sha256)
    return mac.hexdigest()


def _create(user: User, kind: str, equipment_id: int | None, *, secret: str,
            now: datetime) -> CalendarFeed:
    # The id is part of the token, so the row is written with a random placeholder first.
    feed = CalendarFeed(token_hash=security.token_hash(secrets.token_urlsafe(32)), kind=kind,
                        user_id=user.id, organisation_id=user.organisation_id,
                        equipment_id=equipment_id, created_at=now)
    db.session.add(feed)
    db.session.flush()
    feed.token_hash = security.token_hash(feed_token(feed, secret))
    db.session.flush()
    return feed


def _revoke(feed: CalendarFeed, now: datetime) -> bool:
    # An UPDATE answers a CursorResult (its rowcount); Session.execute is typed as any Result.
    done = cast(CursorResult[Any], db.session.execute(
        update(CalendarFeed).where(CalendarFeed.id == feed.id, CalendarFeed.revoked_at.is_(None))
        .values(revoked_at=now).execution_options(synchronize_session=False)))
    return done.rowcount == 1


def _feed_equipment(user: User) -> list[Equipment]:
    # Labs the user manages by name (an admin's listing would be every lab on the platform;
    # admins get feeds for the labs they manage, like anyone).
    return list(db.session.scalars(
        select(Equipment).join(Lab, Lab.id == Equipment.lab_id)
        .join(LabManager, LabManager.lab_id == Lab.id)
        .options(joinedload(Equipment.lab))
        .where(LabManager.user_id == user.id, Equipment.status != EquipmentStatus.RETIRED)
        .order_by(Lab.name, Equipment.name, Equipment.id)
    ).unique())


def ensure_feeds(actor: User, *, secret: str, now: datetime) -> list[FeedLink]:
    """The actor's feeds, made on first use: their organisation's, then one per equipment
    of each lab they manage. Writes (first visit): the caller commits.

    :raises NotFound: for an anonymous actor.
    """
    if not isinstance(actor, User):
        raise NotFound("calendar")
    active = {(f.kind, f.equipment_id): f for f in db.session.scalars(
        select(CalendarFeed).where(CalendarFeed.user_id == actor.id,
                                   CalendarFeed.revoked_at.is_(None))
        .order_by(CalendarFeed.id.desc()))}
    wanted: list[tuple[str, Equipment | None, str]] = [
        ("organisation", None, _("Bookings of %(organisation)s",
                                 organisation=actor.organisation.name))]
    wanted += [("equipment", e, f"{e.name} ({e.lab.name})") for e in _feed_equipment(actor)]
    links = []
    for kind, equipment, label in wanted:
        feed = active.get((kind, equipment.id if equipment else None))
        if feed is not None and feed.token_hash != security.token_hash(feed_token(feed, secret)):
            _revoke(feed, now)  # the secret key changed: its URL cannot be shown again
            feed = None
        if feed is None:
            feed = _create(actor, kind, equipment.id if equipment else None, secret=secret,
                           now=now)
        links.append(FeedLink(feed, feed_token(feed, secret), label))
    return links


def regenerate_feed(actor: User, feed_id: int, *, secret: str, now: datetime) -> CalendarFeed:
    """Revoke one of the actor's feeds and make its replacement (a new secret URL).

    :raises NotFound: unless ``feed_id`` is an active feed of the actor's.
    """
    feed = db.session.scalar(select(CalendarFeed).where(
        CalendarFeed.id == feed_id, CalendarFeed.user_id == getattr(actor, "id", None),
        CalendarFeed.revoked_at.is_(None)))
    if feed is None or not _revoke(feed, now):
        raise NotFound(feed_id)
    return _create(actor, feed.kind, feed.equipment_id, secret=secret, now=now)


def feed_for_token(token: str) -> CalendarFeed | None:
    """The active feed behind ``token`` if its owner still has the right to it."""
    if not token or len(token) > 200:
        return None
    feed = db.session.scalar(select(CalendarFeed).where(
        CalendarFeed.token_hash == security.token_hash(token),
        CalendarFeed.revoked_at.is_(None)))
    if feed is None:
        return None
    owner = db.session.get(User, feed.user_id)
    if owner is None or not owner.is_active:
        return None
    if feed.kind == "organisation":
        return feed if owner.organisation_id == feed.organisation_id else None

    equipment = db.session.get(Equipment, feed.equipment_id)
    # get_one: the foreign key guarantees the lab.
    if equipment is None or not can_manage_lab(owner, db.session.get_one(Lab, equipment.lab_id)):
        return None
    return feed


def _event(booking: Booking, feed: CalendarFeed, stamp: datetime) -> icalendar.Event:
    zone = ZoneInfo(booking.lab.timezone or "UTC")
    event = icalendar.Event()
    event.add("uid", f"booking-{booking.id}@labnet")
    event.add("sequence", booking.sequence)
    event.add("dtstamp", stamp)
    event.add("last-modified", booking.updated_at.astimezone(UTC))
    event.add("dtstart", booking.start_at.astimezone(zone))
    event.add("dtend", booking.end_at.astimezone(zone))
    event.add("status", ICAL_STATUS.get(booking.status, "CANCELLED"))
    pending = booking.status == BookingStatus.PENDING
    names = {"equipment": booking.equipment.name, "lab": booking.lab.name,
             "organisation": booking.organisation.name}
    if feed.kind == "organisation":
        summary = (_("%(equipment)s at %(lab)s (request)", **names) if pending
                   else _("%(equipment)s at %(lab)s", **names))
    else:
        summary = (_("%(equipment)s: %(organisation)s (request)", **names) if pending
                   else _("%(equipment)s: %(organisation)s", **names))
    event.add("summary", summary)
    event.add("location", ", ".join(x for x in (booking.lab.name, booking.lab.city) if x))
    status = str(BOOKING_STATUS_LABELS.get(booking.status, booking.status))
    event.add("description", _("%(ref)s (%(status)s)\nPurpose: %(purpose)s",
                               ref=booking.reference, status=status, purpose=booking.purpose))
    return event


def build_calendar(feed: CalendarFeed, *, now: datetime) -> bytes:
    """The feed's VCALENDAR: its bookings ending from :data:`PAST_DAYS` days ago on, written
    in the language of the feed's owner (a calendar client fetches it without a session)."""
    with force_locale(language_of(db.session.get(User, feed.user_id))):
        return _build_calendar(feed, now=now)


def _build_calendar(feed: CalendarFeed, *, now: datetime) -> bytes:
    stmt = (select(Booking)
            .options(joinedload(Booking.equipment), joinedload(Booking.lab),
                     joinedload(Booking.organisation))
            .where(Booking.end_at >= now - timedelta(days=PAST_DAYS))
            .order_by(Booking.start_at, Booking.id).limit(MAX_ENTRIES))
    if feed.kind == "organisation":
        stmt = stmt.where(Booking.organisation_id == feed.organisation_id)
        name = _("LabNet bookings")
    else:
        stmt = stmt.where(Booking.equipment_id == feed.equipment_id)
        equipment = db.session.get(Equipment, feed.equipment_id)
        name = _("LabNet: %(equipment)s",
                 equipment=equipment.name if equipment else _("equipment"))
    cal = icalendar.Calendar()
    cal.add("prodid", "-//LabNet//Bookings//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    stamp = now.astimezone(UTC)
    for booking in db.session.scalars(stmt).unique():
        cal.add_component(_event(booking, feed, stamp))
    if feed.kind == "organisation":
        # The owner's own event registrations beside the bookings.
        add_registered_events(cal, feed.user_id, now=now)
    cal.add_missing_timezones()
    return cal.to_ical()
