"""Shipped data: taxonomies and the demo data set, read from the YAML files beside this
module. Pure functions returning plain dicts, so migrations can use them too."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).parent


def _load(name: str) -> Any:
    with (DATA_DIR / name).open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@cache
def ket_areas() -> list[dict[str, Any]]:
    """KET rows, level 1 then its children, with ``parent_code`` and ``position``."""
    rows: list[dict[str, Any]] = []
    for i, area in enumerate(_load("ket_areas.yaml")):
        rows.append({"code": area["code"], "name": area["name"], "parent_code": None,
                     "position": i * 100})
        for j, child in enumerate(area.get("children", []), start=1):
            rows.append({"code": child["code"], "name": child["name"],
                         "parent_code": area["code"], "position": i * 100 + j})
    return rows


@cache
def equipment_categories() -> list[dict[str, Any]]:
    return list(_load("equipment_categories.yaml"))


@cache
def accreditation_schemes() -> list[dict[str, Any]]:
    return list(_load("accreditation_schemes.yaml"))


@cache
def lab_kinds() -> list[dict[str, Any]]:
    return list(_load("lab_kinds.yaml"))


@cache
def demo_centres() -> list[dict[str, Any]]:
    return list(_load("demo/centres.yaml"))


def demo_events() -> dict[str, Any]:
    """The demo projects, people, events, registrations and meetings."""
    return dict(_load("demo/events.yaml"))


def category_rows() -> list[dict[str, Any]]:
    """Equipment categories shaped as ``equipment_category`` rows."""
    return [
        {
            "code": c["code"],
            "number": c["number"],
            "group_name": c["group"],
            "name": c["name"],
            "booking_unit": c["booking_unit"],
            "min_units": c.get("min_units", 1),
            "rate_min": int(c["rate_band"]["min"]),
            "rate_max": int(c["rate_band"]["max"]),
        }
        for c in equipment_categories()
    ]


def scheme_rows() -> list[dict[str, Any]]:
    return [
        {
            "code": s["code"],
            "name": s["name"],
            "certifies": s.get("certifies") or "",
            "issuer": s.get("issuer") or "",
            "default_validity_months": s.get("default_validity_months"),
        }
        for s in accreditation_schemes()
    ]


def kind_rows() -> list[dict[str, Any]]:
    return [
        {"code": k["code"], "name": k["name"], "description": k.get("description") or ""}
        for k in lab_kinds()
    ]


def _lines(name: str) -> frozenset[str]:
    # One entry a line, lower-cased; blank lines and "#" comments skipped.
    with (DATA_DIR / name).open(encoding="utf-8") as fh:
        return frozenset(
            line.strip().lower() for line in fh if line.strip() and not line.startswith("#")
        )


@cache
def free_mail_domains() -> frozenset[str]:
    """Shared and free-mail domains (gmail.com, web.de, …): never an organisation's domain."""
    return _lines("free_mail_domains.txt")


@cache
def common_passwords() -> frozenset[str]:
    """The 10,000 most common breached passwords, lower-cased (from zxcvbn's own list)."""
    return _lines("common_passwords.txt")


@cache
def search_vocabulary() -> dict[str, Any]:
    """The search vocabulary: ``languages``, ``spellings`` and ``concepts``
    (``search_vocabulary.yaml``)."""
    return dict(_load("search_vocabulary.yaml"))


def search_vocabulary_translations() -> dict[str, dict[str, Any]]:
    """The search vocabulary's terms in other languages, language code → its file
    (``search_vocabulary/<lang>.yaml``: ``concepts`` and ``words``)."""
    folder = DATA_DIR / "search_vocabulary"
    return {path.stem: dict(_load(f"search_vocabulary/{path.name}") or {})
            for path in sorted(folder.glob("*.yaml"))}


# Schemes whose certificates a national accreditation body issues (ISO/IEC 17025, 17020,
# 15189, 17043, 17034): a claim names the body of its lab's country.
NATIONAL_BODY_SCHEMES = frozenset({"iso-iec-17025", "iso-iec-17020", "iso-15189",
                                   "iso-iec-17043", "iso-17034"})


@cache
def accreditation_bodies() -> dict[str, str]:
    """{country code: name of its national accreditation body} (EA members)."""
    return {row["country"]: row["name"] for row in _load("accreditation_bodies.yaml")}


@cache
def demo_accreditations() -> dict[str, Any]:
    """The demo's KIBS providers and accreditation claims (demo/accreditations.yaml)."""
    return dict(_load("demo/accreditations.yaml"))
