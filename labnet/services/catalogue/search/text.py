"""How words are read, for the index and for queries alike.

Rules owned here, once:

- **Normalising.** Case and accents fold (München → munchen, ß → ss); a hyphen or slash
  beside a single letter or digit joins it ("x-ray" → xray, "3-D" → 3d, "e-beam" → ebeam,
  "BSL-2" → bsl2), other punctuation splits; British spellings become American
  (``spellings`` of the vocabulary: fibre → fiber; -isation → -ization); a few function
  words drop; every word is stemmed with the Snowball stemmer of its language
  (battery/batteries → batteri; words of one to three letters stay as typed). Python does
  it, so SQLite and PostgreSQL index and search exactly the same terms.
- **The vocabulary** (``labnet/data/search_vocabulary.yaml``): each concept's terms are
  matched as whole normalised word sequences; a text containing one carries the concept
  (``_sem``) and every broader one (``_electron-microscope``, ``_microscope``). A query
  names a concept by any of its terms and then finds every text carrying it, so "SEM" finds
  "scanning electron microscope" and never "semiconductor".
- **Other languages** (``labnet/data/search_vocabulary/<lang>.yaml``): the words people
  type in de, fr, it, sl, cs, pl, hu, each mapped to an English concept (``concepts``: the
  term expands to that concept, exactly as its English terms do) or to one English word
  (``words``: for KET-area words no concept names, "Photonik" → photonics). A foreign term
  never needs text written in its language: it finds what the English concept finds.
- **What a query asks** (:func:`analyse`): its words left to right, the longest vocabulary
  term first; each becomes one *requirement* (a set of alternative terms, any of which
  satisfies it), plus the adjacent word pairs that make the exact-phrase bonus.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import snowballstemmer

from labnet import data

# Where a term occurs, as bits of ``search_term.fields``, and what each weighs in ranking:
# the lab's name and capabilities above its equipment, above KET areas and city, above the
# free-text description.
FIELD_NAME = 1
FIELD_CAPABILITIES = 2
FIELD_EQUIPMENT = 4
FIELD_KET = 8
FIELD_CITY = 16
FIELD_DESCRIPTION = 32
# An equipment's specifications and its category's group: searched by their words only (no
# vocabulary concepts: the group "Probe & optical microscopy" does not make a profilometer
# a microscope), weighing least.
FIELD_DETAILS = 64
FIELD_WEIGHTS = {FIELD_NAME: 6, FIELD_CAPABILITIES: 6, FIELD_EQUIPMENT: 5, FIELD_KET: 3,
                 FIELD_CITY: 4, FIELD_DESCRIPTION: 2, FIELD_DETAILS: 1}
# Fields whose adjacent word pairs are indexed for the exact-phrase bonus (short texts).
PHRASE_FIELDS = FIELD_NAME | FIELD_CAPABILITIES | FIELD_EQUIPMENT
CONCEPT_PREFIX = "_"
MAX_TERM_LENGTH = 80
# Typo tolerance: words of at least this many letters are corrected to the nearest indexed
# term within one edit (two from :data:`TWO_EDITS_FROM` letters on).
FUZZY_MIN_LENGTH = 5
TWO_EDITS_FROM = 8
INDEX_LANGUAGE = "en"

_STOPWORDS = frozenset({"a", "an", "and", "the", "of", "for", "in", "on", "with", "to", "by",
                        "at", "or", "incl", "including", "e", "g", "eg", "via", "our", "we"})
_SINGLE_BEFORE = re.compile(r"(?<![a-z0-9])([a-z0-9])[-/](?=[a-z0-9])")
_SINGLE_AFTER = re.compile(r"(?<=[a-z0-9])[-/]([a-z0-9])(?![a-z0-9])")
_WORD = re.compile(r"[a-z0-9]+")
_ISATION = re.compile(r"^([a-z]{4,})isation(s?)$")  # characterisation → characterization


# Latin letters Unicode does not decompose into a base letter and a mark: written as the
# letter people type without them ("Łódź" → "lodz", "Ørsted" → "orsted").
_UNDECOMPOSED = str.maketrans({
    "ß": "ss", "ẞ": "ss", "µ": "micro", "μ": "micro", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d",
    "ð": "d", "Ð": "d", "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe",
    "þ": "th", "Þ": "th", "ı": "i", "ħ": "h", "Ħ": "h", "ŀ": "l", "Ŀ": "l",
})


def fold(text: str) -> str:
    """Lower case without accents: "München" → "munchen", "Łódź" → "lodz", "µCT" →
    "microct"."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_UNDECOMPOSED))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def words(text: str) -> list[str]:
    """The folded words of ``text``, single letters and digits joined to their hyphenated
    neighbour, British spellings made American, function words left out (not stemmed)."""
    folded = _SINGLE_AFTER.sub(r"\1", _SINGLE_BEFORE.sub(r"\1", fold(text)))
    spellings = _spellings()
    return [_ISATION.sub(r"\1ization\2", spellings.get(w, w))
            for w in _WORD.findall(folded) if w not in _STOPWORDS]


