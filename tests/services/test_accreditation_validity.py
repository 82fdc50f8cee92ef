"""When an accreditation counts (issue 14 §1): at the lab's own midnight, in search, facet
counts, the map filter, badges and the registry — checked against a hand-built set across
an expiry midnight in two zones; and the daily job: expiry, reminders 90/30/7 days before
the end each sent once however often it runs, waiting claims told once."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from labnet import clock
from labnet.extensions import db
from labnet.jobs import run_job
from labnet.models import Accreditation, AccreditationReminder, Lab, OutboxEmail, Role
from labnet.services.accreditation import registry
from labnet.services.accreditation.reminders import due_reminder, run_daily, working_days_between
from labnet.services.accreditation.validity import badges_by_lab, ends_at, shown_state
from labnet.services.catalogue.search import SearchQuery, facets, map_labs, search_labs

END = date(2026, 3, 10)


def test_ends_at_is_the_labs_next_midnight():
    assert ends_at(END, "Europe/Helsinki") == datetime(2026, 3, 10, 22, 0, tzinfo=UTC)
    assert ends_at(END, "Europe/Lisbon") == datetime(2026, 3, 11, 0, 0, tzinfo=UTC)
    # Summer time: Berlin's midnight is 22:00 UTC.
    assert ends_at(date(2026, 7, 1), "Europe/Berlin") == datetime(2026, 7, 1, 22, 0, tzinfo=UTC)
    assert ends_at(None, "Europe/Berlin") is None


@pytest.fixture
def two_zones(app, make_lab):
    """Helsinki (UTC+2) and Lisbon (UTC+0) labs, each with an ISO 9001 valid until 10 March;
    a third lab's claim never verified and a fourth's suspended never count."""
    helsinki = make_lab(name="Helsinki Lab", timezone="Europe/Helsinki", country="FI")
    lisbon = make_lab(name="Lisbon Lab", timezone="Europe/Lisbon", country="PT")
    claimed = make_lab(name="Claimed Lab")
    suspended = make_lab(name="Suspended Lab")
    with app.app_context():
        for lab, status in ((helsinki, "verified"), (lisbon, "verified"), (claimed, "claimed"),
                            (suspended, "suspended")):
            db.session.add(Accreditation(lab_id=lab.id, scheme_code="iso-9001", status=status,
                                         valid_from=date(2025, 1, 1), valid_until=END,
                                         verified_at=datetime(2025, 1, 2, tzinfo=UTC)))
        db.session.commit()
    return helsinki, lisbon


def _found(app, now: datetime) -> dict[str, set[str]]:
    """The accredited labs by every reader at ``now``."""
    query = SearchQuery(accreditation="iso-9001")
    with app.test_request_context():
        ids = {lab.id: lab.name for lab in db.session.scalars(select(Lab))}
        out = {
            "search": {lab.name for lab in search_labs(None, query, per_page=50, now=now).items},
            "map": {m.name for m in map_labs(None, query, now=now)},
            "badges": {ids[i] for i in badges_by_lab(list(ids), now)},
            "registry": {r.lab_name for r in registry.search(registry.RegistryQuery(), now).rows},
        }
        counts = facets.bare_counts(now)
        out["facet"] = {str(counts.get(("accreditation", "iso-9001"), 0))}
        db.session.rollback()
    return out


@pytest.mark.parametrize(("at", "expected"), [
    (datetime(2026, 3, 10, 21, 59, tzinfo=UTC), {"Helsinki Lab", "Lisbon Lab"}),
    (datetime(2026, 3, 10, 22, 0, tzinfo=UTC), {"Lisbon Lab"}),  # Helsinki's midnight
    (datetime(2026, 3, 10, 23, 59, tzinfo=UTC), {"Lisbon Lab"}),
    (datetime(2026, 3, 11, 0, 0, tzinfo=UTC), set()),  # Lisbon's midnight
])
def test_search_filter_across_an_expiry_midnight_in_two_zones(app, two_zones, at, expected):
    found = _found(app, at)
    for reader in ("search", "map", "badges", "registry"):
        assert found[reader] == expected, (reader, at)
    assert found["facet"] == {str(len(expected))}


@pytest.mark.parametrize("app_config", [{"FACET_CACHE_SECONDS": 3600}], ids=["cache-on"])
def test_the_listing_drops_it_at_midnight_even_with_the_counts_cached(app, client, two_zones,
                                                                      frozen_clock, app_config):
    frozen_clock.move_to(datetime(2026, 3, 10, 21, 30, tzinfo=UTC))
    assert _facet_count(client) == "2"
    assert "Helsinki Lab" in client.get("/labs?accreditation=iso-9001").get_data(as_text=True)
    # Helsinki's midnight, the same UTC day: the cached counts are not reused.
    frozen_clock.move_to(datetime(2026, 3, 10, 22, 5, tzinfo=UTC))
    assert _facet_count(client) == "1"
    frozen_clock.move_to(datetime(2026, 3, 11, 0, 5, tzinfo=UTC))
    assert 'data-code="iso-9001"' not in client.get("/labs").get_data(as_text=True)
    listing = client.get("/labs?accreditation=iso-9001").get_data(as_text=True)
    assert "Helsinki Lab" not in listing and "Lisbon Lab" not in listing


def _facet_count(client) -> str | None:
    page = client.get("/labs").get_data(as_text=True)
    found = re.search(r'data-code="iso-9001".*?rounded-pill[^>]*>(\d+)<', page, re.S)
    return found.group(1) if found else None


def test_shown_state_expiring_and_expired_on_the_labs_calendar(app, two_zones):
    helsinki, _ = two_zones
    with app.app_context():
        acc = db.session.scalars(select(Accreditation).where(
            Accreditation.lab_id == helsinki.id)).one()
        assert shown_state(acc, "Europe/Helsinki", datetime(2025, 12, 1, tzinfo=UTC)) == \
            "verified"
        assert shown_state(acc, "Europe/Helsinki", datetime(2026, 1, 1, tzinfo=UTC)) == \
            "expiring"
        assert shown_state(acc, "Europe/Helsinki", datetime(2026, 3, 10, 22, tzinfo=UTC)) == \
            "expired"


def test_a_lab_moving_zone_moves_the_end(app, two_zones):
    helsinki, _ = two_zones
    with app.app_context():
        db.session.get_one(Lab, helsinki.id).timezone = "Europe/Lisbon"
        db.session.commit()
        assert db.session.scalar(select(Accreditation.ends_at).where(
            Accreditation.lab_id == helsinki.id)) == datetime(2026, 3, 11, tzinfo=UTC)


def test_due_reminder_sends_the_most_pressing_one():
    assert due_reminder(120) is None
    assert due_reminder(90) == 90
    assert due_reminder(45) == 90
    assert due_reminder(30) == 30
    assert due_reminder(8) == 30
    assert due_reminder(7) == 7
    assert due_reminder(0) == 7
    assert due_reminder(-1) is None


def test_working_days():
    friday = date(2026, 3, 6)
    assert working_days_between(friday, friday + timedelta(days=3)) == 1  # Monday
    assert working_days_between(friday, friday + timedelta(days=7)) == 5
    assert working_days_between(friday, friday + timedelta(days=10)) == 6


def _mails(kind: str) -> list[tuple[str, str]]:
    return list(db.session.execute(select(OutboxEmail.to_addr, OutboxEmail.subject).where(
        OutboxEmail.kind == kind).order_by(OutboxEmail.id)).tuples())


def test_reminders_each_once_whatever_how_often_the_job_runs(ctx, make_lab, make_user):
    lab = make_lab(name="Reminded Lab", timezone="Europe/Berlin")
    manager = make_user(manages=(lab,))
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    acc = Accreditation(lab_id=lab.id, scheme_code="iso-9001", status="verified",
                        valid_from=date(2023, 1, 1), valid_until=date(2026, 5, 31),
                        verified_at=start)
    db.session.add(acc)
    db.session.commit()
    sent: list[str] = []
    for day in range(0, 100):
        for _ in range(2):  # twice a day
            now = start + timedelta(days=day)
            result = run_job("accreditations", now=now).result
            db.session.expire_all()
            sent += [f"{day}:{s}" for _a, s in _mails("accreditation_expiring")[len(sent):]]
            assert result["reminders"] in (0, 1)
    # 31 May ends at Berlin's midnight; reminders 90, 30, 7 days before, once each.
    assert [s.split(":")[0] for s in sent] == ["0", "60", "83"]
    assert all(manager.email == a for a, _ in _mails("accreditation_expiring"))
    kinds = set(db.session.scalars(select(AccreditationReminder.kind)))
    assert kinds == {"expiring-90", "expiring-30", "expiring-7"}
    # Expired on 1 June (Berlin), told once, and audited.
    assert db.session.get_one(Accreditation, acc.id).status == "expired"
    assert len(_mails("accreditation_expired")) == 1


def test_a_job_that_missed_weeks_sends_one_reminder(ctx, make_lab, make_user):
    lab = make_lab(timezone="Europe/Berlin")
    make_user(manages=(lab,))
    db.session.add(Accreditation(lab_id=lab.id, scheme_code="iso-9001", status="verified",
                                 valid_until=date(2026, 3, 7)))
    db.session.commit()
    run_daily(now=datetime(2026, 3, 2, 8, tzinfo=UTC))
    db.session.commit()
    assert [s for _a, s in _mails("accreditation_expiring")] == [
        "Accreditation ends in 5 days: " + lab.name]


def test_verifiers_hear_once_of_claims_waiting_five_working_days(ctx, make_lab, make_user):
    lab = make_lab()
    make_user(manages=(lab,))
    verifier = make_user(roles=(Role.VERIFIER,))
    friday = datetime(2026, 3, 6, 9, tzinfo=UTC)
    db.session.add(Accreditation(lab_id=lab.id, scheme_code="iso-9001", status="claimed",
                                 created_at=friday))
    db.session.commit()
    for days in (5, 7, 9, 10, 11):  # Wed 11th: 3 working days; Fri 13th: 5; Mon 16th: 6
        run_daily(now=friday + timedelta(days=days))
        db.session.commit()
    assert [a for a, _s in _mails("accreditation_waiting")] == [verifier.email]
    assert db.session.scalar(select(func.count()).select_from(AccreditationReminder)) == 1
    assert clock.utcnow() is not None
