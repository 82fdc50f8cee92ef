"""Background work: the job leases that keep a job from running twice at once, and the
queue of geocoding requests waiting for the online geocoder."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from labnet.models.base import Base
from labnet.models.lab import Lab


class JobLock(Base):
    """One row per job name (created on first use). A runner owns the job while
    ``lease_until`` lies in the future; it takes the row with a compare-and-set UPDATE
    (RELIABILITY §2.2.4), so two schedulers on two hosts never run one job at once."""

    __tablename__ = "job_lock"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None]
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    last_status: Mapped[str] = mapped_column(String(20), default="")
    # Runs and failed runs since the row appeared (for /metrics: every host reads them here).
    run_count: Mapped[int] = mapped_column(default=0, server_default="0")
    failure_count: Mapped[int] = mapped_column(default=0, server_default="0")


class GeocodeRequest(Base):
    """A query the online geocoder must answer, queued because it may only be called from
    the ``geocode-pending`` job (one process, one request a second). With ``lab_id`` the
    answer places that lab, unless its coordinates were entered by hand meanwhile."""

    __tablename__ = "geocode_request"
    __table_args__ = (Index("ix_geocode_request_requested_at", "requested_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    query: Mapped[str] = mapped_column(String(300))
    country: Mapped[str | None] = mapped_column(String(2))
    query_key: Mapped[str] = mapped_column(String(300))
    lab_id: Mapped[int | None] = mapped_column(
        ForeignKey("lab.id", ondelete="CASCADE"), index=True
    )
    requested_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)

    lab: Mapped[Lab | None] = relationship(lazy="raise_on_sql")
