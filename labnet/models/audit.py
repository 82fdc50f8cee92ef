"""Audit trail and the e-mail outbox."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from labnet.models.base import Base


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_subject", "subject_type", "subject_id"),
        Index("ix_audit_event_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    action: Mapped[str] = mapped_column(String(60))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int | None]
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"  # handed to the SMTP server
    LOGGED = "logged"  # no SMTP server configured: written to the console, kept here
    FAILED = "failed"  # gave up after MAX_ATTEMPTS
    HELD = "held"  # for a recipient who reads the daily digest; bundled by the digest job
    DIGESTED = "digested"  # went out inside a digest


class OutboxEmail(Base):
    __tablename__ = "outbox_email"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'sent', 'logged', 'failed', 'held', 'digested')",
            name="status",
        ),
        Index("ix_outbox_email_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(40))
    to_addr: Mapped[str] = mapped_column(String(254), index=True)
    # Where answers go when not to LabNet's sender (a lab contact message: its sender).
    reply_to: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    # What is sent. While the message is unsent and carries secret links (reset, confirm,
    # cancel), the same bodies with those links replaced wait in redacted_*; once it is sent
    # (or given up), body_* are overwritten with them and redacted_* cleared, so no working
    # token stays in the table or on the admin outbox page.
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    redacted_text: Mapped[str | None] = mapped_column(Text)
    redacted_html: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8), default=OutboxStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None]
    # After a temporary failure the outbox job waits until then (backoff: 2, 4, 8, … min).
    next_attempt_at: Mapped[datetime | None]
    # The mail server refused the recipient for good (a 5xx answer): a bounce.
    bounced: Mapped[bool] = mapped_column(default=False, server_default=false())


class DemandSignal(Base):
    """One catalogue search, anonymised: the filters used, how many labs it found, and the
    searcher's country when logged in (never who searched). Read by the coordinators'
    dashboard to show unmet demand."""

    __tablename__ = "demand_signal"
    __table_args__ = (
        Index("ix_demand_signal_at", "at"),
        Index("ix_demand_signal_ket_at", "ket_code", "at"),
        Index("ix_demand_signal_results_at", "result_count", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(10), default="labs")  # labs | map | api
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    query_text: Mapped[str] = mapped_column(String(200), default="")
    ket_code: Mapped[str | None] = mapped_column(String(16))
    category_code: Mapped[str | None] = mapped_column(String(40))
    country_filter: Mapped[str | None] = mapped_column(String(2))
    result_count: Mapped[int] = mapped_column(default=0)
    searcher_country: Mapped[str | None] = mapped_column(String(2))
    # HMAC of (client, search, ten-minute window): the same client repeating the same
    # search within the window counts once. Keyed with the secret key, so it names nobody.
    dedupe_key: Mapped[str | None] = mapped_column(String(64), unique=True)
