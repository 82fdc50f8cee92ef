"""Personal access tokens for the JSON API (``/api/v1``).

Only the sha256 of a token is stored; the token itself is shown once when it is made. A
token acts as its user and never grants more than the user has: its scopes only narrow
what the user may do (DESIGN rule 6).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from labnet.models.base import Base


class TokenScope(StrEnum):
    READ = "read"  # the caller's own bookings, requests, registrations; networks they may see
    BOOK = "book"  # create and cancel bookings; register for events (same right)
    REQUEST = "request"  # create requests and post messages on them
    MANAGE = "manage"  # lab managers: decide bookings, update equipment, answer requests


class ApiToken(Base):
    """A named, expiring, revocable bearer token of one user."""

    __tablename__ = "api_token"
    __table_args__ = (CheckConstraint("expires_at > created_at", name="expiry"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, shown in the list so people tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(12))
    scopes: Mapped[str] = mapped_column(String(40))  # space-separated TokenScope values
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())