@lru_cache(maxsize=65536)
def stem(word: str, language: str = INDEX_LANGUAGE) -> str:
    """The Snowball stem of one folded word in ``language`` (a vocabulary language code)."""
    if word.isdigit() or len(word) < 4:  # abbreviations stay as written
        return word
    return _stemmer(language).stemWord(word)[:MAX_TERM_LENGTH]


_STEMMERS = threading.local()


def _stemmer(language: str) -> Any:
    # One per thread: a Snowball stemmer keeps its word in its own state while it works,
    # so two threads sharing one (a threaded server) corrupt each other's stems.
    name = vocabulary_languages()[language]
    per_thread = _STEMMERS.__dict__
    if name not in per_thread:
        per_thread[name] = snowballstemmer.stemmer(name)
    return per_thread[name]


def vocabulary_languages() -> dict[str, str]:
    """Vocabulary language code → Snowball algorithm name (shipped data)."""
    return dict(data.search_vocabulary()["languages"])


def stems(text: str, language: str = INDEX_LANGUAGE) -> list[str]:
    """The stems of ``text``'s words, in order."""
    return [stem(w, language) for w in words(text)]


@cache
def _spellings() -> dict[str, str]:
    return {fold(k): fold(v) for k, v in data.search_vocabulary().get("spellings", {}).items()}


@dataclass(frozen=True)
class Vocabulary:
    """The compiled vocabulary: stem sequences → concepts, and each concept's broader ones."""

    phrases: dict[tuple[str, ...], frozenset[str]]
    broader: dict[str, frozenset[str]]  # concept -> itself and every broader concept
    longest: int
    labels: dict[str, str]  # concept -> its first term, as written
    finds: dict[str, dict[str, Any]]
    # The other languages' terms (query words only: never read in a text, where a French
    # "four" would be an English number): stem sequences → (English concepts, English stems).
    translations: dict[tuple[str, ...], tuple[frozenset[str], frozenset[str]]] = (
        dataclasses.field(default_factory=dict))

    def expand(self, key: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]] | None:
        """What a query's stems name: (concepts, words), None for no term."""
        concepts = self.phrases.get(key)
        translated = self.translations.get(key)
        if translated is None:
            return (concepts, frozenset()) if concepts else None
        # A one-word term also finds itself (a text written in its language), unless it is
        # an English term too ("robot"): English queries ask what they always asked.
        english = translated[1] | (frozenset(key) if len(key) == 1 and not concepts
                                   else frozenset())
        return (concepts or frozenset()) | translated[0], english

    def closure(self, concepts: Iterable[str]) -> set[str]:
        """The concepts with every broader one."""
        out: set[str] = set()
        for concept in concepts:
            out |= self.broader.get(concept, {concept})
        return out


