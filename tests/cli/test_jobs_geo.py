"""``flask labnet jobs …``, ``flask labnet geo lookup`` and the job lease."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from labnet import jobs
from labnet.extensions import db
from labnet.models import JobLock, Lab

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def unplaced_lab(make_lab):
    return make_lab(city="München", postal_code="80331", country="DE", lat=None, lon=None,
                    timezone="")


def _hold_lease(app, holder: str, until: datetime) -> None:
    # Another runner's lease, committed on a connection of its own.
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(insert(JobLock.__table__).values(
            name="geocode-pending", holder=holder, lease_until=until, last_status=""))


def test_jobs_run_geocode_pending_places_labs_without_coordinates(app, runner, unplaced_lab,
                                                                  frozen_clock):
    result = runner.invoke(args=["labnet", "jobs", "run", "geocode-pending"])
    assert result.exit_code == 0, result.output
    assert "geocode-pending: done (placed 1" in result.output
    with app.app_context():
        lab = db.session.get(Lab, unplaced_lab.id)
        assert lab.coords_source == "gazetteer"
        assert lab.lat == pytest.approx(48.137, abs=0.01)
        assert lab.timezone == "Europe/Berlin"
        lock = db.session.get(JobLock, "geocode-pending")
        assert lock.holder is None and lock.lease_until is None
        assert (lock.last_started_at, lock.last_status) == (frozen_clock.now, "ok")
    again = runner.invoke(args=["labnet", "jobs", "run", "geocode-pending"])
    assert "nothing to do" in again.output


def test_jobs_run_is_skipped_while_another_runner_holds_the_lease(app, runner, unplaced_lab,
                                                                  frozen_clock):
    _hold_lease(app, "other-host:4242:abcd", frozen_clock.now + timedelta(minutes=10))
    result = runner.invoke(args=["labnet", "jobs", "run", "geocode-pending"])
    assert result.exit_code == 0, result.output
    assert "skipped (running elsewhere: other-host:4242:abcd until 09:10:00 UTC)" in result.output
    with app.app_context():
        assert db.session.get(Lab, unplaced_lab.id).lat is None  # nothing ran
        assert db.session.get(JobLock, "geocode-pending").holder == "other-host:4242:abcd"


def test_an_ended_lease_of_a_dead_runner_is_taken_over(app, runner, unplaced_lab,
                                                       frozen_clock):
    _hold_lease(app, "crashed-host:1:dead", frozen_clock.now - timedelta(seconds=1))
    result = runner.invoke(args=["labnet", "jobs", "run", "geocode-pending"])
    assert "done (placed 1" in result.output


def test_two_runs_at_once_do_not_both_run(app, monkeypatch):
    started, release = threading.Event(), threading.Event()
    runs: list[str] = []

    def slow_job(*, now):
        runs.append("ran")
        started.set()
        assert release.wait(10)
        return {"done": 1}

    monkeypatch.setitem(jobs.JOBS, "slow", jobs.Job(slow_job, timedelta(minutes=1),
                                                    timedelta(minutes=5), "test job"))
    outcomes: list[jobs.JobOutcome] = []

    def first_runner():
        with app.app_context():
            outcomes.append(jobs.run_job("slow", now=NOW))
            db.session.remove()

    thread = threading.Thread(target=first_runner)
    thread.start()
    try:
        assert started.wait(10)
        with app.app_context():
            second = jobs.run_job("slow", now=NOW)
    finally:
        release.set()
        thread.join(10)
    assert second.status == "skipped" and second.holder
    assert [o.status for o in outcomes] == ["ran"] and runs == ["ran"]
    with app.app_context():
        assert jobs.run_job("slow", now=NOW).status == "ran"  # free again afterwards


def test_a_failing_job_rolls_back_and_frees_its_lease(app, monkeypatch, make_lab):
    made = make_lab()

    def broken(*, now):
        db.session.get(Lab, made.id).name = "half-written"
        db.session.flush()
        raise RuntimeError("boom")

    monkeypatch.setitem(jobs.JOBS, "broken", jobs.Job(broken, timedelta(minutes=1),
                                                      timedelta(minutes=5), "test job"))
    with app.app_context():
        with pytest.raises(RuntimeError):
            jobs.run_job("broken", now=NOW)
        assert db.session.get(Lab, made.id).name != "half-written"
        lock = db.session.get(JobLock, "broken")
        assert (lock.holder, lock.last_status) == (None, "failed")


def test_jobs_list_names_each_job_and_its_last_run(runner, frozen_clock):
    result = runner.invoke(args=["labnet", "jobs", "list"])
    assert "geocode-pending" in result.output and "never run" in result.output
    runner.invoke(args=["labnet", "jobs", "run", "geocode-pending"])
    assert "(ok)" in runner.invoke(args=["labnet", "jobs", "list"]).output


def test_jobs_run_unknown_name_fails(runner):
    result = runner.invoke(args=["labnet", "jobs", "run", "no-such-job"])
    assert result.exit_code != 0 and "geocode-pending" in result.output


def test_scheduler_registers_every_job_on_utc_intervals(app):
    scheduler = jobs.build_scheduler(app)
    registered = {job.id: job for job in scheduler.get_jobs()}
    assert set(registered) == set(jobs.JOBS)
    job = registered["geocode-pending"]
    assert job.trigger.interval == timedelta(minutes=5)
    assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 300)


@pytest.mark.parametrize("query", ["Aachen, Germany", "52062 Aachen", "Aachen, DE"])
def test_geo_lookup_prints_the_place(runner, query):
    result = runner.invoke(args=["labnet", "geo", "lookup", query])
    assert result.exit_code == 0, result.output
    assert "Aachen, DE  50.77664, 6.08342  Europe/Berlin  (gazetteer" in result.output


def test_geo_lookup_says_not_found(runner):
    result = runner.invoke(args=["labnet", "geo", "lookup", "Xyzzyville"])
    assert result.exit_code == 0 and result.output.strip() == "not found"


def test_geo_lookup_with_country_option(runner):
    result = runner.invoke(args=["labnet", "geo", "lookup", "Cologne", "--country", "Italy"])
    assert "Cologne, IT" in result.output


def test_job_lock_rows_appear_on_first_use(app, runner):
    runner.invoke(args=["labnet", "jobs", "run", "geocode-pending"])
    with app.app_context():
        assert db.session.scalars(select(JobLock.name)).all() == ["geocode-pending"]


def test_geo_lookup_with_nominatim_queues_then_answers_from_the_cache(app, runner,
                                                                     monkeypatch):
    from labnet.services.geo import geocoding as geo
    from tests.services.test_geo import FakeOnlineGeocoder

    app.config.update(GEOCODER="nominatim", NOMINATIM_USER_AGENT="LabNet-tests/1.0 (t@x.test)",
                      NOMINATIM_DOMAIN="nominatim.test", GEOCODE_MIN_DELAY=0)
    fake = FakeOnlineGeocoder({"Aachen, Germany": ("Aachen, Deutschland", 50.776, 6.0838)})
    monkeypatch.setattr(geo, "make_online_geocoder", lambda config: fake)
    first = runner.invoke(args=["labnet", "geo", "lookup", "Aachen, Germany"])
    assert "(gazetteer" in first.output and "queued for the online geocoder" in first.output
    assert fake.calls == []
    assert "requests 1" in runner.invoke(args=["labnet", "jobs", "run", "geocode-pending"]).output
    second = runner.invoke(args=["labnet", "geo", "lookup", "Aachen, Germany"])
    assert "50.77600, 6.08380  Europe/Berlin  (cache" in second.output
    assert "queued" not in second.output
    assert fake.calls == [("Aachen, Germany", None)]
