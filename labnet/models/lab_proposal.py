"""A member's proposal of a new lab of their organisation, and its decision."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from labnet.models.base import Base, TimestampMixin
from labnet.models.lab import Lab
from labnet.models.organisation import Organisation
from labnet.models.user import User


class ProposalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


class LabProposal(TimestampMixin, Base):
    """The draft lab a member proposed, until someone who may decide approves it (the
    proposer becomes its manager) or declines it (the draft lab is removed; this row keeps
    the name and the reason the proposer was sent)."""

    __tablename__ = "lab_proposal"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'declined')", name="status"),
        # A pending or approved proposal has its lab; a declined one has none left.
        CheckConstraint("(status = 'declined') = (lab_id IS NULL)", name="lab"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int | None] = mapped_column(
        ForeignKey("lab.id", ondelete="SET NULL"), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    proposed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    lab_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default=ProposalStatus.PENDING, index=True)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text, default="")
    # Still pending after REMIND_AFTER: its reviewers were reminded; after ESCALATE_AFTER,
    # LabNet's admins were asked too (services/catalogue/labs/creation.py).
    reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]

    lab: Mapped[Lab | None] = relationship(lazy="raise_on_sql")
    organisation: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)
    proposed_by: Mapped[User | None] = relationship(lazy="joined",
                                                    foreign_keys=[proposed_by_id])

    @property
    def is_pending(self) -> bool:
        return self.status == ProposalStatus.PENDING
