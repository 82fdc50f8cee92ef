"""The catalogue search service: filters, facet counts, distances, sorting, the map's lab
set and demand signals (``labnet.services.catalogue.search``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from labnet.extensions import db
from labnet.models import Accreditation, DemandSignal
from labnet.permissions import visible_labs
from labnet.services.catalogue import demand, search
from labnet.services.catalogue.search import SearchQuery, lab_facets, words
from labnet.services.catalogue.search import facets as search_facets
from labnet.services.catalogue.search.filters import _conditions
from labnet.services.catalogue.search.query import _taxonomy
from labnet.services.geo import geocoding as geo

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def run(query: SearchQuery | None = None, per_page: int = 50, **fields):
    query = query or SearchQuery(**fields)
    return search.search_labs(None, query, per_page=per_page, now=NOW)


def names(result) -> list[str]:
    return [lab.name for lab in result.items]


def facet(result, family: str, *, children: bool = True) -> dict[str, int | None]:
    out = {}
    for value in result.facets[family]:
        out[value.code] = value.count
        for child in value.children if children else ():
            out[child.code] = child.count
    return out


# --- words ---------------------------------------------------------------------------------

def test_words_match_lab_text_and_equipment_but_not_retired_equipment(ctx, make_lab,
                                                                       make_equipment):
    make_lab(name="Laser Centre")
    make_lab(name="Plain A", description="We run laser welding trials.")
    make_lab(name="Plain B", capabilities="Cutting\nLaser marking")
    with_tool = make_lab(name="Plain C")
    make_equipment(with_tool, name="Fibre laser cell", maker="Trumpf", model="TruLaser 5030")
    by_maker = make_lab(name="Plain D")
    make_equipment(by_maker, name="SEM", maker="ZEISS", model="Gemini 450")
    retired = make_lab(name="Plain E")
    make_equipment(retired, name="Old laser", status="retired")
    make_lab(name="Unrelated")
    assert sorted(names(run(q="laser"))) == ["Laser Centre", "Plain A", "Plain B", "Plain C"]
    assert names(run(q="zeiss gemini")) == ["Plain D"]
    assert names(run(q="trulaser")) == ["Plain C"]


def test_every_word_must_match_and_wildcards_are_literal(ctx, make_lab):
    make_lab(name="Laser Welding Lab")
    make_lab(name="Laser Optics Lab")
    make_lab(name="100% Recycling_Lab")
    assert names(run(q="laser welding")) == ["Laser Welding Lab"]
    assert names(run(q="100%")) == ["100% Recycling_Lab"]
    # Punctuation alone asks for no word: the list is not narrowed.
    assert sorted(names(run(q="%"))) == ["100% Recycling_Lab", "Laser Optics Lab",
                                         "Laser Welding Lab"]
    assert names(run(q="y_l")) == []  # "_" would match the "c" of "Recycling"


def test_relevance_puts_name_before_equipment_before_description(ctx, make_lab,
                                                                 make_equipment):
    by_equipment = make_lab(name="Alpha Lab")
    make_equipment(by_equipment, name="Cryo microscope", mode="request_only")
    make_lab(name="Beta Lab", description="Cryo sample preparation")
    make_lab(name="Zulu Cryo Lab")
    make_lab(name="Yankee Lab", capabilities="Cryo milling")
    result = run(q="cryo")
    assert names(result) == ["Yankee Lab", "Zulu Cryo Lab", "Alpha Lab", "Beta Lab"]
    assert names(run(q="cryo", sort="name")) == ["Alpha Lab", "Beta Lab", "Yankee Lab",
                                                 "Zulu Cryo Lab"]


# --- filters -------------------------------------------------------------------------------

def test_ket_area_includes_its_sub_areas_but_not_the_reverse(ctx, make_lab):
    make_lab(name="Area only", kets=("AMT",))
    make_lab(name="Sub-area only", kets=("AMT.ADD",))
    make_lab(name="Other area", kets=("AI", "AI.ML"))
    assert sorted(names(run(ket="AMT"))) == ["Area only", "Sub-area only"]
    assert names(run(ket="AMT.ADD")) == ["Sub-area only"]


def test_category_kind_and_country_filters(ctx, make_lab, make_equipment):
    sem = make_lab(name="SEM lab", country="DE", kind_code="rto")
    make_equipment(sem, category_code="sem")
    tem = make_lab(name="TEM lab", country="FR", kind_code="dih")
    make_equipment(tem, category_code="tem")
    gone = make_lab(name="Retired SEM lab", country="FR", kind_code="dih")
    make_equipment(gone, category_code="sem", status="retired")
    assert names(run(category="sem")) == ["SEM lab"]
    assert names(run(country="FR")) == ["Retired SEM lab", "TEM lab"]
    assert names(run(kind="dih", category="tem")) == ["TEM lab"]
    assert names(run(kind="rto", country="FR")) == []


def test_bookable_needs_active_equipment_that_is_not_request_only(ctx, make_lab,
                                                                   make_equipment):
    for name, status, mode in [("Self-service", "active", "self_service"),
                               ("Assisted", "active", "operator_assisted"),
                               ("Request only", "active", "request_only"),
                               ("In maintenance", "maintenance", "self_service")]:
        make_equipment(make_lab(name=name), status=status, mode=mode)
    make_lab(name="No equipment")
    result = run(bookable=True)
    assert names(result) == ["Assisted", "Self-service"]
    assert facet(run(), "bookable") == {"1": 2}


def test_accreditation_counts_only_when_verified_and_unexpired(ctx, make_lab):
    labs = {name: make_lab(name=name) for name in
            ("Verified", "Open-ended", "Expired", "Claimed", "Rejected", "Other scheme")}
    rows = [("Verified", "iso-iec-17025", "verified", date(2027, 1, 1)),
            ("Open-ended", "iso-iec-17025", "verified", None),
            ("Expired", "iso-iec-17025", "verified", date(2026, 3, 1)),
            ("Claimed", "iso-iec-17025", "claimed", date(2027, 1, 1)),
            ("Rejected", "iso-iec-17025", "rejected", date(2027, 1, 1)),
            ("Other scheme", "iso-9001", "verified", date(2027, 1, 1))]
    for name, scheme, status, until in rows:
        db.session.add(Accreditation(lab_id=labs[name].id, scheme_code=scheme, status=status,
                                     valid_until=until))
    db.session.commit()
    result = run(accreditation="iso-iec-17025")
    assert names(result) == ["Open-ended", "Verified"]
    assert facet(run(), "accreditation") == {"iso-iec-17025": 2, "iso-9001": 1}


def test_accreditation_valid_until_today_still_counts(ctx, make_lab):
    lab = make_lab(name="Last day")
    db.session.add(Accreditation(lab_id=lab.id, scheme_code="iso-9001", status="verified",
                                 valid_until=NOW.date()))
    db.session.commit()
    assert names(run(accreditation="iso-9001")) == ["Last day"]


def test_tie_breakers_a_valid_verified_accreditation_then_bookable_equipment(
        ctx, make_lab, make_equipment):
    # Each lab meets "metrology" in its name alone (the same score); the tie-breakers then
    # decide: a verified, unexpired accreditation first, bookable equipment next, name last.
    labs = {name: make_lab(name=f"{name} metrology") for name in
            ("A plain", "B expired", "C bookable", "D accredited", "E open-ended")}
    make_equipment(labs["C bookable"], category_code="tem", mode="self_service",
                   name="Transmission instrument", maker="", model="")
    for name, until in (("B expired", date(2026, 3, 1)), ("D accredited", date(2027, 1, 1)),
                        ("E open-ended", None)):
        db.session.add(Accreditation(lab_id=labs[name].id, scheme_code="iso-9001",
                                     status="verified", valid_until=until))
    db.session.commit()
    assert names(run(q="metrology")) == ["D accredited metrology", "E open-ended metrology",
                                         "C bookable metrology", "A plain metrology",
                                         "B expired metrology"]


def test_one_words_scores_grouped_in_sql_are_the_row_by_row_figures(ctx, make_lab,
                                                                    make_equipment):
    # One requirement without a phrase is scored in SQL (the best field per lab); the
    # figures are those of the row-by-row scoring every longer query uses.
    make_lab(name="Laser Centre", city="Laserburg")
    make_lab(name="Plain A", description="We run laser welding trials.")
    make_lab(name="Plain B", capabilities="Cutting\nLaser marking")
    with_tool = make_lab(name="Plain C", kets=("AMT.LAS",))
    make_equipment(with_tool, name="Fibre laser cell", maker="Trumpf", model="TruLaser 5030")
    make_lab(name="Unrelated")
    db.session.commit()
    for q in ("laser", "microscope", "sem", "trumpf"):
        analysis = words.txt.analyse(q)
        assert len(analysis.requirements) == 1 and not analysis.pairs
        rows = words._rows(analysis.terms)
        assert words._scores_one(analysis) == words._scored(analysis, rows)[0], q
    assert len(words._scores_one(words.txt.analyse("laser"))) == 4


def test_a_words_search_counts_its_facets_as_the_counting_query_does(ctx, make_lab,
                                                                      make_equipment):
    # The matched set's counts come from the facet sets read with it (one read); they
    # are the counts of the labs it matched, as the counting query gives them.
    a = make_lab(name="Laser A", country="DE", kind_code="rto", kets=("AMT", "AMT.ADD"))
    b = make_lab(name="Laser B", country="FR", kind_code="rto", kets=("AMT.LAS",))
    make_lab(name="Laser C", country="FR", kind_code="dih", kets=("AI",))
    make_lab(name="Other", country="FR", kind_code="dih", kets=("AI",))
    make_equipment(a, category_code="sem")
    make_equipment(b, category_code="tem", mode="request_only")
    db.session.add(Accreditation(lab_id=b.id, scheme_code="iso-9001", status="verified",
                                 valid_until=date(2027, 1, 1)))
    db.session.add(Accreditation(lab_id=a.id, scheme_code="iso-9001", status="verified",
                                 valid_until=date(2026, 1, 1)))
    db.session.commit()
    query = SearchQuery(q="laser")
    counted = search_facets._facet_counts(
        visible_labs(None).where(*_conditions(query, _taxonomy(), NOW, None)), NOW)
    for cache_seconds in (0, 60):
        result = search.search_labs(None, query, per_page=50, now=NOW, facet_cache={},
                                    facet_cache_seconds=cache_seconds)
        assert result.total == counted[("total", "")] == 3
        assert facet(result, "country") == {"FR": 2, "DE": 1}
        assert facet(result, "accreditation") == {"iso-9001": 1}
        assert facet(result, "category") == {"sem": 1, "tem": 1}
        assert facet(result, "bookable") == {"1": counted.get(("bookable", ""), 0)}


def test_a_facet_set_is_read_once_with_its_tie_breakers():
    text = lab_facets.LINE.join([
        "accreditation\tiso-9001\t2026-01-01 00:00:00.000000",
        "accreditation\tiso-14001", "bookable\t", "country\tDE", "lab\t"])
    lines, bookable, until = lab_facets.parsed(text)
    assert lines == tuple(text.split(lab_facets.LINE)) and bookable
    assert until == lab_facets.NO_END  # one without an end: valid at any instant
    assert lab_facets.parsed("accreditation\tiso-9001\t2026-01-01 00:00:00.000000\nlab\t")[1:] \
        == (False, "2026-01-01 00:00:00.000000")
    assert lab_facets.parsed_all([None, "lab\t", text]) == [
        ((), False, None), (("lab\t",), False, None), (lines, bookable, until)]


# --- near ----------------------------------------------------------------------------------

@pytest.fixture
def aachen(ctx):
    place = geo.geocode("Aachen")
    assert place is not None and place.country == "DE"
    return place


def _labs_north_of(make_lab, place, offsets: dict[str, float], **kw):
    # Due north: one degree of latitude is ~111.2 km here, so the geometry is known.
    return {name: make_lab(name=name, lat=place.lat + d, lon=place.lon, **kw)
            for name, d in offsets.items()}


def test_radius_keeps_labs_within_the_geodesic_distance(ctx, make_lab, aachen):
    labs = _labs_north_of(make_lab, aachen, {"At 11 km": 0.1, "At 44 km": 0.4,
                                             "At 56 km": 0.5, "At 111 km": 1.0})
    make_lab(name="No coordinates", lat=None, lon=None)
    query, errors = search.parse_query({"near": "Aachen", "radius_km": "50"})
    assert errors == {}
    result = run(query)
    assert names(result) == ["At 11 km", "At 44 km"]  # no words: nearest first
    assert result.place.name == aachen.name
    expected = geo.distance_km(aachen.lat, aachen.lon, aachen.lat + 0.4, aachen.lon)
    assert result.distances[labs["At 44 km"].id] == pytest.approx(expected)
    assert 44 < expected < 45
    wide = run(SearchQuery(near="Aachen", radius_km=120, sort="name"))
    assert names(wide) == ["At 11 km", "At 111 km", "At 44 km", "At 56 km"]


def test_radius_boundary_is_decided_by_the_exact_distance(ctx, make_lab, aachen):
    # Just inside and just outside 100 km, where haversine and geodesic disagree by ~0.3 %.
    inside_lat = aachen.lat + 0.8
    d_inside = geo.distance_km(aachen.lat, aachen.lon, inside_lat, aachen.lon)
    make_lab(name="Inside", lat=inside_lat, lon=aachen.lon)
    make_lab(name="Outside", lat=aachen.lat + 0.81, lon=aachen.lon)
    d_outside = geo.distance_km(aachen.lat, aachen.lon, aachen.lat + 0.81, aachen.lon)
    radius = (d_inside + d_outside) / 2
    assert names(run(near="Aachen", radius_km=radius)) == ["Inside"]


def test_distance_sort_pages_agree_with_a_full_exact_sort(ctx, make_lab, aachen):
    offsets = {f"Lab {i:02d}": 0.01 * i + (0.003 if i % 3 else 0) for i in range(1, 26)}
    _labs_north_of(make_lab, aachen, offsets)
    everything = run(near="Aachen", radius_km=100, sort="distance", per_page=100)
    exact = [lab.name for lab in everything.items]
    assert len(exact) == 25
    pages = [names(run(near="Aachen", radius_km=100, sort="distance", page=p, per_page=7))
             for p in (1, 2, 3, 4)]
    assert [name for names_ in pages for name in names_] == exact
    dist = [everything.distances[lab.id] for lab in everything.items]
    assert dist == sorted(dist)


def test_words_with_near_sort_by_relevance_then_distance(ctx, make_lab, aachen):
    _labs_north_of(make_lab, aachen, {"Far Optics Lab": 0.3, "Near Optics Lab": 0.1})
    make_lab(name="Closest", description="optics consulting", lat=aachen.lat, lon=aachen.lon)
    result = run(q="optics", near="Aachen", radius_km=50)
    assert names(result) == ["Near Optics Lab", "Far Optics Lab", "Closest"]


# --- facets --------------------------------------------------------------------------------

def test_facet_counts_are_over_the_results_and_never_count_drafts(ctx, make_lab,
                                                                   make_equipment):
    a = make_lab(name="A", country="DE", kind_code="rto", kets=("AMT", "AMT.ADD"))
    b = make_lab(name="B", country="FR", kind_code="rto", kets=("AMT.LAS",))
    make_lab(name="C", country="FR", kind_code="dih", kets=("AI",))
    draft = make_lab(name="Draft", country="IT", kind_code="rto", kets=("AMT", "LST"),
                     is_published=False)
    make_equipment(a, category_code="sem")
    make_equipment(a, category_code="sem")
    make_equipment(b, category_code="tem")
    make_equipment(draft, category_code="xrd")
    db.session.add(Accreditation(lab_id=draft.id, scheme_code="iso-9001", status="verified"))
    db.session.commit()

    result = run()
    assert result.total == 3
    assert facet(result, "country") == {"FR": 2, "DE": 1}
    assert facet(result, "kind") == {"rto": 2, "dih": 1}
    assert facet(result, "category") == {"sem": 1, "tem": 1}
    assert facet(result, "accreditation") == {}
    assert facet(result, "bookable") == {"1": 2}
    # Level-1 areas count each lab once, through any of their sub-areas.
    assert facet(result, "ket", children=False) == {"AMT": 2, "AI": 1}

    narrowed = run(ket="AMT")
    assert narrowed.total == 2
    # A chosen area offers its sub-areas; other values of a chosen family are not offered.
    assert facet(narrowed, "ket") == {"AMT": 2, "AMT.ADD": 1, "AMT.LAS": 1}
    assert facet(narrowed, "country") == {"FR": 1, "DE": 1}
    assert facet(run(country="FR"), "country") == {"FR": 2}
    sub = run(ket="AMT.LAS")
    assert facet(sub, "ket") == {"AMT": None, "AMT.LAS": 1}
    assert sub.label("ket") == "Laser-based processing, joining and welding"


def test_a_search_matching_nothing_has_empty_facets_and_keeps_the_chosen_value(ctx,
                                                                               make_lab):
    make_lab(name="Only lab", country="DE")
    result = run(country="PT")
    assert result.total == 0 and result.items == [] and result.pages == 0
    assert facet(result, "country") == {"PT": 0}
    assert facet(result, "category") == {}


def test_pages_past_the_end_are_empty(ctx, make_lab):
    for i in range(3):
        make_lab(name=f"Lab {i}")
    result = run(page=3, per_page=2)
    assert result.total == 3 and result.items == [] and result.pages == 2


# --- parsing -------------------------------------------------------------------------------

def test_parse_query_reads_every_parameter(ctx):
    query, errors = search.parse_query(MultiDict({
        "q": "  laser   welding ", "ket": "amt.add", "category": "SEM", "kind": "RTO",
        "country": "de", "accreditation": "ISO-9001", "bookable": "1", "near": "Aachen",
        "radius_km": "7,5", "sort": "distance", "page": "2", "unknown": "ignored"}))
    assert errors == {}
    assert (query.q, query.ket, query.category, query.kind, query.country,
            query.accreditation, query.bookable, query.near, query.radius_km, query.sort,
            query.page) == ("laser welding", "AMT.ADD", "sem", "rto", "DE", "iso-9001", True,
                            "Aachen", 7.5, "distance", 2)
    assert query.place is not None and query.place.country == "DE"
    assert query.to_args() == {
        "q": "laser welding", "ket": "AMT.ADD", "category": "sem", "kind": "rto",
        "country": "DE", "accreditation": "iso-9001", "bookable": "1", "near": "Aachen",
        "radius_km": "7.5", "sort": "distance", "page": "2"}
    again, errors = search.parse_query(query.to_args())
    assert again == query and errors == {}


@pytest.mark.parametrize(("args", "param", "words"), [
    ({"ket": "NOPE"}, "ket", "NOPE"),
    ({"category": "warp-drive"}, "category", "warp-drive"),
    ({"kind": "castle"}, "kind", "castle"),
    ({"country": "XX"}, "country", "XX"),
    ({"country": "Germany"}, "country", "Germany"),
    ({"accreditation": "iso-0"}, "accreditation", "iso-0"),
    ({"bookable": "maybe"}, "bookable", "maybe"),
    ({"near": "Aachen", "radius_km": "abc"}, "radius_km", "abc"),
    ({"near": "Aachen", "radius_km": "0"}, "radius_km", "0"),
    ({"near": "Aachen", "radius_km": "1001"}, "radius_km", "1001"),
    ({"near": "Aachen", "radius_km": "nan"}, "radius_km", "nan"),
    ({"near": "Aachen", "radius_km": "inf"}, "radius_km", "inf"),
    ({"near": "Nowhereville Qzx"}, "near", "Nowhereville Qzx"),
    ({"sort": "random"}, "sort", "random"),
    ({"sort": "distance"}, "sort", "near"),
    ({"page": "abc"}, "page", "abc"),
    ({"page": "0"}, "page", "0"),
    ({"page": "99999999999999999999999"}, "page", "9999"),
])
def test_parse_query_drops_a_bad_parameter_and_says_why(ctx, args, param, words):
    query, errors = search.parse_query(args)
    assert list(errors) == [param]
    assert words in errors[param]
    default = SearchQuery()
    if param in ("radius_km",):
        assert query.radius_km is None and query.radius == search.DEFAULT_RADIUS_KM
    elif param not in ("sort",):
        assert getattr(query, param) == getattr(default, param)
    assert query.sort == "relevance"
    # The search still runs, without that filter.
    assert run(query).total == 0


def test_overlong_words_are_cut_and_named(ctx):
    query, errors = search.parse_query({"q": "x" * 500})
    assert "q" in errors and len(query.q) == search.MAX_Q_LENGTH


def test_to_args_leaves_out_defaults_and_resets_the_page_on_change():
    query = SearchQuery(q="laser", country="DE", page=3, radius_km=50.0, near="Aachen")
    assert query.to_args() == {"q": "laser", "country": "DE", "near": "Aachen",
                               "radius_km": "50", "page": "3"}
    assert query.to_args(country=None) == {"q": "laser", "near": "Aachen", "radius_km": "50"}
    assert query.to_args(page=None) == {"q": "laser", "country": "DE", "near": "Aachen",
                                        "radius_km": "50"}
    assert query.to_args(page=4)["page"] == "4"
    assert SearchQuery().to_args() == {}
    assert SearchQuery(bookable=True, sort="name").to_args() == {"bookable": "1", "sort": "name"}
    with pytest.raises(TypeError):
        query.to_args(colour="red")


# --- the map -------------------------------------------------------------------------------

def test_map_labs_applies_every_filter_but_no_page(ctx, make_lab, make_equipment, aachen):
    near = make_lab(name="Near", lat=aachen.lat + 0.1, lon=aachen.lon, kets=("AMT.ADD",))
    make_equipment(near)
    make_lab(name="Far", lat=aachen.lat + 3, lon=aachen.lon, kets=("AMT",))
    make_lab(name="Unplaced", lat=None, lon=None, kets=("AMT",))
    make_lab(name="Draft", lat=aachen.lat, lon=aachen.lon, is_published=False)
    everything = search.map_labs(None, SearchQuery(page=5), now=NOW)
    assert [m.name for m in everything] == ["Far", "Near"]
    query, _ = search.parse_query({"near": "Aachen", "radius_km": "50", "ket": "AMT"})
    (lab,) = search.map_labs(None, query, now=NOW)
    assert (lab.id, lab.slug, lab.name, lab.ket_codes, lab.equipment_count) == (
        near.id, near.slug, "Near", ("AMT.ADD",), 1)
    assert lab.kind_name == "Research and Technology Organisation"
    assert search.map_labs(None, SearchQuery(q="nothing-like-this"), now=NOW) == []


# --- demand signals ------------------------------------------------------------------------

def test_record_demand_signal_stores_the_search_anonymously(ctx, make_lab):
    query, _ = search.parse_query({"q": "cryo em", "ket": "LST", "category": "cryo-em",
                                   "country": "BE", "bookable": "1", "near": "Gent",
                                   "radius_km": "80", "sort": "name", "page": "1"})
    demand.record_demand_signal(query, 0, source="labs", searcher_country="PT", now=NOW)
    demand.record_demand_signal(SearchQuery(kind="dih"), 4, source="map",
                                searcher_country=None, now=NOW)
    db.session.commit()
    first, second = db.session.scalars(select(DemandSignal).order_by(DemandSignal.id))
    assert (first.at.replace(tzinfo=UTC) if first.at.tzinfo is None else first.at) == NOW
    assert (first.source, first.query_text, first.ket_code, first.category_code,
            first.country_filter, first.result_count, first.searcher_country) == (
        "labs", "cryo em", "LST", "cryo-em", "BE", 0, "PT")
    assert first.filters == {"ket": "LST", "category": "cryo-em", "country": "BE",
                             "bookable": True, "near": "Gent", "radius_km": 80.0,
                             "near_country": "BE"}
    assert (second.source, second.filters, second.result_count, second.searcher_country,
            second.query_text) == ("map", {"kind": "dih"}, 4, None, "")


def test_one_client_repeating_a_search_within_ten_minutes_counts_once(ctx):
    # Issue 10, item 11: reloading a search (or a script hammering it) must not inflate
    # demand. Keyed on an HMAC of client and filters, so the row names nobody.
    query, _ = search.parse_query({"q": "cryo em", "ket": "LST"})
    same_later, _ = search.parse_query({"ket": "LST", "q": "cryo em", "sort": "name"})
    other, _ = search.parse_query({"q": "cryo em", "ket": "AMT"})

    def record(q, client, at):
        demand.record_demand_signal(q, 3, source="labs", searcher_country=None, now=at,
                                    client=client)

    record(query, "203.0.113.5|Firefox", NOW)
    record(same_later, "203.0.113.5|Firefox", NOW + timedelta(minutes=9))  # same, counted once
    record(query, "198.51.100.7|Chrome", NOW + timedelta(minutes=1))  # another client
    record(other, "203.0.113.5|Firefox", NOW + timedelta(minutes=2))  # other filters
    record(query, "203.0.113.5|Firefox", NOW + timedelta(minutes=11))  # a new window
    db.session.commit()
    rows = list(db.session.scalars(select(DemandSignal).order_by(DemandSignal.id)))
    assert len(rows) == 4
    assert all(r.dedupe_key and "203.0.113.5" not in r.dedupe_key for r in rows)
