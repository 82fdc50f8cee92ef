"""Accounts: registration into a new or existing organisation, e-mail confirmation, login
sessions, password change and reset, log out everywhere, and roles.

Rules owned here:
- an e-mail address belongs to one account; passwords are at least 10 characters, not the
  address, not one of the 10,000 most common breached passwords, and strong enough by
  zxcvbn's estimate (score 3 of 4); hashes are Argon2id;
- joining an existing organisation is a request that the organisation's admins approve or
  decline; until approved the person is no member and cannot log in, so nobody reads
  another organisation's bookings by claiming membership (DESIGN rule 6). An e-mail domain
  never grants membership, and a free-mail domain is never recorded as an organisation's;
- a join request always reaches someone: the organisation's admins or, for an
  organisation without any, the platform admins (:func:`join_approvers`); reminders and
  expiry are services.accounts.joins;
- an organisation keeps at least one organisation admin (its founder first);
- granting and revoking a lab's manager goes through services.catalogue.labs.team (one
  act of adding a manager; a lab keeps its last manager);
- companies carry their EU size class (it decides SME rates);
- a login session is a server-side row: logout, password change, password reset and "log
  out everywhere" revoke rows, and a copied cookie stops working;
- e-mailed links are signed and expire; a reset link works once (it is bound to the
  current password hash).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, Select, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from zxcvbn import zxcvbn

from labnet import security
from labnet.data import common_passwords, free_mail_domains
from labnet.errors import PermissionDenied, RuleViolation
from labnet.extensions import db
from labnet.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    LazyText,
    _,
    _l,
    current_language,
    ngettext,
    valid_language,
)
from labnet.models import (
    Lab,
    LabManager,
    LoginSession,
    Membership,
    Organisation,
    OrgKind,
    OrgRole,
    Role,
    SizeClass,
    User,
    UserRole,
)
from labnet.permissions import (
    can_administer_users,
    can_manage_members,
    org_person_for,
    require,
)
from labnet.services.catalogue.labs import team
from labnet.services.common import audit
from labnet.services.notifications.outbox import enqueue_email

CONFIRM_SALT = "labnet.confirm-email"
RESET_SALT = "labnet.reset-password"
MIN_PASSWORD = 10
MAX_PASSWORD = 128

# Besides the 10,000 most common breached passwords (labnet/data/common_passwords.txt).
COMMON_PASSWORDS = frozenset(
    """password password1 password12 password123 passw0rd 1234567890 12345678910 123456789a
    qwertyuiop qwerty12345 1q2w3e4r5t abcdefghij iloveyou12 letmein123 welcome123 admin12345
    administrator changeme123 labnet1234 0000000000 1111111111 football12 monkey1234""".split()
)
# zxcvbn's score: 0 too guessable … 4 very unguessable. 3 is "safely unguessable" against
# an online attack with throttling (about 10^8 guesses), which is our case.
MIN_ZXCVBN_SCORE = 3


def normalise_email(email: str) -> str:
    """The address as stored and compared: blanks stripped, lower-case (one account per
    address, whatever the case typed)."""
    return email.strip().lower()


def slugify(text: str, max_len: int = 80) -> str:
    """An ASCII URL slug of ``text`` (accents dropped, runs of other characters as one
    ``-``), at most ``max_len`` characters; ``"org"`` when nothing is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_len].strip("-") or "org"


def _plain(sentence: str) -> str:
    return sentence[:1].lower() + sentence[1:].rstrip(".")


