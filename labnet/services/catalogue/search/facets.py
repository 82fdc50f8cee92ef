"""The facet counts beside each filter value on ``/labs``, and their per-process cache.

Rules owned here, once:

- **Drill-down counts**: beside each value, how many of the current results have it (so how
  many remain if it is added). A family with a chosen value shows only that value, except
  KET areas, whose sub-areas narrow the chosen area further. Values with no lab are left
  out, except a selected one.
- **One query** (RELIABILITY §6.4.5) over the maintained summary (:mod:`.lab_facets`: each
  lab's ``lab_facet`` rows as one text, ``lab_facet_set``) for the matching labs, whatever
  the catalogue's size, the lines counted in Python (each text split once per process:
  :func:`.lab_facets.parsed`). A words-or-place search reads its labs' texts with their
  ids and counts them there (:func:`count_lines`: no query of its own). "Free for D
  hours" alone keeps most of the catalogue: the labs it leaves out are counted instead and
  taken from the bare catalogue's maintained counts (:func:`subtract`).
- **The bare catalogue's counts are maintained on writes** (the most visited page, and the
  one count over every published lab): the ``facets`` row of ``catalogue_snapshot``, rebuilt
  in the transaction of each catalogue write (:mod:`labnet.services.catalogue.snapshots`),
  so every process reads the same counts, current at once. Accreditations end at their
  lab's local midnight (:mod:`labnet.services.accreditation.validity`): the row names the
  instant it was built and the instant the next counted accreditation ends; outside that
  span they are counted live. An unbuilt row
  (just migrated, no write since) means counting live.
- **The cache** keeps one entry (the bare catalogue's counts) per process, for a given
  number of seconds, per day and per catalogue generation: a committed catalogue write in
  this process starts a new entry (DESIGN rule 9).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Any

from sqlalchemy import Select, distinct, func, select

from labnet.extensions import db
from labnet.i18n import _
from labnet.models import Accreditation, CatalogueSnapshot, Lab, LabFacetSet
from labnet.permissions import listed_lab_condition, visible_labs
from labnet.services.accreditation.validity import next_change
from labnet.services.catalogue.search import index, lab_facets, words
from labnet.services.catalogue.search.filters import _valid_accreditation
from labnet.services.catalogue.search.query import SNAPSHOT_KEY, SearchQuery, _Taxonomy
from labnet.services.geo.geocoding import country_names, local_country_name


@dataclass(frozen=True)
class FacetValue:
    """One value of a filter family as the page offers it, with its drill-down count and,
    for a KET area, its sub-areas."""

    code: str
    label: str
    count: int | None  # labs among the current results that have it; None: not counted
    selected: bool = False
    children: tuple[FacetValue, ...] = ()


def _cached(cache: MutableMapping[Any, Any], key: Any, seconds: float,
            build: Callable[[], Any]) -> Any:
    stamp = time.monotonic()
    hit = cache.get(key)
    if hit is not None and stamp - hit[0] < seconds:
        return hit[1]
    value = build()
    cache.clear()  # one entry per day at most: keep nothing stale
    cache[key] = (stamp, value)
    return value


def _facet_counts(matching: Select[tuple[Lab]], now: datetime) -> dict[tuple[str, str], int]:
    """{(family, code): labs} over the maintained summary (:mod:`.lab_facets`: what filter
    values each lab has) for the ``matching`` labs, in one query whatever the catalogue's
    size (RELIABILITY §6.4.5): each matching lab's facet set (one text per lab, one line
    per value) read and its lines counted here — grouping the ~20 ``lab_facet`` rows per
    lab in SQL cost four times as much. ``total`` is the number of matching labs; an
    accreditation counts on the days it is valid (before its ``until``)."""
    index.sync(db.session())  # the summary includes this transaction's own writes
    texts = words.driver_rows(
        select(LabFacetSet.codes)
        .where(LabFacetSet.lab_id.in_(matching.with_only_columns(Lab.id).order_by(None))))
    return count_sets((text for (text,) in texts), now)


def count_sets(texts: Iterable[str | None], now: datetime) -> dict[tuple[str, str], int]:
    """The counts of :func:`_facet_counts` over facet sets already read (a search's
    matched labs, read with their ids): each set's lines counted (split once per process:
    :func:`.lab_facets.parsed`), then read per distinct line."""
    return count_lines([lines for lines, _b, _u in lab_facets.parsed_all(list(texts))], now)


def count_lines(sets: Iterable[tuple[str, ...]], now: datetime) -> dict[tuple[str, str], int]:
    """:func:`count_sets` over the facet sets' lines (:func:`.lab_facets.parsed`)."""
    lines: Counter[str] = Counter(chain.from_iterable(sets))
    now_text = lab_facets.stamp(now)
    out: dict[tuple[str, str], int] = {}
    for line, n in lines.items():
        family, code, *until = line.split(lab_facets.PART)
        if until and until[0] <= now_text:
            continue  # an accreditation ended
        key = ("total", "") if family == "lab" else (family, code)
        out[key] = out.get(key, 0) + n
    return out


