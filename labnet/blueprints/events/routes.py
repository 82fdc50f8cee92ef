"""Project and event pages.

Projects are public (``permissions.project_for``); their managers' pages load through
``permissions.managed_project_for`` (403 for everyone else). Events load through
``permissions.event_for`` (404 for a draft one may not edit, as if it did not exist) and,
for the organisers' pages, ``permissions.edited_event_for`` (403 on a public event one does
not organise). Each POST calls one service through the shared boundary
(``commit_or_show``, ``commit_or_flash``): a refusal re-renders the form with the message
on its field and the input kept (422, 409 for a conflict), and nothing is written.
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from labnet import clock, permissions
from labnet.blueprints.events import bp
from labnet.blueprints.events.forms import (
    ActionForm,
    CancelForm,
    EventForm,
    ManagerForm,
    OrganiserForm,
    PartnerForm,
    ProjectForm,
)
from labnet.blueprints.helpers import (
    choices,
    commit_or_flash,
    commit_or_show,
    country_choices,
    show_rule_refusals,
)
from labnet.converters import parse_id
from labnet.errors import NotFound
from labnet.extensions import db, login_manager
from labnet.i18n import _, data_name
from labnet.models import Event, Lab, Project
from labnet.models.events import EVENT_KINDS
from labnet.services.catalogue.taxonomy import ket_names, ket_tree
from labnet.services.events import events as service
from labnet.services.events import listing
from labnet.services.events import projects as project_service
from labnet.services.geo.geocoding import EUROPEAN_COUNTRIES, country_name
from labnet.templating import event_url

LOGIN_ONLY = {"events.project_new", "events.project_edit", "events.project_add_partner",
              "events.project_remove_partner", "events.project_grant_manager",
              "events.project_revoke_manager", "events.create", "events.edit",
              "events.publish", "events.cancel", "events.add_organiser",
              "events.remove_organiser"}


@bp.before_request
def _logged_in():
    if request.endpoint in LOGIN_ONLY and not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def _actor():
    return current_user._get_current_object()


def _status(form: Any) -> int:
    return 422 if form.errors or form.form_errors else 200


def _ket_labels() -> dict[str, str]:
    """KET area names by code, in the reader's language (shipped data)."""
    return {code: data_name("ket_areas", code, name) for code, name in ket_names().items()}


def _ket_choices(form: Any) -> None:
    form.ket_codes.choices = choices((code, data_name("ket_areas", code, name))
                                     for code, name in ket_names().items())


def _event_url(event: Event) -> str:
    return url_for("events.show", slug=event.slug, _external=True)


# --- projects -------------------------------------------------------------------------------

@bp.get("/projects")
def projects_index():
    return render_template("projects/index.html", rows=project_service.list_projects(),
                           can_create=permissions.can_create_project(current_user),
                           ket_names=_ket_labels())


def _project_fields(form: ProjectForm) -> project_service.ProjectFields:
    return project_service.ProjectFields(
        name=form.name.data or "", acronym=form.acronym.data or "",
        programme=form.programme.data or "", starts_on=form.starts_on.data,
        ends_on=form.ends_on.data, website=form.website.data or "",
        description=form.description.data or "", ket_codes=tuple(form.ket_codes.data or ()),
        slug=form.slug.data or "")


@bp.route("/projects/new", methods=["GET", "POST"])
def project_new():
    permissions.require(permissions.can_create_project, current_user)
    form = ProjectForm()
    _ket_choices(form)
    if form.validate_on_submit():
        if created := commit_or_show(form, lambda: project_service.create_project(
                _actor(), _project_fields(form), now=clock.utcnow())):
            flash(_("The project was registered; you manage it. Add its partners next."),
                  "success")
            return redirect(url_for(".project_show", slug=created.value.slug))
    elif request.method == "POST":
        show_rule_refusals(form, lambda: project_service.create_project(
            _actor(), _project_fields(form), now=clock.utcnow()))
    return render_template("projects/edit.html", form=form, project=None,
                           ket_tree=ket_tree()), _status(form)


@bp.get("/projects/<slug>")
def project_show(slug: str):
    project = permissions.project_for(current_user, slug)
    page = project_service.project_page(project)
    manages = permissions.can_manage_project(current_user, project)
    partner_form = PartnerForm()
    partner_form.country.choices = choices([("", _("— choose —"))]) + country_choices()
    return render_template(
        "projects/show.html", page=page, project=project, manages=manages,
        points=project_service.partner_points(page), ket_names=_ket_labels(),
        partner_form=partner_form, manager_form=ManagerForm(), action_form=ActionForm())