def check_password_strength(password: str, email: str = "") -> None:
    """Length, not a common breached password, not the address, and zxcvbn's estimate of
    how quickly it is guessed (NIST 800-63B: block lists and strength, no composition
    rules). The message says why, in plain words.

    :raises RuleViolation: on field ``password`` when the password is weak.
    """
    if len(password) < MIN_PASSWORD:
        raise RuleViolation("password", _("Use at least %(num)d characters.", num=MIN_PASSWORD))
    if len(password) > MAX_PASSWORD:
        raise RuleViolation("password", _("Use at most %(num)d characters.", num=MAX_PASSWORD))
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or lowered in common_passwords():
        raise RuleViolation(
            "password", _("This password is too easy to guess: it is on the list of passwords "
                          "leaked most often in data breaches, which attackers try first; "
                          "choose another."))
    if len(set(password)) < 4:
        raise RuleViolation("password", _("This password is too easy to guess: it repeats too "
                                          "few different characters; choose another."))
    address = normalise_email(email)
    local = address.split("@", 1)[0]
    if local and len(local) >= 4 and local in lowered:
        raise RuleViolation("password", _("The password must not contain your e-mail address."))
    # zxcvbn's matching is quadratic in the length; the first 72 characters decide.
    hints = [address, local, *address.rsplit("@", 1)[-1].split("."), "labnet"]
    result = zxcvbn(password[:72], user_inputs=[h for h in hints if h])
    if result["score"] < MIN_ZXCVBN_SCORE:
        # zxcvbn explains in English only: other languages get the general reason.
        english = current_language() == DEFAULT_LANGUAGE
        feedback = (result.get("feedback") or {}) if english else {}
        why = _plain(feedback.get("warning") or _(
            "it follows a pattern of common words, names, dates or keyboard runs that is "
            "quick to try"))
        tips = " ".join(feedback.get("suggestions") or [])
        message = _("This password is too easy to guess (%(why)s); choose another.", why=why)
        raise RuleViolation("password", f"{message} {tips}".strip())


@dataclass(frozen=True)
class NewOrganisation:
    """The organisation a registration founds as typed in the form; ``size_class`` (a
    company's EU size class) is ignored for other kinds."""

    name: str
    kind: str
    size_class: str | None
    country: str


def _unique_slug(base: str) -> str:
    slug, n = base, 1
    while db.session.scalar(select(Organisation.id).where(Organisation.slug == slug)):
        n += 1
        slug = f"{base}-{n}"
    return slug


def _checked_organisation(data: NewOrganisation) -> dict[str, str | None]:
    """The new organisation's fields once its rules hold; writes nothing."""
    name = " ".join(data.name.split())
    if not name:
        raise RuleViolation("organisation", _("Enter the organisation's name."))
    if data.kind not in {k.value for k in OrgKind}:
        raise RuleViolation("org_kind", _("Choose what kind of organisation it is."))
    size = data.size_class or None
    if data.kind == OrgKind.COMPANY and size not in {s.value for s in SizeClass}:
        raise RuleViolation(
            "size_class", _("A company needs its EU size class (it decides the SME rates).")
        )
    if data.kind != OrgKind.COMPANY:
        size = None
    if db.session.scalar(select(Organisation.id).where(Organisation.name_key == name.lower())):
        raise RuleViolation(
            "organisation",
            _("An organisation named “%(name)s” is already registered; choose “join an "
              "existing organisation”.", name=name),
        )
    return {"name": name, "kind": data.kind, "size_class": size,
            "country": data.country.upper()}


def create_organisation(data: NewOrganisation, *, email_domain: str | None) -> Organisation:
    """Create an organisation.

    :raises RuleViolation: ``organisation`` when the name is taken, ``size_class`` when a
        company has none (or a non-company has one), ``org_kind`` for an unknown kind.
    """
    fields = _checked_organisation(data)
    name = str(fields["name"])
    org = Organisation(
        name_key=name.lower(),
        slug=_unique_slug(slugify(name)),
        email_domain=email_domain,
        **fields,
    )
    db.session.add(org)
    return org


