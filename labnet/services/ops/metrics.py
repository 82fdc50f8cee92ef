"""Figures ``/metrics`` reads from the database at scrape time: the same on every host.

Bookings and requests by status, each job's runs, failures and lag (how long past its
interval its last start lies), the outbox's depth, oldest message, dead letters and bounces.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import func, select

from labnet.extensions import db
from labnet.models import Booking, JobLock, LabRequest
from labnet.services.notifications.outbox import outbox_health


def database_metrics(*, now: datetime, jobs: dict[str, float]) -> list[Metric]:
    """The database's figures as metric families; ``jobs`` maps each job to its interval
    in seconds (a job never run is reported with its lag since nothing)."""
    bookings = GaugeMetricFamily("labnet_bookings", "Bookings by status", labels=["status"])
    for status, n in db.session.execute(
            select(Booking.status, func.count()).group_by(Booking.status)):
        bookings.add_metric([str(status)], n)
    requests = GaugeMetricFamily("labnet_requests", "Access, service and joint-project "
                                 "requests by status", labels=["status"])
    for status, n in db.session.execute(
            select(LabRequest.status, func.count()).group_by(LabRequest.status)):
        requests.add_metric([str(status)], n)
    runs = CounterMetricFamily("labnet_job_runs", "Finished runs of each job", labels=["job"])
    failures = CounterMetricFamily("labnet_job_failures", "Failed runs of each job",
                                   labels=["job"])
    lag = GaugeMetricFamily("labnet_job_lag_seconds", "How far past its interval the job's "
                            "last start lies (0: on time)", labels=["job"])
    rows = {r.name: r for r in db.session.scalars(select(JobLock))}
    for name, interval in sorted(jobs.items()):
        row = rows.get(name)
        runs.add_metric([name], row.run_count if row else 0)
        failures.add_metric([name], row.failure_count if row else 0)
        started = row.last_started_at if row else None
        late = (now - started).total_seconds() - interval if started else 0.0
        lag.add_metric([name], max(0.0, late))
    outbox = outbox_health(now=now)
    depth = GaugeMetricFamily("labnet_outbox_queued", "E-mail waiting to be sent",
                              value=outbox["queued"])
    oldest = GaugeMetricFamily("labnet_outbox_oldest_age_seconds",
                               "Age of the oldest queued e-mail", value=outbox["oldest_age"])
    dead = GaugeMetricFamily("labnet_outbox_failed", "E-mail given up (dead letters)",
                             value=outbox["failed"])
    bounced = GaugeMetricFamily("labnet_outbox_bounced",
                                "E-mail refused for good by the mail server",
                                value=outbox["bounced"])
    db.session.rollback()
    return [bookings, requests, runs, failures, lag, depth, oldest, dead, bounced]
