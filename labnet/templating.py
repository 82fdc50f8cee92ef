"""Jinja filters, globals and context: every template helper is registered here, once.

The navigation's flags and badge counts are read in one query, at most once per request
(:func:`_nav_counts` keeps the answer in ``g``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Flask, current_app, g, url_for
from flask_login import current_user

from labnet import clock, permissions
from labnet.i18n import (  # money, localtime: the filters, kept with the formats
    LANGUAGES,
    TEMPLATE_GETTEXT,
    current_language,
    data_name,
    lazy_gettext,
    localtime,
    money,
    number,
)
from labnet.links import external_url, secret_text, secret_url
from labnet.models.booking import RATE_KIND_LABELS
from labnet.services.accounts.navigation import nav_counts
from labnet.services.booking.engine import count_pending_for_manager, reason_text
from labnet.services.catalogue.labs.creation import count_proposals_to_decide
from labnet.services.catalogue.labs.reach import Reach, reach_of
from labnet.services.catalogue.labs.team import is_managed, managed_lab_ids
from labnet.services.catalogue.labs.watch import is_watching
from labnet.services.events.listing import events_of
from labnet.services.geo.geocoding import country_names
from labnet.services.geo.geocoding import local_country_name as country_name
from labnet.services.networks.rules import list_network_choices, networks_of_lab
from labnet.services.training.registration import registration_box


def _actor() -> Any:
    return current_user._get_current_object()


def _nav_user() -> Any:
    return current_user if current_user and current_user.is_authenticated else None


def _nav_counts() -> Any:
    if "nav_counts" not in g:
        user = _nav_user()
        g.nav_counts = nav_counts(user._get_current_object() if user is not None else None)
    return g.nav_counts


def network_invitation_count() -> int:
    """Open invitations for the labs the current user manages (the nav badge)."""
    return _nav_counts().invitations


def request_inbox_count() -> int:
    """Requests waiting for an answer from the current user's labs (the nav badge)."""
    return _nav_counts().inbox


def pending_booking_count() -> int:
    """Bookings waiting for the current user's decision (the home page badge; one query)."""
    return count_pending_for_manager(_actor()) if _nav_user() is not None else 0


def filter_networks() -> list[tuple[str, str]]:
    """(slug, name) of the networks the current user may see: the catalogue filter."""
    return list_network_choices(_actor())


def lab_networks(lab_id: int) -> list[tuple[Any, str]]:
    """The networks (and stage) a lab belongs to that the current user may see."""
    return networks_of_lab(_actor(), lab_id)


def lab_is_managed(lab_id: int) -> bool:
    """Whether the lab has an active manager (DESIGN rule 8: only then does it take
    bookings, and only then does anyone on LabNet receive what is sent to it). Asked once
    per lab and request: the claim box and the booking notice of one page share it."""
    known = g.setdefault("labnet_lab_managed", {})
    if lab_id not in known:
        known[lab_id] = is_managed(lab_id)
    return bool(known[lab_id])


def lab_reach(lab: Any) -> Reach:
    """Who would receive what is sent to the lab (services.catalogue.labs.reach)."""
    return reach_of([lab])[lab.id]


def managed_among(labs: Any) -> set[int]:
    """The ids of those ``labs`` that have an active manager (one query for a page)."""
    return managed_lab_ids(lab.id for lab in labs)


def watching_lab(lab_id: int) -> bool:
    """Whether the current user asked to hear when the lab gets a manager."""
    user = _nav_user()
    return is_watching(user._get_current_object(), lab_id) if user is not None else False
def lab_proposals_waiting() -> int:
    """Lab proposals the current user decides (the link on "My labs"; one query)."""
    return count_proposals_to_decide(_actor()) if _nav_user() is not None else 0


def organiser_events(kind: str, organiser_id: int) -> list[Any]:
    """Upcoming events a lab, network or project (co-)organises, for its page: published
    ones, and the drafts too for those who organise in its name."""
    actor = _actor()
    runs = {"lab": permissions.manages_lab, "network": permissions.coordinates_network,
            "project": permissions.manages_project}[kind]
    drafts = permissions.is_admin(actor) or runs(actor, organiser_id)
    return events_of(kind, organiser_id, actor, now=clock.utcnow(), include_drafts=drafts)


