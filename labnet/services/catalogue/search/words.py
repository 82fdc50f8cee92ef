"""The word condition of a search and its ranking, read from the index.

Rules owned here, once:

- **What words match.** A query's requirements (:func:`.text.analyse`: a vocabulary term
  or a word each) are looked up in ``search_term``; a lab matches when it satisfies every
  requirement. Only when no lab satisfies them all do the labs satisfying some come, most
  first (the page says so).
- **Typo tolerance.** A word of five letters or more that no indexed term equals is read
  as the nearest indexed term (or vocabulary word) within one edit, two from eight letters
  on (Levenshtein distance, ties by the term's order): "microscpe" → microscope. The term
  dictionary is kept per process for the catalogue's generation (:mod:`labnet.caches`).
- **Ranking.** Labs matching all requirements before those matching some; then labs where
  all of them meet in one field (the equipment, the capabilities or the name); then the
  exact phrase (adjacent words as typed); then the fields' weights (name and capabilities
  6, equipment 5, city 4, KET area 3, description 2, the best per requirement, summed).
  :mod:`.results` adds the tie-breakers: a verified accreditation, bookable equipment.
- **Did you mean.** With no result, the categories and KET areas nearest the words are
  offered as filters.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein
from sqlalchemy import ColumnElement, and_, case, event, false, func, select
from sqlalchemy.orm import Session

from labnet import caches
from labnet.extensions import db
from labnet.models import Lab, SearchTerm
from labnet.services.catalogue.search import index
from labnet.services.catalogue.search import text as txt

_SESSION_KEY = "labnet.search.words"
_dictionary_lock = threading.Lock()
_dictionary: dict[str, object] = {}
# Score parts (see the module's docstring), combined into one number so the page sorts by it.
ALL_WORDS = 1_000_000
ONE_FIELD = 100_000
PHRASE = 10_000
WEIGHT = 100


@dataclass(frozen=True)
class WordMatch:
    """The labs matching a query's words, with their scores."""

    analysis: txt.Analysis
    scores: dict[int, int]  # lab id -> score, matching labs only
    all_words: bool  # False when no lab matched every requirement (labs matching some)
    corrections: dict[str, str] = field(default_factory=dict)  # stem typed -> term used

    @property
    def active(self) -> bool:
        """Whether the words ask anything (punctuation and function words alone do not)."""
        return bool(self.analysis.requirements)

    @property
    def lab_ids(self) -> list[int]:
        """The matching labs' ids, in order."""
        return sorted(self.scores)

    def condition(self) -> ColumnElement[bool]:
        """The matching labs as SQL over ``lab.id``: the index's rows of each requirement
        (all of them, or any when no lab meets them all), as :func:`match` chose them —
        subqueries on the index rather than a list of thousands of ids."""
        def having(terms: Iterable[str]) -> Any:
            return Lab.id.in_(select(SearchTerm.lab_id)
                              .where(SearchTerm.term.in_(sorted(terms))))

        reqs = self.analysis.requirements
        if not self.scores:
            return false()
        if self.all_words:
            return and_(*(having(r.terms) for r in reqs))
        return having(set().union(*(r.terms for r in reqs)))


def driver_rows(stmt: Any, params: dict[str, Any] | None = None) -> list[Any]:
    """The rows of ``stmt`` as the database driver returns them (tuples), on the session's
    connection: for thousands of rows of plain integers and text, building SQLAlchemy's
    ``Row`` objects costs more than the query (about 2 ms of 6 at 7,000 rows). Only for
    columns without a result conversion (integers, text)."""
    result = db.session.connection().execute(stmt, params)
    try:
        cursor = result.cursor
        return list(cursor.fetchall()) if cursor is not None else list(result.tuples().all())
    finally:
        result.close()


def _rows(terms: Iterable[str]) -> Sequence[tuple[int, str, int]]:
    wanted = sorted(set(terms))
    if not wanted:
        return []
    # Driver rows on the session's connection: the ORM's per-row loading (or Core's Row
    # objects) would cost more than the query for a word thousands of labs share.
    return driver_rows(select(SearchTerm.lab_id, SearchTerm.term, SearchTerm.fields)
                       .where(SearchTerm.term.in_(wanted)))