@cache
def vocabulary() -> Vocabulary:
    """The vocabulary file compiled once per process. A term is compiled with its entry's
    language stemmer and with the index's, so an entry in another language still meets the
    index's (English-stemmed) words. The other languages' terms
    (:func:`labnet.data.search_vocabulary_translations`) expand to English concepts or words."""
    spec = data.search_vocabulary()
    phrases: dict[tuple[str, ...], set[str]] = {}
    translated: dict[tuple[str, ...], tuple[set[str], set[str]]] = {}
    direct: dict[str, set[str]] = {}
    labels: dict[str, str] = {}
    finds: dict[str, dict[str, Any]] = {}
    for entry in spec["concepts"]:
        concept = str(entry["id"])
        labels[concept] = str(entry["terms"][0])
        finds[concept] = dict(entry.get("finds") or {})
        direct[concept] = set(entry.get("broader") or ())
        for term in entry["terms"]:
            for language in {entry.get("lang", INDEX_LANGUAGE), INDEX_LANGUAGE}:
                key = tuple(stems(str(term), language))
                if key:
                    phrases.setdefault(key, set()).add(concept)
    for spec_words in data.search_vocabulary_translations().values():
        for concept, terms in (spec_words.get("concepts") or {}).items():
            for key in _foreign_keys(terms):
                translated.setdefault(key, (set(), set()))[0].add(str(concept))
        for english, terms in (spec_words.get("words") or {}).items():
            for key in _foreign_keys(terms):
                translated.setdefault(key, (set(), set()))[1].update(stems(str(english)))

    def up(concept: str, seen: frozenset[str]) -> set[str]:
        out = {concept}
        for parent in direct.get(concept, ()):
            if parent not in seen:
                out |= up(parent, seen | {parent})
        return out

    return Vocabulary(
        phrases={k: frozenset(v) for k, v in phrases.items()},
        broader={c: frozenset(up(c, frozenset({c}))) for c in direct},
        longest=max(len(k) for k in [*phrases, *translated]),  # the query's longest term
        labels=labels, finds=finds,
        translations={k: (frozenset(c), frozenset(w)) for k, (c, w) in translated.items()},
    )


def _foreign_keys(terms: Iterable[Any]) -> set[tuple[str, ...]]:
    """The stem sequences of one language's terms, stemmed as a query is (in English: the
    forms a word takes are listed as terms; cs, pl and sl have no Snowball stemmer, and a
    query's language is not known here). A Polish "ł", which has no accent to fold, is also
    read as the "l" people type on other keyboards ("łączenie", "laczenie")."""
    variants = {v for term in terms for v in (str(term), str(term).replace("ł", "l")
                                               .replace("Ł", "L"))}
    return {key for key in (tuple(stems(v)) for v in variants) if key}


def concept_term(concept: str) -> str:
    """The index term standing for a concept (no typed word can produce it)."""
    return CONCEPT_PREFIX + concept


def _spans(seq: list[str], vocab: Vocabulary) -> list[tuple[int, int, frozenset[str]]]:
    """Every (start, end, concepts) where a vocabulary term occurs in ``seq``."""
    found = []
    for i in range(len(seq)):
        for j in range(i + 1, min(len(seq), i + vocab.longest) + 1):
            concepts = vocab.phrases.get(tuple(seq[i:j]))
            if concepts:
                found.append((i, j, concepts))
    return found


@lru_cache(maxsize=65536)
def document_terms(text: str, *, concepts: bool = True
                   ) -> tuple[frozenset[str], frozenset[str]]:
    """The terms one text puts in the index: (its stems and, unless ``concepts`` is false,
    the vocabulary concepts it names; its adjacent stem pairs "a b" for the phrase bonus).
    Kept per process: catalogue texts repeat (category names, makers, models)."""
    seq = stems(text)
    vocab = vocabulary()
    terms = set(seq)
    named: set[str] = set()
    if concepts:
        for _i, _j, found in _spans(seq, vocab):
            named |= found
    terms |= {concept_term(c) for c in vocab.closure(named)}
    pairs = frozenset(f"{a} {b}"[:MAX_TERM_LENGTH] for a, b in itertools.pairwise(seq))
    return frozenset(t[:MAX_TERM_LENGTH] for t in terms), pairs


