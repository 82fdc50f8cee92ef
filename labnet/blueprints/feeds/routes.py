"""Calendar feeds: the secret ``.ics`` URLs and the account page that shows them.

``/feeds/<token>.ics`` needs no login (calendar clients cannot log in): the token is the
credential, and an unknown, revoked or no-longer-entitled token answers 404. The account
pages (``/account/calendar``) are for logged-in users; every rule is in
``services.booking.calendars``.
"""

from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from labnet import clock
from labnet.blueprints.feeds import bp
from labnet.converters import parse_id
from labnet.errors import NotFound
from labnet.extensions import db
from labnet.i18n import _
from labnet.services.booking import calendars


@bp.get("/feeds/<token>.ics")
def feed(token: str):
    found = calendars.feed_for_token(token)
    if found is None:
        abort(404)
    body = calendars.build_calendar(found, now=clock.utcnow())
    db.session.rollback()  # read only
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = "inline; filename=labnet.ics"
    # A secret URL: keep it out of shared caches and referrers.
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/account/calendar")
@login_required
def calendar():
    links = calendars.ensure_feeds(current_user, secret=current_app.config["SECRET_KEY"],
                                   now=clock.utcnow())
    db.session.commit()  # feeds made on the first visit
    return render_template("feeds/calendar.html", links=links)


@bp.post("/account/calendar/regenerate")
@login_required
def regenerate():
    feed_id = parse_id(request.form.get("feed"))
    if feed_id is None:
        raise NotFound("feed")
    calendars.regenerate_feed(current_user, feed_id, secret=current_app.config["SECRET_KEY"],
                              now=clock.utcnow())
    db.session.commit()
    flash(_("New calendar address made; the old one no longer works."), "success")
    return redirect(url_for("feeds.calendar"))