def register_member(
    *,
    email: str,
    full_name: str,
    password: str,
    join_existing: bool,
    organisation_name: str,
    new_org: NewOrganisation | None,
    terms_version: str,
    now: datetime,
) -> User | None:
    """Create an unconfirmed account and e-mail the confirmation link: the founder (and
    first organisation admin) of a new organisation, or a pending request to join an
    existing one, which is no membership until an organisation admin approves it
    (DESIGN rule 6). ``terms_version`` is the version of the terms and privacy notice the
    person accepted (the form refuses to register without it); it is recorded with ``now``.

    An address that has an account already is no refusal (that would tell anyone which
    addresses have accounts): every other rule is checked the same way, the same Argon2
    work is done, its owner gets a "someone tried to register with your address" e-mail
    (a fresh confirmation link if the address is not confirmed yet), nothing else is
    written, and ``None`` is returned. The caller answers alike.

    :raises RuleViolation: ``password`` (weak), ``organisation`` (unknown, taken, or
        nobody there to approve a request), ``size_class``, ``org_kind``.
    """
    email = normalise_email(email)
    check_password_strength(password, email)
    owner = db.session.scalar(select(User).where(User.email == email))
    if owner is not None:
        if join_existing:
            _organisation_to_join(organisation_name)
        else:
            assert new_org is not None
            _checked_organisation(new_org)
        security.hash_password(password)  # as long as a real registration takes
        tell_owner_of_registration_attempt(owner, now=now)
        return None
    if join_existing:
        # Asking to join: a pending request the organisation's admins decide. The address's
        # domain grants nothing and no message names one.
        org = _organisation_to_join(organisation_name)
        membership, org_role = Membership.PENDING, OrgRole.MEMBER
    else:
        assert new_org is not None
        org = create_organisation(new_org, email_domain=join_domain(email))
        membership, org_role = Membership.ACTIVE, OrgRole.ADMIN  # the founder
    user = User(
        email=email,
        full_name=" ".join(full_name.split()),
        password_hash=security.hash_password(password),
        organisation=org,
        is_active=True,
        membership=membership,
        org_role=org_role,
        terms_accepted_at=now,
        terms_version=terms_version,
    )
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError as exc:
        # Two registrations of one address (or one new organisation name) at the same
        # moment: both passed the checks above, the unique index refuses the second. The
        # caller rolls back on RuleViolation, so nothing of this attempt stays.
        field = "email" if "email" in str(exc.orig).lower() else "organisation"
        raise RuleViolation(field, _("This was registered a moment ago by someone else. Log "
                                     "in, reset the password or choose another name.")) from exc
    audit.record(user, "user.registered", "user", user.id, now=now, organisation_id=org.id)
    send_confirmation(user, now=now)
    return user


def add_member_account(*, email: str, full_name: str, password: str,
                       organisation: Organisation, membership: Membership,
                       confirmed_at: datetime | None, terms_version: str,
                       now: datetime) -> User:
    """Create the account of someone an e-mailed link admits to ``organisation`` (a lab
    claim proved at the lab's domain, an invitation to a lab's team): an organisation
    without an active organisation admin gets this person as its admin, so somebody
    decides its join requests from now on. ``terms_version``: the terms the person accepted.

    :raises RuleViolation: ``password`` when weak, ``email`` when the address has an
        account (only the holder of the link, the address's owner, learns that).
    """
    email = normalise_email(email)
    check_password_strength(password, email)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise RuleViolation("email", _("An account uses this address already: log in with "
                                       "it instead (or reset its password)."))
    is_admin = (membership == Membership.ACTIVE
                and not organisation_admins(organisation.id))
    user = User(email=email, full_name=" ".join(full_name.split()),
                password_hash=security.hash_password(password), organisation=organisation,
                is_active=True, membership=membership, email_confirmed_at=confirmed_at,
                org_role=OrgRole.ADMIN if is_admin else OrgRole.MEMBER,
                terms_accepted_at=now, terms_version=terms_version)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError as exc:  # the same address registered a moment ago
        raise RuleViolation("email", _("This address was registered a moment ago. Log in "
                                       "or reset the password.")) from exc
    audit.record(user, "user.registered", "user", user.id, now=now,
                 organisation_id=organisation.id)
    return user


def admit_to_organisation(user: User, *, now: datetime) -> None:
    """Make a pending account an active member once a link proved it belongs (a lab claim
    proved at the lab's own domain): organisation admin when the organisation has none."""
    if user.is_member:
        return
    user.membership = Membership.ACTIVE
    if not organisation_admins(user.organisation_id):
        user.org_role = OrgRole.ADMIN
    user.updated_at = now
    audit.record(user, "organisation.member_admitted", "user", user.id, now=now,
                 organisation_id=user.organisation_id, org_role=user.org_role)


def join_domain(email: str) -> str | None:
    """The domain recorded for an organisation founded from ``email``: none for a shared
    or free-mail provider (gmail.com, web.de, …), whose users work anywhere. The domain
    only suggests the organisation to people registering later; it never admits them."""
    domain = normalise_email(email).rsplit("@", 1)[-1]
    return None if not domain or domain in free_mail_domains() else domain


def _organisation_to_join(name: str) -> Organisation:
    org = db.session.scalar(
        select(Organisation).where(Organisation.name_key == " ".join(name.split()).lower())
    )
    if org is None:
        raise RuleViolation(
            "organisation",
            _("No organisation named “%(name)s” is registered. Check the spelling or "
              "register a new organisation.", name=name.strip()),
        )
    # An organisation without organisation admins is no refusal: its requests go to the
    # platform admins (join_approvers), so they still reach someone (DESIGN rule 8).
    return org


