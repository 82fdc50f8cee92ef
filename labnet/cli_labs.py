"""``flask labnet labs …``: create one lab, import many from CSV, print the CSV template.

Each command calls the lab-creation services (``services.catalogue.labs.creation`` and
``lab_import``) and commits once at its end; a refusal or ``--dry-run`` rolls back, so a
file is imported whole or not at all.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from labnet import clock
from labnet.cli import _progress_printer
from labnet.errors import RuleViolation
from labnet.extensions import db
from labnet.services.catalogue.labs import creation, lab_import
from labnet.services.catalogue.labs.csv_import import CsvImportError
from labnet.services.catalogue.labs.profile import LabProfile
from labnet.services.geo import geocoding as geo


@click.group("labs")
def labs_cli() -> None:
    """Create labs (listed, without a manager: their people claim them later)."""


def _refused(exc: RuleViolation) -> click.ClickException:
    lines = [f"{v.field or 'lab'}: {v.message}"
             for v in getattr(exc, "violations", None) or [exc]]
    return click.ClickException("nothing was created.\n  " + "\n  ".join(lines))


@labs_cli.command("create")
@click.option("--name", required=True, help="The lab's name.")
@click.option("--organisation", required=True,
              help="Its organisation; created (with --org-kind) when not registered.")
@click.option("--kind", "kind_code", required=True, help="Kind of lab (rto, kettc, dih, …).")
@click.option("--country", required=True, help="Two-letter code (DE) or English name.")
@click.option("--org-kind", default="", help="Kind of a new organisation: rto, university, "
              "cluster, kibs or public_body.")
@click.option("--city", default="")
@click.option("--postal-code", default="")
@click.option("--address", default="")
@click.option("--website", default="")
@click.option("--email", default="", help="The lab's contact e-mail.")
@click.option("--ket", multiple=True, help="A KET area code (repeat for several).")
@click.option("--timezone", default="Europe/Brussels", show_default=True,
              help="IANA zone; the default takes the zone of the place found.")
@click.option("--draft", is_flag=True, help="Leave it unpublished.")
@with_appcontext
def labs_create(name: str, organisation: str, kind_code: str, country: str, org_kind: str,
                city: str, postal_code: str, address: str, website: str, email: str,
                ket: tuple[str, ...], timezone: str, draft: bool) -> None:
    """Create one lab, placed on the map from its address."""
    code = geo.country_code(country) or country
    profile = LabProfile(name=name, kind_code=kind_code, country=code, city=city,
                         postal_code=postal_code, address=address, website=website,
                         contact_email=email, timezone=timezone,
                         ket_codes=tuple(k.upper() for k in ket), is_published=not draft)
    existing = creation.find_organisation(organisation)
    choice = creation.OrganisationChoice(name=organisation, new=existing is None,
                                         kind=org_kind, country=code)
    try:
        lab, made = creation.create_lab_cli(choice, profile, now=clock.utcnow())
    except RuleViolation as exc:
        db.session.rollback()
        raise _refused(exc) from exc
    db.session.commit()
    if made:
        click.echo(f"Organisation created: {organisation}")
    where = f"{lab.lat:.4f}, {lab.lon:.4f}" if lab.lat is not None and lab.lon is not None \
        else "not placed yet"
    click.echo(f"Lab created: {lab.name} — /labs/{lab.slug} ({where}; "
               f"{'published' if lab.is_published else 'draft'}, no manager yet)")


@labs_cli.command("template")
def labs_template() -> None:
    """Print the import CSV: its header and one example row (the columns are in the README)."""
    click.echo(lab_import.lab_csv_template(), nl=False)


@labs_cli.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Check every row and say what would be "
              "created; write nothing.")
@with_appcontext
def labs_import(file, dry_run: bool) -> None:
    """Create the labs of FILE (CSV; all rows or none)."""
    content = file.read(lab_import.CSV_MAX_BYTES + 1)
    try:
        result = lab_import.import_labs_csv(content, now=clock.utcnow(),
                                            progress=_progress_printer())
    except CsvImportError as exc:
        db.session.rollback()
        click.echo(exc.message, err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        raise SystemExit(1) from exc
    except RuleViolation as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    verb = "would be" if dry_run else "were"
    click.echo(f"{len(result.labs)} lab(s) {verb} created "
               f"({result.placed_by_hand} placed by the coordinates given, the others from "
               "their addresses).")
    if result.organisations_created:
        click.echo(f"{len(result.organisations_created)} organisation(s) {verb} created: "
                   + ", ".join(result.organisations_created))
    if dry_run:
        click.echo("Dry run: nothing was written.")
