"""The word-search index: one row per lab and normalised term.

Kept by :mod:`labnet.services.catalogue.search.index` in the same transaction as every
write that changes a lab's words; rebuilt by ``flask labnet search reindex``."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from labnet.models.base import Base


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
    ``accreditation`` (each verified scheme; ``until``: its last valid day, ``None`` for
    no end). Kept with the word index, in the writing transaction."""

    __tablename__ = "lab_facet"

    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id", ondelete="CASCADE"),
                                        primary_key=True)
    family: Mapped[str] = mapped_column(String(16), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    until: Mapped[date | None] = mapped_column(Date)
