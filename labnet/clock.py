"""The one place "now" comes from, and conversions between UTC and a lab's zone.

Instants are stored in UTC (aware datetimes). Tests freeze the clock with
:func:`freeze`; services never call this module themselves: the boundary reads
``utcnow()`` once and passes ``now`` down.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo

_frozen: datetime | None = None


def utcnow() -> datetime:
    return _frozen if _frozen is not None else datetime.now(UTC)


def freeze(at: datetime | None) -> None:
    """Freeze the clock at ``at`` (aware), or unfreeze with ``None``. For tests."""
    global _frozen
    if at is not None and at.tzinfo is None:
        raise ValueError("freeze() needs an aware datetime")
    _frozen = at


@cache
def zone_info(zone: str) -> ZoneInfo:
    """``ZoneInfo(zone)``, kept for the process. ``ZoneInfo`` keeps only eight zones
    strongly (the rest weakly): a page of labs across Europe's ~40 zones, whose local
    times drop the zone at once, read the zone file from disk again and again (a tenth of
    a second on a page of free-equipment lines)."""
    return ZoneInfo(zone)


def to_zone(at: datetime, zone: str) -> datetime:
    return at.astimezone(zone_info(zone))
