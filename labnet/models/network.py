"""Value-chain networks: a network run by coordinators, its ordered stages and
the labs placed on them through invitations a lab manager answers.

A stage's needs are normalised (KET areas, equipment categories) so the gap finder can
match them in SQL; its capability keywords are one per line. Stages are retired, never
deleted, and membership rows are never deleted either: the history stays readable.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from labnet.i18n import _l
from labnet.models.base import Base

# The EU's 14 industrial ecosystems (2021 update of the Industrial Strategy, DOMAIN §1.3):
# code -> label. Codes are stored in ``network.ecosystem``.
ECOSYSTEMS: dict[str, str] = {
    "aerospace-defence": _l("Aerospace & defence"),
    "agri-food": _l("Agri-food"),
    "construction": _l("Construction"),
    "cultural-creative": _l("Cultural & creative industries"),
    "digital": _l("Digital"),
    "electronics": _l("Electronics"),
    "energy-intensive": _l("Energy-intensive industries"),
    "energy-renewables": _l("Energy – renewables"),
    "health": _l("Health"),
    "mobility-transport-automotive": _l("Mobility – transport – automotive"),
    "proximity-social-civil-security": _l("Proximity, social economy & civil security"),
    "retail": _l("Retail"),
    "textiles": _l("Textiles"),
    "tourism": _l("Tourism"),
}

VISIBILITIES = ("public", "members")
MEMBER_STATUSES = ("invited", "accepted", "declined", "removed", "left")
# A lab holds at most one of these per network (checked under the network's row lock).
ACTIVE_MEMBER_STATUSES = ("invited", "accepted")


class Network(Base):
    __tablename__ = "network"
    __table_args__ = (
        CheckConstraint("visibility IN ('public', 'members')", name="visibility"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # lower-cased name: two networks may not share a name
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    ket_code: Mapped[str | None] = mapped_column(ForeignKey("ket_area.code"))
    ecosystem: Mapped[str] = mapped_column(String(40))
    visibility: Mapped[str] = mapped_column(String(10), default="public")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # Bumped as the first write of every membership change: the row lock that serialises
    # invitations of one network (a lab is invited at most once at a time).
    lock_seq: Mapped[int] = mapped_column(default=0)

    stages: Mapped[list[NetworkStage]] = relationship(
        lazy="raise_on_sql", order_by="(NetworkStage.position, NetworkStage.id)",
        back_populates="network",
    )

    @property
    def is_public(self) -> bool:
        return self.visibility == "public"

    @property
    def ecosystem_label(self) -> str:
        return str(ECOSYSTEMS.get(self.ecosystem, self.ecosystem))


class NetworkCoordinator(Base):
    __tablename__ = "network_coordinator"

    network_id: Mapped[int] = mapped_column(
        ForeignKey("network.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime]
    added_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class NetworkStage(Base):
    __tablename__ = "network_stage"
    __table_args__ = (Index("ix_network_stage_network_position", "network_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # Capability keywords, one per line (matched in labs' capabilities and descriptions).
    keywords: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]

    network: Mapped[Network] = relationship(lazy="raise_on_sql", back_populates="stages")
    ket_links: Mapped[list[NetworkStageKet]] = relationship(
        lazy="raise_on_sql", cascade="all, delete-orphan", order_by="NetworkStageKet.ket_code"
    )
    category_links: Mapped[list[NetworkStageCategory]] = relationship(
        lazy="raise_on_sql", cascade="all, delete-orphan",
        order_by="NetworkStageCategory.category_code",
    )

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None

    @property
    def keyword_list(self) -> list[str]:
        return [line.strip() for line in self.keywords.splitlines() if line.strip()]

    @property
    def ket_codes(self) -> list[str]:
        return [link.ket_code for link in self.ket_links]

    @property
    def category_codes(self) -> list[str]:
        return [link.category_code for link in self.category_links]


class NetworkStageKet(Base):
    __tablename__ = "network_stage_ket"
    __table_args__ = (Index("ix_network_stage_ket_ket_stage", "ket_code", "stage_id"),)

    stage_id: Mapped[int] = mapped_column(
        ForeignKey("network_stage.id", ondelete="CASCADE"), primary_key=True
    )
    ket_code: Mapped[str] = mapped_column(ForeignKey("ket_area.code"), primary_key=True)


class NetworkStageCategory(Base):
    __tablename__ = "network_stage_category"

    stage_id: Mapped[int] = mapped_column(
        ForeignKey("network_stage.id", ondelete="CASCADE"), primary_key=True
    )
    category_code: Mapped[str] = mapped_column(
        ForeignKey("equipment_category.code"), primary_key=True
    )


class NetworkMember(Base):
    """A lab on a stage: an invitation and its answer, then the membership's end."""

    __tablename__ = "network_member"
    __table_args__ = (
        CheckConstraint(
            "status IN ('invited', 'accepted', 'declined', 'removed', 'left')", name="status"
        ),
        Index("ix_network_member_network_status", "network_id", "status"),
        Index("ix_network_member_lab_status", "lab_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("network.id", ondelete="CASCADE"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("network_stage.id"), index=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10), default="invited")
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    invited_at: Mapped[datetime]
    message: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    answer_message: Mapped[str] = mapped_column(Text, default="")
    # When and by whom an accepted membership ended (removed by a coordinator, or left).
    ended_at: Mapped[datetime | None]
    ended_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
