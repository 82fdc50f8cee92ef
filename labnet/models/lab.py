"""Lab, its managers, KET areas and opening hours."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from labnet.i18n import _l
from labnet.models.base import Base, TimestampMixin
from labnet.models.organisation import Organisation
from labnet.models.taxonomy import LabKind

COORD_SOURCES = ("gazetteer", "online", "manual", "seed")


class Lab(TimestampMixin, Base):
    __tablename__ = "lab"
    __table_args__ = (
        CheckConstraint("lat IS NULL OR (lat >= -90 AND lat <= 90)", name="lat"),
        CheckConstraint("lon IS NULL OR (lon >= -180 AND lon <= 180)", name="lon"),
        CheckConstraint(
            "coords_source IS NULL OR coords_source IN "
            "('gazetteer', 'online', 'manual', 'seed')",
            name="coords_source",
        ),
        CheckConstraint("min_lead_hours >= 0", name="lead"),
        CheckConstraint("max_advance_days >= 1", name="advance"),
        CheckConstraint("cancel_deadline_hours >= 0", name="cancel"),
        CheckConstraint("hold_hours >= 1", name="hold"),
        CheckConstraint("equipment_count >= 0", name="equipment_count"),
        CheckConstraint("length(country) = 2", name="country"),
        # Catalogue queries: published labs by country, bounding boxes, newest first.
        Index("ix_lab_published_country", "is_published", "country"),
        Index("ix_lab_lat_lon", "lat", "lon"),
        Index("ix_lab_published_created", "is_published", "created_at", "id"),
        # Name order with the id tie-breaker: deep pages walk the index, not the table.
        Index("ix_lab_published_name", "is_published", "name", "id"),
        # The accreditation registry filtered by country walks this in name order.
        Index("ix_lab_published_country_name", "is_published", "country", "name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    kind_code: Mapped[str] = mapped_column(ForeignKey("lab_kind.code"))
    description: Mapped[str] = mapped_column(Text, default="")
    # One capability or service per line.
    capabilities: Mapped[str] = mapped_column(Text, default="")
    contact_name: Mapped[str] = mapped_column(String(120), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    country: Mapped[str] = mapped_column(String(2))
    nuts_code: Mapped[str | None] = mapped_column(String(5))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    coords_source: Mapped[str | None] = mapped_column(String(10))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Brussels")
    is_published: Mapped[bool] = mapped_column(default=False)
    # Booking policy (used by the booking engine).
    requires_approval: Mapped[bool] = mapped_column(default=True)
    min_lead_hours: Mapped[int] = mapped_column(default=24)
    max_advance_days: Mapped[int] = mapped_column(default=180)
    cancel_deadline_hours: Mapped[int] = mapped_column(default=24)
    hold_hours: Mapped[int] = mapped_column(default=72)
    # Denormalised count of non-retired equipment, kept by the equipment services, so the
    # list and the map need no join (RELIABILITY §6.4.8).
    equipment_count: Mapped[int] = mapped_column(default=0)

    organisation: Mapped[Organisation] = relationship(lazy="raise_on_sql")
    kind: Mapped[LabKind] = relationship(lazy="raise_on_sql")
    ket_links: Mapped[list[LabKet]] = relationship(
        lazy="raise_on_sql", cascade="all, delete-orphan", order_by="LabKet.ket_code"
    )
    opening_hours: Mapped[list[OpeningHours]] = relationship(
        lazy="raise_on_sql",
        cascade="all, delete-orphan",
        order_by="(OpeningHours.weekday, OpeningHours.opens_at)",
    )

    @property
    def capability_list(self) -> list[str]:
        return [line.strip() for line in self.capabilities.splitlines() if line.strip()]


class LabKet(Base):
    __tablename__ = "lab_ket"
    __table_args__ = (Index("ix_lab_ket_ket_lab", "ket_code", "lab_id"),)

    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id", ondelete="CASCADE"), primary_key=True)
    ket_code: Mapped[str] = mapped_column(ForeignKey("ket_area.code"), primary_key=True)


class LabManager(Base):
    """A user who manages a lab (the lab-manager role is always of a given lab)."""

    __tablename__ = "lab_manager"

    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    granted_at: Mapped[datetime]
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


WEEKDAYS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
            _l("Saturday"), _l("Sunday"))


class OpeningHours(Base):
    """One open interval on a weekday, in the lab's local time. Several rows on one day
    make breaks; a day without rows is closed."""

    __tablename__ = "opening_hours"
    __table_args__ = (
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday"),
        CheckConstraint("closes_at > opens_at", name="order"),
        UniqueConstraint("lab_id", "weekday", "opens_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int]  # 0 = Monday, as date.weekday()
    opens_at: Mapped[time]
    closes_at: Mapped[time]

    @property
    def weekday_name(self) -> str:
        return str(WEEKDAYS[self.weekday])
