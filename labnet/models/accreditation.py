"""A lab's accreditations: claims with evidence, their verification, expiry and renewal.

States (``status``): claimed → verified | rejected; verified → suspended | withdrawn |
expired (the daily job, once the end has passed) | superseded (a verified renewal took
over); suspended → verified (lifted) | withdrawn. Which rows *count* (search, badges,
registry) is decided once, by ``labnet.services.accreditation.validity.currently_valid``:
verified and ``ends_at`` still ahead. ``ends_at`` is the instant the lab's local day after
``valid_until`` begins, so an accreditation drops out at the lab's midnight whatever zone
the reader is in and whenever the job runs.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from labnet.models.base import Base, TimestampMixin

if TYPE_CHECKING:
    from labnet.models.lab import Lab


class AccreditationStatus(StrEnum):
    CLAIMED = "claimed"
    VERIFIED = "verified"
    REJECTED = "rejected"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"


def new_verification_code() -> str:
    """The unguessable part of a public verification address (``/verify/<code>``)."""
    return secrets.token_urlsafe(18)


class Accreditation(TimestampMixin, Base):
    __tablename__ = "accreditation"
    __table_args__ = (
        CheckConstraint("status IN ('claimed', 'verified', 'rejected', 'suspended', "
                        "'withdrawn', 'expired', 'superseded')", name="status"),
        CheckConstraint("valid_until IS NULL OR valid_from IS NULL OR valid_until >= valid_from",
                        name="validity"),
        Index("ix_accreditation_scheme_status", "scheme_code", "status", "valid_until"),
        Index("ix_accreditation_status_ends_at", "status", "ends_at"),
        # The catalogue's ``accreditation=`` filter: the labs holding a valid one of a
        # scheme, read from the index alone (scheme, status, end, lab).
        Index("ix_accreditation_scheme_valid_lab", "scheme_code", "status", "ends_at",
              "lab_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id", ondelete="CASCADE"), index=True)
    scheme_code: Mapped[str] = mapped_column(ForeignKey("accreditation_scheme.code"))
    certificate_no: Mapped[str] = mapped_column(String(100), default="")
    issuer: Mapped[str] = mapped_column(String(200), default="")
    scope: Mapped[str] = mapped_column(Text, default="")
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]
    # The instant validity ends: the lab's local midnight after valid_until, in UTC (None:
    # no end). Kept by the services whenever valid_until or the lab's zone is set.
    ends_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(10), default=AccreditationStatus.CLAIMED)
    verified_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    verified_at: Mapped[datetime | None]
    # The level of a graded label (the LabNet excellence label: bronze, silver, gold).
    level: Mapped[str | None] = mapped_column(String(10))
    # The claim this one renews; once verified it takes over and the old one is superseded.
    renews_id: Mapped[int | None] = mapped_column(
        ForeignKey("accreditation.id", ondelete="SET NULL"), index=True)
    claimed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    # The last decision after verification or a refusal: who, when, why (rejected,
    # suspended, withdrawn, expired, superseded).
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text, default="")
    # Evidence: a PDF kept under instance/ (never a static folder) and/or the address of
    # the entry in the issuer's public register.
    evidence_file: Mapped[str] = mapped_column(String(80), default="")
    evidence_name: Mapped[str] = mapped_column(String(200), default="")
    evidence_size: Mapped[int] = mapped_column(Integer, default=0)
    evidence_url: Mapped[str] = mapped_column(String(500), default="")
    code: Mapped[str | None] = mapped_column(String(40), unique=True,
                                             default=new_verification_code)
    # Optimistic concurrency: every decision is UPDATE … WHERE version = :seen.
    version: Mapped[int] = mapped_column(Integer, default=1)

    # Loaded with the row (every page of an accreditation names its lab): no lazy SQL.
    lab: Mapped[Lab] = relationship(lazy="joined", innerjoin=True)


class AccreditationQuestion(Base):
    """A verifier's question on a claim and the lab's one answer."""

    __tablename__ = "accreditation_question"

    id: Mapped[int] = mapped_column(primary_key=True)
    accreditation_id: Mapped[int] = mapped_column(
        ForeignKey("accreditation.id", ondelete="CASCADE"), index=True)
    asked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    asked_at: Mapped[datetime]
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    answered_at: Mapped[datetime | None]


class AccreditationReminder(Base):
    """A reminder sent about an accreditation (``expiring-90``, ``-30``, ``-7``,
    ``waiting``): the unique pair makes each one sent once, whoever runs the job."""

    __tablename__ = "accreditation_reminder"
    __table_args__ = (UniqueConstraint("accreditation_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    accreditation_id: Mapped[int] = mapped_column(
        ForeignKey("accreditation.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    sent_at: Mapped[datetime]


class AccreditationTerm(Base):
    """``term`` (a stem, as the catalogue's word search makes them) occurs in the
    accreditation's scope: the registry's scope search reads this instead of every scope.
    Kept by :mod:`labnet.services.accreditation.scope_words` at every flush."""

    __tablename__ = "accreditation_term"

    term: Mapped[str] = mapped_column(String(80), primary_key=True)
    accreditation_id: Mapped[int] = mapped_column(
        ForeignKey("accreditation.id", ondelete="CASCADE"), primary_key=True, index=True)
