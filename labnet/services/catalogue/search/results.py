"""Running a search: the page of ``/labs`` (its order, pagination and what each card
shows) and the map's set of labs.

Rules owned here, once:

- **Relevance**: the words' score (:mod:`.words`: all words before some, one field, exact
  phrase, field weights), then a verified, unexpired accreditation, then bookable equipment,
  then distance (with ``near``), then name. Without words, "relevance" means distance with
  ``near`` and name otherwise.
- **What matched, on each card**: up to three pieces of equipment whose name, maker, model
  or category meets a word (the matched words marked) and up to two capability lines; with
  no result, the nearest categories and KET areas as "did you mean" filters.
- **Pages**: a page past the end is empty, not an error; distances are exact for the labs a
  page shows. The map takes every filter but no sorting or page.
- **A fixed number of queries** per read (RELIABILITY §6.4), whatever the catalogue's size.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    bindparam,
    func,
    select,
)
from sqlalchemy.orm import joinedload

from labnet import caches, clock, i18n, permissions
from labnet.extensions import db
from labnet.models import Equipment, EquipmentStatus, Lab, LabFacetSet, LabKet, LabKind
from labnet.services.booking import free_days
from labnet.services.booking.availability import FreeEquipment, FreeWindow, free_equipment
from labnet.services.catalogue import public
from labnet.services.catalogue.search import facets, index, lab_facets, words
from labnet.services.catalogue.search import text as txt
from labnet.services.catalogue.search.facets import FacetValue
from labnet.services.catalogue.search.filters import (
    _base,
    _Circle,
    _conditions,
    _id_in,
    _near,
    _place,
)
from labnet.services.catalogue.search.query import SearchQuery, _taxonomy, depends_on_viewer

ACCREDITED = 2  # tie-breakers added to the words' score (below its smallest step)
BOOKABLE = 1


@dataclass(frozen=True)
class EquipmentMatch:
    """A piece of equipment a card shows because it met the words: ``pieces`` is its
    name, maker and model cut into (text, matched)."""

    id: int
    pieces: list[tuple[str, bool]]


@dataclass(frozen=True)
class LabMatch:
    """What matched in one lab: equipment, capability lines (each cut into pieces)."""

    equipment: list[EquipmentMatch]
    capabilities: list[list[tuple[str, bool]]]
    more_equipment: int = 0


def _corrected(match: words.WordMatch) -> dict[str, str]:
    """Words typed → what was searched instead (typo tolerance), for the page to say."""
    fixed = set(match.corrections.values())
    vocab = txt.vocabulary()
    return {" ".join(r.words): (vocab.labels[min(r.concepts)] if r.concepts else r.stems[0])
            for r in match.analysis.requirements if fixed & set(r.stems)}


def _translated(match: words.WordMatch) -> dict[str, str]:
    """Words of the query the vocabulary read as an English concept through another
    language's terms → the concept's English name, for a page not in English to say (an
    English page says nothing: "robot" is English too)."""
    if i18n.current_language() == i18n.DEFAULT_LANGUAGE:
        return {}
    vocab = txt.vocabulary()
    out = {}
    for r in match.analysis.requirements:
        key = tuple(txt.stem(w) for w in r.words)
        if key in vocab.translations and key not in vocab.phrases and r.concepts:
            out[" ".join(r.words)] = vocab.labels[min(r.concepts)]
    return out


def _lab_matches(labs: Sequence[Lab], match: words.WordMatch,
                 categories: dict[str, str]) -> dict[int, LabMatch]:
    """For the labs of a page: the equipment and capability lines that met the words. One
    query (the page's equipment, as driver rows), whatever the page shows; a text's terms
    come from the per-process cache of :func:`.text.document_terms`, and only what a card
    shows (three pieces of equipment, two lines) is cut into marked words."""
    if not labs:
        return {}
    wanted = set().union(*(r.terms for r in match.analysis.requirements))
    rows = words.driver_rows(
        select(Equipment.id, Equipment.lab_id, Equipment.name, Equipment.maker,
               Equipment.model, Equipment.category_code)
        .where(Equipment.lab_id.in_([lab.id for lab in labs]),
               Equipment.status != EquipmentStatus.RETIRED)
        .order_by(Equipment.name, Equipment.id)
    )
    terms_of = txt.document_terms
    hits: dict[int, list[tuple[int, str]]] = {}
    for eq_id, lab_id, name, maker, model, category in rows:
        label = " · ".join(p for p in (name, " ".join(x for x in (maker, model) if x)) if p)
        if not wanted.isdisjoint(terms_of(f"{label} {categories.get(category, '')}")[0]):
            hits.setdefault(lab_id, []).append((eq_id, label))
    out: dict[int, LabMatch] = {}
    for lab in labs:
        lines = [line for line in (lab.capabilities or "").splitlines()
                 if not wanted.isdisjoint(terms_of(line)[0])]
        found = hits.get(lab.id, [])
        if found or lines:
            out[lab.id] = LabMatch(
                equipment=[EquipmentMatch(id=eq_id,
                                          pieces=txt.marked_words(label, match.analysis))
                           for eq_id, label in found[:3]],
                capabilities=[txt.marked_words(line, match.analysis) for line in lines[:2]],
                more_equipment=max(0, len(found) - 3))
    return out


def _page_ids(rows: Sequence[Any], circle: _Circle | None, sort: str, offset: int,
              per_page: int, *, by_distance: bool = False) -> list[int]:
    """Ids of one page of ``rows`` (id, name, score), in order. With distances, rows are
    ordered by their haversine distance first; exact distances are then computed only for
    the rows up to the end of the page and those whose bounds overlap the last of them: any
    other row certainly comes later (its lower bound exceeds that row's upper bound).
    ``by_distance``: ``rows`` already come in that first order (score, haversine distance,
    name, id: :attr:`_Matched.by_distance`), so it is not sorted again."""
    end = offset + per_page
    if circle is None and sort == "relevance":
        # The matched set keeps its rows in this order already (:func:`_match_set`).
        return [r[0] for r in rows[offset:end]]
    if circle is None or sort == "name":
        def plain(r: Any) -> tuple[Any, ...]:
            return (-r[2] if sort == "relevance" else 0, r[1], r[0])

        return [r[0] for r in sorted(rows, key=plain)[offset:end]]

    def group(r: Any) -> int:
        return -r[2] if sort == "relevance" else 0

    approx = list(rows) if by_distance else sorted(
        rows, key=lambda r: (group(r), circle.approx[r[0]], r[1], r[0]))
    head = approx[:end]
    if head and len(approx) > end:
        last = head[-1]
        limit = circle.upper(last[0])
        head += [r for r in approx[end:]
                 if group(r) == group(last) and circle.lower(r[0]) <= limit]
    head.sort(key=lambda r: (group(r), circle.exact(r[0]), r[1], r[0]))
    return [r[0] for r in head[offset:end]]


@dataclass(frozen=True)
class SearchResult:
    """A page of labs with everything ``/labs`` shows. Also a pagination object for the
    ``ui.pagination`` macro (``page``, ``pages``, ``has_prev``, ``iter_pages`` …)."""

    query: SearchQuery
    items: list[Lab]
    total: int
    per_page: int
    facets: dict[str, tuple[FacetValue, ...]]
    distances: dict[int, float]  # lab id -> km for the labs on this page (with ``near``)
    place: Any
    ket_names: dict[str, str]
    # lab id -> the codes of its KET areas, sorted, for the labs on this page
    ket_codes: dict[int, list[str]] = field(default_factory=dict)
    # lab id -> its equipment free for the wanted time, first free first (availability filter)
    free: dict[int, list[FreeWindow]] = field(default_factory=dict)
    matches: dict[int, LabMatch] = field(default_factory=dict)  # lab id -> what met the words
    all_words: bool = True  # False: no lab met every word, these meet some
    corrected: dict[str, str] = field(default_factory=dict)  # word typed -> word searched
    # Words typed in another language than English -> the English concept they were read as
    translated: dict[str, str] = field(default_factory=dict)
    suggestions: list[words.Suggestion] = field(default_factory=list)  # "did you mean"

    @property
    def labs(self) -> list[Lab]:
        """The labs on this page (``items``, as the pagination macro names them)."""
        return self.items

    def label(self, param: str) -> str:
        """The name of the value selected for ``param`` (its code if unknown)."""
        code = getattr(self.query, param)
        for value in self.facets.get(param, ()):
            for candidate in (value, *value.children):
                if candidate.code == code:
                    return candidate.label
        return str(code)

    @property
    def page(self) -> int:
        """This page's number, from 1."""
        return self.query.page

    @property
    def pages(self) -> int:
        """How many pages the results fill (0 without results)."""
        return max(1, math.ceil(self.total / self.per_page)) if self.total else 0

    @property
    def has_prev(self) -> bool:
        """Whether a page comes before this one."""
        return self.page > 1

    @property
    def prev_num(self) -> int | None:
        """The page before (the last page when this one is past the end), or ``None``."""
        return min(self.page - 1, max(self.pages, 1)) if self.has_prev else None

    @property
    def has_next(self) -> bool:
        """Whether a page comes after this one."""
        return self.page < self.pages

    @property
    def next_num(self) -> int | None:
        """The page after, or ``None``."""
        return self.page + 1 if self.has_next else None

    @property
    def first(self) -> int:
        """The position of this page's first lab among the results, from 1 (0 if empty)."""
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last(self) -> int:
        """The position of this page's last lab among the results (0 if empty)."""
        return self.first + len(self.items) - 1 if self.items else 0

    def iter_pages(self, *, left_edge: int = 2, left_current: int = 2, right_current: int = 4,
                   right_edge: int = 2) -> Iterator[int | None]:
        """Page numbers to link, ``None`` for a gap (as Flask-SQLAlchemy's Pagination)."""
        pages_end = self.pages + 1
        if pages_end == 1:
            return
        left_end = min(1 + left_edge, pages_end)
        yield from range(1, left_end)
        if left_end == pages_end:
            return
        mid_start = max(left_end, self.page - left_current)
        mid_end = min(self.page + right_current + 1, pages_end)
        if mid_start - left_end > 0:
            yield None
        yield from range(mid_start, mid_end)
        if mid_end == pages_end:
            return
        right_start = max(mid_end, pages_end - right_edge)
        if right_start - mid_end > 0:
            yield None
        yield from range(right_start, pages_end)


@dataclass(frozen=True)
class _Matched:
    """A words-or-place search's matched set: (id, name, score) per published lab in
    relevance order (score, name, id; with ``near``: score, distance, name, id — see
    :attr:`by_distance`), the facet counts over them, and what the words' page needs
    besides (for the cache).

    Kept compact, since the shared cache pickles it on every read: the ids and scores as
    two integer arrays and the names as one string (a pickled list of thousands of
    tuples took 4–5 ms to read back at 7,000 matches; these take 0.1 ms). The names are
    split again only for an order other than relevance (:attr:`rows`)."""

    ids: array[int]
    scores: array[int]
    names: str  # the names in the same order, joined by NAME_SEP
    counts: dict[tuple[str, str], int]
    all_words: bool = True
    corrections: dict[str, str] = field(default_factory=dict)
    # With ``near``: the matched labs' haversine distances and coordinates (the page's
    # order and exact distances need no second read of the bounding box).
    approx: dict[int, float] = field(default_factory=dict)
    coords: dict[int, tuple[float, float]] = field(default_factory=dict)
    # With ``near``, the rows come by score, then haversine distance, name and id (the
    # first order of a page by relevance, or by distance without words), not by score and
    # name: a page then skips re-sorting thousands of rows on every request.
    by_distance: bool = False

    @classmethod
    def of(cls, rows: Sequence[tuple[int, str, int]], counts: dict[tuple[str, str], int],
           **rest: Any) -> _Matched:
        names = NAME_SEP.join(r[1] for r in rows)
        if rows and names.count(NAME_SEP) != len(rows) - 1:  # a name holding the separator
            names = NAME_SEP.join(r[1].replace(NAME_SEP, "") for r in rows)
        return cls(array("q", [r[0] for r in rows]), array("q", [r[2] for r in rows]),
                   names, counts, **rest)

    @property
    def rows(self) -> list[tuple[int, str, int]]:
        """(id, name, score) per lab, in relevance order."""
        names = self.names.split(NAME_SEP) if self.ids else []
        return list(zip(self.ids, names, self.scores, strict=True))


NAME_SEP = "\x00"  # not in a lab's name (PostgreSQL text cannot hold it)


def _match_set(query: SearchQuery, base: Select[tuple[Lab]], conds: list[Any],
               at: datetime, circle: _Circle | None) -> _Matched:
    """Run the filters once: the matching labs' ids, names and scores (driver rows:
    thousands of labs may match a word) with their facet sets, whose lines give the
    tie-breakers and the facet counts in the same pass (no second read of the word index)."""
    index.sync(db.session())  # the facet sets include this transaction's own writes
    # One fetch of thousands of driver rows (no Row objects), each with its lab's facet set
    # (split once per process: :func:`.lab_facets.parsed`).
    found = words.driver_rows(
        base.with_only_columns(Lab.id, Lab.name, LabFacetSet.codes)
        .outerjoin(LabFacetSet, LabFacetSet.lab_id == Lab.id)
        .where(*conds))
    # Each facet set split once per process (:func:`.lab_facets.parsed`): its lines for the
    # counts, and the tie-breakers (cheaper than two index probes per lab): ``ACCREDITED``
    # for a verified accreditation not ended at ``at`` (:func:`.lab_facets.stamp`),
    # ``BOOKABLE`` for bookable equipment — the filters' definitions (:mod:`.lab_facets`).
    sets = lab_facets.parsed_all([r[2] for r in found])
    match = None
    if query.words:
        match = words.match(query.q)
        get = match.scores.get
        now_text = lab_facets.stamp(at)
        rows = [(r[0], r[1], get(r[0], 0) + (BOOKABLE if bookable else 0)
                 + (ACCREDITED if until is not None and until > now_text else 0))
                for r, (_lines, bookable, until) in zip(found, sets, strict=True)]
    else:
        rows = [(r[0], r[1], 0) for r in found]
    # In relevance order (score, then name and id) once, here: a page read from the cache
    # is then a slice, not a sort of thousands of rows. Stable sorts on one item each (id,
    # then name, then score descending) cost less than one on a built key.
    rows.sort(key=itemgetter(0))
    rows.sort(key=itemgetter(1))
    if circle is not None:  # (score, distance, name, id): :attr:`_Matched.by_distance`
        rows.sort(key=lambda r: circle.approx[r[0]])
    rows.sort(key=itemgetter(2), reverse=True)
    ids = [r[0] for r in rows]
    # Counted over the facet sets just read (:func:`.facets.count_lines`), not by a second
    # query running the word and place conditions again.
    counts = facets.count_lines([lines for lines, _b, _u in sets], at)
    near: dict[str, Any] = {}
    if circle is not None:
        near = {"approx": {i: circle.approx[i] for i in ids}, "coords": circle.coords(ids),
                "by_distance": True}
    if match is None:
        return _Matched.of(rows, counts, **near)
    return _Matched.of(rows, counts, all_words=match.all_words,
                       corrections=dict(match.corrections), **near)


def _list_options(stmt: Select[tuple[Lab]]) -> Select[tuple[Lab]]:
    # The page's KET areas come as codes (:attr:`SearchResult.ket_codes`, one Core query):
    # loading them as link objects cost 2.6 ms of a page's 20 labs.
    return stmt.options(joinedload(Lab.kind), joinedload(Lab.organisation))


def _load_page(ids: Sequence[int]) -> list[Lab]:
    """The labs ``ids`` names, loaded for their cards, in that order (one query)."""
    loaded = {lab.id: lab for lab in db.session.scalars(_list_options(
        select(Lab).where(_id_in(list(ids), "page_ids")))).unique()}
    return [loaded[i] for i in ids if i in loaded]


def search_labs(actor: Any, query: SearchQuery, *, per_page: int,
                now: datetime | None = None, facet_cache: MutableMapping[Any, Any] | None = None,
                facet_cache_seconds: float = 0) -> SearchResult:
    """One page of the labs matching ``query``, the total, the facet counts and distances.

    Facet counts are drill-down counts over the matching labs: beside each value, how many
    of the current results have it (so how many remain if it is added). Families: ``ket``
    (level-1 areas with their sub-areas as children), ``category``, ``kind``, ``country``,
    ``accreditation``, ``bookable``. Values with no lab are left out, except a selected one.
    ``now`` decides which accreditations are still valid (the boundary passes its clock;
    ``None`` reads :func:`labnet.clock.utcnow`).

    Queries: one for the facets and the total, one for the page, one for its KET links,
    plus the taxonomy (once per request) and, with ``near``, the bounding box — whatever the
    catalogue's size. A page past the end is empty, not an error.

    ``facet_cache``: when given, the counts of the bare catalogue (no criterion at all, the
    most visited page and the costliest count: every published lab) are reused for
    ``facet_cache_seconds``. A search with words or a place keeps its matched set (ids,
    names, scores, counts, distances: :class:`_Matched`) in the shared cache for as long,
    per criteria, hour, catalogue version and (network filter) viewer's scope; a search
    for free time is never cached. The page of labs itself is always read live.
    """
    at = now or clock.utcnow()
    taxonomy = _taxonomy()
    place = _place(query)
    span = ((query.available_from, query.available_to, query.hours)
            if query.available_from and query.available_to and query.hours else None)
    checking = span is not None

    def conditions(circle: _Circle | None) -> list[ColumnElement[bool]]:
        return _conditions(query, taxonomy, at, circle.ids if circle else None, actor=actor)

    # A words-or-place search not about availability may come from the cache (below): its
    # conditions (the words' read the word index, the place's the bounding box) are then
    # built only on a miss.
    cached = bool(facet_cache_seconds) and not checking and bool(query.words or place)
    circle = None if cached else _near(query, place)
    conds = [] if cached else conditions(circle)
    found: _Matched | None = None
    if span is not None:
        # "Free for D hours": the free-time summary's prefilter here; the exact rule
        # engine checks the labs of the page below (twice a page of candidates, so the few
        # labs the prefilter lets through and the engine refuses leave the page full).
        free_days.sync(db.session())
        prefilter = free_days.candidates(*span, db.session.connection())
        conds.append(prefilter)
    want = per_page * 2 if checking else per_page
    base = _base(actor)
    offset = (query.page - 1) * per_page
    sort = query.effective_sort
    items: list[Lab] = []
    # Availability without words or a place: the page of candidates, by name, as a
    # statement the exact engine reads itself (ids, zones, hours in one query); only the
    # labs it keeps are loaded whole, below.
    candidates_page = None
    if checking and place is None and not query.words and len(conds) == 1:
        # The filter alone keeps most labs: the labs the prefilter leaves out are read
        # once (a few, by id), their counts taken from the bare catalogue's maintained
        # ones, and the page walks the name index past them.
        left_out = list(db.session.connection().scalars(
            base.with_only_columns(Lab.id).where(~prefilter).order_by(Lab.id)))
        counts = facets.subtract(facets.bare_counts(at), facets._facet_counts(
            base.where(_id_in(left_out, "left_out_ids")), at))
        candidates_page = (
            base.where(Lab.id.not_in(bindparam("kept_out_ids", left_out, expanding=True,
                                               literal_execute=True)))
            .order_by(Lab.name, Lab.id).limit(want).offset(offset))
    elif checking and place is None and not query.words:
        # With another filter (a country, a kind…) the labs kept are few: counted over
        # them, never over the rest of the catalogue.
        counts = facets._facet_counts(base.where(*conds), at)
        candidates_page = base.where(*conds).order_by(Lab.name, Lab.id).limit(want).offset(offset)
    elif place is None and not query.words:
        # Browsing by filters only: the database orders by name (index) and pages.
        if not conds and facet_cache is not None and facet_cache_seconds > 0:
            # No criterion at all, so no network filter: the counts are over the published
            # labs, the same for every viewer (visible_labs ignores who asks). A committed
            # catalogue write in this process starts a new entry (DESIGN rule 9).
            counts = facets._cached(facet_cache, ("bare", facets.hour_of(at), caches.generation()),
                                    facet_cache_seconds, lambda: facets.bare_counts(at))
        elif not conds:  # the maintained snapshot, never a count over every lab
            counts = facets.bare_counts(at)
        else:
            counts = facets._facet_counts(base.where(*conds), at)
        items = list(db.session.scalars(_list_options(
            base.where(*conds).order_by(Lab.name, Lab.id).limit(per_page).offset(offset)
        )).unique())
    else:
        # Words or a place: the filters (the word matches over equipment are the costly
        # part) run once, returning each match's id, name and relevance; the facets count
        # over those ids, the page is ordered in Python (by the exact distances where they
        # decide), and its labs are loaded by id. The matched set and its counts are kept
        # in the shared cache per (criteria, viewer's scope, hour, catalogue version): a
        # committed catalogue write on any host starts new entries (DESIGN rule 9).
        def matched() -> _Matched:
            if not cached:
                return _match_set(query, base, conds, at, circle)
            near = _near(query, place)
            return _match_set(query, base, conditions(near), at, near)

        if not cached:
            found = matched()
        else:
            key = (tuple(sorted(query.to_args(page=None, sort=None).items())),
                   permissions.visibility_scope(actor) if depends_on_viewer(query) else None,
                   facets.hour_of(at), caches.generation())
            found = caches.remember("search", key, facet_cache_seconds, matched)
        counts = found.counts
        if cached and place is not None:
            circle = _Circle.known(place, query.radius, found.approx, found.coords)
        if circle is None and sort == "relevance":
            # The matched set keeps its labs in this order already: a page is a slice.
            page_ids = list(found.ids[offset:offset + want])
        else:
            page_ids = _page_ids(found.rows, circle, sort, offset, want,
                                 by_distance=found.by_distance and (
                                     sort == "relevance" or not query.words))
        items = _load_page(page_ids)
    total = counts.get(("total", ""), 0)
    free: FreeEquipment | None = None
    if span is not None:
        if candidates_page is not None:
            free = free_equipment(candidates_page, *span, now=now or clock.utcnow(),
                                  ordered=True)
            candidate_ids = free.considered
        else:
            candidate_ids = [lab.id for lab in items]
            free = free_equipment(base.where(_id_in(candidate_ids, "page_ids")),
                                  *span, now=now or clock.utcnow())
        kept = [i for i in candidate_ids if i in free.lab_ids]
        if len(kept) < len(candidate_ids) and offset == 0 and len(candidate_ids) < want:
            # The engine refused some candidates and every candidate was checked: the
            # results are exactly ``kept``, and so are the counts (one grouped query).
            counts = facets._facet_counts(base.where(_id_in(kept, "kept_ids")), at)
            total = len(kept)
        else:
            # A lab the engine refuses is not counted either; the count is otherwise the
            # prefilter's (at most the few labs it lets through that the engine refuses).
            total -= len(candidate_ids) - len(kept)
        shown = kept[:per_page]
        if candidates_page is not None:
            items = _load_page(shown)
        else:
            loaded = {lab.id: lab for lab in items}
            items = [loaded[i] for i in shown]
    word_match = (words.shown(query.q, found.all_words, found.corrections)
                  if query.words and found is not None else
                  words.match(query.q) if query.words else None)
    extra: dict[str, Any] = {}
    if word_match is not None:
        extra = {
            "matches": _lab_matches(items, word_match, taxonomy.categories),
            "all_words": word_match.all_words,
            "corrected": _corrected(word_match),
            "translated": _translated(word_match),
            "suggestions": ([] if total else words.did_you_mean(
                query.q, taxonomy.categories, taxonomy.ket_names)),
        }
    return SearchResult(**extra,
        query=query, items=items, total=total, per_page=per_page,
        facets=facets._facets(query, taxonomy, counts),
        distances={lab.id: circle.exact(lab.id) for lab in items} if circle else {},
        place=circle.place if circle else None,
        ket_names=taxonomy.ket_names,
        ket_codes=public.lab_ket_codes([lab.id for lab in items]) if items else {},
        free=free.windows([lab.id for lab in items]) if free is not None else {},
    )


# --- the map -------------------------------------------------------------------------------

@dataclass(frozen=True)
class MapLab:
    """One lab as a map marker: where it is and what its popup shows."""

    id: int
    slug: str
    name: str
    kind_name: str
    city: str
    country: str
    lat: float
    lon: float
    equipment_count: int
    ket_codes: tuple[str, ...]


def labs_not_free(query: SearchQuery) -> list[int]:
    """The published labs the map's availability filter leaves out (the free-time
    summary's answer, as :func:`map_labs` gives it), by id: a few hundred at most where
    the filter keeps nearly every lab. Three queries."""
    if not (query.available_from and query.available_to and query.hours):
        raise ValueError("labs_not_free needs the availability filter")
    free_days.sync(db.session())
    conn = db.session.connection()
    free = free_days.candidates(query.available_from, query.available_to, query.hours, conn)
    return list(conn.scalars(_base(None).with_only_columns(Lab.id).where(~free)
                             .order_by(Lab.id)))


def map_labs(actor: Any, query: SearchQuery, *, now: datetime | None = None) -> list[MapLab]:
    """Every published lab matching ``query`` that has coordinates, by name: all filters
    apply (availability from the free-time summary: see below), pagination and sorting do
    not. One query (KET codes aggregated in SQL), plus the
    taxonomy and, with ``near``, the bounding box. ``now`` as in :func:`search_labs`."""
    at = now or clock.utcnow()
    circle = _near(query)
    conds = _conditions(query, _taxonomy(), at, circle.ids if circle else None,
                        actor=actor)
    if query.available_from and query.available_to and query.hours:
        # "Free for D hours" on the map: the free-time summary's answer alone
        # (:func:`.free_days.candidates`), never the exact engine over thousands of labs.
        # A lab is shown when, on some day of the span, a kind of its bookable equipment
        # has a free run of at least D hours once opening hours, bookings (with their set-up
        # buffers) and blackouts are taken out; lead time, the advance window, unit
        # alignment and length limits are not checked (the list's page checks them), so the
        # map may show a few labs the list refuses, never fewer.
        free_days.sync(db.session())
        conds.append(free_days.candidates(query.available_from, query.available_to,
                                          query.hours, db.session.connection()))
    kets = (
        select(func.aggregate_strings(LabKet.ket_code, " "))
        .where(LabKet.lab_id == Lab.id)
        .scalar_subquery()
    )
    rows = db.session.execute(
        _base(actor)
        .with_only_columns(Lab.id, Lab.slug, Lab.name, LabKind.name, Lab.city, Lab.country,
                           Lab.lat, Lab.lon, Lab.equipment_count, kets)
        .join(LabKind, LabKind.code == Lab.kind_code)
        .where(Lab.lat.is_not(None), Lab.lon.is_not(None), *conds)
        .order_by(Lab.name, Lab.id)
    ).all()
    return [
        MapLab(id=r[0], slug=r[1], name=r[2], kind_name=r[3], city=r[4], country=r[5],
               lat=r[6], lon=r[7], equipment_count=r[8],
               ket_codes=tuple(sorted((r[9] or "").split())))
        for r in rows
    ]

