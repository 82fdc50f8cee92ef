"""The dashboard's training and events section: events and seats offered by
KET area and by country, registrations, waiting lists (unmet training demand), attendance
rate, and meetings between partners of different projects.

Which events count: published events (not drafts, not cancelled) that start in the
dashboard's period (a period reaching into the future shows the upcoming ones). The
filters read as on the rest of the dashboard, through the events' organisers:
- KET area: the event names the area or one of its sub-areas;
- country: the event takes place there, or a lab organising it is there (an online event
  of a Portuguese lab counts for Portugal);
- kind of lab, and a manager's own labs: a lab organising it is of that kind / theirs;
- network: the network organises it, or a lab of the network (accepted member) does.

Per event (one GROUP BY over its registrations): seats offered (its capacity; an event
without a limit offers none that can be counted), registrations holding a seat, people on
the waiting list, and for events that are over, registrations and those marked present at
one session at least (the attendance rate). Each table sums these per KET area (the top
level, or the chosen area's sub-areas: an event with two areas counts in each) or per
country; a few hundred groups at most, read in two statements whatever the data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from labnet.extensions import db
from labnet.i18n import _, _l
from labnet.models import KetArea, Lab
from labnet.models.events import Event, EventKet, EventOrganiser
from labnet.models.meetings import Meeting
from labnet.models.network import NetworkMember
from labnet.models.training import Attendance, Registration
from labnet.services.analytics.figures import TOP_ROWS, Table, _pct
from labnet.services.analytics.filters import Filters, _ket_codes
from labnet.services.geo.geocoding import country_name
from labnet.services.meetings.pages import meeting_counts

EVENT_SECTIONS = ("events-ket", "events-country", "meetings")
COLUMNS = [_l("Events"), _l("Seats offered"), _l("Registrations"), _l("Waiting list"),
           _l("Registrations (past events)"), _l("Attended"), _l("Attendance rate %")]


def _organised_by_lab(*conds: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(EventOrganiser.event_id == Event.id,
                          Lab.id == EventOrganiser.lab_id, *conds)


def event_conditions(f: Filters) -> list[ColumnElement[bool]]:
    """The events of the section (module docstring), as conditions on ``Event``."""
    conds: list[ColumnElement[bool]] = [
        Event.status == "published", Event.starts_at >= f.start_at, Event.starts_at < f.end_at]
    if f.ket:
        conds.append(exists().where(EventKet.event_id == Event.id,
                                    EventKet.ket_code.in_(_ket_codes(f.ket))))
    if f.country:
        conds.append(or_(Event.country == f.country,
                         _organised_by_lab(Lab.country == f.country)))
    if f.kind:
        conds.append(_organised_by_lab(Lab.kind_code == f.kind))
    if f.lab_scope is not None:
        conds.append(_organised_by_lab(Lab.id.in_(f.lab_scope)))
    if f.network_id is not None:
        conds.append(or_(
            exists().where(EventOrganiser.event_id == Event.id,
                           EventOrganiser.network_id == f.network_id),
            exists().where(EventOrganiser.event_id == Event.id,
                           NetworkMember.lab_id == EventOrganiser.lab_id,
                           NetworkMember.network_id == f.network_id,
                           NetworkMember.status == "accepted")))
    return conds


def _per_event(f: Filters, now: datetime) -> Any:
    """One row per event of the section: its id, country, seats and registration counts."""
    over = Event.ends_at <= now
    seat = Registration.status == "registered"
    present = exists().where(Attendance.registration_id == Registration.id)
    return (select(
        Event.id.label("event_id"), Event.country.label("country"),
        func.coalesce(Event.capacity, 0).label("seats"),
        func.count(case((seat, Registration.id))).label("registered"),
        func.count(case((Registration.status == "waiting", Registration.id))).label("waiting"),
        func.count(case((and_(seat, over), Registration.id))).label("past"),
        func.count(case((and_(seat, over, present), Registration.id))).label("attended"))
        .select_from(Event)
        .outerjoin(Registration, Registration.event_id == Event.id)
        .where(*event_conditions(f))
        .group_by(Event.id, Event.country, Event.capacity)
        .subquery("per_event"))


def _sums(per: Any) -> list[Any]:
    return [func.count(), func.sum(per.c.seats), func.sum(per.c.registered),
            func.sum(per.c.waiting), func.sum(per.c.past), func.sum(per.c.attended)]


def _row(n: Any, seats: Any, registered: Any, waiting: Any, past: Any, attended: Any
         ) -> list[Any]:
    values = [int(v or 0) for v in (n, seats, registered, waiting, past, attended)]
    return [*values, _pct(values[5], values[4])]


NOTE = _l("Published events starting in the period. Seats offered count events with a "
          "capacity; the waiting list is the training demand no seat met; the attendance "
          "rate is of past events: registered people marked present at one session at least.")


def _columns() -> list[str]:
    """The figures' headers, read now (the tables are cached and pickled as text)."""
    return [str(c) for c in COLUMNS]


