"""The open-data dumps: the public catalogue as CSV, JSON, GeoJSON and JSON-LD files, with a
DCAT-AP description, under CC BY 4.0.

Rules owned here:
- only public records (:mod:`labnet.services.catalogue.public`): published labs without any
  person's contact details, their equipment that is not retired, currently valid
  accreditations, public networks, the KET areas, upcoming public events (published, or
  cancelled and not yet ended, marked so); never drafts, members-only networks, e-mail
  addresses, bookings, an event's online link, questions or participants;
- every file is written as its rows are read (batches of 1,000 by id), to a temporary file
  renamed over the old one when complete, so a reader never sees half a file and memory
  stays flat at any catalogue size;
- the job writes once per UTC day (a second run that day, or a second scheduler, finds the
  manifest of the day and does nothing; the job lease keeps two runs apart).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select

from labnet.extensions import db
from labnet.services.catalogue import public
from labnet.services.common.spreadsheet import UTF8_BOM, safe_cell

LICENCE = "https://creativecommons.org/licenses/by/4.0/"
LICENCE_NAME = "CC BY 4.0"
MANIFEST = "manifest.json"

LAB_COLUMNS = ("id", "slug", "name", "kind", "description", "capabilities", "website",
               "address", "postal_code", "city", "country", "nuts_code", "lat", "lon",
               "timezone", "ket_areas", "equipment_count", "requires_approval")
EQUIPMENT_COLUMNS = ("id", "lab", "name", "category", "maker", "model", "description",
                     "booking_unit", "min_units", "max_units", "mode", "status",
                     "training_required", "currency", "rate_industry", "rate_sme",
                     "rate_academic")
ACCREDITATION_COLUMNS = ("id", "lab", "scheme", "scheme_name", "certificate_no", "issuer",
                         "scope", "valid_from", "valid_until")
NETWORK_COLUMNS = ("id", "slug", "name", "description", "ket_area", "ecosystem")
KET_COLUMNS = ("code", "name", "parent")
EVENT_COLUMNS = ("id", "slug", "title", "kind", "status", "description", "language",
                 "timezone", "starts_at", "ends_at", "address", "city", "country", "lat", "lon",
                 "online", "capacity", "seats_left", "registration_deadline", "price_sme",
                 "price_standard", "currency", "ket_areas", "organisers")


@dataclass(frozen=True)
class Dataset:
    """One data set of the catalogue and the formats it is offered in."""

    name: str
    title: str
    columns: tuple[str, ...]
    formats: tuple[str, ...]


# ``title`` is the English title of the machine descriptions (DCAT-AP); the open-data page
# shows each set's title in the reader's language (templates/open_data/index.html).
DATASETS = (
    Dataset("labs", "Labs", LAB_COLUMNS, ("csv", "json", "geojson", "jsonld")),
    Dataset("equipment", "Equipment", EQUIPMENT_COLUMNS, ("csv", "json", "jsonld")),
    Dataset("accreditations", "Verified accreditations", ACCREDITATION_COLUMNS,  # i18n: keep
            ("csv", "json")),
    Dataset("networks", "Public networks", NETWORK_COLUMNS, ("csv", "json")),  # i18n: keep
    Dataset("ket-areas", "KET areas", KET_COLUMNS, ("csv", "json")),
    Dataset("events", "Upcoming public events", EVENT_COLUMNS,  # i18n: keep
            ("csv", "json", "jsonld")),
)
MEDIA_TYPES = {"csv": "text/csv", "json": "application/json",
               "geojson": "application/geo+json", "jsonld": "application/ld+json"}
FILES = {f"{d.name}.{fmt}": d for d in DATASETS for fmt in d.formats}


def _records(name: str, *, now: datetime) -> Iterator[dict[str, Any]]:
    if name == "labs":
        yield from public.iter_public_labs()
    elif name == "equipment":
        yield from public.iter_public_equipment()
    elif name == "accreditations":
        after = 0
        while True:
            rows = db.session.execute(public.valid_accreditations(now)
                                      .where(public.Accreditation.id > after)
                                      .limit(public.BATCH)).all()
            if not rows:
                return
            for row in rows:
                yield public.accreditation_record(*row)
            after = rows[-1][0].id
            db.session.expunge_all()
    elif name == "networks":
        for network in db.session.scalars(select(public.Network).where(
                public.Network.visibility == "public").order_by(public.Network.id)):
            record = public.network_record(network)
            record.pop("visibility")
            yield record
    elif name == "ket-areas":
        yield from public.ket_areas()
    elif name == "events":
        for event, organisers, codes in public.iter_public_events(now):
            yield public.event_record(event, organisers, codes)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):  # KET codes; an event's organisers as kind:slug
        value = " ".join(f"{v['kind']}:{v['slug']}" if isinstance(v, dict) else str(v)
                         for v in value)
    return safe_cell(str(value))


def _write_csv(out: IO[str], columns: tuple[str, ...], rows: Iterable[dict[str, Any]]) -> int:
    out.write(UTF8_BOM)
    writer = csv.writer(out)
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
        count += 1
    return count


def _write_array(out: IO[str], rows: Iterable[Any], head: str = "[", tail: str = "]") -> int:
    """A JSON array written element by element (never the whole list in memory)."""
    out.write(head)
    count = 0
    for row in rows:
        out.write(("," if count else "") + "\n" + json.dumps(row, ensure_ascii=False))
        count += 1
    out.write("\n" + tail + "\n")
    return count


def lab_url(base_url: str, slug: str) -> str:
    """A lab page's address under ``BASE_URL`` (the identifier of its JSON-LD node)."""
    return f"{base_url}/labs/{slug}"


