"""E-mail: an outbox row written in the caller's transaction, delivered after commit.

Rule 7 (nothing a user typed is markup): the HTML body is rendered with autoescaping,
the text body as plain text. Delivery goes through SMTP when ``MAIL_SERVER`` is set
(always in production); otherwise only the recipient and subject are logged and the message
is kept with status ``logged``, so a developer can follow its links from the admin outbox.

Secrets: links that carry a token are marked where the mail is built
(``secret_url`` in the templates, labnet.links), so each message is rendered a second time
with them replaced by ``[link removed after sending]``. Once the message is sent, or given
up, that copy replaces the body: no working token stays in the table, and the admin outbox
shows one only for unsent mail outside production.

Delivery goes message by message and commits each message's status at once (an SMTP send
cannot be rolled back): a message that cannot be built or is refused for good is marked
``failed`` with the error and never tried again (a recipient refused with a 5xx answer is
also counted as a *bounce*); a temporary failure is retried up to :data:`MAX_ATTEMPTS`
times, each after a longer wait (:func:`backoff`: 2, 4, 8, 16 minutes), by the outbox job.
Given-up messages are the dead letters admins see (``/admin/outbox?status=failed``) and may
queue again (:func:`requeue`). One bad message never blocks or repeats the others. Header
values never contain CR/LF, whatever reached the subject (:func:`header_safe`).
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, NamedTuple

from flask import render_template
from sqlalchemy import Select, event, func, or_, select, update
from sqlalchemy.orm import Session

from labnet.errors import RuleViolation
from labnet.extensions import db
from labnet.i18n import _, _l, _ln, force_locale, language_of
from labnet.links import REDACT_KEY, SEEN_KEY, external_url
from labnet.models import OutboxEmail, OutboxStatus, User
from labnet.services.common.audit import record

log = logging.getLogger("labnet.mail")

MAX_ATTEMPTS = 5
BACKOFF_BASE = timedelta(minutes=2)
# Session.info key under which the ids written in this transaction wait for delivery.
PENDING_KEY = "labnet_outbox_pending"


# Said at the foot of a message whose caller gave no reason (``why``); the e-mail kinds the
# app sends all give one (tests/services/test_email_kinds.py).
DEFAULT_WHY = _l("You receive this because this address is known to LabNet.")


def enqueue_email(
    kind: str, to_addr: str, subject: str | Any, context: Mapping[str, Any], *, now: datetime,
    action_required: bool = False, reply_to: str | None = None, why: str | Any = "",
) -> OutboxEmail | None:
    """Render ``email/<kind>.txt`` and ``.html`` and queue the message.

    A deactivated account receives nothing: for its address no row is written and
    ``None`` is returned. ``reply_to`` sets the message's Reply-To (a lab contact message
    is answered to its sender, not to LabNet's no-reply sender).

    Every message is framed once, here and in ``email/_layout.html`` / ``_layout.txt``
    (DESIGN rule 8): it greets the recipient by their account's name ("Hello,"
    for an address without an account, such as a lab's public e-mail) and ends with
    ``why`` they receive it ("You receive this because you manage …") and, for mail the
    person may take as a digest (an account's mail that needs no decision), the link to
    the notification settings.

    Nothing is sent before the caller commits; the boundary then calls
    :func:`deliver_outbox` for the ids remembered here. A recipient who chose the daily
    digest (``User.mail_mode == "digest"``) gets the row ``held`` for the digest job
    instead, unless ``action_required`` (a manager must approve or reject): those always
    go at once.

    Templates that use ``secret_url``/``secret_text`` are rendered twice: the working
    bodies (sent) and the redacted ones (kept once sent; module docstring). The subject and
    address are made :func:`header_safe`.

    :raises RuntimeError: when a template prints a secret link outside ``secret_url``.
    """
    recipient = _recipient(to_addr)
    if recipient is not None and not recipient.is_active:
        return None
    held = not action_required and recipient is not None and recipient.mail_mode == "digest"
    # Written in the recipient's language, whoever caused it: callers pass the subject and
    # the reason lazily (``_l``), so they are read here, in that language.
    with force_locale(language_of(recipient)):
        subject = str(subject)
        frame = {
            "_greeting": _("Hello %(name)s,", name=recipient.full_name)
            if recipient and recipient.full_name else _("Hello,"),
            "_why": str(why or DEFAULT_WHY),
            "_settings_url": external_url("mail_settings.notifications")
            if recipient is not None and not action_required else "",
        }
        seen: list[str] = []
        ctx = dict(context, subject=subject, **frame, **{SEEN_KEY: seen, REDACT_KEY: False})

        def text(ctx: dict[str, Any]) -> str:
            return render_template("email/_layout.txt", _body=render_template(
                f"email/{kind}.txt", **ctx).strip(), **ctx)

        body_text = text(ctx)
        body_html = render_template(f"email/{kind}.html", **ctx)
        redacted_text = redacted_html = None
        if seen:
            ctx = dict(ctx, **{SEEN_KEY: None, REDACT_KEY: True})
            redacted_text = text(ctx)
            redacted_html = render_template(f"email/{kind}.html", **ctx)
            if any(secret in redacted_text or secret in redacted_html for secret in seen):
                raise RuntimeError(f"email/{kind}: a secret link is printed outside secret_url")
    row = OutboxEmail(
        created_at=now,
        kind=kind,
        to_addr=header_safe(to_addr),
        reply_to=header_safe(reply_to) if reply_to else None,
        subject=header_safe(subject)[:200],
        body_text=body_text,
        body_html=body_html,
        redacted_text=redacted_text,
        redacted_html=redacted_html,
        status=OutboxStatus.HELD if held else OutboxStatus.QUEUED,
    )
    db.session.add(row)
    db.session.flush()
    if not held:
        db.session.info.setdefault(PENDING_KEY, set()).add(row.id)
    return row


_HEADER_BREAK = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def header_safe(value: str) -> str:
    """``value`` on one line: control characters (CR, LF, …) become one space. The last
    line of defence for mail headers: services refuse such text on input already
    (services.common.text), but rows written before, or text from elsewhere, may still carry it."""
    return _HEADER_BREAK.sub(" ", value or "").strip()


def _redact(row: OutboxEmail) -> None:
    # The message left (or never will): keep only the copy without working secrets.
    if row.redacted_text is not None:
        row.body_text = row.redacted_text
    if row.redacted_html is not None:
        row.body_html = row.redacted_html
    row.redacted_text = row.redacted_html = None


@dataclass(frozen=True)
class OutboxMessage:
    """One outbox row as the admin page shows it."""

    id: int
    created_at: datetime
    to_addr: str
    subject: str
    status: str
    last_error: str
    body_text: str


_UNSENT = (OutboxStatus.QUEUED, OutboxStatus.HELD, OutboxStatus.LOGGED)


def list_outbox(to: str = "", status: str = "") -> Select[tuple[OutboxEmail]]:
    """The outbox for admins, newest first; ``to`` keeps one recipient's messages,
    ``status`` one status (``failed``: the dead letters)."""
    stmt = select(OutboxEmail).order_by(OutboxEmail.id.desc())
    if status:
        stmt = stmt.where(OutboxEmail.status == status)
    return stmt.where(OutboxEmail.to_addr == to) if to else stmt


def requeue(row: OutboxEmail, *, actor: User, now: datetime) -> None:
    """Queue a dead letter (a ``failed`` message) again, with fresh attempts; the outbox
    job sends it at its next run. Its secret links were removed when it was given up, so
    it goes without them. Flushes, never commits.

    :raises RuleViolation: if the message is not failed.
    """
    if row.status != OutboxStatus.FAILED:
        raise RuleViolation("status", _("Only a message that was given up can be sent again."))
    row.status = OutboxStatus.QUEUED
    row.attempts = 0
    row.next_attempt_at = None
    row.bounced = False
    record(actor, "outbox.requeue", "outbox_email", row.id, now=now)
    db.session.flush()


def outbox_health(*, now: datetime) -> dict[str, float]:
    """Queue depth, the oldest queued message's age in seconds, dead letters and bounces
    (for ``/metrics``)."""
    queued, oldest = db.session.execute(
        select(func.count(), func.min(OutboxEmail.created_at))
        .where(OutboxEmail.status == OutboxStatus.QUEUED)).one()
    failed, bounced = db.session.execute(
        select(func.count(), func.count().filter(OutboxEmail.bounced.is_(True)))
        .where(OutboxEmail.status == OutboxStatus.FAILED)).one()
    return {"queued": queued, "oldest_age": (now - oldest).total_seconds() if oldest else 0.0,
            "failed": failed, "bounced": bounced}


def outbox_message(row: OutboxEmail, *, config: Mapping[str, Any]) -> OutboxMessage:
    """What an admin may read of ``row``: never a working secret link of a message that was
    sent, and in production none at all. Outside production an unsent message (in
    development without SMTP: every message) keeps its links, so they can be followed."""
    reveal = config.get("ENV_NAME") != "production" and row.status in _UNSENT
    body = row.body_text if reveal or row.redacted_text is None else row.redacted_text
    return OutboxMessage(id=row.id, created_at=row.created_at, to_addr=row.to_addr,
                         subject=row.subject, status=row.status, last_error=row.last_error,
                         body_text=body)


class _Recipient(NamedTuple):
    full_name: str
    is_active: bool
    mail_mode: str
    locale: str  # the language the mail is written in (labnet.i18n.language_of)


def _recipient(to_addr: str) -> _Recipient | None:
    """The account behind ``to_addr`` (name, active, mail mode, language), or None for an address
    that is no user's (a lab's contact address, a typo): such mail goes at once, greeted
    neutrally."""
    # Addresses are stored lower-case.
    row = db.session.execute(select(User.full_name, User.is_active, User.mail_mode,
                                    User.locale)
                             .where(User.email == to_addr.strip().lower())).first()
    return None if row is None else _Recipient(str(row[0]), bool(row[1]), str(row[2]),
                                               str(row[3] or ""))


def deliver_outbox(
    config: Mapping[str, Any], *, now: datetime, ids: Iterable[int] | None = None, limit: int = 200,
    created_before: datetime | None = None,
) -> int:
    """Deliver queued messages (the first ``limit``, or only ``ids``); returns how many left
    the queue.

    Commits after each message (module docstring), so call it with nothing else pending in
    the session. A message that fails for good is marked ``failed`` at once; a temporary
    failure leaves it queued for a later run, up to ``MAX_ATTEMPTS``.
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
            # Never the body: it may hold a reset or cancel link, and logs travel further
            # than the database. The admin outbox shows it in development.
            log.info("E-mail kept in the outbox (no SMTP server configured): to %s, "
                     "subject %r", row.to_addr, row.subject)
            row.status = OutboxStatus.LOGGED
            row.sent_at = now
            db.session.commit()
            done += 1
        return done
    try:
        smtp = _connect(config)
    except (OSError, smtplib.SMTPException) as exc:
        for row in rows:
            _failed(row, exc, permanent=False, now=now)
        db.session.commit()
        return 0
    with smtp:
        for row in rows:
            try:
                message = _message(row, config)
            except Exception as exc:  # whatever the row holds, it fails alone
                _failed(row, exc, permanent=True, now=now)
                db.session.commit()
                continue
            try:
                smtp.send_message(message)
            except smtplib.SMTPServerDisconnected as exc:
                # The connection is gone: this row is tried again, the rest wait untouched.
                _failed(row, exc, permanent=False, now=now)
                db.session.commit()
                break
            except smtplib.SMTPException as exc:  # (a subclass of OSError, so first)
                permanent = _is_permanent(exc)
                row.bounced = permanent
                _failed(row, exc, permanent=permanent, now=now)
                db.session.commit()
                continue
            except OSError as exc:  # the network: as for a lost connection
                _failed(row, exc, permanent=False, now=now)
                db.session.commit()
                break
            row.status = OutboxStatus.SENT
            row.sent_at = now
            row.attempts += 1
            row.last_error = ""
            _redact(row)
            db.session.commit()
            done += 1
    return done


