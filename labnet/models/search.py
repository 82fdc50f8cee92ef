"""The word-search index: one row per lab and normalised term.

Kept by :mod:`labnet.services.catalogue.search.index` in the same transaction as every
write that changes a lab's words; rebuilt by ``flask labnet search reindex``."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from labnet.models.base import Base, UtcDateTime


class SearchTerm(Base):
    """``term`` occurs in the lab's ``fields`` (a bit mask: see ``search.text.FIELD_*``).
    A term is a stem (``microscop``), a concept of the vocabulary (``_sem``) or two
    adjacent stems (``3d print``)."""

    __tablename__ = "search_term"

    term: Mapped[str] = mapped_column(String(80), primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id", ondelete="CASCADE"),
                                        primary_key=True, index=True)
    fields: Mapped[int] = mapped_column(SmallInteger)


class LabFacet(Base):
    """One filter value a lab has, for counting the values of a search's results in one
    grouped query (``search.lab_facets``): ``family`` is ``lab`` (one row per lab, code
    ""), ``kind``, ``country``, ``ket`` (each KET code), ``ket1`` (each level-1 area),
    ``category`` (each category of its live equipment), ``bookable`` (code "") or
    ``accreditation`` (each verified scheme; ``until``: the instant it ends, the lab's
    local midnight after its last valid day, ``None`` for no end). Kept with the word
    index, in the writing transaction."""

    __tablename__ = "lab_facet"

    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id", ondelete="CASCADE"),
                                        primary_key=True)
    family: Mapped[str] = mapped_column(String(16), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    until: Mapped[datetime | None] = mapped_column(UtcDateTime)


class LabFacetSet(Base):
    """A lab's ``lab_facet`` rows in one text (``search.lab_facets``): one line per row,
    ``family<TAB>code``, with ``<TAB>until`` (UTC, fixed width) for a row that ends. The
    facet counts of a search read one of these per lab (a Python count of the lines)
    instead of grouping some twenty ``lab_facet`` rows per lab in SQL. Kept with
    ``lab_facet``, in the writing transaction."""

    __tablename__ = "lab_facet_set"

    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id", ondelete="CASCADE"),
                                        primary_key=True, autoincrement=False)
    codes: Mapped[str] = mapped_column(Text)


class LabFreeWeek(Base):
    """A lab's longest free time by weekday from its opening hours alone (no booking, no
    blackout), in minutes, for its bookable equipment booked by the hour (``hourly``) or
    by the half day or day: the longest run of open time that meets that weekday
    (:data:`labnet.services.booking.free_days.UNBOUNDED` when it never ends), and how many
    bookable pieces of equipment it concerns. Kept by ``services.booking.free_days``."""

    __tablename__ = "lab_free_week"

    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id", ondelete="CASCADE"),
                                        primary_key=True)
    hourly: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    weekday: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    longest_free_minutes: Mapped[int] = mapped_column(Integer)
    equipment: Mapped[int] = mapped_column(Integer)


class EquipmentFreeDay(Base):
    """The longest free time that meets one local day of one piece of bookable equipment,
    in minutes, on the days its bookings (with their set-up buffer) or blackouts (its own
    or its lab's) touch; every other day has its lab's :class:`LabFreeWeek` value. Kept in
    the transaction of every booking, blackout, opening-hours and equipment change by
    ``services.booking.free_days``; a prefilter only, never the answer."""

    __tablename__ = "equipment_free_day"
    # Covering for the taken-days and free-days queries of ``free_days.candidates``.
    __table_args__ = (Index("ix_equipment_free_day_day_free", "day", "longest_free_minutes",
                            "lab_id", "hourly", "weekday"),)

    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id", ondelete="CASCADE"),
                                              primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id", ondelete="CASCADE"), index=True)
    hourly: Mapped[bool] = mapped_column(Boolean)
    weekday: Mapped[int] = mapped_column(SmallInteger)
    longest_free_minutes: Mapped[int] = mapped_column(Integer)


class LabFreeDay(Base):
    """Per lab, kind of booking unit (``hourly`` as in :class:`LabFreeWeek`) and local
    day on which every bookable piece of equipment of that kind has an
    :class:`EquipmentFreeDay` row (``equipment``: how many rows, at least the week's
    count): the longest of their values. The kind is fully taken that day when that is
    shorter than the time wanted — one row to read per such day instead of grouping
    every piece of equipment's row. Kept with the equipment's rows by
    ``services.booking.free_days``; a prefilter only, never the answer."""

    __tablename__ = "lab_free_day"
    # Covering for the taken-days query of ``free_days.candidates``.
    __table_args__ = (Index("ix_lab_free_day_day_free", "day", "longest_free_minutes",
                            "lab_id", "hourly", "weekday", "equipment"),)

    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id", ondelete="CASCADE"),
                                        primary_key=True)
    hourly: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)
    equipment: Mapped[int] = mapped_column(Integer)
    longest_free_minutes: Mapped[int] = mapped_column(Integer)
