"""The explicit list of blueprints: the URL map is readable here, in one place."""

from __future__ import annotations

from flask import Flask

from labnet.blueprints.accreditations import bp as accreditations
from labnet.blueprints.admin import bp as admin
from labnet.blueprints.api import bp as api
from labnet.blueprints.api import tokens_bp as api_tokens
from labnet.blueprints.auth import bp as auth
from labnet.blueprints.bookings import bp as bookings
from labnet.blueprints.catalogue import bp as catalogue
from labnet.blueprints.dashboard import bp as dashboard
from labnet.blueprints.events import bp as events
from labnet.blueprints.feeds import bp as feeds
from labnet.blueprints.lab_bookings import bp as lab_bookings
from labnet.blueprints.lab_bookings import mail_bp as mail_settings
from labnet.blueprints.lab_create import bp as lab_create
from labnet.blueprints.label import bp as label
from labnet.blueprints.main import bp as main
from labnet.blueprints.manage import bp as manage
from labnet.blueprints.maps import bp as maps
from labnet.blueprints.meetings import bp as meetings
from labnet.blueprints.networks import bp as networks
from labnet.blueprints.open_data import bp as open_data
from labnet.blueprints.ops import bp as ops
from labnet.blueprints.requests import bp as requests
from labnet.blueprints.team import bp as team
from labnet.blueprints.training import bp as training


def register_blueprints(app: Flask) -> None:
    app.register_blueprint(main)  # /, /health
    app.register_blueprint(ops)  # /ready, /metrics; request ids, latency, JSON access log
    app.register_blueprint(auth)  # /login, /logout, /register, /account/…
    app.register_blueprint(catalogue)  # /labs, /labs/<slug>, /equipment/<id>
    app.register_blueprint(maps)  # /map, /map/labs.geojson, /map/export.html, /vendor/…
    app.register_blueprint(admin, url_prefix="/admin")  # users, roles, outbox
    app.register_blueprint(manage, url_prefix="/manage")  # lab managers: labs, hours, equipment
    app.register_blueprint(bookings)  # /equipment/<id>/book, availability.json, /bookings/…
    app.register_blueprint(lab_bookings, url_prefix="/manage/bookings")  # queue, blackouts
    app.register_blueprint(mail_settings)  # /account/notifications (e-mail preference)
    app.register_blueprint(feeds)  # /feeds/<token>.ics, /account/calendar
    app.register_blueprint(dashboard)  # /dashboard, /dashboard/<section>.csv
    app.register_blueprint(networks)  # /networks, /networks/<slug>, gaps, invitations
    app.register_blueprint(requests)  # /requests, /requests/new, /requests/inbox, /requests/<ref>
    app.register_blueprint(team)  # /labs/<slug>/claim, /claims, /manage/labs/<slug>/managers
    app.register_blueprint(label)  # /label, /label/queue, /label/labs/<slug>, applications
    app.register_blueprint(api)  # /api/v1/…, /api/docs
    app.register_blueprint(api_tokens)  # /account/tokens
    app.register_blueprint(open_data)  # /open-data, its files and catalog.jsonld
    app.register_blueprint(events)  # /events, /events.ics, /events.atom, /events/<slug>, /projects
    # /events/<slug>/register, /registrations/…, /account/training, organisers' lists,
    # check-in, /certificates/<code>, /manage/…/qualifications
    app.register_blueprint(training)
    app.register_blueprint(meetings)  # /events/<slug>/meet: profiles, meetings, schedule
    app.register_blueprint(lab_create)  # /manage/propose, proposals, new-lab, /admin/labs, …
    app.register_blueprint(accreditations)  # /accreditations (+ queue, claims), /verify/<code>
