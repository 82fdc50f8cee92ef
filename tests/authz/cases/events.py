"""Matrix entries for projects and events (``events.*``, issue 15 §1-2).

``seed`` gives the matrix lab (managed by ``manager``) a draft event ``mx-ev-draft`` and a
published one ``mx-ev-pub`` with an online link; ``member`` registers the project
``mx-project`` (so manages it; ``colleague`` is its second manager) with one partner; the
published event ``mx-ev-joint`` is organised by the matrix lab and the project. Rules:
everyone sees projects and published events; a draft is seen by its organisers and admins
only (404 for everyone else); an event is changed by the managers of its organisers and
admins (403 for everyone else); a project by its managers and admins; the online link is
shown to the organisers only (here: no registrations). Visitors are sent to log in.
"""

from __future__ import annotations

from datetime import date, time

from labnet import clock
from labnet.extensions import db
from labnet.models import Lab, Organisation, User
from labnet.services.events import events as ev
from labnet.services.events import projects as pj
from tests.authz.cases.base import ACTORS, ALL_OK, LOGGED_IN, Case, only


def _session(day: int) -> tuple[ev.SessionFields, ...]:
    return (ev.SessionFields(date(2030, 5, day), time(9), time(17)),)


def seed(app, p) -> None:
    with app.test_request_context():
        now = clock.utcnow()
        manager = db.session.get(User, p.manager.id)
        member = db.session.get(User, p.member.id)
        lab = db.session.get(Lab, p.lab.id)
        fields = ev.EventFields(kind="workshop", title="Matrix draft event", city="Aachen",
                                country="DE", sessions=_session(6), timezone="Europe/Berlin",
                                slug="mx-ev-draft")
        ev.create_event(manager, lab, fields, now=now)
        published = ev.create_event(manager, lab, ev.EventFields(
            kind="webinar", title="Matrix published event", sessions=_session(7),
            online_url="https://meet.example/matrix-secret", slug="mx-ev-pub"), now=now)
        ev.publish_event(manager, published, now=now)
        project = pj.create_project(member, pj.ProjectFields(name="Matrix Project",
                                                             slug="mx-project"), now=now)
        other_org = db.session.get(Organisation, p.other_lab.organisation_id)
        partner = pj.add_partner(member, project, organisation=other_org.slug, now=now)
        pj.grant_manager(member, project, p.colleague.email, now=now)
        joint = ev.create_event(manager, lab, ev.EventFields(
            kind="conference", title="Matrix joint event", city="Aachen", country="DE",
            sessions=_session(8), timezone="Europe/Berlin", slug="mx-ev-joint"), now=now)
        ev.publish_event(manager, joint, now=now)
        row = ev.add_organiser(db.session.get(User, p.admin.id), joint, "project",
                               "mx-project", now=now)
        db.session.commit()
        p.ev_partner_id, p.ev_joint_row = partner.id, row.id


LAB_EDITORS = ("manager", "admin")
JOINT_EDITORS = ("manager", "member", "admin")
PROJECT_MANAGERS = ("member", "admin")


def edit(allowed: tuple[str, ...], ok: int, *, hidden: bool = False) -> dict[str, int]:
    """``ok`` for ``allowed``; 404 (a draft) or 403 for the other logged-in users; visitors
    are sent to log in."""
    return only(allowed, ok, 404 if hidden else 403, anonymous=302)


EVENT_FORM = {"kind": "workshop", "title": "Matrix new event", "language": "en",
              "timezone": "Europe/Berlin", "sessions": "2030-06-01 09:00-12:00",
              "city": "Aachen", "country": "DE", "currency": "EUR", "offer_hours": "48"}
PROJECT_FORM = {"name": "Matrix new project", "acronym": "", "programme": "Horizon Europe"}


def _ev(slug: str, rest: str = "") -> str:
    return f"/events/{slug}{rest}"


def _pj(rest: str = "") -> str:
    return f"/projects/mx-project{rest}"


