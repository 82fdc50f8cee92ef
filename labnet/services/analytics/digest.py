"""The coordinators' weekly digest (job ``coordinator-digest``): once a week, after Monday
07:00 UTC, every active coordinator gets the previous week's dashboard by e-mail, linking to
the page (DESIGN rule 8); the state row makes a second run that week send nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask_babel import format_date
from sqlalchemy import (
    select,
)

from labnet.extensions import db
from labnet.i18n import LazyText, _, _l, force_locale, language_of
from labnet.links import external_url
from labnet.models import (
    ActivitySummaryState,
    Role,
    User,
    UserRole,
)
from labnet.services.analytics.dashboard import build
from labnet.services.analytics.figures import display
from labnet.services.analytics.filters import Filters
from labnet.services.analytics.summary import _serialise_summary_writers
from labnet.services.notifications.outbox import enqueue_email

DIGEST_JOB = "coordinator-digest"
DIGEST_WEEKDAY = 0  # Monday
DIGEST_HOUR_UTC = 7


def digest_cutoff(now: datetime) -> datetime:
    """The latest Monday 07:00 UTC at or before ``now``."""
    now = now.astimezone(UTC)
    monday = now.date() - timedelta(days=(now.weekday() - DIGEST_WEEKDAY) % 7)
    cutoff = datetime.combine(monday, time(DIGEST_HOUR_UTC), tzinfo=UTC)
    return cutoff if cutoff <= now else cutoff - timedelta(days=7)


def _digest_subject(start: Any, end: Any) -> str:
    """The digest's subject in the language being written (read inside the recipient's)."""
    return _("LabNet weekly: demand and supply, %(start)s – %(end)s",
             start=format_date(start, "dd MMM"), end=format_date(end, "dd MMM yyyy"))


def send_coordinator_digest(*, now: datetime) -> dict[str, Any]:
    """Once a week (first run after Monday 07:00 UTC): every active coordinator gets the
    previous week's figures (Monday to Sunday), plain text and HTML. Flushes only."""

    cutoff = digest_cutoff(now)
    _serialise_summary_writers()
    state = db.session.get(ActivitySummaryState, DIGEST_JOB, with_for_update=True)
    if state is not None and state.until is not None and state.until >= cutoff:
        return {"sent": 0, "week": None}
    end = cutoff.date() - timedelta(days=1)
    f = Filters(start=end - timedelta(days=6), end=end)
    recipients = list(db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.COORDINATOR, User.is_active.is_(True))
        .order_by(User.email)))
    link = external_url("dashboard.index",
                        **{"from": f.start.isoformat(), "to": f.end.isoformat()})
    # The tables' titles and headers are text: one board per language of the recipients.
    boards: dict[str, Any] = {}
    for user in recipients:
        language = language_of(user)
        if language not in boards:
            with force_locale(language):
                boards[language] = build(f, now=now)
    subject = LazyText(_digest_subject, f.start, f.end)
    for user in recipients:
        enqueue_email("coordinator_digest", user.email, subject,
                      {"name": user.full_name, "board": boards[language_of(user)],
                       "link": link, "display": display},
                      now=now, why=_l("You receive this weekly summary because you "
                                      "coordinate networks on LabNet."))
    if state is None:
        state = ActivitySummaryState(name=DIGEST_JOB)
        db.session.add(state)
    state.until = cutoff
    state.updated_at = now
    db.session.flush()
    return {"sent": len(recipients), "week": f.start.isoformat()}