def events_by_ket(f: Filters, names: dict[str, str], *, now: datetime) -> Table:
    """Events, seats, registrations, waiting lists and attendance per KET area (the top
    level, or the chosen area's sub-areas); an event with two areas counts in each."""
    per = _per_event(f, now)
    if f.ket and "." not in f.ket:
        area: ColumnElement[str] = EventKet.ket_code  # type: ignore[assignment]
        pairs_where = [KetArea.parent_code == f.ket]
    else:
        area = func.coalesce(KetArea.parent_code, KetArea.code)
        pairs_where = [KetArea.code == f.ket] if f.ket else []
    pairs = (select(EventKet.event_id.label("event_id"), area.label("area"))
             .join(KetArea, KetArea.code == EventKet.ket_code).where(*pairs_where)
             .distinct().subquery("pairs"))
    rows = db.session.execute(
        select(pairs.c.area, *_sums(per)).join(per, per.c.event_id == pairs.c.event_id)
        .group_by(pairs.c.area).order_by(func.count().desc(), pairs.c.area)).all()
    return Table("events-ket", _("Training and events by KET area"),
                 [_("KET area"), _("Code"), *_columns()],
                 [[names.get(a, a), a, *_row(*sums)] for a, *sums in rows],
                 note=str(NOTE), series=(3, 4, 5))


def events_by_country(f: Filters, *, now: datetime) -> Table:
    """The same figures per country where the events take place ("Online" for none)."""
    per = _per_event(f, now)
    rows = db.session.execute(
        select(per.c.country, *_sums(per)).group_by(per.c.country)
        .order_by(func.count().desc(), per.c.country)).all()
    return Table("events-country", _("Training and events by country"),
                 [_("Country"), _("Code"), *_columns()],
                 [[country_name(c) if c else _("Online"), c or "", *_row(*sums)]
                  for c, *sums in rows], note=str(NOTE), series=(3, 4, 5))


def meetings_by_event(f: Filters, *, now: datetime) -> tuple[Table, dict[str, int]]:
    """Meetings arranged between participants, per event (the 50 with most meetings held),
    and the totals: requests, accepted, held, and held between partners of different
    projects (``services.meetings.pages.cross_project``)."""
    events = select(Event.id).where(*event_conditions(f))
    rows = meeting_counts([Meeting.event_id.in_(events)], now=now, group_by=Meeting.event_id)
    totals = {"requested": 0, "accepted": 0, "held": 0, "cross_project": 0}
    for _event_id, *counts in rows:
        for key, value in zip(totals, counts, strict=True):
            totals[key] += int(value or 0)
    top = sorted(rows, key=lambda r: (-int(r[3] or 0), -int(r[1] or 0), r[0]))[:TOP_ROWS]
    titles = dict(db.session.execute(select(Event.id, Event.title).where(
        Event.id.in_([r[0] for r in top]))).tuples().all()) if top else {}
    table = Table("meetings", _("Meetings between participants"), [
        _("Event"), _("Meeting requests"), _("Accepted"), _("Held"),
        _("Held between partners of different projects")],
        [[titles.get(eid, eid), int(n), int(acc), int(held), int(cross)]
         for eid, n, acc, held, cross in top],
        note=_("A meeting was held when it was accepted and its slot is over; it is between "
               "partners of different projects when both people's organisations are "
               "partners of projects on LabNet and share none."), series=(3, 4))
    return table, totals
