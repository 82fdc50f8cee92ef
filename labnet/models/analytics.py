"""The coordinators' dashboard's daily summary.

``activity_daily`` holds one row per day and combination of dimensions for the two
high-volume sources, catalogue searches (``demand_signal``) and bookings, so a year's
dashboard reads a few thousand narrow rows instead of millions. Rows are written only by
``services.analytics.summarise_activity`` (job ``summarise-activity``), which recomputes
whole days: delete the day's rows, insert them again from the source tables.

``activity_summary_state`` keeps each job's watermark (until when it has summarised, when
the weekly coordinator digest last went out).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from labnet.models.base import Base


class ActivityMetric(StrEnum):
    # One catalogue search (lab_id empty): ket_code, category_code and supply_country are
    # the search's filters, demand_country the searcher's country, unmet when it found ≤ 2.
    SEARCH = "search"
    # Booking requests made that day (by created_at), whatever became of them; hours asked.
    BOOKING = "booking"
    # Confirmed or completed bookings starting that day and their hours (utilisation).
    BOOKED = "booked"
    # The same two summed over the requesting countries and categories, per lab and day:
    # the demand chart and the per-lab utilisation read these much smaller rows.
    LAB_BOOKINGS = "lab_bkg"
    LAB_HOURS = "lab_hours"
    # Without a lab, the lab's country in supply_country (views without lab filters but
    # the country): booking requests by requesting country (flows), confirmed hours by
    # category, and request–lab pairs by requesting country (request flows).
    FLOW = "flow"
    CATEGORY_HOURS = "cat_hours"
    REQUEST_FLOW = "req_flow"


class ActivityDaily(Base):
    __tablename__ = "activity_daily"
    __table_args__ = (
        CheckConstraint(
            "metric IN ('search', 'booking', 'booked', 'lab_bkg', 'lab_hours', 'flow', "
            "'cat_hours', 'req_flow')",
            name="metric",
        ),
        CheckConstraint("n >= 0 AND hours >= 0", name="values"),
        CheckConstraint("grain IN ('day', 'month')", name="grain"),
        # Every dashboard read is "this metric over this period"; the lab index serves the
        # managers' (few labs) and the networks' scoped reads.
        Index("ix_activity_daily_metric_grain_day", "metric", "grain", "day"),
        Index("ix_activity_daily_lab_day", "lab_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date]
    metric: Mapped[str] = mapped_column(String(10))
    # "day" rows are what the job computes; "month" rows sum a month's day rows, so a
    # year's dashboard reads twelve month rows per combination instead of 365 day rows.
    grain: Mapped[str] = mapped_column(String(5), default="day")
    lab_id: Mapped[int | None] = mapped_column(ForeignKey("lab.id", ondelete="CASCADE"))
    category_code: Mapped[str | None] = mapped_column(String(40))
    ket_code: Mapped[str | None] = mapped_column(String(16))
    demand_country: Mapped[str | None] = mapped_column(String(2))
    supply_country: Mapped[str | None] = mapped_column(String(2))
    unmet: Mapped[bool] = mapped_column(default=False)
    n: Mapped[int] = mapped_column(default=0)
    hours: Mapped[float] = mapped_column(Float, default=0.0)


class RequestDaily(Base):
    """Requests (``lab_request``) made on one UTC day, per kind and KET area, as of the
    summary job's last run: how many, answered (a first response), decided, accepted
    (accepted, active or completed), declined, and ``late``: no first response within 7
    days of creation (fixed once the 7 days are over; the dashboard reads these rows only
    for days at least a week old). A request whose answer changes later (``updated_at``,
    its audit events) has its day summarised again."""

    __tablename__ = "request_daily"
    __table_args__ = (
        CheckConstraint("grain IN ('day', 'month')", name="grain"),
        Index("ix_request_daily_grain_day", "grain", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date]
    # "day" rows are computed; "month" rows sum a month's day rows (day = its first day).
    grain: Mapped[str] = mapped_column(String(5), default="day")
    kind: Mapped[str] = mapped_column(String(16))
    ket_code: Mapped[str | None] = mapped_column(String(16))
    n: Mapped[int] = mapped_column(default=0)
    answered: Mapped[int] = mapped_column(default=0)
    decided: Mapped[int] = mapped_column(default=0)
    accepted: Mapped[int] = mapped_column(default=0)
    declined: Mapped[int] = mapped_column(default=0)
    late: Mapped[int] = mapped_column(default=0)


class RequestHoursDaily(Base):
    """A histogram per UTC day of the requests made that day: how many got their first
    response (``measure = 'first'``) or their decision (``'decision'``) within hour bucket
    ``bucket`` (an index into ``services.analytics.HOUR_BUCKETS``). Medians cannot be
    summed; they are interpolated from these counts."""

    __tablename__ = "request_hours_daily"
    __table_args__ = (
        CheckConstraint("measure IN ('first', 'decision')", name="measure"),
        Index("ix_request_hours_daily_day", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date]
    measure: Mapped[str] = mapped_column(String(10))
    bucket: Mapped[int]
    n: Mapped[int] = mapped_column(default=0)


class ActivitySummaryState(Base):
    """A named watermark: ``summarise-activity`` (summarised every change up to ``until``)
    and ``coordinator-digest`` (the week whose digest went out)."""

    __tablename__ = "activity_summary_state"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    until: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
