"""User, global roles, and server-side login sessions.

A login creates a :class:`LoginSession` row; the signed cookie carries only its random
token, so logging out, changing the password or "log out everywhere" revokes the row and
a copied cookie stops working (RELIABILITY §4.2, "sessions survive logout").
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from labnet.models.base import Base, TimestampMixin
from labnet.models.organisation import Organisation


class Role(StrEnum):
    LAB_MANAGER = "lab_manager"  # always of a given lab: see LabManager
    COORDINATOR = "coordinator"
    ADMIN = "admin"
    VERIFIER = "verifier"  # verifies accreditation claims and scores excellence-label applications


class OrgRole(StrEnum):
    """A person's role inside their own organisation."""

    MEMBER = "member"
    ADMIN = "admin"  # approves join requests, grants and revokes this role


class Membership(StrEnum):
    """Whether the organisation has accepted the person. A pending account is NOT a
    member: it cannot log in (so sees nothing of the organisation) until an organisation
    admin approves it; a declined request deletes the account."""

    ACTIVE = "active"
    PENDING = "pending"


class User(TimestampMixin, Base):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint("org_role IN ('member', 'admin')", name="org_role"),
        CheckConstraint("membership IN ('active', 'pending')", name="membership"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    full_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    email_confirmed_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    # How notifications arrive: "immediate", or "digest" (one e-mail a day). Mails that
    # need an action (approve, reject) always come at once.
    mail_mode: Mapped[str] = mapped_column(String(10), default="immediate")
    # The language pages and e-mail are written in (labnet.i18n.LANGUAGES); "" = not
    # chosen: the browser's, and LabNet's default for e-mail.
    locale: Mapped[str] = mapped_column(String(8), default="", server_default="")
    org_role: Mapped[str] = mapped_column(String(8), default=OrgRole.MEMBER,
                                          server_default="member")
    membership: Mapped[str] = mapped_column(String(8), default=Membership.ACTIVE,
                                            server_default="active", index=True)
    # Consent at registration: when, and to which version of the terms and privacy notice
    # (config TERMS_VERSION). None for accounts made before consent was asked.
    terms_accepted_at: Mapped[datetime | None]
    terms_version: Mapped[str] = mapped_column(String(20), default="", server_default="")
    # Set when the person deleted their account: the row stays (bookings and requests
    # belong to the organisation) but holds nothing that names them (services.accounts.privacy).
    deleted_at: Mapped[datetime | None]
    # A pending join request's approvers were reminded (services/accounts/joins.py).
    join_reminded_at: Mapped[datetime | None]

    organisation: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)
    roles: Mapped[list[UserRole]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", back_populates="user",
        foreign_keys="UserRole.user_id",
    )

    # Flask-Login protocol. ``session_token`` is set by the loader for the current request.
    # No column: declarative maps every annotated attribute, so the type is for mypy only.
    if TYPE_CHECKING:
        session_token: str | None
    session_token = None

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str | None:
        return self.session_token

    @property
    def is_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    def has_role(self, role: Role) -> bool:
        return any(r.role == role for r in self.roles)

    @property
    def is_member(self) -> bool:
        """Accepted by the organisation (not a pending join request)."""
        return self.membership == Membership.ACTIVE

    @property
    def is_org_admin(self) -> bool:
        return self.is_member and self.org_role == OrgRole.ADMIN

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.ADMIN)

    @property
    def is_coordinator(self) -> bool:
        return self.has_role(Role.COORDINATOR)

    @property
    def is_verifier(self) -> bool:
        return self.has_role(Role.VERIFIER)


class CalendarFeed(Base):
    """A secret calendar-feed URL: the organisation's bookings, or one equipment's for its
    lab managers. Only the token's hash is stored; regenerating revokes the old URL."""

    __tablename__ = "calendar_feed"
    __table_args__ = (
        CheckConstraint("kind IN ('organisation', 'equipment')", name="kind"),
        CheckConstraint("(kind = 'equipment') = (equipment_id IS NOT NULL)", name="target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    equipment_id: Mapped[int | None] = mapped_column(
        ForeignKey("equipment.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class UserRole(Base):
    """A platform-wide role (coordinator, admin, verifier). Lab management is per lab:
    LabManager."""

    __tablename__ = "user_role"
    __table_args__ = (
        CheckConstraint("role IN ('coordinator', 'admin', 'verifier')", name="role"),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    granted_at: Mapped[datetime]
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    user: Mapped[User] = relationship(back_populates="roles", foreign_keys=[user_id],
                                      lazy="raise_on_sql")


class LoginSession(Base):
    __tablename__ = "login_session"

    # sha256 of the random token in the cookie: a leaked table does not log anybody in.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    user_agent: Mapped[str] = mapped_column(String(200), default="")
