"""A person's wish to hear when an unmanaged lab gets its first manager ("tell me when")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from labnet.models.base import Base


class LabWatch(Base):
    """One wish per person per lab; removed once the e-mail is queued or the person
    withdraws it (services.catalogue.labs.watch)."""

    __tablename__ = "lab_watch"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    lab_id: Mapped[int] = mapped_column(
        ForeignKey("lab.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime]
