"""The registry of transnational projects.

Rules (each refusal is a :class:`RuleViolation` naming its field):

- any logged-in member of an organisation registers a project and becomes its first
  project manager; a project's managers and admins edit it, its partners and its managers
  (``permissions.can_manage_project``);
- a project has a name; its address (slug) is unique; its dates are in the years
  2000..2100 and end after they start; its website is an http(s) address; its KET areas
  are known codes;
- a partner is an organisation on LabNet (once per project) or, for one that is not, a
  name and a European country;
- the manager role is granted by e-mail address to an active member, once; a project
  keeps at least one manager (the last one cannot be removed);
- every change is audited in the caller's transaction (DESIGN, "Notification and audit").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload

from labnet import permissions
from labnet.dates import in_range
from labnet.errors import PermissionDenied, RuleViolation
from labnet.extensions import db
from labnet.i18n import _
from labnet.models import (
    Event,
    EventOrganiser,
    KetArea,
    Organisation,
    Project,
    ProjectKet,
    ProjectManager,
    ProjectPartner,
    User,
)
from labnet.services.accounts.rules import slugify
from labnet.services.common import audit
from labnet.services.common.text import clean_text
from labnet.services.geo.geocoding import EUROPEAN_COUNTRIES, country_code

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
# Addresses under /projects/ that are pages, not projects.
RESERVED_SLUGS = frozenset({"new"})
MAX_PARTNERS = 200


@dataclass(frozen=True)
class ProjectFields:
    """A project's editable fields as the form gives them."""

    name: str
    acronym: str = ""
    programme: str = ""
    starts_on: date | None = None
    ends_on: date | None = None
    website: str = ""
    description: str = ""
    ket_codes: tuple[str, ...] = field(default_factory=tuple)
    slug: str = ""


def known_kets(codes: list[str]) -> set[str]:
    """Which of ``codes`` are KET areas or sub-areas."""
    if not codes:
        return set()
    return set(db.session.scalars(select(KetArea.code).where(KetArea.code.in_(codes))))


def check_kets(codes: tuple[str, ...] | list[str], field_name: str = "ket_codes") -> list[str]:
    """The KET codes, upper-cased and de-duplicated, or a refusal naming the unknown ones.

    :raises RuleViolation: on ``field_name`` for an unknown code.
    """
    kets = sorted({c.strip().upper() for c in codes if c and c.strip()})
    unknown = set(kets) - known_kets(kets)
    if unknown:
        raise RuleViolation(field_name, _("Unknown KET area: %(codes)s.",
                                             codes=", ".join(sorted(unknown))))
    return kets


def check_url(value: str, field_name: str, *, limit: int = 300) -> str:
    """An http(s) address or "" (DESIGN rule 7: no ``javascript:`` link is ever shown).

    :raises RuleViolation: on ``field_name`` for anything else.
    """
    url = clean_text(value, field_name, label=_("The address"), limit=limit)
    if url and not URL_RE.match(url):
        raise RuleViolation(field_name, _("Give a web address starting with https:// "
                                          "(or http://)."))
    return url