CASES = [
    # --- the common page and its feeds: published events only --------------------------
    Case("events.index", "GET", lambda p: "/events", ALL_OK,
         shows=lambda p: "Matrix published event", seers=ACTORS),
    Case("events.index", "GET", lambda p: "/events?view=calendar&month=2030-05", ALL_OK,
         name="calendar", shows=lambda p: "Matrix draft event", seers=()),
    Case("events.index", "GET", lambda p: "/events?view=map", ALL_OK, name="map"),
    Case("events.ical", "GET", lambda p: "/events.ics", ALL_OK,
         shows=lambda p: "matrix-secret", seers=()),
    Case("events.atom", "GET", lambda p: "/events.atom", ALL_OK,
         shows=lambda p: "Matrix draft event", seers=()),
    # --- event pages --------------------------------------------------------------------
    Case("events.show", "GET", lambda p: _ev("mx-ev-pub"), ALL_OK, name="published",
         shows=lambda p: "meet.example/matrix-secret", seers=LAB_EDITORS),
    Case("events.show", "GET", lambda p: _ev("mx-ev-draft"),
         only(LAB_EDITORS, 200, 404), name="draft",
         shows=lambda p: "Matrix draft event", seers=LAB_EDITORS),
    Case("events.show", "GET", lambda p: _ev("no-such-event"), dict.fromkeys(ACTORS, 404),
         name="missing"),
    Case("events.create", "GET", lambda p: f"/events/new?organiser=lab:{p.lab.slug}",
         edit(LAB_EDITORS, 200)),
    Case("events.create", "GET", lambda p: "/events/new?organiser=project:mx-project",
         edit(PROJECT_MANAGERS, 200), name="project"),
    Case("events.create", "GET", lambda p: "/events/new?organiser=lab:no-such-lab",
         only((), 200, 404, anonymous=302), name="missing"),
    Case("events.create", "POST", lambda p: f"/events/new?organiser=lab:{p.lab.slug}",
         edit(LAB_EDITORS, 302), data=lambda p: EVENT_FORM),
    Case("events.create", "POST", lambda p: f"/events/new?organiser=lab:{p.lab.slug}",
         edit(LAB_EDITORS, 422), data=lambda p: {**EVENT_FORM, "sessions": "soon"},
         name="invalid"),
    Case("events.edit", "GET", lambda p: _ev("mx-ev-pub", "/edit"), edit(LAB_EDITORS, 200)),
    Case("events.edit", "GET", lambda p: _ev("mx-ev-draft", "/edit"),
         edit(LAB_EDITORS, 200, hidden=True), name="draft"),
    Case("events.edit", "POST", lambda p: _ev("mx-ev-pub", "/edit"), edit(LAB_EDITORS, 302),
         data=lambda p: {**EVENT_FORM, "title": "Matrix published event", "city": "",
                         "country": "", "online_url": "https://meet.example/matrix-secret"}),
    Case("events.edit", "POST", lambda p: _ev("mx-ev-joint", "/edit"),
         edit(JOINT_EDITORS, 422), data=lambda p: {**EVENT_FORM, "title": ""},
         name="joint-invalid"),
    Case("events.publish", "POST", lambda p: _ev("mx-ev-draft", "/publish"),
         edit(LAB_EDITORS, 302, hidden=True)),
    Case("events.cancel", "POST", lambda p: _ev("mx-ev-pub", "/cancel"),
         edit(LAB_EDITORS, 302), data=lambda p: {"reason": "Speaker ill."}),
    Case("events.add_organiser", "POST", lambda p: _ev("mx-ev-pub", "/organisers"),
         edit(LAB_EDITORS, 302), data=lambda p: {"organiser": "project:mx-project"}),
    Case("events.remove_organiser", "POST",
         lambda p: _ev("mx-ev-joint", f"/organisers/{p.ev_joint_row}/remove"),
         edit(JOINT_EDITORS, 302)),
    Case("events.remove_organiser", "POST",
         lambda p: _ev("mx-ev-joint", "/organisers/abc/remove"),
         edit(JOINT_EDITORS, 404), name="bad-id"),
    # --- projects -----------------------------------------------------------------------
    Case("events.projects_index", "GET", lambda p: "/projects", ALL_OK,
         shows=lambda p: "Matrix Project", seers=ACTORS),
    Case("events.project_show", "GET", lambda p: _pj(), ALL_OK,
         shows=lambda p: "Matrix joint event", seers=ACTORS),
    Case("events.project_show", "GET", lambda p: "/projects/no-such-project",
         dict.fromkeys(ACTORS, 404), name="missing"),
    Case("events.project_new", "GET", lambda p: "/projects/new", LOGGED_IN),
    Case("events.project_new", "POST", lambda p: "/projects/new",
         {a: 302 for a in ACTORS}, data=lambda p: PROJECT_FORM),
    Case("events.project_new", "POST", lambda p: "/projects/new",
         {a: (302 if a == "anonymous" else 422) for a in ACTORS},
         data=lambda p: {**PROJECT_FORM, "website": "javascript:alert(1)"}, name="invalid"),
    Case("events.project_edit", "GET", lambda p: _pj("/edit"), edit(PROJECT_MANAGERS, 200)),
    Case("events.project_edit", "POST", lambda p: _pj("/edit"), edit(PROJECT_MANAGERS, 302),
         data=lambda p: {"name": "Matrix Project", "slug": "mx-project"}),
    Case("events.project_add_partner", "POST", lambda p: _pj("/partners"),
         edit(PROJECT_MANAGERS, 302), data=lambda p: {"name": "Uni Example", "country": "IT"}),
    Case("events.project_add_partner", "POST", lambda p: _pj("/partners"),
         edit(PROJECT_MANAGERS, 422), data=lambda p: {"name": "Uni Example", "country": ""},
         name="invalid"),
    Case("events.project_remove_partner", "POST",
         lambda p: _pj(f"/partners/{p.ev_partner_id}/remove"), edit(PROJECT_MANAGERS, 302)),
    Case("events.project_grant_manager", "POST", lambda p: _pj("/managers"),
         edit(PROJECT_MANAGERS, 302), data=lambda p: {"email": p.outsider.email}),
    Case("events.project_revoke_manager", "POST",
         lambda p: _pj(f"/managers/{p.colleague.id}/remove"), edit(PROJECT_MANAGERS, 302)),
]