def _feature(lab: dict[str, Any], base_url: str) -> dict[str, Any] | None:
    if lab["lat"] is None or lab["lon"] is None:
        return None
    props = {k: v for k, v in lab.items() if k not in ("lat", "lon")}
    props["url"] = lab_url(base_url, lab["slug"])
    return {"type": "Feature", "geometry": {"type": "Point",
                                            "coordinates": [lab["lon"], lab["lat"]]},
            "properties": props}


def _lab_ld(lab: dict[str, Any], base_url: str) -> dict[str, Any]:
    """A lab as schema.org: an Organization at a Place."""
    url = lab_url(base_url, lab["slug"])
    place: dict[str, Any] = {
        "@type": "Place",
        "address": {"@type": "PostalAddress", "streetAddress": lab["address"],
                    "postalCode": lab["postal_code"], "addressLocality": lab["city"],
                    "addressCountry": lab["country"]}}
    if lab["lat"] is not None and lab["lon"] is not None:
        place["geo"] = {"@type": "GeoCoordinates", "latitude": lab["lat"],
                        "longitude": lab["lon"]}
    node = {"@id": url, "@type": "Organization", "name": lab["name"], "url": url,
            "description": lab["description"], "location": place,
            "knowsAbout": lab["ket_areas"]}
    if lab["website"]:
        node["sameAs"] = lab["website"]
    return node


def _equipment_ld(item: dict[str, Any], base_url: str) -> dict[str, Any]:
    """An equipment item as a schema.org Product offered by its lab."""
    return {"@id": f"{base_url}/equipment/{item['id']}", "@type": "Product",
            "name": item["name"], "description": item["description"],
            "category": item["category"], "brand": item["maker"] or None,
            "model": item["model"] or None,
            "offers": {"@type": "Offer", "priceCurrency": item["currency"],
                       "price": item["rate_industry"],
                       "offeredBy": {"@id": lab_url(base_url, item["lab"])}}}


_ORGANISER_PATHS = {"lab": "labs", "network": "networks", "project": "projects"}


def _events_ld(base_url: str, now: datetime) -> Iterator[dict[str, Any]]:
    """Upcoming public events as schema.org ``Event`` nodes: the event page's own JSON-LD
    (``listing.event_jsonld``: start and end with their offset, status, place, offers when
    priced), each organiser named by the ``@id`` its own node has (a lab's is in
    ``labs.jsonld``), and an event without a place of its own held at its organising lab."""
    from labnet.services.events.listing import event_jsonld

    def organiser_url(o: Any) -> str:
        return f"{base_url}/{_ORGANISER_PATHS[o.kind]}/{o.slug}"

    for event, organisers, _codes in public.iter_public_events(now):
        url = f"{base_url}/events/{event.slug}"
        node = event_jsonld(event, organisers, url=url, organiser_url=organiser_url)
        node.pop("@context")
        node["@id"] = url
        for entry, o in zip(node["organizer"], organisers, strict=True):
            entry["@id"] = entry["url"]
            if o.kind == "lab" and not event.has_place and not event.is_online:
                node["location"] = {"@type": "Place", "name": o.name, "url": entry["url"]}
        yield node


def _ld_head() -> str:
    return ('{"@context": "https://schema.org", "license": "' + LICENCE + '",\n'
            '"@graph": [')


@contextmanager
def _atomic(path: Path) -> Iterator[IO[str]]:
    """A file that replaces ``path`` only once it is completely written."""
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w", encoding="utf-8", newline="") as out:
        yield out
    os.replace(tmp, path)