@bp.route("/projects/<slug>/edit", methods=["GET", "POST"])
def project_edit(slug: str):
    project = project_service.load_project(
        permissions.managed_project_for(current_user, slug).id)
    if request.method == "POST":
        form = ProjectForm()
    else:
        form = ProjectForm(obj=project)
        form.ket_codes.data = _loaded_kets(project)
    _ket_choices(form)
    if form.validate_on_submit() and commit_or_show(form, lambda: (
            project_service.update_project(_actor(), project, _project_fields(form),
                                           now=clock.utcnow()))):
        flash(_("The project was saved."), "success")
        return redirect(url_for(".project_show", slug=project.slug))
    return render_template("projects/edit.html", form=form, project=project,
                           ket_tree=ket_tree()), _status(form)


def _loaded_kets(obj: Project | Event) -> list[str]:
    from sqlalchemy import select

    from labnet.models import EventKet, ProjectKet

    if isinstance(obj, Project):
        return list(db.session.scalars(select(ProjectKet.ket_code).where(
            ProjectKet.project_id == obj.id)))
    return list(db.session.scalars(select(EventKet.ket_code).where(EventKet.event_id == obj.id)))


def _project_post(slug: str, call: Any, *, done: str) -> Response:
    project = permissions.managed_project_for(current_user, slug)
    commit_or_flash(ActionForm(), lambda: call(project), done=done)
    return redirect(url_for(".project_show", slug=project.slug))


@bp.post("/projects/<slug>/partners")
def project_add_partner(slug: str):
    project = permissions.managed_project_for(current_user, slug)
    form = PartnerForm()
    form.country.choices = choices([("", _("— choose —"))]) + country_choices()
    if form.validate_on_submit() and commit_or_show(form, lambda: project_service.add_partner(
            _actor(), project, organisation=form.organisation.data or "",
            name=form.name.data or "", country=form.country.data or "",
            now=clock.utcnow())):
        flash(_("The partner was added."), "success")
        return redirect(url_for(".project_show", slug=project.slug) + "#partners")
    page = project_service.project_page(project)
    return render_template(
        "projects/show.html", page=page, project=project, manages=True,
        points=project_service.partner_points(page), ket_names=_ket_labels(),
        partner_form=form, manager_form=ManagerForm(formdata=None),
        action_form=ActionForm()), 422


@bp.post("/projects/<slug>/partners/<int:partner_id>/remove")
def project_remove_partner(slug: str, partner_id: int):
    return _project_post(slug, lambda p: project_service.remove_partner(
        _actor(), p, partner_id, now=clock.utcnow()), done=_("The partner was removed."))


@bp.post("/projects/<slug>/managers")
def project_grant_manager(slug: str):
    project = permissions.managed_project_for(current_user, slug)
    form = ManagerForm()
    if form.validate_on_submit() and commit_or_show(form, lambda: (
            project_service.grant_manager(_actor(), project, form.email.data or "",
                                          now=clock.utcnow()))):
        flash(_("The project-manager role was granted."), "success")
        return redirect(url_for(".project_show", slug=project.slug) + "#managers")
    page = project_service.project_page(project)
    partner_form = PartnerForm(formdata=None)
    partner_form.country.choices = choices([("", _("— choose —"))]) + country_choices()
    return render_template(
        "projects/show.html", page=page, project=project, manages=True,
        points=project_service.partner_points(page), ket_names=_ket_labels(),
        partner_form=partner_form, manager_form=form, action_form=ActionForm()), 422


@bp.post("/projects/<slug>/managers/<int:user_id>/remove")
def project_revoke_manager(slug: str, user_id: int):
    return _project_post(slug, lambda p: project_service.revoke_manager(
        _actor(), p, user_id, now=clock.utcnow()), done=_("The project-manager role was removed."))


# --- the common events page and its feeds ---------------------------------------------------

def _query() -> tuple[listing.EventQuery, dict[str, str]]:
    return listing.parse_query(request.args, known_kets=set(ket_names()))


def _ket_options() -> list[tuple[str, str]]:
    """KET areas, each followed by its sub-areas (an area's filter takes them too)."""
    options: list[tuple[str, str]] = []
    for area, subs in ket_tree():
        options.append((area.code, data_name("ket_areas", area.code, area.name)))
        options.extend((sub.code, f"— {data_name('ket_areas', sub.code, sub.name)}")
                       for sub in subs)
    return options


