"""Shipped taxonomies: KET areas (two levels), equipment categories, accreditation schemes,
lab kinds. Rows come from ``labnet/data/*.yaml`` through the migrations and
``flask labnet sync-taxonomy``."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from labnet.models.base import Base


class KetArea(Base):
    __tablename__ = "ket_area"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("ket_area.code"), index=True)
    position: Mapped[int] = mapped_column(default=0)

    @property
    def level(self) -> int:
        return 1 if self.parent_code is None else 2


class EquipmentCategory(Base):
    __tablename__ = "equipment_category"
    __table_args__ = (
        CheckConstraint("booking_unit IN ('hour', 'half_day', 'day')", name="booking_unit"),
        CheckConstraint("rate_min >= 0 AND rate_max >= rate_min", name="rate_band"),
    )

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    group_name: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(200))
    booking_unit: Mapped[str] = mapped_column(String(10))
    min_units: Mapped[int] = mapped_column(default=1)
    rate_min: Mapped[int] = mapped_column(default=0)
    rate_max: Mapped[int] = mapped_column(default=0)


class AccreditationScheme(Base):
    __tablename__ = "accreditation_scheme"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    certifies: Mapped[str] = mapped_column(Text, default="")
    issuer: Mapped[str] = mapped_column(String(300), default="")
    default_validity_months: Mapped[int | None]


class LabKind(Base):
    __tablename__ = "lab_kind"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