def dictionary() -> list[str]:
    """Every indexed word (stems, not concepts or pairs) and every vocabulary word, sorted:
    what a misspelt word is corrected to. One query per process and catalogue generation."""
    key = caches.generation()
    with _dictionary_lock:
        if _dictionary.get("generation") == key:
            return _dictionary["terms"]  # type: ignore[return-value]
    indexed = db.session.scalars(select(SearchTerm.term).distinct()).all()
    vocab_words = {s for phrase in txt.vocabulary().phrases for s in phrase}
    terms = sorted({t for t in indexed if not t.startswith(txt.CONCEPT_PREFIX) and " " not in t}
                   | vocab_words)
    with _dictionary_lock:
        _dictionary.update(generation=key, terms=terms)
    return terms


def corrections(stems: Iterable[str]) -> dict[str, str]:
    """Misspelt stems → the nearest known term (see the module's docstring)."""
    out: dict[str, str] = {}
    known: list[str] | None = None
    for stem in stems:
        if len(stem) < txt.FUZZY_MIN_LENGTH or not stem.isalpha():
            continue
        if known is None:
            known = dictionary()
        limit = 2 if len(stem) >= txt.TWO_EDITS_FROM else 1
        best = process.extractOne(stem, known, scorer=Levenshtein.distance,
                                  score_cutoff=limit)
        if best is not None and best[1] > 0:
            out[stem] = best[0]
    return out


def _score(analysis: txt.Analysis, rows: Sequence[tuple[int, str, int]]
           ) -> dict[int, list[int]]:
    """lab id -> [requirements met, one field, phrase pairs, weights]."""
    weights = sorted(txt.FIELD_WEIGHTS.items(), key=lambda fw: -fw[1])
    best: dict[int, int] = {}  # fields mask -> its best weight (few distinct masks)

    def weight_of(fields: int) -> int:
        if fields not in best:
            best[fields] = next(w for f, w in weights if fields & f)
        return best[fields]

    reqs = [tuple(r.terms) for r in analysis.requirements]
    several = len(reqs) > 1
    pairs = analysis.pairs
    if len(reqs) == 1 and not pairs:
        # One requirement, no phrase (most searches: one word or one vocabulary term):
        # every row is one of its terms, so a lab's score is the weight of the fields its
        # rows meet — the same figures as below, without a dictionary per lab.
        masks: dict[int, int] = {}
        for lab_id, _term, fields in rows:
            masks[lab_id] = masks.get(lab_id, 0) | fields
        return {lab_id: [1, 0, 0, weight_of(fields)]
                for lab_id, fields in masks.items() if fields}
    by_lab: dict[int, dict[str, int]] = {}
    for lab_id, term, fields in rows:
        by_lab.setdefault(lab_id, {})[term] = fields
    out: dict[int, list[int]] = {}
    for lab_id, terms in by_lab.items():
        met = weight = 0
        common = -1  # fields shared by every requirement met
        for req_terms in reqs:
            fields = 0
            for term in req_terms:
                fields |= terms.get(term, 0)
            if not fields:
                continue
            met += 1
            common &= fields
            weight += weight_of(fields)
        if not met:
            continue
        one_field = int(several and met == len(reqs) and bool(common & txt.PHRASE_FIELDS))
        phrase = sum(1 for p in pairs if p in terms) if pairs else 0
        out[lab_id] = [met, one_field, phrase, weight]
    return out


def _weight() -> Any:
    """The weight of the best field of a ``search_term`` row, in SQL (as ``weight_of`` in
    :func:`_score`: the heaviest field its mask holds)."""
    fields = SearchTerm.fields
    return case(*((fields.op("&")(f) != 0, w) for f, w in
                  sorted(txt.FIELD_WEIGHTS.items(), key=lambda fw: -fw[1])), else_=0)


def _one(analysis: txt.Analysis) -> bool:
    # One requirement and no phrase (most searches: one word or one vocabulary term).
    return len(analysis.requirements) == 1 and not analysis.pairs


