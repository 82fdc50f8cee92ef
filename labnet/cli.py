"""``flask labnet …``: set-up, demo and synthetic data, users and roles, the outbox, jobs
and the scheduler, geocoding look-ups.

Each command calls services and commits once at its end (it is a boundary, like a view).
"""

from __future__ import annotations

import sys
import time

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from labnet import clock
from labnet.errors import LabNetError, RuleViolation
from labnet.extensions import db
from labnet.jobs import JOBS, build_scheduler, run_job
from labnet.models import JobLock, Lab, Role, User
from labnet.services.accounts import tokens
from labnet.services.accounts.rules import grant_role, list_users, managed_labs, revoke_role
from labnet.services.booking import free_days
from labnet.services.catalogue.search import index as search_index
from labnet.services.catalogue.search import lab_facets
from labnet.services.catalogue.taxonomy import sync_taxonomies
from labnet.services.geo.geocoding import geocode, is_queued
from labnet.services.notifications.outbox import send_outbox
from labnet.services.seed import DEMO_ACCOUNTS, DEMO_PASSWORD, seed_demo, seed_synthetic


@click.group("labnet")
def labnet_cli() -> None:
    """LabNet administration."""


def _progress_printer(label_width: int = 22):
    """A progress callback that rewrites one line per stage on a terminal."""
    last: dict[str, float] = {}

    def report(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - last.get(stage, 0) < 0.2:
            return
        last[stage] = now
        pct = 100 * done // total if total else 100
        end = "\n" if done >= total else ""
        click.echo(f"\r  {stage:<{label_width}} {done:>9,}/{total:,} ({pct:3d}%)", nl=False,
                   err=True)
        if end:
            click.echo("", err=True)
        sys.stderr.flush()

    return report


@labnet_cli.command("sync-taxonomy")
@with_appcontext
def sync_taxonomy_cmd() -> None:
    """Load the shipped KET areas, categories, schemes and lab kinds (idempotent)."""

    counts = sync_taxonomies()
    # Category and KET area names are searched words: the index follows a renaming.
    search_index.rebuild(db.session.connection())
    lab_facets.rebuild(db.session.connection())  # a KET area's parent counts there
    db.session.commit()
    for table, n in counts.items():
        click.echo(f"{table}: {n}")


@labnet_cli.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when labs exist already.")
@with_appcontext
def seed_demo_cmd(if_empty: bool) -> None:
    """Load the 58 demo centres, their equipment and the demo accounts."""

    if if_empty and db.session.scalar(select(func.count(Lab.id))):
        click.echo("Demo data already present; nothing to do.")
    else:
        started = time.monotonic()
        result = seed_demo(now=clock.utcnow(), progress=_progress_printer())
        db.session.commit()
        click.echo(f"Demo data: {result['labs']} labs, {result['equipment']} pieces of "
                   f"equipment added in {time.monotonic() - started:.1f} s.")
    _demo_token()


def _demo_token() -> None:
    """The README's API example token for the demo SME (a database seeded before it existed
    gets it too); never under production settings."""
    try:
        tokens.ensure_demo_token(production=current_app.config["ENV_NAME"] == "production",
                                 now=clock.utcnow())
    except RuleViolation as exc:
        db.session.rollback()
        click.echo(f"No demo API token: {exc.message}")
        return
    db.session.commit()
    click.echo(f"Demo API token (read, book) for {tokens.DEMO_TOKEN_USER}: {tokens.DEMO_TOKEN}")


@labnet_cli.command("demo-accounts")
@with_appcontext
def demo_accounts_cmd() -> None:
    """Print the demo accounts and the demo API token."""
    _print_demo_accounts()


def _print_demo_accounts() -> None:
    click.echo(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
    for email, _name, what in DEMO_ACCOUNTS:
        click.echo(f"  {email:<28} {what}")
    if current_app.config["ENV_NAME"] == "production":
        click.echo("No demo API token under production settings.")
        return
    click.echo(f"Demo API token (read, book) for {tokens.DEMO_TOKEN_USER}, made by seed-demo:")
    click.echo(f"  {tokens.DEMO_TOKEN}")
    click.echo("  curl -H 'Authorization: Bearer " + tokens.DEMO_TOKEN
               + "' $LABNET_BASE_URL/api/v1/bookings")


@labnet_cli.command("seed-synthetic")
@click.option("--labs", "n_labs", type=click.IntRange(1, 1_000_000), default=10_000,
              show_default=True)
@click.option("--equipment", "n_equipment", type=click.IntRange(0, 10_000_000),
              default=100_000, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@with_appcontext
def seed_synthetic_cmd(n_labs: int, n_equipment: int, seed: int) -> None:
    """Bulk-insert a deterministic synthetic catalogue for benchmarks."""

    if db.session.scalar(select(func.count(Lab.id)).where(Lab.slug.like(f"syn-{seed}-%"))):
        raise click.ClickException(f"Synthetic data with seed {seed} exists already; "
                                   "choose another --seed or a fresh database.")
    started = time.monotonic()
    result = seed_synthetic(labs=n_labs, equipment=n_equipment, seed=seed, now=clock.utcnow(),
                            progress=_progress_printer())
    db.session.commit()
    if db.engine.dialect.name == "sqlite":
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
    click.echo(f"Synthetic data: {result['labs']:,} labs, {result['equipment']:,} equipment "
               f"in {time.monotonic() - started:.1f} s.")


@labnet_cli.group("search")
def search_cli() -> None:
    """The word-search index."""


@search_cli.command("reindex")
@with_appcontext
def search_reindex() -> None:
    """Rebuild the word-search index, the labs' facet summary and the equipment's
    free-time summary of every lab (one transaction, with progress)."""

    started = time.monotonic()
    report = _progress_printer()
    conn = db.session.connection()
    rows = search_index.rebuild(conn, progress=lambda done, total: report("labs", done, total))
    facet_rows = lab_facets.rebuild(
        conn, progress=lambda done, total: report("lab facets", done, total))
    free_rows = free_days.rebuild(
        conn, now=clock.utcnow(),
        progress=lambda done, total: report("free-time days", done, total))
    db.session.commit()
    click.echo(f"Search index: {rows:,} terms, {facet_rows:,} facet rows, {free_rows:,} "
               f"free-time days in {time.monotonic() - started:.1f} s.")


@labnet_cli.group("users")
def users_cli() -> None:
    """List users; grant and remove roles."""


def _user(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No user with the e-mail address {email}.")
    return user


def _lab(slug: str | None) -> Lab | None:
    if not slug:
        return None
    lab = db.session.scalar(select(Lab).where(Lab.slug == slug))
    if lab is None:
        raise click.ClickException(f"No lab with the address name {slug}.")
    return lab


@users_cli.command("list")
@click.option("--q", default="", help="Filter by name, e-mail or organisation.")
@with_appcontext
def users_list(q: str) -> None:
    for user in db.session.scalars(list_users(q)):
        roles = [r.role for r in user.roles]
        roles += [f"lab_manager:{lab.slug}" for lab in db.session.scalars(managed_labs(user))]
        click.echo(f"{user.email:<32} {user.organisation.name:<40} {' '.join(roles)}")


ROLE_CHOICE = click.Choice([r.value for r in Role])


@users_cli.command("grant")
@click.argument("email")
@click.argument("role", type=ROLE_CHOICE)
@click.option("--lab", "lab_slug", help="The lab, for the lab_manager role.")
@with_appcontext
def users_grant(email: str, role: str, lab_slug: str | None) -> None:
    """Grant ROLE to the user with EMAIL."""

    try:
        changed = grant_role(None, _user(email), role, lab=_lab(lab_slug), now=clock.utcnow())
    except RuleViolation as exc:
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo("granted" if changed else "already held")


@users_cli.command("revoke")
@click.argument("email")
@click.argument("role", type=ROLE_CHOICE)
@click.option("--lab", "lab_slug", help="The lab, for the lab_manager role.")
@with_appcontext
def users_revoke(email: str, role: str, lab_slug: str | None) -> None:
    """Remove ROLE from the user with EMAIL."""

    try:
        changed = revoke_role(None, _user(email), role, lab=_lab(lab_slug), now=clock.utcnow())
    except LabNetError as exc:
        raise click.ClickException(getattr(exc, "message", str(exc))) from exc
    db.session.commit()
    click.echo("removed" if changed else "not held")


@labnet_cli.group("outbox")
def outbox_cli() -> None:
    """The e-mail outbox."""


@outbox_cli.command("send")
@with_appcontext
def outbox_send() -> None:
    """Deliver queued e-mail (SMTP if configured, else the console)."""

    # Every queued message, each tried once (delivery commits message by message).
    result = send_outbox(current_app.config, now=clock.utcnow(), grace=None,
                         batches=None)
    db.session.commit()
    click.echo(f"{result['delivered']} message(s) delivered.")


@labnet_cli.group("jobs")
def jobs_cli() -> None:
    """Background jobs (the scheduler runs them; each can be run once from here)."""


@jobs_cli.command("list")
@with_appcontext
def jobs_list() -> None:
    """List the jobs, their intervals and their last runs."""

    locks = {row.name: row for row in db.session.scalars(select(JobLock))}
    for name, job in JOBS.items():
        row = locks.get(name)
        last = (f"last run {row.last_finished_at:%Y-%m-%d %H:%M} UTC ({row.last_status})"
                if row and row.last_finished_at else "never run")
        running = f", running on {row.holder}" if row and row.holder else ""
        click.echo(f"{name:<20} every {job.interval}  {last}{running}  - {job.description}")


@jobs_cli.command("run")
@click.argument("name")
@with_appcontext
def jobs_run(name: str) -> None:
    """Run job NAME once (skipped if another runner holds it)."""

    if name not in JOBS:
        raise click.ClickException(f"No job named {name}; known: {', '.join(JOBS)}.")
    outcome = run_job(name, now=clock.utcnow())
    if outcome.status == "skipped":
        until = f" until {outcome.lease_until:%H:%M:%S} UTC" if outcome.lease_until else ""
        click.echo(f"{name}: skipped (running elsewhere: {outcome.holder}{until})")
        return
    counts = ", ".join(f"{k} {v}" for k, v in outcome.result.items() if v)
    click.echo(f"{name}: done ({counts or 'nothing to do'})")


@labnet_cli.command("scheduler")
@with_appcontext
def scheduler_cmd() -> None:
    """Run every job on its interval until stopped (one such process per deployment)."""

    scheduler = build_scheduler(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo("Scheduler running; Ctrl+C stops it.")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        click.echo("Scheduler stopped.")


@labnet_cli.group("geo")
def geo_cli() -> None:
    """Geocoding: look places up with the configured geocoder."""


@geo_cli.command("lookup")
@click.argument("query")
@click.option("--country", help="ISO code or name that restricts the answer.")
@with_appcontext
def geo_lookup(query: str, country: str | None) -> None:
    """Print the place QUERY names ("Aachen, Germany", "52062 Aachen"), or "not found"."""

    started = time.perf_counter()
    place = geocode(query, country=country, now=clock.utcnow())
    elapsed = (time.perf_counter() - started) * 1000
    queued = is_queued(query, country=country)
    db.session.commit()  # keeps a request queued for the online geocoder, if any
    if place is None:
        click.echo("not found")
    else:
        click.echo(f"{place.label}  {place.lat:.5f}, {place.lon:.5f}  "
                   f"{place.timezone or '-'}  ({place.source}, {elapsed:.1f} ms)")
    if queued:
        click.echo("queued for the online geocoder: `flask labnet jobs run geocode-pending`")
