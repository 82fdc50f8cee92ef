"""The search vocabulary in other languages (``labnet/data/search_vocabulary/<lang>.yaml``),
one test per entry in the style of :mod:`tests.search.test_vocabulary`: on the small
catalogue with one lab per equipment category and one per KET area (all in English), every
term of a language's entry finds the labs the English concept's ``finds`` names, and every
term naming an English word finds the labs that word finds. Also: the other languages never
change what an English query asks, and their words fold as typed on any keyboard."""

from __future__ import annotations

import pytest

from labnet import data, i18n
from labnet.services.catalogue import search
from labnet.services.catalogue.search import text as txt
from tests.search.test_relevance import RELEVANCE
from tests.search.test_vocabulary import CONCEPTS, _expected, catalogue

__all__ = ["catalogue"]  # the fixture, shared with the English vocabulary's tests

TRANSLATIONS = data.search_vocabulary_translations()
ENGLISH = {e["id"]: e for e in CONCEPTS}
ENTRIES = [(lang, concept, terms) for lang, spec in TRANSLATIONS.items()
           for concept, terms in spec["concepts"].items()]
WORDS = [(lang, english, terms) for lang, spec in TRANSLATIONS.items()
         for english, terms in (spec.get("words") or {}).items()]


def _slugs(q: str) -> set[str]:
    query, _ = search.parse_query({"q": q})
    return {lab.slug for lab in search.search_labs(None, query, per_page=200).items}


def test_every_language_is_there_and_names_english_concepts():
    assert set(TRANSLATIONS) == set(i18n.LANGUAGES) - {i18n.DEFAULT_LANGUAGE}
    for lang, spec in TRANSLATIONS.items():
        assert set(spec) <= {"concepts", "words"}, lang
        assert set(spec["concepts"]) <= set(ENGLISH), lang
        for english in spec.get("words") or {}:
            assert len(txt.words(english)) == 1, (lang, english)  # one English word


def test_no_term_names_another_concept_than_its_english_twin():
    """A foreign term that is also an English term ("robot") names the same concept, and no
    term is listed for two concepts."""
    vocab = txt.vocabulary()
    for lang, concept, terms in ENTRIES:
        for term in terms:
            key = tuple(txt.stems(str(term)))
            assert vocab.phrases.get(key, {concept}) == {concept}, (lang, term)
            assert vocab.translations[key][0] == {concept}, (lang, term)


@pytest.mark.parametrize(("lang", "concept", "terms"), ENTRIES,
                         ids=[f"{lang}-{concept}" for lang, concept, _ in ENTRIES])
def test_each_term_of_an_entry_finds_its_labs(catalogue, lang, concept, terms):
    with catalogue.app_context():
        for term in terms:
            missing = _expected(ENGLISH[concept]) - _slugs(str(term))
            assert not missing, f"{lang} “{term}” does not find {sorted(missing)}"


@pytest.mark.parametrize(("lang", "english", "terms"), WORDS,
                         ids=[f"{lang}-{english}" for lang, english, _ in WORDS])
def test_each_word_finds_what_its_english_word_finds(catalogue, lang, english, terms):
    with catalogue.app_context():
        wanted = _slugs(english)
        # (biotechnology: the test catalogue says "biotech"; the demo catalogue both.)
        for term in terms:
            missing = wanted - _slugs(str(term))
            assert not missing, f"{lang} “{term}” does not find {sorted(missing)}"


def test_english_queries_ask_what_they_asked(monkeypatch):
    """The other languages are query words only: an English query (every judged one, every
    English term) asks exactly what it asked without them, and no text carries more."""
    # A misspelling the judged set keeps is now a foreign term of the concept it means
    # (de/cs "Lithografie" is stemmed as "lithografy" is): it names lithography directly.
    spelt_like_a_foreign_term = {"lithografy"}
    queries = [e["q"] for e in RELEVANCE if e["q"] not in spelt_like_a_foreign_term]
    queries += [str(t) for e in CONCEPTS for t in e["terms"]]
    texts = [str(c.get("description", "")) + " " + " ".join(c.get("capabilities", []))
             for c in data.demo_centres()]
    with_them = [txt.analyse(q) for q in queries]
    documents = [txt.document_terms(t) for t in texts]
    monkeypatch.setattr(data, "search_vocabulary_translations", lambda: {})
    txt.vocabulary.cache_clear()
    txt.document_terms.cache_clear()
    try:
        assert [txt.analyse(q) for q in queries] == with_them
        assert [txt.document_terms(t) for t in texts] == documents
    finally:
        txt.vocabulary.cache_clear()
        txt.document_terms.cache_clear()


@pytest.mark.parametrize(("a", "b"), [
    ("Zugversuch", "ZUGVERSUCH"), ("zkouška tahem", "zkouska tahem"),
    ("próba rozciągania", "proba rozciagania"), ("łączenie", "laczenie"),
    ("szakítóvizsgálat", "szakitovizsgalat"), ("spectromètre de masse", "spectrometre de masse"),
    ("3D-Drucker", "3D Drucker"), ("Härteprüfung", "Haerteprüfung".replace("ae", "ä")),
])
def test_foreign_words_fold_as_typed(a, b):
    def asked(q: str) -> list[frozenset[str]]:
        return [r.concepts for r in txt.analyse(q).requirements]

    assert asked(a) == asked(b)
    assert all(asked(a)), a


def test_a_one_word_term_also_finds_text_in_its_language():
    (req,) = txt.analyse("Mikroskop").requirements
    assert req.terms == {"_microscope", "mikroskop"}
    (req,) = txt.analyse("Photonik").requirements
    assert req.terms == {"photon", "photonik"} and not req.concepts
