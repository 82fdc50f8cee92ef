"""The public registry at size: pages follow one another by cursor (every row once, in
order, forwards and back), the scope search goes through the word index (and stays true
after edits and rollbacks), the total is bounded, and a page's query count does not grow
with the registry."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from labnet.extensions import db
from labnet.models import Accreditation, AccreditationTerm
from labnet.services.accreditation import registry

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the frozen clock


def add_accreditations(app, lab, n: int, *, scope: str = "", status: str = "verified",
                       scheme: str = "iso-9001") -> list[int]:
    with app.app_context():
        rows = [Accreditation(lab_id=lab.id, scheme_code=scheme, certificate_no=f"C-{lab.id}-{i}",
                              issuer="Body", scope=scope, status=status, verified_at=NOW,
                              valid_from=date(2025, 1, 1), valid_until=date(2028, 1, 1),
                              ends_at=datetime(2028, 1, 2, tzinfo=UTC))
                for i in range(n)]
        db.session.add_all(rows)
        db.session.commit()
        return [r.id for r in rows]


def certificates(html: str) -> list[str]:
    return re.findall(r"<td>(C-\d+-\d+)</td>", html)


def link(html: str, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


@pytest.fixture
def shelf(app, frozen_clock, make_lab):
    """Four labs named so their order is known, 130 valid accreditations between them,
    plus rows the registry must never show."""
    labs = [make_lab(name=f"Lab {c}") for c in "DBCA"]
    for lab, n in zip(labs, (40, 30, 35, 25), strict=True):
        add_accreditations(app, lab, n)
    add_accreditations(app, labs[0], 3, status="claimed")
    add_accreditations(app, labs[1], 2, status="withdrawn")
    draft = make_lab(name="Lab Draft", is_published=False)
    add_accreditations(app, draft, 4)
    with app.app_context():
        order = [f"C-{r.lab_id}-{r.certificate_no.rsplit('-', 1)[1]}" for r in
                 registry.all_rows(registry.RegistryQuery(), NOW)]
    return order


def test_next_links_walk_every_valid_row_once_in_order_and_previous_walks_back(client, shelf):
    assert len(shelf) == 130
    seen: list[list[str]] = []
    url: str | None = "/accreditations"
    while url:
        html = client.get(url).get_data(as_text=True)
        seen.append(certificates(html))
        url = link(html, "next")
    assert [len(p) for p in seen] == [50, 50, 30]
    assert [c for page in seen for c in page] == shelf  # labs A, B, C, D; rows by id
    assert 'id="registry-total">130<' in html
    back: list[list[str]] = []
    url = link(html, "prev")
    while url:
        html = client.get(url).get_data(as_text=True)
        back.append(certificates(html))
        url = link(html, "prev")
    assert back == [seen[1], seen[0]]
    assert link(html, "next") is not None


@pytest.mark.parametrize("cursor", ["x", "1-", "-1", "12345678901234-1", "1-2-3", "ü-1",
                                    "²-1", "1-³", "%00-1"])
def test_a_malformed_cursor_shows_the_first_page(client, shelf, cursor):
    for name in ("after", "before"):
        response = client.get(f"/accreditations?{name}={cursor}")
        assert response.status_code == 200
        assert certificates(response.get_data(as_text=True)) == shelf[:50]


def test_a_cursor_of_a_row_that_no_longer_counts_still_places_the_page(app, client, shelf):
    html = client.get("/accreditations").get_data(as_text=True)
    nxt = link(html, "next")
    last_id = int(nxt.rsplit("-", 1)[1])
    with app.app_context():
        db.session.get(Accreditation, last_id).status = "withdrawn"
        db.session.commit()
    assert certificates(client.get(nxt).get_data(as_text=True)) == shelf[50:100]


def test_the_total_is_bounded_and_says_more_than(app, client, shelf, monkeypatch):
    monkeypatch.setattr(registry, "COUNT_CAP", 2)
    html = client.get("/accreditations").get_data(as_text=True)
    assert "More than" in html
    # Three of the four labs counted: at least 25 + 30 + 35 rows, never the whole registry.
    total = int(re.search(r'id="registry-total">([\d,]+)<', html).group(1).replace(",", ""))
    assert 25 + 30 <= total < 130
    monkeypatch.setattr(registry, "COUNT_CAP", 4)
    assert 'id="registry-total">130<' in client.get("/accreditations").get_data(as_text=True)


def test_scope_words_match_stemmed_and_lab_names_match_too(app, client, frozen_clock, make_lab):
    tensile = make_lab(name="Zugprüfung Lab")
    add_accreditations(app, tensile, 1, scheme="iso-iec-17025",
                       scope="DIN EN ISO 6892-1 tensile testing\nISO 14577 indentation")
    named = make_lab(name="Ultrasonic Testing Centre")
    add_accreditations(app, named, 1)
    other = make_lab(name="Quiet Lab")
    add_accreditations(app, other, 1, scope="ISO 4287 surface texture")

    def found(q: str) -> set[str]:
        html = client.get("/accreditations", query_string={"q": q}).get_data(as_text=True)
        return set(re.findall(r'/labs/([a-z0-9-]+)"', html))

    assert found("tensile") == {tensile.slug}
    assert found("Tensile TESTS") == {tensile.slug}  # stems, any case
    assert found("tensile indentation") == {tensile.slug}  # every word
    assert found("tensile texture") == set()
    assert found("ultrasonic") == {named.slug}  # the lab's name
    assert found("testing") == {tensile.slug, named.slug}  # scope of one, name of the other
    assert found("6892-1") == {tensile.slug}  # the standard as written
    assert found("the of") == set()  # only function words: nothing to look for
    assert found("<script>") == set()


def test_the_word_index_follows_scope_edits_and_forgets_rolled_back_claims(
        app, frozen_clock, make_lab):
    lab = make_lab()
    (acc_id,) = add_accreditations(app, lab, 1, scope="Tensile testing")
    with app.app_context():
        terms = set(db.session.scalars(select(AccreditationTerm.term).where(
            AccreditationTerm.accreditation_id == acc_id)))
        assert terms == {"tensil", "test"}
        db.session.get(Accreditation, acc_id).scope = "Hardness"
        db.session.commit()
        assert set(db.session.scalars(select(AccreditationTerm.term))) == {"hard"}
        db.session.add(Accreditation(lab_id=lab.id, scheme_code="iso-9001",
                                     scope="Fatigue", status="verified"))
        db.session.flush()
        db.session.rollback()
        assert set(db.session.scalars(select(AccreditationTerm.term))) == {"hard"}
        db.session.delete(db.session.get(Accreditation, acc_id))
        db.session.commit()
        assert db.session.scalars(select(AccreditationTerm)).all() == []


@pytest.mark.parametrize("path", [
    "/accreditations", "/accreditations?q=tensile", "/accreditations?q=ultrasonic",
    "/accreditations?scheme=iso-9001&country=DE&level=gold&kind=university&ket=AMT",
])
def test_a_page_issues_as_many_queries_for_five_rows_as_for_hundreds(
        app, frozen_clock, make_lab, count_queries, path):
    lab = make_lab(name="First")
    add_accreditations(app, lab, 5, scope="tensile")
    small = count_queries(path)
    small_next = count_queries(f"{path}{'&' if '?' in path else '?'}after={lab.id}-1")
    for n in range(12):
        add_accreditations(app, make_lab(name=f"More {n}"), 20, scope="tensile testing")
    assert count_queries(path) == small
    assert count_queries(f"{path}{'&' if '?' in path else '?'}after={lab.id}-1") == small_next
