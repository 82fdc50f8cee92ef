"""An event's meeting slots: pure time maths, no database.

The organiser sets a slot length and daily hours (``meeting_day_start`` …
``meeting_day_end``) in the event's zone; the slots are those hours on each of the event's
local days, cut into back-to-back slots of that length (DESIGN rule 3). Hours are turned into
UTC instants per day (so a slot on the day the clocks change lasts its real length), and a
slot is kept only when it lies wholly inside the event (a first day starting at 14:00 has no
morning slots) and the hours are not cut by a daylight-saving jump.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_SLOTS = 2000  # a month-long event with 10-minute slots all day stays far below


@dataclass(frozen=True)
class Slot:
    """One meeting slot [start, end), UTC; ``local`` is its start in the event's zone."""

    start: datetime
    end: datetime
    local: datetime

    @property
    def key(self) -> str:
        """The slot as a form value: its UTC start, ISO 8601."""
        return self.start.strftime("%Y-%m-%dT%H:%MZ")


def _wall_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime | None:
    """The UTC instant of a local wall-clock time; ``None`` when the clocks skip it (the
    first occurrence is taken when it happens twice)."""
    local = datetime.combine(day, at).replace(tzinfo=tz, fold=0)
    back = local.astimezone(UTC).astimezone(tz)
    if back.replace(tzinfo=None) != datetime.combine(day, at):
        return None
    return local.astimezone(UTC)


def event_days(start_at: datetime, end_at: datetime, zone: str) -> list[date]:
    """The local days the event touches (an end at midnight does not add a day)."""
    tz = ZoneInfo(zone)
    first = start_at.astimezone(tz).date()
    last = (end_at - timedelta(microseconds=1)).astimezone(tz).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def meeting_slots(*, start_at: datetime, end_at: datetime, zone: str, minutes: int | None,
                  day_start: time | None, day_end: time | None,
                  days: Iterable[date] | None = None) -> list[Slot]:
    """Every meeting slot of an event, oldest first; none when the organiser set no slot
    length or hours. ``days`` limits them to some local days (a course's session days);
    by default every day from the event's start to its end."""
    if not minutes or minutes <= 0 or day_start is None or day_end is None \
            or day_end <= day_start:
        return []
    tz = ZoneInfo(zone)
    length = timedelta(minutes=minutes)
    out: list[Slot] = []
    for day in sorted(set(days) if days is not None else event_days(start_at, end_at, zone)):
        first, last = _wall_to_utc(day, day_start, tz), _wall_to_utc(day, day_end, tz)
        if first is None or last is None:
            continue
        at = first
        while at + length <= last and len(out) < MAX_SLOTS:
            if at >= start_at and at + length <= end_at:
                out.append(Slot(at, at + length, at.astimezone(tz)))
            at += length
    return out


def parse_slot(value: str) -> datetime | None:
    """A slot's form value (:attr:`Slot.key`) as a UTC instant; ``None`` when it is not one."""
    raw = (value or "").strip()
    try:
        at = datetime.strptime(raw, "%Y-%m-%dT%H:%MZ")
    except ValueError:
        return None
    return at.replace(tzinfo=UTC)
