"""Projects and events: the project registry and pages, the common
``/events`` page (list, calendar, map, iCalendar and Atom feeds), event pages, and the
organisers' pages (create, edit, publish, cancel, co-organisers)."""

from flask import Blueprint

bp = Blueprint("events", __name__)


from labnet.blueprints.events import routes  # noqa: E402, F401