def _slug_url(endpoint: str, slug: str) -> str:
    # Building a URL costs a walk of the URL map; a list of 50 events links ~100 pages of
    # a handful of kinds, so each kind's address is built once per request and filled in.
    templates = g.setdefault("labnet_slug_urls", {})
    if endpoint not in templates:
        templates[endpoint] = url_for(endpoint, slug="SLUG-PLACEHOLDER")
    return str(templates[endpoint]).replace("SLUG-PLACEHOLDER", quote(slug, safe=""))


def event_organiser_url(organiser: Any) -> str:
    """The page of an event's organiser (a lab, network or project)."""
    endpoint = {"lab": "catalogue.lab", "network": "networks.show",
                "project": "events.project_show"}[organiser.kind]
    return _slug_url(endpoint, organiser.slug)


def event_registration(event: Any) -> Any:
    """The registration block of an event's page for the current user."""
    return registration_box(_actor(), event, now=clock.utcnow())


def event_url(slug: str) -> str:
    """An event's page."""
    return _slug_url("events.show", slug)


def accreditation_badges(lab_ids: list[int]) -> dict[int, list[tuple[str, str | None]]]:
    """The currently valid accreditations of these labs (one query): badges on cards and
    lab pages."""
    from labnet.services.accreditation.validity import badges_by_lab

    return badges_by_lab(list(lab_ids), clock.utcnow())


def map_tiles() -> dict[str, str]:
    """Tile settings for the map macros and pages (config TILE_URL, TILE_ATTRIBUTION)."""
    return {"url": current_app.config.get("TILE_URL") or "",
            "attribution": current_app.config.get("TILE_ATTRIBUTION") or ""}


class _NavManages:
    """``nav_manages`` in the templates: true for admins and lab managers, asked only when a
    template tests it."""

    def __bool__(self) -> bool:
        return _nav_counts().manages


def plural_samples() -> dict[str, int]:
    """A whole number of each CLDR plural category of the current language (``one``: 1,
    ``few``: 2 …), so a page can hand a script each plural form of a text; the script picks
    one with ``Intl.PluralRules`` (static/js/map.js)."""
    from labnet.i18n import locale_object

    locale = locale_object()
    samples: dict[str, int] = {}
    for n in range(0, 200):
        samples.setdefault(locale.plural_form(n), n)
    return samples


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.do")
    app.add_template_filter(country_name, "country_name")
    app.add_template_filter(money, "money")
    app.add_template_filter(localtime, "localtime")
    app.add_template_filter(number, "number")
    app.jinja_env.globals.update(
        permissions=permissions, country_names=country_names,
        network_invitation_count=network_invitation_count,
        request_inbox_count=request_inbox_count, pending_booking_count=pending_booking_count,
        filter_networks=filter_networks, lab_networks=lab_networks, map_tiles=map_tiles,
        lab_is_managed=lab_is_managed, watching_lab=watching_lab, lab_reach=lab_reach,
        managed_among=managed_among, plural_samples=plural_samples,
        lab_proposals_waiting=lab_proposals_waiting, organiser_events=organiser_events,
        event_organiser_url=event_organiser_url, event_url=event_url,
        event_registration=event_registration, accreditation_badges=accreditation_badges,
        external_url=external_url, secret_url=secret_url, secret_text=secret_text,
        rate_kinds=RATE_KIND_LABELS,
        # Languages (labnet.i18n): the header's switcher, data names, lazy texts.
        languages=LANGUAGES, current_language=current_language, data_name=data_name,
        reason_text=reason_text,  # a booking's stored reason, LabNet's own ones translated
        _l=lazy_gettext)
    # ``_``, ``gettext``, ``ngettext``…: the same texts, formatting and escaping as the
    # newstyle callables Flask-Babel installed (labnet.i18n), without its look-ups per call.
    if not getattr(app.jinja_env, "newstyle_gettext", False):
        raise RuntimeError("Flask-Babel no longer installs newstyle gettext callables")
    app.jinja_env.globals.update(TEMPLATE_GETTEXT)

    @app.context_processor
    def _nav():
        return {"nav_user": _nav_user(), "nav_manages": _NavManages()}
