"""A lab's accreditation claims. Only verified, unexpired ones count in search and badges.

The claim-and-verify workflow arrives with the accreditation feature; the catalogue's
filter already reads this table.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from labnet.models.base import Base, TimestampMixin


class AccreditationStatus(StrEnum):
    CLAIMED = "claimed"
    VERIFIED = "verified"
    REJECTED = "rejected"


class Accreditation(TimestampMixin, Base):
    __tablename__ = "accreditation"
    __table_args__ = (
        CheckConstraint("status IN ('claimed', 'verified', 'rejected')", name="status"),
        CheckConstraint("valid_until IS NULL OR valid_from IS NULL OR valid_until >= valid_from",
                        name="validity"),
        Index("ix_accreditation_scheme_status", "scheme_code", "status", "valid_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id", ondelete="CASCADE"), index=True)
    scheme_code: Mapped[str] = mapped_column(ForeignKey("accreditation_scheme.code"))
    certificate_no: Mapped[str] = mapped_column(String(100), default="")
    issuer: Mapped[str] = mapped_column(String(200), default="")
    scope: Mapped[str] = mapped_column(Text, default="")
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(10), default=AccreditationStatus.CLAIMED)
    verified_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    verified_at: Mapped[datetime | None]
    # The level of a graded label (the LabNet excellence label: bronze, silver, gold).
    level: Mapped[str | None] = mapped_column(String(10))
