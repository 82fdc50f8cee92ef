"""Translation helpers for a part of the code: ``python -m tests.i18n.tools``.

    pot   --out FILE PATH...        the marked texts of these files/folders as a .pot
    check --dir DIR PATH...         which of them DIR/<lang>.po lacks, per language
    merge --out-dir DIR PO...       (lead) one catalogue per language from many .po files
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.pofile import read_po, write_po

from labnet.i18n import DEFAULT_LANGUAGE, LANGUAGES

KEYWORDS = dict(DEFAULT_KEYWORDS, _l=None, lazy_gettext=None, _ln=(1, 2),
                lazy_ngettext=(1, 2))
OPTIONS = {"extensions": "jinja2.ext.do,jinja2.ext.i18n"}


def _files(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(p for p in sorted(path.rglob("*"))
                       if p.suffix in (".py", ".html", ".txt", ".ics"))
        else:
            out.append(path)
    return out


def extract(paths: list[str]) -> Catalog:
    catalog = Catalog(project="LabNet")
    for path in _files(paths):
        method = "python" if path.suffix == ".py" else "jinja2"
        options = {} if method == "python" else OPTIONS
        for lineno, message, comments, context in extract_from_file(
                method, str(path), keywords=KEYWORDS, options=options):
            catalog.add(message, None, [(str(path), lineno)], auto_comments=comments,
                        context=context)
    return catalog


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.i18n.tools")
    sub = parser.add_subparsers(dest="cmd", required=True)
    pot = sub.add_parser("pot")
    pot.add_argument("--out", required=True)
    pot.add_argument("paths", nargs="+")
    check = sub.add_parser("check")
    check.add_argument("--dir", required=True)
    check.add_argument("paths", nargs="+")
    merge = sub.add_parser("merge")
    merge.add_argument("--out-dir", required=True)
    merge.add_argument("po", nargs="+")
    args = parser.parse_args(argv)

    if args.cmd == "pot":
        catalog = extract(args.paths)
        with open(args.out, "wb") as handle:
            write_po(handle, catalog, sort_output=True)
        print(f"{len(catalog)} texts → {args.out}")
        return 0
    if args.cmd == "check":
        wanted = extract(args.paths)
        bad = 0
        for code in LANGUAGES:
            if code == DEFAULT_LANGUAGE:
                continue
            po = Path(args.dir) / f"{code}.po"
            if not po.exists():
                print(f"{code}: {po} missing")
                bad += 1
                continue
            with po.open("rb") as handle:
                have = read_po(handle, locale=code)
            missing = []
            for message in wanted:
                if not message.id:
                    continue
                got = have.get(message.id)
                strings = [] if got is None else (
                    list(got.string) if isinstance(got.string, tuple) else [got.string])
                if got is None or got.fuzzy or not strings or not all(strings):
                    missing.append(message.id)
            print(f"{code}: {len(wanted) - 1 - len(missing)}/{len(wanted) - 1} translated")
            for msgid in missing[:10]:
                print(f"   missing: {msgid!r}")
            bad += bool(missing)
        return 1 if bad else 0
    # merge: the first translation of a text wins
    by_lang: dict[str, Catalog] = {}
    for raw in args.po:
        path = Path(raw)
        code = path.stem
        with path.open("rb") as handle:
            part = read_po(handle, locale=code)
        target = by_lang.setdefault(code, Catalog(locale=code, project="LabNet"))
        for message in part:
            if message.id and message.string and target.get(message.id) is None:
                target[message.id] = message
    out = Path(args.out_dir)
    for code, catalog in by_lang.items():
        (out / code).mkdir(parents=True, exist_ok=True)
        with (out / code / "merged.po").open("wb") as handle:
            write_po(handle, catalog, sort_output=True)
        print(f"{code}: {len(catalog)} texts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
