"""The search vocabulary (``labnet/data/search_vocabulary.yaml``), one test per entry: on a
small catalogue with one lab per equipment category (one piece of equipment of it, named as
the category) and one lab per KET area, every term of an entry finds the labs its ``finds``
names. Also the reading rules of :mod:`labnet.services.catalogue.search.text`."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask import Flask

from labnet import data
from labnet.extensions import db
from labnet.models import Equipment, Lab, LabKet
from labnet.services.catalogue import search
from labnet.services.catalogue.search import text as txt
from tests.fixtures.worlds import reuse_world

CONCEPTS = data.search_vocabulary()["concepts"]


def _build(app: Flask, make_org) -> None:
    with app.app_context():
        org = make_org(kind="rto", size_class=None)
        org_id = org.id

        def lab(slug: str, *, city: str = "Testville", kets: tuple[str, ...] = ()) -> Lab:
            row = Lab(organisation_id=org_id, slug=slug, name="Fixture lab", kind_code="rto",
                      country="DE", city=city, is_published=True)
            db.session.add(row)
            db.session.flush()
            db.session.add_all([LabKet(lab_id=row.id, ket_code=k) for k in kets])
            return row

        def equipment(row: Lab, name: str, category: str) -> None:
            db.session.add(Equipment(lab_id=row.id, category_code=category, name=name,
                                     rate_industry=Decimal(1), rate_sme=Decimal(1)))

        for cat in data.equipment_categories():
            equipment(lab(f"cat-{cat['code']}"), cat["name"].split(" (")[0], cat["code"])
        for area in data.ket_areas():
            lab(f"ket-{area['code'].lower()}", kets=(area["code"],))
        for entry in CONCEPTS:
            example = (entry.get("finds") or {}).get("example")
            if example and "equipment" in example:
                equipment(lab(f"example-{entry['id']}"), example["equipment"], "cnc-machining")
            elif example and "city" in example:
                lab(f"example-{entry['id']}", city=example["city"])
        db.session.commit()


@pytest.fixture
def catalogue(app: Flask, make_org) -> Flask:
    reuse_world(app, "vocabulary-catalogue", lambda: _build(app, make_org))
    return app


def _expected(entry: dict) -> set[str]:
    finds = entry.get("finds") or {}
    out = {f"cat-{c}" for c in finds.get("categories", ())}
    out |= {f"ket-{k.lower()}" for k in finds.get("kets", ())}
    if finds.get("example"):
        out.add(f"example-{entry['id']}")
    return out


def test_every_entry_names_what_it_finds():
    categories = {c["code"] for c in data.equipment_categories()}
    kets = {k["code"] for k in data.ket_areas()}
    ids = [e["id"] for e in CONCEPTS]
    assert len(ids) == len(set(ids))
    for entry in CONCEPTS:
        assert entry["terms"] and _expected(entry), entry["id"]
        finds = entry.get("finds") or {}
        assert set(finds.get("categories", ())) <= categories, entry["id"]
        assert set(finds.get("kets", ())) <= kets, entry["id"]
        assert set(entry.get("broader") or ()) <= set(ids), entry["id"]


@pytest.mark.parametrize("entry", CONCEPTS, ids=[e["id"] for e in CONCEPTS])
def test_each_term_of_an_entry_finds_its_labs(catalogue, entry):
    with catalogue.app_context():
        for term in entry["terms"]:
            query, _ = search.parse_query({"q": term})
            result = search.search_labs(None, query, per_page=200)
            slugs = {lab.slug for lab in result.items}
            missing = _expected(entry) - slugs
            assert not missing, f"“{term}” does not find {sorted(missing)}"


def test_abbreviations_match_whole_words_only(catalogue):
    with catalogue.app_context():
        query, _ = search.parse_query({"q": "SEM"})
        slugs = {lab.slug for lab in search.search_labs(None, query, per_page=200).items}
    # "Semiconductor probe stations", "Semiconductor process technology" are not SEMs.
    assert "cat-probe-station" not in slugs and "ket-mnep.sem" not in slugs
    assert {"cat-sem", "cat-fib-sem"} <= slugs


@pytest.mark.parametrize(("a", "b"), [
    ("München", "Munchen"), ("Łódź", "Lodz"), ("Øresund", "Oresund"), ("Đakovo", "Dakovo"),
    ("Straße", "Strasse"), ("3D printing", "3-D printing"), ("x-ray", "X ray"),
    ("fibre", "fiber"), ("aluminium", "aluminum"), ("batteries", "battery"),
    ("testing", "test"), ("analyse", "analyze"), ("characterisation", "characterization"),
])
def test_word_forms_read_alike(a, b):
    def asked(q: str) -> list[frozenset[str]]:
        return [r.terms for r in txt.analyse(q).requirements]

    assert asked(a) == asked(b)


def test_a_german_entry_can_be_added_as_data(monkeypatch):
    spec = dict(data.search_vocabulary())
    spec["languages"] = {**spec["languages"], "de": "german"}
    spec["concepts"] = [*spec["concepts"], {"id": "mikroskop", "lang": "de",
                                            "terms": ["Mikroskop", "Mikroskopie"],
                                            "broader": ["microscope"]}]
    monkeypatch.setattr(data, "search_vocabulary", lambda: spec)
    # Alone: the shipped German search words (search_vocabulary/de.yaml) read "Mikroskope"
    # as the English microscope too.
    monkeypatch.setattr(data, "search_vocabulary_translations", lambda: {})
    txt.vocabulary.cache_clear()
    txt.document_terms.cache_clear()
    try:
        analysis = txt.analyse("Mikroskope")
        assert analysis.requirements[0].concepts == {"mikroskop"}
        # A text naming it carries the concept and its broader English one.
        assert {"_mikroskop", "_microscope"} <= txt.document_terms("Rasterelektronen-Mikroskop")[0]
    finally:
        txt.vocabulary.cache_clear()
        txt.document_terms.cache_clear()


def test_stemming_is_right_in_many_threads_at_once():
    """A threaded server stems in several threads: each gets its own Snowball stemmer (one
    shared stemmer mixes up the words it is given and fails)."""
    from concurrent.futures import ThreadPoolExecutor

    from labnet.services.catalogue.search import text

    words = [f"{w}{suffix}" for w in ("microscop", "spectromet", "batter", "laborator")
             for suffix in ("y", "ies", "es")] * 50
    expected = [text._stemmer(text.INDEX_LANGUAGE).stemWord(w) for w in words]
    text.stem.cache_clear()
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda w: text._stemmer(text.INDEX_LANGUAGE).stemWord(w), words))
    assert got == expected


def test_a_city_with_a_stroked_letter_is_found_as_typed(client, make_lab):
    # "Łódź" folds to "lodz" (not "odz"): found with or without the stroke.
    make_lab(name="Textile Materials Lab", city="Łódź", country="PL", lat=51.76, lon=19.46)
    for q in ("Łódź", "lodz", "LODZ"):
        html = client.get(f"/labs?q={q}").get_data(as_text=True)
        assert "Textile Materials Lab" in html, q