def organisation_admins(organisation_id: int) -> list[User]:
    """The active admins of an organisation, who decide its join requests."""
    return list(db.session.scalars(
        select(User).where(User.organisation_id == organisation_id,
                           User.org_role == OrgRole.ADMIN,
                           User.membership == Membership.ACTIVE,
                           User.is_active.is_(True))
        .order_by(User.id)
    ))


def ask_organisation_admins(user: User, *, now: datetime) -> None:
    """Ask the organisation's admins to decide a confirmed request to join (e-mailed)."""
    # Sent once the address is confirmed: a request from an address nobody controls is
    # not worth an admin's time.
    audit.record(user, "organisation.join_requested", "user", user.id, now=now,
                 organisation_id=user.organisation_id)
    approvers, platform = join_approvers(user.organisation_id)
    for admin in approvers:
        enqueue_email(
            "join_requested", admin.email,
            _l("%(name)s asks to join %(organisation)s on LabNet", name=user.full_name,
               organisation=user.organisation.name),
            {"admin": admin, "person": user, "organisation": user.organisation,
             "platform": platform},
            now=now, action_required=True,
            why=_l("You receive this because you are an organisation admin of "
                   "%(organisation)s on LabNet.", organisation=user.organisation.name),
        )


def platform_admins() -> list[User]:
    """The active platform admins."""
    return list(db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.ADMIN, User.is_active.is_(True)).order_by(User.id)))


def join_approvers(organisation_id: int) -> tuple[list[User], bool]:
    """Who decides a request to join an organisation: its active organisation admins or,
    when it has none, the platform admins (then the flag is True)."""
    admins = organisation_admins(organisation_id)
    return (admins, False) if admins else (platform_admins(), True)


def tell_owner_of_registration_attempt(owner: User, *, now: datetime) -> None:
    """Tell an address's owner that someone tried to register with it (a fresh
    confirmation link if it is not confirmed yet); nothing else happens."""
    audit.record(None, "user.registration_attempted", "user", owner.id, now=now)
    if not owner.is_confirmed and owner.is_active:
        # Most likely the same person again, who lost the first mail: a fresh link.
        send_confirmation(owner, now=now)
        return
    enqueue_email(
        "register_attempt", owner.email,
        _l("Someone tried to register with your LabNet address"),
        {"user": owner}, now=now, action_required=True,
        why=_l("You receive this because this address belongs to a LabNet account."),
    )


def send_confirmation(user: User, *, now: datetime) -> None:
    """E-mail ``user`` a signed link that confirms their address."""
    token = security.make_token(CONFIRM_SALT, {"u": user.id, "e": user.email})
    enqueue_email(
        "confirm_email",
        user.email,
        _l("Confirm your LabNet e-mail address"),
        {"user": user, "token": token,
         "lifetime": lifetime_words(current_app.config["CONFIRM_TOKEN_MAX_AGE"])},
        now=now, action_required=True,
        why=_l("You receive this because this address was used to register on LabNet."),
    )


def lifetime_words(seconds: int) -> LazyText:
    """How long a link works, as the e-mail says it: "7 days", "1 hour", "90 minutes"
    (lazy: read in the language of the e-mail it is put into)."""
    return LazyText(_lifetime_text, seconds)


