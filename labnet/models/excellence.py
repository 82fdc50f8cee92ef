"""The LabNet excellence label: a lab's application, its answers and the verifiers' scores.

The framework (criteria, groups, levels) is data: ``labnet/data/excellence_framework.yaml``.
An awarded application creates an ``accreditation`` row of scheme ``labnet-excellence``
(``accreditation_id``): that row is the label the catalogue, the badges and the registry show.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from labnet.models.base import Base, TimestampMixin
from labnet.models.lab import Lab


class LabelStatus(StrEnum):
    DRAFT = "draft"  # the lab's managers are writing it; only they (and admins) see it
    SUBMITTED = "submitted"  # waiting for the two initial scores
    THIRD = "third"  # the two differ by more than one point somewhere: a third decides
    AWARDED = "awarded"
    NOT_AWARDED = "not_awarded"


OPEN_STATUSES = (LabelStatus.SUBMITTED, LabelStatus.THIRD)
OPEN_WHERE = "status IN ('draft', 'submitted', 'third')"


class LabelApplication(TimestampMixin, Base):
    """One application of a lab for the label; a renewal names the label it renews."""

    __tablename__ = "label_application"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'submitted', 'third', 'awarded', 'not_awarded')",
                        name="status"),
        CheckConstraint("level IS NULL OR level IN ('bronze', 'silver', 'gold')", name="level"),
        Index("ix_label_application_status", "status", "submitted_at"),
        # One application in progress per lab, even when two managers click at once.
        Index("uq_label_application_open", "lab_id", unique=True,
              sqlite_where=text(OPEN_WHERE), postgresql_where=text(OPEN_WHERE)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=LabelStatus.DRAFT)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    framework_version: Mapped[str] = mapped_column(String(20))
    submitted_at: Mapped[datetime | None]
    # LabNet's own figures of the lab's last 12 months, frozen when submitted.
    figures: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    decided_at: Mapped[datetime | None]
    level: Mapped[str | None] = mapped_column(String(10))
    # The agreed score per criterion and why it was not awarded, written at the decision.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    renews_id: Mapped[int | None] = mapped_column(
        ForeignKey("accreditation.id", ondelete="SET NULL"))
    accreditation_id: Mapped[int | None] = mapped_column(
        ForeignKey("accreditation.id", ondelete="SET NULL"), unique=True)
    # Bumped as the first write of every scoring: the row lock that orders two verifiers.
    lock_seq: Mapped[int] = mapped_column(default=0)

    lab: Mapped[Lab] = relationship(lazy="joined", innerjoin=True)


class LabelAnswer(Base):
    """The lab's answer to one criterion: text and optional evidence (a URL and/or a PDF
    stored under the instance folder, ``evidence_file`` being its name there)."""

    __tablename__ = "label_answer"

    application_id: Mapped[int] = mapped_column(
        ForeignKey("label_application.id", ondelete="CASCADE"), primary_key=True)
    criterion: Mapped[str] = mapped_column(String(10), primary_key=True)
    text: Mapped[str] = mapped_column(Text, default="")
    evidence_url: Mapped[str] = mapped_column(String(500), default="")
    evidence_file: Mapped[str | None] = mapped_column(String(100))
    evidence_name: Mapped[str] = mapped_column(String(200), default="")


class LabelScore(Base):
    """One verifier's score of one criterion. ``seat`` 1 and 2 are the two initial scorers
    (every criterion), 3 the third who decides the criteria they disagree on. The unique
    constraints make the database hold one score per (application, verifier, criterion)
    and one verifier per seat and criterion, so two verifiers racing for the second seat
    cannot both get it."""

    __tablename__ = "label_score"
    __table_args__ = (
        CheckConstraint("score >= 0 AND score <= 4", name="score"),
        CheckConstraint("seat IN (1, 2, 3)", name="seat"),
        UniqueConstraint("application_id", "verifier_id", "criterion",
                         name="uq_label_score_verifier"),
        UniqueConstraint("application_id", "seat", "criterion", name="uq_label_score_seat"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("label_application.id", ondelete="CASCADE"), index=True)
    verifier_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    seat: Mapped[int]
    criterion: Mapped[str] = mapped_column(String(10))
    score: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")
    scored_at: Mapped[datetime]