def _accreditation_counts(now: datetime) -> dict[tuple[str, str], int]:
    rows = db.session.execute(
        select(Accreditation.scheme_code, func.count(distinct(Accreditation.lab_id)))
        .join(Lab, Lab.id == Accreditation.lab_id)
        .where(listed_lab_condition(), _valid_accreditation(now))
        .group_by(Accreditation.scheme_code)
    )
    return {("accreditation", code): n for code, n in rows}


def hour_of(now: datetime) -> datetime:
    """The hour ``now`` is in: accreditations end at a lab's local midnight, which is a
    whole UTC hour in every European zone, so counts cached per hour are exact."""
    return now.replace(minute=0, second=0, microsecond=0)


def snapshot_body(now: datetime) -> bytes:
    """The ``facets`` snapshot: the bare catalogue's counts (two queries), with the instant
    they were counted and the instant the next counted accreditation ends (their
    accreditation counts hold until then)."""
    counts = _facet_counts(visible_labs(None), now)
    until = next_change(now)
    return json.dumps({
        "built": now.isoformat(), "until": until.isoformat() if until else None,
        "counts": [[fam, code, n] for (fam, code), n in sorted(counts.items())],
    }, separators=(",", ":")).encode()


def bare_counts(now: datetime) -> dict[tuple[str, str], int]:
    """The bare catalogue's counts as :func:`_facet_counts` gives them, from the maintained
    snapshot (read with the request's taxonomies, or one query; a second one for the
    accreditations on a day outside the snapshot's), or counted live while unbuilt."""
    if SNAPSHOT_KEY in db.session.info:  # read with the taxonomies in this transaction
        body: Any = db.session.info[SNAPSHOT_KEY]
    else:
        body = db.session.scalar(select(CatalogueSnapshot.body).where(
            CatalogueSnapshot.name == "facets", CatalogueSnapshot.etag != ""))
    if body is None:
        return _facet_counts(visible_labs(None), now)
    doc = json.loads(body)
    counts = {(fam, code): n for fam, code, n in doc["counts"]}
    built, until = doc.get("built"), doc["until"]
    if built is None or not (datetime.fromisoformat(built) <= now
                             and (until is None or now < datetime.fromisoformat(until))):
        counts = {k: n for k, n in counts.items() if k[0] != "accreditation"}
        counts.update(_accreditation_counts(now))
    return counts


def subtract(counts: Mapping[tuple[str, str], int],
             less: Mapping[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """``counts`` over a set of labs minus ``less`` over a subset of it: the counts of the
    labs that remain (each count is of distinct labs, so counts of disjoint sets add)."""
    return {key: n - less.get(key, 0) for key, n in counts.items()}


def _facets(query: SearchQuery, taxonomy: _Taxonomy,
            counts: dict[tuple[str, str], int]) -> dict[str, tuple[FacetValue, ...]]:
    # Counts are over the current results, so they tell what adding a value leaves. A
    # family with a chosen value shows only that value (choosing another would replace it,
    # and its count over the current results would not say what the replacement finds),
    # except KET areas, whose sub-areas narrow the chosen area further.
    def values(fam: str, labels: Mapping[str, str], selected: str) -> tuple[FacetValue, ...]:
        if selected:
            return (FacetValue(selected, labels.get(selected, selected),
                               counts.get((fam, selected), 0), True),)
        found = [FacetValue(code, labels.get(code, code), n)
                 for (f, code), n in counts.items() if f == fam and n]
        found.sort(key=lambda v: (-(v.count or 0), v.label))
        return tuple(found)

    chosen = query.ket
    chosen_area = taxonomy.kets[chosen][1] or chosen if chosen in taxonomy.kets else ""
    kets: list[FacetValue] = []
    for code, (name, parent, _position) in taxonomy.kets.items():
        if parent is not None or (chosen_area and code != chosen_area):
            continue
        children = tuple(
            FacetValue(sub, sub_name, counts.get(("ket", sub), 0), sub == chosen)
            for sub, (sub_name, sub_parent, _position) in taxonomy.kets.items()
            if sub_parent == code and (counts.get(("ket", sub)) or sub == chosen)
        )
        n = counts.get(("ket1", code), 0)
        if chosen and chosen != code:
            # A sub-area is chosen: its area is offered as the way back to the whole area,
            # without a count (every current result has it).
            kets.append(FacetValue(code, name, None, False, children))
        elif n or code == chosen:
            kets.append(FacetValue(code, name, n, code == chosen, children))
    known_countries = country_names()
    countries = {code for (f, code) in counts if f == "country"} | {query.country}
    return {
        "ket": tuple(kets),
        "category": values("category", taxonomy.categories, query.category),
        "kind": values("kind", taxonomy.kinds, query.kind),
        # Only the countries shown are named (in the reader's language), not all of them.
        "country": values("country", {code: local_country_name(code) for code in countries
                                      if code in known_countries}, query.country),
        "accreditation": values("accreditation", taxonomy.schemes, query.accreditation),
        "bookable": (FacetValue("1", _("Has bookable equipment"),
                                counts.get(("bookable", ""), 0), query.bookable),),
    }