@bp.get("/events")
def index():
    query, errors = _query()
    now = clock.utcnow()
    context: dict[str, Any] = {"query": query, "errors": errors, "ket_names": ket_names(),
                               "kinds": EVENT_KINDS, "languages": service.language_names(),
                               "modes": listing.MODES, "ket_options": _ket_options(),
                               "country_options": sorted(
                                   ((c, country_name(c)) for c in EUROPEAN_COUNTRIES),
                                   key=lambda x: x[1]),
                               "organisers": listing.organiser_choices(
                                   now=now, selected=query.organiser)}
    if query.view == "calendar":
        context["grid"] = listing.month_grid(query, now=now)
    elif query.view == "map":
        context["points"], context["truncated"] = listing.map_points(
            query, now=now, event_url=event_url)
    else:
        context["page"] = listing.list_page(query, current_user, now=now)
    return render_template("events/index.html", **context), 422 if errors else 200


@bp.get("/events.ics")
def ical():
    query, _errors = _query()
    body = listing.ical_feed(query, now=clock.utcnow(), event_url=_event_url,
                             sessions=listing.sessions_of)
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = "inline; filename=labnet-events.ics"
    response.headers["Cache-Control"] = "public, max-age=300"
    response.vary.update(("Accept-Language", "Cookie"))  # written in the reader's language
    return response


@bp.get("/events.atom")
def atom():
    query, _errors = _query()
    args = query.filter_args()
    body = listing.atom_feed(query, now=clock.utcnow(),
                             feed_url=url_for(".atom", _external=True, **args),
                             page_url=url_for(".index", _external=True, **args),
                             event_url=_event_url)
    response = Response(body, mimetype="application/atom+xml")
    response.headers["Cache-Control"] = "public, max-age=300"
    response.vary.update(("Accept-Language", "Cookie"))  # written in the reader's language
    return response


# --- event pages ----------------------------------------------------------------------------

@bp.get("/events/<slug>")
def show(slug: str):
    event = service.load_event(permissions.event_for(current_user, slug).id)
    organisers = service.organisers_of([event.id], current_user)[event.id]
    edits = permissions.can_edit_event(current_user, event)
    url = url_for(".show", slug=event.slug, _external=True)
    jsonld = listing.event_jsonld(event, organisers, url=url,
                                  organiser_url=lambda o: url_for(
                                      {"lab": "catalogue.lab", "network": "networks.show",
                                       "project": "events.project_show"}[o.kind],
                                      slug=o.slug, _external=True))
    starts, ends = service.local_span(event)
    return render_template(
        "events/show.html", event=event, organisers=organisers, edits=edits, jsonld=jsonld,
        starts=starts, ends=ends, languages=service.language_names(),
        ket_names=_ket_labels(),
        sees_link=permissions.can_see_online_url(current_user, event),
        cancel_form=CancelForm(), action_form=ActionForm(),
        organiser_form=OrganiserForm(),
        my_organisers=service.editable_organisers(current_user) if edits else [])


def _event_choices(form: EventForm) -> None:
    form.kind.choices = choices([("", _("— choose —")), *EVENT_KINDS.items()])
    form.language.choices = choices(sorted(service.language_names().items(),
                                           key=lambda x: x[1]))
    form.timezone.choices = choices((z, z) for z in service.zone_choices())
    form.country.choices = choices([("", _("— online only —"))]) + country_choices()
    form.currency.choices = choices((c, c) for c in service.CURRENCIES)
    _ket_choices(form)


def _event_fields(form: EventForm) -> service.EventFields:
    return service.EventFields(
        kind=form.kind.data or "", title=form.title.data or "",
        description=form.description.data or "", language=form.language.data or "",
        timezone=form.timezone.data or "", sessions=form.sessions.data or "",
        address=form.address.data or "", city=form.city.data or "",
        country=form.country.data or "", latitude=form.latitude.data,
        longitude=form.longitude.data, online_url=form.online_url.data or "",
        capacity=form.capacity.data, registration_deadline=form.registration_deadline.data,
        price_sme=form.price_sme.data or None, price_standard=form.price_standard.data or None,
        currency=form.currency.data or "EUR", prerequisites=form.prerequisites.data or "",
        ket_codes=tuple(form.ket_codes.data or ()), questions=form.questions.data or "",
        offer_hours=form.offer_hours.data, meeting_slot_minutes=form.meeting_slot_minutes.data,
        meeting_day_start=form.meeting_day_start.data,
        meeting_day_end=form.meeting_day_end.data, slug=form.slug.data or "")


def _organiser_from_args() -> service.Organiser:
    spec = (request.args.get("organiser") or "").strip().lower()
    kind, _sep, slug = spec.partition(":")
    organiser = service.resolve_organiser(kind, slug)
    if organiser is None:
        raise NotFound(spec)
    if kind == "lab" and not permissions.can_view_lab(current_user, organiser):
        raise NotFound(spec)
    if kind == "network" and not permissions.can_view_network(current_user, organiser):
        raise NotFound(spec)
    permissions.require(permissions.can_organise_for, current_user, organiser)
    return organiser


