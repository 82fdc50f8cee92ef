"""The offline gazetteer (European places from GeoNames, built once by a migration) and
the cache of online geocoder answers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from labnet.models.base import Base


class GazetteerPlace(Base):
    __tablename__ = "gazetteer_place"
    __table_args__ = (
        Index("ix_gazetteer_place_key_country", "name_key", "country"),
        Index("ix_gazetteer_place_country_population", "country", "population"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # GeoNames id
    name: Mapped[str] = mapped_column(String(200))
    # Lower-case, accents folded ("munchen" for München): what lookups compare.
    name_key: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    admin1: Mapped[str] = mapped_column(String(20), default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    population: Mapped[int] = mapped_column(default=0)
    timezone: Mapped[str] = mapped_column(String(64), default="")


class GazetteerAltName(Base):
    """Other names of a place (exonyms such as Munich, Cologne, Brussel), folded."""

    __tablename__ = "gazetteer_alt_name"
    __table_args__ = (Index("ix_gazetteer_alt_name_key", "name_key"),)

    place_id: Mapped[int] = mapped_column(
        ForeignKey("gazetteer_place.id", ondelete="CASCADE"), primary_key=True
    )
    name_key: Mapped[str] = mapped_column(String(200), primary_key=True)


class GeocodeCache(Base):
    """Answers of the online geocoder, kept so each query is asked once (Nominatim's rules)."""

    __tablename__ = "geocode_cache"

    query_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    provider: Mapped[str] = mapped_column(String(30))
    found: Mapped[bool] = mapped_column(default=False)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    display_name: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime]
