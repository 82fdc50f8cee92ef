"""The audit trail: every state-changing service records who did what, when (DESIGN,
"Notification and audit"). Written in the caller's transaction, so a rolled-back change
leaves no audit row either."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from labnet.extensions import db
from labnet.models import AuditEvent, User


def record(
    actor: User | None,
    action: str,
    subject_type: str,
    subject_id: int | None,
    *,
    now: datetime,
    **data: Any,
) -> AuditEvent:
    """Add one audit event to the session (flushed with the caller's write)."""
    event = AuditEvent(
        at=now,
        actor_id=actor.id if actor is not None else None,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        data=data,
    )
    db.session.add(event)
    return event
