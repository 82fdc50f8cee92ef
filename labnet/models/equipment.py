"""Equipment of a lab, its specifications and KET areas."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from labnet.i18n import _l
from labnet.models.base import Base, TimestampMixin
from labnet.models.lab import Lab
from labnet.models.taxonomy import EquipmentCategory


class BookingUnit(StrEnum):
    HOUR = "hour"
    HALF_DAY = "half_day"
    DAY = "day"


UNIT_LABELS = {"hour": _l("hour"), "half_day": _l("half day"), "day": _l("day")}


class EquipmentMode(StrEnum):
    SELF_SERVICE = "self_service"
    OPERATOR_ASSISTED = "operator_assisted"
    REQUEST_ONLY = "request_only"


MODE_LABELS = {
    "self_service": _l("Self-service (after training)"),
    "operator_assisted": _l("Operator-assisted"),
    "request_only": _l("On request only"),
}


class EquipmentStatus(StrEnum):
    ACTIVE = "active"
    MAINTENANCE = "maintenance"
    RETIRED = "retired"


STATUS_LABELS = {
    "active": _l("active"),
    "maintenance": _l("maintenance"),
    "retired": _l("retired"),
}


class Equipment(TimestampMixin, Base):
    __tablename__ = "equipment"
    __table_args__ = (
        CheckConstraint("booking_unit IN ('hour', 'half_day', 'day')", name="booking_unit"),
        CheckConstraint(
            "mode IN ('self_service', 'operator_assisted', 'request_only')", name="mode"
        ),
        CheckConstraint("status IN ('active', 'maintenance', 'retired')", name="status"),
        CheckConstraint("min_units >= 1 AND max_units >= min_units", name="length"),
        CheckConstraint("buffer_minutes >= 0", name="buffer"),
        CheckConstraint("rate_industry >= 0 AND rate_sme >= 0", name="rates"),
        CheckConstraint("rate_academic IS NULL OR rate_academic >= 0", name="academic_rate"),
        CheckConstraint("length(currency) = 3", name="currency"),
        # The bookable equipment of candidate labs, with what the availability filter needs.
        Index("ix_equipment_lab_bookable", "lab_id", "status", "mode", "booking_unit",
              "min_units", "max_units"),
        # Equipment by lab (lab page) and by category and status (facets).
        Index("ix_equipment_category_status", "category_code", "status"),
        # Covering index for facet counts per lab (benchmarks: 546 → 102 ms at 100k rows).
        Index("ix_equipment_lab_status_category", "lab_id", "status", "category_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id"), index=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("equipment_category.code"))
    name: Mapped[str] = mapped_column(String(200))
    maker: Mapped[str] = mapped_column(String(120), default="")
    model: Mapped[str] = mapped_column(String(120), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    booking_unit: Mapped[str] = mapped_column(String(10), default=BookingUnit.HOUR)
    min_units: Mapped[int] = mapped_column(default=1)
    max_units: Mapped[int] = mapped_column(default=8)
    buffer_minutes: Mapped[int] = mapped_column(default=0)
    rate_industry: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    rate_sme: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    # For members of academic organisations (``Organisation.is_academic``); None: no
    # academic rate, they pay the industry (standard) rate.
    rate_academic: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    mode: Mapped[str] = mapped_column(String(20), default=EquipmentMode.OPERATOR_ASSISTED)
    training_required: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(12), default=EquipmentStatus.ACTIVE)
    # Bumped as the first write of every booking transaction: the row lock that serialises
    # all booking writers of this equipment on SQLite and PostgreSQL alike (RELIABILITY §1.4).
    booking_seq: Mapped[int] = mapped_column(default=0)

    lab: Mapped[Lab] = relationship(lazy="raise_on_sql")
    category: Mapped[EquipmentCategory] = relationship(lazy="raise_on_sql")
    specs: Mapped[list[EquipmentSpec]] = relationship(
        lazy="raise_on_sql", cascade="all, delete-orphan", order_by="EquipmentSpec.position"
    )
    ket_links: Mapped[list[EquipmentKet]] = relationship(
        lazy="raise_on_sql", cascade="all, delete-orphan", order_by="EquipmentKet.ket_code"
    )

    @property
    def unit_label(self) -> str:
        return str(UNIT_LABELS.get(self.booking_unit, self.booking_unit))

    @property
    def mode_label(self) -> str:
        return str(MODE_LABELS.get(self.mode, self.mode))

    @property
    def status_label(self) -> str:
        """The status in the reader's language (the code stays in ``status``)."""
        return str(STATUS_LABELS.get(self.status, self.status))

    @property
    def is_bookable(self) -> bool:
        return self.status == EquipmentStatus.ACTIVE and self.mode != EquipmentMode.REQUEST_ONLY


class EquipmentSpec(Base):
    __tablename__ = "equipment_spec"

    id: Mapped[int] = mapped_column(primary_key=True)
    equipment_id: Mapped[int] = mapped_column(
        ForeignKey("equipment.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    key: Mapped[str] = mapped_column(String(120))
    value: Mapped[str] = mapped_column(Text)


class EquipmentKet(Base):
    __tablename__ = "equipment_ket"
    __table_args__ = (Index("ix_equipment_ket_ket_equipment", "ket_code", "equipment_id"),)

    equipment_id: Mapped[int] = mapped_column(
        ForeignKey("equipment.id", ondelete="CASCADE"), primary_key=True
    )
    ket_code: Mapped[str] = mapped_column(ForeignKey("ket_area.code"), primary_key=True)
