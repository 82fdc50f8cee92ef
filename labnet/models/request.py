"""Requests: access, service and joint-project requests from a company to one or more labs,
each lab's answer, and the message thread between the parties.

The workflow lives in ``labnet.services.requests.workflow``; the dashboard reads these tables with
SQL aggregates (``status``, ``kind``, ``created_at``, ``first_response_at``, ``decided_at``).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from labnet.i18n import _l
from labnet.models.base import Base, TimestampMixin
from labnet.models.lab import Lab
from labnet.models.organisation import Organisation
from labnet.models.user import User


class RequestKind(StrEnum):
    ACCESS = "access"
    SERVICE = "service"
    JOINT_PROJECT = "joint_project"


REQUEST_KIND_LABELS = {
    RequestKind.ACCESS: _l("Access to a capability or facility"),
    RequestKind.SERVICE: _l("Service (test, analysis, prototype)"),
    RequestKind.JOINT_PROJECT: _l("Joint project"),
}


class RequestStatus(StrEnum):
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    ACTIVE = "active"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


REQUEST_STATUS_LABELS = {
    RequestStatus.SUBMITTED: _l("Submitted"),
    RequestStatus.IN_REVIEW: _l("In review"),
    RequestStatus.ACCEPTED: _l("Accepted"),
    RequestStatus.DECLINED: _l("Declined"),
    RequestStatus.ACTIVE: _l("Active"),
    RequestStatus.COMPLETED: _l("Completed"),
    RequestStatus.WITHDRAWN: _l("Withdrawn"),
}

# "Open": still waiting for somebody, or running. Closed: declined, completed, withdrawn.
OPEN_STATUSES = (
    RequestStatus.SUBMITTED,
    RequestStatus.IN_REVIEW,
    RequestStatus.ACCEPTED,
    RequestStatus.ACTIVE,
)
CLOSED_STATUSES = (RequestStatus.DECLINED, RequestStatus.COMPLETED, RequestStatus.WITHDRAWN)
# From which statuses each move is allowed.
ANSWERABLE = (RequestStatus.SUBMITTED, RequestStatus.IN_REVIEW, RequestStatus.ACCEPTED)
WITHDRAWABLE = (RequestStatus.SUBMITTED, RequestStatus.IN_REVIEW, RequestStatus.ACCEPTED,
                RequestStatus.ACTIVE)
THREAD_OPEN = WITHDRAWABLE


class LabAnswer(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


# The stored values (English, as saved in ``project_request.funding_programme``); people
# read FUNDING_PROGRAMME_LABELS.
FUNDING_PROGRAMMES = (
    "Horizon Europe",  # i18n: keep (the stored value)
    "Interreg",
    "Digital Europe",  # i18n: keep (the stored value)
    "LIFE",
    "EIC Accelerator",
    "European Regional Development Fund",  # i18n: keep
    "National programme",  # i18n: keep
    "Regional programme",  # i18n: keep
    "Own funds",  # i18n: keep
    "Other",
)
FUNDING_PROGRAMME_LABELS = {
    "Horizon Europe": "Horizon Europe",  # i18n: keep (the stored value)
    "Interreg": "Interreg",
    "Digital Europe": "Digital Europe",  # i18n: keep (the stored value)
    "LIFE": "LIFE",
    "EIC Accelerator": "EIC Accelerator",
    "European Regional Development Fund": _l("European Regional Development Fund"),  # i18n: keep
    "National programme": _l("National programme"),  # i18n: keep
    "Regional programme": _l("Regional programme"),  # i18n: keep
    "Own funds": _l("Own funds"),  # i18n: keep
    "Other": _l("Other"),  # i18n: keep
}


def _in(column: str, enum: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(str(m)) for m in enum)})"


class LabRequest(TimestampMixin, Base):
    __tablename__ = "lab_request"
    __table_args__ = (
        CheckConstraint(_in("kind", RequestKind), name="kind"),
        CheckConstraint(_in("status", RequestStatus), name="status"),
        CheckConstraint(
            "budget_min_eur IS NULL OR budget_max_eur IS NULL OR budget_max_eur >= budget_min_eur",
            name="budget",
        ),
        CheckConstraint("trl_now IS NULL OR (trl_now >= 1 AND trl_now <= 9)", name="trl_now"),
        CheckConstraint(
            "trl_target IS NULL OR (trl_target >= 1 AND trl_target <= 9)", name="trl_target"
        ),
        Index("ix_lab_request_org_created", "organisation_id", "created_at"),
        Index("ix_lab_request_created", "created_at"),
        # Covering index for the dashboard's live request figures (services.analytics:
        # request_stats, the two medians): every column they read, so a year's scan reads
        # the index only, never the wide rows (title, summary).
        Index("ix_lab_request_dashboard", "created_at", "kind", "ket_code", "status",
              "first_response_at", "decided_at", "organisation_id"),
        # The summary job finds requests changed since its previous run.
        Index("ix_lab_request_updated", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Human reference, e.g. RQ-2026-000123 (set from the id right after the insert).
    reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(12), default=RequestStatus.SUBMITTED, index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    ket_code: Mapped[str | None] = mapped_column(String(16), ForeignKey("ket_area.code"))
    equipment_id: Mapped[int | None] = mapped_column(ForeignKey("equipment.id"))
    quantity: Mapped[str] = mapped_column(String(120), default="")
    deadline: Mapped[date | None] = mapped_column(Date)
    budget_min_eur: Mapped[int | None]
    budget_max_eur: Mapped[int | None]
    duration_months: Mapped[int | None]
    funding_programme: Mapped[str] = mapped_column(String(60), default="")
    trl_now: Mapped[int | None]
    trl_target: Mapped[int | None]
    first_response_at: Mapped[datetime | None]
    # When the requester was told that no lab had answered yet (services.requests.workflow:
    # tell_unanswered_requesters), once per request.
    unanswered_notice_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # When the company confirmed an accepted request (it then becomes active).
    confirmed_at: Mapped[datetime | None]
    # Last message or state change: "last activity" in the lists, without a join.
    last_activity_at: Mapped[datetime | None]

    organisation: Mapped[Organisation] = relationship(lazy="raise_on_sql")
    created_by: Mapped[User] = relationship(lazy="raise_on_sql", foreign_keys=[created_by_id])
    labs: Mapped[list[RequestLab]] = relationship(
        lazy="raise_on_sql", back_populates="request", order_by="RequestLab.id"
    )

    @property
    def kind_label(self) -> str:
        return str(REQUEST_KIND_LABELS.get(RequestKind(self.kind), self.kind))

    @property
    def status_label(self) -> str:
        return str(REQUEST_STATUS_LABELS.get(RequestStatus(self.status), self.status))

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class RequestLab(Base):
    """One lab addressed by a request, and that lab's own answer."""

    __tablename__ = "request_lab"
    __table_args__ = (
        CheckConstraint(_in("answer", LabAnswer), name="answer"),
        UniqueConstraint("request_id", "lab_id", name="uq_request_lab_request_lab"),
        Index("ix_request_lab_lab_answer", "lab_id", "answer"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("lab_request.id", ondelete="CASCADE"))
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id"))
    answer: Mapped[str] = mapped_column(String(10), default=LabAnswer.PENDING)
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    answer_message: Mapped[str] = mapped_column(Text, default="")

    request: Mapped[LabRequest] = relationship(lazy="raise_on_sql", back_populates="labs")
    lab: Mapped[Lab] = relationship(lazy="raise_on_sql")


class RequestMessage(Base):
    __tablename__ = "request_message"
    __table_args__ = (Index("ix_request_message_request_created", "request_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("lab_request.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    # The lab the author speaks for; NULL: the company side.
    lab_id: Mapped[int | None] = mapped_column(ForeignKey("lab.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    author: Mapped[User] = relationship(lazy="raise_on_sql")
    lab: Mapped[Lab | None] = relationship(lazy="raise_on_sql")
