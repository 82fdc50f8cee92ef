"""The audit trail: every state-changing service records who did what, when (DESIGN,
"Notification and audit"). Written in the caller's transaction, so a rolled-back change
leaves no audit row either."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

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


def list_history(subject_type: str, subject_id: int) -> list[tuple[AuditEvent, str | None]]:
    """The audit trail of one subject, oldest first: (event, the actor's full name; None
    for the system or a deleted account: the join is an outer one)."""
    return list(db.session.execute(
        select(AuditEvent, User.full_name).outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id)
        .order_by(AuditEvent.at, AuditEvent.id)
    ).tuples().all())
