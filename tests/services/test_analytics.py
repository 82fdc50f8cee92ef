"""The dashboard's daily summary job and the weekly coordinator digest.

The summary is idempotent (a second run changes nothing), gives the same numbers as a
direct count over the source tables, picks up changes since its previous run (a new
search, a booking whose state changed) and is registered as a job that the runner leases.
The digest reaches every coordinator once a week through the real SMTP server.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from labnet.extensions import db
from labnet.jobs import JOBS, run_job
from labnet.models import ActivityDaily, AuditEvent, Booking, DemandSignal
from labnet.models.request import RequestLab
from labnet.services import analytics
from tests.fixtures.dashboard import NOW, summarise


def _snapshot(app) -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(
            select(ActivityDaily.day, ActivityDaily.metric, ActivityDaily.grain,
                   ActivityDaily.lab_id,
                   ActivityDaily.category_code, ActivityDaily.ket_code,
                   ActivityDaily.demand_country, ActivityDaily.supply_country,
                   ActivityDaily.unmet, ActivityDaily.n, ActivityDaily.hours)).all()
        return sorted((tuple(r) for r in rows), key=repr)


def _direct(app) -> dict[str, float]:
    """The same totals counted straight from the source tables."""
    with app.app_context():
        bookings = db.session.scalar(select(func.count(Booking.id)))
        confirmed = db.session.scalar(
            select(func.sum(analytics.hours_between(Booking.start_at, Booking.end_at)))
            .where(Booking.status.in_(("confirmed", "completed"))))
        searches = db.session.scalar(select(func.count(DemandSignal.id)))
        unmet = db.session.scalar(select(func.count(DemandSignal.id))
                                  .where(DemandSignal.result_count <= 2))
        return {"booking": bookings, "booked": round(confirmed, 6), "search": searches,
                "unmet": unmet}


def _summed(app) -> dict[str, float]:
    with app.app_context():
        def total(metric, col=ActivityDaily.n, *extra, grain="day"):
            return db.session.scalar(select(func.sum(col)).where(
                ActivityDaily.metric == metric, ActivityDaily.grain == grain, *extra))

        assert total("booking", grain="month") == total("booking")
        assert round(total("booked", ActivityDaily.hours, grain="month"), 6) == round(
            total("booked", ActivityDaily.hours), 6)
        assert total("search", grain="month") == total("search")
        assert total("lab_bkg") == total("booking")  # the per-lab sums agree
        assert total("flow") == total("booking")  # and the lab-less ones
        assert round(total("cat_hours", ActivityDaily.hours), 6) == round(
            total("booked", ActivityDaily.hours), 6)
        assert total("req_flow") == db.session.scalar(select(func.count(RequestLab.id)))
        assert round(total("lab_hours", ActivityDaily.hours), 6) == round(
            total("booked", ActivityDaily.hours), 6)
        return {"booking": total("booking"),
                "booked": round(total("booked", ActivityDaily.hours), 6),
                "search": total("search"),
                "unmet": total("search", ActivityDaily.n, ActivityDaily.unmet.is_(True))}


def test_summary_equals_a_direct_count_and_a_second_run_changes_nothing(app, dash_world):
    first = summarise(app)
    assert first["days"] == "all"
    assert _summed(app) == _direct(app) == {"booking": 5, "booked": 17.0, "search": 3,
                                            "unmet": 1}
    before = _snapshot(app)
    again = summarise(app)  # incremental: today and the days touched since
    assert again["days"] >= 1
    assert _snapshot(app) == before
    summarise(app, full=True)
    assert _snapshot(app) == before


def test_incremental_run_picks_up_new_searches_and_changed_bookings(app, dash_world):
    summarise(app)
    later = NOW + timedelta(hours=1)
    with app.app_context():
        db.session.add(DemandSignal(at=later, source="labs", filters={}, query_text="",
                                    ket_code="AI", result_count=0, searcher_country="IT"))
        b3 = db.session.scalar(select(Booking).where(Booking.reference == "LN-D-3"))
        b3.status = "confirmed"  # (as a manager reversing a decision would, with its audit)
        from labnet.models.request import LabRequest

        r = LabRequest(reference="RQ-NEW", kind="access", status="submitted",
                       organisation_id=dash_world.fr_org.id, created_by_id=dash_world.fr_user.id,
                       title="New", summary="New", created_at=later, updated_at=later)
        db.session.add(r)
        db.session.flush()
        db.session.add(RequestLab(request_id=r.id, lab_id=dash_world.aachen.id))
        db.session.add(AuditEvent(at=later, action="booking.approved", subject_type="booking",
                                  subject_id=b3.id, data={}))
        db.session.commit()
    with app.app_context():
        result = analytics.summarise_activity(now=later + timedelta(minutes=5))
        db.session.commit()
    assert result["days"] >= 2  # today and b3's start day (and its request day)
    assert _summed(app) == _direct(app) == {"booking": 5, "booked": 20.0, "search": 4,
                                            "unmet": 2}


def test_summarise_activity_is_a_leased_job(app, dash_world):
    assert "summarise-activity" in JOBS and "send-coordinator-digest" in JOBS
    with app.app_context():
        outcome = run_job("summarise-activity", now=NOW)
        assert outcome.status == "ran"
        assert outcome.result["days"] == "all"
        outcome = run_job("summarise-activity", now=NOW + timedelta(minutes=15))
        assert outcome.status == "ran" and outcome.result["days"] != "all"
    assert _summed(app) == _direct(app)


def test_jobs_run_from_the_command_line(app, dash_world, runner):
    result = runner.invoke(args=["labnet", "jobs", "run", "summarise-activity"])
    assert result.exit_code == 0, result.output
    assert _summed(app) == _direct(app)


def test_digest_cutoff_is_the_latest_monday_0700_utc():
    monday = datetime(2026, 3, 2, 7, tzinfo=UTC)
    assert analytics.digest_cutoff(monday) == monday
    assert analytics.digest_cutoff(monday + timedelta(days=3)) == monday
    assert analytics.digest_cutoff(monday - timedelta(minutes=1)) == monday - timedelta(days=7)


def test_weekly_digest_reaches_each_coordinator_once_through_smtp(smtp, app, dash_world,
                                                                  make_user, frozen_clock):
    from labnet.models import Role

    make_user(roles=(Role.COORDINATOR,), full_name="Second <Coordinator>")
    make_user(roles=(Role.COORDINATOR,), is_active=False)
    summarise(app)
    with app.app_context():
        # Monday 2026-03-02 09:00: the week 2026-02-23 … 2026-03-01 (R2 made on the 22nd is
        # outside; R3 made on the 25th is inside).
        assert run_job("send-coordinator-digest", now=NOW).result["sent"] == 2
        assert run_job("send-coordinator-digest", now=NOW + timedelta(hours=1)
                       ).result["sent"] == 0  # once a week
    assert len(smtp.messages) == 2
    mail = smtp.to(dash_world.coordinator.email)[0]
    assert "2026-02-23" in mail["Subject"] or "23 Feb" in mail["Subject"]
    text = smtp.text(mail)
    assert "Hello Claire Coordinator" in text
    assert "Joint project requests: 1" in text
    assert "Cross-border interactions: 1 of 2 (50 %)" in text  # R3: FR→DE, FR→FR
    assert "http://labnet.test/dashboard?from=2026-02-23&to=2026-03-01" in text
    html = next(m for m in smtp.messages if m["To"] != dash_world.coordinator.email)
    body = html.get_body(preferencelist=("html",)).get_content()
    assert "Second &lt;Coordinator&gt;" in body and "<Coordinator>" not in body
    with app.app_context():
        # A week later, the next digest.
        assert run_job("send-coordinator-digest", now=NOW + timedelta(days=7)
                       ).result["sent"] == 2


def test_a_second_runner_is_turned_away_while_one_summarises(app, dash_world):
    from labnet.jobs import acquire_lease

    with app.app_context():
        assert acquire_lease("summarise-activity", "other-host:1", now=NOW,
                             lease=timedelta(minutes=30))
        outcome = run_job("summarise-activity", now=NOW + timedelta(minutes=1))
        assert outcome.status == "skipped" and outcome.holder == "other-host:1"
        assert db.session.scalar(select(func.count(ActivityDaily.id))) == 0


# --- the request summary (request_daily, request_hours_daily) --------------------------------

def _request_rows(app) -> tuple[list[tuple], list[tuple]]:
    from labnet.models.analytics import RequestDaily, RequestHoursDaily

    with app.app_context():
        daily = db.session.execute(select(
            RequestDaily.day, RequestDaily.kind, RequestDaily.ket_code, RequestDaily.n,
            RequestDaily.answered, RequestDaily.decided, RequestDaily.accepted,
            RequestDaily.declined, RequestDaily.late).where(RequestDaily.grain == "day")).all()
        # Month rows sum their month's day rows.
        cols = [RequestDaily.n, RequestDaily.answered, RequestDaily.decided,
                RequestDaily.accepted, RequestDaily.declined, RequestDaily.late]
        by_grain = {g: tuple(v) for g, *v in db.session.execute(
            select(RequestDaily.grain, *(func.sum(c) for c in cols))
            .group_by(RequestDaily.grain))}
        assert by_grain.get("month") == by_grain.get("day")
        hours = db.session.execute(select(RequestHoursDaily.day, RequestHoursDaily.measure,
                                          RequestHoursDaily.bucket, RequestHoursDaily.n)).all()
        return sorted(map(tuple, daily), key=repr), sorted(map(tuple, hours), key=repr)


def _figures(app, now=NOW, **filters):
    """The matching figures and the requests per month and kind of the test period as
    the dashboard computes them."""
    from datetime import date

    with app.app_context():
        f = analytics.Filters(start=date(2025, 11, 1), end=now.date(), **filters)
        figures = analytics.request_stats(f, now=now)
        months: dict = {}
        for month, kind, n, *_rest in figures.stats:
            key = (str(month)[:7], kind)
            months[key] = months.get(key, 0) + int(n)
        return {**analytics.matching_figures(f, figures), "months": months}


def test_request_summary_equals_a_direct_count_and_is_idempotent(app, dash_world):
    from datetime import date

    live = _figures(app)  # before any summary: every request is read live
    # Three weeks on, February is a whole month of summary rows (grain "month").
    live_later = _figures(app, now=NOW + timedelta(days=21))
    summarise(app)
    daily, hours = _request_rows(app)
    # Hand-counted: R1 (2026-02-01, service, AMT.ADD) answered after 72 h, accepted after
    # 96 h; R2 (2026-02-22, access, MNEP) never answered: late; R3 (2026-02-25, joint
    # project, AMT) answered after 24 h, declined after 48 h.
    assert daily == sorted([
        (date(2026, 2, 1), "service", "AMT.ADD", 1, 1, 1, 1, 0, 0),
        (date(2026, 2, 22), "access", "MNEP", 1, 0, 0, 0, 0, 1),
        (date(2026, 2, 25), "joint_project", "AMT", 1, 1, 1, 0, 1, 0),
    ], key=repr)
    b = analytics.HOUR_BUCKETS.index
    assert hours == sorted([
        (date(2026, 2, 1), "first", b(72), 1), (date(2026, 2, 1), "decision", b(96), 1),
        (date(2026, 2, 25), "first", b(24), 1), (date(2026, 2, 25), "decision", b(48), 1),
    ], key=repr)
    # The dashboard now reads R1 and R2 from the summary (more than a week old) and R3 live,
    # and gets the same figures as the all-live count.
    assert _figures(app) == live
    assert live["requests"] == 3 and live["unanswered_week"] == 1
    assert _figures(app, now=NOW + timedelta(days=21)) == live_later
    assert live_later["months"] == {("2026-02", "service"): 1, ("2026-02", "access"): 1,
                                    ("2026-02", "joint_project"): 1}
    assert live_later["unanswered_week"] == 1 and live_later["week_old"] == 3
    summarise(app)  # incremental
    assert _request_rows(app) == (daily, hours)
    summarise(app, full=True)
    assert _request_rows(app) == (daily, hours)


def test_request_summary_picks_up_a_late_response_incrementally(app, dash_world):
    from datetime import date

    from labnet.models.request import LabRequest

    summarise(app)
    later = NOW + timedelta(hours=2)
    with app.app_context():
        r2 = db.session.scalar(select(LabRequest).where(LabRequest.reference == "RQ-D-2"))
        r2.first_response_at = later  # answered after 8 days: still late (> 7 days)
        r2.status = "in_review"
        db.session.commit()
    before = _figures(app)
    assert before["answered"] == 2  # the summary still says R2 is unanswered
    with app.app_context():
        result = analytics.summarise_activity(now=later + timedelta(minutes=5))
        db.session.commit()
    assert result["days"] != "all"
    daily, hours = _request_rows(app)
    assert (date(2026, 2, 22), "access", "MNEP", 1, 1, 0, 0, 0, 1) in daily
    # 8 days and 2 hours = 194 h, in [168, 216).
    assert (date(2026, 2, 22), "first", analytics.HOUR_BUCKETS.index(168), 1) in hours
    after = _figures(app)
    assert after["answered"] == 3 and after["unanswered_week"] == 1
    with app.app_context():
        analytics.summarise_activity(now=later + timedelta(minutes=10), full=True)
        db.session.commit()
    assert _request_rows(app) == (daily, hours)  # incremental == full rebuild


def test_interpolated_median_of_hour_buckets():
    b = analytics.HOUR_BUCKETS.index
    assert analytics.interpolated_median({}) is None
    # One value in [24, 36): the middle (1/2 request in) is half way: 30.
    assert analytics.interpolated_median({b(24): 1}) == 30.0
    # 24 h and 72 h: the middle (1 request in) is the top of [24, 36).
    assert analytics.interpolated_median({b(24): 1, b(72): 1}) == 36.0
    # Three in [48, 72) and one in [96, 120): the middle (2 in) is 2/3 through: 64.
    assert analytics.interpolated_median({b(48): 3, b(96): 1}) == 64.0
    assert analytics.interpolated_median({len(analytics.HOUR_BUCKETS) - 1: 5}) == 4320.0
