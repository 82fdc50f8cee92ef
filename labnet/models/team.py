"""Claims of unmanaged labs and invitations to a lab's manager team."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from labnet.models.base import Base
from labnet.models.lab import Lab
from labnet.models.user import User


class ClaimMethod(StrEnum):
    DOMAIN = "domain"  # proved by following a link sent to an address at the lab's domain
    APPROVAL = "approval"  # decided by an admin or a coordinator of the lab's networks


class ClaimStatus(StrEnum):
    OPEN = "open"  # waiting for the proof link to be followed, or for a decision
    APPROVED = "approved"
    DECLINED = "declined"
    CANCELLED = "cancelled"  # replaced, or the lab got managers meanwhile


class LabClaim(Base):
    """A person's claim to manage a lab that has no active manager. One open claim per
    person and lab (a partial unique index); a domain claim's e-mailed link carries its id
    and works while the claim is open, so it works once."""

    __tablename__ = "lab_claim"
    __table_args__ = (
        CheckConstraint("method IN ('domain', 'approval')", name="method"),
        CheckConstraint("status IN ('open', 'approved', 'declined', 'cancelled')",
                        name="status"),
        Index("uq_lab_claim_open", "lab_id", "user_id", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
        Index("ix_lab_claim_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"),
                                         index=True)
    method: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default=ClaimStatus.OPEN)
    # The address the proof went to (domain claims), the claimant's address otherwise.
    email: Mapped[str] = mapped_column(String(254))
    reason: Mapped[str] = mapped_column(Text, default="")
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    lab: Mapped[Lab] = relationship(lazy="joined", innerjoin=True)
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined", innerjoin=True)


class InvitationStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    CANCELLED = "cancelled"


class LabInvitation(Base):
    """An invitation, sent by a lab's manager to an e-mail address, to join the lab's
    manager team. A hand-over invitation also removes the inviter once accepted."""

    __tablename__ = "lab_invitation"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'accepted', 'cancelled')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    message: Mapped[str] = mapped_column(Text, default="")
    is_handover: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10), default=InvitationStatus.OPEN)
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    accepted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]

    lab: Mapped[Lab] = relationship(lazy="joined", innerjoin=True)
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id],
                                                   lazy="joined")
