"""Matrix entries for the manager's booking pages (``lab_bookings.*``) and the e-mail
preference (``mail_settings.*``).

Bookings: the lab's managers and admins act; the requesting organisation's member sees the
booking but may not decide (403); everyone else may not know it exists (404); visitors are
sent to log in. Lab pages (calendar, blackouts): 403 on a published lab one does not
manage, 404 on a hidden draft. ``seed`` adds the rows these cases need to the matrix cast
(raw rows: the cast's labs have no opening hours, and an ended booking cannot be requested).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from labnet import clock
from labnet.extensions import db
from labnet.models.booking import Blackout, Booking
from labnet.services.booking.availability import utc_to_local
from tests.authz.cases.base import ACTORS, LOGGED_IN, Case, only
from tests.authz.cases.manage import managed, other_lab

ZONE = "Europe/Berlin"  # make_lab's default


def seed(app, p) -> None:
    """A pending request, an upcoming confirmed booking and an ended one of the member's
    organisation on the matrix lab's equipment, and a blackout on the lab and on the draft."""
    now = clock.utcnow().replace(minute=0, second=0, microsecond=0)
    p.lb_base = now + timedelta(days=10)
    with app.app_context():
        def row(ref, status, start, hours, **kw):
            b = Booking(reference=ref, equipment_id=p.equipment.id, lab_id=p.lab.id,
                        requester_id=p.member.id, organisation_id=p.sme_org.id,
                        purpose="Matrix imaging", start_at=start,
                        end_at=start + timedelta(hours=hours), blocked_start=start,
                        status=status, unit="hour", units=hours, rate_kind="sme",
                        rate_applied=Decimal(120), price_estimate=Decimal(120 * hours),
                        currency="EUR", created_at=now, updated_at=now, **kw)
            db.session.add(b)
            return b

        pending = row("LN-MX-1", "pending", p.lb_base, 2, hold_until=now + timedelta(days=2))
        confirmed = row("LN-MX-2", "confirmed", p.lb_base + timedelta(hours=3), 4,
                        decided_at=now)
        ended = row("LN-MX-3", "confirmed", now - timedelta(days=1), 2, decided_at=now)
        completed = row("LN-MX-4", "completed", now - timedelta(days=2), 2, decided_at=now,
                        final_price=Decimal(240))
        blackout = Blackout(lab_id=p.lab.id, start_at=p.lb_base + timedelta(days=20),
                            end_at=p.lb_base + timedelta(days=21), reason="Holidays",
                            created_at=now)
        hidden = Blackout(lab_id=p.draft.id, start_at=p.lb_base + timedelta(days=20),
                          end_at=p.lb_base + timedelta(days=21), reason="Holidays",
                          created_at=now)
        db.session.add_all([blackout, hidden])
        db.session.commit()
        p.lb_pending, p.lb_confirmed, p.lb_ended = pending.id, confirmed.id, ended.id
        p.lb_completed = completed.id
        p.lb_blackout, p.lb_hidden_blackout = blackout.id, hidden.id


def local(at) -> str:
    return utc_to_local(at, ZONE).strftime("%Y-%m-%dT%H:%M")


def booking(ok: int) -> dict[str, int]:
    """``ok`` for the lab's managers and admins; 403 for the requester's organisation, 404
    for everyone else, 302 (to log in) for visitors."""
    table = {a: (ok if a in ("manager", "admin") else 403 if a == "member" else 404)
             for a in ACTORS}
    table["anonymous"] = 302
    return table


def _b(p, attr: str, action: str = "") -> str:
    return f"/manage/bookings/{getattr(p, attr)}{'/' + action if action else ''}"


def _shorten(p, hours: int) -> dict[str, str]:
    start = p.lb_base + timedelta(hours=3)
    return {"start_at": local(start), "end_at": local(start + timedelta(hours=hours))}


def _blackout_form(p, days: int) -> dict[str, str]:
    start = p.lb_base.replace(hour=0) + timedelta(days=days)
    return {"equipment_id": "", "start_at": local(start),
            "end_at": local(start + timedelta(days=1)), "reason": "Maintenance"}


# Lab managers (another lab's too: they export their own labs' rows) and admins.
USAGE = only(("manager", "other_manager", "admin"), 200, 403, anonymous=302)


def _lab(p, page: str) -> str:
    return f"/manage/bookings/labs/{p.lab.slug}/{page}"


