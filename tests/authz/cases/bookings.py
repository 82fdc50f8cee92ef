"""Matrix entries for the company member's booking pages (``bookings.*``).

Only the requesting organisation (``member``) and the lab's managers (``manager``, admins)
see a booking; everyone else gets 404, visitors are sent to log in. The calendar data is
public like the equipment page. The one-click cancel link needs no login: its signed token
stands for the requester. ``cast.booking`` is a pending booking of the member's
organisation on ``cast.equipment`` (see :func:`add_member_booking`).
"""

from __future__ import annotations

from datetime import time, timedelta

from labnet import clock
from labnet.extensions import db
from labnet.models import Equipment, OpeningHours, User
from labnet.services.booking import reminders
from tests.authz.cases.base import ACTORS, ALL_OK, LOGGED_IN, MANAGERS_ONLY_404, Case


def add_member_booking(app, people) -> None:
    """Give ``people`` a pending booking of ``people.member`` on ``people.equipment``
    (through the service), ``booking_id``, ``booking_ref`` and ``cancel_token``.

    Opening hours are added only if the lab has none, and the slot is the first bookable
    one the calendar offers a week ahead, so other blocks of the cast may set hours too.
    """
    from sqlalchemy import exists, select
    from sqlalchemy.orm import joinedload

    from labnet.services.booking.availability import week_view
    from labnet.services.booking.engine import request_booking

    with app.test_request_context():
        now = clock.utcnow()
        if not db.session.scalar(select(exists().where(OpeningHours.lab_id == people.lab.id))):
            for day in range(7):
                db.session.add(OpeningHours(lab_id=people.lab.id, weekday=day,
                                            opens_at=time(8),
                                            closes_at=time(18)))
            db.session.flush()
        item = db.session.scalars(select(Equipment).options(joinedload(Equipment.lab))
                                  .where(Equipment.id == people.equipment.id)).one()
        slot = next(s for week in (7, 14, 21)
                    for d in week_view(item, (now + timedelta(days=week)).date(), now=now).days
                    for s in d.slots if s.bookable)
        booking = request_booking(db.session.get(User, people.member.id), item.id, slot.start,
                                  slot.end, "Matrix booking", now=now)
        db.session.commit()
        people.booking_id = booking.id
        people.cancel_token = reminders.cancel_token(booking)


def _seen_by(ok: int) -> dict[str, int]:
    """``ok`` for the member's organisation, the lab's managers and admins; 404 for the
    rest; visitors go to log in."""
    table = {a: (ok if a in ("member", "manager", "admin") else 404) for a in ACTORS}
    table["anonymous"] = 302
    return table


def _login_then(ok: int) -> dict[str, int]:
    return {a: (302 if a == "anonymous" else ok) for a in ACTORS}


_DRAFT_FORM = {a: (200 if a in ("manager", "admin") else 404) for a in ACTORS}
_DRAFT_FORM["anonymous"] = 302

CASES = [
    Case("bookings.create", "GET", lambda p: f"/equipment/{p.equipment.id}/book", LOGGED_IN),
    Case("bookings.create", "GET", lambda p: f"/equipment/{p.draft_equipment.id}/book",
         _DRAFT_FORM, name="draft-lab"),
    Case("bookings.create", "POST", lambda p: f"/equipment/{p.equipment.id}/book",
         _login_then(422), data=lambda p: {"start_at": "", "end_at": "", "purpose": ""}),
    Case("bookings.availability_json", "GET",
         lambda p: f"/equipment/{p.equipment.id}/availability.json", ALL_OK),
    Case("bookings.availability_json", "GET",
         lambda p: f"/equipment/{p.draft_equipment.id}/availability.json", MANAGERS_ONLY_404,
         name="draft-lab"),
    Case("bookings.index", "GET", lambda p: "/bookings", LOGGED_IN),
    Case("bookings.detail", "GET", lambda p: f"/bookings/{p.booking_id}", _seen_by(200)),
    Case("bookings.ics", "GET", lambda p: f"/bookings/{p.booking_id}.ics", _seen_by(200)),
    Case("bookings.cancel", "POST", lambda p: f"/bookings/{p.booking_id}/cancel",
         _seen_by(302), data=lambda p: {"reason": "Matrix check"}),
    Case("bookings.cancel_link", "GET", lambda p: f"/bookings/cancel/{p.cancel_token}",
         ALL_OK),
    Case("bookings.cancel_link", "GET", lambda p: "/bookings/cancel/forged-token",
         dict.fromkeys(ACTORS, 400), name="forged"),
    Case("bookings.cancel_link", "POST", lambda p: f"/bookings/cancel/{p.cancel_token}",
         ALL_OK),
    Case("bookings.cancel_link", "POST", lambda p: "/bookings/cancel/forged-token",
         dict.fromkeys(ACTORS, 400), name="forged"),
]
