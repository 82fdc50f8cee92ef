"""Each language's catalogue translates every marked text, keeps its placeholders, and is
compiled; the shipped data (KET areas, categories, schemes, lab kinds, the excellence
framework) is translated too."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import pytest
import yaml
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from labnet import data
from labnet.i18n import DATA_DIR, DEFAULT_LANGUAGE, LANGUAGES
from tests.i18n.marking import LABNET, ROOT

TRANSLATIONS = LABNET / "translations"
OTHER_LANGUAGES = [code for code in LANGUAGES if code != DEFAULT_LANGUAGE]
KEYWORDS = dict(DEFAULT_KEYWORDS, _l=None, lazy_gettext=None, _ln=(1, 2),
                lazy_ngettext=(1, 2))
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|%[sdif]")


@lru_cache(maxsize=1)
def marked_texts() -> dict[str, str]:
    """msgid → the first place it is used, extracted as ``make messages`` does."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: dict[str, str] = {}
    # Folders whose names start with "_" (templates/_macros) are read, as `make messages`
    # reads them (--ignore-dirs); babel skips them by default.
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(LABNET), method_map, options_map, keywords=KEYWORDS,
            directory_filter=lambda path: not Path(path).name.startswith(".")
            and Path(path).name != "__pycache__"):
        for msgid in (message if isinstance(message, tuple) else (message,)):
            if msgid:
                found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def _catalogue(code: str):
    with (TRANSLATIONS / code / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=code)


def test_texts_are_marked_at_all():
    assert len(marked_texts()) > 100


def test_extraction_skips_no_file():
    # babel.cfg as `make messages` reads it must find every text the finder's own
    # extraction (each file parsed on its own, failing loudly) finds: a template the
    # extractor cannot parse is otherwise skipped with a mere warning.
    from tests.i18n.marking import python_paths, template_paths
    from tests.i18n.tools import extract

    each = {m.id if isinstance(m.id, str) else m.id[0]
            for m in extract([str(p) for p in [*template_paths(), *python_paths()]]) if m.id}
    missing = sorted(each - set(marked_texts()))
    assert not missing, f"{len(missing)} texts that `make messages` misses: {missing[:10]}"


@pytest.mark.parametrize("code", OTHER_LANGUAGES)
def test_every_marked_text_is_translated(code):
    catalogue = _catalogue(code)
    missing = []
    for msgid, where in marked_texts().items():
        message = catalogue.get(msgid)
        if message is None:
            # a plural's singular is the catalogue's key
            message = next((m for m in catalogue if isinstance(m.id, tuple)
                            and msgid in m.id), None)
        strings = [] if message is None else (
            list(message.string) if isinstance(message.string, tuple) else [message.string])
        if message is None or message.fuzzy or not strings or not all(strings):
            missing.append(f"{where}: {msgid!r}")
    assert not missing, f"{len(missing)} texts lack a {code} translation:\n" + \
        "\n".join(missing[:60])


@pytest.mark.parametrize("code", OTHER_LANGUAGES)
def test_translations_keep_their_placeholders(code):
    wrong = []
    for message in _catalogue(code):
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(_PLACEHOLDER.findall(ids[-1])) | set(_PLACEHOLDER.findall(ids[0]))
        for string in strings:
            if string and set(_PLACEHOLDER.findall(string)) - wanted:
                wrong.append(f"{ids[0]!r} → {string!r}")
            named = {n for n in _PLACEHOLDER.findall(ids[0]) if n}
            if string and named - set(_PLACEHOLDER.findall(string)) and len(ids) == 1:
                wrong.append(f"{ids[0]!r} → {string!r} (drops a placeholder)")
    assert not wrong, "\n".join(wrong[:40])


def _key(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


@pytest.mark.parametrize("code", OTHER_LANGUAGES)
def test_compiled_catalogue_matches(code):
    mo = TRANSLATIONS / code / "LC_MESSAGES" / "messages.mo"
    assert mo.exists(), f"run `make translations`: {mo} is missing"
    with mo.open("rb") as handle:
        compiled = {_key(m.id): _key(m.string) for m in read_mo(handle) if m.id}
    source = {_key(m.id): _key(m.string) for m in _catalogue(code)
              if m.id and m.string and not m.fuzzy
              and (all(m.string) if isinstance(m.string, tuple) else True)}
    assert compiled == source, f"run `make translations`: {code}'s .mo is older than its .po"


def _data_codes() -> dict[str, set[str]]:
    kets = set()
    for area in data.ket_areas():
        kets.add(area["code"])
    categories = data.equipment_categories()
    return {
        "ket_areas": kets,
        "equipment_categories": {c["code"] for c in categories},
        "equipment_groups": {c["group"] for c in categories},
        "accreditation_schemes": {s["code"] for s in data.accreditation_schemes()},
        "lab_kinds": {k["code"] for k in data.lab_kinds()},
    }


def _framework_fields() -> dict[str, set[str]]:
    """The excellence framework's texts: code → the fields a translation gives."""
    from labnet.services.accreditation.label_framework import framework

    fw = framework()
    fields: dict[str, set[str]] = {g.code: {"name"} for g in fw.groups}
    for c in fw.criteria:
        fields[c.code] = {"title", "question", "evidence", *(f"scale_{k}" for k in c.scale)}
    for level in fw.levels:
        fields[level.code] = {"name", "meaning"}
    return fields


@pytest.mark.parametrize("code", OTHER_LANGUAGES)
def test_shipped_data_is_translated(code):
    path = DATA_DIR / f"{code}.yaml"
    assert path.exists(), path
    loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    missing = []
    for kind, codes in _data_codes().items():
        entries = loaded.get(kind) or {}
        for entry_code in sorted(codes):
            entry = entries.get(entry_code)
            name = entry if isinstance(entry, str) else (entry or {}).get("name")
            if not name:
                missing.append(f"{kind}: {entry_code}")
    framework_texts = loaded.get("excellence_framework") or {}
    for entry_code, fields in sorted(_framework_fields().items()):
        entry = framework_texts.get(entry_code) or {}
        missing.extend(f"excellence_framework: {entry_code}.{field}" for field in sorted(fields)
                       if not str(entry.get(field) or "").strip())
    assert not missing, f"{len(missing)} data names lack a {code} translation:\n" + \
        "\n".join(missing[:40])
