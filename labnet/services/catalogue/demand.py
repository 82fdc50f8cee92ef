"""Demand signals: each catalogue or map search recorded as an anonymous signal, for the
analytics of what companies look for.

Rules owned here, once:

- **Demand signals are anonymous** (DESIGN, Demand signal): filters, words, result count,
  time and the searcher's country, never who searched.
- **A repeat counts once**: the same client with the same words and filters within one
  fixed ten-minute window adds nothing; the key that tells is an HMAC with the app's
  secret, so it cannot be turned back into an address.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from labnet.extensions import db
from labnet.models import DemandSignal
from labnet.services.catalogue.search.query import MAX_Q_LENGTH, SearchQuery

# The same client repeating the same search within one such window is one demand, not many.
DEMAND_DEDUPE_WINDOW = timedelta(minutes=10)


def _dedupe_key(client: str, filters: dict[str, Any], q: str, now: datetime) -> str:
    # Keyed with the app's secret: the stored value cannot be turned back into an address
    # by trying addresses, and it changes with the filters and the window, so it tracks
    # nobody. Fixed windows let a unique index drop repeats in the INSERT itself.
    window = int(now.timestamp() // DEMAND_DEDUPE_WINDOW.total_seconds())
    message = json.dumps([client, q, filters, window], sort_keys=True, default=str).encode()
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def record_demand_signal(query: SearchQuery, result_count: int, *, source: str,
                         searcher_country: str | None, now: datetime,
                         client: str | None = None) -> None:
    """Store one search as an anonymous demand signal (DESIGN, Demand signal): the filters
    used (URL parameters without sort and page, plus the country of the place searched
    near), the words, how many labs it found, when, and the searcher's country (their
    organisation's, when logged in) — never who searched.

    ``client`` (the caller's address and user agent, say) counts a search once per
    :data:`DEMAND_DEDUPE_WINDOW` (fixed ten-minute windows): the same client with the
    same words and filters again within the window adds nothing, so reloading or a
    script cannot inflate demand.
    Flushes; the caller commits."""
    filters: dict[str, Any] = query.to_args()
    filters.pop("sort", None)
    filters.pop("page", None)
    filters.pop("q", None)  # kept in its own column
    if "bookable" in filters:
        filters["bookable"] = True
    if query.near:
        filters["radius_km"] = query.radius
        if query.place is not None:
            filters["near_country"] = query.place.country
    values: dict[str, Any] = {
        "at": now,
        "source": source,
        "filters": filters,
        "query_text": query.q[:MAX_Q_LENGTH],
        "ket_code": query.ket or None,
        "category_code": query.category or None,
        "country_filter": query.country or None,
        "result_count": result_count,
        "searcher_country": searcher_country,
    }
    if not client:
        db.session.add(DemandSignal(**values))
        db.session.flush()
        return
    # One statement, safe under concurrency: the unique dedupe key drops a repeat.
    values["dedupe_key"] = _dedupe_key(client, filters, values["query_text"], now)
    dialect = db.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(insert(DemandSignal).values(**values)
                       .on_conflict_do_nothing(index_elements=["dedupe_key"]))
    db.session.flush()

