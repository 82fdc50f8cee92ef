"""Projects and events: the project registry and pages, the common
``/events`` page (list, calendar, map, iCalendar and Atom feeds), event pages, and the
organisers' pages (create, edit, publish, cancel, co-organisers)."""

from flask import Blueprint

bp = Blueprint("events", __name__)


@bp.app_template_filter("local_label")
def _local_label(at, fmt: str, zone: str | None = None) -> str:
    """Days and moments on event pages in the reader's language (``listing.local_label``)."""
    from labnet.services.events.listing import local_label

    return local_label(at, fmt, zone)


from labnet.blueprints.events import routes  # noqa: E402, F401