def _writer(dataset: Dataset, fmt: str, base_url: str, now: datetime
            ) -> Callable[[IO[str]], int]:
    rows = lambda: _records(dataset.name, now=now)  # noqa: E731 (a fresh pass per file)
    if fmt == "csv":
        return lambda out: _write_csv(out, dataset.columns, rows())
    if fmt == "json":
        return lambda out: _write_array(out, rows())
    if fmt == "geojson":
        features = lambda: (f for f in (_feature(r, base_url) for r in rows()) if f)  # noqa: E731
        return lambda out: _write_array(out, features(),
                                        head='{"type": "FeatureCollection", "features": [',
                                        tail="]}")
    if dataset.name == "events":
        nodes = lambda: _events_ld(base_url, now)  # noqa: E731
    else:
        to_ld = _lab_ld if dataset.name == "labs" else _equipment_ld
        nodes = lambda: (to_ld(r, base_url) for r in rows())  # noqa: E731
    return lambda out: _write_array(out, nodes(), head=_ld_head(), tail="]}")


def write_dumps(directory: Path, *, base_url: str, now: datetime,
                force: bool = False) -> dict[str, Any]:
    """Write every file of :data:`FILES` and the manifest into ``directory``, once a day.

    Returns what was done: ``{"written": n, "rows": {...}}`` or ``{"skipped": date}`` when
    today's files exist (unless ``force``).
    """
    directory.mkdir(parents=True, exist_ok=True)
    manifest_path = directory / MANIFEST
    if not force and manifest_path.exists():
        done = json.loads(manifest_path.read_text(encoding="utf-8"))
        if done.get("generated_at", "")[:10] == now.date().isoformat():
            return {"skipped": done["generated_at"][:10]}
    files: dict[str, Any] = {}
    for filename, dataset in FILES.items():
        fmt = filename.rsplit(".", 1)[1]
        with _atomic(directory / filename) as out:
            count = _writer(dataset, fmt, base_url, now)(out)
        files[filename] = {"rows": count, "bytes": (directory / filename).stat().st_size,
                           "media_type": MEDIA_TYPES[fmt], "dataset": dataset.name}
    manifest = {"generated_at": now.isoformat(), "licence": LICENCE, "files": files}
    with _atomic(manifest_path) as out:
        json.dump(manifest, out, indent=1)
    return {"written": len(files), "rows": {n: f["rows"] for n, f in files.items()
                                            if n.endswith(".csv")}}


def dump_dir(config: Mapping[str, Any], instance_path: str) -> Path:
    """Where the files live: ``OPEN_DATA_DIR``, else ``instance/open-data``."""
    configured = config.get("OPEN_DATA_DIR")
    return Path(configured) if configured else Path(instance_path) / "open-data"


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest of the last dump, or ``None`` before the first."""
    try:
        return json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def dcat_catalog(manifest: dict[str, Any] | None, *, base_url: str,
                 publisher: str) -> dict[str, Any]:
    """The DCAT-AP description of the data set (JSON-LD) for European data portals."""
    issued = manifest["generated_at"] if manifest else None
    files = manifest["files"] if manifest else {}
    datasets = []
    for dataset in DATASETS:
        distributions = []
        for fmt in dataset.formats:
            name = f"{dataset.name}.{fmt}"
            info = files.get(name, {})
            dist: dict[str, Any] = {
                "@id": f"{base_url}/open-data/{name}", "@type": "dcat:Distribution",
                "dcat:accessURL": {"@id": f"{base_url}/open-data"},
                "dcat:downloadURL": {"@id": f"{base_url}/open-data/{name}"},
                "dcat:mediaType": MEDIA_TYPES[fmt],
                "dct:format": fmt.upper(), "dct:license": {"@id": LICENCE},
            }
            if info:
                dist["dcat:byteSize"] = info["bytes"]
                dist["dct:modified"] = issued
            distributions.append(dist)
        datasets.append({
            "@id": f"{base_url}/open-data#{dataset.name}", "@type": "dcat:Dataset",
            "dct:title": f"LabNet: {dataset.title}",
            # English: the machine description for data portals
            "dct:description":
                f"{dataset.title} of the LabNet catalogue of European labs.",  # i18n: keep
            "dct:publisher": {"@type": "foaf:Agent", "foaf:name": publisher},
            "dct:license": {"@id": LICENCE}, "dcat:keyword": ["labs", "research "
                                                                       "infrastructure",
                                                              "KET"],
            "dct:accrualPeriodicity": {
                "@id": "http://publications.europa.eu/resource/authority/frequency/DAILY"},
            **({"dct:modified": issued} if issued else {}),
            "dcat:distribution": distributions,
        })
    return {
        "@context": {"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/",
                     "foaf": "http://xmlns.com/foaf/0.1/"},
        "@id": f"{base_url}/open-data/catalog.jsonld", "@type": "dcat:Catalog",
        "dct:title": "LabNet open data", "dct:license": {"@id": LICENCE},
        "dct:publisher": {"@type": "foaf:Agent", "foaf:name": publisher},
        "dcat:dataset": datasets,
    }