def _lifetime_text(seconds: int) -> str:
    for size in (86400, 3600):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            if size == 86400:
                return ngettext("%(num)d day", "%(num)d days", count)
            return ngettext("%(num)d hour", "%(num)d hours", count)
    minutes = max(1, seconds // 60)
    return ngettext("%(num)d minute", "%(num)d minutes", minutes)


def resend_confirmation(email: str, *, now: datetime) -> None:
    """Send a fresh confirmation link if an unconfirmed account has this address; say
    nothing either way (no account enumeration)."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is not None and not user.is_confirmed and user.is_active:
        send_confirmation(user, now=now)


def _token_user(data: dict | None) -> User | None:
    # Only an integer id is looked up: ``session.get(User, None)`` warns, and a string id
    # would reach the database as the wrong type on PostgreSQL.
    user_id = data.get("u") if data else None
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        return None
    return db.session.get(User, user_id)


def confirm_email(token: str, *, now: datetime) -> User:
    """Mark the address of the token's account confirmed.

    :raises RuleViolation: (field ``None``) when the link is invalid or expired.
    """
    data = security.read_token(
        CONFIRM_SALT, token, current_app.config["CONFIRM_TOKEN_MAX_AGE"], now=now
    )
    user = _token_user(data)
    if data is None or user is None or user.email != data.get("e"):
        raise RuleViolation(
            None, _("This confirmation link is invalid or has expired. Ask for a new one "
                    "below.")
        )
    if user.email_confirmed_at is None:
        user.email_confirmed_at = now
        audit.record(user, "user.email_confirmed", "user", user.id, now=now)
        if not user.is_member:
            ask_organisation_admins(user, now=now)
    db.session.flush()
    return user


def authenticate(email: str, password: str, *, now: datetime) -> User:
    """The active, confirmed user with these credentials.

    :raises RuleViolation: ``password`` for wrong credentials (one message whether or not
        the address exists), ``email`` when the address is not confirmed yet.
    """
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        # Spend the same time as a real check, so timing does not reveal accounts.
        security.verify_password(_dummy_hash(), password)
        raise RuleViolation("password", _("Wrong e-mail address or password."))
    if not security.verify_password(user.password_hash, password) or not user.is_active:
        raise RuleViolation("password", _("Wrong e-mail address or password."))
    if not user.is_confirmed:
        raise RuleViolation(
            "email",
            _("Please confirm your e-mail address first: follow the link we sent you, or "
              "ask for a new one."),
        )
    if not user.is_member:
        # Only the person who knows the password learns this. A pending request has no
        # session at all, so it sees nothing of the organisation.
        _approvers, platform = join_approvers(user.organisation_id)
        raise RuleViolation(
            "email",
            _("Your request to join %(organisation)s is waiting for approval by the LabNet "
              "admins. We will e-mail you when they decide.",
              organisation=user.organisation.name) if platform else
            _("Your request to join %(organisation)s is waiting for approval by its "
              "organisation admins. We will e-mail you when they decide.",
              organisation=user.organisation.name),
        )
    if security.needs_rehash(user.password_hash):
        user.password_hash = security.hash_password(password)
    user.last_login_at = now
    return user


_DUMMY: dict[str, str] = {}


def _dummy_hash() -> str:
    key = repr(current_app.config["ARGON2_MEMORY_COST"])
    if key not in _DUMMY:
        _DUMMY[key] = security.hash_password("not-a-real-password")
    return _DUMMY[key]


def start_session(user: User, *, now: datetime, user_agent: str = "",
                  replaces: str | None = None) -> str:
    """Open a login session and return the token for the cookie.

    ``replaces`` is the token of the session the browser had until now (a second login in
    the same browser); it ends, so a copy of the old cookie stops working (ASVS 3.2.1).
    """
    end_session(replaces, now=now)
    token, digest = security.new_session_token()
    lifetime: timedelta = current_app.config["PERMANENT_SESSION_LIFETIME"]
    db.session.add(
        LoginSession(
            token_hash=digest,
            user_id=user.id,
            created_at=now,
            expires_at=now + lifetime,
            user_agent=user_agent[:200],
        )
    )
    audit.record(user, "user.login", "user", user.id, now=now)
    db.session.flush()
    user.session_token = token
    return token


def load_session_user(token: str, *, now: datetime) -> User | None:
    """The user of a live session token, or ``None`` (revoked, expired, deactivated)."""
    user = db.session.scalar(
        select(User)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            LoginSession.token_hash == security.token_hash(token),
            LoginSession.revoked_at.is_(None),
            LoginSession.expires_at > now,
            User.is_active.is_(True),
            User.membership == Membership.ACTIVE,
        )
    )
    if user is not None:
        user.session_token = token
    return user


def end_session(token: str | None, *, now: datetime) -> None:
    """Revoke one login session (logout)."""
    if not token:
        return
    db.session.execute(
        update(LoginSession)
        .where(LoginSession.token_hash == security.token_hash(token),
               LoginSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def end_all_sessions(user: User, *, now: datetime) -> int:
    """Revoke every live session of ``user`` ("log out everywhere"); returns how many."""
    # An UPDATE's result is a CursorResult (its rowcount); Session.execute is typed as any Result.
    result = cast(CursorResult[Any], db.session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=now)
    ))
    audit.record(user, "user.logout_everywhere", "user", user.id, now=now)
    return result.rowcount or 0


def change_password(user: User, current: str, new: str, *, now: datetime) -> None:
    """Change the password and revoke every session (the caller opens a new one).

    :raises RuleViolation: ``current_password`` when wrong, ``password`` when weak or the
        same as before.
    """
    if not security.verify_password(user.password_hash, current):
        raise RuleViolation("current_password", _("This is not your current password."))
    if current == new:
        raise RuleViolation("password", _("Choose a password different from the current one."))
    check_password_strength(new, user.email)
    user.password_hash = security.hash_password(new)
    end_all_sessions(user, now=now)
    audit.record(user, "user.password_changed", "user", user.id, now=now)
    db.session.flush()


def request_password_reset(email: str, *, now: datetime) -> None:
    """E-mail a reset link if an active account has this address; reveal nothing."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None or not user.is_active:
        return
    token = security.make_token(RESET_SALT, {"u": user.id, "h": user.password_hash[-16:]})
    enqueue_email(
        "reset_password",
        user.email,
        _l("Reset your LabNet password"),
        {"user": user, "token": token,
         "minutes": current_app.config["RESET_TOKEN_MAX_AGE"] // 60},
        now=now, action_required=True,
        why=_l("You receive this because someone asked to reset the password of this "
               "LabNet account."),
    )
    audit.record(user, "user.password_reset_requested", "user", user.id, now=now)


def user_for_reset_token(token: str, *, now: datetime) -> User | None:
    """The account a reset link is for, while the link is fresh and unused."""
    data = security.read_token(
        RESET_SALT, token, current_app.config["RESET_TOKEN_MAX_AGE"], now=now
    )
    user = _token_user(data)
    # Bound to the hash: once the password changes, the link is spent.
    if (data is None or user is None or not user.is_active
            or user.password_hash[-16:] != data.get("h")):
        return None
    return user


def reset_password(token: str, new: str, *, now: datetime) -> User:
    """Set a new password from an e-mailed link; revokes every session.

    :raises RuleViolation: ``password`` when weak; field ``None`` when the link is invalid,
        expired or already used.
    """
    user = user_for_reset_token(token, now=now)
    if user is None:
        raise RuleViolation(None, _("This reset link is invalid, expired or already used."))
    check_password_strength(new, user.email)
    user.password_hash = security.hash_password(new)
    if user.email_confirmed_at is None:
        # Following an e-mailed link proves the address.
        user.email_confirmed_at = now
        if not user.is_member:
            ask_organisation_admins(user, now=now)
    end_all_sessions(user, now=now)
    audit.record(user, "user.password_reset", "user", user.id, now=now)
    db.session.flush()
    return user


# Organisation members ----------------------------------------------------------------------


def list_join_requests(actor: User) -> Select[tuple[User]]:
    """Pending requests to join the actor's organisation whose address is confirmed.

    :raises PermissionDenied: unless the actor is an admin of their organisation.
    """
    require(can_manage_members, actor, actor.organisation_id)
    return (select(User)
            .where(User.organisation_id == actor.organisation_id,
                   User.membership == Membership.PENDING, User.is_active.is_(True),
                   User.email_confirmed_at.is_not(None))
            .order_by(User.created_at, User.id))


def list_members(actor: User) -> Select[tuple[User]]:
    """The members of the actor's organisation, admins first.

    :raises PermissionDenied: unless the actor is an admin of their organisation.
    """
    require(can_manage_members, actor, actor.organisation_id)
    return (select(User)
            .where(User.organisation_id == actor.organisation_id,
                   User.membership == Membership.ACTIVE)
            .order_by(User.org_role, User.full_name, User.id))


def _decided(actor: User, person: User, approved: bool, *, now: datetime) -> None:
    enqueue_email(
        "join_decided", person.email,
        _l("Your request to join %(organisation)s was approved",
           organisation=person.organisation.name) if approved else
        _l("Your request to join %(organisation)s was declined",
           organisation=person.organisation.name),
        {"person": person, "organisation": person.organisation, "approved": approved,
         "by_platform": not can_manage_members(actor, person.organisation_id)},
        now=now, action_required=True,
        why=_l("You receive this because you asked to join %(organisation)s on LabNet.",
               organisation=person.organisation.name),
    )


def approve_member(actor: User, user_id: int, *, now: datetime) -> User:
    """Accept a confirmed request to join the actor's organisation; the person can log in
    and sees the organisation's bookings and requests from now on (DESIGN rule 6).

    :raises PermissionDenied: unless the actor is an admin of their organisation.
    :raises NotFound: for a person who is not a pending request to that organisation.
    :raises RuleViolation: (field ``None``) when the address is not confirmed yet.
    """
    return accept_join(actor, org_person_for(actor, user_id, pending=True), now=now)


def accept_join(actor: User, person: User, *, now: datetime) -> User:
    """Accept a pending request loaded by the caller's permission loader (the members
    page's or the admin queue's); see :func:`approve_member`."""
    if not person.is_confirmed:
        raise RuleViolation(None, _("%(name)s has not confirmed their e-mail address yet; "
                                    "wait for them to do so.", name=person.full_name))
    person.membership = Membership.ACTIVE
    person.updated_at = now
    audit.record(actor, "organisation.member_approved", "user", person.id, now=now,
                 organisation_id=person.organisation_id)
    _decided(actor, person, True, now=now)
    db.session.flush()
    return person


def decline_member(actor: User, user_id: int, *, now: datetime) -> str:
    """Refuse a request to join the actor's organisation: the person is told and the
    account is removed (it never was a member; the address may register again).
    Returns the person's name.

    :raises PermissionDenied: unless the actor is an admin of their organisation.
    :raises NotFound: for a person who is not a pending request to that organisation.
    """
    return refuse_join(actor, org_person_for(actor, user_id, pending=True), now=now)


def refuse_join(actor: User, person: User, *, now: datetime) -> str:
    """Decline a pending request loaded by the caller's permission loader; see
    :func:`decline_member`."""
    name = person.full_name
    audit.record(actor, "organisation.member_declined", "user", person.id, now=now,
                 organisation_id=person.organisation_id, email=person.email)
    if person.is_confirmed:  # an unconfirmed address may not be the requester's own
        _decided(actor, person, False, now=now)
    db.session.delete(person)
    db.session.flush()
    return name


def set_org_admin(actor: User, user_id: int, make_admin: bool, *, now: datetime) -> bool:
    """Grant or revoke the organisation-admin role within the actor's organisation;
    False when nothing changed.

    :raises PermissionDenied: unless the actor is an admin of their organisation.
    :raises NotFound: for a person who is not a member of that organisation.
    :raises RuleViolation: ``user`` when it would leave the organisation without an admin.
    """
    return change_org_admin(actor, org_person_for(actor, user_id, pending=False), make_admin,
                            now=now)


def change_org_admin(actor: User, person: User, make_admin: bool, *, now: datetime) -> bool:
    """Set a member's organisation-admin role, loaded and permitted by the caller (the
    members page's or the admin pages' loader); see :func:`set_org_admin`."""
    wanted = OrgRole.ADMIN if make_admin else OrgRole.MEMBER
    if person.org_role == wanted:
        return False
    if not make_admin and len(organisation_admins(person.organisation_id)) <= 1:
        raise RuleViolation("user", _("An organisation keeps at least one organisation "
                                      "admin; make someone else admin first."))
    person.org_role = wanted
    person.updated_at = now
    audit.record(actor, f"organisation.admin_{'granted' if make_admin else 'revoked'}",
                 "user", person.id, now=now, organisation_id=person.organisation_id)
    db.session.flush()
    return True


# Roles -----------------------------------------------------------------------------------


def lab_by_slug(slug: str | None) -> Lab | None:
    """The lab named by its address name in a role form, None for an empty field.

    :raises RuleViolation: on ``lab`` when no lab has that address name.
    """
    if not slug or not slug.strip():
        return None
    # Any lab, drafts included (admins name managers of every lab), by name or address name.
    from labnet.services.catalogue.labs.picker import resolve_lab

    return resolve_lab(slug, listed_only=False, what="lab")


UNKNOWN_ROLE = _l("Unknown role; choose lab manager, coordinator, verifier or admin.")


def grant_role(actor: User | None, user: User, role: str, *, lab: Lab | None = None,
               now: datetime) -> bool:
    """Grant a platform role, or make ``user`` a manager of ``lab``; False if already held.

    ``actor`` None is the command line (trusted). :raises PermissionDenied: unless admin.
    :raises RuleViolation: ``role`` unknown, ``lab`` missing for the lab-manager role.
    """
    if actor is not None:
        require(can_administer_users, actor)
    if role == Role.LAB_MANAGER:
        if lab is None:
            raise RuleViolation("lab", _("Choose the lab this person will manage."))
        if not team.add_manager(lab, user, by=actor, now=now):
            return False
    elif role in (Role.COORDINATOR, Role.ADMIN, Role.VERIFIER):
        if user.has_role(Role(role)):
            return False
        user.roles.append(UserRole(role=role, granted_at=now,
                                   granted_by_id=actor.id if actor else None))
    else:
        raise RuleViolation("role", str(UNKNOWN_ROLE))
    audit.record(actor, "role.granted", "user", user.id, now=now, role=role,
                 lab_id=lab.id if lab else None)
    db.session.flush()
    return True


def revoke_role(actor: User | None, user: User, role: str, *, lab: Lab | None = None,
                now: datetime) -> bool:
    """Remove a role; False if it was not held.

    :raises PermissionDenied: unless admin. :raises RuleViolation: ``role`` when an admin
        would remove the last admin, or a lab's last active manager.
    """
    if actor is not None:
        require(can_administer_users, actor)
    if role == Role.LAB_MANAGER:
        if lab is None:
            raise RuleViolation("lab", _("Choose the lab."))
        # The lab's last manager stays (DESIGN rule 10): the rule lives in team.
        if not team.remove_manager(lab, user, by=actor, now=now, field="role"):
            return False
    elif role in (Role.COORDINATOR, Role.ADMIN, Role.VERIFIER):
        held_role = next((r for r in user.roles if r.role == role), None)
        if held_role is None:
            return False
        if role == Role.ADMIN:
            admins = db.session.execute(
                select(func.count()).select_from(UserRole).where(UserRole.role == Role.ADMIN)
            ).scalar_one()
            if admins <= 1:
                raise RuleViolation("role", _("This is the last admin; grant another admin first."))
        user.roles.remove(held_role)
    else:
        raise RuleViolation("role", str(UNKNOWN_ROLE))
    audit.record(actor, "role.revoked", "user", user.id, now=now, role=role,
                 lab_id=lab.id if lab else None)
    db.session.flush()
    return True


def managed_labs(user: User) -> Select[tuple[Lab]]:
    """The labs ``user`` manages, by name."""
    return (
        select(Lab)
        .join(LabManager, LabManager.lab_id == Lab.id)
        .where(LabManager.user_id == user.id)
        .order_by(Lab.name)
    )


def list_users(q: str = "") -> Select[tuple[User]]:
    """Users for the admin page, filtered by name, e-mail or organisation."""
    stmt = select(User).join(User.organisation).order_by(User.email)
    if q:
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(User.email).like(like),
                func.lower(User.full_name).like(like),
                Organisation.name_key.like(like),
            )
        )
    return stmt