CASES = [
    Case("lab_bookings.queue", "GET", lambda p: "/manage/bookings", LOGGED_IN),
    Case("lab_bookings.approve", "POST", lambda p: _b(p, "lb_pending", "approve"),
         booking(302)),
    Case("lab_bookings.reject", "POST", lambda p: _b(p, "lb_pending", "reject"), booking(302),
         data=lambda p: {"reason": "Booked out"}),
    Case("lab_bookings.reject", "POST", lambda p: _b(p, "lb_pending", "reject"), booking(422),
         data=lambda p: {"reason": ""}, name="no-reason"),
    Case("lab_bookings.cancel", "POST", lambda p: _b(p, "lb_confirmed", "cancel"),
         booking(302), data=lambda p: {"reason": "Machine broke down"}),
    Case("lab_bookings.cancel", "POST", lambda p: _b(p, "lb_confirmed", "cancel"),
         booking(422), data=lambda p: {"reason": ""}, name="no-reason"),
    Case("lab_bookings.no_show", "POST", lambda p: _b(p, "lb_ended", "no-show"),
         booking(302)),
    Case("lab_bookings.no_show", "POST", lambda p: "/manage/bookings/999999/no-show",
         {**dict.fromkeys(ACTORS, 404), "anonymous": 302}, name="missing"),
    Case("lab_bookings.shorten", "GET", lambda p: _b(p, "lb_confirmed", "shorten"),
         booking(200)),
    Case("lab_bookings.shorten", "POST", lambda p: _b(p, "lb_confirmed", "shorten"),
         booking(302), data=lambda p: _shorten(p, 2)),
    Case("lab_bookings.shorten", "POST", lambda p: _b(p, "lb_confirmed", "shorten"),
         booking(422), data=lambda p: _shorten(p, 6), name="longer"),
    # Final price on approval is the approve case; usage on completion, and its export.
    Case("lab_bookings.approve", "POST", lambda p: _b(p, "lb_pending", "approve"),
         booking(422), data=lambda p: {"final_price": "1.00"}, name="price-without-reason"),
    Case("lab_bookings.record_usage", "GET", lambda p: _b(p, "lb_completed", "usage"),
         booking(200)),
    Case("lab_bookings.record_usage", "POST", lambda p: _b(p, "lb_completed", "usage"),
         booking(302), data=lambda p: {"actual_hours": "1.5"}),
    Case("lab_bookings.record_usage", "POST", lambda p: _b(p, "lb_ended", "usage"),
         booking(422), data=lambda p: {"actual_hours": "1"}, name="not-completed"),
    Case("lab_bookings.usage_page", "GET", lambda p: "/manage/bookings/usage", USAGE),
    Case("lab_bookings.usage_csv", "GET", lambda p: "/manage/bookings/usage.csv", USAGE),
    # A lab's calendar and blackouts.
    Case("lab_bookings.calendar", "GET", lambda p: _lab(p, "calendar"), managed(200),
         name="published"),
    Case("lab_bookings.calendar", "GET",
         lambda p: f"/manage/bookings/labs/{p.draft.slug}/calendar",
         managed(200, hidden=True), name="draft"),
    Case("lab_bookings.calendar", "GET",
         lambda p: f"/manage/bookings/labs/{p.other_lab.slug}/calendar", other_lab(200),
         name="other-lab"),
    Case("lab_bookings.blackouts", "GET", lambda p: _lab(p, "blackouts"), managed(200),
         name="published"),
    Case("lab_bookings.blackouts", "GET",
         lambda p: f"/manage/bookings/labs/{p.draft.slug}/blackouts",
         managed(200, hidden=True), name="draft"),
    Case("lab_bookings.blackouts", "POST", lambda p: _lab(p, "blackouts"), managed(302),
         data=lambda p: _blackout_form(p, 30), name="published"),
    Case("lab_bookings.blackouts", "POST", lambda p: _lab(p, "blackouts"), managed(409),
         data=lambda p: _blackout_form(p, 0), name="covers-bookings"),
    Case("lab_bookings.blackouts", "POST", lambda p: _lab(p, "blackouts"), managed(422),
         data=lambda p: {**_blackout_form(p, 30), "reason": ""}, name="invalid"),
    Case("lab_bookings.delete_blackout", "POST",
         lambda p: f"/manage/bookings/blackouts/{p.lb_blackout}/delete", managed(302),
         name="published"),
    Case("lab_bookings.delete_blackout", "POST",
         lambda p: f"/manage/bookings/blackouts/{p.lb_hidden_blackout}/delete",
         managed(302, hidden=True), name="draft"),
    # Everyone's own e-mail preference.
    Case("mail_settings.notifications", "GET", lambda p: "/account/notifications", LOGGED_IN),
    Case("mail_settings.notifications", "POST", lambda p: "/account/notifications",
         dict.fromkeys(ACTORS, 302), data=lambda p: {"mail_mode": "digest"}),
]
