"""E-mail: an outbox row written in the caller's transaction, delivered after commit.

Rule 7 (nothing a user typed is markup): the HTML body is rendered with autoescaping,
the text body as plain text. Delivery goes through SMTP when ``MAIL_SERVER`` is set;
otherwise the message is written to the log (console) and kept with status ``logged``, so
the links in it can still be followed from the admin outbox page.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from flask import render_template
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from labnet.extensions import db
from labnet.models import OutboxEmail, OutboxStatus, User

log = logging.getLogger("labnet.mail")

MAX_ATTEMPTS = 5
# Session.info key under which the ids written in this transaction wait for delivery.
PENDING_KEY = "labnet_outbox_pending"


def enqueue_email(
    kind: str, to_addr: str, subject: str, context: Mapping[str, Any], *, now: datetime,
    action_required: bool = False,
) -> OutboxEmail:
    """Render ``email/<kind>.txt`` and ``.html`` and queue the message.

    Nothing is sent before the caller commits; the boundary then calls
    :func:`deliver_outbox` for the ids remembered here. A recipient who chose the daily
    digest (``User.mail_mode == "digest"``) gets the row ``held`` for the digest job
    instead, unless ``action_required`` (a manager must approve or reject): those always
    go at once.
    """
    held = not action_required and _wants_digest(to_addr)
    ctx = dict(context, subject=subject)
    row = OutboxEmail(
        created_at=now,
        kind=kind,
        to_addr=to_addr,
        subject=subject[:200],
        body_text=render_template(f"email/{kind}.txt", **ctx),
        body_html=render_template(f"email/{kind}.html", **ctx),
        status=OutboxStatus.HELD if held else OutboxStatus.QUEUED,
    )
    db.session.add(row)
    db.session.flush()
    if not held:
        db.session.info.setdefault(PENDING_KEY, set()).add(row.id)
    return row


def _wants_digest(to_addr: str) -> bool:
    # Addresses are stored lower-case; an address that is no user's (a lab's contact
    # address, a typo) gets its mail at once.
    mode = db.session.scalar(select(User.mail_mode).where(User.email == to_addr.lower()))
    return mode == "digest"


def deliver_outbox(
    config: Mapping[str, Any], *, now: datetime, ids: Iterable[int] | None = None, limit: int = 200,
    created_before: datetime | None = None,
) -> int:
    """Deliver queued messages (all, or only ``ids``); returns how many left the queue.

    Each message's status is updated and must be committed by the caller. An SMTP error
    leaves the message queued for the next run, up to ``MAX_ATTEMPTS``.
    """
    stmt = select(OutboxEmail).where(OutboxEmail.status == OutboxStatus.QUEUED)
    if created_before is not None:
        stmt = stmt.where(OutboxEmail.created_at < created_before)
    if ids is not None:
        ids = list(ids)
        if not ids:
            return 0
        stmt = stmt.where(OutboxEmail.id.in_(ids))
    rows = db.session.scalars(stmt.order_by(OutboxEmail.id).limit(limit)).all()
    if not rows:
        return 0
    done = 0
    if not config.get("MAIL_SERVER"):
        for row in rows:
            log.info(
                "E-mail (no SMTP server configured; kept in the outbox)\nTo: %s\nSubject: %s\n\n%s",
                row.to_addr,
                row.subject,
                row.body_text,
            )
            row.status = OutboxStatus.LOGGED
            row.sent_at = now
            done += 1
        return done
    try:
        smtp = _connect(config)
    except (OSError, smtplib.SMTPException) as exc:
        for row in rows:
            _failed(row, exc)
        return 0
    with smtp:
        for row in rows:
            try:
                smtp.send_message(_message(row, config))
            except smtplib.SMTPException as exc:
                _failed(row, exc)
                continue
            row.status = OutboxStatus.SENT
            row.sent_at = now
            row.attempts += 1
            done += 1
    return done


def _failed(row: OutboxEmail, exc: Exception) -> None:
    row.attempts += 1
    row.last_error = str(exc)[:500]
    if row.attempts >= MAX_ATTEMPTS:
        row.status = OutboxStatus.FAILED
    log.warning("E-mail %s to %s not delivered: %s", row.id, row.to_addr, exc)


def _connect(config: Mapping[str, Any]) -> smtplib.SMTP:
    host, port = config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 25)
    timeout = float(config.get("MAIL_TIMEOUT") or 10)
    if config.get("MAIL_USE_SSL"):
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
        if config.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
    if config.get("MAIL_USERNAME"):
        smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    return smtp


def _message(row: OutboxEmail, config: Mapping[str, Any]) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = row.subject
    msg["From"] = config.get("MAIL_SENDER") or "no-reply@labnet.example"
    msg["To"] = row.to_addr
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="labnet.example")
    msg.set_content(row.body_text)
    msg.add_alternative(row.body_html, subtype="html")
    return msg


# Only ids whose transaction committed are delivered: a flushed row of a transaction that
# later rolls back must never be sent, and must not be committed by the delivery step.
COMMITTED_KEY = "labnet_outbox_committed"


@event.listens_for(Session, "after_commit")
def _outbox_committed(session: Session) -> None:
    pending = session.info.pop(PENDING_KEY, None)
    if pending:
        session.info.setdefault(COMMITTED_KEY, set()).update(pending)


@event.listens_for(Session, "after_soft_rollback")
def _outbox_rolled_back(session: Session, _previous: object) -> None:
    session.info.pop(PENDING_KEY, None)


def deliver_committed(config: Mapping[str, Any], *, now: datetime) -> int:
    """Deliver the messages committed in this session since the last call, and commit
    their new status. Called by the boundary after its one commit."""
    ids = db.session.info.pop(COMMITTED_KEY, None)
    if not ids:
        return 0
    try:
        done = deliver_outbox(config, now=now, ids=ids)
        db.session.commit()
    except Exception:  # delivery must never break the user's action; the job retries
        log.exception("Outbox delivery failed; the messages stay queued")
        db.session.rollback()
        return 0
    return done


# The daily digest goes out at the first sweep after this hour (UTC) and bundles what was
# held before it; a row held later waits for the next day's digest.
DIGEST_HOUR_UTC = 7


def digest_cutoff(now: datetime, hour_utc: int = DIGEST_HOUR_UTC) -> datetime:
    """The latest daily cut-off at or before ``now``."""
    cutoff = now.astimezone(UTC).replace(hour=hour_utc, minute=0, second=0, microsecond=0)
    return cutoff if cutoff <= now else cutoff - timedelta(days=1)


def send_digests(*, now: datetime, hour_utc: int = DIGEST_HOUR_UTC) -> dict[str, int]:
    """Job: bundle each recipient's held messages from before the daily cut-off into one
    ``digest`` e-mail (queued at once) and mark them ``digested``.

    Exactly once: ``UPDATE … SET status='digested' WHERE to_addr=:a AND status='held' …
    RETURNING`` claims the rows, so two runners never put one message in two digests, and
    the digest row is written in the same transaction. Runs hourly; a scheduler that was
    down catches up at its next sweep.
    """
    cutoff = digest_cutoff(now, hour_utc)
    recipients = list(db.session.scalars(
        select(OutboxEmail.to_addr).where(OutboxEmail.status == OutboxStatus.HELD,
                                          OutboxEmail.created_at < cutoff)
        .group_by(OutboxEmail.to_addr).order_by(OutboxEmail.to_addr).limit(1000)
    ))
    digests = messages = 0
    for address in recipients:
        claimed = db.session.execute(
            update(OutboxEmail)
            .where(OutboxEmail.to_addr == address, OutboxEmail.status == OutboxStatus.HELD,
                   OutboxEmail.created_at < cutoff)
            .values(status=OutboxStatus.DIGESTED, sent_at=now)
            .returning(OutboxEmail.id, OutboxEmail.created_at, OutboxEmail.subject,
                       OutboxEmail.body_text)
            .execution_options(synchronize_session=False)
        ).all()
        if not claimed:
            continue  # another runner bundled them
        items = sorted(claimed, key=lambda r: (r.created_at, r.id))
        noun = "message" if len(items) == 1 else "messages"
        # action_required: the digest itself goes at once (it is what the reader chose).
        enqueue_email("digest", address, f"LabNet daily digest: {len(items)} {noun}",
                      {"items": items}, now=now, action_required=True)
        digests += 1
        messages += len(items)
    db.session.flush()
    return {"digests": digests, "messages": messages}


OUTBOX_GRACE = timedelta(minutes=2)


def send_outbox(config: Mapping[str, Any], *, now: datetime) -> dict[str, int]:
    """Job: deliver queued messages whose delivery right after their commit failed or
    never happened, a bounded number of batches per run.

    Only rows older than :data:`OUTBOX_GRACE` are taken, so the job does not race the web
    process delivering a message it has just committed (which would send it twice).
    """
    total = 0
    for _ in range(10):
        done = deliver_outbox(config, now=now, created_before=now - OUTBOX_GRACE)
        db.session.flush()
        total += done
        if done == 0:
            break
    return {"delivered": total}