def unique_slug(model: Any, wanted: str, *, own_id: int | None, field_name: str = "slug",
                typed: bool, reserved: frozenset[str] = RESERVED_SLUGS) -> str:
    """A free address for a project or an event: the typed one (refused when taken or
    malformed) or one derived from the name (``-2``, ``-3`` … appended when taken).

    :raises RuleViolation: on ``field_name`` for a typed address that is malformed,
        reserved or taken.
    """
    others = select(model.id).where(model.id != (own_id or -1))
    if typed:
        if len(wanted) > 120 or not SLUG_RE.match(wanted):
            raise RuleViolation(field_name, _("Use lower-case letters, digits and single "
                                              "hyphens (for example clustrat-2027), at most "
                                              "120."))
        if wanted in reserved:
            raise RuleViolation(field_name, _("The address “%(slug)s” is reserved; choose "
                                              "another.", slug=wanted))
        if db.session.scalar(others.where(model.slug == wanted)) is not None:
            raise RuleViolation(field_name, _("The address “%(slug)s” is taken; choose "
                                              "another.", slug=wanted))
        return wanted
    base = wanted if wanted not in reserved else f"{wanted}-1"
    taken = set(db.session.scalars(select(model.slug).where(
        model.id != (own_id or -1), (model.slug == base) | model.slug.like(f"{base}-%"))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _check(fields: ProjectFields, *, project_id: int | None) -> dict[str, Any]:
    name = clean_text(fields.name, "name", label=_("The name"), limit=200,
                      required=_("Enter the project's name."))
    acronym = clean_text(fields.acronym, "acronym", label=_("The acronym"), limit=40)
    programme = clean_text(fields.programme, "programme", label=_("The programme"),
                           limit=200)
    description = clean_text(fields.description, "description", label=_("The description"),
                             limit=10000, one_line=False)
    website = check_url(fields.website, "website")
    for name_, day in (("starts_on", fields.starts_on), ("ends_on", fields.ends_on)):
        if day is not None and not in_range(day):
            raise RuleViolation(name_, _("Enter a date between the years 2000 and 2100."))
    if fields.starts_on and fields.ends_on and fields.ends_on < fields.starts_on:
        raise RuleViolation("ends_on", _("The project cannot end before it starts."))
    kets = check_kets(fields.ket_codes)
    typed = (fields.slug or "").strip().lower()
    slug = unique_slug(Project, typed or slugify(acronym or name, max_len=100),
                       own_id=project_id, typed=bool(typed))
    return {"name": name, "acronym": acronym, "programme": programme,
            "description": description, "website": website, "starts_on": fields.starts_on,
            "ends_on": fields.ends_on, "slug": slug, "kets": kets}


def _require_manage(actor: Any, project: Project) -> None:
    if not permissions.can_manage_project(actor, project):
        raise PermissionDenied("can_manage_project")


def create_project(actor: User, fields: ProjectFields, *, now: datetime) -> Project:
    """Register a project; the actor becomes its first project manager.

    :raises PermissionDenied: unless the actor is a logged-in member of an organisation.
    :raises RuleViolation: on the field whose value breaks a rule (see the module note).
    """
    if not permissions.can_create_project(actor):
        raise PermissionDenied("can_create_project")
    values = _check(fields, project_id=None)
    kets = values.pop("kets")
    project = Project(**values, created_by_id=actor.id, created_at=now, updated_at=now)
    project.ket_links = [ProjectKet(ket_code=code) for code in kets]
    db.session.add(project)
    db.session.flush()
    db.session.add(ProjectManager(project_id=project.id, user_id=actor.id,
                                  granted_by_id=actor.id, granted_at=now))
    audit.record(actor, "project.created", "project", project.id, now=now, slug=project.slug)
    db.session.flush()
    return project


def update_project(actor: User, project: Project, fields: ProjectFields, *,
                   now: datetime) -> Project:
    """Change a project's fields and KET areas.

    :raises PermissionDenied: unless the actor manages the project or is an admin.
    :raises RuleViolation: on the field whose value breaks a rule.
    """
    _require_manage(actor, project)
    values = _check(fields, project_id=project.id)
    kets = values.pop("kets")
    for key, value in values.items():
        setattr(project, key, value)
    project.updated_at = now
    db.session.execute(delete(ProjectKet).where(ProjectKet.project_id == project.id))
    db.session.add_all(ProjectKet(project_id=project.id, ket_code=code) for code in kets)
    audit.record(actor, "project.updated", "project", project.id, now=now)
    db.session.flush()
    db.session.expire(project, ["ket_links"])
    return project


# --- partners -------------------------------------------------------------------------------

def resolve_organisation(text: str) -> Organisation | None:
    """The organisation a person named in the partner picker: its address name (slug) or
    its name, whatever the capitals."""
    key = " ".join((text or "").split()).lower()
    if not key:
        return None
    return db.session.scalar(select(Organisation).where(
        (Organisation.slug == key) | (Organisation.name_key == key)))


def add_partner(actor: User, project: Project, *, organisation: str = "", name: str = "",
                country: str = "", now: datetime) -> ProjectPartner:
    """Add a partner: an organisation on LabNet (``organisation``: its name or address
    name), or one that is not (``name`` and ``country``).

    :raises PermissionDenied: unless the actor manages the project or is an admin.
    :raises RuleViolation: on ``organisation`` (unknown, already a partner), ``name`` or
        ``country`` (missing, not a European country).
    """
    _require_manage(actor, project)
    count = db.session.scalar(select(func.count()).select_from(ProjectPartner).where(
        ProjectPartner.project_id == project.id)) or 0
    if count >= MAX_PARTNERS:
        raise RuleViolation("organisation", _("A project has at most %(max)d partners.",
                                                max=MAX_PARTNERS))
    typed_org = clean_text(organisation, "organisation", label=_("The organisation"),
                           limit=200)
    if typed_org:
        org = resolve_organisation(typed_org)
        if org is None:
            raise RuleViolation("organisation", _("No organisation on LabNet is called "
                                                  "“%(name)s”. Check the name, or enter "
                                                  "the partner's name and country below.",
                                                  name=typed_org))
        if db.session.scalar(select(ProjectPartner.id).where(
                ProjectPartner.project_id == project.id,
                ProjectPartner.organisation_id == org.id)) is not None:
            raise RuleViolation("organisation", _("%(name)s is already a partner.",
                                                  name=org.name))
        partner = ProjectPartner(project_id=project.id, organisation_id=org.id, name="",
                                 country=None, added_at=now, added_by_id=actor.id)
    else:
        partner_name = clean_text(name, "name", label=_("The name"), limit=200,
                                  required=_("Choose an organisation on LabNet, or enter "
                                             "the partner's name and country."))
        code = country_code(country) or (country or "").strip().upper()
        if code not in EUROPEAN_COUNTRIES:
            raise RuleViolation("country", _("Choose the partner's country."))
        partner = ProjectPartner(project_id=project.id, organisation_id=None,
                                 name=partner_name, country=code, added_at=now,
                                 added_by_id=actor.id)
    db.session.add(partner)
    db.session.flush()
    audit.record(actor, "project.partner_added", "project", project.id, now=now,
                 partner_id=partner.id, organisation_id=partner.organisation_id)
    return partner


def remove_partner(actor: User, project: Project, partner_id: int, *, now: datetime) -> None:
    """Remove one partner of the project.

    :raises PermissionDenied: unless the actor manages the project or is an admin.
    :raises RuleViolation: when the partner is not one of this project's.
    """
    _require_manage(actor, project)
    partner = db.session.get(ProjectPartner, partner_id)
    if partner is None or partner.project_id != project.id:
        raise RuleViolation(None, _("This partner is not (or no longer) on the project."),
                            409)
    db.session.delete(partner)
    audit.record(actor, "project.partner_removed", "project", project.id, now=now,
                 partner_id=partner_id)
    db.session.flush()


# --- managers -------------------------------------------------------------------------------

def grant_manager(actor: User, project: Project, email: str, *, now: datetime) -> User:
    """Grant the project-manager role to the member with address ``email``.

    :raises PermissionDenied: unless the actor manages the project or is an admin.
    :raises RuleViolation: on ``email`` when no active member has it, or they already
        manage the project.
    """
    _require_manage(actor, project)
    address = clean_text(email, "email", label=_("The address"), limit=254,
                         required=_("Enter the e-mail address of a LabNet member.")).lower()
    user = db.session.scalar(select(User).where(func.lower(User.email) == address))
    if user is None or not permissions.is_member(user):
        raise RuleViolation("email", _("No active LabNet member has this address. Ask them "
                                       "to register first."))
    if permissions.manages_project(user, project.id):
        raise RuleViolation("email", _("%(name)s already manages this project.",
                                       name=user.full_name))
    db.session.add(ProjectManager(project_id=project.id, user_id=user.id,
                                  granted_by_id=actor.id, granted_at=now))
    audit.record(actor, "project.manager_granted", "project", project.id, now=now,
                 user_id=user.id)
    db.session.flush()
    return user


def revoke_manager(actor: User, project: Project, user_id: int, *, now: datetime) -> None:
    """Take the project-manager role from one manager; the last one stays.

    :raises PermissionDenied: unless the actor manages the project or is an admin.
    :raises RuleViolation: when the person is not a manager, or is the last one.
    """
    _require_manage(actor, project)
    managers = list(db.session.scalars(select(ProjectManager.user_id).where(
        ProjectManager.project_id == project.id)))
    if user_id not in managers:
        raise RuleViolation(None, _("This person does not manage the project."), 409)
    if len(managers) == 1:
        raise RuleViolation(None, _("A project keeps at least one manager: grant the role "
                                    "to someone else first."), 409)
    db.session.execute(delete(ProjectManager).where(ProjectManager.project_id == project.id,
                                                    ProjectManager.user_id == user_id))
    audit.record(actor, "project.manager_revoked", "project", project.id, now=now,
                 user_id=user_id)
    db.session.flush()


# --- reads ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PartnerView:
    """A partner as the project page shows it (an organisation's own data when on LabNet)."""

    id: int
    name: str
    country: str
    organisation_slug: str | None
    lat: float | None
    lon: float | None
    city: str


@dataclass(frozen=True)
class ProjectPage:
    """A project with its partners and managers."""

    project: Project
    partners: list[PartnerView]
    managers: list[User]

    @property
    def countries(self) -> list[str]:
        """The partners' countries, once each."""
        return sorted({p.country for p in self.partners if p.country})


def load_project(project_id: int) -> Project:
    """A project with its KET areas loaded (for its page and edit form)."""
    return db.session.scalars(select(Project).options(selectinload(Project.ket_links))
                              .where(Project.id == project_id)).one()


def project_page(project: Project) -> ProjectPage:
    """A project with its KET areas, partners (names, countries, and an organisation's
    coordinates when it has them) and managers; four queries."""
    project = load_project(project.id)
    rows = db.session.execute(
        select(ProjectPartner, Organisation)
        .outerjoin(Organisation, Organisation.id == ProjectPartner.organisation_id)
        .where(ProjectPartner.project_id == project.id)
        .order_by(func.coalesce(Organisation.name, ProjectPartner.name), ProjectPartner.id)
    ).tuples().all()
    partners = []
    for partner, org in rows:
        if org is not None:
            partners.append(PartnerView(partner.id, org.name, org.country, org.slug,
                                        org.lat, org.lon, org.city))
        else:
            partners.append(PartnerView(partner.id, partner.name, partner.country or "", None,
                                        None, None, ""))
    managers = list(db.session.scalars(
        select(User).join(ProjectManager, ProjectManager.user_id == User.id)
        .where(ProjectManager.project_id == project.id).order_by(User.full_name, User.id)))
    return ProjectPage(project, partners, managers)


def partner_points(page: ProjectPage) -> list[dict[str, Any]]:
    """Map points of the partners that have coordinates (names travel as data, shown as
    text by points_map.js). Partners not on LabNet have no place: they are listed only."""
    return [{"name": p.name, "detail": ", ".join(x for x in (p.city, p.country) if x),
             "lat": p.lat, "lon": p.lon}
            for p in page.partners if p.lat is not None and p.lon is not None]


def list_projects() -> list[tuple[Project, int, int]]:
    """Every project by name, with its number of partners and of listed events; three
    queries whatever the number of projects."""
    projects = list(db.session.scalars(select(Project).options(
        selectinload(Project.ket_links)).order_by(Project.name, Project.id)))
    partners = dict(db.session.execute(
        select(ProjectPartner.project_id, func.count()).group_by(ProjectPartner.project_id)
    ).tuples().all())
    events = dict(db.session.execute(
        select(EventOrganiser.project_id, func.count())
        .join(Event, Event.id == EventOrganiser.event_id)
        .where(EventOrganiser.project_id.is_not(None), permissions.listed_event_condition())
        .group_by(EventOrganiser.project_id)).tuples().all())
    return [(p, partners.get(p.id, 0), events.get(p.id, 0)) for p in projects]


def managed_projects(actor: Any) -> list[Project]:
    """The projects ``actor`` manages (admins: none listed here; they reach every one)."""
    user = actor if isinstance(actor, User) else None
    if user is None:
        return []
    return list(db.session.scalars(
        select(Project).join(ProjectManager, ProjectManager.project_id == Project.id)
        .where(ProjectManager.user_id == user.id).order_by(Project.name)))