@dataclass(frozen=True)
class Requirement:
    """One thing the query asks for: any of ``terms`` satisfies it. ``words`` are the
    query's words it came from (for messages), ``stems`` their stems (for marking)."""

    words: tuple[str, ...]
    stems: tuple[str, ...]
    terms: frozenset[str]
    concepts: frozenset[str]


@dataclass(frozen=True)
class Analysis:
    """A query's requirements (all wanted; labs matching some come after) and its adjacent
    stem pairs (the exact-phrase bonus)."""

    requirements: tuple[Requirement, ...]
    pairs: tuple[str, ...]

    @property
    def terms(self) -> set[str]:
        """Every term the index is asked for."""
        out: set[str] = set(self.pairs)
        for r in self.requirements:
            out |= r.terms
        return out


def analyse(query: str, corrections: dict[str, str] | None = None) -> Analysis:
    """The requirements of ``query``: vocabulary terms (longest first) become their
    concept, other words their stem. ``corrections`` replaces misspelt stems (typo
    tolerance: :func:`labnet.services.catalogue.search.index.corrections`)."""
    raw = words(query)
    seq = [stem(w) for w in raw]
    if corrections:
        seq = [corrections.get(s, s) for s in seq]
    vocab = vocabulary()
    requirements: list[Requirement] = []
    i = 0
    while i < len(seq):
        best: tuple[int, frozenset[str], frozenset[str]] | None = None
        for j in range(min(len(seq), i + vocab.longest), i, -1):
            named = vocab.expand(tuple(seq[i:j]))
            if named:
                best = (j, *named)
                break
        if best is not None:
            j, concepts, english = best
            requirements.append(Requirement(
                words=tuple(raw[i:j]),
                stems=tuple(seq[i:j]) + tuple(sorted(english - set(seq[i:j]))),
                terms=frozenset(concept_term(c) for c in concepts) | english,
                concepts=concepts))
            i = j
        else:
            requirements.append(Requirement(words=(raw[i],), stems=(seq[i],),
                                             terms=frozenset({seq[i]}), concepts=frozenset()))
            i += 1
    pairs = tuple(f"{a} {b}" for a, b in itertools.pairwise(seq))
    return Analysis(requirements=tuple(requirements), pairs=pairs)


def marked_words(text: str, analysis: Analysis) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, matched) so a card can mark the words the query matched:
    a word matches when its stem is one of a requirement's stems, or when it lies in a
    vocabulary term naming one of the query's concepts (so "SEM" marks "Scanning electron
    microscope"). The pieces are plain text; the template escapes them. Kept per process
    by the text and the query's stems and concepts (equipment names repeat)."""
    return list(_marked(text, frozenset(s for r in analysis.requirements for s in r.stems),
                        frozenset(c for r in analysis.requirements for c in r.concepts)))


@lru_cache(maxsize=65536)
def _marked(text: str, wanted_stems: frozenset[str], wanted_concepts: frozenset[str]
            ) -> tuple[tuple[str, bool], ...]:
    pieces = [(m.start(), m.end()) for m in re.finditer(r"[^\W_]+(?:[-/][^\W_]+)*", text)]
    piece_stems = [stems(text[a:b]) for a, b in pieces]
    flat: list[tuple[int, str]] = [(n, s) for n, ss in enumerate(piece_stems) for s in ss]
    hit = {n for n, s in flat if s in wanted_stems}
    vocab = vocabulary()
    seq = [s for _n, s in flat]
    for i, j, concepts in _spans(seq, vocab):
        if vocab.closure(concepts) & wanted_concepts:
            hit |= {flat[k][0] for k in range(i, j)}
    out: list[tuple[str, bool]] = []
    last = 0
    for n, (a, b) in enumerate(pieces):
        if n in hit:
            if a > last:
                out.append((text[last:a], False))
            out.append((text[a:b], True))
            last = b
    if last < len(text):
        out.append((text[last:], False))
    return tuple(out)
