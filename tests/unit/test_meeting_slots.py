"""An event's meeting slots: the organiser's hours on each local day of the event, in its
zone, across daylight-saving changes (DESIGN rule 3)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from labnet.services.meetings.slots import event_days, meeting_slots, parse_slot


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_slots_cover_the_hours_of_each_event_day_in_the_event_zone():
    # Vienna, 12-13 May 2026 (CEST, UTC+2), 09:00-17:00 local; meetings 10:00-12:00.
    slots = meeting_slots(start_at=_utc(2026, 5, 12, 7), end_at=_utc(2026, 5, 13, 15),
                          zone="Europe/Vienna", minutes=30, day_start=time(10),
                          day_end=time(12))
    assert [s.local.strftime("%d %H:%M") for s in slots] == [
        "12 10:00", "12 10:30", "12 11:00", "12 11:30",
        "13 10:00", "13 10:30", "13 11:00", "13 11:30"]
    assert slots[0].start == _utc(2026, 5, 12, 8) and slots[0].end == _utc(2026, 5, 12, 8, 30)
    assert slots[0].key == "2026-05-12T08:00Z" and parse_slot(slots[0].key) == slots[0].start


def test_slots_outside_the_event_are_left_out():
    # Starts 14:00 local on the first day: no morning slots that day.
    slots = meeting_slots(start_at=_utc(2026, 5, 12, 12), end_at=_utc(2026, 5, 13, 9, 30),
                          zone="Europe/Vienna", minutes=60, day_start=time(9),
                          day_end=time(17))
    assert [s.local.strftime("%d %H") for s in slots] == [
        "12 14", "12 15", "12 16", "13 09", "13 10"]


def test_slots_on_the_autumn_change_day_last_their_real_length():
    # 25 Oct 2026: Europe/Rome goes from CEST (UTC+2) to CET (UTC+1) at 03:00.
    slots = meeting_slots(start_at=_utc(2026, 10, 24, 6), end_at=_utc(2026, 10, 25, 18),
                          zone="Europe/Rome", minutes=60, day_start=time(9),
                          day_end=time(11))
    assert [s.start for s in slots] == [_utc(2026, 10, 24, 7), _utc(2026, 10, 24, 8),
                                        _utc(2026, 10, 25, 8), _utc(2026, 10, 25, 9)]
    assert all((s.end - s.start).total_seconds() == 3600 for s in slots)


def test_hours_cut_by_the_spring_jump_are_skipped_that_day():
    # 29 Mar 2026 02:00 does not exist in Europe/Berlin.
    slots = meeting_slots(start_at=_utc(2026, 3, 28, 0), end_at=_utc(2026, 3, 30, 0),
                          zone="Europe/Berlin", minutes=30, day_start=time(2),
                          day_end=time(4))
    assert {s.local.date() for s in slots} == {date(2026, 3, 28)}


def test_no_hours_or_no_length_means_no_slots():
    common = {"start_at": _utc(2026, 5, 12, 7), "end_at": _utc(2026, 5, 12, 15),
              "zone": "Europe/Vienna"}
    assert meeting_slots(**common, minutes=None, day_start=time(9), day_end=time(12)) == []
    assert meeting_slots(**common, minutes=30, day_start=None, day_end=time(12)) == []
    assert meeting_slots(**common, minutes=30, day_start=time(12), day_end=time(9)) == []


def test_session_days_limit_the_slots():
    slots = meeting_slots(start_at=_utc(2026, 5, 11, 6), end_at=_utc(2026, 5, 15, 16),
                          zone="Europe/Vienna", minutes=60, day_start=time(12),
                          day_end=time(13), days=[date(2026, 5, 11), date(2026, 5, 14)])
    assert [s.local.date().day for s in slots] == [11, 14]


def test_event_days_ending_at_midnight_add_no_day():
    assert event_days(_utc(2026, 5, 11, 22), _utc(2026, 5, 12, 22), "Europe/Vienna") == [
        date(2026, 5, 12)]


def test_a_slot_value_that_is_no_slot_is_none():
    assert parse_slot("tomorrow") is None
    assert parse_slot("2026-05-12T08:00") is None