MAIL_MODES = ("immediate", "digest")


def set_mail_mode(actor: User, mode: str, *, now: datetime) -> User:
    """How e-mail reaches the actor: each message at once, or bundled in a daily digest.

    Mails that ask for an action (a booking request to approve or reject) always go at once,
    whatever the choice; the digest job decides that per message kind.

    :raises PermissionDenied: for anonymous or inactive actors.
    :raises RuleViolation: ``mail_mode`` when not one of :data:`MAIL_MODES`.
    """

    if not isinstance(actor, User) or not actor.is_active:
        raise PermissionDenied("set_mail_mode")
    if mode not in MAIL_MODES:
        raise RuleViolation("mail_mode", _("Choose “at once” or “daily digest”."))
    return _set_preference(actor, "mail_mode", mode, now=now)


def set_language(actor: User, code: str, *, now: datetime) -> User:
    """The language the actor reads LabNet in and receives e-mail in (labnet.i18n).

    :raises PermissionDenied: for anonymous or inactive actors.
    :raises RuleViolation: ``language`` when LabNet is not translated into ``code``.
    """
    if not isinstance(actor, User) or not actor.is_active:
        raise PermissionDenied("set_language")
    chosen = valid_language(code)
    if chosen is None:
        raise RuleViolation("language", _("Choose one of the languages offered: %(names)s.",
                                          names=", ".join(LANGUAGES.values())))
    return _set_preference(actor, "locale", chosen, now=now)


def _set_preference(actor: User, field: str, value: str, *, now: datetime) -> User:
    """One of the actor's own settings changed (``user.<field>`` in the audit with the old
    and new value); nothing is written when it is unchanged."""
    old = getattr(actor, field)
    if old != value:
        audit.record(actor, f"user.{field}", "user", actor.id, now=now, old=old, new=value)
        setattr(actor, field, value)
        actor.updated_at = now
    db.session.flush()
    return actor
