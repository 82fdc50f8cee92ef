"""Projects and events.

A *project* is a transnational project (a consortium) with partners (LabNet organisations,
or a name and country for those not on LabNet) and its own managers. An *event* (training
course, workshop, …) is organised by one or more labs, networks and projects; its times are
stored in UTC and entered/shown in the event's IANA zone; its sessions make up its span.

``Event.seats_taken`` is the count of seats held (the registration service moves it with a
conditional UPDATE); the CHECK ``capacity IS NULL OR seats_taken <= capacity`` makes the
database, not Python, the guard against overbooking (DESIGN rule 4).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from labnet.i18n import _l
from labnet.models.base import Base, TimestampMixin

EVENT_KINDS: dict[str, str] = {
    "training_course": _l("Training course"),
    "workshop": _l("Workshop"),
    "open_lab_day": _l("Open lab day"),
    "conference": _l("Conference"),
    "project_meeting": _l("Project meeting"),
    "webinar": _l("Webinar"),
}
EVENT_STATUSES = ("draft", "published", "cancelled")
QUESTION_KINDS = ("text", "choice")


def _in(column: str, values: Any) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Project(TimestampMixin, Base):
    __tablename__ = "project"
    __table_args__ = (
        CheckConstraint(
            "starts_on IS NULL OR ends_on IS NULL OR ends_on >= starts_on", name="dates"
        ),
        Index("ix_project_name", "name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    acronym: Mapped[str] = mapped_column(String(40), default="")
    # Funding programme, e.g. "Interreg Central Europe", "Horizon Europe".
    programme: Mapped[str] = mapped_column(String(200), default="")
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    website: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    ket_links: Mapped[list[ProjectKet]] = relationship(
        lazy="raise_on_sql", cascade="all, delete-orphan", order_by="ProjectKet.ket_code"
    )
    partners: Mapped[list[ProjectPartner]] = relationship(
        lazy="raise_on_sql", cascade="all, delete-orphan", order_by="ProjectPartner.id"
    )

    @property
    def ket_codes(self) -> list[str]:
        return [link.ket_code for link in self.ket_links]

    @property
    def label(self) -> str:
        return f"{self.acronym} – {self.name}" if self.acronym else self.name


class ProjectKet(Base):
    __tablename__ = "project_ket"
    __table_args__ = (Index("ix_project_ket_ket_project", "ket_code", "project_id"),)

    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    )
    ket_code: Mapped[str] = mapped_column(ForeignKey("ket_area.code"), primary_key=True)


class ProjectPartner(Base):
    """A partner: an organisation on LabNet, or a name and country for one that is not."""

    __tablename__ = "project_partner"
    __table_args__ = (
        CheckConstraint(
            "organisation_id IS NOT NULL OR (name <> '' AND country IS NOT NULL)",
            name="who",
        ),
        CheckConstraint("country IS NULL OR length(country) = 2", name="country"),
        # An organisation is a partner of a project once (NULLs are distinct everywhere).
        Index("uq_project_partner_org", "project_id", "organisation_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), default="")
    country: Mapped[str | None] = mapped_column(String(2))
    added_at: Mapped[datetime]
    added_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class ProjectManager(Base):
    __tablename__ = "project_manager"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    granted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    granted_at: Mapped[datetime]


class Event(TimestampMixin, Base):
    __tablename__ = "event"
    __table_args__ = (
        CheckConstraint(_in("kind", EVENT_KINDS), name="kind"),
        CheckConstraint(_in("status", EVENT_STATUSES), name="status"),
        CheckConstraint("ends_at > starts_at", name="span"),
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity"),
        CheckConstraint("seats_taken >= 0", name="seats_taken"),
        # The database guarantees capacity: registrations move seats_taken with a
        # conditional UPDATE and this refuses any write past it.
        CheckConstraint("capacity IS NULL OR seats_taken <= capacity", name="seats"),
        CheckConstraint("price_sme_cents IS NULL OR price_sme_cents >= 0", name="price_sme"),
        CheckConstraint(
            "price_standard_cents IS NULL OR price_standard_cents >= 0", name="price_standard"
        ),
        CheckConstraint("offer_hours >= 1", name="offer_hours"),
        CheckConstraint(
            "meeting_slot_minutes IS NULL OR meeting_slot_minutes > 0", name="meeting_slot"
        ),
        CheckConstraint("country IS NULL OR length(country) = 2", name="country"),
        CheckConstraint("latitude IS NULL OR (latitude >= -90 AND latitude <= 90)", name="lat"),
        CheckConstraint(
            "longitude IS NULL OR (longitude >= -180 AND longitude <= 180)", name="lon"
        ),
        CheckConstraint(
            "coords_source IS NULL OR coords_source IN "
            "('gazetteer', 'online', 'manual', 'seed')",
            name="coords_source",
        ),
        # The listing: published events still running, in start order.
        # Lists in start order skip past events inside the index (ends_at covered), and
        # the feeds (published and cancelled: two statuses) walk starts_at itself.
        Index("ix_event_status_starts_ends", "status", "starts_at", "id", "ends_at"),
        Index("ix_event_starts_status_ends", "starts_at", "id", "status", "ends_at"),
        Index("ix_event_status_ends", "status", "ends_at"),
        Index("ix_event_country_starts", "country", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(140), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(2), default="en")  # ISO 639-1
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Brussels")  # IANA
    # UTC; the span of the event's sessions (kept by the events service).
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    # The place (all empty for an online-only event).
    address: Mapped[str] = mapped_column(String(300), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    country: Mapped[str | None] = mapped_column(String(2))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    coords_source: Mapped[str | None] = mapped_column(String(10))
    # Shown only to registered people.
    online_url: Mapped[str | None] = mapped_column(String(500))
    capacity: Mapped[int | None]  # NULL: unlimited
    seats_taken: Mapped[int] = mapped_column(default=0)
    registration_deadline: Mapped[datetime | None]
    # NULL: free.
    price_sme_cents: Mapped[int | None]
    price_standard_cents: Mapped[int | None]
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    prerequisites: Mapped[str] = mapped_column(Text, default="")
    # [{"key", "label", "kind": "text"|"choice", "required": bool, "choices": [str]}]
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Hours a person has to accept a seat offered from the waiting list.
    offer_hours: Mapped[int] = mapped_column(default=48)
    # Meetings between participants during the event days (local times).
    meeting_slot_minutes: Mapped[int | None]
    meeting_day_start: Mapped[time | None]
    meeting_day_end: Mapped[time | None]
    status: Mapped[str] = mapped_column(String(10), default="draft")
    # Bumped by every change people should see (iCalendar SEQUENCE: clients update entries).
    sequence: Mapped[int] = mapped_column(default=0)
    published_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    sessions: Mapped[list[EventSession]] = relationship(
        lazy="raise_on_sql", cascade="all, delete-orphan",
        order_by="(EventSession.starts_at, EventSession.id)",
    )
    organisers: Mapped[list[EventOrganiser]] = relationship(
        lazy="raise_on_sql", cascade="all, delete-orphan", order_by="EventOrganiser.id"
    )
    ket_links: Mapped[list[EventKet]] = relationship(
        lazy="raise_on_sql", cascade="all, delete-orphan", order_by="EventKet.ket_code"
    )

    @property
    def kind_label(self) -> str:
        return str(EVENT_KINDS.get(self.kind, self.kind))

    @property
    def ket_codes(self) -> list[str]:
        return [link.ket_code for link in self.ket_links]

    @property
    def is_online(self) -> bool:
        return bool(self.online_url)

    @property
    def has_place(self) -> bool:
        return bool(self.city or self.address or self.latitude is not None)

    @property
    def is_free(self) -> bool:
        return self.price_sme_cents is None and self.price_standard_cents is None

    @property
    def is_published(self) -> bool:
        return self.status == "published"

    @property
    def is_cancelled(self) -> bool:
        return self.status == "cancelled"

    @property
    def seats_left(self) -> int | None:
        return None if self.capacity is None else max(self.capacity - self.seats_taken, 0)


class EventSession(Base):
    __tablename__ = "event_session"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="span"),
        Index("ix_event_session_event_starts", "event_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200), default="")
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]


class EventOrganiser(Base):
    """One organiser of an event: exactly one of a lab, a network or a project."""

    __tablename__ = "event_organiser"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN lab_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN network_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN project_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one",
        ),
        Index("uq_event_organiser_lab", "event_id", "lab_id", unique=True),
        Index("uq_event_organiser_network", "event_id", "network_id", unique=True),
        Index("uq_event_organiser_project", "event_id", "project_id", unique=True),
        Index("ix_event_organiser_lab_event", "lab_id", "event_id"),
        Index("ix_event_organiser_network_event", "network_id", "event_id"),
        Index("ix_event_organiser_project_event", "project_id", "event_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    lab_id: Mapped[int | None] = mapped_column(ForeignKey("lab.id", ondelete="CASCADE"))
    network_id: Mapped[int | None] = mapped_column(ForeignKey("network.id", ondelete="CASCADE"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))

    @property
    def kind(self) -> str:
        if self.lab_id is not None:
            return "lab"
        return "network" if self.network_id is not None else "project"


class EventKet(Base):
    __tablename__ = "event_ket"
    __table_args__ = (Index("ix_event_ket_ket_event", "ket_code", "event_id"),)

    event_id: Mapped[int] = mapped_column(
        ForeignKey("event.id", ondelete="CASCADE"), primary_key=True
    )
    ket_code: Mapped[str] = mapped_column(ForeignKey("ket_area.code"), primary_key=True)