def _scores_one(analysis: txt.Analysis) -> dict[int, int]:
    """The scores of :func:`match` for one requirement and no phrase: every row is one of
    its terms, so a lab's score is the weight of the best field its rows meet, taken in
    SQL (one integer pair per lab, grouped over the term index) — the figures of
    :func:`_score`, without reading each row here."""
    weight = func.max(_weight())
    return dict(driver_rows(
        select(SearchTerm.lab_id, ALL_WORDS + weight * WEIGHT)
        .where(SearchTerm.term.in_(sorted(analysis.terms)))
        .group_by(SearchTerm.lab_id).having(weight > 0)))


def _scored(analysis: txt.Analysis, rows: Sequence[tuple[int, str, int]]
            ) -> tuple[dict[int, int], bool]:
    """The scores of the labs :func:`match` keeps, and whether they meet every requirement."""
    parts = _score(analysis, rows)
    wanted = len(analysis.requirements)
    full = {lab: p for lab, p in parts.items() if p[0] == wanted}
    chosen = full or parts
    return ({lab: p[0] * ALL_WORDS + p[1] * ONE_FIELD + min(p[2], 9) * PHRASE + p[3] * WEIGHT
             for lab, p in chosen.items()}, bool(full) or not parts)


def match(q: str) -> WordMatch:
    """The labs matching the words ``q`` (see the module's docstring). Kept for the
    session (one request), so the page, its facets and the map ask once."""
    cache = db.session.info.setdefault(_SESSION_KEY, {})
    if q in cache:
        return cache[q]
    index.sync(db.session())
    analysis = txt.analyse(q)
    fixed: dict[str, str] = {}
    for attempt in (1, 2):
        if _one(analysis):
            scores, all_words = _scores_one(analysis), True
            # Its rows are all of its terms: none found means none is indexed.
            found = set() if not scores else set(analysis.terms)
        else:
            rows = _rows(analysis.terms)
            scores, all_words = _scored(analysis, rows)
            found = {term for _lab, term, _f in rows}
        if attempt == 2:
            break
        missing = [s for r in analysis.requirements if not r.concepts and not (r.terms & found)
                   for s in r.stems]
        fixed = corrections(missing) if missing else {}
        if not fixed:
            break
        analysis = txt.analyse(q, fixed)
    result = WordMatch(analysis=analysis, scores=scores, all_words=all_words,
                       corrections=fixed)
    cache[q] = result
    return result


def shown(q: str, all_words: bool, fixed: dict[str, str]) -> WordMatch:
    """What a page shows of a match kept in the cache (the words marked on the cards, the
    corrections, "all words"), without reading the index again: ``scores`` is empty, so
    this is never a search's condition (use :func:`match`)."""
    analysis = txt.analyse(q, fixed) if fixed else txt.analyse(q)
    return WordMatch(analysis=analysis, scores={}, all_words=all_words, corrections=fixed)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    # A write committed (or undone) may change what words match: ask again.
    session.info.pop(_SESSION_KEY, None)


@dataclass(frozen=True)
class Suggestion:
    """A filter offered when words found nothing: ``param`` = ``code`` (category or KET)."""

    param: str
    code: str
    label: str


def did_you_mean(q: str, categories: dict[str, str], kets: dict[str, str],
                 limit: int = 3) -> list[Suggestion]:
    """The categories and KET areas nearest ``q``: those a vocabulary concept of the query
    names first, then by fuzzy similarity of the words to their names (at least 60 of 100)."""
    analysis = txt.analyse(q)
    out: list[Suggestion] = []
    for req in analysis.requirements:
        for concept in sorted(req.concepts):
            finds = txt.vocabulary().finds.get(concept, {})
            out += [Suggestion("category", c, categories[c])
                    for c in finds.get("categories", ()) if c in categories]
            out += [Suggestion("ket", k, kets[k]) for k in finds.get("kets", ()) if k in kets]
    folded = txt.fold(q)
    choices = {("category", c): txt.fold(n) for c, n in categories.items()}
    choices |= {("ket", k): txt.fold(n) for k, n in kets.items()}
    for _name, score, (param, code) in process.extract(
            folded, choices, scorer=fuzz.partial_ratio, limit=limit, score_cutoff=60):
        del score
        label = categories[code] if param == "category" else kets[code]
        out.append(Suggestion(param, code, label))
    seen: set[tuple[str, str]] = set()
    unique = []
    for s in out:
        if (s.param, s.code) not in seen:
            seen.add((s.param, s.code))
            unique.append(s)
    return unique[:limit]
