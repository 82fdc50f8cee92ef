"""The judged relevance set (``relevance.yaml``): recall and precision@10 of the word search
over the demo catalogue, and the same labs on SQLite and PostgreSQL.

Figures, per query and averaged over the queries (macro):

- recall: the share of the judged labs that the search finds (anywhere in its results);
- precision@10: the share of the first ten results (or of all, when fewer) that are judged
  relevant.

Aims (issue 13): recall ≥ 0.9, precision@10 ≥ 0.8, no query without results. The figures
are printed (``pytest -s``) for the whole set and for its held-out part.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask

from labnet import clock, create_app
from labnet.extensions import db
from labnet.services.catalogue import search
from labnet.services.seed import seed_demo
from tests.fixtures.app import TEST_CONFIG, _upgrade, postgres_url
from tests.fixtures.worlds import reuse_world

RELEVANCE = yaml.safe_load((Path(__file__).parent / "relevance.yaml").read_text("utf-8"))
RECALL_AIM = 0.9
PRECISION_AIM = 0.8


def _seed(app: Flask) -> None:
    with app.app_context():
        seed_demo(now=clock.utcnow())
        db.session.commit()


@pytest.fixture
def demo_catalogue(app: Flask) -> Flask:
    reuse_world(app, "demo-catalogue", lambda: _seed(app))
    return app


def ranked(app: Flask, q: str) -> list[str]:
    """The slugs the catalogue lists for the words ``q``, in order (every page)."""
    with app.app_context():
        query, errors = search.parse_query({"q": q})
        assert not errors, errors
        result = search.search_labs(None, query, per_page=100)
        return [lab.slug for lab in result.items]


def figures(found: dict[str, list[str]], entries: list[dict[str, Any]]) -> dict[str, float]:
    recalls, precisions = [], []
    for entry in entries:
        relevant = set(entry["relevant"])
        results = found[entry["q"]]
        recalls.append(len(relevant & set(results)) / len(relevant))
        top = results[:10]
        precisions.append(len(relevant & set(top)) / len(top) if top else 0.0)
    return {"recall": sum(recalls) / len(recalls),
            "precision_at_10": sum(precisions) / len(precisions),
            "without_results": sum(1 for e in entries if not found[e["q"]]),
            "queries": len(entries)}


def test_the_set_is_judged_against_the_demo_catalogue():
    from labnet import data

    slugs = {c["slug"] for c in data.demo_centres()}
    assert len(RELEVANCE) >= 40
    assert sum(1 for e in RELEVANCE if e.get("held_out")) >= 5
    for entry in RELEVANCE:
        assert entry["relevant"], entry["q"]
        assert set(entry["relevant"]) <= slugs, entry["q"]


def test_recall_and_precision_meet_the_aims(demo_catalogue):
    found = {e["q"]: ranked(demo_catalogue, e["q"]) for e in RELEVANCE}
    for entry in RELEVANCE:
        relevant = set(entry["relevant"])
        results = found[entry["q"]]
        missed = sorted(relevant - set(results))
        wrong = [s for s in results[:10] if s not in relevant]
        print(f"{entry['q']!r:36} found {len(results):3} relevant {len(relevant):3} "
              f"missed {missed} not judged in top 10 {wrong}")
    everything = figures(found, RELEVANCE)
    held_out = figures(found, [e for e in RELEVANCE if e.get("held_out")])
    print(f"all: {everything}")
    print(f"held out: {held_out}")
    assert everything["without_results"] == 0
    assert everything["recall"] >= RECALL_AIM
    assert everything["precision_at_10"] >= PRECISION_AIM


def sqlite_twin(tmp_path):
    """The suite's app is PostgreSQL here; a SQLite twin migrated and seeded the same way."""
    twin = create_app({**TEST_CONFIG, "DATABASE_URL": f"sqlite:///{tmp_path / 'twin.sqlite'}"},
                      instance_path=str(tmp_path / "instance"))
    _upgrade(twin)
    _seed(twin)
    return twin


@pytest.mark.skipif(postgres_url() is None,
                    reason="compares with PostgreSQL: runs in the PostgreSQL suite")
def test_the_same_labs_on_sqlite_and_postgresql(demo_catalogue, tmp_path):
    twin = sqlite_twin(tmp_path)
    for entry in RELEVANCE:
        assert ranked(twin, entry["q"]) == ranked(demo_catalogue, entry["q"]), entry["q"]