def _is_permanent(exc: smtplib.SMTPException) -> bool:
    """A refusal that trying again will not change: a 5xx answer, every recipient refused
    for good, or a feature the server lacks (SMTPUTF8)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        return not codes or any(code >= 500 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return isinstance(exc, smtplib.SMTPNotSupportedError)


def backoff(attempts: int) -> timedelta:
    """How long a message waits after its ``attempts``-th failed try (doubling from
    :data:`BACKOFF_BASE`)."""
    return BACKOFF_BASE * (2 ** max(0, attempts - 1))


def _failed(row: OutboxEmail, exc: Exception, *, permanent: bool, now: datetime) -> None:
    row.attempts += 1
    row.next_attempt_at = now + backoff(row.attempts)
    row.last_error = (f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)[:500]
    if permanent or row.attempts >= MAX_ATTEMPTS:
        row.status = OutboxStatus.FAILED
        _redact(row)  # never sent, never tried again: its links have no reader
    log.warning("E-mail %s to %s not delivered%s: %s", row.id, row.to_addr,
                " (given up)" if row.status == OutboxStatus.FAILED else "", row.last_error)


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
    # header_safe again: rows queued before the rule, or edited in the database.
    msg["Subject"] = header_safe(row.subject)
    msg["From"] = header_safe(config.get("MAIL_SENDER") or "no-reply@labnet.example")
    msg["To"] = header_safe(row.to_addr)
    if row.reply_to:
        msg["Reply-To"] = header_safe(row.reply_to)
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
        return deliver_outbox(config, now=now, ids=ids)
    except Exception:  # delivery must never break the user's action; the job retries
        log.exception("Outbox delivery failed; the messages not yet delivered stay queued")
        db.session.rollback()
        return 0


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
                       OutboxEmail.body_text, OutboxEmail.redacted_text)
            .execution_options(synchronize_session=False)
        ).all()
        if not claimed:
            continue  # another runner bundled them
        # Their secret links now live in the digest (which keeps its own redacted copy
        # until it is sent); the bundled rows keep only theirs.
        db.session.execute(
            update(OutboxEmail)
            .where(OutboxEmail.id.in_([r.id for r in claimed]),
                   OutboxEmail.redacted_text.is_not(None))
            .values(body_text=OutboxEmail.redacted_text,
                    body_html=func.coalesce(OutboxEmail.redacted_html, OutboxEmail.body_html),
                    redacted_text=None, redacted_html=None)
            .execution_options(synchronize_session=False))
        items = sorted(claimed, key=lambda r: (r.created_at, r.id))
        # action_required: the digest itself goes at once (it is what the reader chose).
        # Subject and reason lazily: enqueue_email reads them in the recipient's language.
        enqueue_email("digest", address,
                      _ln("LabNet daily digest: %(num)d message",
                          "LabNet daily digest: %(num)d messages", len(items)),
                      {"items": items}, now=now, action_required=True,
                      why=_l("You receive this digest because you chose to get LabNet's mail "
                             "once a day; change that at %(url)s",
                             url=external_url("mail_settings.notifications")))
        digests += 1
        messages += len(items)
    db.session.flush()
    return {"digests": digests, "messages": messages}


OUTBOX_GRACE = timedelta(minutes=2)


def send_outbox(config: Mapping[str, Any], *, now: datetime,
                grace: timedelta | None = OUTBOX_GRACE, batches: int | None = 10
                ) -> dict[str, int]:
    """Job: deliver queued messages whose delivery right after their commit failed or
    never happened, at most ``batches`` batches of 200 per run (``None``: all).

    Only rows older than ``grace`` (:data:`OUTBOX_GRACE`; ``None``: all) are taken, so the
    job does not race the web process delivering a message it has just committed (which
    would send it twice). Each message is tried once per run, whatever became of it: a
    temporary failure waits for the next run instead of using up its attempts in this one.
    """
    total, after_id, batch_no = 0, 0, 0
    while batches is None or batch_no < batches:
        stmt = select(OutboxEmail.id).where(OutboxEmail.status == OutboxStatus.QUEUED,
                                            OutboxEmail.id > after_id)
        if grace is not None:
            stmt = stmt.where(OutboxEmail.created_at < now - grace)
        # A message that failed waits out its backoff.
        stmt = stmt.where(or_(OutboxEmail.next_attempt_at.is_(None),
                              OutboxEmail.next_attempt_at <= now))
        batch = db.session.scalars(stmt.order_by(OutboxEmail.id).limit(200)).all()
        if not batch:
            break
        total += deliver_outbox(config, now=now, ids=batch)
        after_id, batch_no = batch[-1], batch_no + 1
    return {"delivered": total}