@bp.route("/events/new", methods=["GET", "POST"])
def create():
    organiser = _organiser_from_args()
    form = EventForm()
    _event_choices(form)
    if request.method == "GET":
        form.timezone.data = getattr(organiser, "timezone", None) or "Europe/Brussels"
        form.language.data = "en"
        form.currency.data = "EUR"
        form.offer_hours.data = 48
        if isinstance(organiser, Lab):
            form.address.data, form.city.data = organiser.address, organiser.city
            form.country.data = organiser.country
    if form.validate_on_submit():
        if created := commit_or_show(form, lambda: service.create_event(
                _actor(), organiser, _event_fields(form), now=clock.utcnow())):
            flash(_("The event was saved as a draft. Publish it when it is ready."), "success")
            return redirect(url_for(".show", slug=created.value.slug))
    elif request.method == "POST":
        show_rule_refusals(form, lambda: service.create_event(
            _actor(), organiser, _event_fields(form), now=clock.utcnow()))
    return render_template("events/edit.html", form=form, event=None, organiser=organiser,
                           ket_tree=ket_tree(),
                           session_help=service.SESSION_HELP), _status(form)


@bp.route("/events/<slug>/edit", methods=["GET", "POST"])
def edit(slug: str):
    event = service.load_event(permissions.edited_event_for(current_user, slug).id)
    if request.method == "POST":
        form = EventForm()
    else:
        form = EventForm(obj=event)
        form.ket_codes.data = _loaded_kets(event)
        form.sessions.data = service.sessions_text(event)
        form.questions.data = service.questions_text(event)
        form.price_sme.data = _amount(event.price_sme_cents)
        form.price_standard.data = _amount(event.price_standard_cents)
        form.online_url.data = event.online_url or ""
        if event.registration_deadline is not None:
            form.registration_deadline.data = clock.to_zone(
                event.registration_deadline, event.timezone).replace(tzinfo=None)
        if event.coords_source != "manual":
            form.latitude.data = form.longitude.data = None
    _event_choices(form)
    if form.validate_on_submit():
        if commit_or_show(form, lambda: service.update_event(
                _actor(), event, _event_fields(form), now=clock.utcnow())):
            flash(_("The event was saved."), "success")
            return redirect(url_for(".show", slug=event.slug))
    elif request.method == "POST":
        show_rule_refusals(form, lambda: service.update_event(
            _actor(), event, _event_fields(form), now=clock.utcnow()))
    return render_template("events/edit.html", form=form, event=event, organiser=None,
                           ket_tree=ket_tree(),
                           session_help=service.SESSION_HELP), _status(form)


def _amount(cents: int | None) -> str:
    return "" if cents is None else f"{cents / 100:.2f}"


@bp.post("/events/<slug>/publish")
def publish(slug: str):
    event = permissions.edited_event_for(current_user, slug)
    commit_or_flash(ActionForm(), lambda: service.publish_event(_actor(), event,
                                                                now=clock.utcnow()),
                    done=_("The event is published."))
    return redirect(url_for(".show", slug=slug))


@bp.post("/events/<slug>/cancel")
def cancel(slug: str):
    event = permissions.edited_event_for(current_user, slug)
    form = CancelForm()
    commit_or_flash(form, lambda: service.cancel_event(_actor(), event, form.reason.data or "",
                                                       now=clock.utcnow()),
                    done=_("The event is cancelled; the registered people are told."))
    return redirect(url_for(".show", slug=slug))


@bp.post("/events/<slug>/organisers")
def add_organiser(slug: str):
    event = permissions.edited_event_for(current_user, slug)
    form = OrganiserForm()
    kind, _sep, ref = (form.organiser.data or "").strip().lower().partition(":")
    commit_or_flash(form, lambda: service.add_organiser(_actor(), event, kind, ref,
                                                        now=clock.utcnow()),
                    done=_("The co-organiser was added."))
    return redirect(url_for(".show", slug=slug) + "#organisers")


@bp.post("/events/<slug>/organisers/<row_id>/remove")
def remove_organiser(slug: str, row_id: str):
    event = permissions.edited_event_for(current_user, slug)
    organiser_id = parse_id(row_id)
    if organiser_id is None:
        raise NotFound(row_id)
    commit_or_flash(ActionForm(), lambda: service.remove_organiser(
        _actor(), event, organiser_id, now=clock.utcnow()), done=_("The organiser was removed."))
    return redirect(url_for(".show", slug=slug) + "#organisers")
